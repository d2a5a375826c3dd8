//! The Tauri commands: thin wrappers over the engine's `Service` and `CacheManager`, exactly
//! the ones the dashboard calls (the capability grants these and nothing else). Every command
//! runs the engine on a blocking thread and returns typed, readable errors.

use crate::state::AppState;
use serde::Serialize;
use skillmeat_cache::config::{self, Config};
use skillmeat_cache::model::{
    ArtifactKind, Page, Problem, Project, ProjectDetail, ProjectRefresh, ProjectStatus,
    RefreshReport, SearchHit,
};
use skillmeat_cache::service::ServiceStatus;
use skillmeat_cache::store::{ProjectFilter, RecentChange, SearchSort};
use skillmeat_cache::{CacheError, SearchQuery};
use tauri::State;

/// An error as the dashboard receives it: a stable code and a sentence for the user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    /// `not_found`, `invalid_input`, `busy`, `read_only`, `database`...
    pub code: String,
    /// What went wrong, readable.
    pub message: String,
}

impl From<CacheError> for CommandError {
    fn from(e: CacheError) -> Self {
        CommandError {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// An `invalid_input` error with a readable message.
fn invalid(msg: impl Into<String>) -> CommandError {
    CommandError {
        code: "invalid_input".into(),
        message: msg.into(),
    }
}

/// Result type of every command.
pub type CmdResult<T> = Result<T, CommandError>;

/// Runs engine work off the main thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CacheError> + Send + 'static,
) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| CommandError {
            code: "internal".into(),
            message: format!("the engine task failed: {e}"),
        })?
        .map_err(CommandError::from)
}

/// An optional kind from the dashboard (empty means any).
pub(crate) fn kind(k: Option<String>) -> CmdResult<Option<ArtifactKind>> {
    k.filter(|k| !k.is_empty())
        .map(|k| ArtifactKind::parse(&k).ok_or_else(|| invalid(format!("unknown kind '{k}'"))))
        .transpose()
}

/// Cache totals, freshness, size, hit rate, job and watcher state (the engine's
/// `ServiceStatus`).
#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> CmdResult<ServiceStatus> {
    Ok(state.service.status().await?)
}

/// Projects, optionally by status, paged.
#[tauri::command]
pub async fn list_projects(
    state: State<'_, AppState>,
    status: Option<String>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<Page<Project>> {
    let status = status
        .filter(|s| !s.is_empty())
        .map(|s| ProjectStatus::parse(&s).ok_or_else(|| invalid(format!("unknown status '{s}'"))))
        .transpose()?;
    let m = state.manager().clone();
    blocking(move || {
        m.list_projects(&ProjectFilter {
            status,
            skip: skip.unwrap_or(0),
            limit,
        })
    })
    .await
}

/// One project (id or path) with its artifacts.
#[tauri::command]
pub async fn get_project(state: State<'_, AppState>, project: String) -> CmdResult<ProjectDetail> {
    let m = state.manager().clone();
    blocking(move || m.get_project(&project)).await
}

/// Ranked full-text search.
#[tauri::command]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    project: Option<String>,
    kind: Option<String>,
    sort: Option<String>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<Page<SearchHit>> {
    let q = SearchQuery {
        text: query,
        project: project.filter(|p| !p.is_empty()),
        kind: self::kind(kind)?,
        sort: SearchSort::parse(sort.as_deref().unwrap_or("relevance"))?,
        skip: skip.unwrap_or(0),
        limit: Some(limit.unwrap_or(50)),
        ..Default::default()
    };
    let m = state.manager().clone();
    blocking(move || m.search(&q)).await
}

/// The outcome of a refresh request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum RefreshView {
    /// Every project (progress arrives as events meanwhile).
    All(RefreshReport),
    /// One project.
    One(ProjectRefresh),
}

/// Refreshes every project (stale ones, or all with `force`) or one project, through the
/// engine's refresh job like every other refresh.
#[tauri::command]
pub async fn refresh(
    state: State<'_, AppState>,
    project: Option<String>,
    force: Option<bool>,
) -> CmdResult<RefreshView> {
    let force = force.unwrap_or(false);
    Ok(match project.filter(|p| !p.is_empty()) {
        Some(p) => RefreshView::One(state.service.refresh_project(&p, force).await?),
        None => RefreshView::All(state.service.refresh_all(force).await?),
    })
}

