//! What the shell keeps while it runs: the cache manager (always) and the engine service
//! (refresh job + watcher; absent in command tests that run without one).

use skillmeat_cache::CacheManager;
use skillmeat_cache::refresh::RefreshJob;
use skillmeat_cache::service::Service;
use skillmeat_cache::watch::FileWatcher;
use std::sync::Mutex;

/// The shell's managed state.
pub struct AppState {
    /// The cache every command reads and writes through.
    pub manager: CacheManager,
    service: Mutex<Option<Service>>,
}

impl AppState {
    /// State over `manager`, with no service yet.
    pub fn new(manager: CacheManager) -> Self {
        AppState {
            manager,
            service: Mutex::new(None),
        }
    }

    /// Hands the running service to the state (done once at start-up).
    pub fn set_service(&self, service: Service) {
        *self.service.lock().unwrap_or_else(|p| p.into_inner()) = Some(service);
    }

    /// Takes the service out, to stop it at exit.
    pub fn take_service(&self) -> Option<Service> {
        self.service
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// The refresh job, when the service runs.
    pub fn job(&self) -> Option<RefreshJob> {
        self.service
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|s| s.job().clone())
    }

    /// The file watcher, when the service runs.
    pub fn watcher(&self) -> Option<FileWatcher> {
        self.service
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|s| s.watcher().clone())
    }
}
