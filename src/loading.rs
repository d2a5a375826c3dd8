//! The one place that decides what Claude Code loads: scope, `loaded` and `not_loaded` of
//! every scanned item of one project, from the items themselves, the project's settings, its
//! `~/.claude.json` entry and the user scope. Runs after every scan (cheap: no file reads
//! beyond the two small settings files), so an item reused from the previous scan is judged
//! again. Also what counts as a problem.

use crate::claude::context::ScanContext;
use crate::claude::settings::{Layered, SettingsView};
use crate::model::{ArtifactKind, FrontmatterState, NotLoaded, Scope};
use crate::scan::{ProjectSnapshot, ScannedArtifact};
use std::collections::HashSet;
use std::path::Path;

/// Path prefix of items that come from `~/.claude.json`.
pub const CLAUDE_JSON_PREFIX: &str = "~/.claude.json#";
/// Path prefix, in a project, of a user-scope server that a project or local server of the
/// same name shadows there.
pub const USER_SERVER_PREFIX: &str = "~/.claude.json#user:";

/// Sets scope, `loaded` and `not_loaded` of every item of `snap`.
pub fn resolve(project: &Path, snap: &mut ProjectSnapshot, ctx: &ScanContext) {
    let (project_settings, _) = SettingsView::read(&project.join(".claude/settings.json"));
    let (local_settings, _) = SettingsView::read(&project.join(".claude/settings.local.json"));
    let entry_approvals = ctx.local.as_ref().map(|l| l.approvals.clone());
    // Managed settings win over every other file.
    let mut layers: Vec<&SettingsView> = vec![&ctx.user.managed];
    if ctx.user_scope {
        // The home folder's `.claude/settings.json` is the user settings file.
        layers.push(&project_settings);
    } else {
        layers.push(&local_settings);
        if let Some(a) = &entry_approvals {
            layers.push(a);
        }
        layers.push(&project_settings);
        layers.push(&ctx.user.settings);
    }
    let settings = Layered { layers };
    let disabled_mcp: HashSet<&str> = ctx
        .local
        .as_ref()
        .map(|l| l.disabled_mcp.iter().map(String::as_str).collect())
        .unwrap_or_default();

    for a in snap.artifacts.iter_mut() {
        // Plugins and their components carry their plugin's state from the scan; managed
        // items keep their scope.
        let from_plugin = a.scope == Scope::Plugin || a.kind == ArtifactKind::Plugin;
        if !from_plugin && a.scope != Scope::Managed {
            a.scope = scope_of(a, ctx.user_scope);
        }
        if !from_plugin {
            a.not_loaded = None;
        }
    }
    // Names that win over others: local MCP servers, loaded skills of this scope.
    let local_mcp: HashSet<String> = snap
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::McpServer && a.scope == Scope::Local)
        .map(|a| a.name.clone())
        .collect();
    let mut skill_names: HashSet<String> = ctx.user.skill_names.iter().cloned().collect();
    for a in &snap.artifacts {
        if a.kind == ArtifactKind::Skill
            && a.path.starts_with(".claude/")
            && let Some((dir, 1)) = skill_dir(&a.path)
        {
            skill_names.insert(dir.to_string());
        }
    }
    for a in snap.artifacts.iter_mut() {
        a.not_loaded = a
            .not_loaded
            .or_else(|| why_not(a, ctx, &settings, &disabled_mcp, &local_mcp, &skill_names));
        a.loaded = a.not_loaded.is_none();
    }
}

