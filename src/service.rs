//! `Service`: the manager, the refresh job and the file watcher started and stopped together,
//! wired by events. Used by the tray app and by `skillmeat-cache watch`.

use crate::config::Config;
use crate::error::Result;
use crate::events::{CacheEvent, EventBus, InvalidationReason};
use crate::manager::CacheManager;
use crate::refresh::{JobOptions, JobStatus, RefreshJob};
use crate::store::now_ms;
use crate::watch::{FileWatcher, WatchOptions, WatchStatus};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often another process's writes to the database are looked for.
pub const DB_SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// The running engine.
pub struct Service {
    manager: CacheManager,
    job: RefreshJob,
    watcher: FileWatcher,
    tasks: Vec<JoinHandle<()>>,
}

/// The service's state, for status displays (tray tooltip, `watch` output, dashboard).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The refresh job.
    pub job: JobStatus,
    /// The file watcher.
    pub watch: WatchStatus,
}

impl Service {
    /// Opens the cache and starts everything: the refresh job with its schedule, an initial
    /// refresh of what is stale, and (unless disabled or paused in the configuration) the
    /// file watcher. Must be called inside a tokio runtime.
    pub async fn start(config: Config) -> Result<Service> {
        let manager = CacheManager::open_with_events(config, EventBus::default())?;
        Service::start_with(manager).await
    }

    /// Like [`Service::start`] with an already open manager.
    pub async fn start_with(manager: CacheManager) -> Result<Service> {
        let cfg = manager.config();
        let job = RefreshJob::new(manager.clone(), JobOptions::from_config(&cfg)?);
        let watcher = FileWatcher::new(
            manager.clone(),
            job.clone(),
            WatchOptions::from_config(&cfg),
        );
        job.start().await?;
        let mut tasks = Vec::new();
        // Listen before anything can happen, so no event is missed.
        let events = manager.events().subscribe();
        tasks.push(tokio::spawn(wire_events(
            events,
            job.clone(),
            watcher.clone(),
        )));
        if cfg.enabled && !cfg.watch_paused {
            let w = watcher.clone();
            tokio::task::spawn_blocking(move || w.start())
                .await
                .map_err(|e| crate::error::CacheError::Config(format!("watcher start: {e}")))??;
        } else if cfg.watch_paused {
            watcher.pause();
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
        Ok(Service {
            manager,
            job,
            watcher,
            tasks,
        })
    }

    /// The cache manager.
    pub fn manager(&self) -> &CacheManager {
        &self.manager
    }

    /// The refresh job.
    pub fn job(&self) -> &RefreshJob {
        &self.job
    }

    /// The file watcher.
    pub fn watcher(&self) -> &FileWatcher {
        &self.watcher
    }

    /// Where the job and the watcher stand.
    pub async fn status(&self) -> ServiceStatus {
        ServiceStatus {
            job: self.job.status().await,
            watch: self.watcher.status(),
        }
    }

    /// Stops cleanly: the watcher first (delivering events still inside the debounce
    /// window), then the queue is drained (bounded wait), then the job.
    pub async fn stop(mut self) {
        let w = self.watcher.clone();
        let _ = tokio::task::spawn_blocking(move || w.stop()).await;
        self.job.wait_idle(Duration::from_secs(10)).await;
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        self.job.stop().await;
    }
}

/// Reacts to engine events: explicit invalidations queue a refresh; projects added or
/// removed change what is watched.
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
                let _ = tokio::task::spawn_blocking(move || w.sync_projects()).await;
                continue;
            }
            Err(_) => return,
        };
        match ev {
            CacheEvent::ProjectInvalidated {
                id,
                reason: InvalidationReason::Manual,
                ..
            } => match id {
                Some(id) => job.enqueue(&id),
                None => {
                    let m = job.manager().clone();
                    if let Ok(Ok(ids)) = tokio::task::spawn_blocking(move || {
                        m.store()
                            .project_refs(0)
                            .map(|r| r.into_iter().map(|p| p.id).collect::<Vec<_>>())
                    })
                    .await
                    {
                        job.enqueue_many(ids);
                    }
                }
            },
            CacheEvent::ProjectAdded { .. }
            | CacheEvent::ProjectRemoved { .. }
            | CacheEvent::Cleared { .. } => {
                let w = watcher.clone();
                let _ = tokio::task::spawn_blocking(move || w.sync_projects()).await;
            }
            _ => {}
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
        let _ = tokio::task::spawn_blocking(move || {
            let Ok(v) = m.store().data_version() else {
                return;
            };
            let before = last.swap(v, std::sync::atomic::Ordering::Relaxed);
            if before == v || before == i64::MIN {
                return;
            }
            let _ = w.sync_projects();
            if let Ok(refs) = m.store().project_refs(now_ms() - m.config().ttl_ms()) {
                let ids: Vec<String> = refs
                    .into_iter()
                    .filter(|r| r.invalidated && !j.is_pending(&r.id))
                    .map(|r| r.id)
                    .collect();
                j.enqueue_many(ids);
            }
        })
        .await;
    }
}
