//! `RefreshJob`: the one way a refresh happens. The queue of projects to refresh (coalesced
//! per project, bounded concurrency, retries with exponential back-off), the schedule that
//! refreshes stale projects on its own (tokio-cron-scheduler), with a wall-clock check that
//! catches up after the machine slept, and the "refresh everything now" and "refresh this
//! project now" requests of the tray, the dashboard and the CLI, which enqueue here too and
//! wait for their projects' outcomes.
//!
//! SQLite work (scans, writes, metadata) runs on blocking threads, never on the async workers.

use crate::config::Config;
use crate::error::{CacheError, Result};
use crate::events::CacheEvent;
use crate::manager::CacheManager;
use crate::model::{ProjectRefresh, RefreshFailure, RefreshReport};
use crate::schedule::Schedule;
use crate::store::now_ms;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// How one queued refresh ended, as its waiters receive it.
type Outcome = std::result::Result<ProjectRefresh, (RefreshFailure, Arc<CacheError>)>;

/// Runs blocking engine work (SQLite, file reads) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(CacheError::Corrupt(format!("engine task failed: {e}"))))
}

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
    /// Attempts per project before it is marked errored (one for a lasting error such as a
    /// full disk: [`CacheError::is_lasting`]).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// When stale projects are refreshed on their own; `None` for a job that only refreshes
    /// what it is asked to (the CLI's `refresh`).
    pub schedule: Option<Schedule>,
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
            schedule: Some(Schedule::parse(&cfg.schedule).map_err(CacheError::Config)?),
            wake_check: Duration::from_secs(30),
        })
    }

    /// Options for a job with no schedule: it refreshes only what is asked (the CLI).
    pub fn manual(cfg: &Config) -> JobOptions {
        JobOptions {
            concurrency: cfg.workers.max(1),
            max_attempts: 3,
            backoff: Duration::from_millis(500),
            schedule: None,
            wake_check: Duration::from_secs(30),
        }
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
    /// Callers waiting for a project's next outcome (refresh-all and refresh-one requests).
    waiters: HashMap<String, Vec<oneshot::Sender<Outcome>>>,
    /// Units of work running (a unit is one project, or a batch of them written together).
    units: usize,
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
    /// The schedule, when the job has one.
    scheduler: Option<(tokio_cron_scheduler::JobScheduler, uuid::Uuid)>,
}

struct Inner {
    manager: CacheManager,
    opts: Mutex<JobOptions>,
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
                opts: Mutex::new(opts),
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

