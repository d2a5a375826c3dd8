//! The usage index (issue 12): Claude Code's session transcripts → which skills, agents,
//! commands and MCP servers are used, read incrementally.
//!
//! Claude Code's files, with their sources:
//! - transcripts live at `~/.claude/projects/<slug>/<session>.jsonl` (or under
//!   `$CLAUDE_CONFIG_DIR`), one JSON object per line, append-only
//!   (code.claude.com/docs/en/settings: "cleanupPeriodDays ... session transcripts";
//!   code.claude.com/docs/en/env-vars: CLAUDE_CONFIG_DIR);
//! - a subagent call is a `tool_use` named `Task` (renamed `Agent` in 2.1.63) with
//!   `input.subagent_type` (code.claude.com/docs/en/sub-agents);
//! - MCP tools are named `mcp__<server>__<tool>` (code.claude.com/docs/en/mcp);
//! - the `Skill` tool names the skill (code.claude.com/docs/en/skills); user-typed slash
//!   commands appear as `<command-name>/name</command-name>` in the user turn
//!   (code.claude.com/docs/en/slash-commands). Line shapes per era are in
//!   tests/fixtures/transcripts/README.md with their public sources.

mod common;

use common::{TestEnv, wait_until};
use proptest::prelude::*;
use skillmeat_cache::CacheManager;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::usage::UsageQuery;
use skillmeat_cache::usage::watch::UsageWatcher;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/transcripts");
const DAY_MS: i64 = 86_400_000;

/// `<home>/.claude/projects/<slug>`, created.
fn slug_dir(env: &TestEnv, slug: &str) -> PathBuf {
    let d = env.home.join(".claude/projects").join(slug);
    fs::create_dir_all(&d).unwrap();
    d
}

