//! The manager's view of Claude Code's files outside projects: `~/.claude.json` read once per
//! change (its secret-free summary saved in the cache as the last good reading), the user
//! scope, the per-project [`ScanContext`], discovery from `projects` keys, and problems.

use super::CacheManager;
use crate::claude::claude_json::{ClaudeJson, Reading};
use crate::claude::context::{ScanContext, UserContext};
use crate::config::Config;
use crate::error::Result;
use crate::model::Problem;
use std::path::Path;
use std::sync::Arc;

/// Metadata key: how many `projects` keys of `~/.claude.json` point at folders that are gone.
pub(super) const GONE_KEY: &str = "claude_json.gone";
/// Metadata key: the last good secret-free summary of `~/.claude.json`.
const SUMMARY_KEY: &str = "claude_json.summary";
/// Metadata key: why the last reading of `~/.claude.json` failed, while it does.
const NOTE_KEY: &str = "claude_json.note";

impl CacheManager {
    /// The `~/.claude.json` summary in force (read again only when the file's stamp changed).
    fn claude_reading(&self, cfg: &Config) -> Reading {
        let store = &self.inner.store;
        let path = cfg.claude_paths().claude_json;
        let r = self.inner.claude_json.read(&path, || {
            store
                .meta_get(SUMMARY_KEY)
                .ok()
                .flatten()
                .and_then(|s| serde_json::from_str::<ClaudeJson>(&s).ok())
        });
        // Only a reading that really happened is saved: an unchanged file costs no query.
        if r.read_now && !store.is_read_only() {
            if r.fresh {
                let text = serde_json::to_string(&*r.summary).unwrap_or_default();
                if store.meta_get(SUMMARY_KEY).ok().flatten().as_deref() != Some(&text) {
                    let _ = store.meta_set(SUMMARY_KEY, &text);
                }
            }
            let stored = store.meta_get(NOTE_KEY).ok().flatten();
            match (&r.note, stored) {
                (Some(n), s) if s.as_deref() != Some(n) => {
                    let _ = store.meta_set(NOTE_KEY, n);
                }
                (None, Some(_)) => {
                    let _ = store.meta_delete(NOTE_KEY);
                }
                _ => {}
            }
        }
        r
    }

    /// The user scope, read again only when its files' stamps changed.
    fn user_context(&self, cfg: &Config) -> Arc<UserContext> {
        let dir = cfg.claude_paths().config_dir;
        let stamp = UserContext::stamp(&dir, &cfg.claude_managed_dir);
        let mut slot = self
            .inner
            .user_ctx
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((s, u)) = slot.as_ref()
            && *s == stamp
        {
            return u.clone();
        }
        let u = Arc::new(UserContext::load(&dir, &cfg.claude_managed_dir));
        *slot = Some((stamp, u.clone()));
        u
    }

    /// What a scan of the project at `path` needs from outside it: the user scope and its
    /// `~/.claude.json` entry (for [`crate::scan::scan_project_in`]).
    pub fn scan_context(&self, path: &str) -> ScanContext {
        let cfg = self.config();
        let reading = self.claude_reading(&cfg);
        let home = crate::fsutil::canonical(&cfg.home).unwrap_or(cfg.home.clone());
        let user_scope = Path::new(path) == home || Path::new(path) == cfg.home;
        ScanContext {
            user_scope,
            home,
            user: self.user_context(&cfg),
            local: if user_scope {
                None
            } else {
                reading.summary.projects.get(path).cloned()
            },
            user_mcp: reading.summary.user_mcp.clone(),
        }
    }

