//! The commands of the cross-project views: the library (identities, copies, variants), where
//! an artifact lives, the diff of two copies, each project's context cost, the findings, and
//! usage from Claude Code's session logs. Thin wrappers over the engine, like `commands.rs`;
//! the diff takes copy ids the cache gave out and reads the files at the cache's own paths.

use crate::commands::{CmdResult, blocking, kind};
use crate::state::AppState;
use skillmeat_cache::library::{
    Finding, LibraryEntry, LibraryQuery, LibrarySort, ProjectCost, WhereEntry,
};
use skillmeat_cache::model::Page;
use skillmeat_cache::usage::{ArtifactUsage, UnusedPage, UnusedSort, UsageQuery};
use tauri::State;

/// One page of the library, in the order asked (`copies`, `variants`, `cost`, `name`).
#[tauri::command]
pub async fn library(
    state: State<'_, AppState>,
    kind: Option<String>,
    drifted: Option<bool>,
    sort: Option<String>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<Page<LibraryEntry>> {
    let sort = match sort.filter(|s| !s.is_empty()) {
        None => LibrarySort::default(),
        Some(s) => LibrarySort::parse(&s)?,
    };
    let q = LibraryQuery {
        kind: self::kind(kind)?,
        drifted_only: drifted.unwrap_or(false),
        sort,
        skip: skip.unwrap_or(0),
        limit: Some(limit.unwrap_or(100)),
    };
    let m = state.manager().clone();
    blocking(move || m.library(&q)).await
}

/// Every copy of the artifacts named `name` (of one kind if given), grouped by variant.
#[tauri::command]
pub async fn where_is(
    state: State<'_, AppState>,
    name: String,
    kind: Option<String>,
) -> CmdResult<Vec<WhereEntry>> {
    let kind = self::kind(kind)?;
    let m = state.manager().clone();
    blocking(move || m.where_is(&name, kind)).await
}

/// A unified diff of two copies, by the ids `where_is` gave; both read from disk now at the
/// paths the cache holds (an id the cache does not know is "not found").
#[tauri::command]
pub async fn variant_diff(state: State<'_, AppState>, a: i64, b: i64) -> CmdResult<String> {
    let m = state.manager().clone();
    blocking(move || m.variant_diff(a, b)).await
}

/// What a session started in the project loads before the first prompt, heaviest first.
#[tauri::command]
pub async fn project_cost(state: State<'_, AppState>, project: String) -> CmdResult<ProjectCost> {
    let m = state.manager().clone();
    blocking(move || m.project_cost(&project)).await
}

/// Cross-project findings (drift, copies unlike the user's, heavy projects), at most `limit`
/// (default 50).
#[tauri::command]
pub async fn findings(state: State<'_, AppState>, limit: Option<u64>) -> CmdResult<Vec<Finding>> {
    let m = state.manager().clone();
    let limit = limit.unwrap_or(50).min(1000) as usize;
    blocking(move || {
        let mut all = m.findings()?;
        all.truncate(limit);
        Ok(all)
    })
    .await
}

/// Usage of the project's items and of the user-scope items, counted in this project: last
/// use, uses over 7/30/90 days and a 30-day series.
#[tauri::command]
pub async fn project_usage(
    state: State<'_, AppState>,
    project: String,
) -> CmdResult<Vec<ArtifactUsage>> {
    let m = state.manager().clone();
    blocking(move || {
        m.usage_artifacts(&UsageQuery {
            project: Some(project),
            days: 30,
            unused_only: false,
        })
    })
    .await
}

/// Loaded items no session used in the last `days` days, with their context cost, paged.
#[tauri::command]
pub async fn unused(
    state: State<'_, AppState>,
    days: Option<u32>,
    sort: Option<String>,
    skip: Option<u64>,
    limit: Option<u64>,
) -> CmdResult<UnusedPage> {
    let sort = match sort.filter(|s| !s.is_empty()) {
        None => UnusedSort::default(),
        Some(s) => UnusedSort::parse(&s)?,
    };
    let m = state.manager().clone();
    blocking(move || {
        m.unused_items(
            days.unwrap_or(30),
            sort,
            skip.unwrap_or(0),
            limit.unwrap_or(200),
        )
    })
    .await
}
