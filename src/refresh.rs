//! `RefreshJob`: the queue of projects to refresh (coalesced per project, bounded concurrency,
//! retries with exponential back-off) and the schedule that refreshes stale projects on its own
//! (tokio-cron-scheduler), with a wall-clock check that catches up after the machine slept.

use crate::config::Config;
use crate::error::{CacheError, Result};
use crate::events::CacheEvent;
use crate::manager::CacheManager;
use crate::schedule::Schedule;
use crate::store::now_ms;
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// True for a project id (12 lower-case hex digits), which needs no lookup.
fn is_project_id(k: &str) -> bool {
    k.len() == 12
        && k.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Metadata key: wall-clock time (unix ms) of the last scheduled run.
const META_LAST_RUN: &str = "schedule.last_run";
/// Metadata key: wall-clock time (unix ms) the next scheduled run is due.
const META_NEXT_DUE: &str = "schedule.next_due";

/// How the job runs.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// Projects refreshed at the same time.
    pub concurrency: usize,
    /// Attempts per project before it is marked errored.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// When stale projects are refreshed.
    pub schedule: Schedule,
    /// How often the wall clock is compared with the next due run (catch-up after sleep).
    pub wake_check: Duration,
}

impl JobOptions {
    /// Options from the configuration (schedule, workers), with 3 attempts, 500 ms back-off
    /// and a 30 s wake check.
    pub fn from_config(cfg: &Config) -> Result<JobOptions> {
        Ok(JobOptions {
            concurrency: cfg.workers.max(1),
            max_attempts: 3,
            backoff: Duration::from_millis(500),
            schedule: Schedule::parse(&cfg.schedule).map_err(CacheError::Config)?,
            wake_check: Duration::from_secs(30),
        })
    }
}

/// What the job is doing, for status displays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobStatus {
    /// True between `start` and `stop`.
    pub running: bool,
    /// Unix ms of the next scheduled run (`None` when stopped).
    pub next_run: Option<i64>,
    /// Unix ms of the last scheduled run.
    pub last_run: Option<i64>,
    /// Projects waiting in the queue.
    pub pending: usize,
    /// Projects being refreshed now (paths).
    pub in_flight: Vec<String>,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<String>,
    queued: HashSet<String>,
    in_flight: HashSet<String>,
    /// Queued again while in flight: refreshed once more afterwards.
    again: HashSet<String>,
    batch: Option<Batch>,
}

struct Batch {
    total: usize,
    done: usize,
    changed: usize,
    failed: usize,
    started: Instant,
}

struct Running {
    tasks: Vec<JoinHandle<()>>,
    scheduler: tokio_cron_scheduler::JobScheduler,
    schedule_id: uuid::Uuid,
}

struct Inner {
    manager: CacheManager,
    opts: JobOptions,
    queue: Mutex<Queue>,
    wake: Notify,
    idle: Notify,
    running: tokio::sync::Mutex<Option<Running>>,
}

/// The background refresher. Cheap to clone; every clone drives the same queue.
#[derive(Clone)]
pub struct RefreshJob {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RefreshJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshJob").finish_non_exhaustive()
    }
}

