//! `FileWatcher`: one notify watcher for everything. Each cached project's profile roots
//! (recursively) and top-level files, the discovery roots (so new projects are found and
//! deleted ones marked missing) and the SkillMeat collections. Events are debounced per
//! project: a project is queued on the [`RefreshJob`] once it has been quiet for the debounce,
//! or once the maximum wait since its first event has passed (a steady stream never starves).
//!
//! The debouncer is event-driven: with nothing happening its thread sleeps on a channel and
//! costs nothing. (notify-debouncer-full, tried first, wakes every tick forever: on this
//! machine a wakeup costs about 100 µs of CPU, which alone used most of the idle budget; it
//! also has no maximum wait. See the README.)
//!
//! Lost events (`need_rescan`) make every project be re-read, and say so. When the OS refuses
//! more watches, the projects that could not be watched are polled instead, visibly.

mod claude_files;

use crate::config::{Config, PROFILE_ROOTS};
use crate::error::{CacheError, Result};
use crate::events::{CacheEvent, InvalidationReason};
use crate::manager::CacheManager;
use crate::model::ProjectOrigin;
use crate::refresh::RefreshJob;
use crate::store::{ProjectFilter, now_ms};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the watcher behaves.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time after a project's last event before it is refreshed.
    pub debounce: Duration,
    /// Longest a project's refresh waits after its first event, however busy the stream.
    pub max_wait: Duration,
    /// Poll interval for projects the OS refused to watch.
    pub poll_interval: Duration,
    /// Discovery roots, depth and pruned names.
    pub roots: Vec<PathBuf>,
    /// Levels below each root where new projects may appear.
    pub depth: usize,
    /// Folder names never watched.
    pub prune: Vec<String>,
    /// The SkillMeat collections folder.
    pub collections_dir: PathBuf,
    /// Claude Code's state file (`~/.claude.json`).
    pub claude_json: PathBuf,
    /// Claude Code's user configuration folder (`~/.claude`, or `$CLAUDE_CONFIG_DIR`).
    pub claude_config_dir: PathBuf,
    /// Claude Code's managed (enterprise) folder.
    pub claude_managed_dir: PathBuf,
}

impl WatchOptions {
    /// Options from the configuration (debounce, roots, depth, prunes, collections).
    pub fn from_config(cfg: &Config) -> Self {
        let debounce = Duration::from_millis(cfg.debounce_ms.max(1));
        let max_wait =
            Duration::from_millis(cfg.max_wait_ms.max(cfg.debounce_ms.saturating_add(1)));
        WatchOptions {
            debounce,
            max_wait,
            poll_interval: Duration::from_secs(2),
            roots: cfg
                .roots
                .iter()
                .map(|r| crate::fsutil::canonical(r).unwrap_or_else(|_| r.clone()))
                .collect(),
            depth: cfg.depth,
            prune: cfg.prune.clone(),
            collections_dir: crate::fsutil::canonical(&cfg.collections_dir)
                .unwrap_or_else(|_| cfg.collections_dir.clone()),
            claude_json: claude_files::canonical_file(&cfg.claude_paths().claude_json),
            claude_config_dir: crate::fsutil::canonical(cfg.claude_paths().config_dir)
                .unwrap_or_else(|_| cfg.claude_paths().config_dir),
            claude_managed_dir: crate::fsutil::canonical(&cfg.claude_managed_dir)
                .unwrap_or_else(|_| cfg.claude_managed_dir.clone()),
        }
    }
}

/// What the watcher is doing, for status displays.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatchStatus {
    /// `watching`, `degraded` (some projects polled), `paused`, `disabled`
    /// (`cache-enabled = false`) or `stopped`.
    pub state: String,
    /// Projects watched natively.
    pub projects_watched: usize,
    /// Paths of projects polled because the OS refused more watches.
    pub polled: Vec<String>,
    /// Folders watched (native watch requests).
    pub watches: usize,
    /// Roots or folders that could not be watched, with the reason.
    pub problems: Vec<String>,
    /// Debounced event batches handled.
    pub batches: u64,
    /// Times events were lost and everything was re-read.
    pub rescans: u64,
    /// Unix ms of the last relevant event.
    pub last_event_at: Option<i64>,
}

struct Watched {
    id: String,
    origin: ProjectOrigin,
    paths: Vec<PathBuf>,
    polled: bool,
}

