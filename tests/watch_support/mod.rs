//! Helpers for the refresh-job and watcher tests (async tests on a multi-threaded tokio
//! runtime): waiting for a condition without blocking the runtime, a listener that records
//! every engine event with the time it arrived, job and watcher options with short delays,
//! readers of the cache, and a real fault injector (an SQLite trigger that aborts the write of
//! a project's refresh).

#![allow(dead_code)]

use skillmeat_cache::refresh::{JobOptions, RefreshJob, refresh_now};
use skillmeat_cache::schedule::Schedule;
use skillmeat_cache::watch::{FileWatcher, WatchOptions};
use skillmeat_cache::{
    ArtifactKind, ArtifactQuery, CacheEvent, CacheManager, Config, EventBus, Project, ProjectStatus,
};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// The longest any "wait until the cache shows it" takes before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `cond` every 15 ms (without blocking the runtime) until it holds; panics with `what`
/// after `timeout`. Returns how long it took.
pub async fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// Runs blocking engine code (watcher start/stop, a full refresh) without stalling the
/// runtime's other tasks.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Every event sent on a bus from the moment of [`EventLog::start`], with its arrival time.
#[derive(Clone)]
pub struct EventLog {
    events: Arc<Mutex<Vec<(Instant, CacheEvent)>>>,
    lagged: Arc<AtomicU64>,
}