/// The recent-changes feed, newest first.
#[tauri::command]
pub async fn recent_changes(
    state: State<'_, AppState>,
    limit: Option<u64>,
) -> CmdResult<Vec<RecentChange>> {
    let m = state.manager().clone();
    blocking(move || m.recent_changes(limit.unwrap_or(50))).await
}

/// Items that are not loaded (and why), with malformed frontmatter or dangling imports: of
/// one project, or of every project; at most `limit` (default 100), the rarest kinds first.
#[tauri::command]
pub async fn problems(
    state: State<'_, AppState>,
    project: Option<String>,
    limit: Option<u64>,
) -> CmdResult<Vec<Problem>> {
    let m = state.manager().clone();
    blocking(move || {
        m.problems_rarest_first(
            project.as_deref().filter(|p| !p.is_empty()),
            limit.unwrap_or(100),
        )
    })
    .await
}

/// The settings the dashboard shows.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// TTL in minutes.
    pub cache_ttl: u64,
    /// Discovery roots.
    pub roots: Vec<String>,
    /// Refresh schedule.
    pub schedule: String,
    /// Desktop notifications on/off.
    pub notifications: bool,
    /// Watching paused.
    pub watch_paused: bool,
    /// Usage read from Claude Code's session logs (off: the usage index is deleted).
    pub usage_index: bool,
    /// The database file (read-only here).
    pub db_path: String,
    /// The config file written by `set_setting`.
    pub config_file: String,
}

fn settings_of(cfg: &Config) -> Settings {
    Settings {
        cache_ttl: cfg.ttl_minutes,
        roots: cfg.roots.iter().map(|r| r.display().to_string()).collect(),
        schedule: cfg.schedule.clone(),
        notifications: cfg.notifications,
        watch_paused: cfg.watch_paused,
        usage_index: cfg.usage_index,
        db_path: cfg.db_path.display().to_string(),
        config_file: cfg.config_file.display().to_string(),
    }
}

/// Current settings.
#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CmdResult<Settings> {
    Ok(settings_of(&state.manager().config()))
}

/// Settings the dashboard may change (others are for the config file or the CLI).
pub const UI_SETTINGS: &[&str] = &[
    "cache-ttl",
    "roots",
    "schedule",
    "notifications",
    "watch-paused",
    "usage-index",
];

/// Changes one setting: validated, written to the config file and applied live by the
/// engine (a roots change re-discovers and re-watches, a pause pauses...). Roots from the
/// dashboard must be existing absolute folders, and not `/`.
#[tauri::command]
pub async fn set_setting(
    state: State<'_, AppState>,
    key: String,
    value: String,
) -> CmdResult<Settings> {
    if !UI_SETTINGS.contains(&key.as_str()) {
        return Err(invalid(format!(
            "'{key}' cannot be changed from the dashboard (use: {})",
            UI_SETTINGS.join(", ")
        )));
    }
    if key == "roots" {
        let v = value.clone();
        blocking(move || config::check_roots_exist(&v)).await?;
    }
    let cfg = state.service.set_setting(&key, &value).await?;
    Ok(settings_of(&cfg))
}

/// Opens a cached project's folder in the file manager. The path comes from the cache, never
/// from the caller: a path that is not a cached project is "not found" (nothing is started).
#[tauri::command]
pub async fn reveal_project(state: State<'_, AppState>, project: String) -> CmdResult<String> {
    let m = state.manager().clone();
    let (_, path) = blocking(move || m.resolve(&project)).await?;
    if !std::path::Path::new(&path).is_dir() {
        return Err(CommandError {
            code: "not_found".into(),
            message: format!("{path} no longer exists"),
        });
    }
    // Through the opener plugin: the platform's file manager (xdg-open, Finder, Explorer),
    // started detached, so nothing is left behind per click.
    tauri_plugin_opener::open_path(&path, None::<&str>).map_err(|e| CommandError {
        code: "unavailable".into(),
        message: format!("could not open a file manager: {e}"),
    })?;
    Ok(path)
}