/// An RFC 3339 time `days_ago` days before now (UTC).
fn ts(days_ago: i64) -> String {
    let t = chrono::Utc::now() - chrono::Duration::milliseconds(days_ago * DAY_MS);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new tool call id (`toolu_…`), unique in this test process.
fn tool_id() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "toolu_{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// An assistant line calling the `Skill` tool.
fn skill_line(at: &str, cwd: &str, session: &str, skill: &str) -> String {
    serde_json::json!({"type":"assistant","cwd":cwd,"sessionId":session,"timestamp":at,
        "message":{"role":"assistant","content":[
            {"type":"tool_use","id":tool_id(),"name":"Skill","input":{"skill":skill}}]}})
    .to_string()
}

/// An assistant line calling the subagent tool.
fn agent_line(at: &str, cwd: &str, session: &str, agent: &str) -> String {
    serde_json::json!({"type":"assistant","cwd":cwd,"sessionId":session,"timestamp":at,
        "message":{"role":"assistant","content":[
            {"type":"tool_use","id":tool_id(),"name":"Agent",
             "input":{"description":"d","prompt":"p","subagent_type":agent}}]}})
    .to_string()
}

/// A user line of plain text of about `size` bytes (no use).
fn text_line(at: &str, cwd: &str, size: usize) -> String {
    serde_json::json!({"type":"user","cwd":cwd,"sessionId":"s-text","timestamp":at,
        "message":{"role":"user","content":"x".repeat(size)}})
    .to_string()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A recorded use: (kind, name, unix seconds, session, cwd).
type Event = (String, String, i64, Option<String>, Option<String>);

/// Every recorded use, sorted.
fn events(env: &TestEnv) -> Vec<Event> {
    let c = env.raw();
    let mut st = c
        .prepare(
            "SELECT n.kind, n.name, e.at, s.session, w.path FROM usage_events e
             JOIN usage_names n ON n.nid = e.nid
             LEFT JOIN usage_sessions s ON s.sid = e.sid
             LEFT JOIN usage_cwds w ON w.cid = e.cid",
        )
        .unwrap();
    let mut v: Vec<_> = st
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    v.sort();
    v
}

fn names(env: &TestEnv) -> Vec<(String, String)> {
    events(env).into_iter().map(|e| (e.0, e.1)).collect()
}

fn pair(k: &str, n: &str) -> (String, String) {
    (k.to_string(), n.to_string())
}

#[test]
fn each_era_yields_its_uses_and_nothing_else() {
    let env = TestEnv::new();
    let dir = slug_dir(&env, "-home-u-projects-alpha");
    for f in [
        "era1-2025-task.jsonl",
        "era2-2025-skill-command.jsonl",
        "era3-2026-agent.jsonl",
    ] {
        fs::copy(Path::new(FIXTURES).join(f), dir.join(f)).unwrap();
    }
    let m = env.open();
    let r = m.update_usage().unwrap();
    assert_eq!(r.files, 3);
    assert_eq!(r.lines_skipped, 0);
    let mut got = names(&env);
    got.sort();
    // Hand-read from the fixtures: era 1: /review, Task code-searcher, mcp github;
    // era 2: Skill (input.command) release-notes, SlashCommand /changelog, Skill
    // docs-kit:publish (the Read call is not a use); era 3: /deploy (text block), Skill
    // commit-push-pr (input.skill), Agent reviewer, two MCP servers (the tag quoted in a tool
    // result is not a use).
    let mut want = vec![
        pair("command", "review"),
        pair("agent", "code-searcher"),
        pair("mcp", "github"),
        pair("skill", "release-notes"),
        pair("command", "changelog"),
        pair("skill", "docs-kit:publish"),
        pair("command", "deploy"),
        pair("skill", "commit-push-pr"),
        pair("agent", "reviewer"),
        pair("mcp", "plugin_docs-kit_search"),
        pair("mcp", "postgres"),
    ];
    want.sort();
    assert_eq!(got, want);
    let e = events(&env);
    let review = e.iter().find(|e| e.1 == "review").unwrap();
    // 2025-07-01T10:00:00Z
    assert_eq!(review.2, 1_751_364_000);
    assert_eq!(
        review.3.as_deref(),
        Some("11111111-1111-4111-8111-111111111111")
    );
    assert_eq!(review.4.as_deref(), Some("/home/u/projects/alpha"));
    let mcp = e.iter().find(|e| e.1 == "github").unwrap();
    assert_eq!(mcp.4.as_deref(), Some("/home/u/projects/alpha/src"));
}

#[test]
fn a_secret_in_a_prompt_never_reaches_the_database() {
    let env = TestEnv::new();
    let dir = slug_dir(&env, "-home-u-projects-alpha");
    fs::copy(
        Path::new(FIXTURES).join("secret.jsonl"),
        dir.join("s.jsonl"),
    )
    .unwrap();
    let m = env.open();
    m.update_usage().unwrap();
    // The uses were recorded (so the lines were read)...
    assert_eq!(
        names(&env),
        vec![pair("command", "deploy"), pair("skill", "deployer")]
    );
    // ...but no byte of the prompt, arguments or tool input is in the files.
    let mut checked = 0;
    for suffix in ["", "-wal"] {
        let mut p = env.db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(bytes) = fs::read(&p) {
            checked += 1;
            let hay = String::from_utf8_lossy(&bytes);
            assert!(!hay.contains("SECRET123"), "secret found in {p:?}");
            assert!(!hay.contains("--token"), "arguments found in {p:?}");
            assert!(!hay.contains("please use"), "prompt text found in {p:?}");
        }
    }
    assert!(checked >= 1);
}

#[test]
fn appends_are_read_alone_and_half_lines_wait() {
    let env = TestEnv::new();
    let f = slug_dir(&env, "s").join("a.jsonl");
    let l1 = skill_line(&ts(1), "/w", "s1", "one") + "\n";
    let l2 = text_line(&ts(1), "/w", 5000) + "\n";
    append(&f, &(l1.clone() + &l2));
    let m = env.open();
    let r = m.update_usage().unwrap();
    assert_eq!(
        (r.uses_added, r.bytes_read),
        (1, (l1.len() + l2.len()) as u64)
    );
    // Nothing new: nothing read.
    let r = m.update_usage().unwrap();
    assert_eq!((r.files_read, r.bytes_read, r.uses_added), (0, 0, 0));
    // A line being written: not consumed until its newline arrives.
    let l3 = skill_line(&ts(0), "/w", "s1", "two");
    let (head, tail) = l3.split_at(40);
    append(&f, head);
    let r = m.update_usage().unwrap();
    assert_eq!(r.uses_added, 0);
    append(&f, &format!("{tail}\n"));
    let r = m.update_usage().unwrap();
    assert_eq!(r.uses_added, 1);
    // Only the appended line was read (its head again, since it was not complete before).
    assert_eq!(r.bytes_read, (l3.len() + 1) as u64);
    assert_eq!(
        names(&env),
        vec![pair("skill", "one"), pair("skill", "two")]
    );
}

#[test]
fn a_truncated_or_replaced_file_is_read_again() {
    let env = TestEnv::new();
    let dir = slug_dir(&env, "s");
    let f = dir.join("a.jsonl");
    let a = skill_line(&ts(1), "/w", "s1", "a") + "\n";
    let b = skill_line(&ts(1), "/w", "s1", "b") + "\n";
    append(&f, &(a.clone() + &b));
    let m = env.open();
    m.update_usage().unwrap();
    assert_eq!(names(&env), vec![pair("skill", "a"), pair("skill", "b")]);

    // Truncated (same file, shorter): its uses are dropped and it is read from the start.
    let c = skill_line(&ts(1), "/w", "s1", "c") + "\n";
    fs::write(&f, &c).unwrap();
    assert!(c.len() < a.len() + b.len());
    let r = m.update_usage().unwrap();
    assert_eq!(r.files_reset, 1);
    assert_eq!(names(&env), vec![pair("skill", "c")]);

    // Rewritten in place (same inode) with other content at least as long as what was read.
    let r1 = skill_line(&ts(1), "/w", "s1", "r") + "\n";
    let mut rewrite = r1.clone();
    while rewrite.len() < c.len() + 10 {
        rewrite += &(text_line(&ts(1), "/w", 50) + "\n");
    }
    let file = OpenOptions::new().write(true).open(&f).unwrap();
    file.set_len(0).unwrap();
    drop(file);
    append(&f, &rewrite);
    let r = m.update_usage().unwrap();
    assert_eq!(r.files_reset, 1);
    assert_eq!(names(&env), vec![pair("skill", "r")]);

    // Replaced (a new file renamed over it, longer than before): a new inode.
    let tmp = dir.join("new.tmp");
    let d = skill_line(&ts(1), "/w", "s1", "d") + "\n";
    let e = text_line(&ts(1), "/w", 400) + "\n";
    fs::write(&tmp, d.clone() + &e + &d).unwrap();
    fs::rename(&tmp, &f).unwrap();
    let r = m.update_usage().unwrap();
    assert_eq!(r.files_reset, 1);
    assert_eq!(names(&env), vec![pair("skill", "d"), pair("skill", "d")]);
}

#[test]
fn a_file_growing_while_it_is_read_is_counted_once() {
    let env = TestEnv::new();
    let f = slug_dir(&env, "s").join("a.jsonl");
    // A big start so the first pass is still reading while the writer appends.
    let mut big = String::new();
    for _ in 0..400 {
        big.push_str(&(text_line(&ts(1), "/w", 20_000) + "\n"));
    }
    append(&f, &big);
    let m = env.open();
    let f2 = f.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..200 {
            // Written in two pieces: the reader may see half a line.
            let l = skill_line(&ts(0), "/w", "s1", &format!("k{}", i % 7));
            let (h, t) = l.split_at(30);
            append(&f2, h);
            append(&f2, &format!("{t}\n"));
        }
    });
    let mut passes = 0;
    while !writer.is_finished() {
        m.update_usage().unwrap();
        passes += 1;
    }
    writer.join().unwrap();
    m.update_usage().unwrap();
    assert!(passes >= 1);
    assert_eq!(events(&env).len(), 200);
    let n_k3 = names(&env).iter().filter(|n| n.1 == "k3").count();
    // i % 7 == 3 for i in 0..200: 3, 10, ..., 199 → 29 values.
    assert_eq!(n_k3, 29);
}

