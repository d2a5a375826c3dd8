//! The skill listing budget: Claude Code lists every model-invocable skill and command (its
//! name and description) in each turn within a character budget; past it, descriptions are
//! cut or left out silently and those skills stop being picked.
//!
//! The current rule (source: https://code.claude.com/docs/en/skills, "skill descriptions are
//! loaded into context"; the settings `skillListingBudgetFraction` and
//! `skillListingMaxDescChars` appear in Claude Code 2.1.129's settings schema):
//! - the budget is `skillListingBudgetFraction` (default 1 %) of the context window, with a
//!   fallback of 8,000 characters; the environment variable `SLASH_COMMAND_TOOL_CHAR_BUDGET`
//!   (set for Claude Code in a settings file's `env`) replaces it;
//! - each entry's description (with `when_to_use`) is cut at `skillListingMaxDescChars`
//!   (default 1,536 characters);
//! - `disable-model-invocation: true` keeps a skill out of the listing;
//! - past the budget, the descriptions of the least-used skills are dropped (names stay).
//!
//! The cache cannot know the context window nor which skills are used most. It assumes a
//! 200,000-token window at 4 characters a token (1 % = 8,000 characters, the documented
//! fallback), and when the listing is over budget it flags the project's own skills and
//! commands with the longest descriptions whose dropping would bring the listing under budget:
//! the ones worth shortening (or disabling for the model) first.

use crate::claude::context::ScanContext;
use crate::model::{ArtifactKind, Scope};
use crate::scan::ProjectSnapshot;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// Default fraction of the context window given to the listing.
pub const DEFAULT_BUDGET_FRACTION: f64 = 0.01;
/// The documented fallback budget, in characters.
pub const FALLBACK_BUDGET_CHARS: usize = 8_000;
/// The context window assumed, in tokens (the cache cannot know the model in use).
pub const ASSUMED_WINDOW_TOKENS: f64 = 200_000.0;
/// Characters per token used to turn a fraction of the window into characters.
pub const CHARS_PER_TOKEN: f64 = 4.0;
/// Default cap of one entry's description, in characters.
pub const DEFAULT_MAX_DESC_CHARS: usize = crate::cost::DEFAULT_MAX_DESC_CHARS;
/// Characters of an entry besides its name and description (`- `, `: `, a newline).
pub const ENTRY_OVERHEAD: usize = 5;

/// One entry of the listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The name listed.
    pub name: String,
    /// Characters of its description (with `when_to_use`).
    pub desc_chars: usize,
}

/// The limits in force for one project.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// The listing's budget, in characters.
    pub budget_chars: usize,
    /// The cap of one description, in characters.
    pub max_desc_chars: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            budget_chars: FALLBACK_BUDGET_CHARS,
            max_desc_chars: DEFAULT_MAX_DESC_CHARS,
        }
    }
}

impl Rules {
    /// The rules from settings files' JSON, most specific first (local, project, user).
    pub fn from_settings(files: &[Value]) -> Rules {
        let first = |f: &dyn Fn(&Value) -> Option<f64>| files.iter().find_map(f);
        let env_budget = first(&|v| {
            let e = v.get("env")?.get("SLASH_COMMAND_TOOL_CHAR_BUDGET")?;
            e.as_f64().or_else(|| e.as_str()?.trim().parse().ok())
        });
        let fraction = first(&|v| v.get("skillListingBudgetFraction")?.as_f64())
            .filter(|f| *f > 0.0 && *f <= 1.0);
        let max_desc =
            first(&|v| v.get("skillListingMaxDescChars")?.as_f64()).filter(|n| *n >= 0.0);
        let budget = match (env_budget, fraction) {
            (Some(b), _) if b >= 0.0 => b as usize,
            (_, Some(f)) => (f * ASSUMED_WINDOW_TOKENS * CHARS_PER_TOKEN) as usize,
            _ => FALLBACK_BUDGET_CHARS,
        };
        Rules {
            budget_chars: budget,
            max_desc_chars: max_desc
                .map(|n| n as usize)
                .unwrap_or(DEFAULT_MAX_DESC_CHARS),
        }
    }

    /// The rules for `project`: its local and project settings, then the user's.
    pub fn for_project(project: &Path, home: &Path, user_scope: bool) -> Rules {
        let read = |p: &Path| -> Option<Value> {
            let meta = std::fs::metadata(p).ok()?;
            if !meta.is_file() || meta.len() > 1 << 20 {
                return None;
            }
            serde_json::from_slice(&std::fs::read(p).ok()?).ok()
        };
        let mut files = Vec::new();
        if !user_scope {
            files.extend(read(&project.join(".claude/settings.local.json")));
            files.extend(read(&project.join(".claude/settings.json")));
        }
        files.extend(read(&home.join(".claude/settings.json")));
        Rules::from_settings(&files)
    }
}

/// How a listing fares against its budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Characters of the whole listing (descriptions cut at the cap).
    pub listing_chars: usize,
    /// The budget.
    pub budget_chars: usize,
    /// Entries (indices) whose description is cut at the cap.
    pub cut: Vec<usize>,
    /// Entries (indices) flagged as losing their description past the budget.
    pub dropped: Vec<usize>,
}