impl RefreshJob {
    /// A stopped job over `manager`.
    pub fn new(manager: CacheManager, opts: JobOptions) -> Self {
        RefreshJob {
            inner: Arc::new(Inner {
                manager,
                opts,
                queue: Mutex::new(Queue::default()),
                wake: Notify::new(),
                idle: Notify::new(),
                running: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// The manager the job refreshes through.
    pub fn manager(&self) -> &CacheManager {
        &self.inner.manager
    }

    /// Starts the queue workers, the schedule and the wake check. Starting a running job does
    /// nothing. Must be called inside a tokio runtime.
    pub async fn start(&self) -> Result<()> {
        let mut running = self.inner.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        if let Schedule::Every(d) = &self.inner.opts.schedule
            && (d.subsec_nanos() != 0 || d.is_zero())
        {
            return Err(CacheError::InvalidInput(format!(
                "refresh interval {d:?}: intervals are whole seconds (at least 1s)"
            )));
        }
        let sched_err = |e: tokio_cron_scheduler::JobSchedulerError| {
            CacheError::Config(format!("scheduler: {e:?}"))
        };
        let scheduler = tokio_cron_scheduler::JobScheduler::new()
            .await
            .map_err(sched_err)?;
        let weak = Arc::downgrade(&self.inner);
        let run = move |_id, _sched| {
            let weak = weak.clone();
            Box::pin(async move {
                if let Some(inner) = weak.upgrade() {
                    RefreshJob { inner }.run_scheduled().await;
                }
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        };
        let job = match &self.inner.opts.schedule {
            Schedule::Every(d) => tokio_cron_scheduler::Job::new_repeated_async(*d, run),
            Schedule::Cron(expr) => tokio_cron_scheduler::Job::new_async(expr.as_str(), run),
        }
        .map_err(sched_err)?;
        let schedule_id = scheduler.add(job).await.map_err(sched_err)?;
        scheduler.start().await.map_err(sched_err)?;
        let mut tasks = Vec::new();
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.dispatch_loop().await }));
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.wake_check_loop().await }));
        *running = Some(Running {
            tasks,
            scheduler,
            schedule_id,
        });
        drop(running);
        self.record_next_due().await;
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Stops the workers and the schedule; refreshes in flight finish first. Stopping a
    /// stopped job does nothing. Queued projects stay queued for the next start.
    pub async fn stop(&self) {
        let Some(mut r) = self.inner.running.lock().await.take() else {
            return;
        };
        let _ = r.scheduler.shutdown().await;
        for t in &r.tasks {
            t.abort();
        }
        for t in r.tasks.drain(..) {
            let _ = t.await;
        }
        // Let refreshes already running end, so nothing is cut half way.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.queue().in_flight.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops, then starts again.
    pub async fn restart(&self) -> Result<()> {
        self.stop().await;
        self.start().await
    }

    /// True between `start` and `stop`.
    pub async fn is_running(&self) -> bool {
        self.inner.running.lock().await.is_some()
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when the project (id or path) is queued or being refreshed.
    pub fn is_pending(&self, key: &str) -> bool {
        let key = self.queue_key(key.to_string());
        let q = self.queue();
        q.queued.contains(&key) || q.in_flight.contains(&key)
    }

    /// The queue's key for a project: its id (a path or name is looked up; an unknown key is
    /// kept as given, so its refresh reports "not found").
    fn queue_key(&self, k: String) -> String {
        if is_project_id(&k) {
            return k;
        }
        self.inner
            .manager
            .resolve(&k)
            .map(|(id, _)| id)
            .unwrap_or(k)
    }

    /// Queues a project (id or path) for refresh. A project already queued is not queued
    /// twice; one being refreshed right now is refreshed once more afterwards.
    pub fn enqueue(&self, key: &str) {
        self.enqueue_many(std::iter::once(key.to_string()));
    }

    /// Queues several projects (see [`RefreshJob::enqueue`]).
    pub fn enqueue_many(&self, keys: impl IntoIterator<Item = String>) {
        // One project, one queue entry: a path (or name) is turned into its id first.
        let keys: Vec<String> = keys.into_iter().map(|k| self.queue_key(k)).collect();
        let mut added = 0;
        {
            let mut q = self.queue();
            for key in keys {
                if q.in_flight.contains(&key) {
                    if q.again.insert(key) {
                        added += 1;
                    }
                } else if q.queued.insert(key.clone()) {
                    q.pending.push_back(key);
                    added += 1;
                }
            }
            if added > 0 {
                match q.batch.as_mut() {
                    Some(b) => b.total += added,
                    None => {
                        q.batch = Some(Batch {
                            total: added,
                            done: 0,
                            changed: 0,
                            failed: 0,
                            started: Instant::now(),
                        });
                        self.inner
                            .manager
                            .events()
                            .send(CacheEvent::RefreshStarted {
                                total: added,
                                force: false,
                            });
                    }
                }
            }
        }
        if added > 0 {
            self.inner.wake.notify_one();
        }
    }

    /// Runs a scheduled refresh now: discovery, then every stale project is queued. Records
    /// the run's wall-clock time so a run missed during sleep is caught up.
    pub async fn run_scheduled(&self) {
        let m = self.inner.manager.clone();
        let plan = tokio::task::spawn_blocking(move || m.plan_stale()).await;
        match plan {
            Ok(Ok(plan)) => {
                if plan.is_empty() {
                    // Nothing stale: still say the run happened (listeners show "up to date").
                    self.inner
                        .manager
                        .events()
                        .send(CacheEvent::RefreshCompleted {
                            refreshed: 0,
                            changed: 0,
                            failed: 0,
                            elapsed_ms: 0.0,
                        });
                }
                self.enqueue_many(plan.into_iter().map(|(id, _)| id));
            }
            Ok(Err(e)) => tracing::warn!("scheduled refresh could not plan: {e}"),
            Err(e) => tracing::warn!("scheduled refresh task failed: {e}"),
        }
        let store = self.inner.manager.store();
        let _ = store.meta_set(META_LAST_RUN, &now_ms().to_string());
        self.record_next_due().await;
    }

    /// Stores when the next scheduled run is due (wall clock), for the wake check.
    async fn record_next_due(&self) {
        let next = match &self.inner.opts.schedule {
            Schedule::Every(d) => Some(now_ms() + d.as_millis() as i64),
            Schedule::Cron(_) => self.next_run().await,
        };
        if let Some(n) = next {
            let _ = self
                .inner
                .manager
                .store()
                .meta_set(META_NEXT_DUE, &n.to_string());
        }
    }

    async fn next_run(&self) -> Option<i64> {
        let mut guard = self.inner.running.lock().await;
        let r = guard.as_mut()?;
        let id = r.schedule_id;
        r.scheduler
            .next_tick_for_job(id)
            .await
            .ok()
            .flatten()
            .map(|t| t.timestamp_millis())
    }

    /// Where the job stands.
    pub async fn status(&self) -> JobStatus {
        let running = self.is_running().await;
        let next_run = if running { self.next_run().await } else { None };
        let last_run = self
            .inner
            .manager
            .store()
            .meta_get(META_LAST_RUN)
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok());
        let q = self.queue();
        JobStatus {
            running,
            next_run,
            last_run,
            pending: q.pending.len() + q.again.len(),
            in_flight: q.in_flight.iter().cloned().collect(),
        }
    }

    /// Waits until nothing is queued or in flight, or `timeout` passes. True when idle.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let q = self.queue();
                if q.pending.is_empty() && q.in_flight.is_empty() && q.again.is_empty() {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    async fn wake_check_loop(&self) {
        let mut tick = tokio::time::interval(self.inner.opts.wake_check);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due: Option<i64> = self
                .inner
                .manager
                .store()
                .meta_get(META_NEXT_DUE)
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok());
            // Wall clock, not a monotonic timer: after a suspend the due time is in the past.
            if let Some(due) = due
                && now_ms() > due + 2_000
            {
                tracing::info!("a scheduled refresh was missed (machine asleep?); running it now");
                self.run_scheduled().await;
            }
        }
    }

    async fn dispatch_loop(&self) {
        loop {
            let notified = self.inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            loop {
                let next = {
                    let mut q = self.queue();
                    if q.in_flight.len() >= self.inner.opts.concurrency {
                        None
                    } else if let Some(key) = q.pending.pop_front() {
                        q.queued.remove(&key);
                        q.in_flight.insert(key.clone());
                        Some(key)
                    } else {
                        None
                    }
                };
                let Some(key) = next else { break };
                let me = self.clone();
                tokio::spawn(async move { me.refresh_with_retries(key).await });
            }
            notified.await;
        }
    }

    async fn refresh_with_retries(&self, key: String) {
        let max = self.inner.opts.max_attempts.max(1);
        let mut outcome = None;
        for attempt in 1..=max {
            let m = self.inner.manager.clone();
            let k = key.clone();
            let r = tokio::task::spawn_blocking(move || m.try_refresh(&k))
                .await
                .unwrap_or_else(|e| {
                    Err(CacheError::Corrupt(format!("refresh task panicked: {e}")))
                });
            match r {
                Ok(done) => {
                    outcome = Some(Ok((!done.changes.is_empty(), done.path)));
                    break;
                }
                Err(e) => {
                    let last = attempt == max || e.is_not_found();
                    let (id, path) = self
                        .inner
                        .manager
                        .resolve(&key)
                        .unwrap_or_else(|_| (String::new(), key.clone()));
                    self.inner
                        .manager
                        .record_failure(&id, &path, &e, attempt, last);
                    if last {
                        outcome = Some(Err(path));
                        break;
                    }
                    let wait = self.inner.opts.backoff * 2u32.saturating_pow(attempt - 1);
                    tokio::time::sleep(wait).await;
                }
            }
        }
        self.finish(&key, outcome.unwrap_or_else(|| Err(key.clone())));
    }

    /// Records the end of one project's refresh: `Ok((changed, path))` or `Err(path)`.
    fn finish(&self, key: &str, outcome: std::result::Result<(bool, String), String>) {
        let mut q = self.queue();
        q.in_flight.remove(key);
        if q.again.remove(key) && q.queued.insert(key.to_string()) {
            q.pending.push_back(key.to_string());
        }
        let idle = q.pending.is_empty() && q.in_flight.is_empty() && q.again.is_empty();
        let mut completed = None;
        if let Some(b) = q.batch.as_mut() {
            b.done += 1;
            let path = match outcome {
                Ok((changed, path)) => {
                    b.changed += usize::from(changed);
                    path
                }
                Err(path) => {
                    b.failed += 1;
                    path
                }
            };
            self.inner
                .manager
                .events()
                .send(CacheEvent::RefreshProgress {
                    done: b.done,
                    total: b.total.max(b.done),
                    project: path,
                });
            if idle {
                completed = Some(CacheEvent::RefreshCompleted {
                    refreshed: b.done - b.failed,
                    changed: b.changed,
                    failed: b.failed,
                    elapsed_ms: b.started.elapsed().as_secs_f64() * 1000.0,
                });
            }
        }
        if idle {
            q.batch = None;
        }
        drop(q);
        if let Some(e) = completed {
            self.inner.manager.events().send(e);
        }
        if idle {
            self.inner.idle.notify_waiters();
        }
        self.inner.wake.notify_one();
    }
}