fn why_not(
    a: &ScannedArtifact,
    ctx: &ScanContext,
    settings: &Layered<'_>,
    disabled_mcp: &HashSet<&str>,
    local_mcp: &HashSet<String>,
    skill_names: &HashSet<String>,
) -> Option<NotLoaded> {
    let claude_profile = a.path.starts_with(".claude/")
        || a.path.starts_with(CLAUDE_JSON_PREFIX)
        || a.scope == Scope::Managed
        || !a.path.starts_with('.')
        || a.path.starts_with(".mcp.json")
        || a.scope == Scope::Plugin;
    if !claude_profile {
        return Some(NotLoaded::OtherTool);
    }
    match a.kind {
        ArtifactKind::Skill => {
            // Source: code.claude.com/docs/en/skills; anthropics/claude-code#88400: only
            // `skills/<name>/SKILL.md` is loaded, deeper folders are silently ignored.
            if let Some((dir, depth)) = skill_dir(&a.path) {
                if depth > 1 {
                    return Some(NotLoaded::NestedSkill);
                }
                if !ctx.user_scope && a.scope != Scope::Plugin && ctx.user.skill_names.contains(dir)
                {
                    return Some(NotLoaded::Shadowed);
                }
            }
            None
        }
        ArtifactKind::Command => {
            // Source: code.claude.com/docs/en/skills: a skill wins over a command of the same
            // name.
            (a.scope != Scope::Plugin && skill_names.contains(&a.name))
                .then_some(NotLoaded::Shadowed)
        }
        ArtifactKind::Agent => {
            // Source: code.claude.com/docs/en/sub-agents: `name` and `description` required.
            // Frontmatter strict YAML rejects but whose fields a lenient reading recovers
            // (`description: ... Examples: ...`) is loaded by Claude Code; it stays a
            // `malformed_frontmatter` problem.
            let name_set = a
                .extra
                .get("name_set")
                .and_then(|b| b.as_bool())
                .unwrap_or(true);
            (!name_set || a.description.is_empty()).then_some(NotLoaded::InvalidFrontmatter)
        }
        ArtifactKind::Hook => settings
            .disable_all_hooks()
            .then_some(NotLoaded::HooksDisabled),
        ArtifactKind::McpServer => {
            // Source: code.claude.com/docs/en/mcp: local > project > user for one name;
            // project servers need approval; `disabledMcpServers` turns any server off.
            if disabled_mcp.contains(a.name.as_str()) {
                return Some(NotLoaded::McpDisabled);
            }
            match a.scope {
                // A user server listed in a project is there because a project or local
                // server of the same name wins.
                Scope::User if !ctx.user_scope => Some(NotLoaded::Shadowed),
                Scope::Project => {
                    if local_mcp.contains(&a.name) {
                        Some(NotLoaded::Shadowed)
                    } else if settings.mcpjson_disabled(&a.name) {
                        Some(NotLoaded::McpDisabled)
                    } else if settings.enable_all_project_mcp() || settings.mcpjson_enabled(&a.name)
                    {
                        None
                    } else {
                        Some(NotLoaded::McpNotApproved)
                    }
                }
                _ => None,
            }
        }
        ArtifactKind::Rule => {
            // Source: code.claude.com/docs/en/memory: a rule with `paths:` is loaded only
            // when Claude reads a matching file.
            let has_paths = a
                .extra
                .get("paths")
                .and_then(|p| p.as_array())
                .is_some_and(|p| !p.is_empty());
            has_paths.then_some(NotLoaded::OnDemand)
        }
        ArtifactKind::Memory | ArtifactKind::OutputStyle | ArtifactKind::Plugin => None,
    }
}

/// The scope of a (non-plugin) item from where it lives.
fn scope_of(a: &ScannedArtifact, user_scope: bool) -> Scope {
    if user_scope || a.path.starts_with(USER_SERVER_PREFIX) {
        return Scope::User;
    }
    if a.path == "CLAUDE.local.md"
        || a.path.starts_with(".claude/settings.local.json")
        || a.path.starts_with(CLAUDE_JSON_PREFIX)
    {
        Scope::Local
    } else {
        Scope::Project
    }
}

