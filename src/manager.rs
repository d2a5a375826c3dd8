//! `CacheManager`: the one API every caller uses (CLI, tray, watcher, schedule). Reads answer
//! from the store; refreshes discover, scan in parallel and write one transaction per project
//! (or per batch of projects, on a refresh of many: see `batch`),
//! announcing what happened on the event bus. Cheap to clone, safe to share across threads.

mod batch;
mod claude_ctx;
pub mod library;

pub use batch::ReadBatch;
use batch::{Prepared, Scanned};

use crate::claude::claude_json::ClaudeJsonReader;
use crate::claude::context::UserContext;
use crate::collection::Collection;
use crate::config::Config;
use crate::discover;
use crate::error::{CacheError, Result};
use crate::events::{CacheEvent, EventBus, InvalidationReason, MAX_EVENT_CHANGES};
use crate::model::{
    Artifact, ArtifactKind, CacheStatus, Page, Project, ProjectDetail, ProjectOrigin,
    ProjectRefresh, ProjectStatus, Scope, SearchHit,
};
use crate::scan::{PrevIndex, scan_and_stamp_in, scan_project_in, tree_stamp_in};
use crate::store::{
    ArtifactFilter, BatchWritten, NewProject, OutdatedSort, ProjectFilter, RecentChange,
    SearchSort, Store, now_ms,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// What to search for, and how to page it.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The text typed by the user (required, not empty).
    pub text: String,
    /// Only this project (id or path).
    pub project: Option<String>,
    /// Only this kind.
    pub kind: Option<ArtifactKind>,
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only loaded (true) or not loaded (false) items.
    pub loaded: Option<bool>,
    /// Order.
    pub sort: SearchSort,
    /// Rows to skip.
    pub skip: u64,
    /// Most rows (default 50).
    pub limit: Option<u64>,
}

/// Filters for listing artifacts, with the project named by id or path.
#[derive(Debug, Clone, Default)]
pub struct ArtifactQuery {
    /// Only this project (id or path).
    pub project: Option<String>,
    /// Only this kind.
    pub kind: Option<ArtifactKind>,
    /// Only outdated / not outdated.
    pub outdated: Option<bool>,
    /// Only locally modified / not.
    pub local_modified: Option<bool>,
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only loaded (true) or not loaded (false) items.
    pub loaded: Option<bool>,
    /// Rows to skip.
    pub skip: u64,
    /// Most rows (`None`: all).
    pub limit: Option<u64>,
}

/// Most rows one page may ask for.
pub const MAX_PAGE_LIMIT: u64 = 100_000;
/// Most rows a page may skip.
pub const MAX_PAGE_SKIP: u64 = 1_000_000_000;

/// Checks paging numbers at the API boundary (CLI, dashboard, library callers alike), so no
/// offset arithmetic below can overflow and a limit never wraps into "no limit".
pub fn check_page(skip: u64, limit: Option<u64>) -> Result<()> {
    if skip > MAX_PAGE_SKIP {
        return Err(CacheError::InvalidInput(format!(
            "skip must be from 0 to {MAX_PAGE_SKIP}, got {skip}"
        )));
    }
    if let Some(l) = limit
        && !(1..=MAX_PAGE_LIMIT).contains(&l)
    {
        return Err(CacheError::InvalidInput(format!(
            "limit must be from 1 to {MAX_PAGE_LIMIT}, got {l}"
        )));
    }
    Ok(())
}

/// What a refresh of everything will read.
#[derive(Debug, Clone, Default)]
pub struct RefreshPlan {
    /// Projects in the cache after discovery.
    pub considered: usize,
    /// The ids of those to refresh.
    pub ids: Vec<String>,
}

/// The shared cache API.
#[derive(Clone)]
pub struct CacheManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CacheManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheManager")
            .field("db", &self.inner.store.path())
            .finish()
    }
}

