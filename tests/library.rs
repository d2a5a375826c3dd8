//! The library across projects: identities, variants by the SkillMeat hash, `where`, the diff
//! of two variants, findings, and each project's context cost — through the public API, the
//! real watcher and the `skillmeat-cache` binary, on real folders and a real SQLite file.

mod common;
mod watch_support;

use common::TestEnv;
use serde_json::Value;
use sha2::{Digest, Sha256};
use skillmeat_cache::library::{LibraryQuery, LibrarySort};
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::{ArtifactKind, CacheManager};
use std::process::{Command, Stdio};
use watch_support::{DEADLINE, Rig, blocking, wait_until, watch_opts};

const BIN: &str = env!("CARGO_BIN_EXE_skillmeat-cache");

/// SkillMeat's hash of a skill folder holding only `SKILL.md`: SHA-256 over the relative
/// path followed by the bytes (see /work/shared/docs/skillmeat-on-disk.md and tests/cli.rs).
fn skill_hash(skill_md: &str) -> String {
    let mut stream = b"SKILL.md".to_vec();
    stream.extend_from_slice(skill_md.as_bytes());
    Sha256::digest(&stream)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const REVIEW_A: &str =
    "---\nname: review\ndescription: Review the change\n---\nCheck everything.\n";
const REVIEW_B: &str =
    "---\nname: review\ndescription: Review the change\n---\nCheck everything twice.\n";

fn review(env: &TestEnv, project: &str, text: &str) {
    env.project(project)
        .write(".claude/skills/review/SKILL.md", text);
}

fn drifted(m: &CacheManager) -> Vec<String> {
    m.library(&LibraryQuery {
        drifted_only: true,
        ..Default::default()
    })
    .expect("library")
    .items
    .into_iter()
    .map(|e| e.name)
    .collect()
}

#[test]
fn variants_are_counted_by_the_skillmeat_hash_and_where_groups_copies() {
    let env = TestEnv::new();
    review(&env, "p1", REVIEW_A);
    review(&env, "p2", REVIEW_A);
    review(&env, "p3", REVIEW_B);
    // A fourth copy whose SKILL.md is the same but with an extra file: SkillMeat hashes the
    // whole folder, so it is a third variant.
    review(&env, "p4", REVIEW_A);
    env.project("p4")
        .write(".claude/skills/review/notes.txt", "extra\n");
    env.project("p1").agent("solo", "solo", "Only here");
    let m = env.open();
    let r = refresh_now(&m, true).expect("refresh");
    assert!(r.failed.is_empty(), "{r:?}");

    let page = m
        .library(&LibraryQuery {
            kind: Some(ArtifactKind::Skill),
            ..Default::default()
        })
        .expect("library");
    assert_eq!(page.total, 1);
    let e = &page.items[0];
    assert_eq!(
        (e.name.as_str(), e.copies, e.variants, e.drifted),
        ("review", 4, 3, true)
    );
    assert_eq!(e.scopes.project, 4);
    assert_eq!(e.managed, 0);

    // Sorted by copies, the 4-copy skill comes before the 1-copy agent.
    let all = m.library(&LibraryQuery::default()).expect("library");
    let names: Vec<&str> = all.items.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["review", "solo"]);
    let by_name = m
        .library(&LibraryQuery {
            sort: LibrarySort::Name,
            ..Default::default()
        })
        .expect("library");
    assert_eq!(by_name.items[1].name, "solo");

    let w = m.where_is("REVIEW", None).expect("where");
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].projects, 4);
    let sizes: Vec<usize> = w[0].variants.iter().map(|v| v.copies.len()).collect();
    assert_eq!(sizes, vec![2, 1, 1], "most copies first");
    assert_eq!(w[0].variants[0].content_hash, skill_hash(REVIEW_A));
    let mut in_big: Vec<&str> = w[0].variants[0]
        .copies
        .iter()
        .map(|c| c.project_name.as_str())
        .collect();
    in_big.sort();
    assert_eq!(in_big, vec!["p1", "p2"]);
    assert!(
        w[0].variants
            .iter()
            .any(|v| v.content_hash == skill_hash(REVIEW_B))
    );
    assert_eq!(w[0].variants.iter().filter(|v| v.newest).count(), 1);

    // The diff of two variants, read from disk now.
    let a = w[0].variants[0].copies[0].aid;
    let b = w[0]
        .variants
        .iter()
        .find(|v| v.content_hash == skill_hash(REVIEW_B))
        .unwrap()
        .copies[0]
        .aid;
    let d = m.variant_diff(a, b).expect("diff");
    assert!(d.contains("-Check everything.\n"), "{d}");
    assert!(d.contains("+Check everything twice.\n"), "{d}");
    // A vanished file is a clear error, not a panic.
    env.project("p3").remove(".claude/skills/review");
    assert!(m.variant_diff(a, b).is_err());

    // Findings: the drift, and no heavy project (all are alike).
    let f = m.findings().expect("findings");
    assert!(
        f.iter()
            .any(|x| x.code == "drift" && x.name.as_deref() == Some("review"))
    );
}

