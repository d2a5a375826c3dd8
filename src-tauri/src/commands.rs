//! The Tauri commands: thin wrappers over `CacheManager` (and the service for watching).
//! Every command runs the engine on a blocking thread and returns typed, readable errors.

use crate::state::AppState;
use serde::Serialize;
use skillmeat_cache::config::{self, Config};
use skillmeat_cache::model::{
    Artifact, ArtifactKind, CacheStatus, Page, Project, ProjectDetail, ProjectRefresh,
    ProjectStatus, RefreshReport, SearchHit,
};
use skillmeat_cache::refresh::JobStatus;
use skillmeat_cache::store::{OutdatedSort, ProjectFilter, RecentChange, SearchSort};
use skillmeat_cache::watch::WatchStatus;
use skillmeat_cache::{ArtifactQuery, CacheError, CacheManager, InvalidationReason, SearchQuery};
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

fn invalid(msg: impl Into<String>) -> CommandError {
    CommandError {
        code: "invalid_input".into(),
        message: msg.into(),
    }
}

/// Result type of every command.
pub type CmdResult<T> = Result<T, CommandError>;

/// Runs engine work off the main thread.
async fn blocking<T: Send + 'static>(
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

fn kind(k: Option<String>) -> CmdResult<Option<ArtifactKind>> {
    k.filter(|k| !k.is_empty())
        .map(|k| ArtifactKind::parse(&k).ok_or_else(|| invalid(format!("unknown kind '{k}'"))))
        .transpose()
}

/// Everything the header and the tray need in one call.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// Cache totals and health.
    pub cache: CacheStatus,
    /// The refresh job (absent without a service).
    pub job: Option<JobStatus>,
    /// The watcher (absent without a service).
    pub watch: Option<WatchStatus>,
}

/// Cache totals, freshness, size, hit rate, job and watcher state.
#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> CmdResult<StatusView> {
    let m = state.manager.clone();
    let cache = blocking(move || m.status()).await?;
    let job = match state.job() {
        Some(j) => Some(j.status().await),
        None => None,
    };
    Ok(StatusView {
        cache,
        job,
        watch: state.watcher().map(|w| w.status()),
    })
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
    let m = state.manager.clone();
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
    let m = state.manager.clone();
    blocking(move || m.get_project(&project)).await
}

/// Artifacts with filters, paged.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn list_artifacts(
    state: State<'_, AppState>,
    project: Option<String>,
    kind: Option<String>,
    outdated: Option<bool>,
    modified: Option<bool>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<Page<Artifact>> {
    let q = ArtifactQuery {
        project,
        kind: self::kind(kind)?,
        outdated: outdated.filter(|o| *o),
        local_modified: modified.filter(|o| *o),
        skip: skip.unwrap_or(0),
        limit,
    };
    let m = state.manager.clone();
    blocking(move || m.list_artifacts(&q)).await
}

/// Outdated artifacts sorted by name, kind, project or version.
#[tauri::command]
pub async fn outdated_artifacts(
    state: State<'_, AppState>,
    sort: Option<String>,
    desc: Option<bool>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<Page<Artifact>> {
    let sort = OutdatedSort::parse(sort.as_deref().unwrap_or("name"))?;
    let m = state.manager.clone();
    blocking(move || m.outdated(None, sort, desc.unwrap_or(false), skip.unwrap_or(0), limit)).await
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
        limit: Some(limit.unwrap_or(50).min(500)),
    };
    let m = state.manager.clone();
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

/// Refreshes every project (stale ones, or all with `force`) or one project.
#[tauri::command]
pub async fn refresh(
    state: State<'_, AppState>,
    project: Option<String>,
    force: Option<bool>,
) -> CmdResult<RefreshView> {
    let m = state.manager.clone();
    let force = force.unwrap_or(false);
    match project.filter(|p| !p.is_empty()) {
        Some(p) => blocking(move || m.refresh_project(&p, force))
            .await
            .map(RefreshView::One),
        None => blocking(move || m.refresh_all(force))
            .await
            .map(RefreshView::All),
    }
}

/// Marks one project (or all) stale; the running service re-reads them.
#[tauri::command]
pub async fn invalidate(state: State<'_, AppState>, project: Option<String>) -> CmdResult<usize> {
    let m = state.manager.clone();
    blocking(move || m.invalidate(project.as_deref(), InvalidationReason::Manual)).await
}

/// Empties the cache, then repopulates it in the background. Returns projects removed.
#[tauri::command]
pub async fn clear_cache(state: State<'_, AppState>) -> CmdResult<usize> {
    clear_and_repopulate(&state.manager).await
}

/// Clears the cache and starts repopulating it (shared with the tray's "Clear cache").
pub async fn clear_and_repopulate(m: &CacheManager) -> CmdResult<usize> {
    let mc = m.clone();
    let n = blocking(move || mc.clear()).await?;
    let mr = m.clone();
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = mr.refresh_all(false) {
            tracing::warn!("repopulating after clear failed: {e}");
        }
    });
    Ok(n)
}

