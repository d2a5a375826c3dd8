//! What Claude Code really loads: every scope, memory, rules, output styles, `~/.claude.json`
//! (discovery, local and user MCP servers, approvals), and why an item is not loaded. Each
//! test builds real files in a temporary home and reads the answer back through the public
//! API from a real SQLite file; each names the documentation page its rule comes from.

mod common;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::refresh::{refresh_now, refresh_project_now};
use skillmeat_cache::{
    Artifact, ArtifactKind, ArtifactQuery, CacheManager, NotLoaded, Scope, SearchQuery,
};
use std::fs;

fn items(m: &CacheManager, p: &ProjectDir) -> Vec<Artifact> {
    m.get_project(&p.key()).expect("project cached").artifacts
}

fn item<'a>(list: &'a [Artifact], kind: ArtifactKind, name: &str) -> &'a Artifact {
    list.iter()
        .find(|a| a.kind == kind && a.name == name)
        .unwrap_or_else(|| panic!("no {kind} named {name} in {list:#?}"))
}

/// (loaded, reason, scope) of one item.
fn state(list: &[Artifact], kind: ArtifactKind, name: &str) -> (bool, Option<NotLoaded>, Scope) {
    let a = item(list, kind, name);
    (a.loaded, a.not_loaded, a.scope)
}

fn write_claude_json(env: &TestEnv, v: &serde_json::Value) {
    fs::write(env.home.join(".claude.json"), v.to_string()).unwrap();
}

#[test]
fn a_skill_nested_two_levels_deep_is_listed_as_not_loaded_with_the_folder_that_would_load_it() {
    // Source: code.claude.com/docs/en/skills (`.claude/skills/<skill-name>/SKILL.md`);
    // anthropics/claude-code#88400: `skills/group/child/SKILL.md` is silently not loaded.
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.skill("top", "top", "One level down");
    p.skill("group/child", "child", "Two levels down");
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Skill, "top"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Skill, "child"),
        (false, Some(NotLoaded::NestedSkill), Scope::Project)
    );
    let problems = m.problems(Some(&p.key())).unwrap();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].problem, "nested_skill");
    assert!(
        problems[0].detail.contains(".claude/skills/child"),
        "{}",
        problems[0].detail
    );
    assert_eq!(m.status().unwrap().problems, 1);
    let project = m.get_project(&p.key()).unwrap().project;
    assert_eq!(project.problems, 1);

    // Moving the loaded skill one folder deeper: it stops loading, and the refresh says so.
    fs::create_dir_all(p.path.join(".claude/skills/group2")).unwrap();
    fs::rename(
        p.path.join(".claude/skills/top"),
        p.path.join(".claude/skills/group2/top"),
    )
    .unwrap();
    let r = refresh_project_now(&m, &p.key(), true).unwrap();
    let stopped: Vec<(String, NotLoaded)> = r
        .changes
        .stopped_loading
        .iter()
        .map(|s| (s.name.clone(), s.reason))
        .collect();
    assert_eq!(stopped, vec![("top".to_string(), NotLoaded::NestedSkill)]);
    assert_eq!(m.status().unwrap().problems, 2);
}

#[test]
fn memory_files_have_their_scope_and_their_imports_and_a_dangling_import_is_a_problem() {
    // Source: code.claude.com/docs/en/memory: `./CLAUDE.md` or `./.claude/CLAUDE.md` (project),
    // `./CLAUDE.local.md` (local), `@path` imports relative to the importing file.
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.write("CLAUDE.md", "# Alpha\nSee @docs/style.md and @missing.md\n");
    p.write("docs/style.md", "Use tabs.\n");
    p.write(".claude/CLAUDE.md", "Team notes\n");
    p.write("CLAUDE.local.md", "My sandbox URL\n");
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Memory, "CLAUDE.md"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Memory, ".claude/CLAUDE.md"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Memory, "CLAUDE.local.md"),
        (true, None, Scope::Local)
    );
    let root = item(&list, ArtifactKind::Memory, "CLAUDE.md");
    assert_eq!(
        root.extra["imports"],
        serde_json::json!(["docs/style.md", "missing.md"])
    );
    assert_eq!(
        root.extra["dangling_imports"],
        serde_json::json!(["missing.md"])
    );
    let problems = m.problems(Some(&p.key())).unwrap();
    let codes: Vec<&str> = problems.iter().map(|p| p.problem.as_str()).collect();
    assert_eq!(codes, ["dangling_import"]);
    // Full-text search covers the new kinds.
    let hits = m
        .search(&SearchQuery {
            text: "sandbox".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.items[0].artifact.name, "CLAUDE.local.md");
}