/// A skill's folder name and its depth below `skills/` (1 = loaded level).
pub fn skill_dir(path: &str) -> Option<(&str, usize)> {
    let i = path.find("skills/")?;
    let rest = &path[i + "skills/".len()..];
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    parts.last().map(|last| (*last, parts.len()))
}

/// The problem code of an item, if it has one: a [`NotLoaded`] reason that is a problem,
/// `malformed_frontmatter`, or `dangling_import`.
pub fn problem_of(a: &ScannedArtifact) -> Option<&'static str> {
    if let Some(r) = a.not_loaded.filter(|r| r.is_problem()) {
        return Some(r.as_str());
    }
    if a.frontmatter == FrontmatterState::Malformed {
        return Some("malformed_frontmatter");
    }
    if a.extra
        .get("dangling_imports")
        .and_then(|d| d.as_array())
        .is_some_and(|d| !d.is_empty())
    {
        return Some("dangling_import");
    }
    // The skill listing (see `crate::budget`).
    match a.extra.get("listing").and_then(|l| l.as_str()) {
        Some("cut") => return Some("description_cut"),
        Some("dropped") => return Some("listing_over_budget"),
        _ => {}
    }
    None
}

/// A readable explanation of a problem code for an item.
pub fn problem_detail(
    kind: ArtifactKind,
    name: &str,
    path: &str,
    extra: &serde_json::Value,
    code: &str,
) -> String {
    let noun = crate::model::kind_noun(kind, 1);
    match code {
        "nested_skill" => {
            let dir = skill_dir(path).map(|(d, _)| d).unwrap_or(name);
            let base = path.find("skills/").map(|i| &path[..i]).unwrap_or("");
            format!(
                "skill `{name}` will not load: nested more than one level below skills/ (move it to {base}skills/{dir})"
            )
        }
        "plugin_disabled" => format!("{noun} `{name}` will not load: its plugin is disabled"),
        "plugin_not_installed" => {
            format!("{noun} `{name}` will not load: its plugin is enabled but not installed")
        }
        "hooks_disabled" => format!("hook `{name}` will not run: disableAllHooks is true"),
        "mcp_not_approved" => format!(
            "MCP server `{name}` from .mcp.json is not approved (enabledMcpjsonServers or enableAllProjectMcpServers)"
        ),
        "mcp_disabled" => format!("MCP server `{name}` is disabled"),
        "shadowed" => format!("{noun} `{name}` is hidden by another item of the same name"),
        "invalid_frontmatter" => format!(
            "agent `{name}` will not load: its frontmatter needs a valid `name` and `description`"
        ),
        "malformed_frontmatter" => format!("{noun} `{name}`: frontmatter is not valid YAML"),
        "dangling_import" => {
            let list: Vec<String> = extra
                .get("dangling_imports")
                .and_then(|d| d.as_array())
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{path} imports files that do not exist: {}",
                list.join(", ")
            )
        }
        // Source: https://code.claude.com/docs/en/skills (listing budget, description cap).
        "description_cut" => format!(
            "{noun} `{name}`: its description is longer than the {} characters Claude Code lists; the rest is cut (shorten it, or raise skillListingMaxDescChars)",
            num(extra, "max_desc_chars")
        ),
        "listing_over_budget" => format!(
            "{noun} `{name}`: the skill listing is {} characters, over its budget of {}; Claude Code drops the descriptions of the least-used skills and this long one is among the first worth shortening (or set disable-model-invocation: true, or raise skillListingBudgetFraction)",
            num(extra, "listing_chars"),
            num(extra, "listing_budget")
        ),
        other => format!("{noun} `{name}`: {other}"),
    }
}

fn num(extra: &serde_json::Value, key: &str) -> u64 {
    extra.get(key).and_then(|v| v.as_u64()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_depth_counts_folders_below_skills() {
        assert_eq!(skill_dir(".claude/skills/a"), Some(("a", 1)));
        assert_eq!(skill_dir(".claude/skills/g/b"), Some(("b", 2)));
    }
}
