//! The tray icon: a status line, Refresh now, Clear cache, Open dashboard, Pause/Resume
//! watching, Start at login (a check item), Open log folder, Quit; a tooltip with the same
//! live status; another icon while refreshing. On macOS a template icon (drawn in the menu
//! bar's colour).

use crate::{autostart, dashboard, logs, state::AppState};
use skillmeat_cache::humanize;
use skillmeat_cache::store::now_ms;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime, Wry};

/// The tray icon's id.
pub const TRAY_ID: &str = "main";

#[cfg(not(target_os = "macos"))]
const ICON: &[u8] = include_bytes!("../../icons/tray.png");
#[cfg(not(target_os = "macos"))]
const ICON_BUSY: &[u8] = include_bytes!("../../icons/tray-busy.png");
#[cfg(not(target_os = "macos"))]
const ICON_PAUSED: &[u8] = include_bytes!("../../icons/tray-paused.png");
#[cfg(target_os = "macos")]
const ICON_TEMPLATE: &[u8] = include_bytes!("../../icons/tray-template.png");

/// Menu items whose text changes at run time.
pub struct TrayItems {
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    autostart: CheckMenuItem<Wry>,
}

/// What the tray shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Idle and watching.
    Idle,
    /// A refresh is running.
    Busy,
    /// Watching is paused.
    Paused,
}

/// Builds the tray icon and its menu.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let refresh = MenuItem::with_id(app, "refresh", "Refresh now", true, None::<&str>)?;
    let clear = MenuItem::with_id(app, "clear", "Clear cache", true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open dashboard", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause watching", true, None::<&str>)?;
    let login = autostart::is_enabled(app);
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        true,
        login,
        None::<&str>,
    )?;
    let logs = MenuItem::with_id(app, "logs", "Open log folder", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &refresh,
            &clear,
            &open,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &autostart,
            &logs,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(icon_bytes(Look::Idle))?)
        .icon_as_template(cfg!(target_os = "macos"))
        .tooltip("SkillMeat cache")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_menu(app, event.id.as_ref()))
        .build(app)?;
    app.manage(TrayItems {
        status,
        pause,
        autostart,
    });
    Ok(())
}

/// Shows whether the app starts at login in the tray's check item.
pub fn show_autostart<R: Runtime>(app: &AppHandle<R>, on: bool) {
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.autostart.set_checked(on);
    }
}

/// The icon of a look: on macOS one template icon for all (the status line tells them apart).
fn icon_bytes(look: Look) -> &'static [u8] {
    #[cfg(target_os = "macos")]
    {
        let _ = look;
        ICON_TEMPLATE
    }
    #[cfg(not(target_os = "macos"))]
    match look {
        Look::Idle => ICON,
        Look::Busy => ICON_BUSY,
        Look::Paused => ICON_PAUSED,
    }
}

/// Tries again every 30 s to show the tray icon, until a panel hosting tray icons appears.
pub async fn retry_until_shown(app: AppHandle) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        if create(&app).is_ok() {
            tracing::info!("a system tray appeared: tray icon shown");
            refresh_off_thread(&app, Look::Idle, None).await;
            return;
        }
    }
}

fn on_menu(app: &AppHandle, id: &str) {
    let service = app.state::<AppState>().service.clone();
    match id {
        "refresh" => {
            tauri::async_runtime::spawn(async move {
                if let Err(e) = service.refresh_all(true).await {
                    tracing::warn!("refresh from the tray failed: {e}");
                }
            });
        }
        "clear" => {
            tauri::async_runtime::spawn(async move {
                if let Err(e) = service.clear_and_repopulate().await {
                    tracing::warn!("clear from the tray failed: {e}");
                }
            });
        }
        "open" => dashboard::open(app),
        "pause" => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let pause = !service.watcher().is_paused();
                if let Err(e) = service.set_paused(pause).await {
                    tracing::warn!("pause/resume failed: {e}");
                }
                refresh_off_thread(&app, Look::Idle, None).await;
            });
        }
        "autostart" => {
            // The item's own check mark may have flipped already: set what it did not show.
            let on = !autostart::is_enabled(app);
            let _ = autostart::set(app, on);
        }
        "logs" => match logs::log_dir() {
            Some(dir) => logs::open_folder(app, &dir),
            None => tracing::warn!("no log folder (no home folder)"),
        },
        "quit" => {
            // The dashboard's size and position, read from the window while it still exists.
            dashboard::save_state(app);
            app.exit(0)
        }
        _ => {}
    }
}

/// [`update`] on a blocking thread (it reads the cache's status): a failure or a panic there
/// is logged and changes nothing else.
pub async fn refresh_off_thread(app: &AppHandle, look: Look, progress: Option<String>) {
    let app = app.clone();
    if let Err(e) = tauri::async_runtime::spawn_blocking(move || update(&app, look, progress)).await
    {
        tracing::warn!("the tray could not be updated: {e}");
    }
}

/// Refreshes the status line, tooltip, icon and the pause item. `progress` overrides the
/// status line while a refresh runs (e.g. "Refreshing 3/40…").
pub fn update(app: &AppHandle, look: Look, progress: Option<String>) {
    let state = app.state::<AppState>();
    let paused = state.service.watcher().is_paused();
    let look = if paused && look == Look::Idle {
        Look::Paused
    } else {
        look
    };
    let line = match progress {
        Some(p) => p,
        None => match state.manager().status() {
            Ok(s) => humanize::status_line(&s, now_ms()),
            Err(e) => format!("cache unavailable: {e}"),
        },
    };
    let tooltip = if paused {
        format!("SkillMeat cache — watching paused\n{line}")
    } else {
        format!("SkillMeat cache\n{line}")
    };
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.status.set_text(&line);
        let _ = items.pause.set_text(if paused {
            "Resume watching"
        } else {
            "Pause watching"
        });
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(&tooltip));
        if let Ok(img) = Image::from_bytes(icon_bytes(look)) {
            let _ = tray.set_icon(Some(img));
        }
    }
}
