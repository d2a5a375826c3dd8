//! Integration tests of the refresh job (`RefreshJob`): start and stop, refresh-all and
//! refresh-one semantics, events and listeners, coalescing, retries with exponential back-off,
//! status, the schedule and the wake check.
//!
//! Real project folders in temporary directories, a real SQLite file, the real job and its real
//! scheduler; failures are injected with an SQLite trigger created on the database file through
//! a separate connection. Waiting is always for a condition, with a deadline.

mod common;
mod watch_support;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::refresh::{JobOptions, RefreshJob, refresh_now, refresh_project_now};
use skillmeat_cache::schedule::Schedule;
use skillmeat_cache::store::{ProjectFilter, now_ms};
use skillmeat_cache::{
    ArtifactKind, CacheEvent, CacheManager, ChangedArtifact, EventBus, InvalidationReason,
    ProjectStatus,
};
use std::fs;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::TryRecvError;
use watch_support::{
    DEADLINE, EventLog, blocking, description, fail_refreshes_of, is_changed_of, is_completed,
    is_progress_of, job_opts, names, project, skill_desc, skill_md, status_of, stop_failing,
    wait_until,
};

const META_LAST_RUN: &str = "schedule.last_run";
const META_NEXT_DUE: &str = "schedule.next_due";

fn id_of(m: &CacheManager, p: &ProjectDir) -> String {
    project(m, &p.key()).id
}

fn project_count(m: &CacheManager) -> u64 {
    m.list_projects(&ProjectFilter::default()).unwrap().total
}

fn meta_i64(m: &CacheManager, key: &str) -> Option<i64> {
    m.store()
        .meta_get(key)
        .unwrap()
        .map(|v| v.parse().expect("numeric meta value"))
}

/// A project with one skill `pdf` whose description is `desc`.
fn project_with_skill(env: &TestEnv, name: &str, desc: &str) -> ProjectDir {
    let p = env.project(name);
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", desc, "1.0.0"),
    );
    p
}

/// Queues `key` on a started job and returns the events of that refresh, up to its
/// `RefreshCompleted`.
async fn refresh_via_job(job: &RefreshJob, log: &EventLog, key: &str) -> Vec<CacheEvent> {
    assert!(job.wait_idle(DEADLINE).await, "job idle before the refresh");
    let mark = log.mark();
    job.enqueue(key);
    log.wait_for(mark, "the refresh to complete", is_completed)
        .await;
    log.since(mark)
}

fn completed(events: &[CacheEvent]) -> (usize, usize, usize) {
    let done: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            CacheEvent::RefreshCompleted {
                refreshed,
                changed,
                failed,
                ..
            } => Some((*refreshed, *changed, *failed)),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 1, "exactly one RefreshCompleted in {events:#?}");
    done[0]
}

fn failures(log: &EventLog, mark: usize) -> Vec<(Instant, String, String, String, u32, bool)> {
    log.timed()[mark..]
        .iter()
        .filter_map(|(t, e)| match e {
            CacheEvent::RefreshFailed {
                id,
                path,
                error,
                attempt,
                final_attempt,
            } => Some((
                *t,
                id.clone(),
                path.clone(),
                error.clone(),
                *attempt,
                *final_attempt,
            )),
            _ => None,
        })
        .collect()
}

fn changes_of(events: &[CacheEvent], path: &str) -> Vec<skillmeat_cache::ChangeSet> {
    events
        .iter()
        .filter_map(|e| match e {
            CacheEvent::ProjectChanged {
                path: p, changes, ..
            } if p == path => Some(changes.clone()),
            _ => None,
        })
        .collect()
}

