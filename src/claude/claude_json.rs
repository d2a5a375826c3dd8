//! `~/.claude.json`: read once per change of its (mtime, size) stamp and reduced to a
//! secret-free summary: user-scope MCP servers, and per project its local-scope MCP servers
//! and MCP approvals. Everything else in the file (OAuth account, prompt history, costs,
//! session ids) is never kept. Claude Code rewrites the file at every session and it has been
//! seen half-written: a reading that fails keeps the last good summary and says so.
//! Source: code.claude.com/docs/en/mcp ("local-scoped servers ... stored in ~/.claude.json
//! under your project's path"; user scope at the top level); code.claude.com/docs/en/env-vars
//! (`CLAUDE_CONFIG_DIR`).

use super::mcp::McpEntry;
use super::settings::SettingsView;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Largest `~/.claude.json` read (a bigger one is noted and the last good reading kept).
pub const MAX_CLAUDE_JSON_BYTES: u64 = 256 * 1024 * 1024;

/// What `~/.claude.json` says about one project folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEntry {
    /// Local-scope MCP servers (`projects["<path>"].mcpServers`).
    pub mcp_servers: Vec<McpEntry>,
    /// `enabledMcpjsonServers`, `disabledMcpjsonServers` and `enableAllProjectMcpServers`
    /// recorded for this project (the approval dialog writes them here).
    pub approvals: SettingsView,
    /// `disabledMcpServers`: servers of any scope the user turned off in this project.
    pub disabled_mcp: Vec<String>,
}

impl ProjectEntry {
    /// A fingerprint of everything that decides what this project loads.
    pub fn digest(&self) -> String {
        crate::hash::hash_bytes(serde_json::to_string(self).unwrap_or_default().as_bytes())[..16]
            .to_string()
    }

    fn from_json(v: &Value) -> ProjectEntry {
        let mut approvals = SettingsView::from_json(v);
        approvals.disable_all_hooks = None;
        approvals.enabled_plugins.clear();
        approvals.output_style = None;
        ProjectEntry {
            mcp_servers: McpEntry::all_from(v.get("mcpServers")),
            approvals,
            disabled_mcp: v
                .get("disabledMcpServers")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// The secret-free summary of `~/.claude.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaudeJson {
    /// User-scope MCP servers (top-level `mcpServers`).
    pub user_mcp: Vec<McpEntry>,
    /// Per project folder (the keys of `projects`, as written).
    pub projects: BTreeMap<String, ProjectEntry>,
}

impl ClaudeJson {
    /// Parses the file's bytes. Not JSON, or not an object: an error (never "no projects").
    pub fn parse(bytes: &[u8]) -> Result<ClaudeJson, String> {
        let text = String::from_utf8_lossy(bytes);
        let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| format!("not valid JSON ({e})"))?;
        if !v.is_object() {
            return Err("not a JSON object".into());
        }
        Ok(ClaudeJson {
            user_mcp: McpEntry::all_from(v.get("mcpServers")),
            projects: v
                .get("projects")
                .and_then(|p| p.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, e)| (k.clone(), ProjectEntry::from_json(e)))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// A fingerprint of the user-scope part.
    pub fn user_digest(&self) -> String {
        crate::hash::hash_bytes(
            serde_json::to_string(&self.user_mcp)
                .unwrap_or_default()
                .as_bytes(),
        )[..16]
            .to_string()
    }
}

/// Where Claude Code keeps its user configuration: `$CLAUDE_CONFIG_DIR` when set, else
/// `~/.claude`; and its state file: `$CLAUDE_CONFIG_DIR/.claude.json` when set, else
/// `~/.claude.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudePaths {
    /// The user configuration folder (`~/.claude`).
    pub config_dir: PathBuf,
    /// The state file (`~/.claude.json`).
    pub claude_json: PathBuf,
}

impl ClaudePaths {
    /// The paths for `home`, moved by `config_dir` (the value of `CLAUDE_CONFIG_DIR`).
    pub fn new(home: &Path, config_dir: Option<&Path>) -> ClaudePaths {
        match config_dir {
            Some(d) => ClaudePaths {
                config_dir: d.to_path_buf(),
                claude_json: d.join(".claude.json"),
            },
            None => ClaudePaths {
                config_dir: home.join(".claude"),
                claude_json: home.join(".claude.json"),
            },
        }
    }
}

/// One reading of the file: the summary in force and a note when it is not the file's
/// current content.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    /// The summary (the last good one after a failed reading).
    pub summary: Arc<ClaudeJson>,
    /// The file's stamp when read (empty when absent).
    pub stamp: String,
    /// Set when the file could not be read or parsed, saying the last good reading is used.
    pub note: Option<String>,
    /// True when this reading parsed the file anew (the caller may persist it).
    pub fresh: bool,
    /// True when this call read the file (successfully or not), rather than reusing the
    /// reading of an unchanged file.
    pub read_now: bool,
}

/// Reads `~/.claude.json` at most once per change of its stamp, keeping the last good
/// summary across failed readings.
#[derive(Debug, Default)]
pub struct ClaudeJsonReader {
    last: Mutex<Option<Reading>>,
}

impl ClaudeJsonReader {
    /// The summary in force from the last reading, without reading (none before the first).
    pub fn last_summary(&self) -> Option<Arc<ClaudeJson>> {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|r| r.summary.clone())
    }