#[test]
fn rules_with_paths_load_on_demand_and_output_styles_are_listed() {
    // Source: code.claude.com/docs/en/memory (`.claude/rules/**/*.md`, `paths:` frontmatter
    // loads a rule only when matching files are read); code.claude.com/docs/en/output-styles.
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.write(".claude/rules/always.md", "Always be kind.\n");
    p.write(
        ".claude/rules/frontend/react.md",
        "---\npaths:\n  - \"src/**/*.tsx\"\n---\nUse hooks.\n",
    );
    p.write(
        ".claude/output-styles/terse.md",
        "---\nname: Terse\ndescription: Short answers\n---\nBe brief.\n",
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Rule, "always"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Rule, "frontend/react"),
        (false, Some(NotLoaded::OnDemand), Scope::Project)
    );
    assert_eq!(
        item(&list, ArtifactKind::Rule, "frontend/react").extra["paths"],
        serde_json::json!(["src/**/*.tsx"])
    );
    assert_eq!(
        state(&list, ArtifactKind::OutputStyle, "Terse"),
        (true, None, Scope::Project)
    );
    // An on-demand rule is expected behaviour, not a problem.
    assert!(m.problems(Some(&p.key())).unwrap().is_empty());
    let counts = m.get_project(&p.key()).unwrap().project.counts;
    assert_eq!((counts.rule, counts.output_style), (2, 1));
}

#[test]
fn an_agent_without_a_description_is_not_loaded() {
    // Source: code.claude.com/docs/en/sub-agents: `name` and `description` are required.
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.agent("good", "good", "Reviews code");
    p.write(
        ".claude/agents/nodesc.md",
        "---\nname: nodesc\n---\nYou are nobody.\n",
    );
    p.write(
        ".claude/agents/noname.md",
        "---\ndescription: Anonymous\n---\nHi.\n",
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Agent, "good"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Agent, "nodesc").1,
        Some(NotLoaded::InvalidFrontmatter)
    );
    assert_eq!(
        state(&list, ArtifactKind::Agent, "noname").1,
        Some(NotLoaded::InvalidFrontmatter)
    );
}

#[test]
fn a_skill_wins_over_a_command_and_a_personal_skill_over_a_project_skill() {
    // Source: code.claude.com/docs/en/skills: "If a skill and a command share the same name,
    // the skill takes precedence"; personal (user) skills override project skills.
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.skill("deploy", "deploy", "Deploys");
    p.command("deploy", "Old deploy command");
    p.command("lint", "Lints");
    p.skill("review", "review", "Project reviewer");
    let user_skill = env.home.join(".claude/skills/review/SKILL.md");
    fs::create_dir_all(user_skill.parent().unwrap()).unwrap();
    fs::write(
        &user_skill,
        "---\nname: review\ndescription: Mine\n---\nx\n",
    )
    .unwrap();
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Command, "deploy").1,
        Some(NotLoaded::Shadowed)
    );
    assert_eq!(state(&list, ArtifactKind::Command, "lint").1, None);
    assert_eq!(state(&list, ArtifactKind::Skill, "deploy").1, None);
    assert_eq!(
        state(&list, ArtifactKind::Skill, "review").1,
        Some(NotLoaded::Shadowed)
    );

    // Removing the personal skill brings the project skill back: the user scope is part of
    // what decides a project's answer, so the project is rescanned.
    fs::remove_dir_all(user_skill.parent().unwrap()).unwrap();
    refresh_project_now(&m, &p.key(), true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Skill, "review"),
        (true, None, Scope::Project)
    );
}

