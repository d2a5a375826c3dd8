//! Integration tests of the store and the manager: population, lookups, paging, artifacts,
//! search, metadata, TTL and invalidation, change detection, concurrency and recovery.
//!
//! Every test writes real project folders in a temporary directory and uses a real SQLite
//! file; nothing of the engine is mocked. Faults are injected with real means (garbage bytes,
//! truncation, file modes, an SQLite trigger that aborts writes, a killed process).

mod common;

use common::{ProjectDir, TestEnv, files_starting_with, raw, wait_clock_past, wait_until};
use skillmeat_cache::collection::Collection;
use skillmeat_cache::refresh::{refresh_now, refresh_project_now};
use skillmeat_cache::scan::{PrevIndex, scan_project};
use skillmeat_cache::store::{
    NewProject, OutdatedSort, ProjectFilter, ProjectUpdate, SearchSort, Store, now_ms,
    project_id_for,
};
use skillmeat_cache::{
    Artifact, ArtifactKind, ArtifactQuery, CacheError, CacheEvent, CacheManager, ChangedArtifact,
    Config, InvalidationReason, KindCounts, Project, ProjectOrigin, ProjectStatus, SearchQuery,
    VersionCmp,
};
use std::collections::HashSet;
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn all_projects(m: &CacheManager) -> Vec<Project> {
    let page = m.list_projects(&ProjectFilter::default()).unwrap();
    assert_eq!(
        page.total as usize,
        page.items.len(),
        "an unpaged list returns every row"
    );
    page.items
}

fn project(m: &CacheManager, key: &str) -> Project {
    m.get_project(key).unwrap().project
}

fn names_of(projects: &[Project]) -> Vec<String> {
    projects.iter().map(|p| p.name.clone()).collect()
}

fn artifacts(m: &CacheManager, project: &str, kind: Option<ArtifactKind>) -> Vec<Artifact> {
    let page = m
        .list_artifacts(&ArtifactQuery {
            project: Some(project.to_string()),
            kind,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.total as usize, page.items.len());
    page.items
}

fn artifact_names(m: &CacheManager, project: &str, kind: Option<ArtifactKind>) -> Vec<String> {
    let mut v: Vec<String> = artifacts(m, project, kind)
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

fn changed(kind: ArtifactKind, name: &str, path: &str) -> ChangedArtifact {
    ChangedArtifact {
        kind,
        name: name.to_string(),
        path: path.to_string(),
    }
}

fn count_rows(db: &Path, sql: &str) -> i64 {
    raw(db).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Drains every event currently queued on a receiver.
fn drain(rx: &mut tokio::sync::broadcast::Receiver<CacheEvent>) -> Vec<CacheEvent> {
    let mut v = Vec::new();
    while let Ok(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Store and manager
// ---------------------------------------------------------------------------------------------

#[test]
fn populating_an_empty_cache_lists_both_projects_with_their_counts() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha
        .skill("fmt", "fmt", "Formats code")
        .skill("lint", "lint", "Lints code")
        .agent("reviewer", "reviewer", "Reviews code")
        .command("deploy", "Deploys the app")
        .command("git/commit", "Commits")
        .hooks(&[("PreToolUse", "echo pre"), ("Stop", "echo stop")])
        .mcp(&["github"]);
    let beta = env.project("beta");
    beta.skill("only", "only", "The only skill");

    let m = env.open();
    assert_eq!(m.list_projects(&ProjectFilter::default()).unwrap().total, 0);
    assert_eq!(m.status().unwrap().projects, 0);

    let report = refresh_now(&m, false).unwrap();
    assert_eq!(
        (report.considered, report.refreshed, report.skipped),
        (2, 2, 0)
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.changed.len(), 2);
    assert!(report.changed.iter().all(|c| c.changes.new_project));

    let projects = all_projects(&m);
    assert_eq!(names_of(&projects), ["alpha", "beta"]);
    assert!(projects.iter().all(|p| p.status == ProjectStatus::Fresh));
    assert_eq!(projects[0].path, alpha.key());
    assert_eq!(projects[0].id, project_id_for(&alpha.key()));
    assert_eq!(projects[0].origin, ProjectOrigin::Discovered);
    assert_eq!(
        projects[0].counts,
        KindCounts {
            skill: 2,
            agent: 1,
            command: 2,
            hook: 2,
            mcp_server: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        projects[1].counts,
        KindCounts {
            skill: 1,
            ..Default::default()
        }
    );

    let detail = m.get_project(&alpha.key()).unwrap();
    let mut got: Vec<(ArtifactKind, String)> = detail
        .artifacts
        .iter()
        .map(|a| (a.kind, a.name.clone()))
        .collect();
    got.sort();
    let want: Vec<(ArtifactKind, String)> = [
        (ArtifactKind::Skill, "fmt"),
        (ArtifactKind::Skill, "lint"),
        (ArtifactKind::Agent, "reviewer"),
        (ArtifactKind::Command, "deploy"),
        (ArtifactKind::Command, "git:commit"),
        (ArtifactKind::Hook, "PreToolUse"),
        (ArtifactKind::Hook, "Stop"),
        (ArtifactKind::McpServer, "github"),
    ]
    .into_iter()
    .map(|(k, n)| (k, n.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(detail.artifacts.iter().all(|a| a.project == alpha.key()));
    assert_eq!(artifact_names(&m, &beta.key(), None), ["only"]);

    let st = m.status().unwrap();
    assert_eq!(
        (st.projects, st.artifacts, st.fresh, st.stale, st.errored),
        (2, 9, 2, 0, 0)
    );
    assert_eq!(
        st.counts,
        KindCounts {
            skill: 3,
            agent: 1,
            command: 2,
            hook: 2,
            mcp_server: 1,
            ..Default::default()
        }
    );
}

#[test]
fn repopulating_with_a_changed_name_and_description_updates_in_place() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha
        .project_file("Alpha One", "first version")
        .skill("fmt", "fmt", "Formats code");
    env.project("beta").skill("b", "b", "beta skill");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let before = project(&m, &alpha.key());
    assert_eq!(before.name, "Alpha One");
    assert_eq!(before.description.as_deref(), Some("first version"));

    alpha
        .project_file("Alpha Two", "second version, longer")
        .skill("fmt", "fmt", "Formats code, and better");
    let report = refresh_now(&m, true).unwrap();
    assert_eq!(report.refreshed, 2);
    assert_eq!(report.changed.len(), 1, "beta did not change");
    let ch = &report.changed[0];
    assert_eq!(ch.path, alpha.key());
    assert!(!ch.changes.new_project);
    assert!(ch.changes.project_changed);
    assert_eq!(
        ch.changes.modified,
        [changed(ArtifactKind::Skill, "fmt", ".claude/skills/fmt")]
    );
    assert!(ch.changes.added.is_empty() && ch.changes.removed.is_empty());

    let after = project(&m, &alpha.key());
    assert_eq!(after.id, before.id);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(after.name, "Alpha Two");
    assert_eq!(after.description.as_deref(), Some("second version, longer"));
    assert_eq!(all_projects(&m).len(), 2);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 2);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 2);
    let arts = artifacts(&m, &alpha.key(), None);
    assert_eq!(arts.len(), 1);
    assert_eq!(arts[0].description, "Formats code, and better");
}

#[test]
fn duplicate_path_or_id_is_a_conflict() {
    let env = TestEnv::new();
    let m = env.open();
    let s = m.store();
    let np = NewProject {
        path: "/nowhere/dup".into(),
        name: "dup".into(),
        origin: ProjectOrigin::Added,
    };
    let id = s.insert_project(&np).unwrap();
    assert_eq!(id, project_id_for("/nowhere/dup"));

    let err = s.insert_project(&np).unwrap_err();
    assert!(matches!(err, CacheError::Conflict(_)), "{err:?}");
    assert_eq!(err.code(), "conflict");
    let renamed = NewProject {
        name: "another name".into(),
        ..np.clone()
    };
    assert!(matches!(
        s.insert_project(&renamed),
        Err(CacheError::Conflict(_))
    ));

    // Same id, another path: the id is unique too.
    let err = s
        .write(|tx| {
            tx.execute(
                "INSERT INTO projects(id, path, name, created_at, updated_at) VALUES (?1, '/nowhere/other', 'o', 0, 0)",
                [&id],
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::Conflict(_)), "{err:?}");

    // ensure_projects skips the known path and adds only the new one.
    let other = NewProject {
        path: "/nowhere/other".into(),
        name: "other".into(),
        origin: ProjectOrigin::Added,
    };
    let added = s.ensure_projects(&[np, other]).unwrap();
    assert_eq!(added, [project_id_for("/nowhere/other")]);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 2);
}

#[test]
fn foreign_key_violation_and_unknown_project_are_typed_errors() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.skill("s", "s", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();

    // An artifact row pointing at no project, through the store's own write path.
    let err = m
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO artifacts(project_rid, kind, name, description, path, content_hash, frontmatter, source, stamp, fp, updated_at)
                 VALUES (987654, 'skill', 'ghost', '', '.claude/skills/ghost', 'h', 'none', 's', 'st', 'fp', 0)",
                [],
            )?;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::ForeignKey(_)), "{err:?}");
    assert_eq!(err.code(), "foreign_key");

    // Writing a scan result for a project that is not cached is "not found", not a creation.
    let snap = scan_project(&p.path, &PrevIndex::default(), &Collection::default());
    let upd = ProjectUpdate {
        snapshot: &snap,
        name: "ghost".into(),
        scan_started: now_ms(),
        tree_stamp: None,
        fingerprints: None,
    };
    let err = m.store().apply_refresh("000000000000", &upd).unwrap_err();
    assert!(
        matches!(
            err,
            CacheError::NotFound {
                what: "project",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 1);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 1);
}

#[test]
fn get_by_id_and_by_path_and_missing_is_not_found() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("s", "s", "d");
    env.project("beta");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let id = project_id_for(&alpha.key());

    let by_id = m.get_project(&id).unwrap();
    let by_path = m.get_project(&alpha.key()).unwrap();
    let by_slash = m.get_project(&format!("{}/", alpha.key())).unwrap();
    let by_name = m.get_project("alpha").unwrap();
    for d in [&by_id, &by_path, &by_slash, &by_name] {
        assert_eq!(d.project.id, id);
        assert_eq!(d.project.path, alpha.key());
        assert_eq!(d.artifacts.len(), 1);
    }
    assert_eq!(m.store().get_project(&id, 0).unwrap().path, alpha.key());

    let err = m.get_project("no-such-project").unwrap_err();
    assert!(
        matches!(&err, CacheError::NotFound { what: "project", key } if key == "no-such-project"),
        "{err:?}"
    );
    assert!(err.is_not_found());
    let err = m
        .get_project(&env.root.join("gamma").display().to_string())
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = m.store().get_project("ffffffffffff", 0).unwrap_err();
    assert!(matches!(err, CacheError::NotFound { .. }), "{err:?}");
    assert!(matches!(
        m.get_project("   "),
        Err(CacheError::InvalidInput(_))
    ));
}

#[test]
fn a_broken_database_is_not_reported_as_not_found() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("s", "s", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let id = project_id_for(&alpha.key());
    assert!(m.get_project(&id).is_ok());

    raw(&env.db).execute_batch("DROP TABLE projects;").unwrap();

    let err = m.get_project(&id).unwrap_err();
    assert!(matches!(err, CacheError::Database(_)), "{err:?}");
    assert!(!err.is_not_found());
    assert_eq!(err.code(), "database");
    let err = m.list_projects(&ProjectFilter::default()).unwrap_err();
    assert!(matches!(err, CacheError::Database(_)), "{err:?}");
}

#[test]
fn list_projects_pages_are_disjoint_and_stable_and_filter_by_status() {
    let env = TestEnv::new();
    let dirs: Vec<ProjectDir> = (0..7)
        .map(|i| {
            let p = env.project(&format!("proj-{i}"));
            p.skill("s", "s", "d");
            p
        })
        .collect();
    let m = env.open();
    refresh_now(&m, false).unwrap();

    let page = |skip, limit| {
        m.list_projects(&ProjectFilter {
            status: None,
            skip,
            limit: Some(limit),
        })
        .unwrap()
    };
    let p1 = page(0, 3);
    let p2 = page(3, 3);
    let p3 = page(6, 3);
    assert_eq!((p1.total, p2.total, p3.total), (7, 7, 7));
    assert_eq!((p1.items.len(), p2.items.len(), p3.items.len()), (3, 3, 1));
    assert_eq!(p2.skip, 3);
    let mut seen: Vec<String> = Vec::new();
    for p in p1.items.iter().chain(&p2.items).chain(&p3.items) {
        seen.push(p.name.clone());
    }
    let want: Vec<String> = (0..7).map(|i| format!("proj-{i}")).collect();
    assert_eq!(seen, want, "pages in name order, disjoint, complete");
    // Stable: the same page twice gives the same rows.
    assert_eq!(
        names_of(&page(3, 3).items),
        names_of(&p2.items),
        "same page, same rows"
    );
    let past = page(10, 3);
    assert_eq!((past.total, past.items.len()), (7, 0));

    m.invalidate(Some(&dirs[1].key()), InvalidationReason::Manual)
        .unwrap();
    m.invalidate(Some(&dirs[4].key()), InvalidationReason::Manual)
        .unwrap();
    let stale = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Stale),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stale.total, 2);
    assert_eq!(names_of(&stale.items), ["proj-1", "proj-4"]);
    let fresh = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Fresh),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(fresh.total, 5);
    assert_eq!(
        names_of(&fresh.items),
        ["proj-0", "proj-2", "proj-3", "proj-5", "proj-6"]
    );
    let fresh_tail = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Fresh),
            skip: 4,
            limit: Some(2),
        })
        .unwrap();
    assert_eq!(fresh_tail.total, 5);
    assert_eq!(names_of(&fresh_tail.items), ["proj-6"]);
    let errored = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Error),
            ..Default::default()
        })
        .unwrap();
    assert_eq!((errored.total, errored.items.len()), (0, 0));
}