fn art(kind: ArtifactKind, name: &str, path: &str) -> ChangedArtifact {
    ChangedArtifact {
        kind,
        name: name.into(),
        path: path.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Start and stop
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_stop_start_twice_stop_when_stopped_and_restart() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "Extract PDFs");
    let b = project_with_skill(&env, "beta", "Read PDFs");
    let c = project_with_skill(&env, "gamma", "Print PDFs");
    let m = env.open();
    m.sync_discovered().unwrap();
    let job = RefreshJob::new(m.clone(), job_opts());

    // Stopping a job that never started is harmless.
    assert!(!job.is_running().await);
    job.stop().await;
    assert!(!job.is_running().await);
    let st = job.status().await;
    assert!(!st.running);
    assert_eq!(st.next_run, None);

    job.start().await.expect("start");
    assert!(job.is_running().await);
    let first = job
        .status()
        .await
        .next_run
        .expect("a next run once started");
    job.start().await.expect("starting twice is a no-op");
    assert!(job.is_running().await);
    assert_eq!(
        job.status().await.next_run,
        Some(first),
        "a second start must not replace the schedule"
    );

    // The workers really run.
    job.enqueue(&a.key());
    assert!(job.wait_idle(DEADLINE).await);
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));

    job.stop().await;
    assert!(!job.is_running().await);
    assert_eq!(job.status().await.next_run, None);
    job.stop().await;
    assert!(!job.is_running().await, "stopping twice is harmless");

    // While stopped, work stays queued.
    job.enqueue(&b.key());
    let st = job.status().await;
    assert_eq!(st.pending, 1);
    assert!(st.in_flight.is_empty());
    assert!(job.is_pending(&b.key()));
    assert_eq!(status_of(&m, &b.key()), Some(ProjectStatus::Stale));

    // Restart after stop: the queued project is refreshed.
    job.restart().await.expect("restart");
    assert!(job.is_running().await);
    assert!(job.status().await.next_run.is_some());
    assert!(job.wait_idle(DEADLINE).await);
    assert_eq!(status_of(&m, &b.key()), Some(ProjectStatus::Fresh));
    assert_eq!(job.status().await.pending, 0);

    // Restart while running: still one working job.
    job.restart().await.expect("restart while running");
    assert!(job.is_running().await);
    job.enqueue(&c.key());
    assert!(job.wait_idle(DEADLINE).await);
    assert_eq!(status_of(&m, &c.key()), Some(ProjectStatus::Fresh));
    job.stop().await;
    assert!(!job.is_running().await);
}