#[derive(Default)]
struct State {
    native: Option<RecommendedWatcher>,
    poller: Option<notify::PollWatcher>,
    running: bool,
    paused: bool,
    /// Project root → what is watched for it.
    projects: HashMap<PathBuf, Watched>,
    /// Folders of the discovery trees and collections watched non-recursively.
    extra: HashSet<PathBuf>,
    /// Watches for Claude Code's user files (`~/.claude.json`'s folder, the user scope and
    /// plugin folders when no project watch covers them): path → recursive.
    claude: HashMap<PathBuf, bool>,
    status: WatchStatus,
    worker: Option<std::thread::JoinHandle<()>>,
    tx: Option<mpsc::Sender<Msg>>,
}

enum Msg {
    Event(notify::Result<notify::Event>),
    Stop,
}

/// What a debounced batch is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Project { id: String, root: PathBuf },
    Discovery,
    Collection,
    ClaudeJson,
    UserScope,
}

/// Per-key timing of pending events.
#[derive(Debug, Clone, Copy)]
struct Pending {
    first: Instant,
    last: Instant,
    rewatch: bool,
}

struct Inner {
    manager: CacheManager,
    job: RefreshJob,
    opts: std::sync::RwLock<Arc<WatchOptions>>,
    state: Mutex<State>,
}

/// The file watcher. Cheap to clone.
#[derive(Clone)]
pub struct FileWatcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FileWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWatcher").finish_non_exhaustive()
    }
}

/// What an event path means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMeaning {
    /// Inside a project, and it matters: refresh that project (id). `rewatch` when the
    /// project folder or a profile root itself appeared or vanished.
    Project {
        /// Project id.
        id: String,
        /// The watch set of the project must be rebuilt.
        rewatch: bool,
    },
    /// In a discovery tree outside every project: discovery may find something new.
    Discovery,
    /// A SkillMeat collection file: every project's outdated flags may change.
    Collection,
    /// `~/.claude.json`: the projects whose MCP servers or approvals changed, and new keys.
    ClaudeJson,
    /// The user scope's settings, skills or plugins: every project may load something else.
    UserScope,
    /// Nothing we care about (editor temp files, pruned folders, other files).
    Ignored,
}

/// Folders inside profile roots whose changes never matter (version control, dependencies,
/// bytecode caches).
pub const PROFILE_NOISE: &[&str] = &[".git", "node_modules", "__pycache__"];

/// True for names editors use for temporary files (`x~`, `.x.swp`, `x.tmp`, `.#x`, `4913`).
pub fn is_temp_name(name: &str) -> bool {
    name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.ends_with(".tmp")
        || name.starts_with(".#")
        || name == "4913"
}

