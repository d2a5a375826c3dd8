//! The shell's commands through Tauri's real IPC (mock runtime, no display), with the real
//! `tauri.conf.json` and capabilities: each command's happy path and errors, and commands
//! the capabilities do not grant are refused.

use serde_json::{Value, json};
use skillmeat_cache::{CacheManager, Config};
use skillmeat_tray::{builder, state::AppState};
use std::path::Path;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    home: std::path::PathBuf,
    app: App<MockRuntime>,
    dashboard: WebviewWindow<MockRuntime>,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn project(root: &Path, name: &str, skill_desc: &str) -> std::path::PathBuf {
    let p = root.join(name);
    write(
        &p.join(".claude/skills/pdf/SKILL.md"),
        &format!("---\nname: pdf-{name}\ndescription: {skill_desc}\n---\nbody\n"),
    );
    write(
        &p.join(".claude/agents/reviewer.md"),
        "---\nname: reviewer\ndescription: Reviews code\n---\n",
    );
    write(
        &p.join(".claude/commands/git/commit.md"),
        "Commit the work\n",
    );
    p
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let root = tmp.path().join("projects");
    std::fs::create_dir_all(&home).unwrap();
    project(&root, "alpha", "Reads PDF invoices");
    project(&root, "beta", "Summarises papers");
    let mut cfg = Config::defaults_for_home(&home);
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    let manager = CacheManager::open(cfg).unwrap();
    manager.refresh_all(false).unwrap();
    let app = builder(mock_builder())
        .manage(AppState::new(manager))
        .build(tauri::generate_context!())
        .expect("the app builds with the real configuration");
    let dashboard = WebviewWindowBuilder::new(&app, "dashboard", Default::default())
        .build()
        .unwrap();
    Fixture {
        root: std::fs::canonicalize(&root).unwrap(),
        home,
        _tmp: tmp,
        app,
        dashboard,
    }
}

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

fn ok(f: &Fixture, cmd: &str, args: Value) -> Value {
    invoke(&f.dashboard, cmd, args.clone()).unwrap_or_else(|e| panic!("{cmd}({args}) failed: {e}"))
}

fn err_code(f: &Fixture, cmd: &str, args: Value) -> String {
    let e =
        invoke(&f.dashboard, cmd, args.clone()).expect_err(&format!("{cmd}({args}) should fail"));
    e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{cmd}: untyped error {e}"))
        .to_string()
}

