//! Plain data shared by every layer: projects, artifacts, change sets, query results.
//! Everything here is serde-serialisable and holds no behaviour beyond small helpers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kinds of artifact a Claude Code project holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// `.claude/skills/<dir>/SKILL.md`: a directory artifact.
    Skill,
    /// `.claude/agents/**/*.md`.
    Agent,
    /// `.claude/commands/**/*.md` (folders are namespaces).
    Command,
    /// One hook entry from `.claude/settings.json` or `settings.local.json`.
    Hook,
    /// One MCP server: a key of `mcpServers` in `<project>/.mcp.json` (project scope), in
    /// `~/.claude.json` (user scope at the top level, local scope under `projects`), or a
    /// plugin's.
    McpServer,
    /// A memory file: `CLAUDE.md`, `.claude/CLAUDE.md`, `CLAUDE.local.md`, `~/.claude/CLAUDE.md`.
    Memory,
    /// A rule: `.claude/rules/**/*.md` (project) or `~/.claude/rules/**/*.md` (user).
    Rule,
    /// An output style: `<scope>/output-styles/*.md`.
    OutputStyle,
    /// A plugin named `plugin@marketplace` in `enabledPlugins` or `installed_plugins.json`.
    Plugin,
}

impl ArtifactKind {
    /// Every kind, in display order.
    pub const ALL: [ArtifactKind; 9] = [
        ArtifactKind::Skill,
        ArtifactKind::Agent,
        ArtifactKind::Command,
        ArtifactKind::Hook,
        ArtifactKind::McpServer,
        ArtifactKind::Memory,
        ArtifactKind::Rule,
        ArtifactKind::OutputStyle,
        ArtifactKind::Plugin,
    ];

    /// The stable lower-case name used in the database, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Skill => "skill",
            ArtifactKind::Agent => "agent",
            ArtifactKind::Command => "command",
            ArtifactKind::Hook => "hook",
            ArtifactKind::McpServer => "mcp_server",
            ArtifactKind::Memory => "memory",
            ArtifactKind::Rule => "rule",
            ArtifactKind::OutputStyle => "output_style",
            ArtifactKind::Plugin => "plugin",
        }
    }

    /// Parses a kind name; accepts the plural and `mcp` as conveniences.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "skill" | "skills" => Some(ArtifactKind::Skill),
            "agent" | "agents" => Some(ArtifactKind::Agent),
            "command" | "commands" => Some(ArtifactKind::Command),
            "hook" | "hooks" => Some(ArtifactKind::Hook),
            "mcp_server" | "mcp_servers" | "mcp" | "mcp-server" => Some(ArtifactKind::McpServer),
            "memory" | "memories" => Some(ArtifactKind::Memory),
            "rule" | "rules" => Some(ArtifactKind::Rule),
            "output_style" | "output_styles" | "output-style" | "output-styles" => {
                Some(ArtifactKind::OutputStyle)
            }
            "plugin" | "plugins" => Some(ArtifactKind::Plugin),
            _ => None,
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an artifact's frontmatter parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrontmatterState {
    /// A frontmatter block that strict YAML accepted as a mapping.
    Ok,
    /// No frontmatter block (or not applicable, as for hooks and MCP servers).
    None,
    /// A block strict YAML rejected; fields were recovered by a lenient line scan.
    Malformed,
}

impl FrontmatterState {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FrontmatterState::Ok => "ok",
            FrontmatterState::None => "none",
            FrontmatterState::Malformed => "malformed",
        }
    }

    /// Parses a stored name (unknown values read as `None`).
    pub fn parse(s: &str) -> Self {
        match s {
            "ok" => FrontmatterState::Ok,
            "malformed" => FrontmatterState::Malformed,
            _ => FrontmatterState::None,
        }
    }
}