#[test]
fn disable_all_hooks_turns_every_hook_off_and_each_handler_type_shows_its_target() {
    // Source: code.claude.com/docs/en/hooks (handler types command, http, prompt, agent,
    // mcp_tool); code.claude.com/docs/en/settings (`disableAllHooks`).
    let env = TestEnv::new();
    let p = env.project("alpha");
    let hooks = serde_json::json!({"hooks": {
    "PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "./check.sh"},
        {"type": "http", "url": "https://user:pw@hooks.example.com/in?token=abc"},
        {"type": "prompt", "prompt": "Is this safe?"},
        {"type": "mcp_tool", "server": "guard", "tool": "inspect"}
    ]}]}});
    p.write(".claude/settings.json", &hooks.to_string());
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let targets: Vec<(String, bool)> = items(&m, &p)
        .iter()
        .filter(|a| a.kind == ArtifactKind::Hook)
        .map(|a| (a.extra["target"].as_str().unwrap().to_string(), a.loaded))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("./check.sh".to_string(), true),
            ("https://hooks.example.com/in".to_string(), true),
            ("Is this safe?".to_string(), true),
            ("guard/inspect".to_string(), true),
        ]
    );
    p.write(
        ".claude/settings.local.json",
        r#"{"disableAllHooks": true}"#,
    );
    let r = refresh_project_now(&m, &p.key(), true).unwrap();
    // The refresh says which items stopped loading, and why (for a notification).
    let stopped: Vec<(ArtifactKind, NotLoaded)> = r
        .changes
        .stopped_loading
        .iter()
        .map(|s| (s.kind, s.reason))
        .collect();
    assert_eq!(
        stopped,
        vec![(ArtifactKind::Hook, NotLoaded::HooksDisabled); 4]
    );
    let list = items(&m, &p);
    let hooks: Vec<_> = list
        .iter()
        .filter(|a| a.kind == ArtifactKind::Hook)
        .collect();
    assert_eq!(hooks.len(), 4);
    assert!(
        hooks
            .iter()
            .all(|h| !h.loaded && h.not_loaded == Some(NotLoaded::HooksDisabled)),
        "{hooks:#?}"
    );
}