struct Inner {
    config: RwLock<Config>,
    store: Store,
    events: EventBus,
    hits: AtomicU64,
    misses: AtomicU64,
    collection: Mutex<Option<Arc<Collection>>>,
    claude_json: ClaudeJsonReader,
    /// The `~/.claude.json` summary the last [`CacheManager::claude_json_changed`] applied.
    claude_applied: Mutex<Option<Arc<crate::claude::claude_json::ClaudeJson>>>,
    user_ctx: Mutex<Option<(String, Arc<UserContext>)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Best effort and without waiting: a process ending (a CLI read) must not hang on
        // another process's write lock just to save its hit counters.
        let _ = flush_stats(&self.store, &self.hits, &self.misses, false);
    }
}

fn flush_stats(store: &Store, hits: &AtomicU64, misses: &AtomicU64, wait: bool) -> Result<()> {
    if store.is_read_only() {
        return Ok(());
    }
    let h = hits.swap(0, Ordering::Relaxed);
    let m = misses.swap(0, Ordering::Relaxed);
    if h == 0 && m == 0 {
        return Ok(());
    }
    let r = store.meta_add_all(&[("stats.hits", h), ("stats.misses", m)], wait);
    if r.is_err() {
        hits.fetch_add(h, Ordering::Relaxed);
        misses.fetch_add(m, Ordering::Relaxed);
    }
    r
}

impl CacheManager {
    /// Opens the cache described by `config` (creating the database if needed).
    pub fn open(config: Config) -> Result<Self> {
        Self::open_with_events(config, EventBus::default())
    }

    /// Opens the cache, announcing events on `events`.
    pub fn open_with_events(config: Config, events: EventBus) -> Result<Self> {
        Self::open_with_busy_timeout(config, events, crate::store::DEFAULT_BUSY_TIMEOUT)
    }