#[test]
fn no_hidden_row_cap_with_150_projects() {
    let env = TestEnv::new();
    for i in 0..150 {
        env.project(&format!("p{i:03}")).command("go", "Goes");
    }
    let m = env.open();
    let report = refresh_now(&m, false).unwrap();
    assert_eq!((report.considered, report.refreshed), (150, 150));
    assert!(report.failed.is_empty());

    let list = m.list_projects(&ProjectFilter::default()).unwrap();
    assert_eq!((list.total, list.items.len()), (150, 150));
    let ids: HashSet<&str> = list.items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), 150);
    let arts = m.list_artifacts(&ArtifactQuery::default()).unwrap();
    assert_eq!((arts.total, arts.items.len()), (150, 150));
    let st = m.status().unwrap();
    assert_eq!((st.projects, st.fresh, st.artifacts), (150, 150, 150));

    assert_eq!(m.invalidate(None, InvalidationReason::Manual).unwrap(), 150);
    let st = m.status().unwrap();
    assert_eq!((st.projects, st.stale, st.fresh), (150, 150, 0));

    assert_eq!(m.clear().unwrap(), 150);
    let st = m.status().unwrap();
    assert_eq!((st.projects, st.artifacts), (0, 0));
    assert_eq!(m.list_projects(&ProjectFilter::default()).unwrap().total, 0);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 0);
}

/// Writes the SkillMeat collection and deployment records for the outdated scenarios:
/// alpha: fmt 1.0.0 (collection 2.0.0, outdated), zeta 2.0.0 (same, outdated), lint (up to date),
/// an agent; beta: fmt 3.0.0 (project newer, outdated), command go (outdated, no version).
fn outdated_fixture(env: &TestEnv) -> (ProjectDir, ProjectDir) {
    let old = "1".repeat(64);
    let alpha = env.project("alpha");
    alpha
        .skill_with(
            "fmt",
            "name: fmt\ndescription: Formats\nversion: \"1.0.0\"",
            "x",
        )
        .skill_with(
            "zeta",
            "name: zeta\ndescription: Last\nversion: \"2.0.0\"",
            "x",
        )
        .skill_with(
            "lint",
            "name: lint\ndescription: Lints\nversion: \"1.0.0\"",
            "x",
        )
        .agent("helper", "helper", "Helps");
    let lint_hash =
        skillmeat_cache::hash::hash_dir(&alpha.path.join(".claude/skills/lint")).unwrap();
    let record = |name: &str, ty: &str, path: &str, hash: &str| {
        format!(
            "[[deployed]]\nartifact_name = \"{name}\"\nartifact_type = \"{ty}\"\nfrom_collection = \"default\"\n\
             deployed_at = \"2025-01-01T00:00:00\"\nartifact_path = \"{path}\"\ncontent_hash = \"{hash}\"\n\n"
        )
    };
    alpha.write(
        ".claude/.skillmeat-deployed.toml",
        &(record("fmt", "skill", "skills/fmt", &old)
            + &record("zeta", "skill", "skills/zeta", &old)
            + &record("lint", "skill", "skills/lint", &lint_hash)),
    );
    let beta = env.project("beta");
    beta.skill_with(
        "fmt",
        "name: fmt\ndescription: Formats\nversion: \"3.0.0\"",
        "y",
    )
    .command("go", "Goes");
    beta.write(
        ".claude/.skillmeat-deployed.toml",
        &(record("fmt", "skill", "skills/fmt", &old)
            + &record("go", "command", "commands/go.md", &old)),
    );
    let coll = env.collection_dir();
    fs::write(
        coll.join("collection.lock"),
        format!(
            "[lock]\nversion = \"1.0.0\"\n\n\
             [lock.entries.\"fmt::skill\"]\ncontent_hash = \"{}\"\nresolved_version = \"2.0.0\"\n\n\
             [lock.entries.\"zeta::skill\"]\ncontent_hash = \"{}\"\nresolved_version = \"2.0.0\"\n\n\
             [lock.entries.\"lint::skill\"]\ncontent_hash = \"{lint_hash}\"\nresolved_version = \"1.0.0\"\n\n\
             [lock.entries.\"go::command\"]\ncontent_hash = \"{}\"\n",
            "2".repeat(64),
            "3".repeat(64),
            "4".repeat(64)
        ),
    )
    .unwrap();
    (alpha, beta)
}

fn label(a: &Artifact) -> String {
    let project = Path::new(&a.project)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    format!("{}@{project}", a.name)
}

#[test]
fn artifacts_by_project_by_kind_and_outdated_only() {
    let env = TestEnv::new();
    let (alpha, beta) = outdated_fixture(&env);
    let m = env.open();
    let r = refresh_now(&m, false).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);

    let q = |project: Option<&ProjectDir>, kind, outdated| {
        let page = m
            .list_artifacts(&ArtifactQuery {
                project: project.map(|p| p.key()),
                kind,
                outdated,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.total as usize, page.items.len());
        let mut v: Vec<String> = page.items.iter().map(label).collect();
        v.sort();
        v
    };
    assert_eq!(q(None, None, None).len(), 6);
    assert_eq!(
        q(Some(&alpha), None, None),
        ["fmt@alpha", "helper@alpha", "lint@alpha", "zeta@alpha"]
    );
    assert_eq!(q(Some(&beta), None, None), ["fmt@beta", "go@beta"]);
    assert_eq!(
        q(None, Some(ArtifactKind::Skill), None),
        ["fmt@alpha", "fmt@beta", "lint@alpha", "zeta@alpha"]
    );
    assert_eq!(
        q(Some(&alpha), Some(ArtifactKind::Skill), None),
        ["fmt@alpha", "lint@alpha", "zeta@alpha"]
    );
    assert_eq!(q(None, Some(ArtifactKind::Command), None), ["go@beta"]);
    assert_eq!(
        q(None, None, Some(true)),
        ["fmt@alpha", "fmt@beta", "go@beta", "zeta@alpha"]
    );
    assert_eq!(q(None, None, Some(false)), ["helper@alpha", "lint@alpha"]);
    assert_eq!(q(Some(&beta), None, Some(true)), ["fmt@beta", "go@beta"]);

    // Paging the artifact list: disjoint pages covering everything.
    let page = |skip, limit| {
        m.list_artifacts(&ArtifactQuery {
            skip,
            limit: Some(limit),
            ..Default::default()
        })
        .unwrap()
    };
    let (a, b) = (page(0, 4), page(4, 4));
    assert_eq!(
        (a.total, b.total, a.items.len(), b.items.len()),
        (6, 6, 4, 2)
    );
    let mut both: Vec<String> = a.items.iter().chain(&b.items).map(label).collect();
    both.sort();
    both.dedup();
    assert_eq!(both.len(), 6);

    // Derived flags and counters.
    let fmt_alpha = artifacts(&m, &alpha.key(), Some(ArtifactKind::Skill))
        .into_iter()
        .find(|a| a.name == "fmt")
        .unwrap();
    assert_eq!(fmt_alpha.outdated, Some(true));
    assert_eq!(fmt_alpha.local_modified, Some(true));
    assert_eq!(fmt_alpha.upstream_version.as_deref(), Some("2.0.0"));
    assert_eq!(fmt_alpha.version_cmp, Some(VersionCmp::CollectionNewer));
    let lint = artifacts(&m, &alpha.key(), Some(ArtifactKind::Skill))
        .into_iter()
        .find(|a| a.name == "lint")
        .unwrap();
    assert_eq!(
        (lint.outdated, lint.local_modified),
        (Some(false), Some(false))
    );
    let pa = project(&m, &alpha.key());
    assert_eq!((pa.outdated_count, pa.modified_count), (2, 2));
    let st = m.status().unwrap();
    assert_eq!((st.outdated, st.modified), (4, 4));
}

