//! A cache left by an older release is migrated in place when it is opened: its data stays,
//! search finds it through the new name index, and later refreshes keep every index in step.

mod common;

use common::TestEnv;
use skillmeat_cache::SearchQuery;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::store::{project_id_for, schema};

fn names(m: &skillmeat_cache::CacheManager, q: &str) -> (u64, Vec<String>) {
    let page = m
        .search(&SearchQuery {
            text: q.into(),
            ..Default::default()
        })
        .unwrap();
    (
        page.total,
        page.items.into_iter().map(|h| h.artifact.name).collect(),
    )
}

#[test]
fn a_version_2_cache_is_migrated_in_place_and_stays_consistent() {
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("code-review", "code-review", "Reviews code");
    let path = alpha.key();

    // The database as version 2 left it: one project with one (now stale) artifact.
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    {
        let mut c = rusqlite::Connection::open(&env.db).unwrap();
        schema::migrate_to(&mut c, 2).unwrap();
        c.execute(
            "INSERT INTO projects(id, path, name, created_at, updated_at, refreshed_at)
             VALUES (?1, ?2, 'alpha', 1, 1, 1)",
            [project_id_for(&path), path.clone()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO artifacts(project_rid, kind, name, description, path, content_hash,
                 frontmatter, source, stamp, fp, updated_at)
             VALUES (1, 'skill', 'old-review', 'An older reviewer', '.claude/skills/old/SKILL.md',
                 'h', '\"ok\"', 's', 'st', 'fp', 1)",
            [],
        )
        .unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 2);
    }

    let m = env.open();
    let raw = env.raw();
    let v: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::SCHEMA_VERSION);
    // The old row is found by name anywhere, by prefix and by word.
    assert_eq!(names(&m, "review"), (1, vec!["old-review".to_string()]));
    assert_eq!(names(&m, "old"), (1, vec!["old-review".to_string()]));
    assert_eq!(names(&m, "ol").0, 1);
    assert_eq!(names(&m, "older").0, 1);

    // A refresh replaces it: the delete and insert reach every index.
    refresh_now(&m, true).unwrap();
    assert_eq!(names(&m, "review"), (1, vec!["code-review".to_string()]));
    assert_eq!(names(&m, "old").0, 0);
    assert_eq!(names(&m, "ol").0, 0);
    let keys: i64 = raw
        .query_row("SELECT count(*) FROM artifact_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 1);
    raw.execute_batch(
        "INSERT INTO artifacts_fts(artifacts_fts) VALUES ('integrity-check');
         INSERT INTO artifact_names(artifact_names) VALUES ('integrity-check');",
    )
    .unwrap();

    // A rename through an edit updates the name everywhere.
    alpha.skill("code-review", "code-audit", "Audits code");
    refresh_now(&m, true).unwrap();
    assert_eq!(names(&m, "review").0, 0);
    assert_eq!(names(&m, "audit"), (1, vec!["code-audit".to_string()]));
    assert_eq!(names(&m, "co"), (1, vec!["code-audit".to_string()]));
    raw.execute_batch("INSERT INTO artifact_names(artifact_names) VALUES ('integrity-check');")
        .unwrap();
}

#[cfg(unix)] // Permission bits.
#[test]
fn a_read_only_cache_from_an_older_release_is_refused_clearly_and_left_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    {
        let mut c = rusqlite::Connection::open(&env.db).unwrap();
        schema::migrate_to(&mut c, 2).unwrap();
    }
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&env.db).unwrap();
    let err = skillmeat_cache::CacheManager::open(env.config.clone()).unwrap_err();
    assert_eq!(err.code(), "read_only_outdated", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("older release") && msg.contains("schema 2") && msg.contains("writable"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&env.db).unwrap(),
        before,
        "the file is unchanged"
    );
}