// ---------------------------------------------------------------------------------------------
// Refresh all, refresh one
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_all_refreshes_only_stale_projects_unless_forced() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let b = project_with_skill(&env, "beta", "B");
    let c = project_with_skill(&env, "gamma", "C");
    let m = env.open();
    let log = EventLog::start(m.events());

    // First run: everything is new, hence stale.
    let r = blocking(|| refresh_now(&m, false)).unwrap();
    assert_eq!((r.considered, r.refreshed, r.skipped), (3, 3, 0));
    assert!(r.failed.is_empty());

    // All fresh: nothing to do.
    let mark = log.mark();
    let r = blocking(|| refresh_now(&m, false)).unwrap();
    assert_eq!((r.considered, r.refreshed, r.skipped), (3, 0, 3));
    log.wait_for(mark, "completed", is_completed).await;
    assert_eq!(
        log.count_since(mark, |e| matches!(e, CacheEvent::RefreshProgress { .. })),
        0
    );

    // One stale: only that one.
    m.invalidate(Some(&b.key()), InvalidationReason::Manual)
        .unwrap();
    let mark = log.mark();
    let r = blocking(|| refresh_now(&m, false)).unwrap();
    assert_eq!((r.considered, r.refreshed, r.skipped), (3, 1, 2));
    log.wait_for(mark, "completed", is_completed).await;
    let progressed: Vec<String> = log
        .since(mark)
        .into_iter()
        .filter_map(|e| match e {
            CacheEvent::RefreshProgress { project, .. } => Some(project),
            _ => None,
        })
        .collect();
    assert_eq!(progressed, vec![b.key()]);
    assert_eq!(status_of(&m, &b.key()), Some(ProjectStatus::Fresh));

    // Forced: all of them although all are fresh.
    let mark = log.mark();
    let r = blocking(|| refresh_now(&m, true)).unwrap();
    assert_eq!((r.considered, r.refreshed, r.skipped), (3, 3, 0));
    log.wait_for(mark, "completed", is_completed).await;
    for p in [&a, &b, &c] {
        assert_eq!(log.count_since(mark, |e| is_progress_of(e, &p.key())), 1);
    }
    assert!(log.since(mark).contains(&CacheEvent::RefreshStarted {
        total: 3,
        force: true
    }));

    // Through the job: a scheduled run refreshes only the stale one.
    m.invalidate(Some(&c.key()), InvalidationReason::Manual)
        .unwrap();
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    let mark = log.mark();
    job.run_scheduled().await;
    log.wait_for(mark, "completed", is_completed).await;
    let events = log.since(mark);
    let progressed: Vec<&CacheEvent> = events
        .iter()
        .filter(|e| matches!(e, CacheEvent::RefreshProgress { .. }))
        .collect();
    assert_eq!(
        progressed,
        vec![&CacheEvent::RefreshProgress {
            done: 1,
            total: 1,
            project: c.key()
        }]
    );
    assert_eq!(completed(&events), (1, 0, 0));
    for p in [&a, &b, &c] {
        assert_eq!(status_of(&m, &p.key()), Some(ProjectStatus::Fresh));
    }
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_all_on_an_empty_cache_succeeds_with_zero() {
    let env = TestEnv::new();
    let m = env.open();
    let log = EventLog::start(m.events());

    let r = blocking(|| refresh_now(&m, false)).expect("empty cache refresh succeeds");
    assert_eq!((r.considered, r.refreshed, r.skipped), (0, 0, 0));
    assert!(r.failed.is_empty() && r.changed.is_empty());
    log.wait_for(0, "completed", is_completed).await;
    let events = log.since(0);
    assert_eq!(
        events[0],
        CacheEvent::RefreshStarted {
            total: 0,
            force: false
        }
    );
    assert_eq!(completed(&events), (0, 0, 0));

    // A scheduled run on the empty cache completes with 0 too.
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    let mark = log.mark();
    job.run_scheduled().await;
    log.wait_for(mark, "completed", is_completed).await;
    let events = log.since(mark);
    assert_eq!(completed(&events), (0, 0, 0));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CacheEvent::RefreshProgress { .. }))
    );
    assert!(job.wait_idle(DEADLINE).await);
    assert_eq!(project_count(&m), 0);
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_with_nothing_stale_still_sends_completed_with_zero() {
    let env = TestEnv::new();
    project_with_skill(&env, "alpha", "A");
    project_with_skill(&env, "beta", "B");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();

    let before = now_ms();
    job.run_scheduled().await;
    log.wait_for(0, "completed", is_completed).await;
    let events = log.since(0);
    assert_eq!(completed(&events), (0, 0, 0));
    assert!(
        !events.iter().any(|e| matches!(
            e,
            CacheEvent::RefreshStarted { .. } | CacheEvent::RefreshProgress { .. }
        )),
        "nothing was refreshed: {events:#?}"
    );
    assert!(job.wait_idle(DEADLINE).await);
    let last = meta_i64(&m, META_LAST_RUN).expect("the run is recorded");
    assert!(last >= before);
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_one_stale_is_refreshed_fresh_unforced_says_nothing_to_do() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "v1");
    let m = env.open();
    m.sync_discovered().unwrap();
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Stale));

    let r = refresh_project_now(&m, &a.key(), false).unwrap();
    assert!(r.refreshed, "a stale project is refreshed");
    assert!(r.changes.new_project);
    assert_eq!(r.status, ProjectStatus::Fresh);
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v1"));

    let r = refresh_project_now(&m, &a.key(), false).unwrap();
    assert!(!r.refreshed, "fresh and not forced: nothing to do");
    assert!(r.changes.is_empty());
    assert_eq!(r.status, ProjectStatus::Fresh);

    // Even with a change on disk, a fresh project is not re-read unless forced.
    a.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "v2", "1.0.0"),
    );
    let r = refresh_project_now(&m, &a.key(), false).unwrap();
    assert!(!r.refreshed);
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v1"));

    let r = refresh_project_now(&m, &a.key(), true).unwrap();
    assert!(r.refreshed);
    assert_eq!(
        r.changes.modified,
        vec![art(ArtifactKind::Skill, "pdf", ".claude/skills/pdf")]
    );
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v2"));

    // Invalidated → stale → refreshed without force; identical data → no change.
    m.invalidate(Some(&a.key()), InvalidationReason::Manual)
        .unwrap();
    let r = refresh_project_now(&m, &a.key(), false).unwrap();
    assert!(r.refreshed);
    assert!(r.changes.is_empty(), "identical data: {:?}", r.changes);
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_project_is_not_found_and_never_created() {
    let env = TestEnv::new();
    project_with_skill(&env, "alpha", "A");
    // A real project folder the cache does not know (outside every root).
    let stranger = ProjectDir {
        path: env.base.join("elsewhere").join("stranger"),
    };
    stranger.write(".claude/skills/x/SKILL.md", &skill_md("x", "X", "1.0.0"));
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    assert_eq!(project_count(&m), 1);

    for (key, force) in [("0123456789ab", false), (stranger.key().as_str(), true)] {
        let e = refresh_project_now(&m, key, force).expect_err("unknown project must fail");
        assert!(e.is_not_found(), "{key}: expected not found, got {e:?}");
    }
    assert_eq!(project_count(&m), 1, "nothing was created");

    // Through the job: one final failure (no retries for "not found"), nothing created.
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    job.enqueue(&stranger.key());
    log.wait_for(0, "completed", is_completed).await;
    let fails = failures(&log, 0);
    assert_eq!(fails.len(), 1, "{:#?}", log.all());
    let (_, id, path, error, attempt, last) = &fails[0];
    assert_eq!(id, "");
    assert_eq!(path, &stranger.key());
    assert!(error.contains("not found"), "{error}");
    assert_eq!((*attempt, *last), (1, true));
    assert_eq!(completed(&log.since(0)), (0, 0, 1));
    assert_eq!(project_count(&m), 1, "the job did not create it either");
    assert!(m.get_project(&stranger.key()).unwrap_err().is_not_found());
    job.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Events and listeners
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_announces_started_progress_changed_and_completed() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let b = project_with_skill(&env, "beta", "B");
    let m = env.open();
    m.sync_discovered().unwrap();
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();

    job.enqueue_many([id_of(&m, &a), id_of(&m, &b)]);
    log.wait_for(0, "completed", is_completed).await;
    assert!(job.wait_idle(DEADLINE).await);
    let events = log.since(0);
    assert_eq!(
        events.first(),
        Some(&CacheEvent::RefreshStarted {
            total: 2,
            force: false
        })
    );
    assert!(matches!(
        events.last(),
        Some(CacheEvent::RefreshCompleted {
            refreshed: 2,
            changed: 2,
            failed: 0,
            ..
        })
    ));
    let mut dones = Vec::new();
    for p in [&a, &b] {
        let progress: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| is_progress_of(e, &p.key()))
            .map(|(i, _)| i)
            .collect();
        let changed: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| is_changed_of(e, &p.key()))
            .map(|(i, _)| i)
            .collect();
        assert_eq!((progress.len(), changed.len()), (1, 1), "{events:#?}");
        assert!(changed[0] < progress[0], "changes are announced first");
        let cs = &changes_of(&events, &p.key())[0];
        assert!(cs.new_project);
        assert_eq!(
            cs.added,
            vec![art(ArtifactKind::Skill, "pdf", ".claude/skills/pdf")]
        );
        if let CacheEvent::RefreshProgress { done, total, .. } = &events[progress[0]] {
            assert_eq!(*total, 2);
            dones.push(*done);
        }
    }
    dones.sort();
    assert_eq!(dones, vec![1, 2]);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CacheEvent::RefreshFailed { .. }))
    );
    assert_eq!(events.len(), 6, "{events:#?}");
    assert_eq!(log.lagged(), 0);
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_listeners_each_receive_every_event_and_listeners_come_and_go() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let b = project_with_skill(&env, "beta", "B");
    let m = env.open();
    m.sync_discovered().unwrap();
    let base = m.events().listeners();

    let l1 = EventLog::start(m.events());
    let l2 = EventLog::start(m.events());
    let mut l3 = m.events().subscribe();
    assert_eq!(m.events().listeners(), base + 3);
    let extra = m.events().subscribe();
    assert_eq!(m.events().listeners(), base + 4, "a listener was added");
    drop(extra);
    assert_eq!(m.events().listeners(), base + 3, "a listener was removed");

    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    job.enqueue_many([id_of(&m, &a), id_of(&m, &b)]);
    l1.wait_for(0, "completed (listener 1)", is_completed).await;
    l2.wait_for(0, "completed (listener 2)", is_completed).await;
    let mut third = Vec::new();
    while let Ok(e) = l3.try_recv() {
        third.push(e);
    }
    let first = l1.all();
    assert_eq!(first.len(), 6, "{first:#?}");
    assert_eq!(l2.all(), first, "listener 2 saw every event, in order");
    assert_eq!(third, first, "listener 3 saw every event, in order");
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_or_panicking_listener_does_not_break_the_others() {
    let env = TestEnv::new();
    let projects: Vec<ProjectDir> = (0..10)
        .map(|i| project_with_skill(&env, &format!("p{i:02}"), "S"))
        .collect();
    // A small bus: 16 events kept for slow listeners.
    let m = CacheManager::open_with_events(env.config.clone(), EventBus::new(16)).unwrap();
    m.sync_discovered().unwrap();

    let mut lagging = m.events().subscribe(); // never reads until the end
    let mut prx = m.events().subscribe();
    let panicky = tokio::spawn(async move {
        let ev = prx.recv().await;
        panic!("a listener panics on its first event: {ev:?}");
    });
    let good = EventLog::start(m.events());
    assert_eq!(m.events().listeners(), 3);

    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    for (i, p) in projects.iter().enumerate() {
        job.enqueue(&id_of(&m, p));
        wait_until(DEADLINE, "the good listener to see the refresh", || {
            good.count_since(0, is_completed) == i + 1
        })
        .await;
    }
    let all = good.all();
    // Per project: started, changed, progress, completed.
    assert_eq!(all.len(), 40, "{all:#?}");
    assert_eq!(good.lagged(), 0, "the good listener lost nothing");
    for p in &projects {
        assert_eq!(status_of(&m, &p.key()), Some(ProjectStatus::Fresh));
    }

    let joined = panicky.await;
    assert!(joined.expect_err("the listener panicked").is_panic());
    assert_eq!(m.events().listeners(), 2, "the panicked listener is gone");

    // The lagging one lost the oldest events, is told how many, and gets the newest 16.
    match lagging.try_recv() {
        Err(TryRecvError::Lagged(n)) => assert_eq!(n, 40 - 16),
        other => panic!("expected a lag, got {other:?}"),
    }
    let mut rest = Vec::new();
    while let Ok(e) = lagging.try_recv() {
        rest.push(e);
    }
    assert_eq!(rest, all[24..].to_vec());
    job.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Coalescing
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_enqueued_many_times_while_queued_is_refreshed_once() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let m = env.open();
    m.sync_discovered().unwrap();
    let id = id_of(&m, &a);
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());

    for _ in 0..50 {
        job.enqueue(&id);
    }
    assert_eq!(job.status().await.pending, 1);
    job.start().await.unwrap();
    log.wait_for(0, "completed", is_completed).await;
    assert!(job.wait_idle(DEADLINE).await);
    let events = log.since(0);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, CacheEvent::RefreshStarted { .. }))
            .collect::<Vec<_>>(),
        vec![&CacheEvent::RefreshStarted {
            total: 1,
            force: false
        }]
    );
    assert_eq!(log.count_since(0, |e| is_progress_of(e, &a.key())), 1);
    assert_eq!(log.count_since(0, |e| is_changed_of(e, &a.key())), 1);
    assert_eq!(completed(&events), (1, 1, 0));
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_enqueued_by_id_and_by_path_is_refreshed_once() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let m = env.open();
    m.sync_discovered().unwrap();
    let id = id_of(&m, &a);
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());

    // `enqueue` takes an id or a path; both name the same project.
    job.enqueue(&id);
    job.enqueue(&a.key());
    job.start().await.unwrap();
    log.wait_for(0, "completed", is_completed).await;
    assert!(job.wait_idle(DEADLINE).await);
    let progress = log.count_since(0, |e| is_progress_of(e, &a.key()));
    job.stop().await;
    assert_eq!(
        progress,
        1,
        "the same project queued by id and by path must be refreshed once: {:#?}",
        log.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_enqueued_while_in_flight_is_refreshed_exactly_once_more() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let m = env.open();
    m.sync_discovered().unwrap();
    let id = id_of(&m, &a);
    let log = EventLog::start(m.events());
    // The first attempt fails, which keeps the project in flight for the 300 ms back-off.
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            backoff: Duration::from_millis(300),
            ..job_opts()
        },
    );
    job.start().await.unwrap();
    fail_refreshes_of(&env.db, &a.key());
    job.enqueue(&id);
    log.wait_for(0, "the first attempt to fail", |e| {
        matches!(e, CacheEvent::RefreshFailed { attempt: 1, .. })
    })
    .await;
    let st = job.status().await;
    assert_eq!(st.in_flight, vec![id.clone()]);
    assert_eq!(st.pending, 0);
    for _ in 0..10 {
        job.enqueue(&id);
    }
    assert_eq!(
        job.status().await.pending,
        1,
        "queued once more, not ten times"
    );
    stop_failing(&env.db);

    wait_until(DEADLINE, "two refreshes of the project", || {
        log.count_since(0, |e| is_progress_of(e, &a.key())) >= 2
    })
    .await;
    log.wait_for(0, "completed", is_completed).await;
    assert!(job.wait_idle(DEADLINE).await);
    let events = log.since(0);
    assert_eq!(log.count_since(0, |e| is_progress_of(e, &a.key())), 2);
    assert_eq!(failures(&log, 0).len(), 1);
    assert_eq!(log.count_since(0, |e| is_changed_of(e, &a.key())), 1);
    assert_eq!(
        log.count_since(0, |e| matches!(e, CacheEvent::RefreshStarted { .. })),
        1
    );
    assert_eq!(completed(&events), (2, 1, 0));
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));
    job.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Change detection through the job
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_reports_exactly_what_changed_and_nothing_for_identical_data() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "PDF", "1.0.0"),
    );
    p.agent("a1", "a1", "First agent");
    p.command("c1", "Do it");
    let m = env.open();
    m.sync_discovered().unwrap();
    let key = p.key();
    let id = id_of(&m, &p);
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();

    // New project.
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = changes_of(&ev, &key);
    assert_eq!(cs.len(), 1);
    assert!(cs[0].new_project);
    assert_eq!(
        cs[0].added,
        vec![
            art(ArtifactKind::Skill, "pdf", ".claude/skills/pdf"),
            art(ArtifactKind::Agent, "a1", ".claude/agents/a1.md"),
            art(ArtifactKind::Command, "c1", ".claude/commands/c1.md"),
        ]
    );

    // Identical data: no change reported.
    let ev = refresh_via_job(&job, &log, &id).await;
    assert!(changes_of(&ev, &key).is_empty(), "{ev:#?}");
    assert_eq!(completed(&ev), (1, 0, 0));

    // Version change.
    p.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "PDF", "1.1.0"),
    );
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = changes_of(&ev, &key);
    assert_eq!(cs.len(), 1);
    assert_eq!(
        cs[0].modified,
        vec![art(ArtifactKind::Skill, "pdf", ".claude/skills/pdf")]
    );
    assert!(cs[0].added.is_empty() && cs[0].removed.is_empty());
    let pdf = m
        .get_project(&key)
        .unwrap()
        .artifacts
        .into_iter()
        .find(|a| a.name == "pdf")
        .unwrap();
    assert_eq!(pdf.version.as_deref(), Some("1.1.0"));

    // Artifact added.
    p.agent("a2", "a2", "Second agent");
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = &changes_of(&ev, &key)[0];
    assert_eq!(
        cs.added,
        vec![art(ArtifactKind::Agent, "a2", ".claude/agents/a2.md")]
    );
    assert!(cs.modified.is_empty() && cs.removed.is_empty());

    // Artifact removed, and its row deleted.
    p.remove(".claude/agents/a1.md");
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = &changes_of(&ev, &key)[0];
    assert_eq!(
        cs.removed,
        vec![art(ArtifactKind::Agent, "a1", ".claude/agents/a1.md")]
    );
    assert!(cs.added.is_empty() && cs.modified.is_empty());
    assert_eq!(names(&m, &key, ArtifactKind::Agent), vec!["a2".to_string()]);
    let rows: i64 = watch_support::raw(&env.db)
        .query_row(
            "SELECT count(*) FROM artifacts WHERE path = '.claude/agents/a1.md'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0, "the removed artifact's row is deleted");

    // Content changed (body only).
    p.write(
        ".claude/commands/c1.md",
        "---\ndescription: Do it\n---\nDo it differently now.\n",
    );
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = &changes_of(&ev, &key)[0];
    assert_eq!(
        cs.modified,
        vec![art(ArtifactKind::Command, "c1", ".claude/commands/c1.md")]
    );
    assert!(cs.added.is_empty() && cs.removed.is_empty());

    // Renamed file: removed under the old path, added under the new.
    fs::rename(
        p.path.join(".claude/agents/a2.md"),
        p.path.join(".claude/agents/a3.md"),
    )
    .unwrap();
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = &changes_of(&ev, &key)[0];
    assert_eq!(
        cs.removed,
        vec![art(ArtifactKind::Agent, "a2", ".claude/agents/a2.md")]
    );
    // The frontmatter still says `name: a2`.
    assert_eq!(
        cs.added,
        vec![art(ArtifactKind::Agent, "a2", ".claude/agents/a3.md")]
    );

    // Renamed in its frontmatter: modified in place.
    p.agent("a3", "a3", "Second agent");
    let ev = refresh_via_job(&job, &log, &id).await;
    let cs = &changes_of(&ev, &key)[0];
    assert_eq!(
        cs.modified,
        vec![art(ArtifactKind::Agent, "a3", ".claude/agents/a3.md")]
    );
    assert_eq!(
        description(&m, &key, ArtifactKind::Agent, "a3").as_deref(),
        Some("Second agent")
    );

    // And identical once more.
    let ev = refresh_via_job(&job, &log, &id).await;
    assert!(changes_of(&ev, &key).is_empty(), "{ev:#?}");
    job.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_always_fails_is_tried_exactly_n_times_with_exponential_backoff() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "v1");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    let id = id_of(&m, &a);
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            max_attempts: 3,
            backoff: Duration::from_millis(50),
            ..job_opts()
        },
    );
    job.start().await.unwrap();

    fail_refreshes_of(&env.db, &a.key());
    a.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "v2", "1.0.0"),
    );
    job.enqueue(&id);
    log.wait_for(0, "completed", is_completed).await;
    assert!(job.wait_idle(DEADLINE).await);

    let fails = failures(&log, 0);
    let attempts: Vec<(u32, bool)> = fails.iter().map(|f| (f.4, f.5)).collect();
    assert_eq!(attempts, vec![(1, false), (2, false), (3, true)]);
    for (_, fid, path, error, _, _) in &fails {
        assert_eq!(fid, &id);
        assert_eq!(path, &a.key());
        assert!(error.contains("injected failure"), "{error}");
    }
    let gap1 = fails[1].0 - fails[0].0;
    let gap2 = fails[2].0 - fails[1].0;
    eprintln!("retry gaps: {gap1:?} then {gap2:?} (back-off 50 ms, doubling)");
    assert!(
        gap1 >= Duration::from_millis(45) && gap1 < Duration::from_millis(1500),
        "first back-off {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(95) && gap2 < Duration::from_millis(3000),
        "second back-off {gap2:?}"
    );
    assert!(gap2 > gap1, "back-off grows: {gap1:?} then {gap2:?}");
    assert_eq!(completed(&log.since(0)), (0, 0, 1));

    // Marked errored with the reason; the last good data is kept.
    let p = project(&m, &a.key());
    assert_eq!(p.status, ProjectStatus::Error);
    assert!(
        p.error
            .as_deref()
            .unwrap_or("")
            .contains("injected failure"),
        "{:?}",
        p.error
    );
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v1"));

    // Once the fault is gone, a refresh succeeds and clears the error.
    stop_failing(&env.db);
    let ev = refresh_via_job(&job, &log, &id).await;
    assert_eq!(completed(&ev), (1, 1, 0));
    let p = project(&m, &a.key());
    assert_eq!((p.status, p.error), (ProjectStatus::Fresh, None));
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v2"));
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_fails_twice_then_succeeds_on_the_third_attempt() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "v1");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    let id = id_of(&m, &a);
    let log = EventLog::start(m.events());
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            max_attempts: 3,
            backoff: Duration::from_millis(200),
            ..job_opts()
        },
    );
    job.start().await.unwrap();

    fail_refreshes_of(&env.db, &a.key());
    a.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "v2", "1.0.0"),
    );
    job.enqueue(&id);
    log.wait_for(0, "the second attempt to fail", |e| {
        matches!(e, CacheEvent::RefreshFailed { attempt: 2, .. })
    })
    .await;
    // The third attempt comes 400 ms after the second: plenty of time to remove the fault.
    stop_failing(&env.db);
    log.wait_for(0, "completed", is_completed).await;

    let fails = failures(&log, 0);
    let attempts: Vec<(u32, bool)> = fails.iter().map(|f| (f.4, f.5)).collect();
    assert_eq!(attempts, vec![(1, false), (2, false)]);
    let timed = log.timed();
    let changed_at = timed
        .iter()
        .find(|(_, e)| is_changed_of(e, &a.key()))
        .map(|(t, _)| *t)
        .expect("the third attempt changed the project");
    let wait = changed_at - fails[1].0;
    eprintln!("third attempt after {wait:?} (back-off 200 ms doubled)");
    assert!(wait >= Duration::from_millis(380), "{wait:?}");
    assert_eq!(completed(&log.since(0)), (1, 1, 0));
    let p = project(&m, &a.key());
    assert_eq!((p.status, p.error), (ProjectStatus::Fresh, None));
    assert_eq!(skill_desc(&m, &a.key(), "pdf").as_deref(), Some("v2"));
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_all_reports_a_failing_project_and_refreshes_the_others() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let b = project_with_skill(&env, "beta", "B");
    let m = env.open();
    m.sync_discovered().unwrap();
    let log = EventLog::start(m.events());
    fail_refreshes_of(&env.db, &b.key());

    let r = blocking(|| refresh_now(&m, false)).expect("refresh-all itself succeeds");
    assert_eq!(r.refreshed, 1);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].path, b.key());
    assert!(r.failed[0].error.contains("injected failure"));
    log.wait_for(0, "completed", is_completed).await;
    // Refresh-all goes through the job: the failing project is retried with back-off, and
    // only its last attempt is final.
    let fails = failures(&log, 0);
    let attempts: Vec<(&str, u32, bool)> = fails.iter().map(|f| (f.2.as_str(), f.4, f.5)).collect();
    let bk = b.key();
    assert_eq!(
        attempts,
        [
            (bk.as_str(), 1, false),
            (bk.as_str(), 2, false),
            (bk.as_str(), 3, true)
        ]
    );
    assert_eq!(completed(&log.since(0)), (1, 1, 1));
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));
    assert_eq!(status_of(&m, &b.key()), Some(ProjectStatus::Error));

    // The job's scheduled run: the errored project is retried 3 times, the stale one refreshed.
    m.invalidate(Some(&a.key()), InvalidationReason::Manual)
        .unwrap();
    let job = RefreshJob::new(m.clone(), job_opts());
    job.start().await.unwrap();
    let mark = log.mark();
    job.run_scheduled().await;
    log.wait_for(mark, "completed", is_completed).await;
    let fails = failures(&log, mark);
    let attempts: Vec<(String, u32, bool)> =
        fails.iter().map(|f| (f.2.clone(), f.4, f.5)).collect();
    assert_eq!(
        attempts,
        vec![(b.key(), 1, false), (b.key(), 2, false), (b.key(), 3, true)]
    );
    assert_eq!(completed(&log.since(mark)), (1, 0, 1));
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));
    assert_eq!(status_of(&m, &b.key()), Some(ProjectStatus::Error));
    job.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Status, schedule, wake check
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_next_run_last_run_and_pending() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let b = project_with_skill(&env, "beta", "B");
    let c = project_with_skill(&env, "gamma", "C");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    for p in [&b, &c] {
        m.invalidate(Some(&p.key()), InvalidationReason::Manual)
            .unwrap();
    }
    let s = m.status().unwrap();
    assert_eq!((s.fresh, s.stale), (1, 2), "stale count");
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            schedule: Some(Schedule::Every(Duration::from_secs(2))),
            ..job_opts()
        },
    );

    let st = job.status().await;
    assert!(!st.running);
    assert_eq!((st.next_run, st.last_run, st.pending), (None, None, 0));
    job.enqueue_many([id_of(&m, &b), id_of(&m, &c)]);
    assert_eq!(
        job.status().await.pending,
        2,
        "pending = the stale projects queued"
    );

    let before = now_ms();
    job.start().await.unwrap();
    let st = job.status().await;
    assert!(st.running);
    let next = st.next_run.expect("a next run after start");
    let now = now_ms();
    assert!(next > now, "next run {next} is in the future (now {now})");
    assert!(
        next <= before + 3_000,
        "next run {next} within one interval"
    );

    assert!(job.wait_idle(DEADLINE).await);
    assert_eq!(job.status().await.pending, 0);
    let s = m.status().unwrap();
    assert_eq!((s.fresh, s.stale), (3, 0));

    let t = now_ms();
    job.run_scheduled().await;
    let last = job.status().await.last_run.expect("last run after a run");
    assert!(last >= t && last <= now_ms());

    job.stop().await;
    let st = job.status().await;
    assert!(!st.running);
    assert_eq!(st.next_run, None, "no next run when stopped");
    assert!(st.last_run >= Some(last), "the last run is remembered");
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Fresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_refresh_fires_on_its_own() {
    let mut env = TestEnv::new();
    env.config.ttl_minutes = 0; // every project is stale as soon as the clock moves
    let a = project_with_skill(&env, "alpha", "v1");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            schedule: Some(Schedule::Every(Duration::from_secs(1))),
            ..job_opts()
        },
    );
    job.start().await.unwrap();
    a.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "v2", "1.0.0"),
    );
    let took = wait_until(Duration::from_secs(8), "the schedule to refresh", || {
        skill_desc(&m, &a.key(), "pdf").as_deref() == Some("v2")
    })
    .await;
    eprintln!("a 1 s schedule picked up the change after {took:?}");
    assert!(meta_i64(&m, META_LAST_RUN).is_some());
    job.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_that_is_not_whole_seconds_is_refused_not_silently_rounded() {
    // tokio-cron-scheduler keeps intervals in whole seconds: 300 ms would fire once and stop.
    assert!(Schedule::parse("300ms").is_err());
    assert!(Schedule::parse("1500ms").is_err());
    let env = TestEnv::new();
    let m = env.open();
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            schedule: Some(Schedule::Every(Duration::from_millis(300))),
            ..job_opts()
        },
    );
    let err = job.start().await.expect_err("a 300 ms interval is refused");
    assert!(err.to_string().contains("whole seconds"), "{err}");
    assert!(!job.is_running().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wake_check_runs_a_missed_scheduled_refresh() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "A");
    let m = env.open();
    blocking(|| refresh_now(&m, true)).unwrap();
    m.invalidate(Some(&a.key()), InvalidationReason::Manual)
        .unwrap();
    let job = RefreshJob::new(
        m.clone(),
        JobOptions {
            schedule: Some(Schedule::Every(Duration::from_secs(3600))),
            wake_check: Duration::from_millis(100),
            ..job_opts()
        },
    );
    job.start().await.unwrap();
    let due = meta_i64(&m, META_NEXT_DUE).expect("next due recorded at start");
    assert!(due > now_ms() + 3_500_000, "next due an hour away");
    assert_eq!(meta_i64(&m, META_LAST_RUN), None);
    assert_eq!(status_of(&m, &a.key()), Some(ProjectStatus::Stale));

    // As if the machine slept through the due time.
    m.store()
        .meta_set(META_NEXT_DUE, &(now_ms() - 60_000).to_string())
        .unwrap();
    let took = wait_until(Duration::from_secs(5), "the missed run", || {
        meta_i64(&m, META_LAST_RUN).is_some()
    })
    .await;
    eprintln!("missed run caught up after {took:?} (wake check every 100 ms)");
    wait_until(DEADLINE, "the stale project to be refreshed", || {
        status_of(&m, &a.key()) == Some(ProjectStatus::Fresh)
    })
    .await;
    let due = meta_i64(&m, META_NEXT_DUE).unwrap();
    assert!(due > now_ms() + 3_500_000, "the next due time moved on");
    job.stop().await;
}