#[test]
fn mcp_servers_of_every_scope_with_approvals_and_local_over_project() {
    // Source: code.claude.com/docs/en/mcp: local scope (default of `claude mcp add`) in
    // ~/.claude.json under the project's path; user scope at its top level; project scope in
    // .mcp.json needs approval; "local-scoped servers take precedence, followed by project".
    // code.claude.com/docs/en/settings: enableAllProjectMcpServers, enabledMcpjsonServers,
    // disabledMcpjsonServers.
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    let p = env.project("alpha");
    p.mcp(&["approved", "pending", "rejected", "both", "off"]);
    p.write(
        ".claude/settings.json",
        r#"{"enabledMcpjsonServers": ["approved"], "disabledMcpjsonServers": ["rejected"]}"#,
    );
    write_claude_json(
        &env,
        &serde_json::json!({
            "mcpServers": {"everywhere": {"command": "uvx", "args": ["tool"]},
                "db": {"command": "user-db"}},
            "projects": {
                p.key(): {
                    "mcpServers": {"both": {"command": "mine"}, "db": {"command": "pg-mcp"}},
                    "enabledMcpjsonServers": ["off"],
                    "disabledMcpServers": ["off"],
                    "lastCost": 0.5
                }
            }
        }),
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    let mcp: Vec<(String, Scope, bool, Option<NotLoaded>)> = {
        let mut v: Vec<_> = list
            .iter()
            .filter(|a| a.kind == ArtifactKind::McpServer)
            .map(|a| (a.name.clone(), a.scope, a.loaded, a.not_loaded))
            .collect();
        v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        v
    };
    assert_eq!(
        mcp,
        vec![
            ("approved".into(), Scope::Project, true, None),
            ("both".into(), Scope::Local, true, None),
            (
                "both".into(),
                Scope::Project,
                false,
                Some(NotLoaded::Shadowed)
            ),
            ("db".into(), Scope::Local, true, None),
            // The user server of the same name, shadowed in this project.
            ("db".into(), Scope::User, false, Some(NotLoaded::Shadowed)),
            (
                "off".into(),
                Scope::Project,
                false,
                Some(NotLoaded::McpDisabled)
            ),
            (
                "pending".into(),
                Scope::Project,
                false,
                Some(NotLoaded::McpNotApproved)
            ),
            (
                "rejected".into(),
                Scope::Project,
                false,
                Some(NotLoaded::McpDisabled)
            ),
        ]
    );
    // The user-scope servers belong to the user scope (the home folder's row), loaded there.
    let home = fs::canonicalize(&env.home).unwrap().display().to_string();
    let user = m
        .list_artifacts(&ArtifactQuery {
            project: Some(home),
            scope: Some(Scope::User),
            kind: Some(ArtifactKind::McpServer),
            ..Default::default()
        })
        .unwrap();
    let names: Vec<(&str, bool)> = user
        .items
        .iter()
        .map(|a| (a.name.as_str(), a.loaded))
        .collect();
    assert_eq!(names, [("db", true), ("everywhere", true)]);
    // Filters: local scope only; not loaded only.
    let local = m
        .list_artifacts(&ArtifactQuery {
            project: Some(p.key()),
            scope: Some(Scope::Local),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(local.total, 2);
    let not_loaded = m
        .list_artifacts(&ArtifactQuery {
            project: Some(p.key()),
            loaded: Some(false),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(not_loaded.total, 5);
    let found = m
        .search(&SearchQuery {
            text: "pg".into(),
            scope: Some(Scope::Local),
            loaded: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.items[0].artifact.name, "db");
}

#[test]
fn projects_listed_in_claude_json_are_discovered_and_gone_folders_are_only_counted() {
    // Source: code.claude.com/docs/en/mcp and docs/claude-code-on-disk.md: the keys of
    // `projects` in ~/.claude.json are the folders the user ran Claude Code in; they are never
    // pruned. The home folder is the user scope, not a project.
    let env = TestEnv::new();
    let outside = env.base.join("elsewhere/deep/down/proj");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("CLAUDE.md"), "# Outside the roots\n").unwrap();
    let local_only = env.base.join("other/localonly");
    fs::create_dir_all(&local_only).unwrap();
    let bare = env.base.join("bare");
    fs::create_dir_all(&bare).unwrap();
    let gone = env.base.join("deleted/long/ago");
    write_claude_json(
        &env,
        &serde_json::json!({"projects": {
            outside.display().to_string(): {"lastCost": 1.0},
            local_only.display().to_string(): {"mcpServers": {"db": {"command": "pg"}}},
            bare.display().to_string(): {},
            gone.display().to_string(): {},
            env.home.display().to_string(): {},
        }}),
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let mut paths: Vec<String> = m
        .list_projects(&Default::default())
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.path)
        .collect();
    paths.sort();
    let mut want = vec![
        outside.display().to_string(),
        local_only.display().to_string(),
    ];
    want.sort();
    assert_eq!(paths, want);
    let st = m.status().unwrap();
    assert_eq!(st.claude_json_gone, 1);
    let lo = m.get_project(&local_only.display().to_string()).unwrap();
    assert_eq!(lo.project.status, skillmeat_cache::ProjectStatus::Fresh);
    assert_eq!(lo.artifacts.len(), 1);
    assert_eq!(lo.artifacts[0].scope, Scope::Local);
}

#[test]
fn a_half_written_claude_json_never_loses_a_project_or_its_local_servers() {
    // Source: anthropics/claude-code#2593 (~/.claude.json seen truncated mid-write);
    // docs/claude-code-on-disk.md: a parse failure is never "the user has no projects".
    let env = TestEnv::new();
    let outside = env.base.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let good = serde_json::json!({"projects": {
        outside.display().to_string(): {"mcpServers": {"db": {"command": "pg"}}}
    }})
    .to_string();
    let file = env.home.join(".claude.json");
    fs::write(&file, &good).unwrap();
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let key = outside.display().to_string();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (file, good, stop) = (file.clone(), good.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Truncate it part-way, then write it whole again, as a crash mid-write would.
                let cut = 1 + (i * 7) % (good.len() - 1);
                fs::write(&file, &good[..cut]).unwrap();
                fs::write(&file, &good).unwrap();
                i += 1;
            }
        })
    };
    for _ in 0..40 {
        m.invalidate(None, skillmeat_cache::InvalidationReason::Manual)
            .unwrap();
        refresh_now(&m, false).unwrap();
        let d = m.get_project(&key).expect("the project is never dropped");
        let names: Vec<&str> = d.artifacts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["db"], "the local server is kept");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    // A broken file, read by a new process (no reading in memory): the saved summary is used
    // and status says so.
    fs::write(&file, &good[..good.len() / 2]).unwrap();
    let m2 = env.open();
    m2.invalidate(None, skillmeat_cache::InvalidationReason::Manual)
        .unwrap();
    refresh_now(&m2, true).unwrap();
    let d = m2.get_project(&key).unwrap();
    assert_eq!(d.artifacts.len(), 1);
    let notes = m2.status().unwrap().notes;
    assert!(
        notes.iter().any(|n| n.contains("last good reading")),
        "{notes:?}"
    );
}

#[test]
fn no_secret_from_claude_json_or_mcp_json_reaches_the_database_file() {
    // Source: code.claude.com/docs/en/mcp (`env`, `headers` carry credentials);
    // docs/claude-code-on-disk.md (~/.claude.json holds OAuth account data and MCP secrets).
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    let p = env.project("alpha");
    p.write(
        ".mcp.json",
        r#"{"mcpServers": {"api": {"type": "http", "url": "https://x.example/mcp?key=SECRET-Q1",
            "headers": {"Authorization": "Bearer SECRET-H1"}, "env": {"API_KEY": "SECRET-E1"}}}}"#,
    );
    write_claude_json(
        &env,
        &serde_json::json!({
            "oauthAccount": {"emailAddress": "SECRET-MAIL@example.com", "accountUuid": "SECRET-UUID"},
            "primaryApiKey": "SECRET-APIKEY",
            "mcpServers": {"u": {"command": "u", "env": {"TOKEN": "SECRET-E2"}}},
            "projects": {p.key(): {
                "history": [{"display": "SECRET-PROMPT please fix"}],
                "mcpServers": {"l": {"type": "sse", "url": "https://bob:SECRET-PW@h.example/s",
                    "headers": {"X-Key": "SECRET-H2"}, "env": {"PGPASSWORD": "SECRET-E3"}}}
            }}
        }),
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let names: Vec<String> = items(&m, &p).iter().map(|a| a.name.clone()).collect();
    assert!(names.contains(&"l".to_string()) && names.contains(&"api".to_string()));
    let local = item(&items(&m, &p), ArtifactKind::McpServer, "l").clone();
    assert_eq!(local.extra["env_keys"], serde_json::json!(["PGPASSWORD"]));
    assert_eq!(local.extra["header_names"], serde_json::json!(["X-Key"]));
    drop(m);
    let mut bytes = fs::read(&env.db).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut f = env.db.clone().into_os_string();
        f.push(suffix);
        if let Ok(b) = fs::read(&f) {
            bytes.extend(b);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("PGPASSWORD"), "env key names are stored");
    assert!(
        !text.contains("SECRET"),
        "a secret value reached the database"
    );
}