impl EventLog {
    /// Subscribes now (so nothing sent after this call is missed) and records in a task.
    pub fn start(bus: &EventBus) -> EventLog {
        let mut rx = bus.subscribe();
        let log = EventLog {
            events: Arc::new(Mutex::new(Vec::new())),
            lagged: Arc::new(AtomicU64::new(0)),
        };
        let (events, lagged) = (log.events.clone(), log.lagged.clone());
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(ev) => events.lock().unwrap().push((Instant::now(), ev)),
                    Err(RecvError::Lagged(n)) => {
                        lagged.fetch_add(n, Ordering::SeqCst);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        log
    }

    /// Events recorded so far.
    pub fn all(&self) -> Vec<CacheEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Events recorded so far with their arrival times.
    pub fn timed(&self) -> Vec<(Instant, CacheEvent)> {
        self.events.lock().unwrap().clone()
    }

    /// How many events were recorded so far (a mark for [`EventLog::since`]).
    pub fn mark(&self) -> usize {
        self.events.lock().unwrap().len()
    }

    /// Events recorded after `mark`.
    pub fn since(&self, mark: usize) -> Vec<CacheEvent> {
        self.events.lock().unwrap()[mark..]
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Events after `mark` matching `f`.
    pub fn count_since(&self, mark: usize, f: impl Fn(&CacheEvent) -> bool) -> usize {
        self.events.lock().unwrap()[mark..]
            .iter()
            .filter(|(_, e)| f(e))
            .count()
    }

    /// Events this listener lost because it fell behind (the tests expect none).
    pub fn lagged(&self) -> u64 {
        self.lagged.load(Ordering::SeqCst)
    }

    /// Waits until an event after `mark` matches `f`.
    pub async fn wait_for(&self, mark: usize, what: &str, f: impl Fn(&CacheEvent) -> bool) {
        wait_until(DEADLINE, what, || self.count_since(mark, &f) > 0).await;
    }
}

/// True for a `RefreshProgress` about the project at `path`.
pub fn is_progress_of(e: &CacheEvent, path: &str) -> bool {
    matches!(e, CacheEvent::RefreshProgress { project, .. } if project == path)
}

/// True for a `ProjectChanged` about the project at `path`.
pub fn is_changed_of(e: &CacheEvent, path: &str) -> bool {
    matches!(e, CacheEvent::ProjectChanged { path: p, .. } if p == path)
}

/// True for a `RefreshCompleted`.
pub fn is_completed(e: &CacheEvent) -> bool {
    matches!(e, CacheEvent::RefreshCompleted { .. })
}

/// Job options for tests: 2 workers, 3 attempts 50 ms apart (doubling), a schedule and a
/// wake check far away (tests trigger runs themselves unless they test the schedule).
pub fn job_opts() -> JobOptions {
    JobOptions {
        concurrency: 2,
        max_attempts: 3,
        backoff: Duration::from_millis(50),
        schedule: Some(Schedule::Every(Duration::from_secs(3600))),
        wake_check: Duration::from_secs(3600),
    }
}

/// Watch options as the product derives them from `cfg` (debounce 50 ms, tick 25 ms).
pub fn watch_opts(cfg: &Config) -> WatchOptions {
    WatchOptions::from_config(cfg)
}

/// The manager, the job and the watcher of a test, started.
pub struct Rig {
    /// The cache.
    pub m: CacheManager,
    /// The refresh job (started).
    pub job: RefreshJob,
    /// The watcher (started).
    pub w: FileWatcher,
    /// Every event since before the initial refresh.
    pub log: EventLog,
}

impl Rig {
    /// Opens the cache of `cfg`, refreshes every project, then starts the job and the watcher
    /// with `wopts`.
    pub async fn start(cfg: &Config, wopts: WatchOptions) -> Rig {
        let m = CacheManager::open(cfg.clone()).expect("open cache");
        let log = EventLog::start(m.events());
        let report = blocking(|| refresh_now(&m, true)).expect("initial refresh");
        assert!(report.failed.is_empty(), "initial refresh: {report:?}");
        let job = RefreshJob::new(m.clone(), job_opts());
        job.start().await.expect("start job");
        let w = FileWatcher::new(m.clone(), job.clone(), wopts);
        blocking(|| w.start()).expect("start watcher");
        Rig { m, job, w, log }
    }

    /// Stops the watcher and the job.
    pub async fn stop(self) {
        blocking(|| self.w.stop());
        self.job.stop().await;
    }
}

/// A project as the cache has it now.
pub fn project(m: &CacheManager, key: &str) -> Project {
    m.get_project(key).expect("project in cache").project
}

/// The status of a project, or `None` when it is not in the cache.
pub fn status_of(m: &CacheManager, key: &str) -> Option<ProjectStatus> {
    m.get_project(key).ok().map(|d| d.project.status)
}

/// Names of a project's artifacts of `kind` (sorted), as the cache has them now.
pub fn names(m: &CacheManager, key: &str, kind: ArtifactKind) -> Vec<String> {
    let mut v: Vec<String> = m
        .list_artifacts(&ArtifactQuery {
            project: Some(key.to_string()),
            kind: Some(kind),
            ..Default::default()
        })
        .map(|p| p.items.into_iter().map(|a| a.name).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The cached description of the artifact named `name` of `kind` in a project.
pub fn description(m: &CacheManager, key: &str, kind: ArtifactKind, name: &str) -> Option<String> {
    m.list_artifacts(&ArtifactQuery {
        project: Some(key.to_string()),
        kind: Some(kind),
        ..Default::default()
    })
    .ok()?
    .items
    .into_iter()
    .find(|a| a.name == name)
    .map(|a| a.description)
}

/// The cached description of skill `name` in a project.
pub fn skill_desc(m: &CacheManager, key: &str, name: &str) -> Option<String> {
    description(m, key, ArtifactKind::Skill, name)
}

/// Makes every refresh of the project at `path` fail: an SQLite trigger, created through a
/// separate connection on the database file, aborts the update of the project's row (the
/// refresh transaction rolls back). Marking the project errored still works.
pub fn fail_refreshes_of(db: &Path, path: &str) {
    let c = raw(db);
    c.execute_batch(&format!(
        "CREATE TRIGGER test_fail_refresh BEFORE UPDATE OF refreshed_at ON projects
         WHEN old.path = '{}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        path.replace('\'', "''")
    ))
    .expect("create trigger");
}

/// Lets refreshes succeed again.
pub fn stop_failing(db: &Path) {
    raw(db)
        .execute_batch("DROP TRIGGER IF EXISTS test_fail_refresh;")
        .expect("drop trigger");
}

/// A raw connection to the database file with a generous busy timeout.
pub fn raw(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).expect("raw open");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

/// The frontmatter of a skill with a name, a description and a version.
pub fn skill_md(name: &str, description: &str, version: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\nversion: {version}\n---\n# {name}\n")
}