#[test]
fn managed_copies_and_the_collections_variant() {
    let env = TestEnv::new();
    review(&env, "p1", REVIEW_A);
    review(&env, "p2", REVIEW_B);
    let record = format!(
        "[[deployed]]\nartifact_name = \"review\"\nartifact_type = \"skill\"\nfrom_collection = \"default\"\n\
         deployed_at = \"2025-11-01T10:00:00\"\nartifact_path = \"skills/review\"\ncontent_hash = \"{}\"\n",
        skill_hash(REVIEW_A)
    );
    env.project("p1")
        .write(".claude/.skillmeat-deployed.toml", &record);
    let col = env.collection_dir();
    std::fs::write(
        col.join("collection.toml"),
        "[collection]\nname = \"default\"\nversion = \"1.0.0\"\n\n[[artifacts]]\nname = \"review\"\ntype = \"skill\"\npath = \"skills/review/\"\norigin = \"github\"\n",
    )
    .unwrap();
    std::fs::write(
        col.join("collection.lock"),
        format!(
            "[lock]\nversion = \"1.0.0\"\n\n[lock.entries.\"review::skill\"]\ncontent_hash = \"{}\"\nfetched = \"2025-12-01T00:00:00\"\n",
            skill_hash(REVIEW_B)
        ),
    )
    .unwrap();
    let m = env.open();
    refresh_now(&m, true).expect("refresh");
    let e = &m.library(&LibraryQuery::default()).unwrap().items[0];
    assert_eq!((e.copies, e.variants, e.managed), (2, 2, 1));
    assert_eq!(
        e.collection_hash.as_deref(),
        Some(skill_hash(REVIEW_B).as_str())
    );
    assert_eq!(e.collection_copies, Some(1));
    let w = m.where_is("review", Some(ArtifactKind::Skill)).unwrap();
    let v_b = w[0]
        .variants
        .iter()
        .find(|v| v.content_hash == skill_hash(REVIEW_B))
        .unwrap();
    assert!(v_b.in_collection);
    let c_a = &w[0]
        .variants
        .iter()
        .find(|v| v.content_hash == skill_hash(REVIEW_A))
        .unwrap()
        .copies[0];
    assert!(c_a.managed);
    assert_eq!(c_a.local_modified, Some(false));
}