#[test]
fn claude_config_dir_moves_claude_json_and_the_user_scope() {
    // Source: code.claude.com/docs/en/env-vars: CLAUDE_CONFIG_DIR moves Claude Code's
    // configuration folder.
    let mut env = TestEnv::new();
    let dir = env.base.join("cc-config");
    fs::create_dir_all(dir.join("skills/review")).unwrap();
    fs::write(
        dir.join("skills/review/SKILL.md"),
        "---\nname: review\n---\n",
    )
    .unwrap();
    let p = env.project("alpha");
    p.skill("review", "review", "Project reviewer");
    fs::write(
        dir.join(".claude.json"),
        serde_json::json!({"projects": {p.key(): {"mcpServers": {"db": {"command": "pg"}}}}})
            .to_string(),
    )
    .unwrap();
    // A ~/.claude.json that must NOT be read.
    write_claude_json(
        &env,
        &serde_json::json!({"projects": {p.key(): {"mcpServers": {"wrong": {"command": "x"}}}}}),
    );
    env.config.claude_config_dir = Some(dir);
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert!(list.iter().any(|a| a.name == "db"));
    assert!(!list.iter().any(|a| a.name == "wrong"));
    assert_eq!(
        state(&list, ArtifactKind::Skill, "review").1,
        Some(NotLoaded::Shadowed)
    );
}

#[test]
fn a_noise_write_to_claude_json_rescans_no_project_and_a_server_change_rescans_only_its_project() {
    // Source: docs/claude-code-on-disk.md: every session rewrites ~/.claude.json (`lastCost`,
    // `lastSessionId`); only `mcpServers` and approvals of a project decide what it loads.
    let env = TestEnv::new();
    let a = env.project("a");
    let b = env.project("b");
    let doc = |cost: f64, extra_server: bool| {
        let mut servers = serde_json::json!({"db": {"command": "pg"}});
        if extra_server {
            servers["cache"] = serde_json::json!({"command": "redis-mcp"});
        }
        serde_json::json!({"projects": {
            a.key(): {"mcpServers": servers, "lastCost": cost, "lastSessionId": format!("s{cost}")},
            b.key(): {"lastCost": cost}
        }})
    };
    write_claude_json(&env, &doc(0.1, false));
    let m = env.open();
    refresh_now(&m, true).unwrap();
    for i in 0..5 {
        write_claude_json(&env, &doc(1.0 + i as f64, false));
        let r = refresh_now(&m, true).unwrap();
        assert!(r.changed.is_empty(), "noise changed {:?}", r.changed);
    }
    write_claude_json(&env, &doc(9.0, true));
    let r = refresh_now(&m, true).unwrap();
    let changed: Vec<&str> = r.changed.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(changed, [a.key().as_str()]);
    assert!(items(&m, &a).iter().any(|x| x.name == "cache"));
    assert!(items(&m, &b).iter().all(|x| x.name != "cache"));
}

