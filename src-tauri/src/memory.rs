//! Gives memory back to the OS after each refresh. A refresh's parallel workers leave freed
//! memory in glibc's per-thread arenas, which glibc keeps mapped: a long-lived tray app would
//! carry a cold refresh's peak all day. `malloc_trim` returns it (Linux with glibc only).

use skillmeat_cache::CacheEvent;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// Runs until the engine's event bus closes: trims the heap once each refresh run completes.
pub async fn trim_after_refreshes(mut rx: Receiver<CacheEvent>) {
    loop {
        match rx.recv().await {
            Ok(CacheEvent::RefreshCompleted { .. } | CacheEvent::Cleared { .. }) => trim(),
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