/// The context cost of a hand-built project, computed by hand. Sources for what loads:
/// code.claude.com/docs/en/memory (CLAUDE.md with `@imports`; rules without `paths:` load at
/// startup, with `paths:` on demand), code.claude.com/docs/en/output-styles (the style named by
/// `outputStyle`), code.claude.com/docs/en/skills and /sub-agents (name and description listed).
#[test]
fn context_cost_of_a_hand_built_project_equals_the_hand_computed_figure() {
    let env = TestEnv::new();
    let p = env.project("costly");
    // 40 bytes, importing docs/extra.md (13 bytes): 53 bytes → ceil(53 / 4) = 14 tokens.
    let claude_md = "# Project\n\nSee @docs/extra.md for more.\n";
    let extra = "Extra rules.\n";
    assert_eq!((claude_md.len(), extra.len()), (40, 13));
    p.write("CLAUDE.md", claude_md)
        .write("docs/extra.md", extra);
    // A rule without `paths:`: 10 bytes → 3 tokens. With `paths:`: on demand, 0.
    p.write(".claude/rules/style.md", "Use tabs.\n");
    p.write(
        ".claude/rules/api.md",
        "---\npaths:\n  - \"src/api/**\"\n---\nAPI rules.\n",
    );
    // "- alpha: Does alpha things\n" = 27 bytes → 7 tokens.
    p.skill("alpha", "alpha", "Does alpha things");
    // "- helper: Helps out\n" = 20 bytes → 5 tokens.
    p.agent("helper", "helper", "Helps out");
    // "- deploy: Deploy it\n" = 20 bytes → 5 tokens.
    p.command("deploy", "Deploy it");
    // The active output style, 57 bytes → 15 tokens; the other one costs nothing.
    let terse = "---\nname: terse\ndescription: Short answers\n---\nBe terse.\n";
    assert_eq!(terse.len(), 57);
    p.write(".claude/output-styles/terse.md", terse);
    p.write(
        ".claude/output-styles/verbose.md",
        "---\nname: verbose\ndescription: Long answers\n---\nSay more.\n",
    );
    p.write(".claude/settings.json", r#"{"outputStyle": "terse"}"#);
    // An MCP server costs nothing here (its tools load on demand).
    p.mcp(&["github"]);
    // 14 + 3 + 7 + 5 + 5 + 15 = 49.
    const EXPECTED: u64 = 49;

    let m = env.open();
    refresh_now(&m, true).expect("refresh");
    let c = m.project_cost(&p.key()).expect("cost");
    let got: Vec<(String, u32)> = c.items.iter().map(|i| (i.name.clone(), i.tokens)).collect();
    assert_eq!(
        got,
        vec![
            ("terse".to_string(), 15),
            ("CLAUDE.md".to_string(), 14),
            ("alpha".to_string(), 7),
            ("deploy".to_string(), 5),
            ("helper".to_string(), 5),
            ("style".to_string(), 3),
        ],
        "heaviest first"
    );
    assert_eq!(c.total_tokens, EXPECTED);
    assert_eq!(
        m.get_project(&p.key()).unwrap().project.context_tokens,
        EXPECTED
    );

    // Growing the imported file by 40 bytes and CLAUDE.md by 6 ("More.\n"): 46 + 53 = 99
    // bytes → 25 tokens, 11 more. (An imported file is re-measured when the project is
    // rescanned; a change to it alone is not seen: imports are outside what the watcher and
    // the tree stamp cover.)
    p.write("docs/extra.md", &format!("{extra}{}\n", "x".repeat(39)));
    p.write("CLAUDE.md", &format!("{claude_md}More.\n"));
    refresh_now(&m, false).expect("refresh");
    m.invalidate(Some(&p.key()), skillmeat_cache::InvalidationReason::Manual)
        .unwrap();
    refresh_now(&m, false).expect("refresh");
    assert_eq!(
        m.project_cost(&p.key()).unwrap().total_tokens,
        EXPECTED + 11
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_found_and_cleared_as_files_change_through_the_watcher() {
    let env = TestEnv::new();
    review(&env, "p1", REVIEW_A);
    review(&env, "p2", REVIEW_A);
    let rig = Rig::start(&env.config, watch_opts(&env.config)).await;
    assert!(drifted(&rig.m).is_empty());

    // Edited in place in one project: drift appears.
    review(&env, "p2", REVIEW_B);
    wait_until(DEADLINE, "review to drift", || {
        drifted(&rig.m) == vec!["review".to_string()]
    })
    .await;
    let f = blocking(|| rig.m.findings()).unwrap();
    assert!(f.iter().any(|x| x.code == "drift"));

    // Put back: the drift clears.
    review(&env, "p2", REVIEW_A);
    wait_until(DEADLINE, "review drift to clear", || {
        drifted(&rig.m).is_empty()
    })
    .await;

    // A third project with a new content, then removed: drift comes and goes again.
    review(&env, "p1", REVIEW_B);
    wait_until(DEADLINE, "drift again", || !drifted(&rig.m).is_empty()).await;
    env.project("p1").remove(".claude/skills/review");
    wait_until(DEADLINE, "drift gone with the copy", || {
        let w = rig.m.where_is("review", None).unwrap();
        drifted(&rig.m).is_empty() && w.len() == 1 && w[0].projects == 1
    })
    .await;
    rig.stop().await;
}

/// The CLI on this environment's database and root, with `args`, nothing on its stdin.
fn cli_command(env: &TestEnv, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("HOME", &env.home)
        .arg("--db")
        .arg(&env.db)
        .arg("--root")
        .arg(&env.root)
        .args(args)
        .stdin(Stdio::null());
    c
}

fn cli(env: &TestEnv, args: &[&str]) -> Value {
    let o = cli_command(env, args)
        .arg("--json")
        .output()
        .expect("the binary runs");
    assert!(o.status.success(), "{args:?}: {o:?}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

#[test]
fn library_where_cost_and_findings_json_from_the_cli() {
    let env = TestEnv::new();
    review(&env, "p1", REVIEW_A);
    review(&env, "p2", REVIEW_B);
    env.project("p2").command("ship", "Ship it");
    cli(&env, &["refresh"]);

    let lib = cli(&env, &["library", "--drifted"]);
    assert_eq!(lib["total"], 1);
    let e = &lib["items"][0];
    assert_eq!(e["kind"], "skill");
    assert_eq!(e["name"], "review");
    assert_eq!(e["copies"], 2);
    assert_eq!(e["variants"], 2);
    assert_eq!(e["drifted"], true);
    assert_eq!(e["scopes"]["project"], 2);

    let cmds = cli(&env, &["library", "--kind", "command", "--sort", "name"]);
    assert_eq!(cmds["total"], 1);
    assert_eq!(cmds["items"][0]["name"], "ship");

    let w = cli(&env, &["where", "review", "--kind", "skill"]);
    assert_eq!(w[0]["name"], "review");
    assert_eq!(w[0]["projects"], 2);
    let hashes: Vec<&str> = w[0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["content_hash"].as_str().unwrap())
        .collect();
    assert!(hashes.contains(&skill_hash(REVIEW_A).as_str()));
    assert!(hashes.contains(&skill_hash(REVIEW_B).as_str()));
    let copy = &w[0]["variants"][0]["copies"][0];
    for key in [
        "aid",
        "project_id",
        "project_name",
        "project_path",
        "scope",
        "path",
        "managed",
    ] {
        assert!(copy.get(key).is_some(), "copy lacks {key}: {copy}");
    }

    // "- review: Review the change\n" = 28 bytes → 7 tokens; "- ship: Ship it\n" = 16 → 4.
    let ranked = cli(&env, &["cost"]);
    assert_eq!(ranked[0]["name"], "p2");
    assert_eq!(ranked[0]["context_tokens"], 11);
    assert_eq!(ranked[1]["context_tokens"], 7);
    let one = cli(&env, &["cost", "p2"]);
    assert_eq!(one["total_tokens"], 11);
    assert_eq!(one["items"][0]["name"], "review");

    let f = cli(&env, &["findings"]);
    assert!(
        f.as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "drift" && x["name"] == "review")
    );
}

/// The user scope reaches every project: its memory file and its skills' listing lines count
/// in each project's cost, a project copy differing from the user copy is a finding (a
/// personal skill wins over a project skill of the same name: code.claude.com/docs/en/skills),
/// and a project far above the median is one too.
#[test]
fn user_scope_costs_reach_every_project_and_findings_name_differences_and_heavy_projects() {
    let mut env = TestEnv::new();
    env.config.include_user_scope = true;
    let user = common::ProjectDir {
        path: env.home.clone(),
    };
    // "Be kind.\n" = 9 bytes → 3 tokens; "- review: Review the change\n" = 28 bytes → 7 tokens.
    user.write(".claude/CLAUDE.md", "Be kind.\n");
    user.write(".claude/skills/review/SKILL.md", REVIEW_A);
    review(&env, "p1", REVIEW_B);
    // "- big: " + 400 + "\n" = 408 bytes → 102 tokens.
    env.project("p2").agent("big", "big", &"d".repeat(400));
    // "- x: Do x\n" = 10 bytes → 3 tokens.
    env.project("p3").command("x", "Do x");
    let m = env.open();
    let r = refresh_now(&m, true).expect("refresh");
    assert!(r.failed.is_empty(), "{r:?}");

    let tokens = |name: &str| {
        m.get_project(&env.root.join(name).display().to_string())
            .unwrap()
            .project
            .context_tokens
    };
    // p1's own review is shadowed by the user's: only the user scope's 10 tokens.
    assert_eq!((tokens("p1"), tokens("p2"), tokens("p3")), (10, 112, 13));
    let c1 = m
        .project_cost(&env.root.join("p1").display().to_string())
        .unwrap();
    let items: Vec<(String, u32, skillmeat_cache::Scope)> = c1
        .items
        .iter()
        .map(|i| (i.name.clone(), i.tokens, i.scope))
        .collect();
    assert_eq!(
        items,
        vec![
            ("review".to_string(), 7, skillmeat_cache::Scope::User),
            (
                ".claude/CLAUDE.md".to_string(),
                3,
                skillmeat_cache::Scope::User
            ),
        ]
    );

    let f = m.findings().unwrap();
    let codes: Vec<(&str, Option<&str>)> = f
        .iter()
        .map(|x| (x.code.as_str(), x.project_name.as_deref()))
        .collect();
    // Median of (10, 13, 112) is 13; only p2 is above 2 × 13.
    assert!(codes.contains(&("heavy_context", Some("p2"))), "{codes:?}");
    assert!(!codes.contains(&("heavy_context", Some("p3"))), "{codes:?}");
    let diff = f
        .iter()
        .find(|x| x.code == "differs_from_user")
        .expect("differs_from_user");
    assert_eq!(diff.project_name.as_deref(), Some("p1"));
    assert!(
        diff.detail.contains("loads the user copy"),
        "{}",
        diff.detail
    );
    // One identity, two contents (the user's and p1's): drift too.
    assert!(codes.contains(&("drift", None)));
}

/// Every column of both library tables equals a recount from the artifacts, written here.
fn assert_tables_equal_a_recount(env: &TestEnv, after: &str) {
    let c = env.raw();
    let rows = |sql: &str| -> Vec<String> {
        let mut s = c.prepare(sql).unwrap();
        let n = s.column_count();
        s.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    };
    assert_eq!(
        rows("SELECT kind, plugin, name, copies, variants, managed, tokens, n_user, n_project,
                     n_local, n_plugin, n_managed FROM lib_identities ORDER BY 1, 2, 3"),
        rows("SELECT kind, ifnull(plugin, ''), name, count(*), count(DISTINCT substr(content_hash, 1, 16)),
                     sum(local_modified IS NOT NULL), sum(tokens), sum(scope = 'user'),
                     sum(scope = 'project'), sum(scope = 'local'), sum(scope = 'plugin'),
                     sum(scope = 'managed')
              FROM artifacts WHERE kind <> 'memory' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
        "identities after {after}"
    );
    assert_eq!(
        rows("SELECT kind, plugin, name, hash16, copies FROM lib_variants ORDER BY 1, 2, 3, 4"),
        rows(
            "SELECT kind, ifnull(plugin, ''), name, substr(content_hash, 1, 16), count(*)
              FROM artifacts WHERE kind <> 'memory' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        ),
        "variants after {after}"
    );
}

/// The trigger-kept tables always equal a recount from the artifacts themselves, through adds,
/// edits, renames, deletions, a project removed from the cache and a clear.
#[test]
fn library_tables_always_equal_a_recount_of_the_artifacts() {
    let env = TestEnv::new();
    let m = env.open();
    let check = |what: &str| assert_tables_equal_a_recount(&env, what);
    let identities = || -> i64 {
        env.raw()
            .query_row("SELECT count(*) FROM lib_identities", [], |r| r.get(0))
            .unwrap()
    };
    review(&env, "p1", REVIEW_A);
    review(&env, "p2", REVIEW_B);
    env.project("p3").agent("a", "a", "An agent");
    env.project("p3").write("CLAUDE.md", "Memory stays out.\n");
    refresh_now(&m, true).unwrap();
    check("the first refresh");
    assert_eq!(identities(), 2);

    review(&env, "p2", REVIEW_A);
    env.project("p3").agent("a", "a-renamed", "An agent");
    env.project("p1").command("go", "Go");
    refresh_now(&m, true).unwrap();
    check("edits and a rename");

    env.project("p1").remove(".claude/skills/review");
    refresh_now(&m, true).unwrap();
    check("a deletion");

    m.remove_project(&env.root.join("p2").display().to_string())
        .unwrap();
    check("a project removed from the cache");

    m.clear().unwrap();
    check("a clear");
    assert_eq!(identities(), 0);
}

/// A large refresh run sets the triggers aside and recounts once at its end; a run that wrote
/// nothing just turns them back on; a pause left behind by an interrupted run is repaired by
/// the next library read once it is old, and at once by the service's start. The tables equal
/// a recount every time.
#[test]
fn a_large_run_recounts_the_library_once_and_a_left_pause_is_repaired() {
    let env = TestEnv::new();
    let n = skillmeat_cache::manager::library::BULK_MIN_PROJECTS + 5;
    for i in 0..n {
        review(
            &env,
            &format!("p{i:03}"),
            if i % 2 == 0 { REVIEW_A } else { REVIEW_B },
        );
        env.project(&format!("p{i:03}"))
            .command(&format!("own-{i}"), "Mine");
    }
    let m = env.open();
    let state = || -> (i64, i64) {
        env.raw()
            .query_row("SELECT live, dirty FROM lib_state", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap()
    };
    let library = |m: &CacheManager| {
        let p = m
            .library(&LibraryQuery {
                sort: LibrarySort::Name,
                limit: Some(1000),
                ..Default::default()
            })
            .unwrap();
        p.items
            .iter()
            .map(|e| (e.name.clone(), e.copies, e.variants))
            .collect::<Vec<_>>()
    };
    refresh_now(&m, true).unwrap();
    assert_eq!(state(), (1, 0));
    assert_tables_equal_a_recount(&env, "the first (cold) run");
    let lib = library(&m);
    assert_eq!(lib.len(), n + 1);
    // 28 copies of A (even indices of 55), 27 of B.
    assert_eq!(lib.last().unwrap(), &("review".to_string(), n as u64, 2));

    // Nothing changed: the run just turns the triggers back on.
    refresh_now(&m, true).unwrap();
    assert_eq!(state(), (1, 0));
    assert_eq!(library(&m), lib);

    // Every odd project back to A: one variant left after the run's recount.
    for i in (1..n).step_by(2) {
        review(&env, &format!("p{i:03}"), REVIEW_A);
    }
    refresh_now(&m, true).unwrap();
    assert_eq!(state(), (1, 0));
    assert_eq!(
        library(&m).last().unwrap(),
        &("review".to_string(), n as u64, 1)
    );

    // A pause left behind by an interrupted run (`since`: when it began), then one project's
    // skill changes and that project alone is refreshed (too few for a run of its own).
    let leave_pause_then_change = |since: i64, project: &str, text: &str| {
        env.raw()
            .execute("UPDATE lib_state SET live = 0, since = ?1", [since])
            .unwrap();
        review(&env, project, text);
        skillmeat_cache::refresh::refresh_project_now(
            &m,
            &env.root.join(project).display().to_string(),
            true,
        )
        .unwrap();
    };

    // Left behind a moment ago by a run that is gone (no run holds the run lock): the next
    // library read recounts at once, whatever the pause's age.
    leave_pause_then_change(skillmeat_cache::store::now_ms(), "p000", REVIEW_B);
    assert_eq!(
        library(&m).last().unwrap(),
        &("review".to_string(), n as u64, 2)
    );
    assert_eq!(state(), (1, 0));

    // A run alive in another process holds the run lock (shared): its pause stands, for
    // reads and for the service's start alike; once the run lets go, the next read recounts.
    // A third content makes the stale counts (two variants) and the recount (three) differ.
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(skillmeat_cache::manager::library::run_lock_path(&env.db))
        .unwrap();
    lock.lock_shared().unwrap();
    leave_pause_then_change(
        skillmeat_cache::store::now_ms(),
        "p001",
        "---\nname: review\ndescription: Review the change\n---\nCheck nothing.\n",
    );
    assert_eq!(state().0, 0, "still paused");
    assert_eq!(
        library(&m).last().unwrap(),
        &("review".to_string(), n as u64, 2),
        "a live run's pause is not repaired by a read"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = rt
        .block_on(skillmeat_cache::service::Service::start_with(m.clone()))
        .unwrap();
    assert_eq!(state().0, 0, "nor by the service's start");
    rt.block_on(svc.stop());
    drop(lock);
    assert_eq!(
        library(&m).last().unwrap(),
        &("review".to_string(), n as u64, 3),
        "A, B and the new content"
    );
    assert_eq!(state(), (1, 0));
    assert_tables_equal_a_recount(&env, "the repair of a pause whose run let go");

    // A pause older than ten minutes is repaired even while its run holds the lock (a run
    // hung that long); a fourth content makes the stale and the recounted counts differ.
    let lock =
        std::fs::File::open(skillmeat_cache::manager::library::run_lock_path(&env.db)).unwrap();
    lock.lock_shared().unwrap();
    leave_pause_then_change(
        1,
        "p002",
        "---\nname: review\ndescription: Review the change\n---\nCheck the tests.\n",
    );
    assert_eq!(
        library(&m).last().unwrap(),
        &("review".to_string(), n as u64, 4)
    );
    assert_eq!(state(), (1, 0));
    drop(lock);
}

/// A large CLI refresh killed while the library's triggers are set aside: its run lock dies
/// with it, so the next library read recounts at once instead of serving stale counts.
#[test]
fn a_killed_large_refresh_is_repaired_by_the_next_library_read() {
    let env = TestEnv::new();
    // Enough projects for the run to stay paused a while (debug build: about a second).
    for i in 0..300 {
        review(
            &env,
            &format!("p{i:03}"),
            if i % 2 == 0 { REVIEW_A } else { REVIEW_B },
        );
    }
    let m = env.open();
    let live = || -> i64 {
        env.raw()
            .query_row("SELECT live FROM lib_state", [], |r| r.get(0))
            .unwrap()
    };
    let lock_path = skillmeat_cache::manager::library::run_lock_path(&env.db);
    let mut killed_while_paused = false;
    for _ in 0..5 {
        let mut child = cli_command(&env, &["refresh", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary runs");
        // Until the run has set the triggers aside (or ended before it was seen doing so).
        let deadline = std::time::Instant::now() + DEADLINE;
        while live() == 1 && child.try_wait().unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "the run never paused");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // A paused run holds the run lock: an exclusive lock is refused, unless the run has
        // ended meanwhile (it lets go only after turning the triggers back on).
        let probe = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .unwrap();
        match probe.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) => {}
            Ok(()) => {
                probe.unlock().unwrap();
                assert_eq!(live(), 1, "a paused run without the run lock");
            }
            Err(e) => panic!("run lock: {e:?}"),
        }
        drop(probe);
        let _ = child.kill();
        child.wait().unwrap();
        // A run that ended turned the triggers back on: paused now means killed while paused.
        if live() == 0 {
            killed_while_paused = true;
            break;
        }
    }
    assert!(
        killed_while_paused,
        "every run ended before it could be killed"
    );
    assert_eq!(live(), 0, "the killed run left its pause behind");
    m.library(&LibraryQuery::default()).unwrap();
    assert_eq!(live(), 1, "the read repaired it");
    assert_tables_equal_a_recount(&env, "the repair of a killed run's pause");
}