#[test]
fn outdated_list_sorts_by_name_kind_project_and_version_both_ways() {
    let env = TestEnv::new();
    let (alpha, beta) = outdated_fixture(&env);
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let run = |sort, desc| -> Vec<String> {
        let page = m.outdated(None, sort, desc, 0, None).unwrap();
        assert_eq!(page.total, 4);
        page.items.iter().map(label).collect()
    };
    assert_eq!(
        run(OutdatedSort::Name, false),
        ["fmt@alpha", "fmt@beta", "go@beta", "zeta@alpha"]
    );
    assert_eq!(
        run(OutdatedSort::Name, true),
        ["zeta@alpha", "go@beta", "fmt@alpha", "fmt@beta"]
    );
    let names = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|s| s.split('@').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(run(OutdatedSort::Kind, false)),
        ["go", "fmt", "fmt", "zeta"]
    );
    assert_eq!(
        names(run(OutdatedSort::Kind, true)),
        ["fmt", "fmt", "zeta", "go"]
    );
    assert_eq!(
        run(OutdatedSort::Project, false),
        ["fmt@alpha", "zeta@alpha", "fmt@beta", "go@beta"]
    );
    assert_eq!(
        run(OutdatedSort::Project, true),
        ["fmt@beta", "go@beta", "fmt@alpha", "zeta@alpha"]
    );
    assert_eq!(
        run(OutdatedSort::Version, false),
        ["fmt@alpha", "zeta@alpha", "fmt@beta", "go@beta"]
    );
    assert_eq!(
        run(OutdatedSort::Version, true),
        ["go@beta", "fmt@beta", "zeta@alpha", "fmt@alpha"]
    );

    let page = m
        .outdated(None, OutdatedSort::Name, false, 1, Some(2))
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(
        page.items.iter().map(label).collect::<Vec<_>>(),
        ["fmt@beta", "go@beta"]
    );
    let only_alpha = m
        .outdated(Some(&alpha.key()), OutdatedSort::Name, false, 0, None)
        .unwrap();
    assert_eq!(only_alpha.total, 2);
    assert_eq!(
        only_alpha.items.iter().map(label).collect::<Vec<_>>(),
        ["fmt@alpha", "zeta@alpha"]
    );
    assert_eq!(
        m.outdated(Some(&beta.key()), OutdatedSort::Name, false, 0, None)
            .unwrap()
            .total,
        2
    );
    assert!(matches!(
        m.outdated(Some("nope"), OutdatedSort::Name, false, 0, None),
        Err(CacheError::NotFound { .. })
    ));

    for (key, want) in [
        ("name", OutdatedSort::Name),
        ("kind", OutdatedSort::Kind),
        ("type", OutdatedSort::Kind),
        ("project", OutdatedSort::Project),
        ("version", OutdatedSort::Version),
    ] {
        assert_eq!(OutdatedSort::parse(key).unwrap(), want);
    }
    for bad in ["bogus", "", "Name "] {
        assert!(
            matches!(OutdatedSort::parse(bad), Err(CacheError::InvalidInput(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn deleting_a_project_cascades_to_its_artifacts_and_index() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha
        .skill_with(
            "uniqueskillzz",
            "name: uniqueskillzz\ndescription: only in alpha\ntags: [alphatag]",
            "x",
        )
        .agent("a1", "a1", "agent")
        .mcp(&["srv"]);
    let beta = env.project("beta");
    beta.skill("b1", "b1", "beta");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let search = |text: &str| {
        m.search(&SearchQuery {
            text: text.into(),
            ..Default::default()
        })
        .unwrap()
        .total
    };
    assert_eq!(search("uniqueskillzz"), 1);
    assert_eq!(search("alphatag"), 1);
    let alpha_id = project_id_for(&alpha.key());

    let (id, path) = m.remove_project(&alpha.key()).unwrap();
    assert_eq!(
        (id.as_str(), path.as_str()),
        (alpha_id.as_str(), alpha.key().as_str())
    );
    assert_eq!(names_of(&all_projects(&m)), ["beta"]);
    let arts = m.list_artifacts(&ArtifactQuery::default()).unwrap();
    assert_eq!(arts.total, 1);
    assert_eq!(arts.items[0].project, beta.key());
    assert_eq!(
        count_rows(
            &env.db,
            "SELECT count(*) FROM artifacts WHERE project_rid NOT IN (SELECT rid FROM projects)"
        ),
        0
    );
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 1);
    assert_eq!(search("uniqueskillzz"), 0);
    assert_eq!(search("alphatag"), 0);
    raw(&env.db)
        .execute_batch(
            "INSERT INTO artifacts_fts(artifacts_fts) VALUES ('integrity-check');
             INSERT INTO artifact_names(artifact_names) VALUES ('integrity-check');",
        )
        .unwrap();
    assert!(m.get_project(&alpha_id).unwrap_err().is_not_found());
    assert_eq!(m.status().unwrap().artifacts, 1);

    // The store's own delete, and deleting what is not there.
    let beta_id = project_id_for(&beta.key());
    m.store().delete_project(&beta_id).unwrap();
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 0);
    assert!(matches!(
        m.store().delete_project(&beta_id),
        Err(CacheError::NotFound { .. })
    ));
}

#[test]
fn bulk_writes_are_one_transaction_and_an_error_rolls_back_the_batch() {
    let env = TestEnv::new();
    let m = env.open();
    let s = m.store();

    // Bulk insert: one call, all new rows; a second call adds only what is new.
    let list: Vec<NewProject> = (0..5)
        .map(|i| NewProject {
            path: format!("/bulk/p{i}"),
            name: format!("p{i}"),
            origin: ProjectOrigin::Added,
        })
        .collect();
    assert_eq!(s.ensure_projects(&list).unwrap().len(), 5);
    let mut more = list.clone();
    more.push(NewProject {
        path: "/bulk/p5".into(),
        name: "p5".into(),
        origin: ProjectOrigin::Added,
    });
    assert_eq!(
        s.ensure_projects(&more).unwrap(),
        [project_id_for("/bulk/p5")]
    );
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 6);

    // An error in the middle of a write rolls back the rows written before it.
    let err = s
        .write(|tx| {
            for path in ["/bulk/x1", "/bulk/x2", "/bulk/p0"] {
                tx.execute(
                    "INSERT INTO projects(id, path, name, created_at, updated_at) VALUES (?1, ?2, 'x', 0, 0)",
                    [project_id_for(path), path.to_string()],
                )?;
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::Conflict(_)), "{err:?}");
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 6);
    assert_eq!(
        count_rows(
            &env.db,
            "SELECT count(*) FROM projects WHERE path LIKE '/bulk/x%'"
        ),
        0
    );
}

#[test]
fn refresh_batch_updates_several_projects_and_rolls_back_on_an_unknown_one() {
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.skill("a1", "a1", "first");
    let b = env.project("beta");
    b.skill("b1", "b1", "first");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let (ida, idb) = (project_id_for(&a.key()), project_id_for(&b.key()));
    let scan =
        |p: &ProjectDir| scan_project(&p.path, &PrevIndex::default(), &Collection::default());

    // Bulk update: both projects in one batch.
    a.skill("a2", "a2", "second");
    b.skill("b2", "b2", "second");
    let (sa, sb) = (scan(&a), scan(&b));
    let items = vec![
        (
            ida.clone(),
            ProjectUpdate {
                snapshot: &sa,
                name: "alpha".into(),
                scan_started: now_ms(),
                tree_stamp: None,
                fingerprints: None,
            },
        ),
        (
            idb.clone(),
            ProjectUpdate {
                snapshot: &sb,
                name: "beta".into(),
                scan_started: now_ms(),
                tree_stamp: None,
                fingerprints: None,
            },
        ),
    ];
    let changes = m.store().apply_refresh_batch(&items).unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0].added,
        [changed(ArtifactKind::Skill, "a2", ".claude/skills/a2")]
    );
    assert_eq!(
        changes[1].added,
        [changed(ArtifactKind::Skill, "b2", ".claude/skills/b2")]
    );
    assert_eq!(artifact_names(&m, &a.key(), None), ["a1", "a2"]);
    assert_eq!(artifact_names(&m, &b.key(), None), ["b1", "b2"]);

    // The second item names an unknown project: the first item's changes are rolled back.
    a.skill("a3", "a3", "third");
    a.remove(".claude/skills/a1");
    let sa = scan(&a);
    let items = vec![
        (
            ida.clone(),
            ProjectUpdate {
                snapshot: &sa,
                name: "alpha renamed".into(),
                scan_started: now_ms(),
                tree_stamp: None,
                fingerprints: None,
            },
        ),
        (
            "000000000000".to_string(),
            ProjectUpdate {
                snapshot: &sb,
                name: "ghost".into(),
                scan_started: now_ms(),
                tree_stamp: None,
                fingerprints: None,
            },
        ),
    ];
    let err = m.store().apply_refresh_batch(&items).unwrap_err();
    assert!(matches!(err, CacheError::NotFound { .. }), "{err:?}");
    assert_eq!(artifact_names(&m, &a.key(), None), ["a1", "a2"]);
    assert_eq!(project(&m, &ida).name, "alpha");
    assert_eq!(project(&m, &ida).counts.skill, 2);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 4);
}

#[test]
fn tags_and_aliases_with_commas_round_trip() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.skill_with(
        "commas",
        "name: commas\ndescription: has commas\ntags:\n  - \"a, b\"\n  - plain\n  - \"c,d,e\"\naliases: [\"x, y\", z]",
        "body",
    );
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let check = |m: &CacheManager| {
        let arts = artifacts(m, &p.key(), Some(ArtifactKind::Skill));
        assert_eq!(arts.len(), 1);
        assert_eq!(arts[0].tags, ["a, b", "plain", "c,d,e"]);
        assert_eq!(arts[0].aliases, ["x, y", "z"]);
    };
    check(&m);
    // A forced rescan leaves them alone and reports nothing.
    let r = refresh_project_now(&m, &p.key(), true).unwrap();
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    check(&m);
    drop(m);
    // And they survive a reopen.
    let m = env.open();
    check(&m);
    let hits = m
        .search(&SearchQuery {
            text: "plain".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.items[0].artifact.tags, ["a, b", "plain", "c,d,e"]);
}

fn search_fixture(env: &TestEnv) -> (ProjectDir, ProjectDir) {
    let alpha = env.project("alpha");
    alpha
        .skill("lint", "lint", "Checks style")
        .agent("linter", "linter", "Strict reviewer")
        .command("eslint-fix", "Fixes style problems")
        .skill("checker", "checker", "Runs lint over the tree")
        .skill("other", "other", "Nothing to see");
    let beta = env.project("beta");
    beta.skill("lint", "lint", "Beta style checks").skill(
        "unrelated",
        "unrelated",
        "Something else",
    );
    (alpha, beta)
}