    /// Opens the cache with a chosen busy timeout: how long a write waits for another
    /// process's lock before failing with [`CacheError::Busy`].
    pub fn open_with_busy_timeout(
        config: Config,
        events: EventBus,
        busy_timeout: std::time::Duration,
    ) -> Result<Self> {
        let store = Store::open_with_timeout(&config.db_path, busy_timeout)?;
        Ok(CacheManager {
            inner: Arc::new(Inner {
                config: RwLock::new(config),
                store,
                events,
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                collection: Mutex::new(None),
                claude_json: ClaudeJsonReader::default(),
                claude_applied: Mutex::new(None),
                user_ctx: Mutex::new(None),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> Config {
        self.inner
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the configuration in force (e.g. after the user changed a setting).
    pub fn set_config(&self, config: Config) {
        *self.inner.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The underlying store (for tools and tests that need lower-level access).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn stale_before(&self) -> i64 {
        now_ms().saturating_sub(self.config().ttl_ms())
    }

    fn count(&self, hit: bool) {
        let c = if hit {
            &self.inner.hits
        } else {
            &self.inner.misses
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Finds the project named by `key`: its id, its path (relative paths resolved against the
    /// current directory), or its display name when that is unique. Returns (id, path).
    pub fn resolve(&self, key: &str) -> Result<(String, String)> {
        let key = key.trim();
        if key.is_empty() {
            return Err(CacheError::InvalidInput("no project given".into()));
        }
        if let Some(found) = self.inner.store.find_project(key)? {
            return Ok(found);
        }
        for candidate in path_candidates(key) {
            if let Some(found) = self.inner.store.find_project(&candidate)? {
                return Ok(found);
            }
        }
        // Last, a display name, when exactly one project has it.
        let named = self.inner.store.find_projects_by_name(key)?;
        match named.len() {
            1 => Ok(named.into_iter().next().unwrap_or_default()),
            0 => Err(CacheError::not_found("project", key)),
            n => Err(CacheError::InvalidInput(format!(
                "{n} projects are named '{key}'; give its id or path"
            ))),
        }
    }

    /// Lists projects (status filter, paging; no hidden cap).
    pub fn list_projects(&self, filter: &ProjectFilter) -> Result<Page<Project>> {
        check_page(filter.skip, filter.limit)?;
        let page = self
            .inner
            .store
            .list_projects(filter, self.stale_before())?;
        self.count(page.items.iter().all(|p| p.status == ProjectStatus::Fresh));
        Ok(page)
    }

    /// One project with its artifacts.
    pub fn get_project(&self, key: &str) -> Result<ProjectDetail> {
        let (id, _) = match self.resolve(key) {
            Ok(x) => x,
            Err(e) => {
                self.count(false);
                return Err(e);
            }
        };
        let (project, artifacts) = self.inner.store.project_detail(&id, self.stale_before())?;
        self.count(project.status == ProjectStatus::Fresh);
        Ok(ProjectDetail { project, artifacts })
    }

    /// Lists artifacts with filters.
    pub fn list_artifacts(&self, q: &ArtifactQuery) -> Result<Page<Artifact>> {
        check_page(q.skip, q.limit)?;
        let project = match &q.project {
            Some(k) => Some(self.resolve(k)?.0),
            None => None,
        };
        let page = self.inner.store.list_artifacts(&ArtifactFilter {
            project,
            kind: q.kind,
            outdated: q.outdated,
            local_modified: q.local_modified,
            scope: q.scope,
            loaded: q.loaded,
            skip: q.skip,
            limit: q.limit,
        })?;
        self.count(true);
        Ok(page)
    }

    /// Outdated artifacts, sorted by name, kind, project or version difference.
    pub fn outdated(
        &self,
        project: Option<&str>,
        sort: OutdatedSort,
        descending: bool,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Page<Artifact>> {
        check_page(skip, limit)?;
        let project = match project {
            Some(k) => Some(self.resolve(k)?.0),
            None => None,
        };
        self.count(true);
        self.inner
            .store
            .outdated(project.as_deref(), sort, descending, skip, limit)
    }

    /// Ranked, filtered, paged full-text search.
    pub fn search(&self, q: &SearchQuery) -> Result<Page<SearchHit>> {
        check_page(q.skip, q.limit)?;
        let project = match &q.project {
            Some(k) => Some(self.resolve(k)?.0),
            None => None,
        };
        let filter = crate::store::SearchFilter {
            project: project.as_deref(),
            kind: q.kind,
            scope: q.scope,
            loaded: q.loaded,
        };
        let limit = Some(q.limit.unwrap_or(50));
        let page = if q.sort == crate::store::SearchSort::Usage {
            // Uses in the last 30 days, counted where they count (a project's own item in
            // that project, a user-scope item anywhere).
            let uses: HashMap<i64, u64> = self
                .usage_artifacts(&crate::usage::UsageQuery {
                    project: None,
                    days: 30,
                    unused_only: false,
                })?
                .into_iter()
                .filter(|u| u.uses > 0)
                .map(|u| (u.aid, u.uses))
                .collect();
            self.inner
                .store
                .search_by_uses(&q.text, &filter, &uses, q.skip, limit)?
        } else {
            self.inner
                .store
                .search_in(&q.text, &filter, q.sort, q.skip, limit)?
        };
        self.count(true);
        Ok(page)
    }

    /// The recent-changes feed, newest first.
    pub fn recent_changes(&self, limit: u64) -> Result<Vec<RecentChange>> {
        check_page(0, Some(limit))?;
        self.inner.store.recent_changes(limit, None)
    }

    /// Totals, freshness, size and health.
    pub fn status(&self) -> Result<CacheStatus> {
        let cfg = self.config();
        let s = self
            .inner
            .store
            .status_counts(now_ms().saturating_sub(cfg.ttl_ms()))?;
        let num = |k: &str| -> Result<u64> {
            Ok(self
                .inner
                .store
                .meta_get(k)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
        };
        Ok(CacheStatus {
            db_path: self.inner.store.path().display().to_string(),
            db_bytes: self.inner.store.size_bytes(),
            projects: s.projects,
            artifacts: s.counts.total() as u64,
            fresh: s.fresh,
            stale: s.stale,
            errored: s.errored,
            missing: s.missing,
            outdated: s.outdated,
            modified: s.modified,
            counts: s.counts,
            problems: s.problems,
            claude_json_gone: self
                .inner
                .store
                .meta_get(claude_ctx::GONE_KEY)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            oldest_refresh: s.oldest,
            newest_refresh: s.newest,
            last_refresh: self
                .inner
                .store
                .meta_get("last_refresh")?
                .and_then(|v| v.parse().ok()),
            hits: num("stats.hits")? + self.inner.hits.load(Ordering::Relaxed),
            misses: num("stats.misses")? + self.inner.misses.load(Ordering::Relaxed),
            ttl_minutes: cfg.ttl_minutes,
            integrity_checked_at: self
                .inner
                .store
                .meta_get(crate::store::META_CHECKED_AT)?
                .and_then(|v| v.parse().ok()),
            integrity: None,
            log_dir: crate::paths::log_dir(&cfg.home).display().to_string(),
            notes: {
                let mut notes = self.inner.store.notes().to_vec();
                if let Some(n) = self.claude_json_note() {
                    notes.push(n);
                }
                if notes.is_empty()
                    && let Some(earlier) = self.inner.store.meta_get("last_rebuild")?
                {
                    notes.push(format!("earlier: {earlier}"));
                }
                // Problems reading the SkillMeat collection concern every project.
                notes.extend(self.collection().notes.iter().cloned());
                notes
            },
        })
    }

    /// The collection, reloaded only when its files changed.
    fn collection(&self) -> Arc<Collection> {
        let dir = self.config().collections_dir;
        let stamp = Collection::stamp_of(&dir);
        let mut slot = self
            .inner
            .collection
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref()
            && c.stamp == stamp
        {
            return c.clone();
        }
        let c = Arc::new(Collection::load(&dir));
        *slot = Some(c.clone());
        c
    }

    /// What a refresh of everything should read: discovery first (new projects are added),
    /// then every project that is stale, errored, missing or whose folder vanished (every
    /// project with `force`).
    pub fn plan_refresh(&self, force: bool) -> Result<RefreshPlan> {
        self.sync_discovered()?;
        let refs = self.inner.store.project_refs(self.stale_before())?;
        let considered = refs.len();
        let ids = refs
            .into_iter()
            .filter(|r| force || r.status != ProjectStatus::Fresh || !Path::new(&r.path).is_dir())
            .map(|r| r.id)
            .collect();
        Ok(RefreshPlan { considered, ids })
    }

    /// Resolves `key` to a project id and, unless `force`, answers at once for a project that
    /// is fresh and still there (`refreshed: false`): the second value is then `Some`.
    pub fn unless_fresh(&self, key: &str, force: bool) -> Result<(String, Option<ProjectRefresh>)> {
        let (id, path) = self.resolve(key)?;
        if force {
            return Ok((id, None));
        }
        let project = self.inner.store.get_project(&id, self.stale_before())?;
        if project.status == ProjectStatus::Fresh && Path::new(&path).is_dir() {
            let answer = ProjectRefresh {
                id: id.clone(),
                path,
                name: project.name,
                refreshed: false,
                changes: Default::default(),
                status: project.status,
                elapsed_ms: 0.0,
            };
            return Ok((id, Some(answer)));
        }
        Ok((id, None))
    }

    /// The bookkeeping after a run of refreshes ends: when it ran, the hit counters, and a
    /// WAL checkpoint after a large write. Best effort (a busy or read-only file is left).
    pub fn finish_run(&self, changed: usize) {
        if self.inner.store.is_read_only() {
            return;
        }
        let _ = self
            .inner
            .store
            .meta_set("last_refresh", &now_ms().to_string());
        let _ = flush_stats(
            &self.inner.store,
            &self.inner.hits,
            &self.inner.misses,
            true,
        );
        if changed > 1 {
            let _ = self.inner.store.checkpoint();
        }
    }

    /// One attempt at refreshing a project (by id or path), forced, without marking it errored
    /// on failure: for callers that retry (the refresh job), which then call
    /// [`CacheManager::record_failure`] after the last attempt.
    pub fn try_refresh(&self, key: &str) -> Result<ProjectRefresh> {
        let (id, path) = self.resolve(key)?;
        let collection = self.collection();
        self.scan_and_store(&id, &path, &collection)
    }

    /// Announces a failed refresh attempt; after the last one (`final_attempt`), marks the
    /// project errored with the reason, keeping its last good data.
    pub fn record_failure(
        &self,
        id: &str,
        path: &str,
        error: &CacheError,
        attempt: u32,
        final_attempt: bool,
    ) {
        let msg = error.to_string();
        if final_attempt && !error.is_not_found() {
            let _ = self.inner.store.mark_error(id, &msg);
        }
        self.inner.events.send(CacheEvent::RefreshFailed {
            id: id.to_string(),
            path: path.to_string(),
            error: msg,
            attempt,
            final_attempt,
        });
    }

    /// The projects a scheduled refresh should re-read: discovery first (new projects are
    /// added), then every project that is stale, errored, missing or whose folder vanished.
    /// Projects stale only by age are announced as invalidated by TTL.
    pub fn plan_stale(&self) -> Result<Vec<(String, String)>> {
        self.sync_discovered()?;
        let refs = self.inner.store.project_refs(self.stale_before())?;
        let mut plan = Vec::new();
        for r in refs {
            let gone = !Path::new(&r.path).is_dir();
            if r.status == ProjectStatus::Fresh && !gone {
                continue;
            }
            if r.status == ProjectStatus::Stale && r.refreshed && !r.invalidated {
                self.inner.events.send(CacheEvent::ProjectInvalidated {
                    id: Some(r.id.clone()),
                    path: Some(r.path.clone()),
                    reason: InvalidationReason::Ttl,
                });
            }
            plan.push((r.id, r.path));
        }
        Ok(plan)
    }

    fn scan_and_store(
        &self,
        id: &str,
        path: &str,
        collection: &Collection,
    ) -> Result<ProjectRefresh> {
        let prepared = self.prepare_refresh(id, path, collection)?;
        let written = match &prepared.scan {
            None => BatchWritten::Touched(
                self.inner
                    .store
                    .touch_refreshed(&prepared.id, prepared.scan_started)?,
            ),
            Some(scan) => BatchWritten::Changes(
                self.inner
                    .store
                    .apply_refresh(&prepared.id, &prepared.update(scan))?,
            ),
        };
        Ok(self.conclude_refresh(prepared, written))
    }

    /// The reading half of a project refresh: stats alone first (the tree stamp); when that
    /// differs from the last clean scan's, the project is scanned. A project with no clean
    /// scan to compare with (new, cleared, forced, errored) is scanned at once, its tree stamp
    /// taken by the same walk. Writes nothing.
    fn prepare_refresh(&self, id: &str, path: &str, collection: &Collection) -> Result<Prepared> {
        let started = Instant::now();
        let scan_started = now_ms();
        let ctx = self.scan_context(path);
        let state = self.inner.store.refresh_state(id)?;
        let mut prepared = Prepared {
            id: id.to_string(),
            path: path.to_string(),
            started,
            scan_started,
            was_missing: state.missing,
            scan: None,
        };
        // `Some(stamp)`: the stamp-only walk's stamp, which differed (the scan alone follows);
        // `None`: nothing to compare with, so the scan takes the stamp in the same walk.
        let known_stamp = match &state.clean_tree_stamp {
            Some(clean) => {
                let stamp = tree_stamp_in(Path::new(path), collection, &ctx);
                if stamp.as_ref() == Some(clean) {
                    return Ok(prepared);
                }
                Some(stamp)
            }
            None => None,
        };
        let t0 = Instant::now();
        let prev = PrevIndex::from_artifacts(self.inner.store.scanned_artifacts(id)?);
        let t1 = Instant::now();
        let (snap, stamp) = match known_stamp {
            Some(stamp) => (
                scan_project_in(Path::new(path), &prev, collection, &ctx),
                stamp,
            ),
            None => scan_and_stamp_in(Path::new(path), &prev, collection, &ctx),
        };
        tracing::debug!(
            project = path,
            load_ms = (t1 - t0).as_secs_f64() * 1000.0,
            scan_ms = t1.elapsed().as_secs_f64() * 1000.0,
            sources_read = snap.sources_read,
            "project scanned"
        );
        let name = snap
            .name
            .clone()
            .unwrap_or_else(|| default_name(path, &self.config().home));
        let fingerprints = snap.artifacts.iter().map(|a| a.fingerprint()).collect();
        prepared.scan = Some(Scanned {
            snap,
            name,
            stamp,
            fingerprints,
        });
        Ok(prepared)
    }

    /// The announcing half of a project refresh, once its write committed: events
    /// (`ProjectMissing`, `ProjectChanged`) and the outcome.
    fn conclude_refresh(&self, prepared: Prepared, written: BatchWritten) -> ProjectRefresh {
        let Prepared {
            id,
            path,
            started,
            was_missing,
            scan,
            ..
        } = prepared;
        let (scan, changes) = match (scan, written) {
            (Some(scan), BatchWritten::Changes(changes)) => (scan, changes),
            (scan, BatchWritten::Touched(name)) => {
                return ProjectRefresh {
                    id,
                    path,
                    name: scan.map(|s| s.name).unwrap_or(name),
                    refreshed: true,
                    changes: Default::default(),
                    status: ProjectStatus::Fresh,
                    elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
                };
            }
            (None, BatchWritten::Changes(changes)) => (
                Scanned {
                    snap: Default::default(),
                    name: default_name(&path, &self.config().home),
                    stamp: None,
                    fingerprints: Vec::new(),
                },
                changes,
            ),
        };
        let Scanned { snap, name, .. } = scan;
        if let Some(reason) = &snap.missing
            && !was_missing
        {
            self.inner.events.send(CacheEvent::ProjectMissing {
                id: id.clone(),
                path: path.clone(),
                reason: reason.clone(),
            });
        }
        if !changes.is_empty() {
            self.inner.events.send(CacheEvent::ProjectChanged {
                id: id.clone(),
                name: name.clone(),
                path: path.clone(),
                summary: changes.summary(),
                changes: changes.truncated(MAX_EVENT_CHANGES),
            });
        }
        ProjectRefresh {
            id,
            path,
            name,
            refreshed: true,
            changes,
            status: if snap.missing.is_some() {
                ProjectStatus::Missing
            } else {
                ProjectStatus::Fresh
            },
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    /// Runs discovery and adds the projects not yet cached (user choices applied).
    /// Returns the ids of the projects added.
    pub fn sync_discovered(&self) -> Result<Vec<String>> {
        let cfg = self.config();
        let found = discover::discover(&cfg.roots, cfg.depth, &cfg.prune);
        for p in &found.problems {
            tracing::debug!("discovery: {p}");
        }
        let choices: BTreeMap<String, String> = self.inner.store.choices()?.into_iter().collect();
        let mut wanted: BTreeMap<String, ProjectOrigin> = BTreeMap::new();
        for p in &found.projects {
            wanted.insert(p.display().to_string(), ProjectOrigin::Discovered);
        }
        if cfg.include_user_scope && cfg.home.join(".claude").is_dir() {
            let home = crate::fsutil::canonical(&cfg.home).unwrap_or(cfg.home.clone());
            wanted.insert(home.display().to_string(), ProjectOrigin::User);
        }
        for path in self.claude_json_projects(&cfg)? {
            wanted.entry(path).or_insert(ProjectOrigin::ClaudeJson);
        }
        for (path, choice) in &choices {
            match choice.as_str() {
                "added" => {
                    wanted.insert(path.clone(), ProjectOrigin::Added);
                }
                _ => {
                    wanted.remove(path);
                }
            }
        }
        let list: Vec<NewProject> = wanted
            .into_iter()
            .map(|(path, origin)| NewProject {
                name: default_name(&path, &cfg.home),
                path,
                origin,
            })
            .collect();
        let added = self.inner.store.ensure_projects(&list)?;
        let added_set: HashSet<&String> = added.iter().collect();
        for p in &list {
            let id = crate::store::project_id_for(&p.path);
            if added_set.contains(&id) {
                self.inner.events.send(CacheEvent::ProjectAdded {
                    id,
                    path: p.path.clone(),
                });
            }
        }
        Ok(added)
    }

    /// Adds a project folder explicitly (the choice persists across `clear`) and returns its
    /// id and path; the caller refreshes it through the refresh job.
    pub fn add_project(&self, path: &Path) -> Result<(String, String)> {
        let canonical = crate::fsutil::canonical(path).map_err(|e| CacheError::io(path, e))?;
        if !canonical.is_dir() {
            return Err(CacheError::InvalidInput(format!(
                "{} is not a directory",
                canonical.display()
            )));
        }
        if !discover::is_project(&canonical) {
            return Err(CacheError::InvalidInput(format!(
                "{} has no .claude folder, CLAUDE.md, .mcp.json or SkillMeat record: nothing to cache",
                canonical.display()
            )));
        }
        let p = canonical.display().to_string();
        self.inner.store.set_choice(&p, Some("added"))?;
        let home = self.config().home;
        let added = self.inner.store.ensure_projects(&[NewProject {
            name: default_name(&p, &home),
            path: p.clone(),
            origin: ProjectOrigin::Added,
        }])?;
        if let Some(id) = added.first() {
            self.inner.events.send(CacheEvent::ProjectAdded {
                id: id.clone(),
                path: p.clone(),
            });
        }
        Ok((crate::store::project_id_for(&p), p))
    }

    /// Removes a project from the cache; discovery will not add it back (until `add`).
    pub fn remove_project(&self, key: &str) -> Result<(String, String)> {
        let (id, path) = self.resolve(key)?;
        self.inner.store.set_choice(&path, Some("excluded"))?;
        self.inner.store.delete_project(&id)?;
        self.inner.events.send(CacheEvent::ProjectRemoved {
            id: id.clone(),
            path: path.clone(),
        });
        Ok((id, path))
    }

    /// Marks one project (or every project) stale; the next refresh re-reads it. Returns how
    /// many projects were marked.
    pub fn invalidate(&self, key: Option<&str>, reason: InvalidationReason) -> Result<usize> {
        match key {
            Some(k) => {
                let (id, path) = self.resolve(k)?;
                let n = self.inner.store.invalidate(Some(&id), reason)?;
                self.inner.events.send(CacheEvent::ProjectInvalidated {
                    id: Some(id),
                    path: Some(path),
                    reason,
                });
                Ok(n)
            }
            None => {
                let n = self.inner.store.invalidate(None, reason)?;
                self.inner.events.send(CacheEvent::ProjectInvalidated {
                    id: None,
                    path: None,
                    reason,
                });
                Ok(n)
            }
        }
    }

    /// Empties the cache. Returns how many projects were removed.
    pub fn clear(&self) -> Result<usize> {
        let n = self.inner.store.clear()?;
        self.inner.events.send(CacheEvent::Cleared { projects: n });
        Ok(n)
    }
}

/// A project's default display name: its folder name (the user scope is named as such).
pub fn default_name(path: &str, home: &Path) -> String {
    let p = Path::new(path);
    if p == home
        || crate::fsutil::canonical(home)
            .map(|h| h == p)
            .unwrap_or(false)
    {
        return "~ (user scope)".into();
    }
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.to_string())
}

/// Paths a user may mean by `key`: as given made absolute, and canonicalised.
fn path_candidates(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let p = PathBuf::from(key);
    let abs = crate::config::absolute(&p);
    out.push(abs.display().to_string());
    if let Ok(c) = crate::fsutil::canonical(&p) {
        out.push(c.display().to_string());
    }
    let trimmed = key.trim_end_matches('/');
    if trimmed != key {
        out.push(trimmed.to_string());
    }
    out
}