#[test]
fn long_lines_and_invalid_utf8_are_skipped_or_read_never_fatal() {
    let env = TestEnv::new();
    let f = slug_dir(&env, "s").join("a.jsonl");
    // A 1 MB single line that is a use (the Skill call after a long text block).
    let big = serde_json::json!({"type":"assistant","cwd":"/w","sessionId":"s","timestamp":ts(1),
        "message":{"role":"assistant","content":[
            {"type":"text","text":"y".repeat(1 << 20)},
            {"type":"tool_use","id":"t","name":"Skill","input":{"skill":"big"}}]}})
    .to_string();
    assert!(big.len() > 1 << 20);
    let mut bytes = big.into_bytes();
    bytes.push(b'\n');
    // Invalid UTF-8 inside a line that mentions a tool_use: skipped and counted.
    bytes.extend_from_slice(b"{\"type\":\"assistant\",\"x\":\"\xff\xfe\",\"tool_use\"}\n");
    // Malformed JSON: skipped and counted.
    bytes.extend_from_slice(b"{\"type\":\"tool_use\",\n");
    // A line over the 16 MB cap: skipped and counted, in bounded memory.
    let mut huge = b"{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"name\":\"Skill\",\"input\":{\"skill\":\"huge\"}}]},\"pad\":\"".to_vec();
    huge.resize(17 * 1024 * 1024, b'z');
    huge.extend_from_slice(b"\"}\n");
    bytes.extend_from_slice(&huge);
    bytes.extend_from_slice((skill_line(&ts(1), "/w", "s", "after") + "\n").as_bytes());
    fs::write(&f, &bytes).unwrap();
    let m = env.open();
    let r = m.update_usage().unwrap();
    assert_eq!(r.lines_skipped, 3);
    assert_eq!(r.bytes_read, bytes.len() as u64);
    assert_eq!(
        names(&env),
        vec![pair("skill", "after"), pair("skill", "big")]
    );
    assert_eq!(m.usage_status().unwrap().lines_skipped, 3);
}

