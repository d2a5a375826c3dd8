//! Desktop notifications that open the dashboard on the project they name when clicked.
//!
//! On Linux they go straight to the notification server (`org.freedesktop.Notifications`)
//! with a default action; its `ActionInvoked` signal opens the dashboard on the project.
//! Elsewhere they go through Tauri's notification plugin (macOS and Windows do not report
//! clicks to it), so a click there only brings the app forward as the OS does.

use tauri::{AppHandle, Runtime};

/// How long a shown notification's click is waited for (the server usually closes it much
/// sooner, which ends the wait too).
#[cfg(target_os = "linux")]
const CLICK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The id of the project `key` names, if it names one (a summary's title names none).
#[cfg(target_os = "linux")]
async fn resolve<R: Runtime>(app: &AppHandle<R>, key: String) -> Option<String> {
    use tauri::Manager;
    let manager = app.try_state::<crate::state::AppState>()?.manager().clone();
    tauri::async_runtime::spawn_blocking(move || manager.resolve(&key).ok().map(|(id, _)| id))
        .await
        .ok()
        .flatten()
}

/// Shows a notification. `project` (an id, a path or a unique name) is what a click opens in
/// the dashboard; `None` opens the dashboard as it is. Failures are logged.
pub fn show<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str, project: Option<&str>) {
    tracing::info!("notification: {title}: {body}");
    #[cfg(target_os = "linux")]
    {
        let app = app.clone();
        let (title, body) = (title.to_string(), body.to_string());
        let project = project.map(str::to_string);
        tauri::async_runtime::spawn(async move {
            let shown = notify_rust::Notification::new()
                .appname("SkillMeat Tray")
                .icon("skillmeat-tray")
                .summary(&title)
                .body(&body)
                .action("default", "Open in dashboard")
                .show_async()
                .await;
            let handle = match shown {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!("notification not shown: {e}");
                    return;
                }
            };
            let mut clicked = false;
            let wait = handle.wait_for_action_async(|r| {
                clicked = matches!(
                    r,
                    notify_rust::NotificationResponse::Default
                        | notify_rust::NotificationResponse::Action(_)
                )
            });
            let _ = tokio::time::timeout(CLICK_WAIT, wait).await;
            if clicked {
                let id = match project {
                    Some(p) => resolve(&app, p).await,
                    None => None,
                };
                tracing::info!(
                    "notification clicked: opening the dashboard on {}",
                    id.as_deref().unwrap_or("its overview")
                );
                crate::dashboard::open_project(&app, id.as_deref());
            }
        });
    }
    #[cfg(not(target_os = "linux"))]
    {
        use tauri_plugin_notification::NotificationExt;
        let _ = project;
        if let Err(e) = app.notification().builder().title(title).body(body).show() {
            tracing::warn!("notification not shown: {e}");
        }
    }
}
