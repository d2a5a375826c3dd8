//! Integration tests of the file watcher (`FileWatcher`, and `Service` which wires it to the
//! refresh job) and of `skillmeat-cache watch` running as a separate process.
//!
//! Real project folders in temporary directories, a real SQLite file, the real inotify-backed
//! watcher. Every check waits for the cache to show the new state, with a deadline; fixed
//! sleeps are only used to pace writes where the scenario itself is about timing.

mod common;
mod watch_support;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::refresh::{RefreshJob, refresh_now};
use skillmeat_cache::service::Service;
use skillmeat_cache::watch::{FileWatcher, PathMeaning};
use skillmeat_cache::{
    ArtifactKind, ArtifactQuery, CacheEvent, CacheManager, InvalidationReason, ProjectStatus,
};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};
// `skillmeat-cache watch` in its own process (Unix only).
#[cfg(unix)]
use serde_json::Value;
#[cfg(unix)]
use std::io::{BufRead, BufReader, Read};
#[cfg(unix)]
use std::path::Path;
#[cfg(unix)]
use std::process::{Child, Command, Stdio};
#[cfg(unix)]
use std::sync::{Arc, Mutex};
use watch_support::{
    DEADLINE, EventLog, Rig, blocking, is_changed_of, is_progress_of, job_opts, names, project,
    skill_desc, skill_md, status_of, wait_until, watch_opts,
};

#[cfg(unix)]
const BIN: &str = env!("CARGO_BIN_EXE_skillmeat-cache");

/// A project `<root>/<name>` with a skill `pdf` (description `desc`) and an agent `a1`.
fn standard_project(env: &TestEnv, name: &str, desc: &str) -> ProjectDir {
    let p = env.project(name);
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", desc, "1.0.0"),
    );
    p.agent("a1", "a1", "First agent");
    p
}

/// A project folder at `path` (anywhere) with a skill `pdf` (description `desc`).
fn project_at(path: PathBuf, desc: &str) -> ProjectDir {
    let p = ProjectDir { path };
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", desc, "1.0.0"),
    );
    p
}

fn set_desc(p: &ProjectDir, desc: &str) {
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", desc, "1.0.0"),
    );
}

async fn wait_desc(m: &CacheManager, p: &ProjectDir, skill: &str, want: &str) -> Duration {
    wait_until(
        DEADLINE,
        &format!("{} to show skill {skill} = {want:?}", p.key()),
        || skill_desc(m, &p.key(), skill).as_deref() == Some(want),
    )
    .await
}