/// Judges a listing: `own[i]` tells whether entry `i` is the project's own (only those are
/// flagged as dropped: the others are not the project's to shorten).
pub fn judge(entries: &[Entry], own: &[bool], rules: &Rules) -> Verdict {
    let shown = |e: &Entry| e.desc_chars.min(rules.max_desc_chars);
    let listing: usize = entries
        .iter()
        .map(|e| e.name.chars().count() + shown(e) + ENTRY_OVERHEAD)
        .sum();
    let cut = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.desc_chars > rules.max_desc_chars)
        .map(|(i, _)| i)
        .collect();
    let mut dropped = Vec::new();
    if listing > rules.budget_chars {
        let mut order: Vec<usize> = (0..entries.len())
            .filter(|i| own.get(*i).copied().unwrap_or(false) && entries[*i].desc_chars > 0)
            .collect();
        order.sort_by(|a, b| {
            shown(&entries[*b])
                .cmp(&shown(&entries[*a]))
                .then_with(|| entries[*a].name.cmp(&entries[*b].name))
        });
        let mut size = listing;
        for i in order {
            if size <= rules.budget_chars {
                break;
            }
            size -= shown(&entries[i]);
            dropped.push(i);
        }
        dropped.sort_unstable();
    }
    Verdict {
        listing_chars: listing,
        budget_chars: rules.budget_chars,
        cut,
        dropped,
    }
}

/// The listing entry of an item, when it is listed: a loaded skill or command that the model
/// may invoke.
pub fn entry_of(
    kind: ArtifactKind,
    loaded: bool,
    name: &str,
    description: &str,
    extra: &Value,
) -> Option<Entry> {
    let listed = matches!(kind, ArtifactKind::Skill | ArtifactKind::Command)
        && loaded
        && extra
            .get("disable_model_invocation")
            .and_then(Value::as_bool)
            != Some(true);
    listed.then(|| Entry {
        name: name.to_string(),
        desc_chars: description.chars().count()
            + extra
                .get("when_to_use_chars")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize,
    })
}

/// Marks the items of `snap` whose description the listing cuts (`extra.listing = "cut"`) or
/// drops past the budget (`"dropped"`), counting the user scope's skills in a project.
pub fn apply(project: &Path, snap: &mut ProjectSnapshot, ctx: &ScanContext) {
    let mut entries = Vec::new();
    let mut own = Vec::new();
    let mut idx = Vec::new();
    for (i, a) in snap.artifacts.iter_mut().enumerate() {
        if let Some(o) = a.extra.as_object_mut() {
            o.remove("listing");
        }
        if let Some(e) = entry_of(a.kind, a.loaded, &a.name, &a.description, &a.extra) {
            entries.push(e);
            own.push(matches!(
                a.scope,
                Scope::Project | Scope::Local | Scope::User
            ));
            idx.push(Some(i));
        }
    }
    if !ctx.user_scope {
        for e in &ctx.user.skill_listing {
            entries.push(e.clone());
            own.push(false);
            idx.push(None);
        }
    }
    let rules = Rules::for_project(project, &ctx.home, ctx.user_scope);
    let v = judge(&entries, &own, &rules);
    let mut mark = |list: &[usize], what: &str| {
        for &e in list {
            if let Some(Some(i)) = idx.get(e) {
                let a = &mut snap.artifacts[*i];
                if !a.extra.is_object() {
                    a.extra = Value::Object(Default::default());
                }
                if let Some(o) = a.extra.as_object_mut() {
                    o.insert("listing".into(), Value::String(what.into()));
                    o.insert("listing_chars".into(), v.listing_chars.into());
                    o.insert("listing_budget".into(), v.budget_chars.into());
                    o.insert("max_desc_chars".into(), rules.max_desc_chars.into());
                }
            }
        }
    };
    mark(&v.cut, "cut");
    mark(&v.dropped, "dropped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, n: usize) -> Entry {
        Entry {
            name: name.into(),
            desc_chars: n,
        }
    }

    #[test]
    fn rules_from_settings() {
        assert_eq!(Rules::from_settings(&[]), Rules::default());
        let v = serde_json::json!({"skillListingBudgetFraction": 0.02, "skillListingMaxDescChars": 100});
        assert_eq!(
            Rules::from_settings(&[v]),
            Rules {
                budget_chars: 16_000,
                max_desc_chars: 100
            }
        );
        let env = serde_json::json!({"env": {"SLASH_COMMAND_TOOL_CHAR_BUDGET": "30000"}});
        assert_eq!(Rules::from_settings(&[env]).budget_chars, 30_000);
    }

    #[test]
    fn longest_own_descriptions_are_flagged_until_it_fits() {
        let rules = Rules {
            budget_chars: 100,
            max_desc_chars: 50,
        };
        // 1+40+5 + 1+60→50+5 + 1+30+5 = 46 + 56 + 36 = 138 > 100.
        let v = judge(
            &[e("a", 40), e("b", 60), e("c", 30)],
            &[true, true, true],
            &rules,
        );
        assert_eq!(v.listing_chars, 138);
        assert_eq!(v.cut, vec![1]);
        assert_eq!(v.dropped, vec![1]);
    }
}
