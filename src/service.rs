//! `Service`: the manager, the refresh job and the file watcher started and stopped together,
//! wired by events, and the operations every front end shares (refresh, clear and repopulate,
//! change a setting and apply it live, pause watching, status). Used by the tray app and by
//! `skillmeat-cache watch`; the CLI's one-shot commands use the same job through
//! [`crate::refresh::refresh_now`].

use crate::config::{self, Config};
use crate::error::{CacheError, Result};
use crate::events::{CacheEvent, EventBus, InvalidationReason};
use crate::manager::CacheManager;
use crate::model::{CacheStatus, ProjectRefresh, RefreshReport};
use crate::refresh::{JobOptions, JobStatus, RefreshJob};
use crate::schedule::Schedule;
use crate::store::now_ms;
use crate::watch::{FileWatcher, WatchOptions, WatchStatus};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often another process's writes to the database are looked for.
pub const DB_SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// How long stopping waits for refreshes in flight before leaving them to the process's end
/// (each is one transaction: one cut short leaves the previous data).
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The running engine. Cheap to clone; every clone drives the same service.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    manager: CacheManager,
    job: RefreshJob,
    watcher: FileWatcher,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Serialises setting changes, so two saved at once are applied in order.
    settings: tokio::sync::Mutex<()>,
    /// True once the start-up watcher set-up is over (or was not needed).
    watch_ready: tokio::sync::watch::Sender<bool>,
    /// The transcripts watcher keeping the usage index fresh, when running.
    usage: Arc<Mutex<Option<crate::usage::watch::UsageWatcher>>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

/// The service's state, for status displays (tray tooltip, `watch` output, dashboard).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Cache totals and health.
    pub cache: CacheStatus,
    /// The refresh job.
    pub job: JobStatus,
    /// The file watcher.
    pub watch: WatchStatus,
}

/// Runs blocking engine work (SQLite, file system) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(CacheError::Corrupt(format!("engine task failed: {e}"))))
}

impl Service {
    /// Opens the cache and starts everything: the refresh job with its schedule, an initial
    /// refresh of what is stale, and (unless disabled or paused in the configuration) the
    /// file watcher. Must be called inside a tokio runtime.
    pub async fn start(config: Config) -> Result<Service> {
        let manager = CacheManager::open_with_events(config, EventBus::default())?;
        Service::start_with(manager).await
    }

    /// Like [`Service::start`] with an already open manager. Returns quickly: watching is set
    /// up in the background, and a watcher the OS refuses falls back to polling ("degraded"),
    /// never failing the start.
    pub async fn start_with(manager: CacheManager) -> Result<Service> {
        let cfg = manager.config();
        let mut opts = JobOptions::from_config(&cfg)?;
        if !cfg.enabled {
            opts.schedule = None;
        }
        let job = RefreshJob::new(manager.clone(), opts);
        let watcher = FileWatcher::new(
            manager.clone(),
            job.clone(),
            WatchOptions::from_config(&cfg),
        );
        job.start().await?;
        let service = Service {
            inner: Arc::new(Inner {
                manager: manager.clone(),
                job: job.clone(),
                watcher: watcher.clone(),
                tasks: Mutex::new(Vec::new()),
                settings: tokio::sync::Mutex::new(()),
                watch_ready: tokio::sync::watch::Sender::new(false),
                usage: Arc::new(Mutex::new(None)),
            }),
        };
        if !manager.store().is_read_only() {
            let m = manager.clone();
            let _ = blocking(move || m.store().mark_service(Some(std::process::id()))).await;
            // A large refresh cut short (the app quit, the process was killed) leaves the
            // library's counts paused: recount them now, unless a run in another process
            // still holds the run lock (see `CacheManager::library_recover`).
            let m = manager.clone();
            if let Err(e) = blocking(move || m.library_recover()).await {
                tracing::warn!("library: {e}");
            }
        }
        // Listen before anything can happen, so no event is missed.
        let events = manager.events().subscribe();
        let mut tasks = vec![tokio::spawn(wire_events(
            events,
            job.clone(),
            watcher.clone(),
        ))];
        if cfg.watch_paused {
            watcher.pause();
            service.inner.watch_ready.send_replace(true);
        } else if cfg.enabled {
            let ready = service.inner.watch_ready.clone();
            tasks.push(tokio::spawn(start_watching(watcher.clone(), ready)));
        } else {
            service.inner.watch_ready.send_replace(true);
        }
        if cfg.enabled {
            let j = job.clone();
            tasks.push(tokio::spawn(async move { j.run_scheduled().await }));
        }
        tasks.push(tokio::spawn(sync_outside_writes(
            manager.clone(),
            job.clone(),
            watcher.clone(),
        )));
        tasks.push(tokio::spawn(sync_usage(
            manager.clone(),
            service.inner.usage.clone(),
        )));
        service.tasks().extend(tasks);
        Ok(service)
    }