/// One artifact as the scanner found it on disk, with derived SkillMeat flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Absolute path of the project that holds it.
    pub project: String,
    /// The artifact's kind.
    pub kind: ArtifactKind,
    /// Display name (frontmatter `name`, else derived from the path; commands as `ns:name`).
    pub name: String,
    /// Description (frontmatter, else the first line of the body for commands).
    pub description: String,
    /// Path relative to the project (POSIX separators); hooks and MCP servers carry a `#` anchor.
    pub path: String,
    /// Content hash by SkillMeat's rule, lower-case hex SHA-256.
    pub content_hash: String,
    /// How the frontmatter parsed.
    pub frontmatter: FrontmatterState,
    /// Version from frontmatter, if any.
    pub version: Option<String>,
    /// Tags from frontmatter (`tags`), order kept.
    pub tags: Vec<String>,
    /// Aliases from frontmatter (`aliases`), order kept.
    pub aliases: Vec<String>,
    /// True/false when a SkillMeat deployment record exists for it; `None` when unknown.
    pub local_modified: Option<bool>,
    /// True/false when the collection knows it; `None` when unknown.
    pub outdated: Option<bool>,
    /// The collection's version of the artifact, when known.
    pub upstream_version: Option<String>,
    /// How the deployed version compares with the collection's (semver), when both are known.
    pub version_cmp: Option<VersionCmp>,
    /// Kind-specific details (hook event/matcher/command, MCP command/url, agent model...).
    pub extra: serde_json::Value,
    /// Unix milliseconds when this row last changed in the cache.
    pub updated_at: i64,
    /// Where Claude Code takes it from: `user`, `project`, `local`, `plugin` or `managed`.
    pub scope: Scope,
    /// The plugin that provides it (`name@marketplace`), for scope `plugin` and kind `plugin`.
    pub plugin: Option<String>,
    /// Whether Claude Code, started in this project, would load it.
    pub loaded: bool,
    /// Why it is not loaded, when `loaded` is false.
    pub not_loaded: Option<NotLoaded>,
}

/// Where an item comes from, as Claude Code names its configuration scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Enterprise-managed settings.
    Managed,
    /// Local: the user's private per-project configuration (`CLAUDE.local.md`,
    /// `.claude/settings.local.json`, `projects["<path>"]` in `~/.claude.json`).
    Local,
    /// Project: files committed in the project.
    Project,
    /// User: `~/.claude/` and the top level of `~/.claude.json`.
    User,
    /// An enabled plugin's folder.
    Plugin,
}

impl Scope {
    /// Every scope, in display order.
    pub const ALL: [Scope; 5] = [
        Scope::Managed,
        Scope::Local,
        Scope::Project,
        Scope::User,
        Scope::Plugin,
    ];

    /// The stable lower-case name used in the database, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Managed => "managed",
            Scope::Local => "local",
            Scope::Project => "project",
            Scope::User => "user",
            Scope::Plugin => "plugin",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "managed" => Some(Scope::Managed),
            "local" => Some(Scope::Local),
            "project" => Some(Scope::Project),
            "user" => Some(Scope::User),
            "plugin" => Some(Scope::Plugin),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why Claude Code would not load an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotLoaded {
    /// A skill more than one level below `skills/` (Claude Code ignores it silently).
    NestedSkill,
    /// Provided by a plugin that is installed but not enabled.
    PluginDisabled,
    /// Provided by (or is) a plugin that is enabled but not installed.
    PluginNotInstalled,
    /// A hook while `disableAllHooks` is true.
    HooksDisabled,
    /// A project MCP server (`.mcp.json`) the user has not approved.
    McpNotApproved,
    /// An MCP server the user disabled or rejected.
    McpDisabled,
    /// Another item of the same name wins (personal skill over project skill, skill over
    /// command, local over project MCP server).
    Shadowed,
    /// An agent whose frontmatter lacks what Claude Code requires (`name`, `description`).
    InvalidFrontmatter,
    /// A rule with `paths:`: loaded only when Claude reads a matching file.
    OnDemand,
    /// In another tool's profile folder (`.codex/`, `.gemini/`, `.cursor/`): not Claude Code's.
    OtherTool,
}

impl NotLoaded {
    /// The stable name used in the database, JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            NotLoaded::NestedSkill => "nested_skill",
            NotLoaded::PluginDisabled => "plugin_disabled",
            NotLoaded::PluginNotInstalled => "plugin_not_installed",
            NotLoaded::HooksDisabled => "hooks_disabled",
            NotLoaded::McpNotApproved => "mcp_not_approved",
            NotLoaded::McpDisabled => "mcp_disabled",
            NotLoaded::Shadowed => "shadowed",
            NotLoaded::InvalidFrontmatter => "invalid_frontmatter",
            NotLoaded::OnDemand => "on_demand",
            NotLoaded::OtherTool => "other_tool",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "nested_skill" => NotLoaded::NestedSkill,
            "plugin_disabled" => NotLoaded::PluginDisabled,
            "plugin_not_installed" => NotLoaded::PluginNotInstalled,
            "hooks_disabled" => NotLoaded::HooksDisabled,
            "mcp_not_approved" => NotLoaded::McpNotApproved,
            "mcp_disabled" => NotLoaded::McpDisabled,
            "shadowed" => NotLoaded::Shadowed,
            "invalid_frontmatter" => NotLoaded::InvalidFrontmatter,
            "on_demand" => NotLoaded::OnDemand,
            "other_tool" => NotLoaded::OtherTool,
            _ => return None,
        })
    }

    /// True when this reason is a problem worth showing the user (an on-demand rule and
    /// another tool's files are expected, not problems).
    pub fn is_problem(self) -> bool {
        !matches!(self, NotLoaded::OnDemand | NotLoaded::OtherTool)
    }
}

