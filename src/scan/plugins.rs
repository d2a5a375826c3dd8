//! Plugins and what they provide. The user scope lists every installed plugin and every
//! plugin the user settings enable; a project lists the plugins its project or local settings
//! name in `enabledPlugins`. Each plugin is an item of kind `plugin`; its skills, agents,
//! commands, hooks, MCP servers and output styles are items of scope `plugin`, namespaced
//! (`<plugin>:<name>`, MCP servers `plugin:<plugin>:<name>`), loaded only when the plugin is
//! enabled (by the most specific settings file that names it) and installed.
//! Source: code.claude.com/docs/en/plugins, code.claude.com/docs/en/plugins-reference,
//! code.claude.com/docs/en/settings (`enabledPlugins`; precedence local > project > user).

use super::{PrevIndex, ProjectSnapshot, ScannedArtifact, Scanner};
use crate::claude::context::ScanContext;
use crate::claude::plugins::Manifest;
use crate::claude::settings::SettingsView;
use crate::model::{ArtifactKind, FrontmatterState, NotLoaded, Scope};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

impl Scanner<'_> {
    /// The plugins this folder's answer includes, and their components.
    pub(super) fn scan_plugins(&mut self, ctx: &ScanContext) {
        let (project_settings, _) = SettingsView::read(&self.project.join(".claude/settings.json"));
        let (local_settings, _) =
            SettingsView::read(&self.project.join(".claude/settings.local.json"));
        let user = &ctx.user;
        let mut ids: BTreeSet<&String> = BTreeSet::new();
        if ctx.user_scope {
            ids.extend(user.installed_plugins.keys());
            ids.extend(user.settings.enabled_plugins.keys());
            ids.extend(user.managed.enabled_plugins.keys());
        } else {
            ids.extend(local_settings.enabled_plugins.keys());
            ids.extend(project_settings.enabled_plugins.keys());
        }
        for id in ids {
            let managed = user
                .managed
                .enabled_plugins
                .get(id)
                .map(|b| (*b, Scope::Managed));
            let decided = managed.or_else(|| {
                if ctx.user_scope {
                    user.settings
                        .enabled_plugins
                        .get(id)
                        .map(|b| (*b, Scope::User))
                } else {
                    local_settings
                        .enabled_plugins
                        .get(id)
                        .map(|b| (*b, Scope::Local))
                        .or_else(|| {
                            project_settings
                                .enabled_plugins
                                .get(id)
                                .map(|b| (*b, Scope::Project))
                        })
                }
            });
            let (enabled, scope) = decided.unwrap_or((false, Scope::User));
            let installed = user.installed_plugins.get(id);
            let reason = match (enabled, installed) {
                (true, Some(_)) => None,
                (true, None) => Some(NotLoaded::PluginNotInstalled),
                (false, _) => Some(NotLoaded::PluginDisabled),
            };
            let root = installed.map(|i| i.install_path.clone());
            let manifest = root
                .as_deref()
                .filter(|r| r.is_dir())
                .map(Manifest::read)
                .unwrap_or_default();
            if let Some(p) = &manifest.problem {
                self.note(p.clone());
            }
            let ns = manifest
                .name
                .clone()
                .unwrap_or_else(|| id.split('@').next().unwrap_or(id).to_string());
            let version = manifest
                .version
                .clone()
                .or_else(|| installed.and_then(|i| i.version.clone()));
            let mut item = ScannedArtifact {
                kind: ArtifactKind::Plugin,
                name: id.clone(),
                description: manifest.description.clone().unwrap_or_default(),
                path: format!("plugin:{id}"),
                content_hash: String::new(),
                frontmatter: FrontmatterState::None,
                version,
                tags: Vec::new(),
                aliases: Vec::new(),
                local_modified: None,
                outdated: None,
                upstream_version: None,
                version_cmp: None,
                extra: json!({
                    "enabled": enabled,
                    "installed": installed.is_some(),
                    "decided_by": scope.as_str(),
                    "install_path": root.as_ref().map(|r| r.display().to_string()),
                    "namespace": ns,
                }),
                source: format!("plugin:{id}"),
                stamp: String::new(),
                scope,
                plugin: Some(id.clone()),
                loaded: reason.is_none(),
                not_loaded: reason,
                tokens: 0,
            };
            item.content_hash = crate::hash::hash_bytes(item.extra.to_string().as_bytes());
            self.snap.artifacts.push(item);
            if let Some(root) = root.filter(|r| r.is_dir()) {
                let (arts, notes) = components(&root, id, &ns, &manifest, reason);
                self.snap.artifacts.extend(arts);
                for n in notes {
                    self.note(format!("plugin {id}: {n}"));
                }
            } else if installed.is_some() {
                self.note(format!("plugin {id}: its folder is missing"));
            }
        }
    }
}

