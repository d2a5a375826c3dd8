//! The dashboard window: created only when asked, focused when it exists. Closing it destroys
//! the webview (the app lives on in the tray and stays small). Its size and position are
//! remembered (tauri-plugin-window-state, saved whenever it closes).

use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// The dashboard window's label (the capability grants our commands to this label only).
pub const LABEL: &str = "dashboard";

/// The event asking an open dashboard to show a project (payload: its id, path or name).
pub const OPEN_PROJECT_EVENT: &str = "open-project";

/// What of the window is remembered.
pub fn remembered() -> StateFlags {
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// Shows the dashboard, creating its window if needed.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    open_project(app, None);
}

/// Shows the dashboard on `project` (an id, a path or a unique name), or as it is with `None`.
pub fn open_project<R: Runtime>(app: &AppHandle<R>, project: Option<&str>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        if let Some(p) = project {
            let _ = w.emit_to(LABEL, OPEN_PROJECT_EVENT, p);
        }
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let page = match project {
        Some(p) => format!("index.html#project={}", encode(p)),
        None => "index.html".to_string(),
    };
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App(page.into()))
        .title("SkillMeat — project cache")
        .inner_size(1180.0, 760.0)
        .min_inner_size(720.0, 480.0)
        .build();
    match built {
        Ok(w) => {
            let handle = app.clone();
            w.on_window_event(move |e| {
                if matches!(e, WindowEvent::CloseRequested { .. }) {
                    save_state(&handle);
                }
            });
        }
        Err(e) => tracing::error!("could not open the dashboard: {e}"),
    }
}

/// Saves the open dashboard's size and position now (at every close and before quitting, so
/// a crash or a kill later does not lose them). Failures are logged.
pub fn save_state<R: Runtime>(app: &AppHandle<R>) {
    if app.get_webview_window(LABEL).is_none() {
        return;
    }
    if let Err(e) = app.save_window_state(remembered()) {
        tracing::warn!("the dashboard's size and position were not saved: {e}");
    }
}

/// Percent-encodes everything but unreserved characters (for the page's fragment).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fragments_are_encoded() {
        assert_eq!(super::encode("proj-010"), "proj-010");
        assert_eq!(super::encode("/a b/é#"), "%2Fa%20b%2F%C3%A9%23");
    }
}