fn hits(m: &CacheManager, q: SearchQuery) -> (u64, Vec<(u8, String)>) {
    let page = m.search(&q).unwrap();
    (
        page.total,
        page.items
            .iter()
            .map(|h| (h.tier, h.artifact.name.clone()))
            .collect(),
    )
}

#[test]
fn search_ranks_exact_then_prefix_then_substring_and_filters_and_pages() {
    let env = TestEnv::new();
    let (alpha, beta) = search_fixture(&env);
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let q = |text: &str| SearchQuery {
        text: text.into(),
        ..Default::default()
    };

    let (total, got) = hits(&m, q("lint"));
    assert_eq!(total, 5);
    let tiers: Vec<u8> = got.iter().map(|h| h.0).collect();
    let names: Vec<&str> = got.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(tiers, [0, 0, 1, 2, 3]);
    assert_eq!(names, ["lint", "lint", "linter", "eslint-fix", "checker"]);
    // Case does not matter for ranking.
    let (_, upper) = hits(&m, q("LINT"));
    assert_eq!(upper, got);

    // Filters: project, kind, both.
    let (t, v) = hits(
        &m,
        SearchQuery {
            project: Some(beta.key()),
            ..q("lint")
        },
    );
    assert_eq!((t, v), (1, vec![(0, "lint".to_string())]));
    let page = m
        .search(&SearchQuery {
            project: Some(beta.key()),
            ..q("lint")
        })
        .unwrap();
    assert_eq!(page.items[0].artifact.project, beta.key());
    assert_eq!(page.items[0].project_name, "beta");
    let (t, v) = hits(
        &m,
        SearchQuery {
            kind: Some(ArtifactKind::Agent),
            ..q("lint")
        },
    );
    assert_eq!((t, v), (1, vec![(1, "linter".to_string())]));
    let (t, v) = hits(
        &m,
        SearchQuery {
            kind: Some(ArtifactKind::Command),
            ..q("lint")
        },
    );
    assert_eq!((t, v), (1, vec![(2, "eslint-fix".to_string())]));
    let (t, v) = hits(
        &m,
        SearchQuery {
            project: Some(alpha.key()),
            kind: Some(ArtifactKind::Skill),
            ..q("lint")
        },
    );
    assert_eq!(
        (t, v),
        (2, vec![(0, "lint".to_string()), (3, "checker".to_string())])
    );

    // Paging: total counts every match; limit and skip cut the list.
    let mut paged = Vec::new();
    for skip in [0, 2, 4] {
        let (t, v) = hits(
            &m,
            SearchQuery {
                skip,
                limit: Some(2),
                ..q("lint")
            },
        );
        assert_eq!(t, 5, "total at skip {skip}");
        assert_eq!(v.len(), if skip == 4 { 1 } else { 2 });
        paged.extend(v);
    }
    assert_eq!(paged, got);
    let (t, v) = hits(
        &m,
        SearchQuery {
            skip: 10,
            limit: Some(2),
            ..q("lint")
        },
    );
    assert_eq!((t, v.len()), (5, 0));

    // Short queries, wildcard characters, quotes and no match.
    // One or two characters match the start of names and of words: "li" finds lint, lint,
    // linter and checker ("lint" in its description), not eslint-fix. From three characters
    // on, names match anywhere: "lin" finds eslint-fix too, as a substring.
    let (t, v) = hits(&m, q("li"));
    assert_eq!(t, 4, "{v:?}");
    assert!(v.iter().all(|h| h.1 != "eslint-fix"), "{v:?}");
    let (t, v) = hits(&m, q("lin"));
    assert_eq!(t, 5, "{v:?}");
    assert!(v.contains(&(2, "eslint-fix".to_string())), "{v:?}");
    assert_eq!(hits(&m, q("%")).0, 0);
    assert_eq!(hits(&m, q("_")).0, 0);
    let (t, v) = hits(&m, q("lint\""));
    assert!(t >= 3, "a stray quote is not a syntax error: {v:?}");
    assert_eq!(hits(&m, q("zzzzzz")).0, 0);

    // An empty query is an input error.
    for empty in ["", "   ", "\t\n"] {
        let err = m.search(&q(empty)).unwrap_err();
        assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
    }
    // An unknown project filter is "not found".
    assert!(
        m.search(&SearchQuery {
            project: Some("nope".into()),
            ..q("lint")
        })
        .unwrap_err()
        .is_not_found()
    );
}

