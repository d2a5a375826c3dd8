//! The dashboard window: created only when asked, focused when it exists. Closing it destroys
//! the webview (the app lives on in the tray and stays small).

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The dashboard window's label (the capability grants our commands to this label only).
pub const LABEL: &str = "dashboard";

/// Shows the dashboard, creating its window if needed.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("SkillMeat — project cache")
        .inner_size(1180.0, 760.0)
        .min_inner_size(720.0, 480.0)
        .build();
    if let Err(e) = built {
        tracing::error!("could not open the dashboard: {e}");
    }
}
