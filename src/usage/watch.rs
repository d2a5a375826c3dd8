//! Keeping the usage index fresh: one recursive watch on the transcripts folder; an appended
//! transcript is indexed (only its new bytes) within milliseconds of the write.
//!
//! One recursive watch rather than one per project folder: Claude Code creates a folder per
//! working directory (`projects/<slug>/`) and, for subagents, `<slug>/<session>/subagents/`,
//! at any time; a recursive watch follows new folders by itself. On Linux the backend
//! (inotify) still places one watch per folder, a few hundred at most, far below the default
//! limit. When the folder does not exist yet, its parent (`~/.claude`) is watched until it
//! appears. A lost-events signal from the OS triggers a full pass (cheap: stats only).

use super::index::is_transcript;
use crate::manager::CacheManager;
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest time events are gathered before indexing, however steadily they keep coming.
const MAX_GATHER: Duration = Duration::from_millis(250);

/// Quiet time gathering more events before indexing.
pub const SETTLE: Duration = Duration::from_millis(20);

/// How long after it was first read a new project folder is read once more (see the watch
/// loop).
const RECHECK: Duration = Duration::from_millis(250);

/// A running watch on the transcripts folder. Dropping it (or [`UsageWatcher::stop`]) ends it.
pub struct UsageWatcher {
    stop: Option<mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for UsageWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageWatcher").finish_non_exhaustive()
    }
}

enum Msg {
    Event(notify::Result<notify::Event>),
    Stop,
}

impl UsageWatcher {
    /// Starts watching `manager`'s transcripts folder and indexing what is appended. Does not
    /// run a full pass itself (call [`CacheManager::update_usage`] after starting, so nothing
    /// written in between is missed).
    pub fn start(manager: CacheManager) -> crate::error::Result<UsageWatcher> {
        let dir = manager.transcripts_dir();
        let (tx, rx) = mpsc::channel::<Msg>();
        let etx = tx.clone();
        let mut watcher = notify::recommended_watcher(move |ev| {
            let _ = etx.send(Msg::Event(ev));
        })
        .map_err(|e| crate::error::CacheError::io(&dir, std::io::Error::other(e)))?;
        let mut watching_dir = watch_dir(&mut watcher, &dir);
        let late_tx = tx.clone();
        let thread = std::thread::Builder::new()
            .name("usage-watch".into())
            .spawn(move || {
                let _keep = &watcher;
                // The folder's own watcher once it appears (when it was missing at start).
                let mut late: Option<notify::RecommendedWatcher> = None;
                // New project folders read once, each to be read once more when due (see
                // below).
                let mut recheck: BTreeMap<PathBuf, Instant> = BTreeMap::new();
                loop {
                    let first = match recheck.values().min() {
                        None => match rx.recv() {
                            Ok(Msg::Event(ev)) => Some(ev),
                            Ok(Msg::Stop) | Err(_) => return,
                        },
                        Some(&due) => {
                            match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                                Ok(Msg::Event(ev)) => Some(ev),
                                Err(mpsc::RecvTimeoutError::Timeout) => None,
                                Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                                    return;
                                }
                            }
                        }
                    };
                    let mut paths = BTreeSet::new();
                    let mut full = false;
                    let mut new_dirs: Vec<PathBuf> = Vec::new();
                    // What the folders due hold now, whether or not their OS watches saw it.
                    let now = Instant::now();
                    recheck.retain(|d, due| {
                        let keep = *due > now;
                        if !keep {
                            paths.extend(crate::usage::index::transcript_files(d));
                        }
                        keep
                    });
                    let mut take = |ev: notify::Result<notify::Event>| match ev {
                        Ok(ev) => {
                            if ev.need_rescan() {
                                full = true;
                            }
                            if matches!(ev.kind, EventKind::Access(_)) {
                                return;
                            }
                            let created = matches!(ev.kind, EventKind::Create(_));
                            for p in ev.paths {
                                if is_transcript(&p) {
                                    paths.insert(p);
                                } else if p == dir {
                                    full = true;
                                } else if created && p.is_dir() {
                                    new_dirs.push(p);
                                }
                            }
                        }
                        Err(_) => full = true,
                    };
                    let gathering = Instant::now();
                    let mut gather = first.is_some();
                    if let Some(ev) = first {
                        take(ev);
                    }
                    // Until a quiet gap, but no longer than MAX_GATHER under steady writes.
                    while gather && gathering.elapsed() < MAX_GATHER {
                        match rx.recv_timeout(SETTLE) {
                            Ok(Msg::Event(ev)) => take(ev),
                            Ok(Msg::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                                return;
                            }
                            Err(mpsc::RecvTimeoutError::Timeout) => gather = false,
                        }
                    }
                    // A new project folder: the OS watch on it is added only after its
                    // creation event is delivered (notify's inotify backend adds it once the
                    // events read with it are handed over), so a session file written into it
                    // in between has no event of its own. What it holds is read now, and once
                    // more `RECHECK` later, by when its watch is in place (whatever other events
                    // keep coming meanwhile).
                    for d in new_dirs {
                        paths.extend(crate::usage::index::transcript_files(&d));
                        recheck.insert(d, Instant::now() + RECHECK);
                    }
                    if !watching_dir && dir.is_dir() {
                        // The transcripts folder appeared: watch it, read what it holds.
                        if let Ok(mut w) = notify::recommended_watcher({
                            let etx = late_tx.clone();
                            move |ev| {
                                let _ = etx.send(Msg::Event(ev));
                            }
                        }) && w.watch(&dir, RecursiveMode::Recursive).is_ok()
                        {
                            watching_dir = true;
                            full = true;
                            late = Some(w);
                        }
                    }
                    let _ = &late;
                    let r = if full {
                        manager.update_usage()
                    } else {
                        let files: Vec<PathBuf> = paths.into_iter().collect();
                        manager.update_usage_files(&files)
                    };
                    match r {
                        Ok(report) if report.uses_added > 0 => {
                            manager
                                .events()
                                .send(crate::events::CacheEvent::UsageIndexed {
                                    uses: report.uses_added,
                                    files: report.files_read,
                                });
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("usage index: {e}"),
                    }
                }
            })
            .map_err(|e| crate::error::CacheError::io(std::path::Path::new("<thread>"), e))?;
        Ok(UsageWatcher {
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops watching and waits for an indexing step under way to end.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for UsageWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Watches the transcripts folder (recursively), or its parent until it exists. Returns
/// whether the folder itself is watched.
fn watch_dir(w: &mut notify::RecommendedWatcher, dir: &std::path::Path) -> bool {
    if w.watch(dir, RecursiveMode::Recursive).is_ok() {
        return true;
    }
    if let Some(parent) = dir.parent() {
        let _ = w.watch(parent, RecursiveMode::NonRecursive);
    }
    false
}