#[test]
fn search_sorts_by_name_kind_and_updated_and_rejects_bad_sort_keys() {
    let env = TestEnv::new();
    let (alpha, _beta) = search_fixture(&env);
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let sorted = |sort| -> Vec<String> {
        let (t, v) = hits(
            &m,
            SearchQuery {
                text: "lint".into(),
                sort,
                ..Default::default()
            },
        );
        assert_eq!(t, 5);
        v.into_iter().map(|h| h.1).collect()
    };
    assert_eq!(
        sorted(SearchSort::Name),
        ["checker", "eslint-fix", "lint", "lint", "linter"]
    );
    assert_eq!(
        sorted(SearchSort::Kind),
        ["linter", "eslint-fix", "checker", "lint", "lint"]
    );

    // Change one artifact after the clock has moved: it becomes the most recently updated.
    let newest = m
        .list_artifacts(&ArtifactQuery::default())
        .unwrap()
        .items
        .iter()
        .map(|a| a.updated_at)
        .max()
        .unwrap();
    wait_clock_past(newest);
    alpha.skill("checker", "checker", "Runs lint over the whole tree now");
    let r = refresh_project_now(&m, &alpha.key(), true).unwrap();
    assert_eq!(r.changes.modified.len(), 1);
    let by_updated = sorted(SearchSort::Updated);
    assert_eq!(by_updated[0], "checker");
    assert_eq!(by_updated.len(), 5);

    for (key, want) in [
        ("relevance", SearchSort::Relevance),
        ("name", SearchSort::Name),
        ("kind", SearchSort::Kind),
        ("type", SearchSort::Kind),
        ("updated", SearchSort::Updated),
    ] {
        assert_eq!(SearchSort::parse(key).unwrap(), want);
    }
    for bad in ["bogus", "", "NAME", "rank"] {
        assert!(
            matches!(SearchSort::parse(bad), Err(CacheError::InvalidInput(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn metadata_get_set_update_delete_and_delete_missing() {
    let env = TestEnv::new();
    let m = env.open();
    let s = m.store();
    assert_eq!(s.meta_get("test.key").unwrap(), None);
    s.meta_set("test.key", "one").unwrap();
    assert_eq!(s.meta_get("test.key").unwrap().as_deref(), Some("one"));
    s.meta_set("test.key", "two, with a comma").unwrap();
    assert_eq!(
        s.meta_get("test.key").unwrap().as_deref(),
        Some("two, with a comma")
    );
    s.meta_set("test.other", "kept").unwrap();
    s.meta_delete("test.key").unwrap();
    assert_eq!(s.meta_get("test.key").unwrap(), None);
    let err = s.meta_delete("test.key").unwrap_err();
    assert!(
        matches!(&err, CacheError::NotFound { what: "metadata key", key } if key == "test.key"),
        "{err:?}"
    );
    assert!(matches!(
        s.meta_delete("never.set"),
        Err(CacheError::NotFound { .. })
    ));
    drop(m);
    let m = env.open();
    assert_eq!(
        m.store().meta_get("test.other").unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(m.store().meta_get("test.key").unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// TTL and invalidation
// ---------------------------------------------------------------------------------------------

#[test]
fn refreshed_now_is_fresh_and_fetched_120_minutes_ago_with_a_60_minute_ttl_is_stale() {
    let env = TestEnv::new();
    let old = env.project("old");
    old.skill("s", "s", "d");
    let recent = env.project("recent");
    recent.skill("s", "s", "d");
    let edge = env.project("edge");
    edge.skill("s", "s", "d");
    let m = env.open();
    assert_eq!(m.config().ttl_minutes, 60);
    refresh_now(&m, false).unwrap();
    assert!(
        all_projects(&m)
            .iter()
            .all(|p| p.status == ProjectStatus::Fresh)
    );

    let conn = env.raw();
    let set_age = |p: &ProjectDir, minutes: i64| {
        conn.execute(
            "UPDATE projects SET refreshed_at = ?1 WHERE id = ?2",
            rusqlite::params![now_ms() - minutes * 60_000, project_id_for(&p.key())],
        )
        .unwrap();
    };
    set_age(&old, 120);
    set_age(&edge, 59);

    assert_eq!(project(&m, &old.key()).status, ProjectStatus::Stale);
    assert_eq!(project(&m, &edge.key()).status, ProjectStatus::Fresh);
    assert_eq!(project(&m, &recent.key()).status, ProjectStatus::Fresh);
    // Stale data is still served.
    assert_eq!(artifact_names(&m, &old.key(), None), ["s"]);

    let fresh = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Fresh),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names_of(&fresh.items), ["edge", "recent"]);
    let stale = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Stale),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names_of(&stale.items), ["old"]);
    let st = m.status().unwrap();
    assert_eq!((st.projects, st.fresh, st.stale), (3, 2, 1));

    // Not forced: a fresh project is left alone and the result says so; a stale one is redone.
    let r = refresh_project_now(&m, &recent.key(), false).unwrap();
    assert!(!r.refreshed);
    assert_eq!(r.status, ProjectStatus::Fresh);
    let report = refresh_now(&m, false).unwrap();
    assert_eq!(
        (report.considered, report.refreshed, report.skipped),
        (3, 1, 2)
    );
    assert_eq!(project(&m, &old.key()).status, ProjectStatus::Fresh);
    assert_eq!(m.status().unwrap().stale, 0);
}

#[test]
fn with_a_zero_ttl_a_project_is_stale_as_soon_as_the_clock_moves() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.skill("s", "s", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let refreshed_at = project(&m, &p.key()).refreshed_at.unwrap();
    assert!(refreshed_at <= now_ms());

    let mut cfg = m.config();
    cfg.ttl_minutes = 0;
    m.set_config(cfg);
    wait_clock_past(refreshed_at);
    assert_eq!(project(&m, &p.key()).status, ProjectStatus::Stale);
    let st = m.status().unwrap();
    assert_eq!((st.stale, st.fresh, st.ttl_minutes), (1, 0, 0));
    // Not forced, a stale project is refreshed.
    let r = refresh_project_now(&m, &p.key(), false).unwrap();
    assert!(r.refreshed);
    assert!(project(&m, &p.key()).refreshed_at.unwrap() > refreshed_at);
}

#[test]
fn invalidation_marks_one_or_all_stale_with_one_model_and_queues_a_refresh() {
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.skill("s", "s", "d");
    let b = env.project("beta");
    b.skill("s", "s", "d");
    let c = env.project("gamma");
    c.skill("s", "s", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let mut rx = m.events().subscribe();

    // Each source of invalidation has the same effect: stale, with its reason, and picked up
    // by the next (unforced) refresh.
    for (p, reason, name) in [
        (&a, InvalidationReason::Watcher, "watcher"),
        (&b, InvalidationReason::Manual, "manual"),
        (&c, InvalidationReason::Rescan, "rescan"),
    ] {
        assert_eq!(m.invalidate(Some(&p.key()), reason).unwrap(), 1);
        let statuses: Vec<(String, ProjectStatus)> = all_projects(&m)
            .into_iter()
            .map(|x| (x.name, x.status))
            .collect();
        for (n, s) in &statuses {
            let want = if *n == p.path.file_name().unwrap().to_string_lossy() {
                ProjectStatus::Stale
            } else {
                ProjectStatus::Fresh
            };
            assert_eq!(*s, want, "{name}: {statuses:?}");
        }
        let pr = project(&m, &p.key());
        assert_eq!(pr.invalidated_reason.as_deref(), Some(name));
        let events = drain(&mut rx);
        assert!(
            events.contains(&CacheEvent::ProjectInvalidated {
                id: Some(project_id_for(&p.key())),
                path: Some(p.key()),
                reason,
            }),
            "{events:?}"
        );
        let report = refresh_now(&m, false).unwrap();
        assert_eq!(
            (report.refreshed, report.skipped),
            (1, 2),
            "{name}: only the invalidated project is refreshed"
        );
        let pr = project(&m, &p.key());
        assert_eq!(pr.status, ProjectStatus::Fresh);
        assert_eq!(pr.invalidated_reason, None);
    }

    assert_eq!(m.invalidate(None, InvalidationReason::Manual).unwrap(), 3);
    assert!(
        all_projects(&m)
            .iter()
            .all(|p| p.status == ProjectStatus::Stale)
    );
    assert_eq!(m.status().unwrap().stale, 3);
    assert!(drain(&mut rx).contains(&CacheEvent::ProjectInvalidated {
        id: None,
        path: None,
        reason: InvalidationReason::Manual
    }));
    let report = refresh_now(&m, false).unwrap();
    assert_eq!((report.refreshed, report.skipped), (3, 0));
    assert_eq!(m.status().unwrap().fresh, 3);

    let err = m
        .invalidate(Some("no-such-project"), InvalidationReason::Manual)
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(matches!(
        m.store()
            .invalidate(Some("ffffffffffff"), InvalidationReason::Manual),
        Err(CacheError::NotFound { .. })
    ));
}

#[test]
fn an_errored_project_is_not_fresh_and_a_successful_refresh_clears_the_error() {
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.skill("s1", "s1", "d").skill("s2", "s2", "d");
    let b = env.project("beta");
    b.skill("s", "s", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let id = project_id_for(&a.key());
    let before = project(&m, &id);

    m.store().mark_error(&id, "disk on fire").unwrap();
    let p = project(&m, &id);
    assert_eq!(p.status, ProjectStatus::Error);
    assert_eq!(p.error.as_deref(), Some("disk on fire"));
    // The last good data is kept.
    assert_eq!(p.counts, before.counts);
    assert_eq!(p.refreshed_at, before.refreshed_at);
    assert_eq!(artifact_names(&m, &id, None), ["s1", "s2"]);
    let fresh = m
        .list_projects(&ProjectFilter {
            status: Some(ProjectStatus::Fresh),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names_of(&fresh.items), ["beta"]);
    let st = m.status().unwrap();
    assert_eq!((st.fresh, st.errored), (1, 1));

    let report = refresh_now(&m, false).unwrap();
    assert_eq!((report.refreshed, report.skipped), (1, 1));
    assert!(report.failed.is_empty());
    let p = project(&m, &id);
    assert_eq!(p.status, ProjectStatus::Fresh);
    assert_eq!(p.error, None);
    assert_eq!(m.status().unwrap().errored, 0);

    assert!(matches!(
        m.store().mark_error("ffffffffffff", "x"),
        Err(CacheError::NotFound { .. })
    ));
}

#[test]
fn clear_empties_the_cache_including_artifacts() {
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.skill("s1", "s1", "d").agent("ag", "ag", "d").mcp(&["m"]);
    env.project("beta").command("c", "d");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    assert_eq!(m.status().unwrap().artifacts, 4);
    assert!(m.status().unwrap().last_refresh.is_some());
    let mut rx = m.events().subscribe();

    assert_eq!(m.clear().unwrap(), 2);
    assert!(drain(&mut rx).contains(&CacheEvent::Cleared { projects: 2 }));
    let st = m.status().unwrap();
    assert_eq!(
        (st.projects, st.artifacts, st.fresh, st.stale),
        (0, 0, 0, 0)
    );
    assert_eq!(st.counts, KindCounts::default());
    assert_eq!(st.last_refresh, None);
    assert_eq!(m.list_projects(&ProjectFilter::default()).unwrap().total, 0);
    assert_eq!(
        m.list_artifacts(&ArtifactQuery::default()).unwrap().total,
        0
    );
    assert_eq!(
        m.search(&SearchQuery {
            text: "s1".into(),
            ..Default::default()
        })
        .unwrap()
        .total,
        0
    );
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM artifacts"), 0);
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM changes"), 0);
    assert_eq!(m.clear().unwrap(), 0);
    // The next refresh rebuilds from disk.
    assert_eq!(refresh_now(&m, false).unwrap().refreshed, 2);
    assert_eq!(m.status().unwrap().artifacts, 4);
}

// ---------------------------------------------------------------------------------------------
// Change detection
// ---------------------------------------------------------------------------------------------

#[test]
fn change_detection_reports_exactly_what_changed_and_nothing_for_identical_data() {
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.skill_with(
        "fmt",
        "name: fmt\ndescription: Formats\nversion: \"1.0.0\"",
        "short body",
    )
    .agent("reviewer", "reviewer", "Reviews");
    let m = env.open();
    let mut rx = m.events().subscribe();
    let key = a.key();

    // New project.
    let r = refresh_now(&m, false).unwrap();
    assert_eq!(r.changed.len(), 1);
    let c = &r.changed[0].changes;
    assert!(c.new_project);
    assert!(!c.project_changed);
    let mut added = c.added.clone();
    added.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(
        added,
        [
            changed(ArtifactKind::Skill, "fmt", ".claude/skills/fmt"),
            changed(
                ArtifactKind::Agent,
                "reviewer",
                ".claude/agents/reviewer.md"
            ),
        ]
    );
    assert!(c.removed.is_empty() && c.modified.is_empty());
    drain(&mut rx);

    // Identical data: nothing reported, no event, even when a file is rewritten byte for byte.
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert!(r.refreshed);
    assert!(r.changes.is_empty(), "{:?}", r.changes);
    a.agent("reviewer", "reviewer", "Reviews");
    let rep = refresh_now(&m, true).unwrap();
    assert_eq!(rep.refreshed, 1);
    assert!(rep.changed.is_empty(), "{:?}", rep.changed);
    let events = drain(&mut rx);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CacheEvent::ProjectChanged { .. })),
        "{events:?}"
    );
    let feed_before = m.recent_changes(100).unwrap().len();
    assert_eq!(feed_before, 1);

    // Artifact added.
    a.command("deploy", "Deploys");
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.added,
        [changed(
            ArtifactKind::Command,
            "deploy",
            ".claude/commands/deploy.md"
        )]
    );
    assert!(r.changes.removed.is_empty() && r.changes.modified.is_empty());
    assert!(!r.changes.new_project);
    assert!(drain(&mut rx).iter().any(|e| matches!(
        e,
        CacheEvent::ProjectChanged { summary, .. } if summary == "1 command added"
    )));

    // Content changed (same frontmatter, longer body).
    let fmt_before = artifacts(&m, &key, Some(ArtifactKind::Skill)).remove(0);
    a.skill_with(
        "fmt",
        "name: fmt\ndescription: Formats\nversion: \"1.0.0\"",
        "a much longer body than the one before",
    );
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.modified,
        [changed(ArtifactKind::Skill, "fmt", ".claude/skills/fmt")]
    );
    assert!(r.changes.added.is_empty() && r.changes.removed.is_empty());
    let fmt_after = artifacts(&m, &key, Some(ArtifactKind::Skill)).remove(0);
    assert_ne!(fmt_after.content_hash, fmt_before.content_hash);
    assert_eq!(fmt_after.description, "Formats");

    // Version change.
    a.skill_with(
        "fmt",
        "name: fmt\ndescription: Formats\nversion: \"2.0.0\"",
        "a much longer body than the one before",
    );
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.modified,
        [changed(ArtifactKind::Skill, "fmt", ".claude/skills/fmt")]
    );
    let fmt_v2 = artifacts(&m, &key, Some(ArtifactKind::Skill)).remove(0);
    assert_eq!(fmt_v2.version.as_deref(), Some("2.0.0"));

    // Renamed by its frontmatter: same path, new name, reported as modified.
    a.agent("reviewer", "critic", "Reviews");
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.modified,
        [changed(
            ArtifactKind::Agent,
            "critic",
            ".claude/agents/reviewer.md"
        )]
    );
    assert_eq!(
        artifact_names(&m, &key, Some(ArtifactKind::Agent)),
        ["critic"]
    );

    // Renamed folder: the old artifact removed, the new one added.
    fs::rename(
        a.path.join(".claude/skills/fmt"),
        a.path.join(".claude/skills/format"),
    )
    .unwrap();
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.removed,
        [changed(ArtifactKind::Skill, "fmt", ".claude/skills/fmt")]
    );
    assert_eq!(
        r.changes.added,
        [changed(ArtifactKind::Skill, "fmt", ".claude/skills/format")]
    );
    let skills = artifacts(&m, &key, Some(ArtifactKind::Skill));
    assert_eq!(skills.len(), 1);
    assert_eq!(skills[0].path, ".claude/skills/format");

    // Removed: reported, and the row really deleted.
    a.remove(".claude/commands/deploy.md");
    let r = refresh_project_now(&m, &key, true).unwrap();
    assert_eq!(
        r.changes.removed,
        [changed(
            ArtifactKind::Command,
            "deploy",
            ".claude/commands/deploy.md"
        )]
    );
    assert!(r.changes.added.is_empty() && r.changes.modified.is_empty());
    assert!(artifacts(&m, &key, Some(ArtifactKind::Command)).is_empty());
    assert_eq!(
        count_rows(
            &env.db,
            "SELECT count(*) FROM artifacts WHERE kind = 'command'"
        ),
        0
    );
    assert_eq!(project(&m, &key).counts.command, 0);
    assert_eq!(m.status().unwrap().counts.command, 0);

    // One feed entry per refresh that changed something (new, added, content, version,
    // name, folder rename, removed).
    assert_eq!(m.recent_changes(100).unwrap().len(), 7);
    // And once more: identical data reports nothing.
    assert!(
        refresh_project_now(&m, &key, true)
            .unwrap()
            .changes
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Rewrites a project's skills as "generation" `g`: 3 skills when `g` is even, 5 when odd, each
/// described "gen <g> <padding>" (so that sizes differ between generations).
fn write_generation(p: &ProjectDir, g: usize) {
    let skills = p.path.join(".claude/skills");
    if skills.exists() {
        fs::remove_dir_all(&skills).unwrap();
    }
    let n = if g.is_multiple_of(2) { 3 } else { 5 };
    for k in 0..n {
        p.skill(
            &format!("s{k}"),
            &format!("s{k}"),
            &format!("gen {g} {}", "x".repeat(g)),
        );
    }
}

/// The generation of a set of skills read in one query; panics on a torn (mixed) set.
fn generation_of(arts: &[Artifact]) -> usize {
    let gens: HashSet<usize> = arts
        .iter()
        .map(|a| {
            a.description
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(gens.len(), 1, "torn read: {gens:?}");
    let g = *gens.iter().next().unwrap();
    assert_eq!(
        arts.len(),
        if g.is_multiple_of(2) { 3 } else { 5 },
        "torn read at gen {g}"
    );
    g
}

/// Counts a finished writer even when it panics, so readers never wait forever.
struct DoneGuard<'a>(&'a AtomicUsize);
impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn twenty_readers_while_two_writers_refresh_see_no_errors_and_no_torn_reads() {
    let env = TestEnv::new();
    let projects: Vec<ProjectDir> = (0..3)
        .map(|i| {
            let p = env.project(&format!("p{i}"));
            write_generation(&p, 0);
            p
        })
        .collect();
    let m = env.open();
    refresh_now(&m, false).unwrap();
    const GENERATIONS: usize = 12;
    let writers_done = AtomicUsize::new(0);
    let reads = AtomicUsize::new(0);
    let torn_pages = AtomicUsize::new(0);
    let start = Instant::now();

    std::thread::scope(|s| {
        for p in projects.iter().take(2) {
            let m = m.clone();
            let done = &writers_done;
            s.spawn(move || {
                let _guard = DoneGuard(done);
                for g in 1..=GENERATIONS {
                    write_generation(p, g);
                    let r = refresh_project_now(&m, &p.key(), true).unwrap();
                    assert!(r.refreshed);
                    assert_eq!(
                        r.changes.added.len() + r.changes.removed.len(),
                        2,
                        "gen {g}: two skills appear or vanish"
                    );
                }
            });
        }
        for _ in 0..20 {
            let m = m.clone();
            let projects = &projects;
            let done = &writers_done;
            let reads = &reads;
            let torn_pages = &torn_pages;
            s.spawn(move || {
                let mut rounds = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst) == 2;
                    let page = m.list_projects(&ProjectFilter::default()).unwrap();
                    assert_eq!((page.total, page.items.len()), (3, 3));
                    for pr in &page.items {
                        assert!(
                            pr.counts.skill == 3 || pr.counts.skill == 5,
                            "{:?}",
                            pr.counts
                        );
                    }
                    for p in projects {
                        let arts = m
                            .list_artifacts(&ArtifactQuery {
                                project: Some(p.key()),
                                kind: Some(ArtifactKind::Skill),
                                ..Default::default()
                            })
                            .unwrap();
                        if arts.total as usize != arts.items.len() {
                            // Checked after the run, so the other checks still get made.
                            torn_pages.fetch_add(1, Ordering::Relaxed);
                        }
                        generation_of(&arts.items);
                    }
                    let found = m
                        .search(&SearchQuery {
                            text: "s0".into(),
                            ..Default::default()
                        })
                        .unwrap();
                    assert_eq!(found.total, 3, "every generation has an s0 in each project");
                    let st = m.status().unwrap();
                    assert_eq!(st.projects, 3);
                    assert_eq!(st.counts.skill as u64, st.artifacts);
                    assert!([9, 11, 13].contains(&st.artifacts), "{}", st.artifacts);
                    rounds += 1;
                    reads.fetch_add(1, Ordering::Relaxed);
                    if finished && rounds >= 3 {
                        break;
                    }
                    assert!(start.elapsed() < Duration::from_secs(60), "took too long");
                }
            });
        }
    });
    assert!(reads.load(Ordering::Relaxed) >= 60);
    // A page's total and its rows must describe the same state of the database.
    assert_eq!(
        torn_pages.load(Ordering::Relaxed),
        0,
        "unpaged artifact lists whose total disagreed with their rows (of {} read rounds)",
        reads.load(Ordering::Relaxed)
    );
    // The end state is the writers' last generation.
    for p in projects.iter().take(2) {
        let arts = artifacts(&m, &p.key(), Some(ArtifactKind::Skill));
        assert_eq!(generation_of(&arts), GENERATIONS);
    }
    assert_eq!(
        generation_of(&artifacts(
            &m,
            &projects[2].key(),
            Some(ArtifactKind::Skill)
        )),
        0
    );
}

#[test]
fn a_project_detail_is_one_consistent_snapshot_while_it_is_rewritten() {
    // get_project returns the project row (with its counts) and its artifacts: both must come
    // from the same state of the database, never the counts of one refresh and the artifacts
    // of the next.
    let env = TestEnv::new();
    let p = env.project("alpha");
    write_generation(&p, 0);
    let m = env.open();
    refresh_now(&m, false).unwrap();
    let done = AtomicUsize::new(0);
    let torn = Mutex::new(Vec::new());
    let checks = AtomicUsize::new(0);
    std::thread::scope(|s| {
        {
            let m = m.clone();
            let p = &p;
            let done = &done;
            s.spawn(move || {
                let _guard = DoneGuard(done);
                for g in 1..=40 {
                    write_generation(p, g);
                    refresh_project_now(&m, &p.key(), true).unwrap();
                }
            });
        }
        for _ in 0..6 {
            let m = m.clone();
            let (p, done, torn, checks) = (&p, &done, &torn, &checks);
            s.spawn(move || {
                while done.load(Ordering::SeqCst) == 0 {
                    let d = m.get_project(&p.key()).unwrap();
                    checks.fetch_add(1, Ordering::Relaxed);
                    if d.project.counts.skill as usize != d.artifacts.len() {
                        torn.lock()
                            .unwrap()
                            .push((d.project.counts.skill, d.artifacts.len()));
                    }
                }
            });
        }
    });
    assert!(checks.load(Ordering::Relaxed) > 0);
    let torn = torn.into_inner().unwrap();
    assert!(
        torn.is_empty(),
        "{} of {} project details had counts from one state and artifacts from another, e.g. {:?}",
        torn.len(),
        checks.load(Ordering::Relaxed),
        &torn[..torn.len().min(5)]
    );
}

#[test]
fn ten_threads_each_adding_a_project_make_exactly_ten() {
    let env = TestEnv::new();
    let outside = env.base.join("elsewhere");
    let dirs: Vec<ProjectDir> = (0..10)
        .map(|i| {
            let path = outside.join(format!("added-{i}"));
            fs::create_dir_all(path.join(".claude")).unwrap();
            let p = ProjectDir { path };
            p.skill(&format!("skill{i}"), &format!("skill{i}"), "d");
            p
        })
        .collect();
    let m = env.open();
    let barrier = Barrier::new(10);
    std::thread::scope(|s| {
        for p in &dirs {
            let m = m.clone();
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let (id, _) = m.add_project(&p.path).unwrap();
                let r = refresh_project_now(&m, &id, true).unwrap();
                assert!(r.refreshed);
                assert!(r.changes.new_project);
                assert_eq!(r.status, ProjectStatus::Fresh);
                assert_eq!(r.path, p.key());
            });
        }
    });
    let projects = all_projects(&m);
    assert_eq!(projects.len(), 10);
    let mut paths: Vec<String> = projects.iter().map(|p| p.path.clone()).collect();
    paths.sort();
    let mut want: Vec<String> = dirs.iter().map(|d| d.key()).collect();
    want.sort();
    assert_eq!(paths, want);
    assert!(projects.iter().all(|p| p.origin == ProjectOrigin::Added
        && p.status == ProjectStatus::Fresh
        && p.counts.skill == 1));
    let st = m.status().unwrap();
    assert_eq!((st.projects, st.artifacts), (10, 10));
    assert_eq!(count_rows(&env.db, "SELECT count(*) FROM projects"), 10);
    // The explicit additions persist: a refresh of everything still sees ten.
    assert_eq!(refresh_now(&m, true).unwrap().considered, 10);
}