#[test]
fn a_version_3_cache_gains_scopes_and_loading_in_place() {
    // Schema 4 adds scope, plugin, loaded, not_loaded and problem to artifacts and the new
    // kinds' counts to projects; old rows read as loaded project items, and the next refresh
    // fills every new column (a nested skill becomes not loaded).
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("group/child", "child", "Nested two levels");
    let path = alpha.key();
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    {
        let mut c = rusqlite::Connection::open(&env.db).unwrap();
        schema::migrate_to(&mut c, 3).unwrap();
        c.execute(
            "INSERT INTO projects(id, path, name, created_at, updated_at, refreshed_at, n_skill)
             VALUES (?1, ?2, 'alpha', 1, 1, 1, 1)",
            [project_id_for(&path), path.clone()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO artifacts(project_rid, kind, name, description, path, content_hash,
                 frontmatter, source, stamp, fp, updated_at)
             VALUES (1, 'skill', 'child', 'Nested two levels', '.claude/skills/group/child',
                 'h', 'ok', '.claude/skills/group/child', 'st', 'fp', 1)",
            [],
        )
        .unwrap();
    }
    let m = env.open();
    let v: i64 = env
        .raw()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::SCHEMA_VERSION);
    let before = m.get_project(&path).unwrap();
    assert_eq!(before.artifacts.len(), 1);
    let a = &before.artifacts[0];
    assert_eq!(
        (a.scope, a.loaded, a.not_loaded),
        (skillmeat_cache::Scope::Project, true, None)
    );
    assert_eq!(before.project.problems, 0);
    assert_eq!(names(&m, "child").0, 1);

    refresh_now(&m, false).unwrap();
    let after = m.get_project(&path).unwrap();
    assert_eq!(after.artifacts.len(), 1);
    assert_eq!(
        after.artifacts[0].not_loaded,
        Some(skillmeat_cache::NotLoaded::NestedSkill)
    );
    assert_eq!(after.project.problems, 1);
    assert_eq!(names(&m, "child").0, 1);
}

#[test]
fn a_version_4_cache_gains_the_library_and_costs_in_place() {
    // Schema 6 adds `tokens` to artifacts, `cost_tokens` to projects and the trigger-kept
    // library tables, filled from the rows already there (memory files left out); the next
    // refresh fills the costs.
    let env = TestEnv::new();
    let alpha = env.project("alpha");
    alpha.skill("review", "review", "Review the change");
    let beta = env.project("beta");
    beta.skill("review", "review", "Review it differently");
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    {
        let mut c = rusqlite::Connection::open(&env.db).unwrap();
        schema::migrate_to(&mut c, 4).unwrap();
        for (i, p) in [&alpha, &beta].iter().enumerate() {
            c.execute(
                "INSERT INTO projects(id, path, name, created_at, updated_at, refreshed_at, n_skill)
                 VALUES (?1, ?2, ?3, 1, 1, 1, 1)",
                rusqlite::params![project_id_for(&p.key()), p.key(), format!("p{i}")],
            )
            .unwrap();
            let rid = i as i64 + 1;
            for (kind, name, path, hash) in [
                ("skill", "review", ".claude/skills/review", format!("h{i}")),
                ("memory", "CLAUDE.md", "CLAUDE.md", format!("m{i}")),
            ] {
                c.execute(
                    "INSERT INTO artifacts(project_rid, kind, name, description, path, content_hash,
                         frontmatter, source, stamp, fp, updated_at)
                     VALUES (?1, ?2, ?3, '', ?4, ?5, 'ok', ?4, 'st', 'fp', 1)",
                    rusqlite::params![rid, kind, name, path, hash],
                )
                .unwrap();
            }
        }
    }
    let m = env.open();
    let v: i64 = env
        .raw()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::SCHEMA_VERSION);
    let lib = m
        .library(&skillmeat_cache::library::LibraryQuery::default())
        .unwrap();
    assert_eq!(lib.total, 1, "memory files stay out of the library");
    assert_eq!(
        (
            lib.items[0].name.as_str(),
            lib.items[0].copies,
            lib.items[0].variants
        ),
        ("review", 2, 2)
    );
    refresh_now(&m, false).unwrap();
    // "- review: Review the change\n" = 28 bytes → 7 tokens.
    assert_eq!(
        m.get_project(&alpha.key()).unwrap().project.context_tokens,
        7
    );
    let lib = m
        .library(&skillmeat_cache::library::LibraryQuery::default())
        .unwrap();
    assert_eq!((lib.items[0].copies, lib.items[0].variants), (2, 2));
}