/// Every component of the plugin folder `root`, as items of scope `plugin`.
fn components(
    root: &Path,
    id: &str,
    ns: &str,
    manifest: &Manifest,
    reason: Option<NotLoaded>,
) -> (Vec<ScannedArtifact>, Vec<String>) {
    let prev = PrevIndex::default();
    let mut snap = ProjectSnapshot::default();
    let mut sc = Scanner {
        project: root,
        prev: &prev,
        snap: &mut snap,
        stamp_mode: false,
        walked: None,
    };
    sc.scan_skills(root);
    sc.scan_md_kind(root, "commands", ArtifactKind::Command);
    sc.scan_md_kind(root, "agents", ArtifactKind::Agent);
    sc.scan_md_docs(root, ArtifactKind::OutputStyle);
    sc.scan_hooks(&root.join("hooks/hooks.json"), "hooks/hooks.json");
    sc.scan_mcp(&root.join(".mcp.json"));
    // Custom component paths supplement the default folders.
    for (key, list) in &manifest.paths {
        for rel in list {
            let Some(dir) = inside(root, rel).filter(|d| d.is_dir()) else {
                continue;
            };
            let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
                continue;
            };
            let name = name.to_string_lossy().to_string();
            match key.as_str() {
                "skills" => sc.scan_skills_in(&dir),
                "commands" => sc.scan_md_kind(parent, &name, ArtifactKind::Command),
                "agents" => sc.scan_md_kind(parent, &name, ArtifactKind::Agent),
                _ => {}
            }
        }
    }
    if let Some(serde_json::Value::String(rel)) = &manifest.hooks
        && let Some(file) = inside(root, rel)
    {
        sc.scan_hooks(&file, rel.trim_start_matches("./"));
    }
    if let Some(serde_json::Value::String(rel)) = &manifest.mcp_servers
        && let Some(file) = inside(root, rel)
    {
        sc.scan_mcp_file(&file, rel.trim_start_matches("./"));
    }
    if let Some(inline @ serde_json::Value::Object(_)) = &manifest.mcp_servers {
        for (name, spec) in servers_of(inline) {
            let e = crate::claude::mcp::McpEntry::from_spec(name, spec);
            let mut a = super::claude_json_server(&e);
            a.path = format!(".claude-plugin/plugin.json#{name}");
            a.source = ".claude-plugin/plugin.json".into();
            sc.snap.artifacts.push(a);
        }
    }
    let notes = std::mem::take(&mut sc.snap.notes);
    let mut arts = std::mem::take(&mut snap.artifacts);
    arts.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    arts.dedup_by(|a, b| a.kind == b.kind && a.path == b.path);
    for a in &mut arts {
        a.path = format!("plugin:{id}/{}", a.path);
        a.source = format!("plugin:{id}/{}", a.source);
        a.name = match a.kind {
            ArtifactKind::McpServer => format!("plugin:{ns}:{}", a.name),
            ArtifactKind::Hook => a.name.clone(),
            _ => format!("{ns}:{}", a.name),
        };
        a.scope = Scope::Plugin;
        a.plugin = Some(id.to_string());
        a.not_loaded = reason;
        a.loaded = reason.is_none();
    }
    (arts, notes)
}

/// `rel` below the plugin folder `root`, canonical, when it exists and stays inside it (a
/// `../` path is not followed out of the plugin).
fn inside(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let p = crate::fsutil::canonical(root.join(rel.trim_start_matches("./"))).ok()?;
    let r = crate::fsutil::canonical(root).ok()?;
    p.starts_with(&r).then_some(p)
}

/// The servers of an inline `mcpServers` value (either the map itself, or `{mcpServers: map}`).
fn servers_of(v: &serde_json::Value) -> Vec<(&String, &serde_json::Value)> {
    let map = v
        .get("mcpServers")
        .and_then(|m| m.as_object())
        .or_else(|| v.as_object());
    map.map(|m| m.iter().collect()).unwrap_or_default()
}
