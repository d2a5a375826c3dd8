//! The shell's commands through Tauri's real IPC (mock runtime, no display), with the real
//! `tauri.conf.json` and capabilities: each command's happy path and errors, and commands
//! the capabilities do not grant are refused.

use serde_json::{Value, json};
use skillmeat_cache::CacheEvent;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::service::Service;
use skillmeat_cache::{CacheManager, Config};
use skillmeat_tray::{builder, state::AppState};
use std::path::Path;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

struct Fixture {
    tmp: tempfile::TempDir,
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
    // The real service, without a schedule or watching (they are tested elsewhere): the
    // commands' refreshes go through its job like the app's.
    cfg.enabled = false;
    let manager = CacheManager::open(cfg).unwrap();
    refresh_now(&manager, false).unwrap();
    let service = tauri::async_runtime::block_on(Service::start_with(manager)).unwrap();
    let app = builder(mock_builder())
        .manage(AppState::new(service))
        .build(tauri::generate_context!())
        .expect("the app builds with the real configuration");
    let dashboard = WebviewWindowBuilder::new(&app, "dashboard", Default::default())
        .build()
        .unwrap();
    Fixture {
        root: std::fs::canonicalize(&root).unwrap(),
        home,
        tmp,
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
    assert_eq!(s["job"]["running"], true);
    assert_eq!(
        s["watch"]["state"], "disabled",
        "cache-enabled = false in this test"
    );

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
fn refresh_one_and_all_through_the_job() {
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
    assert_eq!(all["considered"], 2);
    // Not forced and fresh: nothing is read.
    let fresh = ok(&f, "refresh", json!({"project": "beta"}));
    assert_eq!(fresh["refreshed"], false);
}

/// Makes every refresh write of the project at `path` fail, through a trigger created on the
/// database file by a connection of its own (the engine is not touched).
fn fail_writes_of(db: &Path, path: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c.execute_batch(&format!(
        "CREATE TRIGGER fail_refresh BEFORE UPDATE OF refreshed_at ON projects WHEN OLD.path = '{}'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        path.display()
    ))
    .unwrap();
}

fn stop_failing(db: &Path) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c.execute_batch("DROP TRIGGER IF EXISTS fail_refresh;")
        .unwrap();
}

#[test]
fn a_dashboard_refresh_is_retried_by_the_job() {
    // The dashboard's Refresh goes through the refresh job, so a transient failure is retried
    // with back-off instead of marking the project errored at once.
    let f = fixture();
    let db = f.tmp.path().join("cache.db");
    let alpha = f.root.join("alpha");
    let state = f.app.state::<AppState>();
    let mut events = state.manager().events().subscribe();
    fail_writes_of(&db, &alpha);
    let w = f.dashboard.clone();
    let call = std::thread::spawn(move || {
        invoke(&w, "refresh", json!({"project": "alpha", "force": true}))
    });
    // The first attempt fails; the job waits 500 ms before the second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match events.try_recv() {
            Ok(CacheEvent::RefreshFailed { attempt: 1, .. }) => break,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                assert!(std::time::Instant::now() < deadline, "no failed attempt");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => panic!("events: {e}"),
        }
    }
    stop_failing(&db);
    let r = call.join().unwrap().expect("the retry succeeds");
    assert_eq!(r["scope"], "one");
    assert_eq!(r["status"], "fresh");
    let detail = ok(&f, "get_project", json!({"project": "alpha"}));
    assert_eq!(detail["status"], "fresh");
    assert!(detail["error"].is_null(), "{}", detail["error"]);
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
    // Numbers are range-checked: the file keeps the last good value.
    assert_eq!(
        err_code(
            &f,
            "set_setting",
            json!({"key": "cache-ttl", "value": "18446744073709551615"})
        ),
        "invalid_input"
    );
    let file = std::fs::read_to_string(f.home.join(".skillmeat/config.toml")).unwrap();
    assert!(file.contains("cache-ttl = 42"), "{file}");
    // Roots from the dashboard: existing absolute folders, never `/`.
    for bad in ["/", "relative/dir", "/definitely/not/here", "/tmp:/"] {
        assert_eq!(
            err_code(&f, "set_setting", json!({"key": "roots", "value": bad})),
            "invalid_input",
            "{bad}"
        );
    }
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
        err_code(&f, "refresh", json!({"project": "nope"})),
        "not_found"
    );
    assert_eq!(
        err_code(
            &f,
            "search",
            json!({"query": "pdf", "skip": 18446744073709551615u64})
        ),
        "invalid_input"
    );
    assert_eq!(
        err_code(&f, "recent_changes", json!({"limit": 0})),
        "invalid_input"
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
    assert!(
        refused.to_string().contains("status not allowed"),
        "{refused}"
    );
    // A plugin command the dashboard was not granted.
    let refused = invoke(
        &f.dashboard,
        "plugin:notification|notify",
        json!({"options": {"title": "x"}}),
    )
    .expect_err("notifications are not the webview's to send");
    assert!(
        refused
            .to_string()
            .contains("notification.notify not allowed"),
        "{refused}"
    );
    // A core command outside the grant.
    let refused = invoke(&f.dashboard, "plugin:window|close", json!({})).unwrap_err();
    assert!(
        refused.to_string().contains("window.close not allowed"),
        "{refused}"
    );
    // Destructive cache operations are not the webview's at all (the tray and the CLI have
    // them): the dashboard cannot clear, remove, add or invalidate.
    for cmd in [
        "clear_cache",
        "remove_project",
        "add_project",
        "invalidate",
        "list_artifacts",
        "outdated_artifacts",
        "set_watching",
    ] {
        let refused = invoke(
            &f.dashboard,
            cmd,
            json!({"project": "alpha", "path": "/tmp"}),
        )
        .expect_err(cmd);
        assert!(
            refused.to_string().contains(&format!("{cmd} not allowed")),
            "{cmd}: {refused}"
        );
    }
    assert_eq!(
        ok(&f, "list_projects", json!({}))["total"],
        2,
        "nothing removed"
    );
    // And the granted ones still work from the dashboard.
    assert!(invoke(&f.dashboard, "status", json!({})).is_ok());
}