/// A plugin folder with one of each component, named `ns` in its manifest.
fn plugin_folder(dir: &std::path::Path, ns: &str) {
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    w(
        ".claude-plugin/plugin.json",
        &serde_json::json!({"name": ns, "version": "1.2.0", "description": format!("The {ns} plugin"),
            "commands": ["./extra-commands", "../../escape"]})
        .to_string(),
    );
    w(
        "skills/lint/SKILL.md",
        "---\nname: lint\ndescription: Lints\n---\n",
    );
    w("commands/fmt.md", "---\ndescription: Formats\n---\n");
    w("extra-commands/ship.md", "---\ndescription: Ships\n---\n");
    // A custom path that leads out of the plugin folder is not followed.
    w(
        "../../escape/evil.md",
        "---\ndescription: Outside the plugin\n---\n",
    );
    w(
        "agents/guard.md",
        "---\nname: guard\ndescription: Guards\n---\n",
    );
    w(
        "hooks/hooks.json",
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./done.sh"}]}]}}"#,
    );
    w(
        ".mcp.json",
        r#"{"mcpServers": {"search": {"command": "srch"}}}"#,
    );
}

#[test]
fn plugins_enabled_by_the_most_specific_settings_with_namespaced_components() {
    // Source: code.claude.com/docs/en/plugins and /plugins-reference (plugin folder layout,
    // `plugin.json` custom paths supplement the defaults, `<plugin>:<name>` namespacing,
    // MCP servers as `plugin:<plugin>:<server>`); code.claude.com/docs/en/settings
    // (`enabledPlugins`, local > project > user).
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    let claude = env.home.join(".claude");
    let cache = claude.join("plugins/cache/market");
    plugin_folder(&cache.join("alpha/1.2.0"), "alpha");
    plugin_folder(&cache.join("beta/2.0.0"), "beta");
    fs::write(
        claude.join("plugins/installed_plugins.json"),
        serde_json::json!({"version": 2, "plugins": {
            "alpha@market": [{"scope": "user", "installPath": cache.join("alpha/1.2.0"), "version": "1.2.0"}],
            "beta@market": {"installPath": cache.join("beta/2.0.0"), "version": "2.0.0"}
        }})
        .to_string(),
    )
    .unwrap();
    fs::write(
        claude.join("settings.json"),
        r#"{"enabledPlugins": {"alpha@market": true, "ghost@market": true}}"#,
    )
    .unwrap();
    let p = env.project("proj");
    p.write(
        ".claude/settings.json",
        r#"{"enabledPlugins": {"beta@market": true, "alpha@market": true}}"#,
    );
    p.write(
        ".claude/settings.local.json",
        r#"{"enabledPlugins": {"alpha@market": false}}"#,
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();

    let home = fs::canonicalize(&env.home).unwrap().display().to_string();
    let user = m.get_project(&home).unwrap().artifacts;
    let plugins: Vec<(String, bool, Option<NotLoaded>, Scope)> = user
        .iter()
        .filter(|a| a.kind == ArtifactKind::Plugin)
        .map(|a| (a.name.clone(), a.loaded, a.not_loaded, a.scope))
        .collect();
    assert_eq!(
        plugins,
        vec![
            ("alpha@market".into(), true, None, Scope::User),
            (
                "beta@market".into(),
                false,
                Some(NotLoaded::PluginDisabled),
                Scope::User
            ),
            (
                "ghost@market".into(),
                false,
                Some(NotLoaded::PluginNotInstalled),
                Scope::User
            ),
        ]
    );
    let mut alpha: Vec<(ArtifactKind, String, bool)> = user
        .iter()
        .filter(|a| a.plugin.as_deref() == Some("alpha@market") && a.kind != ArtifactKind::Plugin)
        .map(|a| {
            assert_eq!(a.scope, Scope::Plugin);
            (a.kind, a.name.clone(), a.loaded)
        })
        .collect();
    alpha.sort();
    assert_eq!(
        alpha,
        vec![
            (ArtifactKind::Skill, "alpha:lint".into(), true),
            (ArtifactKind::Agent, "alpha:guard".into(), true),
            (ArtifactKind::Command, "alpha:fmt".into(), true),
            (ArtifactKind::Command, "alpha:ship".into(), true),
            (ArtifactKind::Hook, "Stop".into(), true),
            (ArtifactKind::McpServer, "plugin:alpha:search".into(), true),
        ]
    );

    // In the project, the local settings turn alpha off and the project settings turn beta on.
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Plugin, "alpha@market"),
        (false, Some(NotLoaded::PluginDisabled), Scope::Local)
    );
    assert_eq!(
        state(&list, ArtifactKind::Plugin, "beta@market"),
        (true, None, Scope::Project)
    );
    assert_eq!(
        state(&list, ArtifactKind::Skill, "alpha:lint"),
        (false, Some(NotLoaded::PluginDisabled), Scope::Plugin)
    );
    assert_eq!(
        state(&list, ArtifactKind::Skill, "beta:lint"),
        (true, None, Scope::Plugin)
    );
    let problems: Vec<String> = m
        .problems(Some(&p.key()))
        .unwrap()
        .into_iter()
        .map(|p| p.artifact.name)
        .collect();
    assert!(
        problems.contains(&"alpha@market".to_string()),
        "{problems:?}"
    );
}

