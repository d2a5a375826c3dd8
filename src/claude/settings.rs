//! The few keys of Claude Code's `settings.json` files that decide what is loaded:
//! `disableAllHooks`, the project MCP approvals and `enabledPlugins`, `outputStyle`.
//! Source: code.claude.com/docs/en/settings (settings files and precedence: managed, local,
//! project, user), code.claude.com/docs/en/hooks (`disableAllHooks`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Largest settings file read (bigger ones are noted and ignored).
const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// What one settings file says about loading (absent keys are `None` / empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    /// `disableAllHooks`.
    pub disable_all_hooks: Option<bool>,
    /// `enableAllProjectMcpServers`.
    pub enable_all_project_mcp: Option<bool>,
    /// `enabledMcpjsonServers`.
    pub enabled_mcpjson: Vec<String>,
    /// `disabledMcpjsonServers`.
    pub disabled_mcpjson: Vec<String>,
    /// `enabledPlugins`: `"name@marketplace": true/false`.
    pub enabled_plugins: BTreeMap<String, bool>,
    /// `outputStyle`.
    pub output_style: Option<String>,
}

impl SettingsView {
    /// Extracts the keys from a parsed settings object (other shapes read as empty).
    pub fn from_json(v: &Value) -> SettingsView {
        let strings = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(|x| x.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        SettingsView {
            disable_all_hooks: v.get("disableAllHooks").and_then(|b| b.as_bool()),
            enable_all_project_mcp: v
                .get("enableAllProjectMcpServers")
                .and_then(|b| b.as_bool()),
            enabled_mcpjson: strings("enabledMcpjsonServers"),
            disabled_mcpjson: strings("disabledMcpjsonServers"),
            enabled_plugins: v
                .get("enabledPlugins")
                .and_then(|p| p.as_object())
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, b)| b.as_bool().map(|b| (k.clone(), b)))
                        .collect()
                })
                .unwrap_or_default(),
            output_style: v
                .get("outputStyle")
                .and_then(|s| s.as_str())
                .map(String::from),
        }
    }

    /// Reads a settings file. Absent: empty, no note. Unreadable or not JSON: empty, and a
    /// note saying so.
    pub fn read(path: &Path) -> (SettingsView, Option<String>) {
        let meta = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            _ => return (SettingsView::default(), None),
        };
        if meta.len() > MAX_SETTINGS_BYTES {
            return (
                SettingsView::default(),
                Some(format!("{}: too large, not read", path.display())),
            );
        }
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => (SettingsView::from_json(&v), None),
                Err(e) => (
                    SettingsView::default(),
                    Some(format!("{}: not valid JSON ({e})", path.display())),
                ),
            },
            Err(e) => (
                SettingsView::default(),
                Some(format!("{}: could not be read: {e}", path.display())),
            ),
        }
    }
}

/// Settings files in precedence order, most specific first (local, project, user); the first
/// one that sets a key decides it.
#[derive(Debug, Clone, Default)]
pub struct Layered<'a> {
    /// Most specific first.
    pub layers: Vec<&'a SettingsView>,
}

impl Layered<'_> {
    /// `disableAllHooks` as the most specific file that sets it says.
    pub fn disable_all_hooks(&self) -> bool {
        self.layers
            .iter()
            .find_map(|l| l.disable_all_hooks)
            .unwrap_or(false)
    }

    /// `enableAllProjectMcpServers` as the most specific file that sets it says.
    pub fn enable_all_project_mcp(&self) -> bool {
        self.layers
            .iter()
            .find_map(|l| l.enable_all_project_mcp)
            .unwrap_or(false)
    }

    /// Whether any file lists `name` in `enabledMcpjsonServers`.
    pub fn mcpjson_enabled(&self, name: &str) -> bool {
        self.layers
            .iter()
            .any(|l| l.enabled_mcpjson.iter().any(|n| n == name))
    }

    /// Whether any file lists `name` in `disabledMcpjsonServers`.
    pub fn mcpjson_disabled(&self, name: &str) -> bool {
        self.layers
            .iter()
            .any(|l| l.disabled_mcpjson.iter().any(|n| n == name))
    }

    /// `enabledPlugins[id]` as the most specific file that sets it says.
    pub fn plugin_enabled(&self, id: &str) -> Option<bool> {
        self.layers
            .iter()
            .find_map(|l| l.enabled_plugins.get(id).copied())
    }

    /// `outputStyle` as the most specific file that sets it says.
    pub fn output_style(&self) -> Option<&str> {
        self.layers.iter().find_map(|l| l.output_style.as_deref())
    }
}