    /// The summary in force for the file at `path`. `fallback` gives a last good summary
    /// saved by an earlier process, used when the file fails on the first reading.
    pub fn read(&self, path: &Path, fallback: impl FnOnce() -> Option<ClaudeJson>) -> Reading {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file());
        let stamp = meta
            .as_ref()
            .map(crate::hash::file_stamp)
            .unwrap_or_default();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = last.as_ref()
            && r.stamp == stamp
        {
            return Reading {
                fresh: false,
                read_now: false,
                ..r.clone()
            };
        }
        let outcome = match &meta {
            None => Ok(ClaudeJson::default()),
            Some(m) if m.len() > MAX_CLAUDE_JSON_BYTES => Err("too large to read".to_string()),
            Some(_) => std::fs::read(path)
                .map_err(|e| format!("could not be read: {e}"))
                .and_then(|b| ClaudeJson::parse(&b)),
        };
        let reading = match outcome {
            Ok(summary) => Reading {
                summary: Arc::new(summary),
                stamp,
                note: None,
                fresh: true,
                read_now: true,
            },
            Err(why) => {
                let previous = last
                    .as_ref()
                    .map(|r| r.summary.clone())
                    .or_else(|| fallback().map(Arc::new));
                let kept = if previous.is_some() {
                    "the last good reading is used"
                } else {
                    "no earlier reading exists, so its projects and MCP servers are unknown for now"
                };
                tracing::warn!("{}: {why}; {kept}", path.display());
                Reading {
                    summary: previous.unwrap_or_default(),
                    stamp,
                    note: Some(format!("{}: {why}; {kept}", path.display())),
                    fresh: false,
                    read_now: true,
                }
            }
        };
        *last = Some(reading.clone());
        reading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_written_file_keeps_the_last_good_reading() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(".claude.json");
        std::fs::write(
            &f,
            r#"{"projects": {"/p": {"mcpServers": {"db": {"command": "pg"}}}}}"#,
        )
        .unwrap();
        let r = ClaudeJsonReader::default();
        let good = r.read(&f, || None);
        assert!(good.note.is_none() && good.fresh);
        assert_eq!(good.summary.projects["/p"].mcp_servers[0].name, "db");
        std::fs::write(&f, r#"{"projects": {"/p": {"mcpSer"#).unwrap();
        let bad = r.read(&f, || None);
        assert!(
            bad.note.as_deref().unwrap().contains("last good"),
            "{:?}",
            bad.note
        );
        assert_eq!(bad.summary.projects["/p"].mcp_servers[0].name, "db");
    }

    #[test]
    fn the_first_failed_reading_uses_the_saved_summary() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(".claude.json");
        std::fs::write(&f, "{\"proj").unwrap();
        let saved = ClaudeJson {
            projects: [("/saved".to_string(), ProjectEntry::default())].into(),
            ..Default::default()
        };
        let r = ClaudeJsonReader::default().read(&f, || Some(saved.clone()));
        assert!(r.summary.projects.contains_key("/saved"));
        assert!(r.note.is_some());
    }
}