/// Artifact paths of a project of `kind`, sorted.
fn paths(m: &CacheManager, key: &str, kind: ArtifactKind) -> Vec<String> {
    let mut v: Vec<String> = m
        .list_artifacts(&ArtifactQuery {
            project: Some(key.to_string()),
            kind: Some(kind),
            ..Default::default()
        })
        .map(|p| p.items.into_iter().map(|a| a.path).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn project_id(m: &CacheManager, p: &ProjectDir) -> String {
    project(m, &p.key()).id
}

fn is_project(meaning: &PathMeaning) -> bool {
    matches!(meaning, PathMeaning::Project { .. })
}

// ---------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_stop_twice_restart_and_a_missing_root_is_reported_not_fatal() {
    let mut env = TestEnv::new();
    let missing_root = env.base.join("no-such-root");
    env.config.roots.push(missing_root.clone());
    let a = standard_project(&env, "alpha", "v1");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    let w = FileWatcher::new(m.clone(), job.clone(), watch_opts(&env.config));
    let stopped =
        |e: &CacheEvent| matches!(e, CacheEvent::WatchStatus { state, .. } if state == "stopped");

    assert_eq!(w.status().state, "stopped");
    blocking(|| w.stop()); // stopping a watcher that never started is harmless
    assert_eq!(w.status().state, "stopped");

    blocking(|| w.start()).expect("a missing root is not fatal");
    let st = w.status();
    assert_eq!(st.state, "watching");
    assert_eq!(st.projects_watched, 1);
    assert_eq!(st.problems.len(), 1, "{:?}", st.problems);
    assert!(
        st.problems[0].contains(&missing_root.display().to_string())
            && st.problems[0].contains("does not exist"),
        "{:?}",
        st.problems
    );
    let watches = st.watches;
    assert!(
        watches >= 3,
        "project folder, .claude and the root: {watches}"
    );

    blocking(|| w.start()).expect("starting twice is a no-op");
    let st = w.status();
    assert_eq!(
        (
            st.state.as_str(),
            st.projects_watched,
            st.watches,
            st.problems.len()
        ),
        ("watching", 1, watches, 1)
    );

    // It really watches.
    set_desc(&a, "v2");
    wait_desc(&m, &a, "pdf", "v2").await;

    blocking(|| w.stop());
    assert_eq!(w.status().state, "stopped");
    log.wait_for(0, "a stopped status", stopped).await;
    blocking(|| w.stop());
    assert_eq!(w.status().state, "stopped");
    assert_eq!(log.count_since(0, stopped), 1, "stopping twice is harmless");

    // Restart after stop.
    blocking(|| w.start()).expect("restart");
    assert_eq!(w.status().state, "watching");
    assert_eq!(w.status().projects_watched, 1);
    set_desc(&a, "v3");
    wait_desc(&m, &a, "pdf", "v3").await;
    blocking(|| w.stop());
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_added_and_removed_while_running_are_watched_and_unwatched() {
    let env = TestEnv::new();
    let a = standard_project(&env, "alpha", "v1");
    let outside = project_at(env.base.join("elsewhere").join("outside"), "o1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let (m, w) = (&rig.m, &rig.w);
    assert_eq!(w.status().projects_watched, 1);
    let skill_file = outside.path.join(".claude/skills/pdf/SKILL.md");
    assert_eq!(w.classify(&skill_file), PathMeaning::Ignored);

    blocking(|| m.add_project(&outside.path)).unwrap();
    w.sync_projects().unwrap();
    assert_eq!(w.status().projects_watched, 2);
    assert_eq!(
        w.classify(&skill_file),
        PathMeaning::Project {
            id: project_id(m, &outside),
            rewatch: false
        }
    );
    set_desc(&outside, "o2");
    wait_desc(m, &outside, "pdf", "o2").await;

    m.remove_project(&a.key()).unwrap();
    w.sync_projects().unwrap();
    assert_eq!(w.status().projects_watched, 1);
    let a_file = a.path.join(".claude/skills/pdf/SKILL.md");
    assert!(
        !is_project(&w.classify(&a_file)),
        "{:?}",
        w.classify(&a_file)
    );
    // A write in the removed project does not bring it back; the other project still works.
    set_desc(&a, "v2");
    set_desc(&outside, "o3");
    wait_desc(m, &outside, "pdf", "o3").await;
    assert!(rig.job.wait_idle(DEADLINE).await);
    assert!(m.get_project(&a.key()).unwrap_err().is_not_found());
    rig.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Relevance
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_maps_relevant_paths_to_their_project_and_ignores_noise() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let in_build = project_at(env.base.join("work/build/inbuild"), "b1");
    let in_dist = project_at(env.base.join("work/dist/indist"), "d1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let (m, w) = (&rig.m, &rig.w);
    for q in [&in_build, &in_dist] {
        blocking(|| m.add_project(&q.path)).unwrap();
    }
    w.sync_projects().unwrap();
    let id = project_id(m, &p);
    let relevant = |id: &str| PathMeaning::Project {
        id: id.to_string(),
        rewatch: false,
    };

    for rel in [
        ".claude/skills/pdf/SKILL.md",
        ".claude/skills/pdf/scripts/run.py",
        ".claude/agents/a1.md",
        ".claude/commands/git/commit.md",
        ".claude/.skillmeat-deployed.toml",
        ".claude/.skillmeat-project.toml",
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".mcp.json",
        "CLAUDE.md",
    ] {
        assert_eq!(w.classify(&p.path.join(rel)), relevant(&id), "{rel}");
    }
    // The project folder and its profile root themselves: relevant, and watches are rebuilt.
    for rel in ["", ".claude"] {
        let path = if rel.is_empty() {
            p.path.clone()
        } else {
            p.path.join(rel)
        };
        assert_eq!(
            w.classify(&path),
            PathMeaning::Project {
                id: id.clone(),
                rewatch: true
            },
            "{rel:?}"
        );
    }
    for rel in [
        ".claude/agents/a1.md~",
        ".claude/agents/.a1.md.swp",
        ".claude/skills/pdf/SKILL.md.tmp",
        ".claude/x.tmp",
        ".claude/.git/HEAD",
        ".claude/.git/objects/ab/cdef",
        ".claude/node_modules/pkg/index.js",
        ".claude/skills/pdf/node_modules/pkg/index.js",
        ".claude/hooks/__pycache__/h.cpython-312.pyc",
        "README.md",
        "package.json",
        "src/main.rs",
    ] {
        assert_eq!(w.classify(&p.path.join(rel)), PathMeaning::Ignored, "{rel}");
    }
    // Outside every project: never a project (no global invalidation).
    for path in [
        env.base.join("elsewhere/file.md"),
        env.root.join("not-a-project/notes.txt"),
        env.root.join("alphabet/.claude/skills/x/SKILL.md"),
        env.base.join("work/build/other/.claude/skills/x/SKILL.md"),
    ] {
        assert!(!is_project(&w.classify(&path)), "{}", path.display());
    }
    // Projects below folders named `build` and `dist` are projects like any other.
    for q in [&in_build, &in_dist] {
        assert_eq!(
            w.classify(&q.path.join(".claude/skills/pdf/SKILL.md")),
            relevant(&project_id(m, q)),
            "{}",
            q.key()
        );
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noise_folders_created_inside_claude_are_ignored_themselves() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    // `git init`, `npm install` or Python creating these folders is not a change of the project.
    for rel in [
        ".claude/.git",
        ".claude/node_modules",
        ".claude/hooks/__pycache__",
    ] {
        assert_eq!(
            rig.w.classify(&p.path.join(rel)),
            PathMeaning::Ignored,
            "{rel}"
        );
    }
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_or_command_folder_named_build_or_dist_is_watched() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.write(
        ".claude/skills/build/SKILL.md",
        &skill_md("build", "b1", "1.0.0"),
    );
    p.command("dist/publish", "Publish v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    assert_eq!(names(m, &p.key(), ArtifactKind::Skill), strings(&["build"]));
    assert_eq!(
        names(m, &p.key(), ArtifactKind::Command),
        strings(&["dist:publish"])
    );
    let id = project_id(m, &p);
    for rel in [
        ".claude/skills/build/SKILL.md",
        ".claude/commands/dist/publish.md",
    ] {
        assert_eq!(
            rig.w.classify(&p.path.join(rel)),
            PathMeaning::Project {
                id: id.clone(),
                rewatch: false
            },
            "{rel}: the scanner caches it, so the watcher must see its changes"
        );
    }
    p.write(
        ".claude/skills/build/SKILL.md",
        &skill_md("build", "b2", "1.0.0"),
    );
    wait_desc(m, &p, "build", "b2").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_under_a_build_or_dist_folder_is_watched_and_refreshed() {
    let env = TestEnv::new();
    standard_project(&env, "alpha", "v1");
    let in_build = project_at(env.base.join("work/build/inbuild"), "b1");
    let in_dist = project_at(env.root.join("dist/indist"), "d1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    for q in [&in_build, &in_dist] {
        blocking(|| rig.m.add_project(&q.path)).unwrap();
    }
    rig.w.sync_projects().unwrap();
    assert_eq!(rig.w.status().projects_watched, 3);
    set_desc(&in_build, "b2");
    set_desc(&in_dist, "d2");
    wait_desc(&rig.m, &in_build, "pdf", "b2").await;
    wait_desc(&rig.m, &in_dist, "pdf", "d2").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_writes_cause_no_refresh() {
    let env = TestEnv::new();
    let noisy = standard_project(&env, "alpha", "v1");
    let sentinel = standard_project(&env, "beta", "s1");
    for dir in [
        ".claude/.git",
        ".claude/node_modules/pkg",
        ".claude/hooks/__pycache__",
    ] {
        fs::create_dir_all(noisy.path.join(dir)).unwrap();
    }
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let mark = rig.log.mark();
    for rel in [
        ".claude/agents/a1.md~",
        ".claude/agents/.a1.md.swp",
        ".claude/x.tmp",
        ".claude/.git/HEAD",
        ".claude/node_modules/pkg/index.js",
        ".claude/hooks/__pycache__/h.cpython-312.pyc",
        "README.md",
        "src/main.rs",
    ] {
        noisy.write(rel, "noise\n");
    }
    // Events are handled in order: once the sentinel's later write is in the cache, the noise
    // has been seen too.
    set_desc(&sentinel, "s2");
    wait_desc(&rig.m, &sentinel, "pdf", "s2").await;
    assert!(rig.job.wait_idle(DEADLINE).await);
    assert_eq!(
        rig.log
            .count_since(mark, |e| is_progress_of(e, &noisy.key())),
        0,
        "{:#?}",
        rig.log.since(mark)
    );
    assert_eq!(
        rig.log
            .count_since(mark, |e| is_progress_of(e, &sentinel.key())),
        1
    );
    assert!(rig.w.status().batches >= 1);
    rig.stop().await;
}

// ---------------------------------------------------------------------------------------------
// File operations
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_files_and_folders_are_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    p.agent("a2", "a2", "Second agent");
    wait_until(DEADLINE, "the new agent", || {
        names(m, &p.key(), ArtifactKind::Agent) == strings(&["a1", "a2"])
    })
    .await;
    // A new skill folder (its watch is added while it is being filled).
    p.write(
        ".claude/skills/fresh/SKILL.md",
        &skill_md("fresh", "new", "1.0.0"),
    );
    wait_desc(m, &p, "fresh", "new").await;
    // A new artifact folder that did not exist at start.
    p.command("git/commit", "Commit");
    wait_until(DEADLINE, "the new command", || {
        names(m, &p.key(), ArtifactKind::Command) == strings(&["git:commit"])
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_file_is_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    set_desc(&p, "v2");
    wait_desc(&rig.m, &p, "pdf", "v2").await;
    p.agent("a1", "a1", "Changed agent");
    wait_until(DEADLINE, "the changed agent", || {
        watch_support::description(&rig.m, &p.key(), ArtifactKind::Agent, "a1").as_deref()
            == Some("Changed agent")
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_files_and_folders_are_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    p.write(
        ".claude/skills/other/SKILL.md",
        &skill_md("other", "o", "1.0.0"),
    );
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    p.remove(".claude/agents/a1.md");
    wait_until(DEADLINE, "the agent to be gone", || {
        names(m, &p.key(), ArtifactKind::Agent).is_empty()
    })
    .await;
    p.remove(".claude/skills/other");
    wait_until(DEADLINE, "the skill folder to be gone", || {
        names(m, &p.key(), ArtifactKind::Skill) == strings(&["pdf"])
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_file_is_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    fs::rename(
        p.path.join(".claude/agents/a1.md"),
        p.path.join(".claude/agents/b1.md"),
    )
    .unwrap();
    wait_until(DEADLINE, "the agent under its new path", || {
        paths(m, &p.key(), ArtifactKind::Agent) == strings(&[".claude/agents/b1.md"])
    })
    .await;
    // Renamed skill folder.
    fs::rename(
        p.path.join(".claude/skills/pdf"),
        p.path.join(".claude/skills/pdf2"),
    )
    .unwrap();
    wait_until(DEADLINE, "the skill under its new path", || {
        paths(m, &p.key(), ArtifactKind::Skill) == strings(&[".claude/skills/pdf2"])
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editors_atomic_save_is_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    // Write a temporary file next to the target, then rename it over the target.
    let target = p.path.join(".claude/skills/pdf/SKILL.md");
    let tmp = p.path.join(".claude/skills/pdf/SKILL.md.tmp");
    fs::write(&tmp, skill_md("pdf", "saved atomically", "1.0.0")).unwrap();
    fs::rename(&tmp, &target).unwrap();
    wait_desc(&rig.m, &p, "pdf", "saved atomically").await;
    // Vim's way: a backup `~` file, the new content written, the backup deleted.
    let backup = p.path.join(".claude/skills/pdf/SKILL.md~");
    fs::rename(&target, &backup).unwrap();
    fs::write(&target, skill_md("pdf", "saved by vim", "1.0.0")).unwrap();
    fs::remove_file(&backup).unwrap();
    wait_desc(&rig.m, &p, "pdf", "saved by vim").await;
    assert_eq!(
        paths(&rig.m, &p.key(), ArtifactKind::Skill),
        strings(&[".claude/skills/pdf"])
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skill_folder_moved_in_and_out_is_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let staging = env.base.join("staging");
    let outside_skill = staging.join("moved");
    fs::create_dir_all(outside_skill.join("scripts")).unwrap();
    fs::write(
        outside_skill.join("SKILL.md"),
        skill_md("moved", "m1", "1.0.0"),
    )
    .unwrap();
    fs::write(outside_skill.join("scripts/run.sh"), "echo hi\n").unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;

    let inside = p.path.join(".claude/skills/moved");
    fs::rename(&outside_skill, &inside).unwrap();
    wait_desc(m, &p, "moved", "m1").await;
    // The moved-in folder is watched: a change inside it is seen.
    fs::write(inside.join("SKILL.md"), skill_md("moved", "m2", "1.0.0")).unwrap();
    wait_desc(m, &p, "moved", "m2").await;

    fs::rename(&inside, &outside_skill).unwrap();
    wait_until(DEADLINE, "the moved-out skill to be gone", || {
        names(m, &p.key(), ArtifactKind::Skill) == strings(&["pdf"])
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_mcp_json_and_claude_md_changes_are_seen() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    let key = p.key();
    p.hooks(&[("Stop", "notify-send done")]);
    wait_until(DEADLINE, "the hook", || {
        names(m, &key, ArtifactKind::Hook) == strings(&["Stop"])
    })
    .await;
    p.write(
        ".claude/settings.local.json",
        r#"{"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "check"}]}]}}"#,
    );
    wait_until(DEADLINE, "the local hook", || {
        names(m, &key, ArtifactKind::Hook) == strings(&["PreToolUse [Bash]", "Stop"])
    })
    .await;
    p.mcp(&["github"]);
    wait_until(DEADLINE, "the MCP server", || {
        names(m, &key, ArtifactKind::McpServer) == strings(&["github"])
    })
    .await;
    p.mcp(&["github", "postgres"]);
    wait_until(DEADLINE, "the second MCP server", || {
        names(m, &key, ArtifactKind::McpServer) == strings(&["github", "postgres"])
    })
    .await;
    p.write("CLAUDE.md", "# Project memory\n");
    wait_until(DEADLINE, "CLAUDE.md present", || {
        project(m, &key).claude_md == "present"
    })
    .await;
    p.remove("CLAUDE.md");
    wait_until(DEADLINE, "CLAUDE.md absent", || {
        project(m, &key).claude_md == "absent"
    })
    .await;
    p.project_file("Alpha Project", "The alpha one");
    wait_until(DEADLINE, "the project name", || {
        project(m, &key).name == "Alpha Project"
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_project_folder_goes_missing_and_comes_back_when_recreated() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let other = standard_project(&env, "beta", "b1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    let mark = rig.log.mark();

    fs::remove_dir_all(&p.path).unwrap();
    wait_until(DEADLINE, "the project to be missing", || {
        status_of(m, &p.key()) == Some(ProjectStatus::Missing)
    })
    .await;
    rig.log
        .wait_for(
            mark,
            "a ProjectMissing event",
            |e| matches!(e, CacheEvent::ProjectMissing { path, .. } if *path == p.key()),
        )
        .await;
    assert_eq!(status_of(m, &other.key()), Some(ProjectStatus::Fresh));

    // Recreated as a user would: folders and files written one by one.
    standard_project(&env, "alpha", "v2");
    p.agent("a2", "a2", "Another agent");
    wait_until(
        DEADLINE,
        "the project to be fresh again with its artifacts",
        || {
            status_of(m, &p.key()) == Some(ProjectStatus::Fresh)
                && skill_desc(m, &p.key(), "pdf").as_deref() == Some("v2")
                && names(m, &p.key(), ArtifactKind::Agent) == strings(&["a1", "a2"])
        },
    )
    .await;
    // And it is watched again.
    set_desc(&p, "v3");
    wait_desc(m, &p, "pdf", "v3").await;
    rig.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_skill_follows_changes_to_its_target() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let shared = env.base.join("shared-skills/linked");
    fs::create_dir_all(&shared).unwrap();
    fs::write(shared.join("SKILL.md"), skill_md("linked", "l1", "1.0.0")).unwrap();
    std::os::unix::fs::symlink(&shared, p.path.join(".claude/skills/linked")).unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    assert_eq!(
        skill_desc(&rig.m, &p.key(), "linked").as_deref(),
        Some("l1")
    );
    fs::write(shared.join("SKILL.md"), skill_md("linked", "l2", "1.0.0")).unwrap();
    wait_desc(&rig.m, &p, "linked", "l2").await;
    // A file added next to it in the target folder changes its content hash.
    let before = rig
        .m
        .get_project(&p.key())
        .unwrap()
        .artifacts
        .into_iter()
        .find(|a| a.name == "linked")
        .unwrap()
        .content_hash;
    fs::write(shared.join("notes.md"), "more\n").unwrap();
    wait_until(DEADLINE, "the linked skill's hash to change", || {
        rig.m
            .get_project(&p.key())
            .unwrap()
            .artifacts
            .iter()
            .any(|a| a.name == "linked" && a.content_hash != before)
    })
    .await;
    rig.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_skill_added_while_running_is_followed() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let shared = env.base.join("shared-skills/late");
    fs::create_dir_all(&shared).unwrap();
    fs::write(shared.join("SKILL.md"), skill_md("late", "l1", "1.0.0")).unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    std::os::unix::fs::symlink(&shared, p.path.join(".claude/skills/late")).unwrap();
    wait_desc(&rig.m, &p, "late", "l1").await;
    fs::write(shared.join("SKILL.md"), skill_md("late", "l2", "1.0.0")).unwrap();
    wait_desc(&rig.m, &p, "late", "l2").await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_project_under_a_discovery_root_is_found_watched_and_refreshed() {
    let env = TestEnv::new();
    standard_project(&env, "alpha", "v1");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = &rig.m;
    assert_eq!(rig.w.status().projects_watched, 1);
    let mark = rig.log.mark();

    // Directly below the root.
    let fresh = ProjectDir {
        path: env.root.join("fresh"),
    };
    set_desc(&fresh, "f1");
    wait_desc(m, &fresh, "pdf", "f1").await;
    assert_eq!(status_of(m, &fresh.key()), Some(ProjectStatus::Fresh));
    rig.log
        .wait_for(
            mark,
            "ProjectAdded",
            |e| matches!(e, CacheEvent::ProjectAdded { path, .. } if *path == fresh.key()),
        )
        .await;
    // Two levels down, in a folder that did not exist either.
    let nested = ProjectDir {
        path: env.root.join("group/nested"),
    };
    set_desc(&nested, "n1");
    wait_desc(m, &nested, "pdf", "n1").await;
    wait_until(DEADLINE, "both new projects watched", || {
        rig.w.status().projects_watched == 3
    })
    .await;
    // They are watched: later writes are seen.
    set_desc(&fresh, "f2");
    set_desc(&nested, "n2");
    wait_desc(m, &fresh, "pdf", "f2").await;
    wait_desc(m, &nested, "pdf", "n2").await;
    rig.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Debounce
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_writes_10ms_apart_cause_one_refresh() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "gen 0");
    let sentinel = standard_project(&env, "beta", "s1");
    // 150 ms of quiet (the default is 50 ms): room for the test's own scheduling hiccups on a
    // busy machine, while the burst (40 ms) still spans several internal timer periods.
    let mut env = env;
    env.config.debounce_ms = 150;
    let (debounce, max_wait) = (
        Duration::from_millis(env.config.debounce_ms),
        Duration::from_millis(env.config.max_wait_ms),
    );
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let mark = rig.log.mark();

    let mut gaps = Vec::new();
    let mut prev = Instant::now();
    for g in 1..=5 {
        set_desc(&p, &format!("gen {g}"));
        gaps.push(prev.elapsed());
        prev = Instant::now();
        if g < 5 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let last_write = tokio::time::Instant::now();
    let widest = gaps[1..].iter().max().copied().unwrap();
    assert!(
        widest < debounce,
        "test precondition: the writes were {gaps:?} apart, wider than the debounce"
    );
    wait_desc(&rig.m, &p, "pdf", "gen 5").await;
    // Let the burst leave the debounce window, then prove the watcher has handled everything
    // before a later write (the sentinel's) before counting.
    tokio::time::sleep_until(last_write + debounce * 3).await;
    set_desc(&sentinel, "s2");
    wait_desc(&rig.m, &sentinel, "pdf", "s2").await;
    assert!(rig.job.wait_idle(DEADLINE).await);
    let refreshes = rig.log.count_since(mark, |e| is_progress_of(e, &p.key()));
    eprintln!(
        "five writes {gaps:?} apart (debounce {debounce:?}, max wait {max_wait:?}) → {refreshes} refresh(es)"
    );
    rig.stop().await;
    assert_eq!(
        refreshes, 1,
        "five quick writes must cause exactly one refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_stream_of_writes_does_not_starve_the_refresh() {
    let mut env = TestEnv::new();
    env.config.debounce_ms = 200; // a write every 20 ms never leaves 200 ms of quiet
    let max_wait = Duration::from_millis(env.config.max_wait_ms);
    let p = standard_project(&env, "alpha", "gen 0");
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;

    let gen_in_cache = || {
        skill_desc(&rig.m, &p.key(), "pdf")
            .and_then(|d| d.strip_prefix("gen ").and_then(|n| n.parse::<u32>().ok()))
            .unwrap_or(0)
    };
    // Each write replaces the file atomically (written next door, renamed over it), so that
    // whatever a refresh reads is one complete generation.
    let staging = env.base.join("staging.md");
    let target = p.path.join(".claude/skills/pdf/SKILL.md");
    let start = Instant::now();
    let mut g = 0;
    let mut first_seen: Option<(Duration, u32)> = None;
    while start.elapsed() < Duration::from_millis(1500) {
        g += 1;
        fs::write(&staging, skill_md("pdf", &format!("gen {g}"), "1.0.0")).unwrap();
        fs::rename(&staging, &target).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let n = gen_in_cache();
        if first_seen.is_none() && n >= 1 {
            first_seen = Some((start.elapsed(), n));
        }
    }
    let stream = start.elapsed();
    eprintln!(
        "stream of {g} writes over {stream:?} (debounce 200 ms, max wait {max_wait:?}); first refresh seen: {first_seen:?}"
    );
    let (at, n) = first_seen.expect("the cache showed intermediate content during the stream");
    assert!(n < g, "an intermediate generation ({n} of {g})");
    assert!(
        at <= max_wait + Duration::from_millis(400),
        "the first refresh came {at:?} into the stream (max wait {max_wait:?})"
    );
    wait_desc(&rig.m, &p, "pdf", &format!("gen {g}")).await;
    rig.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The service, end to end
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_a_skill_md_write_reaches_the_cache_and_the_listeners() {
    let env = TestEnv::new();
    let p = standard_project(&env, "alpha", "v1");
    let m = env.open();
    let log = EventLog::start(m.events());
    let svc = Service::start_with(m.clone()).await.expect("service");
    svc.watch_ready().await;
    wait_until(DEADLINE, "the initial refresh", || {
        status_of(&m, &p.key()) == Some(ProjectStatus::Fresh)
    })
    .await;
    wait_until(DEADLINE, "the project to be watched", || {
        svc.watcher().status().projects_watched == 1
    })
    .await;
    assert!(svc.job().wait_idle(DEADLINE).await);
    let mark = log.mark();

    let t0 = Instant::now();
    set_desc(&p, "v2 written by the user");
    let cache_latency = wait_desc(&m, &p, "pdf", "v2 written by the user").await;
    log.wait_for(mark, "ProjectChanged", |e| is_changed_of(e, &p.key()))
        .await;
    let (event_at, changes) = log.timed()[mark..]
        .iter()
        .find_map(|(t, e)| match e {
            CacheEvent::ProjectChanged { path, changes, .. } if *path == p.key() => {
                Some((*t, changes.clone()))
            }
            _ => None,
        })
        .unwrap();
    let event_latency = event_at - t0;
    eprintln!(
        "end to end: SKILL.md write → cache {cache_latency:?}, → ProjectChanged event {event_latency:?}"
    );
    assert_eq!(changes.modified.len(), 1);
    assert_eq!(changes.modified[0].name, "pdf");
    assert!(changes.added.is_empty() && changes.removed.is_empty());
    assert!(
        log.since(mark).iter().any(|e| matches!(
            e,
            CacheEvent::ProjectInvalidated { path: Some(path), reason: InvalidationReason::Watcher, .. }
                if *path == p.key()
        )),
        "the watcher announced the invalidation"
    );
    assert!(
        cache_latency < Duration::from_secs(2),
        "latency budget: {cache_latency:?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_watches_projects_added_and_forgets_removed_ones() {
    let env = TestEnv::new();
    standard_project(&env, "alpha", "v1");
    let outside = project_at(env.base.join("elsewhere/outside"), "o1");
    let m = env.open();
    let svc = Service::start_with(m.clone()).await.expect("service");
    svc.watch_ready().await;
    wait_until(DEADLINE, "the project to be watched", || {
        svc.watcher().status().projects_watched == 1
    })
    .await;

    blocking(|| m.add_project(&outside.path)).unwrap();
    wait_until(DEADLINE, "the added project to be watched", || {
        svc.watcher().status().projects_watched == 2
    })
    .await;
    set_desc(&outside, "o2");
    wait_desc(&m, &outside, "pdf", "o2").await;

    m.remove_project(&outside.key()).unwrap();
    wait_until(DEADLINE, "the removed project to be unwatched", || {
        svc.watcher().status().projects_watched == 1
    })
    .await;
    assert!(!is_project(
        &svc.watcher()
            .classify(&outside.path.join(".claude/skills/pdf/SKILL.md"))
    ));
    svc.stop().await;
}

// ---------------------------------------------------------------------------------------------
// `skillmeat-cache watch` in its own process, with CLI commands from others (Unix only: the
// process is stopped with SIGTERM)
// ---------------------------------------------------------------------------------------------

/// A command of the binary with a temporary HOME, the user scope excluded, `--db` and `--root`.
#[cfg(unix)]
fn cli(home: &Path, db: &Path, root: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SKILLMEAT_") || k == "XDG_DATA_HOME" || k == "XDG_CONFIG_HOME" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("SKILLMEAT_CACHE_INCLUDE_USER_SCOPE", "false")
        .arg("--db")
        .arg(db)
        .arg("--root")
        .arg(root);
    c
}

/// A running `skillmeat-cache watch`, its output read line by line on threads.
#[cfg(unix)]
struct WatchProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

#[cfg(unix)]
impl WatchProcess {
    fn spawn(mut cmd: Command) -> WatchProcess {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watch");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        let mut readers = Vec::new();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        }));
        let mut err = child.stderr.take().unwrap();
        let e = stderr.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                e.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }));
        WatchProcess {
            child,
            lines,
            stderr,
            readers,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn json(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM, waits (with a deadline) for the exit code, then for the end of the output.
    async fn terminate(&mut self) -> i32 {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: sending a signal to our own child process, which has not been reaped yet.
        let r = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(r, 0, "kill failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The pipes are closed: the readers end once they have read everything.
                for r in self.readers.drain(..) {
                    blocking(|| r.join()).expect("output reader");
                }
                return status.code().expect("exited normally, not by a signal");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "watch did not stop after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(unix)]
impl Drop for WatchProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
fn run_ok(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().expect("run cli");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr: {stderr}",
        out.status.code()
    );
    assert!(
        stderr.trim().is_empty(),
        "{what}: unexpected stderr: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_process_works_with_cli_commands_from_other_processes() {
    let env = TestEnv::new();
    let a = standard_project(&env, "alpha", "v1");
    let outside = project_at(env.base.join("elsewhere/outside"), "o1");
    let (home, db, root) = (env.home.clone(), env.db.clone(), env.root.clone());
    let mut watch = WatchProcess::spawn({
        let mut c = cli(&home, &db, &root);
        c.args(["watch", "--json"]);
        c
    });
    let state_is = |v: &Value, s: &str| v["type"] == "watch_status" && v["state"] == s;
    wait_until(DEADLINE, "the watch process to be watching", || {
        watch.json().iter().any(|v| state_is(v, "watching"))
    })
    .await;
    // This process reads the same database file.
    let mut cfg = env.config.clone();
    cfg.roots = vec![root.clone()];
    let m = CacheManager::open(cfg).unwrap();
    wait_until(DEADLINE, "the watch process's initial refresh", || {
        status_of(&m, &a.key()) == Some(ProjectStatus::Fresh)
    })
    .await;

    // CLI commands while it runs.
    let out = run_ok(
        {
            let mut c = cli(&home, &db, &root);
            c.args(["--json", "refresh", "--force"]);
            c
        },
        "refresh --force",
    );
    let report: Value = serde_json::from_str(&out).expect("refresh report JSON");
    assert_eq!(report["refreshed"], 1, "{report}");
    run_ok(
        {
            let mut c = cli(&home, &db, &root);
            c.arg("invalidate");
            c
        },
        "invalidate",
    );
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Stale));
    // The watch process notices the invalidation and refreshes.
    wait_until(
        DEADLINE,
        "the watch process to refresh the invalidated project",
        || status_of(&m, &a.key()) == Some(ProjectStatus::Fresh),
    )
    .await;

    // A project added from the CLI, outside the roots, is picked up by the watch process.
    run_ok(
        {
            let mut c = cli(&home, &db, &root);
            c.arg("add").arg(&outside.path);
            c
        },
        "add",
    );
    assert_eq!(skill_desc(&m, &outside.key(), "pdf").as_deref(), Some("o1"));
    // The watch process looks for other processes' writes every 2 s: write until it sees one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut g = 1;
    loop {
        g += 1;
        let want = format!("o{g}");
        set_desc(&outside, &want);
        let t = Instant::now();
        let mut seen = false;
        while t.elapsed() < Duration::from_millis(1500) {
            if skill_desc(&m, &outside.key(), "pdf").as_deref() == Some(want.as_str()) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watch process never picked up the added project; output: {:#?}",
            watch.lines()
        );
    }
    wait_until(DEADLINE, "the watch process to print the change", || {
        watch
            .json()
            .iter()
            .any(|v| v["type"] == "project_changed" && v["path"] == outside.key().as_str())
    })
    .await;
    // A write in the first project is still seen.
    set_desc(&a, "v2");
    wait_desc(&m, &a, "pdf", "v2").await;

    let code = watch.terminate().await;
    let stderr = watch.stderr();
    let events = watch.json();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(
        !stderr.to_lowercase().contains("error") && !stderr.contains("panicked"),
        "stderr: {stderr}"
    );
    for v in &events {
        assert!(v["at"].is_i64(), "every line carries its time: {v}");
    }
    assert!(
        events.last().is_some_and(|v| state_is(v, "stopped")),
        "the last line says the watcher stopped; got: {:#?}",
        watch.lines()
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_process_says_stopped_on_sigterm_in_text_mode() {
    let env = TestEnv::new();
    standard_project(&env, "alpha", "v1");
    let mut watch = WatchProcess::spawn({
        let mut c = cli(&env.home, &env.db, &env.root);
        c.arg("watch");
        c
    });
    wait_until(DEADLINE, "the watch process to start", || {
        watch.lines().iter().any(|l| l.contains("watch watching"))
    })
    .await;
    assert!(
        watch.lines()[0].starts_with("watching; cache "),
        "{:?}",
        watch.lines()
    );
    let code = watch.terminate().await;
    assert_eq!(code, 0, "stderr: {}", watch.stderr());
    assert_eq!(
        watch.lines().last().map(String::as_str),
        Some("stopped"),
        "{:#?}",
        watch.lines()
    );
}

// ---------------------------------------------------------------------------------------------
// ~/.claude.json and the user scope
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_json_noise_refreshes_nothing_a_server_change_refreshes_its_project_and_a_new_key_is_discovered()
 {
    // Source: code.claude.com/docs/en/mcp (local servers under `projects["<path>"]` of
    // ~/.claude.json); docs/claude-code-on-disk.md: every session rewrites the file
    // (`lastCost`, `lastSessionId`), which must refresh no project.
    let env = TestEnv::new();
    let a = standard_project(&env, "alpha", "v1");
    let b = standard_project(&env, "beta", "v1");
    let outside = env.base.join("outside-the-roots");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("CLAUDE.md"), "# Outside\n").unwrap();
    let file = env.home.join(".claude.json");
    let doc = |cost: f64, server: bool, outside_key: bool| {
        let mut servers = serde_json::json!({"db": {"command": "pg"}});
        if server {
            servers["cache"] = serde_json::json!({"command": "redis-mcp"});
        }
        let mut projects = serde_json::json!({
            a.key(): {"mcpServers": servers, "lastCost": cost},
            b.key(): {"lastCost": cost, "lastSessionId": format!("s{cost}")}
        });
        if outside_key {
            projects[outside.display().to_string()] = serde_json::json!({});
        }
        serde_json::json!({"projects": projects, "numStartups": cost}).to_string()
    };
    std::fs::write(&file, doc(0.0, false, false)).unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = rig.m.clone();
    assert_eq!(names(&m, &a.key(), ArtifactKind::McpServer), ["db"]);

    // 10 noise writes: no project is refreshed.
    let mark = rig.log.mark();
    for i in 1..=10 {
        std::fs::write(&file, doc(i as f64, false, false)).unwrap();
    }
    // A real change to beta's folder afterwards proves the watcher has handled the noise
    // (events are handled in order) before we count.
    set_desc(&b, "v2");
    wait_desc(&m, &b, "pdf", "v2").await;
    let progress_a = rig.log.count_since(mark, |e| is_progress_of(e, &a.key()));
    assert_eq!(progress_a, 0, "noise refreshed alpha");

    // A local server added to alpha: alpha (only) is refreshed and holds it.
    let mark = rig.log.mark();
    std::fs::write(&file, doc(11.0, true, false)).unwrap();
    wait_until(DEADLINE, "the new local server", || {
        names(&m, &a.key(), ArtifactKind::McpServer) == ["cache", "db"]
    })
    .await;
    assert_eq!(
        rig.log.count_since(mark, |e| is_progress_of(e, &b.key())),
        0,
        "beta's entry did not change"
    );

    // A new key with configuration: the project is discovered.
    std::fs::write(&file, doc(12.0, true, true)).unwrap();
    let key = outside.display().to_string();
    wait_until(DEADLINE, "the new project", || {
        names(&m, &key, ArtifactKind::Memory) == ["CLAUDE.md"]
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_user_settings_or_user_skills_refreshes_the_projects_that_depend_on_it() {
    // Source: code.claude.com/docs/en/settings (user settings ~/.claude/settings.json apply to
    // every project; `disableAllHooks`); code.claude.com/docs/en/skills (a personal skill
    // overrides a project skill of the same name).
    let env = TestEnv::new();
    let a = standard_project(&env, "alpha", "v1");
    a.hooks(&[("Stop", "notify-send done")]);
    let claude = env.home.join(".claude");
    std::fs::create_dir_all(&claude).unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = rig.m.clone();
    let hook_loaded = |m: &CacheManager| {
        m.get_project(&a.key())
            .unwrap()
            .artifacts
            .iter()
            .find(|x| x.kind == ArtifactKind::Hook)
            .map(|h| h.loaded)
    };
    assert_eq!(hook_loaded(&m), Some(true));
    std::fs::write(claude.join("settings.json"), r#"{"disableAllHooks": true}"#).unwrap();
    wait_until(DEADLINE, "the hook to be off", || {
        hook_loaded(&m) == Some(false)
    })
    .await;

    // A personal skill named like the project's `pdf` skill shadows it.
    let skill_loaded = |m: &CacheManager| {
        m.get_project(&a.key())
            .unwrap()
            .artifacts
            .iter()
            .find(|x| x.kind == ArtifactKind::Skill && x.name == "pdf")
            .map(|s| s.loaded)
    };
    assert_eq!(skill_loaded(&m), Some(true));
    std::fs::create_dir_all(claude.join("skills")).unwrap();
    let dir = claude.join("skills/pdf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("SKILL.md"),
        "---\nname: pdf\ndescription: mine\n---\n",
    )
    .unwrap();
    wait_until(DEADLINE, "the project skill to be shadowed", || {
        skill_loaded(&m) == Some(false)
    })
    .await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_transcripts_and_todos_written_under_the_user_folder_refresh_nothing() {
    // Claude Code writes its session transcripts (~/.claude/projects/<slug>/<session>.jsonl,
    // code.claude.com/docs/en/settings) and todos all through a session; they are not
    // configuration, so the user scope must not be re-read for them. A user skill still is
    // (code.claude.com/docs/en/skills: personal skills live in ~/.claude/skills).
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    let a = standard_project(&env, "alpha", "v1");
    let claude = env.home.join(".claude");
    std::fs::create_dir_all(claude.join("projects/-w")).unwrap();
    std::fs::create_dir_all(claude.join("todos")).unwrap();
    std::fs::create_dir_all(claude.join("skills")).unwrap();
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    let m = rig.m.clone();
    let user = common::user_scope(&m);
    let mark = rig.log.mark();
    for i in 0..10 {
        std::fs::write(
            claude.join("projects/-w/s.jsonl"),
            format!("{{\"type\":\"user\",\"n\":{i}}}\n"),
        )
        .unwrap();
        std::fs::write(claude.join("todos/s.json"), format!("[{i}]")).unwrap();
    }
    // A change to alpha afterwards proves the noise was handled (events in order); the user
    // skill then comes well after it, so a refresh for the noise could not merge with it.
    set_desc(&a, "v2");
    wait_desc(&m, &a, "pdf", "v2").await;
    let skill = claude.join("skills/mine/SKILL.md");
    std::fs::create_dir_all(skill.parent().unwrap()).unwrap();
    std::fs::write(&skill, "---\nname: mine\ndescription: Mine\n---\n").unwrap();
    wait_until(DEADLINE, "the user skill", || {
        names(&m, &user.id, ArtifactKind::Skill) == ["mine"]
    })
    .await;
    let refreshes = rig.log.count_since(mark, |e| is_progress_of(e, &user.path));
    assert_eq!(refreshes, 1, "only the skill re-read the user scope");
    rig.stop().await;
}