#[test]
fn five_independent_managers_on_one_file_never_surface_busy() {
    let env = TestEnv::new();
    let projects: Vec<ProjectDir> = (0..4)
        .map(|i| {
            let p = env.project(&format!("p{i}"));
            p.skill("a", "a", "d")
                .skill("b", "b", "d")
                .command("c", "d");
            p
        })
        .collect();
    {
        let m = env.open();
        refresh_now(&m, false).unwrap();
    }
    let barrier = Barrier::new(5);
    let errors = Mutex::new(Vec::<String>::new());
    let ops = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for i in 0..5 {
            let cfg = env.config.clone();
            let (barrier, errors, ops, projects) = (&barrier, &errors, &ops, &projects);
            s.spawn(move || {
                barrier.wait();
                let m = match CacheManager::open(cfg) {
                    Ok(m) => m,
                    Err(e) => {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("open {i}: {e} ({})", e.code()));
                        return;
                    }
                };
                let record = |what: &str, r: Result<(), CacheError>| {
                    ops.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = r {
                        errors
                            .lock()
                            .unwrap()
                            .push(format!("manager {i} {what}: {e} ({})", e.code()));
                    }
                };
                for round in 0..6 {
                    let p = &projects[(i + round) % projects.len()];
                    match (i + round) % 3 {
                        0 => record("refresh_all", refresh_now(&m, true).map(|_| ())),
                        1 => record(
                            "refresh_project",
                            refresh_project_now(&m, &p.key(), true).map(|_| ()),
                        ),
                        _ => record(
                            "invalidate",
                            m.invalidate(Some(&p.key()), InvalidationReason::Manual)
                                .map(|_| ()),
                        ),
                    }
                    record(
                        "list",
                        m.list_projects(&ProjectFilter::default()).and_then(|pg| {
                            if pg.total == 4 {
                                Ok(())
                            } else {
                                Err(CacheError::InvalidInput(format!("{} projects", pg.total)))
                            }
                        }),
                    );
                    record(
                        "search",
                        m.search(&SearchQuery {
                            text: "a".into(),
                            ..Default::default()
                        })
                        .map(|_| ()),
                    );
                    record("status", m.status().map(|_| ()));
                    record(
                        "meta",
                        m.store().meta_set(&format!("m{i}"), &round.to_string()),
                    );
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "errors surfaced: {errors:#?}");
    assert_eq!(ops.load(Ordering::Relaxed), 5 * 6 * 5);
    let m = env.open();
    assert_eq!(all_projects(&m).len(), 4);
    assert_eq!(m.status().unwrap().artifacts, 12);
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
    for i in 0..5 {
        assert_eq!(
            m.store().meta_get(&format!("m{i}")).unwrap().as_deref(),
            Some("5")
        );
    }
}

#[test]
fn five_managers_opening_a_new_database_at_once_all_succeed() {
    // A CLI process and the tray app starting together on a cache that does not exist yet.
    let env = TestEnv::new();
    env.project("alpha").skill("s", "s", "d");
    for round in 0..4 {
        let mut cfg = env.config.clone();
        cfg.db_path = env.base.join(format!("race-{round}")).join("cache.db");
        let barrier = Barrier::new(5);
        let results: Mutex<Vec<Result<(), String>>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..5 {
                let (cfg, barrier, results) = (cfg.clone(), &barrier, &results);
                s.spawn(move || {
                    barrier.wait();
                    let r = CacheManager::open(cfg)
                        .and_then(|m| m.status().map(|_| ()))
                        .map_err(|e| format!("{e} ({})", e.code()));
                    results.lock().unwrap().push(r);
                });
            }
        });
        let results = results.into_inner().unwrap();
        let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} of 5 concurrent opens failed: {failed:#?}",
            failed.len()
        );
        let m = CacheManager::open(cfg).unwrap();
        assert!(m.status().unwrap().notes.is_empty());
        assert_eq!(refresh_now(&m, false).unwrap().refreshed, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Recovery
// ---------------------------------------------------------------------------------------------

/// Populates the cache of `env` with alpha (3 skills) and beta (1 agent), then closes it.
fn populated(env: &TestEnv) -> (ProjectDir, ProjectDir) {
    let a = env.project("alpha");
    a.skill("s1", "s1", "one")
        .skill("s2", "s2", "two")
        .skill("s3", "s3", "three");
    let b = env.project("beta");
    b.agent("ag", "ag", "agent");
    let m = env.open();
    let r = refresh_now(&m, false).unwrap();
    assert_eq!(r.refreshed, 2);
    drop(m);
    assert!(
        !sidecar(&env.db, "-wal").exists(),
        "closing the last connection checkpoints the WAL"
    );
    (a, b)
}

/// Opens a damaged database and checks it was moved aside, rebuilt and reported, and that
/// the app keeps working (rebuilding from disk). Returns the note.
fn assert_moved_aside_and_rebuilt(env: &TestEnv, damaged: &[u8]) -> String {
    let m = env.open();
    let notes = m.store().notes().to_vec();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(m.status().unwrap().notes, notes);
    let note = notes[0].clone();
    assert!(
        note.contains("moved to") && note.contains("rebuilt"),
        "{note}"
    );
    let dir = env.db.parent().unwrap();
    let aside = files_starting_with(dir, "cache.db.corrupt-");
    let main: Vec<&PathBuf> = aside
        .iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(main.len(), 1, "{aside:?}");
    assert!(note.contains(&main[0].display().to_string()), "{note}");
    assert_eq!(
        fs::read(main[0]).unwrap(),
        damaged,
        "the old file is kept as it was"
    );
    assert!(!m.store().is_read_only());
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
    // The new cache is empty, and a refresh rebuilds it from disk.
    assert_eq!(m.status().unwrap().projects, 0);
    let r = refresh_now(&m, false).unwrap();
    assert_eq!(r.refreshed, 2);
    let projects = all_projects(&m);
    assert_eq!(names_of(&projects), ["alpha", "beta"]);
    assert_eq!(projects[0].counts.skill, 3);
    assert_eq!(projects[1].counts.agent, 1);
    drop(m);
    // Healthy now: the next open has nothing to report.
    let m = env.open();
    assert!(m.store().notes().is_empty(), "{:?}", m.store().notes());
    assert_eq!(all_projects(&m).len(), 2);
    note
}

#[test]
fn a_garbage_database_file_is_moved_aside_and_rebuilt() {
    let env = TestEnv::new();
    populated(&env);
    let garbage: Vec<u8> = (0..16384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_ne!(&garbage[..16], b"SQLite format 3\0");
    fs::write(&env.db, &garbage).unwrap();
    assert_moved_aside_and_rebuilt(&env, &garbage);
}

#[test]
fn a_truncated_database_file_is_moved_aside_and_rebuilt() {
    let env = TestEnv::new();
    let (a, _) = populated(&env);
    // Make the file big enough that half of it holds real data.
    {
        for i in 0..60 {
            a.skill(
                &format!("bulk{i}"),
                &format!("bulk{i}"),
                &"a long description ".repeat(40),
            );
        }
        let m = env.open();
        refresh_now(&m, true).unwrap();
        assert_eq!(project(&m, &a.key()).counts.skill, 63);
    }
    for i in 0..60 {
        a.remove(&format!(".claude/skills/bulk{i}"));
    }
    let len = fs::metadata(&env.db).unwrap().len();
    assert!(len >= 16 * 4096, "database is {len} bytes");
    let f = fs::OpenOptions::new().write(true).open(&env.db).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let truncated = fs::read(&env.db).unwrap();
    assert_moved_aside_and_rebuilt(&env, &truncated);
}

#[test]
fn a_database_from_a_future_schema_version_is_moved_aside_and_rebuilt() {
    let env = TestEnv::new();
    populated(&env);
    {
        let c = env.raw();
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    let before = fs::read(&env.db).unwrap();
    let note = assert_moved_aside_and_rebuilt(&env, &before);
    assert!(
        note.contains("99"),
        "the note names the version found: {note}"
    );
    // Nothing was lost: the old file still holds its projects.
    let aside = files_starting_with(env.db.parent().unwrap(), "cache.db.corrupt-");
    let old = rusqlite::Connection::open(&aside[0]).unwrap();
    let v: i64 = old
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let n: i64 = old
        .query_row("SELECT count(*) FROM projects", [], |r| r.get(0))
        .unwrap();
    assert_eq!((v, n), (99, 2));
    let cur: i64 = env
        .raw()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cur, skillmeat_cache::store::schema::SCHEMA_VERSION);
}

#[test]
fn a_missing_database_or_missing_parent_directory_is_created() {
    let env = TestEnv::new();
    env.project("alpha").skill("s", "s", "d");
    let mut cfg = env.config.clone();
    cfg.db_path = env
        .base
        .join("deep")
        .join("er")
        .join("still")
        .join("cache.db");
    assert!(!cfg.db_path.parent().unwrap().exists());
    let m = CacheManager::open(cfg.clone()).unwrap();
    assert!(cfg.db_path.is_file());
    assert!(m.store().notes().is_empty());
    #[cfg(unix)]
    {
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cfg.db_path), 0o600, "the cache file is private");
        assert_eq!(
            mode(cfg.db_path.parent().unwrap()),
            0o700,
            "so is its new folder"
        );
    }
    m.store().meta_set("k", "v").unwrap();
    assert_eq!(refresh_now(&m, false).unwrap().refreshed, 1);
    assert!(m.status().unwrap().db_bytes > 0);
    drop(m);

    // The file deleted while its folder stays: created again, empty, without complaint.
    fs::remove_file(&cfg.db_path).unwrap();
    let m = CacheManager::open(cfg.clone()).unwrap();
    assert!(m.store().notes().is_empty());
    assert_eq!(m.status().unwrap().projects, 0);
    assert_eq!(m.store().meta_get("k").unwrap(), None);
    assert_eq!(refresh_now(&m, false).unwrap().refreshed, 1);
}

#[cfg(unix)] // Permission bits.
#[test]
fn a_read_only_database_file_serves_reads_and_refuses_writes_clearly() {
    let env = TestEnv::new();
    let (a, _) = populated(&env);
    {
        let m = env.open();
        m.store().meta_set("k", "v").unwrap();
    }
    let before = fs::read(&env.db).unwrap();
    set_mode(&env.db, 0o444);

    let m = env.open();
    assert!(m.store().is_read_only());
    let st = m.status().unwrap();
    assert_eq!(st.notes.len(), 1, "{:?}", st.notes);
    assert!(st.notes[0].contains("read-only"), "{:?}", st.notes);
    assert_eq!((st.projects, st.artifacts), (2, 4));

    // Reads work.
    assert_eq!(names_of(&all_projects(&m)), ["alpha", "beta"]);
    assert_eq!(artifact_names(&m, &a.key(), None), ["s1", "s2", "s3"]);
    assert_eq!(
        m.search(&SearchQuery {
            text: "s2".into(),
            ..Default::default()
        })
        .unwrap()
        .total,
        1
    );
    assert_eq!(m.store().meta_get("k").unwrap().as_deref(), Some("v"));

    // Writes fail with ReadOnly, whatever the way in.
    let is_ro = |r: Result<(), CacheError>, what: &str| match r {
        Err(CacheError::ReadOnly(msg)) => assert!(!msg.is_empty(), "{what}"),
        other => panic!("{what}: expected ReadOnly, got {other:?}"),
    };
    is_ro(m.store().meta_set("k", "w"), "meta_set");
    is_ro(m.store().meta_delete("k"), "meta_delete");
    is_ro(
        m.invalidate(None, InvalidationReason::Manual).map(|_| ()),
        "invalidate",
    );
    is_ro(m.clear().map(|_| ()), "clear");
    is_ro(refresh_now(&m, true).map(|_| ()), "refresh_all");
    is_ro(
        refresh_project_now(&m, &a.key(), true).map(|_| ()),
        "refresh_project",
    );
    is_ro(m.remove_project(&a.key()).map(|_| ()), "remove_project");
    is_ro(
        m.store()
            .insert_project(&NewProject {
                path: "/x".into(),
                name: "x".into(),
                origin: ProjectOrigin::Added,
            })
            .map(|_| ()),
        "insert_project",
    );
    let err = m.store().meta_set("k", "w").unwrap_err();
    assert_eq!(err.code(), "read_only");
    assert!(err.to_string().contains("read-only"), "{err}");
    drop(m);

    // Nothing was lost or written.
    assert_eq!(fs::read(&env.db).unwrap(), before);
    set_mode(&env.db, 0o644);
    let m = env.open();
    assert!(!m.store().is_read_only());
    assert!(m.store().notes().is_empty());
    assert_eq!(names_of(&all_projects(&m)), ["alpha", "beta"]);
    assert_eq!(m.store().meta_get("k").unwrap().as_deref(), Some("v"));
    assert_eq!(m.status().unwrap().artifacts, 4);
}

#[test]
fn a_failed_refresh_keeps_the_last_good_data_marked_errored() {
    let env = TestEnv::new();
    let (a, _) = populated(&env);
    let m = env.open();
    let id = project_id_for(&a.key());
    let good = project(&m, &id);
    assert_eq!(good.status, ProjectStatus::Fresh);

    // A real write failure: the database refuses to record a refresh of any project.
    env.raw()
        .execute_batch(
            "CREATE TRIGGER fail_refresh BEFORE UPDATE OF refreshed_at ON projects
             BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END;",
        )
        .unwrap();
    a.skill("s4", "s4", "four");
    a.remove(".claude/skills/s1");
    let mut rx = m.events().subscribe();
    let err = refresh_project_now(&m, &a.key(), true).unwrap_err();
    assert!(err.to_string().contains("simulated write failure"), "{err}");

    let p = project(&m, &id);
    assert_eq!(p.status, ProjectStatus::Error);
    assert!(
        p.error
            .as_deref()
            .unwrap_or("")
            .contains("simulated write failure"),
        "{:?}",
        p.error
    );
    assert_eq!(p.refreshed_at, good.refreshed_at);
    assert_eq!(p.counts.skill, 3);
    assert_eq!(artifact_names(&m, &id, None), ["s1", "s2", "s3"]);
    let st = m.status().unwrap();
    assert_eq!((st.errored, st.fresh, st.artifacts), (1, 1, 4));
    let events = drain(&mut rx);
    assert!(
        events.iter().any(|e| matches!(
            e,
            CacheEvent::RefreshFailed { id: eid, final_attempt: true, error, .. }
                if *eid == id && error.contains("simulated write failure")
        )),
        "{events:?}"
    );

    // refresh_all retries the errored project and reports the failure per project.
    let report = refresh_now(&m, false).unwrap();
    assert_eq!(report.refreshed, 0);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].id, id);
    assert_eq!(artifact_names(&m, &id, None), ["s1", "s2", "s3"]);

    // Once the database accepts writes again, the next refresh clears the error.
    env.raw()
        .execute_batch("DROP TRIGGER fail_refresh;")
        .unwrap();
    let report = refresh_now(&m, false).unwrap();
    assert_eq!((report.refreshed, report.failed.len()), (1, 0));
    let p = project(&m, &id);
    assert_eq!((p.status, p.error.clone()), (ProjectStatus::Fresh, None));
    assert_eq!(artifact_names(&m, &id, None), ["s2", "s3", "s4"]);
}

