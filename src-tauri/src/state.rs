//! What the shell keeps while it runs: the engine service (cache manager, refresh job,
//! watcher), started before the app so every command and tray item can use it.

use skillmeat_cache::CacheManager;
use skillmeat_cache::service::Service;

/// The shell's managed state.
pub struct AppState {
    /// The running engine every command, tray item and event handler goes through.
    pub service: Service,
}

impl AppState {
    /// State over a started service.
    pub fn new(service: Service) -> Self {
        AppState { service }
    }

    /// The cache manager (reads).
    pub fn manager(&self) -> &CacheManager {
        self.service.manager()
    }
}