#[test]
fn problems_name_what_will_not_load_and_why() {
    // Source: anthropics/claude-code#88400 and code.claude.com/docs/en/skills: a skill two
    // levels below skills/ is not loaded.
    let f = fixture();
    assert_eq!(ok(&f, "problems", json!({})), json!([]));
    write(
        &f.root.join("alpha/.claude/skills/group/deep/SKILL.md"),
        "---\nname: deep\ndescription: too deep to load\n---\n",
    );
    ok(&f, "refresh", json!({"project": "alpha", "force": true}));
    let list = ok(&f, "problems", json!({}));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["problem"], "nested_skill");
    assert_eq!(list[0]["project_name"], "alpha");
    assert_eq!(list[0]["loaded"], false);
    assert!(
        list[0]["detail"]
            .as_str()
            .unwrap()
            .contains("will not load"),
        "{}",
        list[0]["detail"]
    );
    assert_eq!(ok(&f, "problems", json!({"project": "beta"})), json!([]));
    assert_eq!(ok(&f, "status", json!({}))["cache"]["problems"], 1);
    assert_eq!(
        err_code(&f, "problems", json!({"limit": 0})),
        "invalid_input"
    );
}

#[test]
fn library_where_diff_cost_findings_and_usage_for_the_dashboard() {
    let f = fixture();
    // Both projects have the same `reviewer` agent and `git:commit` command: one variant each.
    let lib = ok(&f, "library", json!({"sort": "name"}));
    let row = |lib: &Value, name: &str| -> Value {
        lib["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in the library: {lib}"))
    };
    let reviewer = row(&lib, "reviewer");
    assert_eq!(
        (reviewer["copies"].as_u64(), reviewer["variants"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(reviewer["kind"], "agent");
    assert_eq!(
        lib["total"], 4,
        "pdf-alpha, pdf-beta, reviewer, git:commit: {lib}"
    );
    assert_eq!(
        err_code(&f, "library", json!({"sort": "size"})),
        "invalid_input"
    );

    // beta's reviewer is edited: two variants, a drift finding, and the diff of the two.
    write(
        &f.root.join("beta/.claude/agents/reviewer.md"),
        "---\nname: reviewer\ndescription: Reviews code harshly\n---\n",
    );
    ok(&f, "refresh", json!({"project": "beta", "force": true}));
    let drifted = ok(&f, "library", json!({"drifted": true}));
    assert_eq!(drifted["total"], 1);
    assert_eq!(drifted["items"][0]["name"], "reviewer");
    let w = ok(&f, "where_is", json!({"name": "reviewer", "kind": "agent"}));
    let variants = w[0]["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let aid = |v: &Value| v["copies"][0]["aid"].as_i64().unwrap();
    let project_of = |v: &Value| v["copies"][0]["project_name"].as_str().unwrap().to_string();
    let (alpha_v, beta_v) = if project_of(&variants[0]) == "alpha" {
        (&variants[0], &variants[1])
    } else {
        (&variants[1], &variants[0])
    };
    let diff = ok(
        &f,
        "variant_diff",
        json!({"a": aid(alpha_v), "b": aid(beta_v)}),
    );
    let diff = diff.as_str().unwrap();
    assert!(diff.contains("-description: Reviews code\n"), "{diff}");
    assert!(
        diff.contains("+description: Reviews code harshly\n"),
        "{diff}"
    );
    // Ids the cache never gave out are refused; nothing is read.
    assert_eq!(
        err_code(&f, "variant_diff", json!({"a": 999_999, "b": aid(beta_v)})),
        "not_found"
    );
    let findings = ok(&f, "findings", json!({}));
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "drift" && x["name"] == "reviewer"),
        "{findings}"
    );

    // Context cost, by hand: each item costs its listing line "- name: description\n",
    // ceil(bytes / 4) tokens (code.claude.com/docs/en/skills lists skills by name and
    // description): "- pdf-alpha: Reads PDF invoices\n" 31 bytes → 8, "- reviewer: Reviews
    // code\n" 25 → 7, "- git:commit: Commit the work\n" 30 → 8.
    let cost = ok(&f, "project_cost", json!({"project": "alpha"}));
    assert_eq!(cost["total_tokens"], 8 + 7 + 8, "{cost}");
    assert_eq!(cost["items"].as_array().unwrap().len(), 3);
    let listed = ok(&f, "list_projects", json!({}));
    assert_eq!(listed["items"][0]["context_tokens"], 23);

    // Usage: no transcripts here, so every item is unused and never used.
    let usage = ok(&f, "project_usage", json!({"project": "alpha"}));
    let usage = usage.as_array().unwrap();
    assert_eq!(usage.len(), 3);
    assert!(
        usage
            .iter()
            .all(|u| u["last_used"].is_null() && u["uses_90d"] == 0)
    );
    let unused = ok(
        &f,
        "unused",
        json!({"days": 30, "sort": "tokens", "limit": 2}),
    );
    assert_eq!(unused["total"], 6);
    assert_eq!(unused["items"].as_array().unwrap().len(), 2);
    assert!(
        unused["items"][0]["context_tokens"].as_u64()
            >= unused["items"][1]["context_tokens"].as_u64()
    );
    assert_eq!(err_code(&f, "unused", json!({"days": 0})), "invalid_input");

    // The dashboard may turn usage indexing off (a privacy switch); it is written and applied.
    let s = ok(
        &f,
        "set_setting",
        json!({"key": "usage-index", "value": "false"}),
    );
    assert_eq!(s["usage_index"], false);
    let file = std::fs::read_to_string(f.home.join(".skillmeat/config.toml")).unwrap();
    assert!(file.contains("usage-index = false"), "{file}");
}