    /// Whether the transcripts watcher (usage index) is running.
    pub fn usage_watching(&self) -> bool {
        self.inner
            .usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cache manager.
    pub fn manager(&self) -> &CacheManager {
        &self.inner.manager
    }

    /// The refresh job.
    pub fn job(&self) -> &RefreshJob {
        &self.inner.job
    }

    /// The file watcher.
    pub fn watcher(&self) -> &FileWatcher {
        &self.inner.watcher
    }

    /// Waits until the watcher set up at start is in place (at once when watching was paused
    /// or disabled at start). File changes made before that may be missed until the next
    /// scheduled refresh.
    pub async fn watch_ready(&self) {
        let mut rx = self.inner.watch_ready.subscribe();
        let _ = rx.wait_for(|ready| *ready).await;
    }

    /// The cache's totals with where the job and the watcher stand.
    pub async fn status(&self) -> Result<ServiceStatus> {
        let m = self.inner.manager.clone();
        let cache = blocking(move || m.status()).await?;
        let w = self.inner.watcher.clone();
        let watch = blocking(move || Ok(w.status())).await?;
        Ok(ServiceStatus {
            cache,
            job: self.inner.job.status().await,
            watch,
        })
    }

    /// Refreshes every stale project (every project with `force`) through the job.
    pub async fn refresh_all(&self, force: bool) -> Result<RefreshReport> {
        self.inner.job.refresh_all(force).await
    }

    /// Refreshes one project (id, path or name) through the job.
    pub async fn refresh_project(&self, key: &str, force: bool) -> Result<ProjectRefresh> {
        self.inner.job.refresh_project(key, force).await
    }

    /// Empties the cache, then repopulates it in the background (through the job). Returns
    /// how many projects were removed.
    pub async fn clear_and_repopulate(&self) -> Result<usize> {
        let m = self.inner.manager.clone();
        let n = blocking(move || m.clear()).await?;
        let job = self.inner.job.clone();
        tokio::spawn(async move {
            if let Err(e) = job.refresh_all(false).await {
                tracing::warn!("repopulating after clear failed: {e}");
            }
        });
        Ok(n)
    }

    /// Pauses or resumes watching, and remembers it in the config file (`watch-paused`) so
    /// the next start is paused too. Resuming re-reads every project (changes made while
    /// paused were not seen); resuming a watcher that is not paused does nothing.
    pub async fn set_paused(&self, paused: bool) -> Result<Config> {
        self.set_setting("watch-paused", &paused.to_string()).await
    }

    /// Changes one setting: validated (a clear error names the key and the accepted range),
    /// written to the config file (under a lock, keeping the rest of the file), then applied
    /// live, doing exactly what the change needs:
    /// - `roots`, `depth`, `prune`: discovery runs again, the new projects are read and the
    ///   watched folders follow;
    /// - `schedule`: the schedule is replaced; `debounce-ms`, `max-wait-ms`: watching
    ///   restarts on the new timings;
    /// - `watch-paused`: watching pauses or resumes; `cache-enabled`: the schedule and
    ///   watching stop or start;
    /// - `collections-dir`, `include-user-scope`: the affected projects are re-read;
    /// - `cache-ttl`, `notifications`, `workers`: nothing else to do (read where used; workers
    ///   at the next start);
    /// - `cache-path`: at the next start.
    ///
    /// Setting a value equal to the one in force writes the file and changes nothing else.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<Config> {
        let _one_at_a_time = self.inner.settings.lock().await;
        let s = config::setting(key)
            .ok_or_else(|| CacheError::InvalidInput(format!("unknown setting '{key}'")))?;
        let before = self.inner.manager.config();
        let mut after = before.clone();
        after.apply(s, value).map_err(CacheError::InvalidInput)?;
        let file = before.config_file.clone();
        let (k, v) = (key.to_string(), value.to_string());
        blocking(move || config::set_in_file(&file, &k, &v)).await?;
        self.inner.manager.set_config(after.clone());
        if before != after {
            self.apply_change(key, &after).await?;
        }
        Ok(after)
    }

