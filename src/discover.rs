//! Discovery: one pruned walk per root finds project directories, i.e. folders with a
//! `.claude/` directory or a SkillMeat record in any profile root.

use crate::config::PROFILE_ROOTS;
use crate::records::DEPLOYED_FILE;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// Project directories, sorted, without duplicates.
    pub projects: BTreeSet<PathBuf>,
    /// Roots that do not exist or could not be read, with the reason.
    pub problems: Vec<String>,
}

/// True when `dir` is a project: it has a `.claude/` directory, a SkillMeat deployment
/// record in one of the profile roots, or other Claude Code configuration (`CLAUDE.md`,
/// `CLAUDE.local.md`, `.mcp.json`).
pub fn is_project(dir: &Path) -> bool {
    PROFILE_ROOTS.iter().any(|p| {
        let root = dir.join(p);
        (*p == ".claude" && root.is_dir()) || root.join(DEPLOYED_FILE).is_file()
    }) || ["CLAUDE.md", "CLAUDE.local.md", ".mcp.json"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Walks each root to `depth` levels, never entering a folder whose name is in `prune`, and
/// returns every project directory found (the roots themselves included).
pub fn discover(roots: &[PathBuf], depth: usize, prune: &[String]) -> Discovery {
    let mut out = Discovery::default();
    for root in roots {
        let root = match crate::fsutil::canonical(root) {
            Ok(r) if r.is_dir() => r,
            Ok(r) => {
                out.problems
                    .push(format!("root {} is not a directory", r.display()));
                continue;
            }
            Err(e) => {
                out.problems.push(format!("root {}: {e}", root.display()));
                continue;
            }
        };
        walk_root(&root, depth, prune, &mut out);
    }
    out
}

fn walk_root(root: &Path, depth: usize, prune: &[String], out: &mut Discovery) {
    let mut it = walkdir::WalkDir::new(root)
        .follow_links(true)
        .max_depth(depth.saturating_add(1))
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                // Loops and unreadable folders are skipped; the walk goes on.
                tracing::debug!("discovery: {e}");
                continue;
            }
        };
        if !entry.file_type().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if entry.depth() > 0 && PROFILE_ROOTS.contains(&name.as_ref()) {
            if let Some(parent) = entry.path().parent()
                && (name == ".claude" || entry.path().join(DEPLOYED_FILE).is_file())
            {
                out.projects.insert(parent.to_path_buf());
            }
            it.skip_current_dir();
            continue;
        }
        if entry.depth() > 0 && prune.iter().any(|p| p == name.as_ref()) {
            it.skip_current_dir();
            continue;
        }
        if entry.depth() == depth.saturating_add(1) {
            // Only profile roots matter at the last level.
            it.skip_current_dir();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_projects_prunes_and_respects_depth() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for p in [
            "a/.claude",
            "b/c/.claude/skills",
            "node_modules/x/.claude",
            "d1/d2/d3/.claude",
            "d1/d2/d3/d4/.claude",
        ] {
            fs::create_dir_all(r.join(p)).unwrap();
        }
        fs::create_dir_all(r.join("rec/.codex")).unwrap();
        fs::write(r.join("rec/.codex").join(DEPLOYED_FILE), "").unwrap();
        fs::create_dir_all(r.join("norec/.codex")).unwrap();
        let found = discover(&[r.to_path_buf()], 3, &["node_modules".to_string()]);
        let root = crate::fsutil::canonical(r).unwrap();
        let got: Vec<_> = found
            .projects
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().to_string())
            .collect();
        assert_eq!(got, vec!["a", "b/c", "d1/d2/d3", "rec"]);
    }

    #[test]
    fn missing_root_is_reported_not_fatal() {
        let found = discover(&[PathBuf::from("/definitely/not/here")], 3, &[]);
        assert!(found.projects.is_empty());
        assert_eq!(found.problems.len(), 1);
    }
}
