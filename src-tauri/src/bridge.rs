//! Engine events → the world: forwarded to the webview as Tauri events, reflected in the tray,
//! and turned into coalesced desktop notifications.

use crate::state::AppState;
use crate::tray::{self, Look};
use skillmeat_cache::CacheEvent;
use skillmeat_cache::notices::{Coalescer, NoticePolicy};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// The Tauri event carrying each engine event to the dashboard.
pub const EVENT: &str = "cache-event";

/// How often the tray's "updated N min ago" is brought up to date while nothing happens.
const TICK: Duration = Duration::from_secs(30);

/// Runs until the engine's event bus closes. The tray is updated on blocking threads (its
/// status line reads the cache); a failing update is logged and the bridge goes on.
pub async fn run(app: AppHandle, mut rx: Receiver<CacheEvent>) {
    let mut notices = Coalescer::new(NoticePolicy::default());
    let mut busy = false;
    tray::refresh_off_thread(&app, Look::Idle, None).await;
    loop {
        let wake = notices
            .due()
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(TICK)
            .min(TICK);
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = tokio::time::sleep(wake) => {
                show(&app, &mut notices);
                if !busy {
                    tray::refresh_off_thread(&app, Look::Idle, None).await;
                }
                continue;
            }
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                let _ = app.emit("cache-resync", n);
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let _ = app.emit(EVENT, &ev);
        match &ev {
            CacheEvent::RefreshStarted { total, .. } => {
                busy = true;
                let line = format!("Refreshing 0/{total}…");
                tray::refresh_off_thread(&app, Look::Busy, Some(line)).await;
            }
            CacheEvent::RefreshProgress { done, total, .. } => {
                let line = format!("Refreshing {done}/{total}…");
                tray::refresh_off_thread(&app, Look::Busy, Some(line)).await;
            }
            CacheEvent::RefreshCompleted { .. }
            | CacheEvent::Cleared { .. }
            | CacheEvent::WatchStatus { .. } => {
                busy = false;
                tray::refresh_off_thread(&app, Look::Idle, None).await;
            }
            _ => {}
        }
        notices.push(&ev, Instant::now());
    }
}

fn show(app: &AppHandle, notices: &mut Coalescer) {
    let due = notices.flush(Instant::now());
    let enabled = app.state::<AppState>().manager().config().notifications;
    if !enabled {
        return;
    }
    for n in due {
        // The title names the project (or says how many changed): a click opens it.
        crate::notify::show(app, &n.title, &n.body, n.project.as_deref());
    }
}
