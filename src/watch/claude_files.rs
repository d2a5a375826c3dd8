//! Watching Claude Code's user files: `~/.claude.json` (rewritten at every session: only a
//! change of a project's MCP servers or approvals refreshes that project, a new key discovers
//! a project, noise such as `lastCost` refreshes nothing), the user settings, the user's
//! skill folders, `installed_plugins.json`, the installed plugin folders and the managed
//! settings (a change there re-reads every project; unchanged ones are confirmed from their
//! stamps).

use super::{FileWatcher, PathMeaning, WatchOptions, is_temp_name};
use crate::config::PROFILE_ROOTS;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};

/// `file` with its folder made canonical (the file itself may not exist yet).
pub(super) fn canonical_file(file: &Path) -> PathBuf {
    match (file.parent(), file.file_name()) {
        (Some(dir), Some(name)) => crate::fsutil::canonical(dir)
            .map(|d| d.join(name))
            .unwrap_or_else(|_| file.to_path_buf()),
        _ => file.to_path_buf(),
    }
}

/// What an event at `path` means for Claude Code's user files; `None`: not one of them.
/// What Claude Code writes under its configuration folder while it runs, and never loads as
/// configuration: session transcripts (`projects/`, code.claude.com/docs/en/settings), todos,
/// shell snapshots, telemetry, per-session environments, file checkpoints, debug logs, the
/// IDE lock files and the prompt history.
pub(super) const CLAUDE_RUNTIME_STATE: &[&str] = &[
    "projects",
    "todos",
    "shell-snapshots",
    "statsig",
    "session-env",
    "file-history",
    "debug",
    "ide",
    "history.jsonl",
];

pub(super) fn classify(opts: &WatchOptions, path: &Path) -> Option<PathMeaning> {
    if path == opts.claude_json {
        return Some(PathMeaning::ClaudeJson);
    }
    if path.parent() == Some(opts.claude_managed_dir.as_path()) {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        if matches!(name.as_deref(), Some("managed-settings.json" | "CLAUDE.md")) {
            return Some(PathMeaning::UserScope);
        }
    }
    let rel = path.strip_prefix(&opts.claude_config_dir).ok()?;
    let comps: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    let last = comps.last().map(String::as_str).unwrap_or("");
    if is_temp_name(last) || comps.iter().any(|c| c == ".git") {
        return Some(PathMeaning::Ignored);
    }
    match comps.first().map(String::as_str) {
        // The folder itself appearing or vanishing: its watches are added, all re-read.
        None => Some(PathMeaning::UserScope),
        // Claude Code's own running state (session transcripts, todos, shell snapshots...):
        // written all through a session, never something a session loads. The transcripts
        // are the usage index's, which watches them itself.
        Some(first) if CLAUDE_RUNTIME_STATE.contains(&first) => Some(PathMeaning::Ignored),
        Some("settings.json") if comps.len() == 1 => Some(PathMeaning::UserScope),
        // A user skill appearing or vanishing changes which project skills are shadowed
        // (the folder itself appearing adds its watch).
        Some("skills") if comps.len() <= 2 || (comps.len() == 3 && last == "SKILL.md") => {
            Some(PathMeaning::UserScope)
        }
        Some("plugins") => match comps.get(1).map(String::as_str) {
            None => Some(PathMeaning::UserScope),
            Some("installed_plugins.json") if comps.len() == 2 => Some(PathMeaning::UserScope),
            Some("cache") => Some(PathMeaning::UserScope),
            _ => Some(PathMeaning::Ignored),
        },
        _ => None,
    }
}

impl FileWatcher {
    /// Adds the watches Claude Code's user files need and no project watch already covers.
    pub(super) fn watch_claude_files(&self) {
        let opts = self.opts();
        if !self
            .state()
            .claude
            .contains_key(opts.claude_json.parent().unwrap_or(Path::new("/")))
        {
            // Before the file's folder is watched: later changes are compared with this.
            self.inner.manager.claude_json_baseline();
        }
        let mut wanted: Vec<(PathBuf, bool)> = Vec::new();
        if let Some(dir) = opts.claude_json.parent() {
            wanted.push((dir.to_path_buf(), false));
        }
        let cfg = &opts.claude_config_dir;
        wanted.push((opts.claude_managed_dir.clone(), false));
        wanted.push((cfg.clone(), false));
        wanted.push((cfg.join("skills"), true));
        wanted.push((cfg.join("plugins"), false));
        let (installed, _) = crate::claude::plugins::installed(cfg);
        for p in installed.values() {
            wanted.push((p.install_path.clone(), true));
        }
        let mut st = self.state();
        if !st.running {
            return;
        }
        // Recursive project watches (profile roots) that already cover a path.
        let covered: Vec<PathBuf> = st
            .projects
            .values()
            .flat_map(|w| w.paths.iter())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| PROFILE_ROOTS.contains(&n.to_string_lossy().as_ref()))
            })
            .cloned()
            .collect();
        for (path, recursive) in wanted {
            if !path.is_dir()
                || st.claude.contains_key(&path)
                || covered.iter().any(|c| path.starts_with(c))
            {
                continue;
            }
            let mode = if recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            if let Some(native) = st.native.as_mut() {
                match native.watch(&path, mode) {
                    Ok(()) => {
                        st.status.watches += 1;
                        st.claude.insert(path, recursive);
                    }
                    Err(e) => st.status.problems.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }

    /// The projects to refresh after `~/.claude.json` changed (none for noise).
    pub(super) fn claude_json_changed(&self) -> Vec<(String, PathBuf)> {
        match self.inner.manager.claude_json_changed() {
            Ok(list) => {
                let _ = self.sync_projects();
                list.into_iter()
                    .map(|(id, path)| (id, PathBuf::from(path)))
                    .collect()
            }
            Err(e) => {
                tracing::warn!("~/.claude.json changed but could not be applied: {e}");
                Vec::new()
            }
        }
    }
}