#[test]
fn uses_map_to_projects_and_answer_per_artifact_and_project() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("lint", "lint", "Lints");
    alpha.skill("never", "never", "Never used");
    alpha.agent("reviewer.md", "reviewer", "Reviews");
    alpha.command("ship", "Ships");
    let beta = env.project("beta");
    beta.skill("lint", "lint", "Lints too");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let a = alpha.key();
    let b = beta.key();
    let wt = format!("{a}/.worktrees/feature");
    let sub = format!("{a}/src");
    let f = slug_dir(&env, "x").join("s.jsonl");
    let mut lines = String::new();
    // alpha/lint: today (worktree), 3 days ago (sub-folder), 20 days ago, 60 days ago,
    // 100 days ago; beta/lint: 1 day ago; alpha's reviewer 40 days ago; /ship typed today;
    // a use outside any project.
    for (d, cwd, s) in [
        (0, &wt, "s1"),
        (3, &sub, "s2"),
        (20, &a, "s3"),
        (60, &a, "s3"),
        (100, &a, "s4"),
    ] {
        lines += &(skill_line(&ts(d), cwd, s, "lint") + "\n");
    }
    lines += &(skill_line(&ts(1), &b, "s9", "lint") + "\n");
    lines += &(agent_line(&ts(40), &a, "s5", "reviewer") + "\n");
    lines += &(serde_json::json!({"type":"user","cwd":a,"sessionId":"s1","timestamp":ts(0),
        "message":{"role":"user","content":"<command-name>/ship</command-name>\n<command-args>now</command-args>"}})
    .to_string()
        + "\n");
    lines += &(skill_line(&ts(0), "/elsewhere", "s7", "lint") + "\n");
    append(&f, &lines);
    m.update_usage().unwrap();

    let all = m
        .usage_artifacts(&UsageQuery {
            project: None,
            days: 30,
            unused_only: false,
        })
        .unwrap();
    let get = |proj: &str, name: &str| {
        all.iter()
            .find(|u| u.project_path == proj && u.name == name)
            .unwrap()
            .clone()
    };
    let lint = get(&a, "lint");
    assert_eq!(
        (
            lint.uses_7d,
            lint.uses_30d,
            lint.uses_90d,
            lint.uses_total,
            lint.uses
        ),
        (2, 3, 4, 5, 3)
    );
    assert_eq!(lint.projects, 1);
    assert_eq!(lint.daily.len(), 30);
    assert_eq!(lint.daily[29], 1); // today
    assert_eq!(lint.daily[26], 1); // 3 days ago
    assert_eq!(lint.daily[9], 1); // 20 days ago
    assert_eq!(lint.daily.iter().sum::<u32>(), 3);
    let last = lint.last_used.unwrap();
    assert!((skillmeat_cache::store::now_ms() - last).abs() < 120_000);
    let beta_lint = get(&b, "lint");
    assert_eq!((beta_lint.uses_total, beta_lint.uses_7d), (1, 1));
    let reviewer = get(&a, "reviewer");
    assert_eq!((reviewer.uses_30d, reviewer.uses_90d), (0, 1));
    assert_eq!(get(&a, "ship").uses_7d, 1);
    assert_eq!(get(&a, "never").last_used, None);

    let p = m.usage_project(&a, 30).unwrap();
    // Sessions with a use in alpha in 30 days: s1 (worktree + /ship), s2, s3 (20 days).
    assert_eq!(p.sessions, 3);
    assert_eq!(p.uses, 4);
    assert_eq!(
        (
            p.most_used[0].kind.as_str(),
            p.most_used[0].name.as_str(),
            p.most_used[0].uses
        ),
        ("skill", "lint", 3)
    );
    let unused: Vec<(&str, &str)> = p
        .unused
        .iter()
        .map(|u| (u.kind.as_str(), u.name.as_str()))
        .collect();
    assert_eq!(unused, vec![("agent", "reviewer"), ("skill", "never")]);
    // Each costs its listing line, ceil(bytes / 4) tokens: "- reviewer: Reviews\n" and
    // "- never: Never used\n" are 20 bytes each (code.claude.com/docs/en/skills: skills and
    // agents are listed by name and description).
    let costs: Vec<u64> = p.unused.iter().map(|u| u.context_tokens).collect();
    assert_eq!(costs, vec![5, 5]);
    // The Unused view across projects: the same two (beta's lint was used), paged, with the
    // total cost of every unused item.
    let page = m
        .unused_items(30, skillmeat_cache::usage::UnusedSort::Name, 0, 1)
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.total_tokens, 10);
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, "never");
    assert!(page.indexed_since.is_some());
    assert!(m.unused_items(0, Default::default(), 0, 10).is_err());
    let p90 = m.usage_project(&a, 90).unwrap();
    assert_eq!(p90.unused.len(), 1);
}