impl fmt::Display for NotLoaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a project's deployed version relates to the collection's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionCmp {
    /// The collection has a newer version.
    CollectionNewer,
    /// The project has a newer version than the collection.
    ProjectNewer,
    /// Same version number (content may still differ).
    Same,
}

impl VersionCmp {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionCmp::CollectionNewer => "collection_newer",
            VersionCmp::ProjectNewer => "project_newer",
            VersionCmp::Same => "same",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "collection_newer" => Some(VersionCmp::CollectionNewer),
            "project_newer" => Some(VersionCmp::ProjectNewer),
            "same" => Some(VersionCmp::Same),
            _ => None,
        }
    }
}

/// A project's freshness as the cache sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// Refreshed within the TTL and not invalidated since.
    Fresh,
    /// Never refreshed, past its TTL, or invalidated.
    Stale,
    /// The last refresh failed; the last good data is kept.
    Error,
    /// The folder (or its `.claude/`) is gone; kept so the user sees it.
    Missing,
}

impl ProjectStatus {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Fresh => "fresh",
            ProjectStatus::Stale => "stale",
            ProjectStatus::Error => "error",
            ProjectStatus::Missing => "missing",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fresh" => Some(ProjectStatus::Fresh),
            "stale" => Some(ProjectStatus::Stale),
            "error" | "errored" => Some(ProjectStatus::Error),
            "missing" => Some(ProjectStatus::Missing),
            _ => None,
        }
    }
}

impl fmt::Display for ProjectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a project came to be in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectOrigin {
    /// Found by walking a discovery root.
    Discovered,
    /// Added explicitly by the user.
    Added,
    /// The user-level scope `~/.claude`.
    User,
    /// Listed in `projects` of `~/.claude.json` (a folder the user ran Claude Code in).
    ClaudeJson,
}

impl ProjectOrigin {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectOrigin::Discovered => "discovered",
            ProjectOrigin::Added => "added",
            ProjectOrigin::User => "user",
            ProjectOrigin::ClaudeJson => "claude_json",
        }
    }

    /// Parses a stored name (unknown values read as `Discovered`).
    pub fn parse(s: &str) -> Self {
        match s {
            "added" => ProjectOrigin::Added,
            "user" => ProjectOrigin::User,
            "claude_json" => ProjectOrigin::ClaudeJson,
            _ => ProjectOrigin::Discovered,
        }
    }
}

/// Artifact counts of a project, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Skills.
    pub skill: u32,
    /// Agents.
    pub agent: u32,
    /// Commands.
    pub command: u32,
    /// Hooks.
    pub hook: u32,
    /// MCP servers.
    pub mcp_server: u32,
    /// Memory files.
    #[serde(default)]
    pub memory: u32,
    /// Rules.
    #[serde(default)]
    pub rule: u32,
    /// Output styles.
    #[serde(default)]
    pub output_style: u32,
    /// Plugins.
    #[serde(default)]
    pub plugin: u32,
}

impl KindCounts {
    /// Adds `n` to the counter of `kind`.
    pub fn add(&mut self, kind: ArtifactKind, n: u32) {
        match kind {
            ArtifactKind::Skill => self.skill += n,
            ArtifactKind::Agent => self.agent += n,
            ArtifactKind::Command => self.command += n,
            ArtifactKind::Hook => self.hook += n,
            ArtifactKind::McpServer => self.mcp_server += n,
            ArtifactKind::Memory => self.memory += n,
            ArtifactKind::Rule => self.rule += n,
            ArtifactKind::OutputStyle => self.output_style += n,
            ArtifactKind::Plugin => self.plugin += n,
        }
    }

    /// The sum over all kinds.
    pub fn total(&self) -> u32 {
        self.skill
            + self.agent
            + self.command
            + self.hook
            + self.mcp_server
            + self.memory
            + self.rule
            + self.output_style
            + self.plugin
    }
}

