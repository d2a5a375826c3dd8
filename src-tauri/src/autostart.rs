//! Start at login (tauri-plugin-autostart): an XDG autostart entry on Linux
//! (`~/.config/autostart/skillmeat-tray.desktop`), a LaunchAgent on macOS, a `Run` registry
//! value on Windows, each pointing at the running executable. Switched from the tray's
//! check item and from the dashboard's settings; both show the entry's real state.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::AutoLaunchManager;

/// The entry's name (the file `skillmeat-tray.desktop`, the LaunchAgent, the registry value).
pub const ENTRY_NAME: &str = "skillmeat-tray";

/// The plugin, registering the entry under [`ENTRY_NAME`].
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .app_name(ENTRY_NAME)
        .build()
}

/// Whether the app starts at login (false when it cannot be told).
pub fn is_enabled<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<AutoLaunchManager>()
        .is_some_and(|m| m.is_enabled().unwrap_or(false))
}

/// Turns starting at login on or off; returns the state now in effect. The tray's check item
/// follows.
pub fn set<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<bool, String> {
    let launch = app
        .try_state::<AutoLaunchManager>()
        .ok_or_else(|| "start at login is not available".to_string())?;
    let done = if on {
        launch.enable()
    } else {
        launch.disable()
    };
    let now = launch.is_enabled().unwrap_or(false);
    crate::tray::show_autostart(app, now);
    match done {
        Ok(()) => {
            tracing::info!("start at login {}", if now { "on" } else { "off" });
            Ok(now)
        }
        Err(e) => {
            tracing::warn!("start at login could not be changed: {e}");
            Err(e.to_string())
        }
    }
}

/// Whether the app starts at login (the dashboard's setting).
#[tauri::command]
pub fn get_autostart<R: Runtime>(app: AppHandle<R>) -> bool {
    is_enabled(&app)
}

/// Turns starting at login on or off from the dashboard; returns the state now in effect.
#[tauri::command]
pub fn set_autostart<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Result<bool, String> {
    set(&app, enabled)
}
