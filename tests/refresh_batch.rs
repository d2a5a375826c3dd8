//! A refresh of many projects writes them in batches (several projects per transaction, new
//! artifacts several rows per statement): the same data, changes, search hits and failure
//! handling as one project at a time.
//!
//! Real project folders in temporary directories, a real SQLite file, the real refresh job;
//! a failure is injected with an SQLite trigger created through a separate connection.

mod common;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::{CacheManager, SearchQuery};

/// More projects than workers (2), so the job forms batches.
const PROJECTS: usize = 12;

/// Project `i` with `3 + i` skills named `s{i}-{k}` and an agent, so every project (and
/// every insert chunk size) differs.
fn make_projects(env: &TestEnv) -> Vec<ProjectDir> {
    (0..PROJECTS)
        .map(|i| {
            let p = env.project(&format!("proj-{i:02}"));
            for k in 0..3 + i {
                p.skill(
                    &format!("s{i}-{k}"),
                    &format!("s{i}-{k}"),
                    &format!("zebrafish helper number {k} of project {i}"),
                );
            }
            p.agent("reviewer", &format!("reviewer{i}"), "reviews code");
            p
        })
        .collect()
}

/// The names of a project's artifacts, sorted.
fn names(m: &CacheManager, p: &ProjectDir) -> Vec<String> {
    let mut v: Vec<String> = m
        .get_project(&p.key())
        .expect("project cached")
        .artifacts
        .into_iter()
        .map(|a| a.name)
        .collect();
    v.sort();
    v
}

fn expected_names(i: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..3 + i).map(|k| format!("s{i}-{k}")).collect();
    v.push(format!("reviewer{i}"));
    v.sort();
    v
}

#[test]
fn a_refresh_of_many_projects_stores_each_completely_and_a_second_changes_nothing() {
    let env = TestEnv::new();
    let projects = make_projects(&env);
    let m = env.open();
    let report = refresh_now(&m, false).expect("refresh");
    assert_eq!(report.refreshed, PROJECTS);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.changed.len(), PROJECTS);
    for (i, p) in projects.iter().enumerate() {
        assert_eq!(names(&m, p), expected_names(i), "project {i}");
        let added = &report
            .changed
            .iter()
            .find(|c| c.path == p.key())
            .expect("reported")
            .changes
            .added;
        assert_eq!(added.len(), 3 + i + 1, "project {i}");
    }
    // Every skill is found by the full-text index: 3 + 4 + ... + 14 = 102.
    let hits = m
        .search(&SearchQuery {
            text: "zebrafish".into(),
            limit: Some(500),
            ..Default::default()
        })
        .expect("search");
    assert_eq!(hits.total, 102);
    // Each project's name is in the trigram index too.
    let hits = m
        .search(&SearchQuery {
            text: "eviewer1".into(),
            limit: Some(500),
            ..Default::default()
        })
        .expect("search");
    // reviewer1, reviewer10, reviewer11.
    assert_eq!(hits.total, 3);

    // Forced, nothing changed on disk: every project confirmed, nothing reported.
    let again = refresh_now(&m, true).expect("refresh again");
    assert_eq!(again.refreshed, PROJECTS);
    assert!(again.changed.is_empty(), "{:?}", again.changed);
    for (i, p) in projects.iter().enumerate() {
        assert_eq!(names(&m, p), expected_names(i), "project {i}");
    }
}

#[test]
fn a_project_failing_inside_a_batch_fails_alone_and_the_others_are_stored() {
    let env = TestEnv::new();
    let projects = make_projects(&env);
    let m = env.open();
    m.sync_discovered().expect("discover");
    let bad = projects[5].key();
    env.raw()
        .execute_batch(&format!(
            "CREATE TRIGGER test_fail_refresh BEFORE UPDATE OF refreshed_at ON projects
             WHEN old.path = '{}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            bad.replace('\'', "''")
        ))
        .expect("create trigger");
    let report = refresh_now(&m, false).expect("refresh");
    assert_eq!(report.refreshed, PROJECTS - 1);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(report.failed[0].path, bad);
    assert!(report.failed[0].error.contains("injected failure"));
    for (i, p) in projects.iter().enumerate() {
        if i == 5 {
            assert!(names(&m, p).is_empty(), "nothing of the failed project");
        } else {
            assert_eq!(names(&m, p), expected_names(i), "project {i}");
        }
    }
}

#[test]
fn try_refresh_many_reports_an_unknown_key_alone_and_writes_the_others() {
    let env = TestEnv::new();
    let projects = make_projects(&env);
    let m = env.open();
    m.sync_discovered().expect("discover");
    let keys = vec![
        projects[0].key(),
        "/no/such/project".to_string(),
        projects[1].key(),
    ];
    let out = m.try_refresh_many(&keys).expect("batch written");
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].as_ref().expect("first").path, projects[0].key());
    assert!(out[1].as_ref().is_err_and(|e| e.is_not_found()));
    assert_eq!(out[2].as_ref().expect("third").changes.added.len(), 5);
    assert_eq!(names(&m, &projects[0]), expected_names(0));
    assert_eq!(names(&m, &projects[1]), expected_names(1));
    assert!(names(&m, &projects[2]).is_empty(), "not in the batch");
}

/// The same project twice in one batch (new rows are inserted together when the batch's
/// write ends): written as if one after the other, the first time new, the second time
/// unchanged; its rows are there once.
#[test]
fn try_refresh_many_writes_a_project_given_twice_as_if_one_after_the_other() {
    let env = TestEnv::new();
    let projects = make_projects(&env);
    let m = env.open();
    m.sync_discovered().expect("discover");
    let keys = vec![projects[3].key(), projects[3].key()];
    let out = m.try_refresh_many(&keys).expect("batch written");
    assert_eq!(out[0].as_ref().expect("first").changes.added.len(), 7);
    assert!(out[1].as_ref().expect("second").changes.is_empty());
    assert_eq!(names(&m, &projects[3]), expected_names(3));
}