    fn opts(&self) -> JobOptions {
        self.inner
            .opts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Starts the queue workers, the schedule and the wake check (the last two only when the
    /// job has a schedule). Starting a running job does nothing. Must be called inside a tokio
    /// runtime.
    pub async fn start(&self) -> Result<()> {
        let mut running = self.inner.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let opts = self.opts();
        let scheduler = match &opts.schedule {
            Some(schedule) => Some(self.start_scheduler(schedule).await?),
            None => None,
        };
        let mut tasks = Vec::new();
        let me = self.clone();
        tasks.push(tokio::spawn(async move { me.dispatch_loop().await }));
        if opts.schedule.is_some() {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.wake_check_loop().await }));
        }
        let scheduled = scheduler.is_some();
        *running = Some(Running { tasks, scheduler });
        drop(running);
        if scheduled {
            self.record_next_due().await;
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    async fn start_scheduler(
        &self,
        schedule: &Schedule,
    ) -> Result<(tokio_cron_scheduler::JobScheduler, uuid::Uuid)> {
        if let Schedule::Every(d) = schedule
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
        let job = match schedule {
            Schedule::Every(d) => tokio_cron_scheduler::Job::new_repeated_async(*d, run),
            Schedule::Cron(expr) => tokio_cron_scheduler::Job::new_async(expr.as_str(), run),
        }
        .map_err(sched_err)?;
        let id = scheduler.add(job).await.map_err(sched_err)?;
        scheduler.start().await.map_err(sched_err)?;
        Ok((scheduler, id))
    }

    /// Changes the schedule (`None`: none) while running: only the schedule is replaced; the
    /// queue and refreshes in flight are untouched. On a stopped job it takes effect at start.
    pub async fn set_schedule(&self, schedule: Option<Schedule>) -> Result<()> {
        let mut running = self.inner.running.lock().await;
        let new = match (&schedule, running.is_some()) {
            (Some(s), true) => Some(self.start_scheduler(s).await?),
            _ => None,
        };
        self.inner
            .opts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .schedule = schedule.clone();
        if let Some(r) = running.as_mut() {
            if let Some((mut old, _)) = r.scheduler.take() {
                let _ = old.shutdown().await;
            }
            r.scheduler = new;
            let has_wake = r.tasks.len() > 1;
            if schedule.is_some() && !has_wake {
                let me = self.clone();
                r.tasks
                    .push(tokio::spawn(async move { me.wake_check_loop().await }));
            } else if schedule.is_none()
                && has_wake
                && let Some(t) = r.tasks.pop()
            {
                t.abort();
            }
        }
        drop(running);
        if schedule.is_some() {
            self.record_next_due().await;
        }
        Ok(())
    }

    /// Stops the workers and the schedule. Refreshes in flight are given `grace` to end (each
    /// is one transaction: one cut short by the process ending leaves the previous data).
    /// Stopping a stopped job does nothing. Queued projects stay queued for the next start;
    /// callers waiting for an outcome are told the job stopped.
    pub async fn stop_within(&self, grace: Duration) {
        let Some(mut r) = self.inner.running.lock().await.take() else {
            return;
        };
        if let Some((mut s, _)) = r.scheduler.take() {
            let _ = s.shutdown().await;
        }
        for t in &r.tasks {
            t.abort();
        }
        for t in r.tasks.drain(..) {
            let _ = t.await;
        }
        let deadline = Instant::now() + grace;
        while !self.queue().in_flight.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Nobody will refresh what is still queued: its waiters must not wait forever.
        self.queue().waiters.clear();
    }

    /// Stops, letting refreshes in flight end (30 s at most).
    pub async fn stop(&self) {
        self.stop_within(Duration::from_secs(30)).await
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

    /// The queue's key for a project: its id (a path or name is looked up in the database; an
    /// unknown key is kept as given, so its refresh reports "not found").
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
    /// twice; one being refreshed right now is refreshed once more afterwards. A path or name
    /// is looked up in the database: from async code pass ids, or call from a blocking thread.
    pub fn enqueue(&self, key: &str) {
        self.enqueue_many(std::iter::once(key.to_string()));
    }

    /// Queues several projects (see [`RefreshJob::enqueue`]).
    pub fn enqueue_many(&self, keys: impl IntoIterator<Item = String>) {
        // One project, one queue entry: a path (or name) is turned into its id first.
        let keys: Vec<String> = keys.into_iter().map(|k| self.queue_key(k)).collect();
        self.enqueue_keys(keys, Vec::new(), false);
    }

    /// Queues ids, registering `waiters` (key, sender) under the same lock so no outcome can
    /// be missed.
    fn enqueue_keys(
        &self,
        keys: Vec<String>,
        waiters: Vec<(String, oneshot::Sender<Outcome>)>,
        force: bool,
    ) {
        let mut added = 0;
        {
            let mut q = self.queue();
            for (key, tx) in waiters {
                q.waiters.entry(key).or_default().push(tx);
            }
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
                                force,
                            });
                    }
                }
            }
        }
        if added > 0 {
            self.inner.wake.notify_one();
        }
    }

    /// Refreshes every project now: discovery first (new projects are added), then every
    /// stale, errored or vanished project, or every project with `force`. Goes through the
    /// queue like any other refresh (coalesced with refreshes already queued, retried with
    /// back-off) and returns when each of its projects has an outcome. The job must be
    /// running.
    pub async fn refresh_all(&self, force: bool) -> Result<RefreshReport> {
        let started = Instant::now();
        let m = self.inner.manager.clone();
        let plan = blocking(move || m.plan_refresh(force)).await?;
        let considered = plan.considered;
        let planned = plan.ids.len();
        // A large run recounts the library once at its end (see `manager/library.rs`).
        let m = self.inner.manager.clone();
        let run = blocking(move || Ok(m.library_run_begin(planned))).await?;
        let result = self.refresh_and_wait(plan.ids, force).await;
        let refreshed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let m = self.inner.manager.clone();
        blocking(move || {
            m.library_run_end(run);
            Ok(())
        })
        .await?;
        tracing::debug!(
            projects = planned,
            refreshed_ms,
            total_ms = started.elapsed().as_secs_f64() * 1000.0,
            "refresh run done (the rest: the library's recount)"
        );
        let mut report = result?;
        report.considered = considered;
        report.skipped = considered.saturating_sub(planned);
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(report)
    }

    /// Refreshes one project (id, path or name) now and returns what changed. Not forced and
    /// fresh: nothing is read and the result says so (`refreshed: false`).
    pub async fn refresh_project(&self, key: &str, force: bool) -> Result<ProjectRefresh> {
        let m = self.inner.manager.clone();
        let k = key.to_string();
        let (id, fresh) = blocking(move || m.unless_fresh(&k, force)).await?;
        if let Some(fresh) = fresh {
            return Ok(fresh);
        }
        let (tx, rx) = oneshot::channel();
        self.ensure_running().await?;
        self.enqueue_keys(vec![id.clone()], vec![(id, tx)], force);
        match rx.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err((_, e))) => Err(Arc::try_unwrap(e).unwrap_or_else(|e| shared_error(&e))),
            Err(_) => Err(stopped()),
        }
    }

    /// Refreshes the given projects (ids) whatever their freshness and waits for them.
    pub async fn refresh_ids(&self, ids: Vec<String>) -> Result<RefreshReport> {
        let started = Instant::now();
        let n = ids.len();
        let mut report = self.refresh_and_wait(ids, true).await?;
        report.considered = n;
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(report)
    }

    async fn ensure_running(&self) -> Result<()> {
        if self.is_running().await {
            Ok(())
        } else {
            Err(stopped())
        }
    }

    async fn refresh_and_wait(&self, ids: Vec<String>, force: bool) -> Result<RefreshReport> {
        self.ensure_running().await?;
        if ids.is_empty() {
            // Nothing to read: still say a run happened (listeners show "up to date").
            let events = self.inner.manager.events();
            events.send(CacheEvent::RefreshStarted { total: 0, force });
            events.send(CacheEvent::RefreshCompleted {
                refreshed: 0,
                changed: 0,
                failed: 0,
                elapsed_ms: 0.0,
            });
            return Ok(RefreshReport::default());
        }
        let mut rxs = Vec::with_capacity(ids.len());
        let mut waiters = Vec::with_capacity(ids.len());
        for id in &ids {
            let (tx, rx) = oneshot::channel();
            waiters.push((id.clone(), tx));
            rxs.push((id.clone(), rx));
        }
        self.enqueue_keys(ids, waiters, force);
        let mut report = RefreshReport::default();
        for (id, rx) in rxs {
            match rx.await {
                Ok(Ok(p)) => {
                    report.refreshed += 1;
                    if !p.changes.is_empty() {
                        report.changed.push(p);
                    }
                }
                Ok(Err((f, _))) => report.failed.push(f),
                Err(_) => report.failed.push(RefreshFailure {
                    id: id.clone(),
                    path: String::new(),
                    error: stopped().to_string(),
                }),
            }
        }
        report.changed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(report)
    }

    /// Runs a scheduled refresh now: discovery, then every stale project is queued. Records
    /// the run's wall-clock time so a run missed during sleep is caught up.
    pub async fn run_scheduled(&self) {
        let m = self.inner.manager.clone();
        match blocking(move || m.plan_stale()).await {
            Ok(plan) => {
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
                self.enqueue_keys(
                    plan.into_iter().map(|(id, _)| id).collect(),
                    Vec::new(),
                    false,
                );
            }
            Err(e) => tracing::warn!("scheduled refresh could not plan: {e}"),
        }
        let m = self.inner.manager.clone();
        let _ = blocking(move || m.store().meta_set(META_LAST_RUN, &now_ms().to_string())).await;
        self.record_next_due().await;
    }

    /// Stores when the next scheduled run is due (wall clock), for the wake check.
    async fn record_next_due(&self) {
        let next = match &self.opts().schedule {
            Some(Schedule::Every(d)) => {
                Some(now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
            }
            Some(Schedule::Cron(_)) => self.next_run().await,
            None => None,
        };
        if let Some(n) = next {
            // Without waiting: a database locked by another process must not delay a start.
            let m = self.inner.manager.clone();
            let _ = blocking(move || m.store().meta_set_now(META_NEXT_DUE, &n.to_string())).await;
        }
    }

    async fn next_run(&self) -> Option<i64> {
        let mut guard = self.inner.running.lock().await;
        let (sched, id) = guard.as_mut()?.scheduler.as_mut()?;
        let id = *id;
        sched
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
        let m = self.inner.manager.clone();
        let last_run = blocking(move || m.store().meta_get(META_LAST_RUN))
            .await
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
        let mut tick = tokio::time::interval(self.opts().wake_check);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let m = self.inner.manager.clone();
            let due: Option<i64> = blocking(move || m.store().meta_get(META_NEXT_DUE))
                .await
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok());
            // Wall clock, not a monotonic timer: after a suspend the due time is in the past.
            if let Some(due) = due
                && now_ms() > due.saturating_add(2_000)
            {
                tracing::info!("a scheduled refresh was missed (machine asleep?); running it now");
                self.run_scheduled().await;
            }
        }
    }

    async fn dispatch_loop(&self) {
        let concurrency = self.opts().concurrency.max(1);
        // Units read (scan) in parallel, and the database takes one write at a time: a unit
        // that has read its projects gives its place to the next unit while it writes. One
        // unit writes at a time and the others keep their places until they may, so read
        // projects cannot pile up in memory when the writer is the slower side (peak RSS of a
        // cold refresh of 1,000 projects: 62 MB, against 82–91 MB with two writing places
        // and batches of 32).
        let write_slots = Arc::new(tokio::sync::Semaphore::new(1));
        loop {
            let notified = self.inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            loop {
                let next = {
                    let mut q = self.queue();
                    if q.units >= concurrency || q.pending.is_empty() {
                        None
                    } else {
                        let n = batch_size(q.pending.len(), concurrency);
                        let keys: Vec<String> = q.pending.drain(..n).collect();
                        for key in &keys {
                            q.queued.remove(key);
                            q.in_flight.insert(key.clone());
                        }
                        q.units += 1;
                        Some(keys)
                    }
                };
                let Some(keys) = next else { break };
                let me = self.clone();
                let slot = UnitSlot(self.clone());
                let write_slots = write_slots.clone();
                tokio::spawn(async move {
                    me.refresh_unit(keys, slot, &write_slots).await;
                });
            }
            notified.await;
        }
    }

    /// Refreshes a unit of queued projects: one alone with retries; several read together and
    /// written with one transaction ([`CacheManager::read_many`], then
    /// [`CacheManager::write_many`]), any of them that failed there (or all, when the write
    /// failed) then refreshed alone with retries. The unit's place (`slot`) is given back once
    /// its projects are read and it holds the writing place (`write_slots`), which it keeps
    /// until its retries are done.
    async fn refresh_unit(
        &self,
        keys: Vec<String>,
        slot: UnitSlot,
        write_slots: &tokio::sync::Semaphore,
    ) {
        if keys.len() == 1 {
            for key in keys {
                self.refresh_with_retries(key).await;
            }
            drop(slot);
            return;
        }
        let m = self.inner.manager.clone();
        let batch = keys.clone();
        let read = tokio::task::spawn_blocking(move || m.read_many(&batch))
            .await
            .ok();
        let write_slot = write_slots.acquire().await.ok();
        drop(slot);
        let m = self.inner.manager.clone();
        let outcomes = match read {
            Some(read) => tokio::task::spawn_blocking(move || m.write_many(read))
                .await
                .ok()
                .and_then(|r| r.ok()),
            None => None,
        };
        let outcomes: Vec<Option<Result<ProjectRefresh>>> = match outcomes {
            Some(o) => o.into_iter().map(Some).collect(),
            None => (0..keys.len()).map(|_| None).collect(),
        };
        // Projects the batch could not refresh are retried one by one while this unit still
        // holds the writing place: its reading place is already given back, so without it
        // every failing unit would retry beside `concurrency` new ones.
        for (key, outcome) in keys.into_iter().zip(outcomes) {
            match outcome {
                Some(Ok(done)) => self.finish(&key, Ok(done)).await,
                _ => self.refresh_with_retries(key).await,
            }
        }
        drop(write_slot);
    }

    async fn refresh_with_retries(&self, key: String) {
        let opts = self.opts();
        let max = opts.max_attempts.max(1);
        let mut outcome = None;
        for attempt in 1..=max {
            let m = self.inner.manager.clone();
            let k = key.clone();
            // One blocking task per attempt: the scan, the write, and on failure the lookup
            // and the errored mark.
            let r = tokio::task::spawn_blocking(move || match m.try_refresh(&k) {
                Ok(done) => Ok(done),
                Err(e) => {
                    let last = attempt == max || e.is_lasting();
                    let (id, path) = m.resolve(&k).unwrap_or_else(|_| (String::new(), k.clone()));
                    m.record_failure(&id, &path, &e, attempt, last);
                    Err((id, path, e, last))
                }
            })
            .await
            .unwrap_or_else(|e| {
                Err((
                    String::new(),
                    key.clone(),
                    CacheError::Corrupt(format!("refresh task panicked: {e}")),
                    true,
                ))
            });
            match r {
                Ok(done) => {
                    outcome = Some(Ok(done));
                    break;
                }
                Err((id, path, e, last)) => {
                    if last {
                        let failure = RefreshFailure {
                            id,
                            path,
                            error: e.to_string(),
                        };
                        outcome = Some(Err((failure, Arc::new(e))));
                        break;
                    }
                    let wait = opts.backoff * 2u32.saturating_pow(attempt - 1);
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let outcome = outcome.unwrap_or_else(|| {
            let e = stopped();
            Err((
                RefreshFailure {
                    id: String::new(),
                    path: key.clone(),
                    error: e.to_string(),
                },
                Arc::new(e),
            ))
        });
        self.finish(&key, outcome).await;
    }

    /// Records the end of one project's refresh: progress and, when the queue is empty, the
    /// run's bookkeeping and `RefreshCompleted`; then hands the outcome to its waiters.
    async fn finish(&self, key: &str, outcome: Outcome) {
        let (completed, waiters) = {
            let mut q = self.queue();
            q.in_flight.remove(key);
            let again = q.again.remove(key);
            if again && q.queued.insert(key.to_string()) {
                q.pending.push_back(key.to_string());
            }
            let idle = q.pending.is_empty() && q.in_flight.is_empty() && q.again.is_empty();
            let mut completed = None;
            if let Some(b) = q.batch.as_mut() {
                b.done += 1;
                let path = match &outcome {
                    Ok(p) => {
                        b.changed += usize::from(!p.changes.is_empty());
                        p.path.clone()
                    }
                    Err((f, _)) => {
                        b.failed += 1;
                        f.path.clone()
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
                    completed = Some((
                        b.changed,
                        CacheEvent::RefreshCompleted {
                            refreshed: b.done - b.failed,
                            changed: b.changed,
                            failed: b.failed,
                            elapsed_ms: b.started.elapsed().as_secs_f64() * 1000.0,
                        },
                    ));
                }
            }
            if idle {
                q.batch = None;
            }
            // Queued again meanwhile: its waiters want the outcome of the next refresh.
            let waiters = if again {
                Vec::new()
            } else {
                q.waiters.remove(key).unwrap_or_default()
            };
            (completed, waiters)
        };
        if let Some((changed, event)) = completed {
            let m = self.inner.manager.clone();
            let _ = blocking(move || {
                m.finish_run(changed);
                Ok(())
            })
            .await;
            self.inner.manager.events().send(event);
            self.inner.idle.notify_waiters();
        }
        for tx in waiters {
            let _ = tx.send(outcome.clone());
        }
        self.inner.wake.notify_one();
    }
}

/// A unit of work's place among the `concurrency` units the job runs at once: given back
/// (and the dispatcher woken) when dropped.
struct UnitSlot(RefreshJob);

impl Drop for UnitSlot {
    fn drop(&mut self) {
        self.0.queue().units -= 1;
        self.0.inner.wake.notify_one();
    }
}

/// Most projects written in one transaction by a refresh of many (16: the writer starts
/// sooner and less is held in memory than with 32, for the same total time).
const MAX_BATCH: usize = 16;

/// How many of `pending` queued projects one unit of work takes: one when there are no more
/// than workers (each refresh as soon as possible, on its own); otherwise a share that keeps
/// every worker busy for a few rounds, at most [`MAX_BATCH`].
fn batch_size(pending: usize, concurrency: usize) -> usize {
    if pending <= concurrency {
        return pending.min(1);
    }
    (pending / (concurrency * 2)).clamp(1, MAX_BATCH)
}

/// The error of a refresh the job could not run or finish.
fn stopped() -> CacheError {
    CacheError::Config("the refresh job is not running".into())
}

/// An owned copy of an error shared between several waiters (same kind, same words).
fn shared_error(e: &CacheError) -> CacheError {
    match e {
        CacheError::NotFound { what, key } => CacheError::not_found(what, key.clone()),
        CacheError::InvalidInput(m) => CacheError::InvalidInput(m.clone()),
        CacheError::Busy { waited_ms } => CacheError::Busy {
            waited_ms: *waited_ms,
        },
        CacheError::ReadOnly(m) => CacheError::ReadOnly(m.clone()),
        CacheError::DiskFull(m) => CacheError::DiskFull(m.clone()),
        CacheError::Config(m) => CacheError::Config(m.clone()),
        other => CacheError::Corrupt(other.to_string()),
    }
}

/// Refreshes without a running service, for the CLI and library callers: a job with no
/// schedule is started on a runtime of its own (on a thread of its own, so this works from
/// any context, async or not), refreshes every stale project (every project with `force`)
/// and stops.
pub fn refresh_now(manager: &CacheManager, force: bool) -> Result<RefreshReport> {
    with_manual_job(
        manager,
        move |job| async move { job.refresh_all(force).await },
    )
}

/// Like [`refresh_now`] for the given projects (ids), whatever their freshness.
pub fn refresh_ids_now(manager: &CacheManager, ids: &[String]) -> Result<RefreshReport> {
    let ids = ids.to_vec();
    with_manual_job(
        manager,
        move |job| async move { job.refresh_ids(ids).await },
    )
}

/// Like [`refresh_now`] for one project (id, path or name).
pub fn refresh_project_now(
    manager: &CacheManager,
    key: &str,
    force: bool,
) -> Result<ProjectRefresh> {
    let key = key.to_string();
    with_manual_job(manager, move |job| async move {
        job.refresh_project(&key, force).await
    })
}

fn with_manual_job<T, F, Fut>(manager: &CacheManager, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(RefreshJob) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let m = manager.clone();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| CacheError::io(std::path::Path::new("<runtime>"), e))?;
            rt.block_on(async move {
                let job = RefreshJob::new(m.clone(), JobOptions::manual(&m.config()));
                job.start().await?;
                let out = f(job.clone()).await;
                job.stop().await;
                out
            })
        })
        .join()
        .unwrap_or_else(|_| Err(CacheError::Corrupt("the refresh thread panicked".into())))
    })
}