#[test]
fn managed_settings_win_and_managed_items_are_shown_with_the_user_scope() {
    // Source: code.claude.com/docs/en/settings (managed settings take precedence over user,
    // project and local settings; `disableAllHooks`); code.claude.com/docs/en/memory
    // (managed CLAUDE.md).
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    let managed = env.config.claude_managed_dir.clone();
    fs::create_dir_all(&managed).unwrap();
    fs::write(
        managed.join("managed-settings.json"),
        r#"{"disableAllHooks": true,
            "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "/opt/audit"}]}]}}"#,
    )
    .unwrap();
    fs::write(managed.join("CLAUDE.md"), "Company rules\n").unwrap();
    let p = env.project("alpha");
    p.hooks(&[("Stop", "notify-send done")]);
    p.write(
        ".claude/settings.local.json",
        r#"{"disableAllHooks": false}"#,
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Hook, "Stop"),
        (false, Some(NotLoaded::HooksDisabled), Scope::Project)
    );
    let home = fs::canonicalize(&env.home).unwrap().display().to_string();
    let user = m.get_project(&home).unwrap().artifacts;
    assert_eq!(
        state(&user, ArtifactKind::Memory, "managed CLAUDE.md"),
        (true, None, Scope::Managed)
    );
    assert_eq!(
        state(&user, ArtifactKind::Hook, "SessionStart"),
        (false, Some(NotLoaded::HooksDisabled), Scope::Managed)
    );
    // Turning the managed switch off brings the project's hook back.
    fs::write(managed.join("managed-settings.json"), "{}").unwrap();
    refresh_now(&m, true).unwrap();
    let list = items(&m, &p);
    assert_eq!(
        state(&list, ArtifactKind::Hook, "Stop"),
        (true, None, Scope::Project)
    );
}

#[test]
fn a_project_from_claude_json_removed_by_hand_stays_removed() {
    // Discovery is the union of the walk, ~/.claude.json and explicit adds, minus explicit
    // removes (the issue's rule; the docs are silent on a cache's choices).
    let env = TestEnv::new();
    // Only a CLAUDE.md: enough for ~/.claude.json discovery and for an explicit add.
    let outside = env.base.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("CLAUDE.md"), "# Outside\n").unwrap();
    write_claude_json(
        &env,
        &serde_json::json!({"projects": {outside.display().to_string(): {}}}),
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let key = outside.display().to_string();
    assert!(m.get_project(&key).is_ok());
    m.remove_project(&key).unwrap();
    refresh_now(&m, true).unwrap();
    assert!(m.get_project(&key).is_err(), "a removed project came back");
    m.add_project(&outside).unwrap();
    assert!(m.get_project(&key).is_ok());
}