fn foreign_db(path: &Path, user_version: i64) -> Vec<u8> {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let c = rusqlite::Connection::open(path).unwrap();
        c.execute_batch(
            "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO users(name) VALUES ('ada'), ('grace');",
        )
        .unwrap();
        c.pragma_update(None, "user_version", user_version).unwrap();
    }
    fs::read(path).unwrap()
}

fn assert_foreign_refused_untouched(env: &TestEnv, before: &[u8]) {
    let dir = env.db.parent().unwrap();
    let err = match CacheManager::open(env.config.clone()) {
        Err(e) => e,
        Ok(m) => panic!(
            "another program's database was opened as a cache (notes: {:?}; files now: {:?})",
            m.store().notes(),
            files_starting_with(dir, "cache.db")
        ),
    };
    assert!(matches!(err, CacheError::Config(_)), "{err:?}");
    assert!(
        err.to_string().contains(&env.db.display().to_string()),
        "the error names the file: {err}"
    );
    let err = Store::open(&env.db).unwrap_err();
    assert!(matches!(err, CacheError::Config(_)), "{err:?}");
    assert!(files_starting_with(dir, "cache.db.corrupt-").is_empty());
    assert!(!sidecar(&env.db, "-wal").exists());
    assert!(!sidecar(&env.db, "-shm").exists());
    let after = fs::read(&env.db).unwrap();
    if after != before {
        let first = before.iter().zip(&after).position(|(x, y)| x != y);
        panic!(
            "the other program's database file was modified: {} bytes before, {} after, first difference at byte {first:?}",
            before.len(),
            after.len()
        );
    }
    let c = rusqlite::Connection::open(&env.db).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_foreign_sqlite_file_is_refused_and_left_untouched() {
    let env = TestEnv::new();
    let before = foreign_db(&env.db, 0);
    assert_foreign_refused_untouched(&env, &before);
}

#[test]
fn a_foreign_sqlite_file_with_its_own_user_version_is_refused_and_left_untouched() {
    // Many programs set user_version; without our marker it is still not our cache, whatever
    // the number, and must not be renamed or changed.
    let env = TestEnv::new();
    for v in [7, 1] {
        fs::remove_file(&env.db).ok();
        let before = foreign_db(&env.db, v);
        assert_foreign_refused_untouched(&env, &before);
    }
}

const CHILD_ENV: &str = "SKILLMEAT_TEST_CHILD_BASE";

/// Two sets of skills swapped in and out, so that each refresh deletes and inserts many rows.
fn swap_skill_sets(p: &ProjectDir) {
    let claude = p.path.join(".claude");
    fs::rename(claude.join("skills"), claude.join("skills-tmp")).unwrap();
    fs::rename(claude.join("skills-alt"), claude.join("skills")).unwrap();
    fs::rename(claude.join("skills-tmp"), claude.join("skills-alt")).unwrap();
}

#[test]
#[ignore = "helper process for an_interrupted_write_leaves_a_consistent_database"]
fn child_refresh_loop() {
    let Some(base) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let base = PathBuf::from(base);
    let home = base.join("home");
    let mut cfg = Config::defaults_for_home(&home);
    cfg.db_path = base.join("data").join("cache.db");
    cfg.roots = vec![home.join("projects")];
    cfg.include_user_scope = false;
    cfg.collections_dir = home.join(".skillmeat").join("collections");
    let m = CacheManager::open(cfg).unwrap();
    let projects: Vec<ProjectDir> = (0..3)
        .map(|i| ProjectDir {
            path: home.join("projects").join(format!("p{i}")),
        })
        .collect();
    for round in 0u64.. {
        for p in &projects {
            swap_skill_sets(p);
        }
        refresh_now(&m, true).unwrap();
        m.store()
            .meta_set("child.round", &round.to_string())
            .unwrap();
    }
}

#[test]
fn an_interrupted_write_leaves_a_consistent_database() {
    let env = TestEnv::new();
    for i in 0..3 {
        let p = env.project(&format!("p{i}"));
        for k in 0..40 {
            p.skill(&format!("a{k}"), &format!("a{k}"), &"set a ".repeat(20));
        }
        for k in 0..60 {
            p.write(
                &format!(".claude/skills-alt/b{k}/SKILL.md"),
                &format!(
                    "---\nname: b{k}\ndescription: {}\n---\nbody\n",
                    "set b ".repeat(20)
                ),
            );
        }
    }
    refresh_now(&env.open(), false).unwrap();

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_refresh_loop",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &env.base)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let round = || -> i64 {
        rusqlite::Connection::open(&env.db)
            .and_then(|c| {
                c.query_row(
                    "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'child.round'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(-1)
    };
    wait_until(
        Duration::from_secs(30),
        "the child to write a few rounds",
        || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child process ended early: {status}");
            }
            round() >= 3
        },
    );
    child.kill().unwrap(); // SIGKILL, mid-write or close to it
    child.wait().unwrap();
    // The kill may also have landed between the renames of a swap: finish it on disk.
    for i in 0..3 {
        let claude = env.root.join(format!("p{i}")).join(".claude");
        if claude.join("skills-tmp").exists() {
            if !claude.join("skills").exists() {
                fs::rename(claude.join("skills-alt"), claude.join("skills")).unwrap();
            }
            fs::rename(claude.join("skills-tmp"), claude.join("skills-alt")).unwrap();
        }
    }

    let store = Store::open(&env.db).unwrap();
    assert!(store.notes().is_empty(), "{:?}", store.notes());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    let c = env.raw();
    let mut stmt = c
        .prepare(
            "SELECT p.name, p.n_skill, (SELECT count(*) FROM artifacts a WHERE a.project_rid = p.rid AND a.kind = 'skill')
             FROM projects p ORDER BY p.name",
        )
        .unwrap();
    let rows: Vec<(String, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rows.len(), 3);
    for (name, counted, actual) in &rows {
        assert_eq!(counted, actual, "{name}: counter and rows agree");
        assert!(
            [40, 60].contains(actual),
            "{name}: a whole set, not part of one: {actual}"
        );
    }
    c.execute_batch(
        "INSERT INTO artifacts_fts(artifacts_fts) VALUES ('integrity-check');
         INSERT INTO artifact_names(artifact_names) VALUES ('integrity-check');",
    )
    .unwrap();
    drop(stmt);
    drop(c);
    // And the cache works on: a refresh brings it in line with the disk.
    let m = env.open();
    let r = refresh_now(&m, true).unwrap();
    assert!(r.failed.is_empty());
    for p in all_projects(&m) {
        let on_disk = fs::read_dir(env.root.join(&p.name).join(".claude/skills"))
            .unwrap()
            .count() as u32;
        assert_eq!(p.counts.skill, on_disk);
    }
}

/// The dashboard's panel has room for a few problems: the rarest kinds come first, so one
/// skill nested too deep is not buried under many unapproved servers.
#[test]
fn problems_for_a_panel_come_rarest_kind_first() {
    // Sources: code.claude.com/docs/en/mcp (project servers from .mcp.json need approval);
    // anthropics/claude-code#88400 (a skill two levels below skills/ is not loaded).
    let env = TestEnv::new();
    let a = env.project("alpha");
    a.mcp(&["one", "two", "three"]);
    let b = env.project("beta");
    b.write(
        ".claude/skills/group/deep/SKILL.md",
        "---\nname: deep\ndescription: too deep\n---\n",
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let all = m.problems(None).unwrap();
    let codes: Vec<&str> = all.iter().map(|p| p.problem.as_str()).collect();
    assert_eq!(
        codes,
        [
            "mcp_not_approved",
            "mcp_not_approved",
            "mcp_not_approved",
            "nested_skill"
        ],
        "by project path"
    );
    let first = m.problems_rarest_first(None, 2).unwrap();
    let got: Vec<(&str, &str)> = first
        .iter()
        .map(|p| (p.problem.as_str(), p.artifact.name.as_str()))
        .collect();
    assert_eq!(got, [("nested_skill", "deep"), ("mcp_not_approved", "one")]);
    let only_alpha = m.problems_rarest_first(Some(&a.key()), 10).unwrap();
    assert_eq!(only_alpha.len(), 3);
    assert!(m.problems_rarest_first(None, 0).is_err(), "limit 0 refused");
}