    /// The folders `~/.claude.json` lists that exist and hold Claude Code configuration
    /// (canonical paths; the home folder, which is the user scope, excluded). Counts the
    /// keys whose folder is gone for `status`.
    pub(super) fn claude_json_projects(&self, cfg: &Config) -> Result<Vec<String>> {
        let reading = self.claude_reading(cfg);
        let home = crate::fsutil::canonical(&cfg.home).unwrap_or(cfg.home.clone());
        let mut gone = 0u64;
        let mut out = Vec::new();
        for (key, entry) in &reading.summary.projects {
            let p = Path::new(key);
            if !p.is_absolute() {
                continue;
            }
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => {}
                _ => {
                    gone += 1;
                    continue;
                }
            }
            let canon = crate::fsutil::canonical(p).unwrap_or(p.to_path_buf());
            if canon == home || p == cfg.home {
                continue;
            }
            let configured = canon.join(".claude").is_dir()
                || !entry.mcp_servers.is_empty()
                || ["CLAUDE.md", "CLAUDE.local.md", ".mcp.json"]
                    .iter()
                    .any(|f| canon.join(f).is_file());
            if configured {
                out.push(canon.display().to_string());
            }
        }
        let store = &self.inner.store;
        if !store.is_read_only()
            && store
                .meta_get(GONE_KEY)?
                .and_then(|v| v.parse::<u64>().ok())
                != Some(gone)
        {
            store.meta_set(GONE_KEY, &gone.to_string())?;
        }
        Ok(out)
    }

    /// Why `~/.claude.json` could not be read at the last attempt, while that lasts.
    pub(super) fn claude_json_note(&self) -> Option<String> {
        self.inner.store.meta_get(NOTE_KEY).ok().flatten()
    }

    /// Problems of one project (id or path) or of all: items not loaded (except on-demand
    /// rules and other tools' files), malformed frontmatter, dangling `@imports`; ordered by
    /// project path, kind, path.
    pub fn problems(&self, project: Option<&str>) -> Result<Vec<Problem>> {
        let id = match project {
            Some(k) => Some(self.resolve(k)?.0),
            None => None,
        };
        Ok(to_problems(self.inner.store.problems(id.as_deref())?))
    }

    /// At most `limit` problems of one project or of all, the rarest kinds first: what the
    /// dashboard's panel shows (see [`crate::store::Store::problems_rarest_first`]).
    pub fn problems_rarest_first(&self, project: Option<&str>, limit: u64) -> Result<Vec<Problem>> {
        super::check_page(0, Some(limit))?;
        let id = match project {
            Some(k) => Some(self.resolve(k)?.0),
            None => None,
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(to_problems(
            self.inner
                .store
                .problems_rarest_first(id.as_deref(), limit)?,
        ))
    }
}

impl CacheManager {
    /// Takes the current `~/.claude.json` as the baseline of
    /// [`CacheManager::claude_json_changed`] (the file watcher calls it when it starts).
    pub fn claude_json_baseline(&self) {
        let cfg = self.config();
        let now = self.claude_reading(&cfg).summary;
        *self
            .inner
            .claude_applied
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(now);
    }

    /// Applies a change of `~/.claude.json`: discovers new project keys and returns the
    /// projects (id, path) whose entry changed (local MCP servers, approvals, disabled
    /// servers), and the user scope when user-scope servers changed. A write that changes
    /// only noise (`lastCost`, `lastSessionId`...) returns nothing. A file that cannot be
    /// parsed changes nothing (the last good reading stays).
    pub fn claude_json_changed(&self) -> Result<Vec<(String, String)>> {
        let cfg = self.config();
        // Compared with what the last call applied, not with the last reading: a refresh
        // running meanwhile may already have read the new file.
        let mut applied = self
            .inner
            .claude_applied
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let before: Option<Arc<ClaudeJson>> = applied
            .clone()
            .or_else(|| self.inner.claude_json.last_summary())
            .or_else(|| {
                self.inner
                    .store
                    .meta_get(SUMMARY_KEY)
                    .ok()
                    .flatten()
                    .and_then(|s| serde_json::from_str::<ClaudeJson>(&s).ok())
                    .map(Arc::new)
            });
        let after = self.claude_reading(&cfg).summary;
        *applied = Some(after.clone());
        if before.as_deref() == Some(&*after) {
            return Ok(Vec::new());
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for id in self.sync_discovered()? {
            if let Ok(pair) = self.resolve(&id) {
                out.push(pair);
            }
        }
        let empty = ClaudeJson::default();
        let before = before.as_deref().unwrap_or(&empty);
        let mut keys: Vec<&String> = Vec::new();
        for (k, e) in &after.projects {
            if before.projects.get(k) != Some(e) {
                keys.push(k);
            }
        }
        for k in before.projects.keys() {
            if !after.projects.contains_key(k) {
                keys.push(k);
            }
        }
        if before.user_mcp != after.user_mcp {
            // The user scope's servers, and in every project the ones shadowed there.
            for r in self.inner.store.project_refs(0)? {
                let pair = (r.id, r.path);
                if !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
        for k in keys {
            let found = self.inner.store.find_project(k)?.or_else(|| {
                crate::fsutil::canonical(k)
                    .ok()
                    .and_then(|c| self.inner.store.find_project(&c.display().to_string()).ok())
                    .flatten()
            });
            if let Some(pair) = found
                && !out.contains(&pair)
            {
                out.push(pair);
            }
        }
        Ok(out)
    }
}

/// Rows of the store's problem queries as [`Problem`]s, each with its readable detail.
fn to_problems(rows: Vec<(crate::model::Artifact, String, String)>) -> Vec<Problem> {
    rows.into_iter()
        .map(|(a, project_name, problem)| Problem {
            detail: crate::loading::problem_detail(a.kind, &a.name, &a.path, &a.extra, &problem),
            artifact: a,
            project_name,
            problem,
        })
        .collect()
}