#[test]
fn a_use_copied_into_a_continued_session_counts_once() {
    // A continued session's new transcript starts with the earlier messages, tool call ids
    // included (ccusage dedupes the same way: github.com/ccusage/ccusage/pull/1765;
    // github.com/kenn-io/agentsview/issues/307).
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("lint", "lint", "Lints");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let a = alpha.key();
    let dir = slug_dir(&env, "alpha");
    let first = skill_line(&ts(1), &a, "s1", "lint") + "\n";
    append(&dir.join("one.jsonl"), &first);
    let second = skill_line(&ts(0), &a, "s2", "lint") + "\n";
    append(&dir.join("two.jsonl"), &(first + &second));
    m.update_usage().unwrap();
    assert_eq!(events(&env).len(), 3);
    let u = m
        .usage_artifacts(&UsageQuery {
            project: None,
            days: 30,
            unused_only: false,
        })
        .unwrap();
    let lint = u.iter().find(|u| u.name == "lint").unwrap();
    assert_eq!((lint.uses_total, lint.uses_7d), (2, 2));
    assert_eq!(m.usage_status().unwrap().uses, 2);
    assert_eq!(m.usage_project(&a, 7).unwrap().uses, 2);
}

#[test]
fn a_project_cached_after_its_transcripts_were_read_gets_their_uses() {
    let env = TestEnv::new();
    let m = env.open();
    let alpha = env.project("alpha");
    alpha.skill("lint", "lint", "Lints");
    let a = alpha.key();
    append(
        &slug_dir(&env, "-alpha").join("s.jsonl"),
        &(skill_line(&ts(0), &format!("{a}/deep/er"), "s1", "lint") + "\n"),
    );
    m.update_usage().unwrap();
    // Only now is the project cached; no transcript is read again.
    refresh_now(&m, false).unwrap();
    let p = m.usage_project(&a, 7).unwrap();
    assert_eq!((p.uses, p.sessions), (1, 1));
    assert!(p.unused.is_empty());
}

#[test]
fn turning_the_setting_off_deletes_the_index() {
    let env = TestEnv::new();
    let f = slug_dir(&env, "s").join("a.jsonl");
    append(&f, &(skill_line(&ts(0), "/w", "s", "x") + "\n"));
    let m = env.open();
    m.update_usage().unwrap();
    assert_eq!(events(&env).len(), 1);
    let mut cfg = m.config();
    cfg.usage_index = false;
    m.set_config(cfg);
    let r = m.update_usage().unwrap();
    assert_eq!(r.files, 0);
    let c = env.raw();
    for t in [
        "usage_events",
        "usage_files",
        "usage_names",
        "usage_sessions",
        "usage_cwds",
    ] {
        let n: i64 = c
            .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{t} not emptied");
    }
    // Off: new transcripts are not read.
    append(&f, &(skill_line(&ts(0), "/w", "s", "y") + "\n"));
    m.update_usage().unwrap();
    assert_eq!(events(&env).len(), 0);
}

#[test]
fn the_claude_config_dir_moves_the_transcripts() {
    // CLAUDE_CONFIG_DIR replaces ~/.claude (code.claude.com/docs/en/env-vars).
    let env = TestEnv::new();
    let mut cfg = env.config.clone();
    let moved = env.base.join("claude-elsewhere");
    cfg.claude_config_dir = Some(moved.clone());
    let m = CacheManager::open(cfg).unwrap();
    assert_eq!(m.transcripts_dir(), moved.join("projects"));
    fs::create_dir_all(moved.join("projects/s")).unwrap();
    append(
        &moved.join("projects/s/a.jsonl"),
        &(skill_line(&ts(0), "/w", "s", "moved") + "\n"),
    );
    // Subagent transcripts below a session folder are read too.
    fs::create_dir_all(moved.join("projects/s/sess/subagents")).unwrap();
    append(
        &moved.join("projects/s/sess/subagents/agent-1.jsonl"),
        &(skill_line(&ts(0), "/w", "s", "sub") + "\n"),
    );
    m.update_usage().unwrap();
    assert_eq!(
        names(&env),
        vec![pair("skill", "moved"), pair("skill", "sub")]
    );
}

