//! `skillmeat-tray`: the desktop face of the SkillMeat project cache. A tray icon with live
//! status, a dashboard window created on demand, and coalesced notifications, all over the
//! engine's `CacheManager` and `Service`. Nothing here decides what the cache holds.

pub mod autostart;
pub mod bridge;
pub mod commands;
pub mod dashboard;
pub mod insights;
pub mod logs;
pub mod notify;
pub mod state;
pub mod tray;

use skillmeat_cache::service::Service;
use skillmeat_cache::{CacheManager, Config, EventBus, Overrides};
use state::AppState;
use tauri::{Manager, RunEvent, Runtime};

/// The commands and their handler: shared by the app and its tests (which add the state).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::status,
        commands::list_projects,
        commands::get_project,
        commands::search,
        commands::refresh,
        commands::recent_changes,
        commands::problems,
        commands::get_settings,
        commands::set_setting,
        commands::reveal_project,
        autostart::get_autostart,
        autostart::set_autostart,
        insights::library,
        insights::where_is,
        insights::variant_diff,
        insights::project_cost,
        insights::findings,
        insights::project_usage,
        insights::unused,
    ])
}

/// True when the dashboard should open at launch (`--dashboard`, or
/// `SKILLMEAT_TRAY_OPEN_DASHBOARD=1`, used by the end-to-end tests).
fn open_at_launch() -> bool {
    std::env::args().any(|a| a == "--dashboard")
        || std::env::var("SKILLMEAT_TRAY_OPEN_DASHBOARD").is_ok_and(|v| v == "1")
}

/// Starts the app: the engine service, the tray, the event bridge; the dashboard on request.
/// Returns the process exit code.
pub fn run() -> i32 {
    logs::init();
    let manager = match Config::load(&Overrides::default())
        .and_then(|cfg| CacheManager::open_with_events(cfg, EventBus::default()))
    {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skillmeat-tray: {e}");
            return 1;
        }
    };
    let bridge_rx = manager.events().subscribe();
    // Quick: the watcher sets itself up in the background, refreshes run on the job.
    let service = match tauri::async_runtime::block_on(Service::start_with(manager)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skillmeat-tray: {e}");
            return 1;
        }
    };
    let app = builder(tauri::Builder::default())
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            dashboard::open(app)
        }))
        .plugin(tauri_plugin_notification::init())
        .plugin(autostart::plugin())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(dashboard::remembered())
                .build(),
        )
        .manage(AppState::new(service.clone()))
        .setup(move |app| {
            // A tray app: no Dock icon, no app menu on macOS.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            let tray_shown = match tray::create(app.handle()) {
                Ok(()) => true,
                Err(e) => {
                    // No panel hosting tray icons (no StatusNotifierWatcher): the app stays
                    // usable through its dashboard, and the tray appears once a panel does.
                    tracing::warn!("no system tray ({e}); opening the dashboard instead");
                    tauri::async_runtime::spawn(tray::retry_until_shown(app.handle().clone()));
                    false
                }
            };
            tauri::async_runtime::spawn(bridge::run(app.handle().clone(), bridge_rx));
            if open_at_launch() || !tray_shown {
                dashboard::open(app.handle());
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            eprintln!("skillmeat-tray: could not start: {e}");
            return 1;
        }
    };
    app.run(|app, event| match event {
        // Closing the dashboard must not quit: the app lives in the tray (when there is one).
        RunEvent::ExitRequested { api, code, .. }
            if code.is_none() && app.tray_by_id(tray::TRAY_ID).is_some() =>
        {
            api.prevent_exit()
        }
        RunEvent::Exit => {
            // Bounded: the watcher stops, refreshes in flight get a short grace.
            tauri::async_runtime::block_on(app.state::<AppState>().service.stop());
        }
        _ => {}
    });
    0
}
