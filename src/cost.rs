//! Context cost: an estimate, in tokens, of what a Claude Code session started in a project
//! loads before the first prompt, item by item. Computed at refresh time (after
//! [`crate::loading::resolve`]) and stored with each item (`artifacts.tokens`) and per project
//! (`projects.cost_tokens`), so reading a project's cost is a lookup, not a walk over files.
//!
//! What counts (sources: code.claude.com/docs/en/memory, code.claude.com/docs/en/skills,
//! code.claude.com/docs/en/sub-agents, code.claude.com/docs/en/output-styles):
//! - memory files (`CLAUDE.md`, `.claude/CLAUDE.md`, `CLAUDE.local.md`, `~/.claude/CLAUDE.md`):
//!   their whole text plus every `@import` they pull in (recursively, at most
//!   [`MAX_IMPORT_DEPTH`] hops, each file once);
//! - rules without `paths:` (loaded at startup; rules with `paths:` load on demand and cost 0);
//! - the output style named by `outputStyle` in the settings (the others cost 0);
//! - the listing line (`name: description`) of every loaded skill, agent and command,
//!   plugin-provided ones included; a skill's description counts up to
//!   [`DEFAULT_MAX_DESC_CHARS`], as Claude Code cuts it there.
//!
//! Hooks, MCP servers and plugins themselves cost 0 here (MCP tool definitions are loaded on
//! demand by tool search; hooks add nothing to the prompt). Items that are not loaded cost 0.
//! A project's total adds what reaches it from the user scope (the user scope's own total,
//! see [`crate::store`]'s project reads).
//!
//! The estimator is [`estimate_tokens`]: bytes divided by [`BYTES_PER_TOKEN`], rounded up. Its
//! error against a real tokenizer (OpenAI's o200k_base through the `tiktoken-rs` crate; no
//! Anthropic tokenizer is published as a crate) is measured by `tests/cost_estimator.rs` on the
//! Markdown of this repository and the shared design documents, and stated in the README.
//! Files are sized from their metadata (no read) except memory files, whose imports are read.

use crate::claude::context::ScanContext;
use crate::claude::settings::SettingsView;
use crate::model::{ArtifactKind, Scope};
use crate::scan::{ProjectSnapshot, ScannedArtifact, imports_of, resolve_import};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Bytes per token of the estimator (see the module doc for its measured error).
pub const BYTES_PER_TOKEN: f64 = 4.0;
/// Most `@import` hops followed from a memory file (Claude Code's documented limit).
pub const MAX_IMPORT_DEPTH: usize = 5;
/// Longest description (with `when_to_use`) Claude Code lists for one skill, in characters,
/// unless `skillListingMaxDescChars` says otherwise. Source: code.claude.com/docs/en/skills.
pub const DEFAULT_MAX_DESC_CHARS: usize = 1536;
/// Largest imported file read to find further imports.
const MAX_IMPORT_READ: u64 = 1 << 20;

/// Estimated tokens of `bytes` bytes of text: `ceil(bytes / BYTES_PER_TOKEN)`.
pub fn estimate_tokens(bytes: u64) -> u32 {
    let t = (bytes as f64 / BYTES_PER_TOKEN).ceil();
    t.min(u32::MAX as f64) as u32
}

/// The listing line Claude Code shows for an item: `- name: description`, the description cut
/// at `max_desc` characters.
pub fn listing_line(name: &str, description: &str, max_desc: usize) -> String {
    let desc: String = description.chars().take(max_desc).collect();
    if desc.is_empty() {
        format!("- {name}\n")
    } else {
        format!("- {name}: {desc}\n")
    }
}

/// True for the kinds whose cost is their listing line.
pub fn is_listed(kind: ArtifactKind) -> bool {
    matches!(
        kind,
        ArtifactKind::Skill | ArtifactKind::Agent | ArtifactKind::Command
    )
}

/// Sets `tokens` of every item of `snap` (0 for items that are not loaded or cost nothing),
/// then marks the descriptions the skill listing cuts or drops ([`crate::budget::apply`]).
pub fn annotate(project: &Path, snap: &mut ProjectSnapshot, ctx: &ScanContext) {
    let active_style = active_output_style(project, ctx);
    for a in snap.artifacts.iter_mut() {
        a.tokens = if a.loaded {
            item_tokens(project, a, ctx, active_style.as_deref())
        } else {
            0
        };
    }
    crate::budget::apply(project, snap, ctx);
}

/// The output style the settings name (`outputStyle`): local, then project, then user.
fn active_output_style(project: &Path, ctx: &ScanContext) -> Option<String> {
    let read = |p: PathBuf| SettingsView::read(&p).0.output_style;
    if ctx.user_scope {
        return read(project.join(".claude/settings.json"));
    }
    read(project.join(".claude/settings.local.json"))
        .or_else(|| read(project.join(".claude/settings.json")))
        .or_else(|| ctx.user.settings.output_style.clone())
}

fn item_tokens(
    project: &Path,
    a: &ScannedArtifact,
    ctx: &ScanContext,
    active_style: Option<&str>,
) -> u32 {
    match a.kind {
        k if is_listed(k) => estimate_tokens(
            listing_line(&a.name, &a.description, DEFAULT_MAX_DESC_CHARS).len() as u64,
        ),
        ArtifactKind::Memory if a.scope != Scope::Plugin && a.scope != Scope::Managed => {
            estimate_tokens(memory_bytes(&project.join(&a.path), &ctx.home))
        }
        ArtifactKind::Rule if a.scope != Scope::Plugin => {
            estimate_tokens(file_len(&project.join(&a.path)))
        }
        ArtifactKind::OutputStyle if a.scope != Scope::Plugin => {
            let file_stem = Path::new(&a.path)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string());
            let active = active_style.is_some_and(|s| {
                s.eq_ignore_ascii_case(&a.name) || Some(s) == file_stem.as_deref()
            });
            if active {
                estimate_tokens(file_len(&project.join(&a.path)))
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Bytes of a memory file and of every file it imports (each once, at most
/// [`MAX_IMPORT_DEPTH`] hops).
pub fn memory_bytes(file: &Path, home: &Path) -> u64 {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut total = 0u64;
    let mut frontier: Vec<(PathBuf, usize)> = vec![(file.to_path_buf(), 0)];
    while let Some((f, depth)) = frontier.pop() {
        let key = crate::fsutil::canonical(&f).unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            continue;
        }
        let len = file_len(&f);
        if len == 0 {
            continue;
        }
        total += len;
        if depth >= MAX_IMPORT_DEPTH || len > MAX_IMPORT_READ {
            continue;
        }
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let base = f.parent().unwrap_or(Path::new("/"));
        for imp in imports_of(&text) {
            frontier.push((resolve_import(base, home, &imp), depth + 1));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }

    #[test]
    fn listing_line_cuts_the_description() {
        assert_eq!(listing_line("a", "bcd", 2), "- a: bc\n");
        assert_eq!(listing_line("a", "", 2), "- a\n");
    }
}