#[test]
fn the_watcher_indexes_an_append_without_rereading() {
    let env = TestEnv::new();
    let dir = slug_dir(&env, "s");
    let f = dir.join("a.jsonl");
    append(&f, &(text_line(&ts(0), "/w", 100_000) + "\n"));
    let m = env.open();
    let mut events = m.events().subscribe();
    let mut w = UsageWatcher::start(m.clone()).unwrap();
    m.update_usage().unwrap();
    let before: i64 = env
        .raw()
        .query_row("SELECT offset FROM usage_files", [], |r| r.get(0))
        .unwrap();
    append(&f, &(skill_line(&ts(0), "/w", "s", "live") + "\n"));
    wait_until(Duration::from_secs(5), "the append to be indexed", || {
        names(&env) == vec![pair("skill", "live")]
    });
    // The dashboard hears of it (its "last used" figures changed).
    let mut heard = None;
    wait_until(Duration::from_secs(5), "a usage_indexed event", || {
        while let Ok(ev) = events.try_recv() {
            if let skillmeat_cache::CacheEvent::UsageIndexed { uses, files } = ev {
                heard = Some((uses, files));
            }
        }
        heard.is_some()
    });
    assert_eq!(heard, Some((1, 1)));
    // A new session file in a new project folder is picked up as well.
    let g = slug_dir(&env, "t").join("b.jsonl");
    append(&g, &(agent_line(&ts(0), "/w", "s", "helper") + "\n"));
    wait_until(Duration::from_secs(5), "the new file to be indexed", || {
        names(&env).contains(&pair("agent", "helper"))
    });
    w.stop();
    assert!(before > 100_000);
}

#[test]
fn the_watcher_waits_for_the_transcripts_folder_to_appear() {
    let env = TestEnv::new();
    fs::create_dir_all(env.home.join(".claude")).unwrap();
    let m = env.open();
    assert!(!m.transcripts_dir().exists());
    let mut w = UsageWatcher::start(m.clone()).unwrap();
    m.update_usage().unwrap();
    // Claude Code's first session creates the folder, its project folder and the transcript.
    append(
        &slug_dir(&env, "first").join("a.jsonl"),
        &(skill_line(&ts(0), "/w", "s", "first") + "\n"),
    );
    wait_until(
        Duration::from_secs(5),
        "the first transcript to be indexed",
        || names(&env) == vec![pair("skill", "first")],
    );
    // And later appends to it are followed.
    append(
        &slug_dir(&env, "first").join("a.jsonl"),
        &(skill_line(&ts(0), "/w", "s", "second") + "\n"),
    );
    wait_until(Duration::from_secs(5), "the append to be indexed", || {
        names(&env).len() == 2
    });
    w.stop();
}

#[test]
fn a_version_4_cache_gains_the_usage_tables() {
    let env = TestEnv::new();
    fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    {
        let mut c = rusqlite::Connection::open(&env.db).unwrap();
        skillmeat_cache::store::schema::migrate_to(&mut c, 4).unwrap();
    }
    let m = env.open();
    let v: i64 = env
        .raw()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, skillmeat_cache::store::schema::SCHEMA_VERSION);
    assert_eq!(m.usage_status().unwrap().uses, 0);
}

