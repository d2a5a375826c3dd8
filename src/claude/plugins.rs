//! Installed plugins: `~/.claude/plugins/installed_plugins.json` (format 1: one object per
//! `name@marketplace`; format 2: a list of installations) and each plugin folder's manifest,
//! `.claude-plugin/plugin.json`, with its custom component paths.
//! Source: code.claude.com/docs/en/plugins-reference (plugin folder layout, `plugin.json`
//! fields `name`, `version`, `description`, `commands`, `agents`, `skills`, `hooks`,
//! `mcpServers`, `outputStyles`; custom paths supplement the default folders);
//! code.claude.com/docs/en/plugin-marketplaces; anthropics/claude-code#11243 (file format).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest `installed_plugins.json` or `plugin.json` read.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPlugin {
    /// Its folder.
    pub install_path: PathBuf,
    /// The version recorded at install.
    pub version: Option<String>,
}

/// Reads the installed plugins below `config_dir` (`~/.claude`), keyed by
/// `name@marketplace`. A missing file is no plugins; a broken one is no plugins and a note.
pub fn installed(config_dir: &Path) -> (BTreeMap<String, InstalledPlugin>, Option<String>) {
    let plugins_dir = config_dir.join("plugins");
    let file = plugins_dir.join("installed_plugins.json");
    let Some(v) = read_json(&file) else {
        return (BTreeMap::new(), None);
    };
    let v = match v {
        Ok(v) => v,
        Err(e) => return (BTreeMap::new(), Some(format!("{}: {e}", file.display()))),
    };
    let mut out = BTreeMap::new();
    if let Some(map) = v.get("plugins").and_then(|p| p.as_object()) {
        for (id, entry) in map {
            // Format 1: an object; format 2: a list of installations (the first with a path).
            let one = match entry {
                Value::Array(list) => list.iter().find(|e| e.get("installPath").is_some()),
                other => Some(other),
            };
            let Some(one) = one else { continue };
            let Some(path) = one.get("installPath").and_then(|p| p.as_str()) else {
                continue;
            };
            let p = PathBuf::from(path);
            out.insert(
                id.clone(),
                InstalledPlugin {
                    install_path: if p.is_absolute() {
                        p
                    } else {
                        plugins_dir.join(p)
                    },
                    version: one
                        .get("version")
                        .and_then(|s| s.as_str())
                        .filter(|s| *s != "unknown")
                        .map(String::from),
                },
            );
        }
    }
    (out, None)
}

/// A plugin folder's manifest, reduced to what decides its components.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// `name` (the namespace of its skills and commands).
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// Extra folders (relative to the plugin root) per component: `commands`, `agents`,
    /// `skills`, `outputStyles`.
    pub paths: BTreeMap<String, Vec<String>>,
    /// `hooks`: a path to a hooks file, or inline.
    pub hooks: Option<Value>,
    /// `mcpServers`: a path to an MCP file, or inline.
    pub mcp_servers: Option<Value>,
    /// Set when the manifest could not be read.
    pub problem: Option<String>,
}

impl Manifest {
    /// Reads `<root>/.claude-plugin/plugin.json` (absent: empty).
    pub fn read(root: &Path) -> Manifest {
        let file = root.join(".claude-plugin/plugin.json");
        let v = match read_json(&file) {
            None => return Manifest::default(),
            Some(Err(e)) => {
                return Manifest {
                    problem: Some(format!("{}: {e}", file.display())),
                    ..Default::default()
                };
            }
            Some(Ok(v)) => v,
        };
        let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(String::from);
        let mut paths = BTreeMap::new();
        for key in ["commands", "agents", "skills", "outputStyles"] {
            let list: Vec<String> = match v.get(key) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            if !list.is_empty() {
                paths.insert(key.to_string(), list);
            }
        }
        Manifest {
            name: text("name"),
            version: text("version"),
            description: text("description"),
            paths,
            hooks: v.get("hooks").cloned(),
            mcp_servers: v.get("mcpServers").cloned(),
            problem: None,
        }
    }
}

/// `None`: absent. `Some(Err)`: unreadable or not JSON.
fn read_json(file: &Path) -> Option<Result<Value, String>> {
    let meta = std::fs::metadata(file).ok().filter(|m| m.is_file())?;
    if meta.len() > MAX_BYTES {
        return Some(Err("too large, not read".into()));
    }
    Some(
        std::fs::read(file)
            .map_err(|e| format!("could not be read: {e}"))
            .and_then(|b| {
                serde_json::from_slice::<Value>(&b).map_err(|e| format!("not valid JSON ({e})"))
            }),
    )
}

/// A stamp of `installed_plugins.json` (stats only).
pub fn stamp(config_dir: &Path) -> String {
    std::fs::metadata(config_dir.join("plugins/installed_plugins.json"))
        .map(|m| crate::hash::file_stamp(&m))
        .unwrap_or_default()
}
