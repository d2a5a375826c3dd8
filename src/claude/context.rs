//! What a scan of one project needs to know from outside the project to decide what Claude
//! Code loads there: the user scope (its settings and skill names), the project's entry in
//! `~/.claude.json`, and whether the folder scanned is the user scope itself.

use super::claude_json::ProjectEntry;
use super::mcp::McpEntry;
use super::plugins::{self, InstalledPlugin};
use super::settings::SettingsView;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The user scope as every project sees it.
#[derive(Debug, Clone, Default)]
pub struct UserContext {
    /// `~/.claude/settings.json`.
    pub settings: SettingsView,
    /// Names (folder names) of the user's skills, `~/.claude/skills/<name>/SKILL.md`.
    pub skill_names: BTreeSet<String>,
    /// Installed plugins by `name@marketplace`.
    pub installed_plugins: BTreeMap<String, InstalledPlugin>,
    /// The managed (enterprise) settings, `managed-settings.json`: they win over every other.
    pub managed: SettingsView,
    /// The managed folder.
    pub managed_dir: PathBuf,
    /// The listing entries of the user's model-invocable skills (see [`crate::budget`]).
    pub skill_listing: Vec<crate::budget::Entry>,
    /// A fingerprint of the above.
    pub digest: String,
}

impl UserContext {
    /// Reads the user scope below `config_dir` (`~/.claude`) and the managed settings in
    /// `managed_dir`.
    pub fn load(config_dir: &Path, managed_dir: &Path) -> UserContext {
        let (settings, _) = SettingsView::read(&config_dir.join("settings.json"));
        let (managed, _) = SettingsView::read(&managed_dir.join("managed-settings.json"));
        let mut skill_names = BTreeSet::new();
        let mut skill_listing = Vec::new();
        if let Ok(rd) = std::fs::read_dir(config_dir.join("skills")) {
            for e in rd.filter_map(|e| e.ok()) {
                let file = e.path().join("SKILL.md");
                if file.is_file() {
                    let dir = e.file_name().to_string_lossy().to_string();
                    if let Some(entry) = listing_entry(&file, &dir) {
                        skill_listing.push(entry);
                    }
                    skill_names.insert(dir);
                }
            }
        }
        skill_listing.sort_by(|a, b| a.name.cmp(&b.name));
        let (installed_plugins, problem) = plugins::installed(config_dir);
        if let Some(p) = problem {
            tracing::warn!("{p}");
        }
        let digest = crate::hash::hash_bytes(
            format!(
                "{}\u{0}{:?}\u{0}{}\u{0}{}\u{0}{}",
                serde_json::to_string(&settings).unwrap_or_default(),
                (&skill_names, &skill_listing),
                serde_json::to_string(&installed_plugins).unwrap_or_default(),
                serde_json::to_string(&managed).unwrap_or_default(),
                managed_files_stamp(managed_dir),
            )
            .as_bytes(),
        )[..16]
            .to_string();
        UserContext {
            settings,
            skill_names,
            skill_listing,
            installed_plugins,
            managed,
            managed_dir: managed_dir.to_path_buf(),
            digest,
        }
    }

    /// A stamp of what [`UserContext::load`] reads, from stats alone: when it is unchanged,
    /// a cached context is still right (a `SKILL.md` added inside an existing folder changes
    /// the folder's mtime only when the folder is new, so folder stamps are included too).
    pub fn stamp(config_dir: &Path, managed_dir: &Path) -> String {
        let st = |p: PathBuf| {
            std::fs::metadata(p)
                .map(|m| crate::hash::file_stamp(&m))
                .unwrap_or_default()
        };
        let mut s = format!(
            "{};{};{};{};{}",
            st(config_dir.join("settings.json")),
            st(config_dir.join("skills")),
            plugins::stamp(config_dir),
            st(managed_dir.join("managed-settings.json")),
            st(managed_dir.join("CLAUDE.md")),
        );
        if let Ok(rd) = std::fs::read_dir(config_dir.join("skills")) {
            let mut names: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            names.sort();
            for p in names {
                s.push(';');
                s.push_str(&st(p.join("SKILL.md")));
            }
        }
        s
    }
}

/// The listing entry of a user skill (`None` when the model may not invoke it).
fn listing_entry(file: &Path, dir: &str) -> Option<crate::budget::Entry> {
    let meta = std::fs::metadata(file).ok()?;
    let head = if meta.len() > 256 * 1024 {
        Vec::new()
    } else {
        std::fs::read(file).unwrap_or_default()
    };
    let text = crate::frontmatter::lossy(&head);
    let fm = crate::frontmatter::parse(&text);
    let mut extra = serde_json::json!({});
    if fm.text("disable-model-invocation").as_deref() == Some("true") {
        extra["disable_model_invocation"] = true.into();
    }
    if let Some(w) = fm.text("when_to_use") {
        extra["when_to_use_chars"] = w.chars().count().into();
    }
    let name = fm.text("name").unwrap_or_else(|| dir.to_string());
    let desc = fm.text("description").unwrap_or_default();
    crate::budget::entry_of(
        crate::model::ArtifactKind::Skill,
        true,
        &name,
        &desc,
        &extra,
    )
}

/// Stamps of the managed files whose content becomes items (hooks, `CLAUDE.md`).
fn managed_files_stamp(managed_dir: &Path) -> String {
    ["managed-settings.json", "CLAUDE.md"]
        .iter()
        .map(|f| {
            std::fs::metadata(managed_dir.join(f))
                .map(|m| crate::hash::file_stamp(&m))
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Everything from outside a project that decides what Claude Code loads in it.
#[derive(Debug, Clone, Default)]
pub struct ScanContext {
    /// True when the folder scanned is the user scope (the home folder, `~/.claude`).
    pub user_scope: bool,
    /// The home folder (for `@~/...` imports).
    pub home: PathBuf,
    /// The user scope.
    pub user: Arc<UserContext>,
    /// The project's entry in `~/.claude.json`, when it has one.
    pub local: Option<ProjectEntry>,
    /// User-scope MCP servers (top level of `~/.claude.json`): items of the user scope, and
    /// in a project the ones a project or local server of the same name shadows.
    pub user_mcp: Vec<McpEntry>,
}

impl ScanContext {
    /// A fingerprint of the context: part of the project's tree stamp, so a change here
    /// rescans the project and a change elsewhere does not.
    pub fn digest(&self) -> String {
        let mut s = format!("u:{};us:{};", self.user.digest, self.user_scope);
        if let Some(l) = &self.local {
            s.push_str(&l.digest());
        }
        s.push_str(&serde_json::to_string(&self.user_mcp).unwrap_or_default());
        crate::hash::hash_bytes(s.as_bytes())[..16].to_string()
    }
}