#[derive(Debug, Clone)]
enum Op {
    /// Append n use lines (and a text line), the last one maybe half-written.
    Append(u8, bool),
    /// Cut the file to this fraction (in 1/8) of its size.
    Truncate(u8),
    /// Replace the file with a new one holding n use lines.
    Replace(u8),
    /// Rewrite the file in place (same inode) with n use lines.
    Rewrite(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..5, any::<bool>()).prop_map(|(n, h)| Op::Append(n, h)),
        1 => (0u8..8).prop_map(Op::Truncate),
        1 => (0u8..4).prop_map(Op::Replace),
        1 => (0u8..6).prop_map(Op::Rewrite),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// After any sequence of appends, truncations and replacements (indexing after each),
    /// the index holds exactly what a fresh index of the final files holds.
    #[test]
    fn incremental_equals_full_reread(ops in proptest::collection::vec(op(), 1..12)) {
        let env = TestEnv::new();
        let dir = slug_dir(&env, "s");
        let f = dir.join("a.jsonl");
        fs::write(&f, "").unwrap();
        let m = env.open();
        let mut k = 0u32;
        for o in &ops {
            match *o {
                Op::Append(n, half) => {
                    let mut s = String::new();
                    for _ in 0..n {
                        k += 1;
                        s += &(skill_line(&ts(0), "/w", "s", &format!("n{k}")) + "\n");
                    }
                    s += &(text_line(&ts(0), "/w", 300) + "\n");
                    if half {
                        k += 1;
                        s += &skill_line(&ts(0), "/w", "s", &format!("h{k}"))[..25];
                    }
                    append(&f, &s);
                }
                Op::Truncate(eighths) => {
                    let len = fs::metadata(&f).unwrap().len();
                    let file = OpenOptions::new().write(true).open(&f).unwrap();
                    file.set_len(len * eighths as u64 / 8).unwrap();
                }
                Op::Replace(n) => {
                    let mut s = String::new();
                    for _ in 0..n {
                        k += 1;
                        s += &(skill_line(&ts(0), "/w", "s", &format!("r{k}")) + "\n");
                    }
                    let tmp = dir.join("x.tmp");
                    fs::write(&tmp, s).unwrap();
                    fs::rename(&tmp, &f).unwrap();
                }
                Op::Rewrite(n) => {
                    let mut s = String::new();
                    for _ in 0..n {
                        k += 1;
                        s += &(skill_line(&ts(0), "/w", "s", &format!("w{k}")) + "\n");
                    }
                    // Truncate and write through the same open file: the inode stays.
                    let mut file = OpenOptions::new().write(true).truncate(true).open(&f).unwrap();
                    file.write_all(s.as_bytes()).unwrap();
                }
            }
            m.update_usage().unwrap();
        }
        let incremental = events(&env);
        // A fresh cache over the same files.
        let fresh_env = TestEnv::new();
        let fdir = slug_dir(&fresh_env, "s");
        fs::copy(&f, fdir.join("a.jsonl")).unwrap();
        fresh_env.open().update_usage().unwrap();
        prop_assert_eq!(incremental, events(&fresh_env));
    }
}

/// Runs the `skillmeat-cache` binary with HOME = the test home and the test's database/root.
fn cli(env: &TestEnv, args: &[&str], envs: &[(&str, &str)]) -> (i32, serde_json::Value) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_skillmeat-cache"));
    c.env_clear()
        .env("HOME", &env.home)
        .arg("--db")
        .arg(&env.db)
        .arg("--root")
        .arg(&env.root)
        .args(args)
        .stdin(std::process::Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    let o = c.output().expect("the binary runs");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), v)
}