/// Adds a project folder explicitly and refreshes it.
#[tauri::command]
pub async fn add_project(state: State<'_, AppState>, path: String) -> CmdResult<ProjectRefresh> {
    let m = state.manager.clone();
    blocking(move || m.add_project(std::path::Path::new(&path))).await
}

/// Removes a project from the cache (discovery will not bring it back).
#[tauri::command]
pub async fn remove_project(state: State<'_, AppState>, project: String) -> CmdResult<String> {
    let m = state.manager.clone();
    blocking(move || m.remove_project(&project).map(|(id, _)| id)).await
}

/// The recent-changes feed, newest first.
#[tauri::command]
pub async fn recent_changes(
    state: State<'_, AppState>,
    limit: Option<u64>,
) -> CmdResult<Vec<RecentChange>> {
    let m = state.manager.clone();
    blocking(move || m.recent_changes(limit.unwrap_or(50).min(1000))).await
}

/// The settings the dashboard can change.
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
    /// The database file (read-only here).
    pub db_path: String,
    /// The config file written by `set_setting`.
    pub config_file: String,
}

fn settings_of(cfg: &Config, paused: bool) -> Settings {
    Settings {
        cache_ttl: cfg.ttl_minutes,
        roots: cfg.roots.iter().map(|r| r.display().to_string()).collect(),
        schedule: cfg.schedule.clone(),
        notifications: cfg.notifications,
        watch_paused: paused,
        db_path: cfg.db_path.display().to_string(),
        config_file: cfg.config_file.display().to_string(),
    }
}

fn paused(state: &AppState) -> bool {
    state
        .watcher()
        .map(|w| w.is_paused())
        .unwrap_or_else(|| state.manager.config().watch_paused)
}

/// Current settings.
#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CmdResult<Settings> {
    Ok(settings_of(&state.manager.config(), paused(&state)))
}

/// Settings the dashboard may change (others are for the config file or the CLI).
pub const UI_SETTINGS: &[&str] = &["cache-ttl", "roots", "schedule", "notifications"];

/// Changes one setting: written to the config file and applied at once (the schedule takes
/// effect at the next start).
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
    let mut cfg = state.manager.config();
    let s = config::setting(&key).ok_or_else(|| invalid(format!("unknown setting '{key}'")))?;
    cfg.apply(s, &value).map_err(invalid)?;
    let file = cfg.config_file.clone();
    let (k, v) = (key.clone(), value.clone());
    blocking(move || config::set_in_file(&file, &k, &v)).await?;
    state.manager.set_config(cfg.clone());
    Ok(settings_of(&cfg, paused(&state)))
}

/// Pauses or resumes file watching.
#[tauri::command]
pub async fn set_watching(state: State<'_, AppState>, paused: bool) -> CmdResult<WatchStatus> {
    let w = state.watcher().ok_or_else(|| CommandError {
        code: "unavailable".into(),
        message: "file watching is not running in this app".into(),
    })?;
    set_paused(&w, paused).await?;
    Ok(w.status())
}

/// Pauses or resumes a watcher off the main thread (shared with the tray menu).
pub async fn set_paused(w: &skillmeat_cache::watch::FileWatcher, paused: bool) -> CmdResult<()> {
    let w = w.clone();
    blocking(move || {
        if paused {
            w.pause();
            Ok(())
        } else {
            w.resume()
        }
    })
    .await
}

/// Opens a cached project's folder in the file manager. The path comes from the cache, never
/// from the caller: a path that is not a cached project is "not found".
#[tauri::command]
pub async fn reveal_project(state: State<'_, AppState>, project: String) -> CmdResult<String> {
    let m = state.manager.clone();
    let (_, path) = blocking(move || m.resolve(&project)).await?;
    if !std::path::Path::new(&path).is_dir() {
        return Err(CommandError {
            code: "not_found".into(),
            message: format!("{path} no longer exists"),
        });
    }
    std::process::Command::new("xdg-open")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CommandError {
            code: "unavailable".into(),
            message: format!("could not open a file manager (xdg-open): {e}"),
        })?;
    Ok(path)
}
