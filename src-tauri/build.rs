//! Generates the Tauri context and the permissions of our own commands (each command gets an
//! `allow-<name>` permission that a capability must grant before a webview may call it).

/// Every command the shell exposes; keep in sync with `commands.rs` and the capability.
const COMMANDS: &[&str] = &[
    "status",
    "list_projects",
    "get_project",
    "search",
    "refresh",
    "recent_changes",
    "problems",
    "get_settings",
    "set_setting",
    "reveal_project",
    "get_autostart",
    "set_autostart",
    "library",
    "where_is",
    "variant_diff",
    "project_cost",
    "findings",
    "project_usage",
    "unused",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step failed");
}