#[test]
fn the_cli_indexes_on_refresh_and_answers_usage() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("pdf", "pdf", "PDFs");
    alpha.agent("reviewer.md", "reviewer", "Reviews");
    let a = alpha.key();
    let f = slug_dir(&env, "-alpha").join("s.jsonl");
    append(
        &f,
        &(skill_line(&ts(0), &a, "s1", "pdf")
            + "\n"
            + &skill_line(&ts(10), &a, "s2", "pdf")
            + "\n"),
    );
    let (code, v) = cli(&env, &["refresh", "--json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(v["usage"]["uses_added"], 2, "{v}");

    let (code, v) = cli(&env, &["usage", "--json"], &[]);
    assert_eq!(code, 0);
    let arts = v["artifacts"].as_array().unwrap();
    let pdf = arts.iter().find(|x| x["name"] == "pdf").unwrap();
    assert_eq!(
        (pdf["uses_7d"].as_u64(), pdf["uses_30d"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(pdf["daily"].as_array().unwrap().len(), 30);
    // Nothing new since the refresh: nothing read.
    assert_eq!(v["update"]["bytes_read"], 0);

    let (code, v) = cli(
        &env,
        &["usage", "alpha", "--unused", "--days", "7", "--json"],
        &[],
    );
    assert_eq!(code, 0);
    let unused: Vec<&str> = v["project"]["unused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(unused, vec!["reviewer"]);
    assert_eq!(v["project"]["sessions"], 1);

    let (code, _) = cli(&env, &["usage", "--days", "0", "--json"], &[]);
    assert_eq!(code, 2);

    // The setting off: the index is deleted.
    let (code, v) = cli(
        &env,
        &["usage", "--json"],
        &[("SKILLMEAT_CACHE_USAGE_INDEX", "false")],
    );
    assert_eq!(code, 0);
    assert_eq!(v["status"]["uses"], 0, "{v}");
    assert_eq!(v["status"]["enabled"], false);
    assert!(events(&env).is_empty());
}

/// Waits (without blocking the runtime) until `cond` holds; panics after 5 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_keeps_the_index_fresh_and_the_setting_turns_it_off() {
    let env = TestEnv::new();
    let f = slug_dir(&env, "s").join("a.jsonl");
    append(&f, &(skill_line(&ts(1), "/w", "s", "before") + "\n"));
    let mut cfg = env.config.clone();
    cfg.config_file = env.home.join(".skillmeat/config.toml");
    let m = CacheManager::open(cfg).unwrap();
    let svc = skillmeat_cache::service::Service::start_with(m.clone())
        .await
        .unwrap();
    eventually("the start-up pass", || {
        names(&env) == vec![pair("skill", "before")]
    })
    .await;
    eventually("the transcripts watcher", || svc.usage_watching()).await;
    append(&f, &(skill_line(&ts(0), "/w", "s", "live") + "\n"));
    eventually("the append to be indexed", || {
        names(&env) == vec![pair("skill", "before"), pair("skill", "live")]
    })
    .await;
    svc.set_setting("usage-index", "false").await.unwrap();
    assert!(events(&env).is_empty());
    assert!(!svc.usage_watching());
    // Off: an append is not read.
    append(&f, &(skill_line(&ts(0), "/w", "s", "after") + "\n"));
    svc.set_setting("cache-ttl", "61").await.unwrap();
    assert!(events(&env).is_empty());
    svc.stop().await;
}

#[test]
fn the_user_scope_asked_for_counts_its_items_uses_in_every_folder() {
    // User-scope skills (~/.claude/skills) load in every project (code.claude.com/docs/en/skills),
    // so asking the user scope itself for usage counts their uses wherever they were made.
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    let skill = env.home.join(".claude/skills/everywhere/SKILL.md");
    fs::create_dir_all(skill.parent().unwrap()).unwrap();
    fs::write(
        &skill,
        "---\nname: everywhere\ndescription: Used anywhere\n---\n",
    )
    .unwrap();
    let alpha = env.project("alpha");
    alpha.skill("local", "local", "Alpha's own");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let f = slug_dir(&env, "x").join("s.jsonl");
    append(
        &f,
        &(skill_line(&ts(0), &alpha.key(), "s1", "everywhere") + "\n"),
    );
    append(
        &f,
        &(skill_line(&ts(1), "/somewhere/else", "s2", "everywhere") + "\n"),
    );
    m.update_usage().unwrap();
    let user = common::user_scope(&m);
    let u = m
        .usage_artifacts(&UsageQuery {
            project: Some(user.id.clone()),
            days: 30,
            unused_only: false,
        })
        .unwrap();
    let every = u.iter().find(|a| a.name == "everywhere").expect("listed");
    assert_eq!(
        every.uses_30d, 2,
        "both uses, in alpha and outside any project"
    );
    // Asked from alpha, only the use made in alpha counts.
    let a = m
        .usage_artifacts(&UsageQuery {
            project: Some(alpha.key()),
            days: 30,
            unused_only: false,
        })
        .unwrap();
    assert_eq!(
        a.iter().find(|x| x.name == "everywhere").unwrap().uses_30d,
        1
    );
}

#[test]
fn search_sorted_by_usage_puts_the_most_used_first() {
    // Uses come from `Skill` tool calls in the session logs (code.claude.com/docs/en/skills).
    let env = TestEnv::new();
    let p = env.project("proj");
    p.skill("alpha-tool", "alpha-tool", "A tool nobody uses");
    p.skill("mid-tool", "mid-tool", "A tool used once");
    p.skill("zeta-tool", "zeta-tool", "A tool used twice");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let f = slug_dir(&env, "x").join("s.jsonl");
    for (d, s, name) in [
        (0, "s1", "zeta-tool"),
        (1, "s2", "zeta-tool"),
        (2, "s3", "mid-tool"),
    ] {
        append(&f, &(skill_line(&ts(d), &p.key(), s, name) + "\n"));
    }
    // A use 40 days ago is outside the 30-day window the order uses.
    append(
        &f,
        &(skill_line(&ts(40), &p.key(), "s4", "alpha-tool") + "\n"),
    );
    m.update_usage().unwrap();
    let order = |sort| -> Vec<String> {
        m.search(&skillmeat_cache::SearchQuery {
            text: "tool".into(),
            sort,
            ..Default::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|h| h.artifact.name)
        .collect()
    };
    use skillmeat_cache::store::SearchSort;
    assert_eq!(
        order(SearchSort::Usage),
        ["zeta-tool", "mid-tool", "alpha-tool"]
    );
    assert_eq!(
        order(SearchSort::Name),
        ["alpha-tool", "mid-tool", "zeta-tool"]
    );
    let page = m
        .search(&skillmeat_cache::SearchQuery {
            text: "tool".into(),
            sort: SearchSort::Usage,
            skip: 1,
            limit: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items[0].artifact.name, "mid-tool");
}
