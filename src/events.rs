//! `CacheEvent`s: what the engine tells its listeners (tray, dashboard, notifications, the CLI's
//! `watch`), over a tokio broadcast channel. Sending never blocks: a lagging listener loses the
//! oldest events and is told how many, the engine goes on.

use crate::model::ChangeSet;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Most artifacts listed per change-set list inside an event.
pub const MAX_EVENT_CHANGES: usize = 50;

/// Why a project was invalidated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidationReason {
    /// The file watcher saw a change.
    Watcher,
    /// A user asked (CLI, tray, dashboard).
    Manual,
    /// The TTL ran out.
    Ttl,
    /// Events were lost and the project may have changed unseen.
    Rescan,
}

impl InvalidationReason {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidationReason::Watcher => "watcher",
            InvalidationReason::Manual => "manual",
            InvalidationReason::Ttl => "ttl",
            InvalidationReason::Rescan => "rescan",
        }
    }
}

/// Everything the engine announces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CacheEvent {
    /// A refresh run began.
    RefreshStarted {
        /// Projects to refresh in this run.
        total: usize,
        /// Whether it was forced.
        force: bool,
    },
    /// One more project of the run is done.
    RefreshProgress {
        /// Projects done so far.
        done: usize,
        /// Projects in the run.
        total: usize,
        /// The project just done.
        project: String,
    },
    /// A refresh run ended (also when there was nothing to do).
    RefreshCompleted {
        /// Projects refreshed.
        refreshed: usize,
        /// Projects whose data changed.
        changed: usize,
        /// Projects that failed.
        failed: usize,
        /// Wall time.
        elapsed_ms: f64,
    },
    /// A project failed to refresh.
    RefreshFailed {
        /// Project id (empty if unknown).
        id: String,
        /// Project path.
        path: String,
        /// Readable reason.
        error: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// True when no retry follows: the project is now marked errored.
        final_attempt: bool,
    },
    /// A refresh changed a project's data.
    ProjectChanged {
        /// Project id.
        id: String,
        /// Project display name.
        name: String,
        /// Project path.
        path: String,
        /// What changed (each list bounded to [`MAX_EVENT_CHANGES`]).
        changes: ChangeSet,
        /// One-line summary ("2 skills modified, 1 agent added").
        summary: String,
    },
    /// A project (or all, with `id` = None) was marked stale.
    ProjectInvalidated {
        /// Project id, or `None` for all projects.
        id: Option<String>,
        /// Project path, when one project.
        path: Option<String>,
        /// Why.
        reason: InvalidationReason,
    },
    /// A project entered the cache.
    ProjectAdded {
        /// Project id.
        id: String,
        /// Project path.
        path: String,
    },
    /// A project was removed from the cache.
    ProjectRemoved {
        /// Project id.
        id: String,
        /// Project path.
        path: String,
    },
    /// A project's folder (or its `.claude/`) disappeared.
    ProjectMissing {
        /// Project id.
        id: String,
        /// Project path.
        path: String,
        /// Why it counts as missing.
        reason: String,
    },
    /// The cache was cleared.
    Cleared {
        /// Projects removed.
        projects: usize,
    },
    /// File watching changed state (started, paused, degraded to polling, lost events...).
    WatchStatus {
        /// `watching`, `paused`, `degraded`, `stopped`, `rescan`.
        state: String,
        /// Details for the user.
        message: String,
    },
    /// The usage index took in new uses from Claude Code's session logs (an appended
    /// transcript): "last used" figures changed.
    UsageIndexed {
        /// Uses added.
        uses: u64,
        /// Transcript files read.
        files: u64,
    },
}

impl CacheEvent {
    /// The event's type name, as in its JSON `type` field.
    pub fn kind(&self) -> &'static str {
        match self {
            CacheEvent::RefreshStarted { .. } => "refresh_started",
            CacheEvent::RefreshProgress { .. } => "refresh_progress",
            CacheEvent::RefreshCompleted { .. } => "refresh_completed",
            CacheEvent::RefreshFailed { .. } => "refresh_failed",
            CacheEvent::ProjectChanged { .. } => "project_changed",
            CacheEvent::ProjectInvalidated { .. } => "project_invalidated",
            CacheEvent::ProjectAdded { .. } => "project_added",
            CacheEvent::ProjectRemoved { .. } => "project_removed",
            CacheEvent::ProjectMissing { .. } => "project_missing",
            CacheEvent::Cleared { .. } => "cleared",
            CacheEvent::WatchStatus { .. } => "watch_status",
            CacheEvent::UsageIndexed { .. } => "usage_indexed",
        }
    }

    /// A one-line human description, as `skillmeat-cache watch` prints it.
    pub fn describe(&self) -> String {
        match self {
            CacheEvent::RefreshStarted { total, force } => format!(
                "refresh started: {total} project(s){}",
                if *force { " (forced)" } else { "" }
            ),
            CacheEvent::RefreshProgress {
                done,
                total,
                project,
            } => format!("refresh {done}/{total}: {project}"),
            CacheEvent::RefreshCompleted {
                refreshed,
                changed,
                failed,
                elapsed_ms,
            } => format!(
                "refresh completed: {refreshed} refreshed, {changed} changed, {failed} failed in {elapsed_ms:.0} ms"
            ),
            CacheEvent::RefreshFailed {
                path,
                error,
                attempt,
                final_attempt,
                ..
            } => format!(
                "refresh failed (attempt {attempt}{}): {path}: {error}",
                if *final_attempt { ", giving up" } else { "" }
            ),
            CacheEvent::ProjectChanged { name, summary, .. } => format!("{name}: {summary}"),
            CacheEvent::ProjectInvalidated { path, reason, .. } => format!(
                "invalidated ({}): {}",
                reason.as_str(),
                path.as_deref().unwrap_or("all projects")
            ),
            CacheEvent::ProjectAdded { path, .. } => format!("project added: {path}"),
            CacheEvent::ProjectRemoved { path, .. } => format!("project removed: {path}"),
            CacheEvent::ProjectMissing { path, reason, .. } => {
                format!("project missing: {path} ({reason})")
            }
            CacheEvent::Cleared { projects } => format!("cache cleared: {projects} project(s)"),
            CacheEvent::WatchStatus { state, message } => format!("watch {state}: {message}"),
            CacheEvent::UsageIndexed { uses, files } => {
                format!("usage: {uses} use(s) indexed from {files} transcript(s)")
            }
        }
    }
}

/// The engine's event channel: cheap to clone, never blocks senders.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<CacheEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(1024)
    }
}

impl EventBus {
    /// A bus keeping up to `capacity` events for slow listeners.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        EventBus { tx }
    }

    /// Sends an event to every current listener (none is fine).
    pub fn send(&self, e: CacheEvent) {
        tracing::debug!(event = e.kind(), "{}", e.describe());
        let _ = self.tx.send(e);
    }

    /// A new listener; it receives every event sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.tx.subscribe()
    }

    /// Number of current listeners.
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }
}