    async fn apply_change(&self, key: &str, after: &Config) -> Result<()> {
        let watcher = self.inner.watcher.clone();
        let job = self.inner.job.clone();
        match key {
            "roots" | "depth" | "prune" | "debounce-ms" | "max-wait-ms" => {
                let opts = WatchOptions::from_config(after);
                let w = watcher.clone();
                blocking(move || w.set_options(opts)).await?;
                if matches!(key, "roots" | "depth" | "prune") {
                    // New projects are read; the watcher follows the projects added.
                    let report = job.refresh_all(false).await?;
                    tracing::info!(
                        "discovery after a change of {key}: {} project(s) read",
                        report.refreshed
                    );
                }
            }
            "schedule" if after.enabled => {
                let schedule = Schedule::parse(&after.schedule).map_err(CacheError::Config)?;
                job.set_schedule(Some(schedule)).await?;
            }
            "watch-paused" => {
                let w = watcher.clone();
                if after.watch_paused {
                    blocking(move || {
                        w.pause();
                        Ok(())
                    })
                    .await?;
                } else {
                    blocking(move || w.resume().map(|_| ())).await?;
                }
            }
            "cache-enabled" => {
                if after.enabled {
                    let schedule = Schedule::parse(&after.schedule).map_err(CacheError::Config)?;
                    job.set_schedule(Some(schedule)).await?;
                    if !after.watch_paused {
                        let w = watcher.clone();
                        blocking(move || w.start()).await?;
                        let _ = job.refresh_all(false).await?;
                    }
                } else {
                    job.set_schedule(None).await?;
                    let w = watcher.clone();
                    blocking(move || {
                        w.stop();
                        Ok(())
                    })
                    .await?;
                }
            }
            "usage-index" if !after.usage_index => {
                let m = self.inner.manager.clone();
                let slot = self.inner.usage.clone();
                blocking(move || {
                    stop_usage(&slot);
                    m.clear_usage()
                })
                .await?;
            }
            "collections-dir" | "include-user-scope" => {
                // A new collection changes every project's `outdated`; the user scope is
                // discovered (or no longer) like any project.
                let _ = job.refresh_all(key == "collections-dir").await?;
                let w = watcher.clone();
                blocking(move || w.sync_projects()).await?;
            }
            _ => {}
        }
        if matches!(key, "usage-index" | "cache-enabled" | "watch-paused") {
            sync_usage(self.inner.manager.clone(), self.inner.usage.clone()).await;
        }
        Ok(())
    }

    /// Stops cleanly and quickly: the watcher first (delivering events still inside the
    /// debounce window), then the job, giving refreshes in flight [`STOP_GRACE`] to end.
    /// Queued refreshes are not waited for: they are re-done at the next start (what they
    /// would have read is still stale).
    pub async fn stop(&self) {
        let w = self.inner.watcher.clone();
        let _ = tokio::task::spawn_blocking(move || w.stop()).await;
        let tasks: Vec<JoinHandle<()>> = self.tasks().drain(..).collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        let slot = self.inner.usage.clone();
        let _ = tokio::task::spawn_blocking(move || stop_usage(&slot)).await;
        self.inner.job.stop_within(STOP_GRACE).await;
        if !self.inner.manager.store().is_read_only() {
            let m = self.inner.manager.clone();
            let _ = blocking(move || m.store().mark_service(None)).await;
        }
    }
}

type UsageSlot = Arc<Mutex<Option<crate::usage::watch::UsageWatcher>>>;