#[test]
fn reads_answer_from_the_cache() {
    let f = fixture();
    let s = ok(&f, "status", json!({}));
    assert_eq!(s["cache"]["projects"], 2);
    assert_eq!(s["cache"]["artifacts"], 6);
    assert!(s["job"].is_null(), "no service in this test");

    let list = ok(&f, "list_projects", json!({}));
    assert_eq!(list["total"], 2);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    let fresh = ok(&f, "list_projects", json!({"status": "fresh", "limit": 1}));
    assert_eq!(
        (
            fresh["total"].as_u64(),
            fresh["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );

    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let detail = ok(&f, "get_project", json!({"project": id}));
    assert_eq!(detail["name"], "alpha");
    assert_eq!(detail["artifacts"].as_array().unwrap().len(), 3);
    let by_path = ok(
        &f,
        "get_project",
        json!({"project": f.root.join("beta").display().to_string()}),
    );
    assert_eq!(by_path["name"], "beta");

    let skills = ok(&f, "list_artifacts", json!({"kind": "skill"}));
    assert_eq!(skills["total"], 2);
    let outdated = ok(
        &f,
        "outdated_artifacts",
        json!({"sort": "project", "desc": true}),
    );
    assert_eq!(outdated["total"], 0);

    let hits = ok(&f, "search", json!({"query": "invoices"}));
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["items"][0]["name"], "pdf-alpha");
    assert_eq!(hits["items"][0]["project_name"], "alpha");

    let changes = ok(&f, "recent_changes", json!({"limit": 10}));
    assert_eq!(changes.as_array().unwrap().len(), 2, "two new projects");

    let settings = ok(&f, "get_settings", json!({}));
    assert_eq!(settings["cache_ttl"], 360);
    assert_eq!(settings["notifications"], true);
}

#[test]
fn writes_refresh_invalidate_clear_add_remove() {
    let f = fixture();
    write(
        &f.root.join("alpha/.claude/agents/new.md"),
        "---\nname: newcomer\ndescription: Arrived late\n---\n",
    );
    let one = ok(&f, "refresh", json!({"project": "alpha", "force": true}));
    assert_eq!(one["scope"], "one");
    assert_eq!(one["changes"]["added"][0]["name"], "newcomer");
    let all = ok(&f, "refresh", json!({"force": true}));
    assert_eq!(all["scope"], "all");
    assert_eq!(all["refreshed"], 2);

    assert_eq!(ok(&f, "invalidate", json!({"project": "beta"})), 1);
    assert_eq!(ok(&f, "invalidate", json!({})), 2);
    let stale = ok(&f, "list_projects", json!({"status": "stale"}));
    assert_eq!(stale["total"], 2);

    let outside = f.home.join("elsewhere");
    project(&outside, "gamma", "Plots charts");
    let added = ok(
        &f,
        "add_project",
        json!({"path": outside.join("gamma").display().to_string()}),
    );
    assert_eq!(added["name"], "gamma");
    assert_eq!(ok(&f, "list_projects", json!({}))["total"], 3);
    ok(&f, "remove_project", json!({"project": "gamma"}));
    assert_eq!(ok(&f, "list_projects", json!({}))["total"], 2);

    assert_eq!(ok(&f, "clear_cache", json!({})), 2);
    // Repopulating runs in the background: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if ok(&f, "status", json!({}))["cache"]["projects"] == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "clear did not repopulate"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn settings_are_validated_written_and_applied() {
    let f = fixture();
    let s = ok(
        &f,
        "set_setting",
        json!({"key": "cache-ttl", "value": "42"}),
    );
    assert_eq!(s["cache_ttl"], 42);
    let file = std::fs::read_to_string(f.home.join(".skillmeat/config.toml")).unwrap();
    assert!(file.contains("cache-ttl = 42"), "{file}");
    assert_eq!(ok(&f, "get_settings", json!({}))["cache_ttl"], 42);
    assert_eq!(
        err_code(
            &f,
            "set_setting",
            json!({"key": "cache-ttl", "value": "soon"})
        ),
        "invalid_input"
    );
    // Only a few settings are the dashboard's to change; the database path is not one.
    assert_eq!(
        err_code(
            &f,
            "set_setting",
            json!({"key": "cache-path", "value": "/tmp/x.db"})
        ),
        "invalid_input"
    );
}

#[test]
fn errors_are_typed_and_readable() {
    let f = fixture();
    assert_eq!(
        err_code(&f, "get_project", json!({"project": "nope"})),
        "not_found"
    );
    assert_eq!(
        err_code(&f, "search", json!({"query": "  "})),
        "invalid_input"
    );
    assert_eq!(
        err_code(&f, "list_projects", json!({"status": "odd"})),
        "invalid_input"
    );
    assert_eq!(
        err_code(&f, "list_artifacts", json!({"kind": "widget"})),
        "invalid_input"
    );
    assert_eq!(
        err_code(&f, "outdated_artifacts", json!({"sort": "size"})),
        "invalid_input"
    );
    assert_eq!(
        err_code(&f, "refresh", json!({"project": "nope"})),
        "not_found"
    );
    assert_eq!(
        err_code(
            &f,
            "add_project",
            json!({"path": f.home.display().to_string()})
        ),
        "invalid_input",
        "a folder without .claude is not a project"
    );
    assert_eq!(
        err_code(&f, "set_watching", json!({"paused": true})),
        "unavailable"
    );
    let e = invoke(&f.dashboard, "get_project", json!({"project": "nope"})).unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("not found"), "{e}");
}

#[test]
fn reveal_accepts_only_cached_projects() {
    let f = fixture();
    // A path that exists but is not a cached project is refused before anything runs.
    assert_eq!(
        err_code(&f, "reveal_project", json!({"project": "/etc"})),
        "not_found"
    );
    assert_eq!(
        err_code(
            &f,
            "reveal_project",
            json!({"project": f.root.join("alpha/.claude").display().to_string()})
        ),
        "not_found"
    );
}

#[test]
fn what_the_capability_does_not_grant_is_refused() {
    let f = fixture();
    // Our commands, from a window the capability does not name.
    let other = WebviewWindowBuilder::new(&f.app, "other", Default::default())
        .build()
        .unwrap();
    let refused = invoke(&other, "status", json!({})).expect_err("not granted to 'other'");
    assert!(refused.to_string().contains("not allowed"), "{refused}");
    // A plugin command the dashboard was not granted.
    let refused = invoke(
        &f.dashboard,
        "plugin:notification|notify",
        json!({"options": {"title": "x"}}),
    )
    .expect_err("notifications are not the webview's to send");
    assert!(refused.to_string().contains("not"), "{refused}");
    // A core command outside the grant.
    assert!(invoke(&f.dashboard, "plugin:window|close", json!({})).is_err());
    // And the granted ones still work from the dashboard.
    assert!(invoke(&f.dashboard, "status", json!({})).is_ok());
}