/// A cached project with its freshness and counts (no artifact list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Stable id: a short hash of the absolute path.
    pub id: String,
    /// Absolute path of the project folder.
    pub path: String,
    /// Display name (from `.skillmeat-project.toml`, else the folder name).
    pub name: String,
    /// Description from `.skillmeat-project.toml`, if any.
    pub description: Option<String>,
    /// How the project came into the cache.
    pub origin: ProjectOrigin,
    /// Freshness, computed against the TTL at read time.
    pub status: ProjectStatus,
    /// The last refresh error, when status is `error`.
    pub error: Option<String>,
    /// Why the project was invalidated, while it is.
    pub invalidated_reason: Option<String>,
    /// Unix ms of the last successful refresh (`None` before the first).
    pub refreshed_at: Option<i64>,
    /// Unix ms when the project entered the cache.
    pub created_at: i64,
    /// Artifact counts by kind.
    pub counts: KindCounts,
    /// Artifacts whose collection copy differs.
    pub outdated_count: u32,
    /// Artifacts changed locally since deployment.
    pub modified_count: u32,
    /// State of the root `CLAUDE.md`: `present`, `dangling` (broken symlink) or `absent`.
    pub claude_md: String,
    /// Profile roots present (`.claude`, `.codex`, ...).
    pub profiles: Vec<String>,
    /// Problems found while scanning (stale SkillMeat records, unreadable files...).
    pub notes: Vec<String>,
    /// Items with a problem: not loaded (except on-demand rules and other tools' files),
    /// malformed frontmatter, or a dangling `@import`.
    #[serde(default)]
    pub problems: u32,
    /// Estimated tokens a Claude Code session started here loads before the first prompt:
    /// the project's loaded items plus what reaches it from the user scope (see
    /// [`crate::cost`]; the breakdown is [`crate::CacheManager::project_cost`]).
    #[serde(default)]
    pub context_tokens: u64,
}

/// A project with its artifacts, as `show` and the dashboard's project view need it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectDetail {
    /// The project.
    #[serde(flatten)]
    pub project: Project,
    /// Its artifacts, ordered by kind then name.
    pub artifacts: Vec<Artifact>,
}

/// One page of results with the total number of matches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page<T> {
    /// The total number of matching rows (all pages).
    pub total: u64,
    /// Rows skipped before this page.
    pub skip: u64,
    /// The rows of this page.
    pub items: Vec<T>,
}

/// A search hit: the artifact and its relevance tier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    /// The artifact found.
    #[serde(flatten)]
    pub artifact: Artifact,
    /// The project's display name.
    pub project_name: String,
    /// 0 exact name, 1 name prefix, 2 name substring, 3 full-text match elsewhere.
    pub tier: u8,
}

/// An artifact in a change set: enough to say what changed without the whole row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedArtifact {
    /// Kind.
    pub kind: ArtifactKind,
    /// Name.
    pub name: String,
    /// Path relative to the project.
    pub path: String,
}

/// An item that Claude Code loaded before a refresh and would not load after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedLoading {
    /// Kind.
    pub kind: ArtifactKind,
    /// Name.
    pub name: String,
    /// Path relative to the project.
    pub path: String,
    /// Why it is not loaded now.
    pub reason: NotLoaded,
}

/// What one refresh changed in one project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSet {
    /// Artifacts that appeared.
    pub added: Vec<ChangedArtifact>,
    /// Artifacts that vanished (their rows were deleted).
    pub removed: Vec<ChangedArtifact>,
    /// Artifacts whose content or metadata changed.
    pub modified: Vec<ChangedArtifact>,
    /// True when the project itself is new to the cache.
    pub new_project: bool,
    /// True when project-level data (name, CLAUDE.md, profiles, notes, missing) changed.
    pub project_changed: bool,
    /// Items Claude Code loaded before this refresh and would not load after it, with the
    /// reason (each is also listed in `modified`).
    #[serde(default)]
    pub stopped_loading: Vec<StoppedLoading>,
}

impl ChangeSet {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.modified.is_empty()
            && !self.new_project
            && !self.project_changed
    }

    /// A one-line human summary, e.g. "2 skills modified, 1 agent added".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (list, verb) in [
            (&self.modified, "modified"),
            (&self.added, "added"),
            (&self.removed, "removed"),
        ] {
            for kind in ArtifactKind::ALL {
                let n = list.iter().filter(|a| a.kind == kind).count();
                if n > 0 {
                    parts.push(format!("{n} {} {verb}", kind_noun(kind, n)));
                }
            }
        }
        if parts.is_empty() {
            if self.new_project {
                return "new project".into();
            }
            if self.project_changed {
                return "project details changed".into();
            }
            return "no changes".into();
        }
        parts.join(", ")
    }

    /// Cuts each list to at most `max` entries (events carry bounded change sets).
    pub fn truncated(&self, max: usize) -> ChangeSet {
        let cut = |v: &Vec<ChangedArtifact>| v.iter().take(max).cloned().collect();
        ChangeSet {
            added: cut(&self.added),
            removed: cut(&self.removed),
            modified: cut(&self.modified),
            new_project: self.new_project,
            project_changed: self.project_changed,
            stopped_loading: self.stopped_loading.iter().take(max).cloned().collect(),
        }
    }
}

