//! `skillmeat-cache watch`: the engine service in the foreground, one line per event.

use skillmeat_cache::service::Service;
use skillmeat_cache::{CacheError, CacheManager, Config, EventBus, Result};
use std::io::Write;
use std::process::ExitCode;

/// The request to terminate that `watch` honours besides Ctrl-C: SIGTERM on Unix; nothing
/// elsewhere (Windows has no SIGTERM: Ctrl-C stops `watch` there).
struct Terminate {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Terminate {
    /// Starts listening (on Unix, installs the SIGTERM handler).
    fn new() -> Result<Terminate> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::terminate())
                .map_err(|e| CacheError::io(std::path::Path::new("<signal>"), e))?;
            Ok(Terminate { signal })
        }
        #[cfg(not(unix))]
        {
            Ok(Terminate {})
        }
    }

    /// Resolves when termination is requested (never, where there is no such request).
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            self.signal.recv().await;
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<()>().await
        }
    }
}

/// Runs the service until Ctrl-C or SIGTERM (Unix), printing every event.
pub fn run(cfg: Config, json: bool) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CacheError::io(std::path::Path::new("<runtime>"), e))?;
    rt.block_on(async move {
        let manager = CacheManager::open_with_events(cfg, EventBus::default())?;
        let mut events = manager.events().subscribe();
        let service = Service::start_with(manager).await?;
        let db = service.manager().store().path().display().to_string();
        if !json {
            println!("watching; cache {db}; Ctrl-C to stop");
        }
        let mut term = Terminate::new()?;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
                ev = events.recv() => match ev {
                    Ok(ev) => print_event(&ev, json),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("skillmeat-cache: {n} events not shown (output too slow)");
                    }
                    Err(_) => break,
                },
            }
        }
        service.stop().await;
        // What stopping itself announced (the watcher's "stopped").
        while let Ok(ev) = events.try_recv() {
            print_event(&ev, json);
        }
        if !json {
            println!("stopped");
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn print_event(ev: &skillmeat_cache::CacheEvent, json: bool) {
    let now = chrono::Local::now();
    let mut out = std::io::stdout().lock();
    let _ = if json {
        let mut v = serde_json::to_value(ev).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("at".into(), now.timestamp_millis().into());
        }
        writeln!(out, "{v}")
    } else {
        writeln!(out, "[{}] {}", now.format("%H:%M:%S"), ev.describe())
    };
    let _ = out.flush();
}