fn stop_usage(slot: &UsageSlot) {
    let w = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut w) = w {
        w.stop();
    }
}

/// Starts or stops the transcripts watcher to match the settings (`usage-index`,
/// `cache-enabled`, `watch-paused`); when starting, watches first, then brings the index up
/// to date, so no append falls in between. Failures are logged, never fatal.
async fn sync_usage(manager: CacheManager, slot: UsageSlot) {
    let _ = blocking(move || {
        let cfg = manager.config();
        let wanted =
            cfg.usage_index && cfg.enabled && !cfg.watch_paused && !manager.store().is_read_only();
        if !wanted {
            stop_usage(&slot);
            return Ok(());
        }
        {
            let mut s = slot.lock().unwrap_or_else(|p| p.into_inner());
            if s.is_none() {
                match crate::usage::watch::UsageWatcher::start(manager.clone()) {
                    Ok(w) => *s = Some(w),
                    Err(e) => tracing::warn!("transcripts could not be watched: {e}"),
                }
            }
        }
        if let Err(e) = manager.update_usage() {
            tracing::warn!("usage index: {e}");
        }
        Ok(())
    })
    .await;
}

/// Starts the watcher on a blocking thread; a failure is logged and announced, never fatal.
async fn start_watching(watcher: FileWatcher, ready: tokio::sync::watch::Sender<bool>) {
    let w = watcher.clone();
    if let Err(e) = blocking(move || w.start()).await {
        tracing::warn!("file watching could not start: {e}");
    }
    ready.send_replace(true);
}

/// Reacts to engine events: explicit invalidations queue a refresh; projects added or
/// removed change what is watched. Every handler runs on a blocking thread, and one that
/// fails (or panics) is logged: the loop goes on.
async fn wire_events(
    mut rx: tokio::sync::broadcast::Receiver<CacheEvent>,
    job: RefreshJob,
    watcher: FileWatcher,
) {
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("service fell {n} events behind; resynchronising");
                let w = watcher.clone();
                if let Err(e) = blocking(move || w.sync_projects()).await {
                    tracing::warn!("resynchronising the watcher failed: {e}");
                }
                continue;
            }
            Err(_) => return,
        };
        let outcome = match ev {
            CacheEvent::ProjectInvalidated {
                id,
                reason: InvalidationReason::Manual,
                ..
            } => match id {
                Some(id) => {
                    job.enqueue_many(vec![id]);
                    Ok(())
                }
                None => {
                    let m = job.manager().clone();
                    blocking(move || {
                        m.store()
                            .project_refs(0)
                            .map(|r| r.into_iter().map(|p| p.id).collect::<Vec<_>>())
                    })
                    .await
                    .map(|ids| job.enqueue_many(ids))
                }
            },
            CacheEvent::ProjectAdded { .. }
            | CacheEvent::ProjectRemoved { .. }
            | CacheEvent::Cleared { .. } => {
                let w = watcher.clone();
                blocking(move || w.sync_projects()).await
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::warn!("reacting to an engine event failed: {e}");
        }
    }
}

/// Notices writes by other processes (a CLI `add`, `remove`, `invalidate`...) through SQLite's
/// data version, then watches new projects and refreshes invalidated ones.
async fn sync_outside_writes(manager: CacheManager, job: RefreshJob, watcher: FileWatcher) {
    let mut tick = tokio::time::interval(DB_SYNC_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let last = Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN));
    loop {
        tick.tick().await;
        let (m, w, j, last) = (manager.clone(), watcher.clone(), job.clone(), last.clone());
        let _ = blocking(move || {
            let v = m.store().data_version()?;
            let before = last.swap(v, std::sync::atomic::Ordering::Relaxed);
            if before == v || before == i64::MIN {
                return Ok(());
            }
            let _ = w.sync_projects();
            let refs = m
                .store()
                .project_refs(now_ms().saturating_sub(m.config().ttl_ms()))?;
            let ids: Vec<String> = refs
                .into_iter()
                .filter(|r| r.invalidated && !j.is_pending(&r.id))
                .map(|r| r.id)
                .collect();
            j.enqueue_many(ids);
            Ok(())
        })
        .await;
    }
}