/// The noun for `n` artifacts of `kind` ("skill", "skills", "MCP server"...).
pub fn kind_noun(kind: ArtifactKind, n: usize) -> String {
    let base = match kind {
        ArtifactKind::McpServer => "MCP server",
        ArtifactKind::Memory => "memory file",
        ArtifactKind::OutputStyle => "output style",
        other => other.as_str(),
    };
    if n == 1 {
        base.to_string()
    } else {
        format!("{base}s")
    }
}

/// The outcome of refreshing one project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectRefresh {
    /// Project id.
    pub id: String,
    /// Project path.
    pub path: String,
    /// Project display name.
    pub name: String,
    /// False when the project was fresh and the refresh was not forced (nothing done).
    pub refreshed: bool,
    /// What changed.
    pub changes: ChangeSet,
    /// The project's status after the refresh.
    pub status: ProjectStatus,
    /// Wall time of the refresh in milliseconds.
    pub elapsed_ms: f64,
}

/// A refresh failure for one project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshFailure {
    /// Project id (empty when the project could not even be identified).
    pub id: String,
    /// Project path.
    pub path: String,
    /// Readable reason.
    pub error: String,
}

/// The outcome of refreshing all (or all stale) projects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefreshReport {
    /// Projects considered (discovered, added and cached).
    pub considered: usize,
    /// Projects that were actually refreshed.
    pub refreshed: usize,
    /// Projects skipped because they were fresh.
    pub skipped: usize,
    /// Per-project results of the refreshed ones that changed something.
    pub changed: Vec<ProjectRefresh>,
    /// Per-project failures.
    pub failed: Vec<RefreshFailure>,
    /// Wall time in milliseconds.
    pub elapsed_ms: f64,
}

/// Totals and health of the cache, as `status` reports them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheStatus {
    /// Database file path.
    pub db_path: String,
    /// Size in bytes of the database including its WAL and shared-memory files.
    pub db_bytes: u64,
    /// Number of projects.
    pub projects: u64,
    /// Number of artifacts.
    pub artifacts: u64,
    /// Projects by status.
    pub fresh: u64,
    /// Stale projects.
    pub stale: u64,
    /// Errored projects.
    pub errored: u64,
    /// Missing projects.
    pub missing: u64,
    /// Outdated artifacts.
    pub outdated: u64,
    /// Locally modified artifacts.
    pub modified: u64,
    /// Artifact counts by kind.
    pub counts: KindCounts,
    /// Items with a problem over all projects (see [`Project::problems`]).
    #[serde(default)]
    pub problems: u64,
    /// Keys of `projects` in `~/.claude.json` whose folder no longer exists (not listed).
    #[serde(default)]
    pub claude_json_gone: u64,
    /// Unix ms of the oldest successful project refresh.
    pub oldest_refresh: Option<i64>,
    /// Unix ms of the newest successful project refresh.
    pub newest_refresh: Option<i64>,
    /// Unix ms of the last completed refresh-all run.
    pub last_refresh: Option<i64>,
    /// Cache hits (reads answered with fresh data) since the counters were created.
    pub hits: u64,
    /// Cache misses (reads that found stale, missing or no data).
    pub misses: u64,
    /// TTL in minutes.
    pub ttl_minutes: u64,
    /// Notes on how the database was opened (rebuilt after corruption, read-only...).
    pub notes: Vec<String>,
    /// Unix ms of the last integrity check that found the database sound.
    pub integrity_checked_at: Option<i64>,
    /// The verdict of an integrity check run for this answer (`status --check`); `None` when
    /// none was run.
    pub integrity: Option<String>,
    /// The folder of the tray app's daily log files ([`crate::paths::log_dir`]).
    #[serde(default)]
    pub log_dir: String,
}

/// One problem of one project: an item that is not loaded (and why), has malformed
/// frontmatter, or names an `@import` that does not exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    /// The item.
    #[serde(flatten)]
    pub artifact: Artifact,
    /// The project's display name.
    pub project_name: String,
    /// The problem's code: a [`NotLoaded`] name, `malformed_frontmatter` or `dangling_import`.
    pub problem: String,
    /// A readable explanation.
    pub detail: String,
}