impl FileWatcher {
    /// A stopped watcher that queues refreshes on `job`.
    pub fn new(manager: CacheManager, job: RefreshJob, opts: WatchOptions) -> Self {
        FileWatcher {
            inner: Arc::new(Inner {
                manager,
                job,
                opts: std::sync::RwLock::new(Arc::new(opts)),
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn opts(&self) -> Arc<WatchOptions> {
        self.inner
            .opts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the options (roots, depth, prunes, debounce...): a running watcher is
    /// restarted on them at once, and re-reads nothing (the caller refreshes what the change
    /// concerns); a stopped or paused one uses them when it starts.
    pub fn set_options(&self, opts: WatchOptions) -> Result<()> {
        *self.inner.opts.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(opts);
        if self.state().running {
            self.stop_quietly();
            self.start()?;
        }
        Ok(())
    }

    /// Starts watching every cached project, the discovery roots and the collections.
    /// Starting a running watcher does nothing. A root that does not exist is reported in
    /// the status, not fatal.
    pub fn start(&self) -> Result<()> {
        let mut st = self.state();
        if st.running {
            return Ok(());
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let handler_tx = tx.clone();
        let native = RecommendedWatcher::new(
            move |r: notify::Result<notify::Event>| {
                let _ = handler_tx.send(Msg::Event(r));
            },
            notify::Config::default(),
        );
        st.status = WatchStatus::default();
        st.native = match native {
            Ok(n) => Some(n),
            Err(e) => {
                // Typically the per-user limit of inotify instances: every project is polled
                // instead, and the status says "degraded" (never a failed start).
                tracing::warn!("the OS refused a file watcher ({e}); polling instead");
                st.status.problems.push(format!(
                    "the OS refused a file watcher ({e}): polling instead"
                ));
                None
            }
        };
        st.running = true;
        st.paused = false;
        st.tx = Some(tx);
        let me = self.clone();
        st.worker = Some(
            std::thread::Builder::new()
                .name("skillmeat-watch".into())
                .spawn(move || me.worker(rx))
                .map_err(|e| CacheError::io(Path::new("<thread>"), e))?,
        );
        drop(st);
        self.sync_projects()?;
        self.watch_discovery_and_collections();
        self.watch_claude_files();
        self.announce();
        Ok(())
    }

    /// Stops watching. Events already seen but still inside the debounce window are flushed
    /// first (the refreshes they cause are queued). Stopping a stopped watcher does nothing.
    pub fn stop(&self) {
        if self.stop_quietly() {
            self.inner.manager.events().send(CacheEvent::WatchStatus {
                state: "stopped".into(),
                message: "file watching stopped".into(),
            });
        }
    }

    /// Stops without announcing it; true when it was running.
    fn stop_quietly(&self) -> bool {
        let (native, poller, tx, worker) = {
            let mut st = self.state();
            if !st.running {
                return false;
            }
            st.running = false;
            st.projects.clear();
            st.extra.clear();
            st.claude.clear();
            (
                st.native.take(),
                st.poller.take(),
                st.tx.take(),
                st.worker.take(),
            )
        };
        // No new events after this; the worker flushes what is pending, then ends.
        drop(native);
        drop(poller);
        if let Some(tx) = tx {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(w) = worker {
            let _ = w.join();
        }
        true
    }

    /// Pauses watching (the watches are dropped). Nothing is refreshed from file changes
    /// until [`FileWatcher::resume`]. Works whether or not the watcher runs: pausing a
    /// watcher that has not started yet (paused at launch) keeps it from starting.
    pub fn pause(&self) {
        if self.state().paused {
            return;
        }
        self.stop_quietly();
        self.state().paused = true;
        self.inner.manager.events().send(CacheEvent::WatchStatus {
            state: "paused".into(),
            message: "file watching paused".into(),
        });
    }

    /// Resumes watching after a pause; every project is re-read, since changes made while
    /// paused were not seen. Not paused: nothing happens (nothing is re-read). With
    /// `cache-enabled = false` the pause is lifted but nothing is watched. Returns true when
    /// watching started.
    pub fn resume(&self) -> Result<bool> {
        {
            let mut st = self.state();
            if !st.paused {
                return Ok(false);
            }
            st.paused = false;
        }
        if !self.inner.manager.config().enabled {
            self.announce();
            return Ok(false);
        }
        self.start()?;
        let ids = self.watched_ids();
        self.inner.job.enqueue_many(ids);
        Ok(true)
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.state().paused
    }

    /// Where the watcher stands.
    pub fn status(&self) -> WatchStatus {
        let st = self.state();
        let mut s = st.status.clone();
        s.state = if st.running {
            if st.projects.values().any(|w| w.polled) {
                "degraded".into()
            } else {
                "watching".into()
            }
        } else if st.paused {
            "paused".into()
        } else if !self.inner.manager.config().enabled {
            "disabled".into()
        } else {
            "stopped".into()
        };
        s.projects_watched = st.projects.values().filter(|w| !w.polled).count();
        s.polled = st
            .projects
            .iter()
            .filter(|(_, w)| w.polled)
            .map(|(p, _)| p.display().to_string())
            .collect();
        s.polled.sort();
        s
    }

    fn watched_ids(&self) -> Vec<String> {
        self.state()
            .projects
            .values()
            .map(|w| w.id.clone())
            .collect()
    }

    fn announce(&self) {
        let s = self.status();
        let message = if s.state == "disabled" {
            "file watching is off (cache-enabled = false)".to_string()
        } else if s.polled.is_empty() {
            format!("watching {} project(s)", s.projects_watched)
        } else {
            format!(
                "the OS refused more file watches: {} project(s) polled every {} s instead",
                s.polled.len(),
                self.opts().poll_interval.as_secs()
            )
        };
        self.inner.manager.events().send(CacheEvent::WatchStatus {
            state: s.state,
            message,
        });
    }

    /// Brings the watched projects in line with the cache: new ones watched, removed ones
    /// unwatched.
    pub fn sync_projects(&self) -> Result<()> {
        let projects = self
            .inner
            .manager
            .list_projects(&ProjectFilter::default())?
            .items;
        let want: HashMap<PathBuf, (String, ProjectOrigin)> = projects
            .into_iter()
            .map(|p| (PathBuf::from(&p.path), (p.id, p.origin)))
            .collect();
        let mut st = self.state();
        if !st.running {
            return Ok(());
        }
        let gone: Vec<PathBuf> = st
            .projects
            .keys()
            .filter(|p| !want.contains_key(*p))
            .cloned()
            .collect();
        for p in gone {
            unwatch_project(&mut st, &p);
        }
        let new: Vec<(PathBuf, String, ProjectOrigin)> = want
            .into_iter()
            .filter(|(path, _)| !st.projects.contains_key(path))
            .map(|(path, (id, origin))| (path, id, origin))
            .collect();
        let degraded = !new.is_empty() && self.watch_projects_locked(&mut st, new);
        drop(st);
        if degraded {
            self.announce();
        }
        Ok(())
    }

    /// Watches one project (called with the state locked). True when it had to be polled.
    fn watch_project_locked(
        &self,
        st: &mut State,
        root: &Path,
        id: &str,
        origin: ProjectOrigin,
    ) -> bool {
        self.watch_projects_locked(st, vec![(root.to_path_buf(), id.to_string(), origin)])
    }

    /// Watches several projects in one batch of native watch requests (FSEvents rebuilds its
    /// stream once per batch, not once per folder: notify-rs/notify#988); projects the OS
    /// refuses are polled. True when any had to be polled.
    fn watch_projects_locked(
        &self,
        st: &mut State,
        projects: Vec<(PathBuf, String, ProjectOrigin)>,
    ) -> bool {
        // What to watch for each project, then every native request in one batch.
        let plans: Vec<WatchPlan> = projects
            .into_iter()
            .map(|(root, id, origin)| {
                let targets = watch_targets(&root, origin);
                (root, id, origin, targets)
            })
            .collect();
        let mut results: Vec<(Vec<PathBuf>, bool)> = Vec::with_capacity(plans.len());
        {
            let State { native, status, .. } = st;
            match native.as_mut() {
                // No native watcher at all (the OS refused one at start): poll.
                None => results.extend(plans.iter().map(|_| (Vec::new(), true))),
                Some(native) => {
                    let mut batch = native.paths_mut();
                    for (_, _, _, targets) in &plans {
                        let mut watched = Vec::new();
                        let mut refused = false;
                        for (path, mode) in targets {
                            match batch.add(path, *mode) {
                                Ok(()) => watched.push(path.clone()),
                                Err(e) if is_limit(&e) => {
                                    refused = true;
                                    break;
                                }
                                Err(e) => {
                                    if path.exists() {
                                        status.problems.push(format!("{}: {e}", path.display()));
                                    }
                                }
                            }
                        }
                        if refused {
                            for p in watched.drain(..) {
                                let _ = batch.remove(&p);
                            }
                        }
                        results.push((watched, refused));
                    }
                    if let Err(e) = batch.commit() {
                        status
                            .problems
                            .push(format!("file watches not applied: {e}"));
                    }
                }
            }
        }
        let mut any_refused = false;
        for ((root, id, origin, targets), (mut watched, refused)) in plans.into_iter().zip(results)
        {
            st.status.watches += watched.len();
            if refused {
                any_refused = true;
                self.poll_locked(st, &targets, &mut watched);
            }
            st.projects.insert(
                root,
                Watched {
                    id,
                    origin,
                    paths: watched,
                    polled: refused,
                },
            );
        }
        any_refused
    }

    /// Polls `targets` (the OS refused to watch them), starting the poller if needed.
    fn poll_locked(
        &self,
        st: &mut State,
        targets: &[(PathBuf, RecursiveMode)],
        watched: &mut Vec<PathBuf>,
    ) {
        let tx = st.tx.clone();
        let interval = self.opts().poll_interval;
        if st.poller.is_none()
            && let Some(tx) = tx
        {
            match notify::PollWatcher::new(
                move |r: notify::Result<notify::Event>| {
                    let _ = tx.send(Msg::Event(r));
                },
                notify::Config::default().with_poll_interval(interval),
            ) {
                Ok(p) => st.poller = Some(p),
                Err(e) => st.status.problems.push(format!("polling unavailable: {e}")),
            }
        }
        if let Some(poller) = st.poller.as_mut() {
            for (path, mode) in targets {
                if poller.watch(path, *mode).is_ok() {
                    watched.push(path.clone());
                }
            }
        }
    }

    fn rewatch(&self, root: &Path) {
        let mut st = self.state();
        if !st.running {
            return;
        }
        let Some(w) = st.projects.get(root) else {
            return;
        };
        let (id, origin) = (w.id.clone(), w.origin);
        unwatch_project(&mut st, root);
        self.watch_project_locked(&mut st, root, &id, origin);
    }

    /// Watches the folders of the discovery trees where a new project can appear (down to
    /// `depth - 1` levels, pruned, not inside known projects) and the collections folder.
    fn watch_discovery_and_collections(&self) {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut problems = Vec::new();
        let projects: HashSet<PathBuf> = self.state().projects.keys().cloned().collect();
        let opts = self.opts();
        for root in &opts.roots {
            if !root.is_dir() {
                problems.push(format!(
                    "root {} does not exist (not watched)",
                    root.display()
                ));
                continue;
            }
            let mut it = walkdir::WalkDir::new(root)
                .max_depth(opts.depth.saturating_sub(1))
                .into_iter();
            while let Some(Ok(e)) = it.next() {
                if !e.file_type().is_dir() {
                    continue;
                }
                let name = e.file_name().to_string_lossy();
                let pruned = e.depth() > 0
                    && (opts.prune.iter().any(|p| p == name.as_ref())
                        || PROFILE_ROOTS.contains(&name.as_ref()));
                if pruned || (e.depth() > 0 && projects.contains(e.path())) {
                    it.skip_current_dir();
                    continue;
                }
                dirs.push(e.path().to_path_buf());
            }
        }
        let cdir = &opts.collections_dir;
        if cdir.is_dir() {
            dirs.push(cdir.clone());
            if let Ok(read) = std::fs::read_dir(cdir) {
                dirs.extend(
                    read.filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.is_dir()),
                );
            }
        }
        let mut st = self.state();
        st.status.problems.extend(problems);
        for d in dirs {
            if st.extra.contains(&d) || st.projects.contains_key(&d) {
                continue;
            }
            if let Some(native) = st.native.as_mut() {
                match native.watch(&d, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        st.extra.insert(d);
                        st.status.watches += 1;
                    }
                    Err(e) => st.status.problems.push(format!("{}: {e}", d.display())),
                }
            }
        }
    }

    /// What an event at `path` means (path → project, relevance).
    pub fn classify(&self, path: &Path) -> PathMeaning {
        let st = self.state();
        classify_path(&st.projects, &self.opts(), path)
    }

    /// The debouncer: collects events per project and acts on each project once it has been
    /// quiet for the debounce or has waited the maximum; sleeps on the channel when idle.
    fn worker(&self, rx: mpsc::Receiver<Msg>) {
        let mut pending: HashMap<Key, Pending> = HashMap::new();
        let (debounce, max_wait) = {
            let o = self.opts();
            (o.debounce, o.max_wait)
        };
        loop {
            let msg = match pending
                .values()
                .map(|p| (p.last + debounce).min(p.first + max_wait))
                .min()
            {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
            };
            let stop = match msg {
                Ok(Msg::Event(Ok(ev))) => {
                    self.take_event(&ev, &mut pending);
                    false
                }
                Ok(Msg::Event(Err(e))) => {
                    tracing::warn!("file watcher: {e}");
                    if is_limit(&e) {
                        // Part of a recursive watch could not be added: re-read everything
                        // now, and poll what cannot be watched.
                        self.rescan("the OS refused more file watches");
                    }
                    false
                }
                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
                Err(mpsc::RecvTimeoutError::Timeout) => false,
            };
            let now = Instant::now();
            let due: Vec<(Key, Pending)> = pending
                .iter()
                .filter(|(_, p)| stop || now >= (p.last + debounce).min(p.first + max_wait))
                .map(|(k, p)| (k.clone(), *p))
                .collect();
            for (k, _) in &due {
                pending.remove(k);
            }
            if !due.is_empty() {
                self.act(due, stop);
            }
            if stop {
                break;
            }
        }
    }

    /// Files one raw event under the keys it concerns.
    fn take_event(&self, ev: &notify::Event, pending: &mut HashMap<Key, Pending>) {
        // Reads (including our own scans) are not changes.
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        if ev.need_rescan() {
            self.rescan("file events were lost (the OS event queue overflowed)");
            return;
        }
        let now = Instant::now();
        let appeared = matches!(
            ev.kind,
            notify::EventKind::Create(_)
                | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
        );
        let st = self.state();
        for p in &ev.paths {
            let (key, rewatch) = match classify_path(&st.projects, &self.opts(), p) {
                PathMeaning::Project { id, rewatch } => {
                    let root = project_root(&st.projects, p).unwrap_or_default();
                    // A symlinked folder that appears is not followed by the recursive watch
                    // (the kernel does not flag it as a folder): rebuild the project's watches.
                    let linked_dir = appeared
                        && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
                        && p.is_dir();
                    (Key::Project { id, root }, rewatch || linked_dir)
                }
                PathMeaning::Discovery => (Key::Discovery, false),
                PathMeaning::Collection => (Key::Collection, false),
                PathMeaning::ClaudeJson => (Key::ClaudeJson, false),
                PathMeaning::UserScope => (Key::UserScope, false),
                PathMeaning::Ignored => continue,
            };
            let e = pending.entry(key).or_insert(Pending {
                first: now,
                last: now,
                rewatch: false,
            });
            e.last = now;
            e.rewatch |= rewatch;
        }
    }

    /// Acts on a debounced batch: rebuilds watches where folders came or went, runs
    /// discovery, then queues each affected project once. While stopping, only queues (no
    /// discovery: it writes to the database, and stopping must not wait for a lock; the next
    /// scheduled refresh discovers).
    fn act(&self, due: Vec<(Key, Pending)>, stopping: bool) {
        {
            let mut st = self.state();
            st.status.batches += 1;
            st.status.last_event_at = Some(now_ms());
        }
        let mut ids: Vec<(String, PathBuf)> = Vec::new();
        let (mut discovery, mut collection) = (false, false);
        let (mut claude_json, mut user_scope) = (false, false);
        // Watches first, then the refresh: whatever is written after this is seen by the
        // watcher, whatever was written before is read by the refresh.
        for (key, p) in due {
            match key {
                Key::Project { id, root } => {
                    if p.rewatch {
                        self.rewatch(&root);
                    }
                    ids.push((id, root));
                }
                Key::Discovery => discovery = true,
                Key::Collection => collection = true,
                Key::ClaudeJson => claude_json = true,
                Key::UserScope => user_scope = true,
            }
        }
        // While stopping, only what is queue-only (reading ~/.claude.json or discovering may
        // write to the database, and stopping must not wait for a lock).
        if claude_json && !stopping {
            ids.extend(self.claude_json_changed());
        }
        if user_scope && !stopping {
            self.watch_claude_files();
            collection = true;
        }
        if discovery && !stopping {
            self.watch_discovery_and_collections();
            match self.inner.manager.sync_discovered() {
                Ok(added) => {
                    let _ = self.sync_projects();
                    let st = self.state();
                    for id in added {
                        if let Some((root, _)) = st.projects.iter().find(|(_, w)| w.id == id) {
                            ids.push((id, root.clone()));
                        }
                    }
                }
                Err(e) => tracing::warn!("discovery after a file event failed: {e}"),
            }
        }
        if collection {
            let st = self.state();
            ids = st
                .projects
                .iter()
                .map(|(root, w)| (w.id.clone(), root.clone()))
                .collect();
        }
        for (id, root) in &ids {
            self.inner
                .manager
                .events()
                .send(CacheEvent::ProjectInvalidated {
                    id: Some(id.clone()),
                    path: Some(root.display().to_string()),
                    reason: InvalidationReason::Watcher,
                });
        }
        self.inner
            .job
            .enqueue_many(ids.into_iter().map(|(id, _)| id));
    }

    /// Re-reads every project (events may have been lost) and says so.
    pub fn rescan(&self, why: &str) {
        self.state().status.rescans += 1;
        self.inner.manager.events().send(CacheEvent::WatchStatus {
            state: "rescan".into(),
            message: format!("{why}: re-reading every project"),
        });
        // Projects whose watches failed part way are moved to polling.
        let roots: Vec<PathBuf> = self.state().projects.keys().cloned().collect();
        for r in &roots {
            self.rewatch(r);
        }
        let _ = self.inner.manager.sync_discovered();
        let _ = self.sync_projects();
        let ids = self.watched_ids();
        self.inner.job.enqueue_many(ids);
        self.announce();
    }
}

fn is_limit(e: &notify::Error) -> bool {
    matches!(e.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&e.kind, notify::ErrorKind::Io(io) if is_enospc(io))
}

/// ENOSPC, which inotify returns past the watch limit. Unix only: elsewhere OS error codes are
/// not errno values (28 is another error on Windows).
fn is_enospc(io: &std::io::Error) -> bool {
    cfg!(unix) && io.raw_os_error() == Some(libc::ENOSPC)
}

/// What to watch for a project: its folder (top-level files, profile roots appearing or
/// vanishing; not for the user scope, the home folder) and each profile root, recursively.
fn watch_targets(root: &Path, origin: ProjectOrigin) -> Vec<(PathBuf, RecursiveMode)> {
    let mut targets = Vec::new();
    if origin != ProjectOrigin::User {
        targets.push((root.to_path_buf(), RecursiveMode::NonRecursive));
    }
    for p in PROFILE_ROOTS {
        let dir = root.join(p);
        if dir.is_dir() {
            targets.push((dir, RecursiveMode::Recursive));
        }
    }
    targets
}

/// A project to watch: its root, id, origin and the folders to watch for it.
type WatchPlan = (
    PathBuf,
    String,
    ProjectOrigin,
    Vec<(PathBuf, RecursiveMode)>,
);

fn unwatch_project(st: &mut State, root: &Path) {
    if let Some(w) = st.projects.remove(root) {
        for p in &w.paths {
            let done = if w.polled {
                st.poller.as_mut().map(|x| x.unwatch(p).is_ok())
            } else {
                st.native.as_mut().map(|x| x.unwatch(p).is_ok())
            };
            if done == Some(true) && !w.polled {
                st.status.watches = st.status.watches.saturating_sub(1);
            }
        }
    }
}

/// The deepest watched project root containing `path`.
fn project_root(projects: &HashMap<PathBuf, Watched>, path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| projects.contains_key(*a))
        .map(Path::to_path_buf)
}

fn classify_path(
    projects: &HashMap<PathBuf, Watched>,
    opts: &WatchOptions,
    path: &Path,
) -> PathMeaning {
    if let Some(m) = claude_files::classify(opts, path) {
        return m;
    }
    if let Some(root) = project_root(projects, path) {
        let id = projects[&root].id.clone();
        let rel = path.strip_prefix(&root).unwrap_or(Path::new(""));
        let comps: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        let Some(first) = comps.first() else {
            return PathMeaning::Project { id, rewatch: true };
        };
        if PROFILE_ROOTS.contains(&first.as_str()) {
            // Inside a profile root everything counts but editor temp files and the few
            // folders tools fill with noise (not the discovery prune list: a skill may well
            // be called `build`).
            let last = comps.last().map(String::as_str).unwrap_or("");
            if comps.len() > 1
                && (is_temp_name(last)
                    || comps[1..]
                        .iter()
                        .any(|c| PROFILE_NOISE.contains(&c.as_str())))
            {
                return PathMeaning::Ignored;
            }
            return PathMeaning::Project {
                id,
                rewatch: comps.len() == 1,
            };
        }
        if comps.len() == 1
            && (first == ".mcp.json" || first == "CLAUDE.md" || first == "CLAUDE.local.md")
        {
            return PathMeaning::Project { id, rewatch: false };
        }
        return PathMeaning::Ignored;
    }
    if path.starts_with(&opts.collections_dir) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        return if name == "collection.toml" || name == "collection.lock" {
            PathMeaning::Collection
        } else {
            PathMeaning::Ignored
        };
    }
    if opts.roots.iter().any(|r| path.starts_with(r)) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if is_temp_name(&name) || opts.prune.contains(&name) {
            return PathMeaning::Ignored;
        }
        return PathMeaning::Discovery;
    }
    PathMeaning::Ignored
}
