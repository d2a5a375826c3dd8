//! The engine service as the tray app and `watch` run it: every switch does what it says
//! (pause at start, resume, `cache-enabled = false`, settings applied live, only what changed),
//! nothing blocks the async runtime, and stopping is quick even with a refresh stuck on a
//! locked database. Real folders, a real SQLite file, the real watcher and job.

mod common;
mod watch_support;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::service::Service;
use skillmeat_cache::{CacheManager, Config, EventBus};
use std::time::{Duration, Instant};
use watch_support::{DEADLINE, EventLog, skill_desc, skill_md, wait_until};

fn project_with_skill(env: &TestEnv, name: &str, desc: &str) -> ProjectDir {
    let p = env.project(name);
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

/// A config whose file lives in the test's home, with a short debounce.
fn config(env: &TestEnv) -> Config {
    let mut cfg = env.config.clone();
    cfg.config_file = env.home.join(".skillmeat/config.toml");
    cfg
}

async fn start(cfg: Config) -> Service {
    let m = CacheManager::open_with_events(cfg, EventBus::default()).expect("open");
    let svc = Service::start_with(m).await.expect("service starts");
    svc.watch_ready().await;
    svc
}

async fn wait_desc(m: &CacheManager, p: &ProjectDir, want: &str) {
    let key = p.key();
    wait_until(DEADLINE, &format!("pdf in {key} to read '{want}'"), || {
        skill_desc(m, &key, "pdf").as_deref() == Some(want)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_at_start_stays_paused_then_resumes() {
    let env = TestEnv::new();
    let p = project_with_skill(&env, "alpha", "v1");
    let mut cfg = config(&env);
    cfg.watch_paused = true;
    let svc = start(cfg).await;
    let m = svc.manager().clone();
    wait_desc(&m, &p, "v1").await; // the start-up refresh
    // Paused, not "stopped": the tray offers Resume because of this.
    assert!(svc.watcher().is_paused());
    assert_eq!(svc.watcher().status().state, "paused");
    // A change while paused is not picked up by the watcher...
    set_desc(&p, "v2");
    // ...until watching resumes, which re-reads what changed meanwhile.
    svc.set_paused(false).await.expect("resume");
    assert_eq!(svc.watcher().status().state, "watching");
    wait_desc(&m, &p, "v2").await;
    set_desc(&p, "v3");
    wait_desc(&m, &p, "v3").await;
    let file = std::fs::read_to_string(env.home.join(".skillmeat/config.toml")).unwrap();
    assert!(file.contains("watch-paused = false"), "{file}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_a_watcher_that_is_not_paused_reads_nothing() {
    let env = TestEnv::new();
    let a = project_with_skill(&env, "alpha", "v1");
    let b = project_with_skill(&env, "beta", "v1");
    let svc = start(config(&env)).await;
    wait_until(DEADLINE, "watching", || {
        svc.watcher().status().state == "watching"
    })
    .await;
    // The start-up refresh has read both projects and nothing is queued any more.
    let m = svc.manager().clone();
    wait_desc(&m, &a, "v1").await;
    wait_desc(&m, &b, "v1").await;
    assert!(svc.job().wait_idle(DEADLINE).await);
    let log = EventLog::start(svc.manager().events());
    // What the dashboard's Save sends for an unchanged pause box.
    svc.set_paused(false).await.unwrap();
    let st = svc.job().status().await;
    assert_eq!((st.pending, st.in_flight.len()), (0, 0), "nothing re-read");
    // Setting a value equal to the one in force changes nothing either.
    svc.set_setting("cache-ttl", "60").await.unwrap();
    let st = svc.job().status().await;
    assert_eq!((st.pending, st.in_flight.len()), (0, 0));
    assert_eq!(
        log.count_since(0, |e| matches!(
            e,
            skillmeat_cache::CacheEvent::RefreshStarted { .. }
        )),
        0
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_disabled_means_no_watching_even_when_resumed() {
    let env = TestEnv::new();
    let p = project_with_skill(&env, "alpha", "v1");
    let mut cfg = config(&env);
    cfg.enabled = false;
    cfg.watch_paused = true;
    let svc = start(cfg).await;
    svc.refresh_all(false).await.unwrap();
    assert_eq!(svc.watcher().status().state, "paused");
    svc.set_paused(false).await.unwrap();
    assert_eq!(svc.watcher().status().state, "disabled");
    assert_eq!(svc.watcher().status().watches, 0);
    assert!(svc.job().status().await.next_run.is_none(), "no schedule");
    // Enabling the cache starts watching at once.
    svc.set_setting("cache-enabled", "true").await.unwrap();
    assert_eq!(svc.watcher().status().state, "watching");
    assert!(
        svc.job().status().await.next_run.is_some(),
        "scheduled again"
    );
    let m = svc.manager().clone();
    set_desc(&p, "v2");
    wait_desc(&m, &p, "v2").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roots_change_discovers_and_watches_at_once() {
    let env = TestEnv::new();
    project_with_skill(&env, "alpha", "v1");
    let svc = start(config(&env)).await;
    let m = svc.manager().clone();
    wait_until(DEADLINE, "watching", || {
        svc.watcher().status().state == "watching"
    })
    .await;
    let other = env.home.join("work");
    let gamma = ProjectDir {
        path: other.join("gamma"),
    };
    gamma.write(
        ".claude/skills/pdf/SKILL.md",
        &skill_md("pdf", "g1", "1.0.0"),
    );
    let gamma = ProjectDir {
        path: std::fs::canonicalize(&gamma.path).unwrap(),
    };
    let roots = format!("{}:{}", env.root.display(), other.display());
    svc.set_setting("roots", &roots).await.unwrap();
    // Discovered and read before the call returns...
    assert_eq!(skill_desc(&m, &gamma.key(), "pdf").as_deref(), Some("g1"));
    // ...and watched: a change is picked up without any refresh asked for.
    set_desc(&gamma, "g2");
    wait_desc(&m, &gamma, "g2").await;
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_out_of_range_is_refused_and_the_file_keeps_its_value() {
    let env = TestEnv::new();
    let svc = start(config(&env)).await;
    svc.set_setting("cache-ttl", "42").await.unwrap();
    for (key, bad) in [
        ("cache-ttl", "18446744073709551615"),
        ("cache-ttl", "0"),
        ("depth", "1000"),
        ("debounce-ms", "99999999999"),
        ("workers", "0"),
    ] {
        let e = svc.set_setting(key, bad).await.unwrap_err();
        assert!(e.to_string().contains(key), "{e}");
        assert_eq!(e.code(), "invalid_input");
    }
    let file = std::fs::read_to_string(env.home.join(".skillmeat/config.toml")).unwrap();
    assert!(file.contains("cache-ttl = 42"), "{file}");
    assert_eq!(svc.manager().config().ttl_minutes, 42);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_saved_at_once_are_all_kept() {
    let env = TestEnv::new();
    let svc = start(config(&env)).await;
    let keys = [
        ("cache-ttl", "99"),
        ("notifications", "false"),
        ("schedule", "7m"),
        ("max-wait-ms", "1500"),
    ];
    let mut tasks = Vec::new();
    for (k, v) in keys {
        let file = env.home.join(".skillmeat/config.toml");
        // Straight to the file from several threads, as two processes would.
        tasks.push(std::thread::spawn(move || {
            skillmeat_cache::config::set_in_file(&file, k, v)
        }));
    }
    for t in tasks {
        t.join().unwrap().unwrap();
    }
    let file = std::fs::read_to_string(env.home.join(".skillmeat/config.toml")).unwrap();
    for want in [
        "cache-ttl = 99",
        "notifications = false",
        "schedule = \"7m\"",
        "max-wait-ms = 1500",
    ] {
        assert!(file.contains(want), "{want} lost:\n{file}");
    }
    svc.stop().await;
}

/// Every SQLite call of the job and the service runs on blocking threads: while the database
/// is locked by another process for seconds, a current-thread runtime keeps running its other
/// tasks on time.
#[tokio::test(flavor = "current_thread")]
async fn a_locked_database_never_stalls_the_runtime() {
    let env = TestEnv::new();
    project_with_skill(&env, "alpha", "v1");
    let mut cfg = config(&env);
    cfg.enabled = false;
    let m =
        CacheManager::open_with_busy_timeout(cfg, EventBus::default(), Duration::from_millis(500))
            .unwrap();
    let svc = Service::start_with(m).await.unwrap();
    svc.refresh_all(false).await.unwrap();
    let id = svc.manager().resolve("alpha").unwrap().0;
    // Another process holds the write lock.
    let locker = env.raw();
    locker.execute_batch("BEGIN IMMEDIATE;").unwrap();
    // A 20 ms timer on the runtime for as long as the refresh is under way.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticking = done.clone();
    let ticker = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        let mut last = Instant::now();
        while !ticking.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = Instant::now();
            worst = worst.max(now - last);
            last = now;
        }
        worst
    });
    // A forced refresh: each of its three attempts waits out the busy timeout; the last is
    // then marked failed (another write that waits).
    let outcome = svc.refresh_project(&id, true).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let worst = ticker.await;
    locker.execute_batch("ROLLBACK;").unwrap();
    let worst = worst.unwrap();
    assert!(
        worst < Duration::from_millis(500),
        "a 20 ms timer was late by {worst:?}: blocking work ran on the runtime"
    );
    let e = outcome.expect_err("the database stayed locked");
    assert_eq!(e.code(), "busy", "{e}");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_does_not_wait_for_a_refresh_stuck_on_a_lock() {
    let env = TestEnv::new();
    project_with_skill(&env, "alpha", "v1");
    let svc = start(config(&env)).await;
    // The first scheduled run reads alpha (it is queued by a task of its own: wait for its
    // result, not only for an idle queue, which the job also is before that run is queued).
    wait_until(DEADLINE, "alpha to be cached", || {
        svc.manager().resolve("alpha").is_ok()
    })
    .await;
    assert!(svc.job().wait_idle(DEADLINE).await);
    let locker = env.raw();
    // The service's own start-up writes (usage index, bookkeeping) may hold the write lock
    // for a moment, and SQLite returns some busy states at once: take the lock when free.
    let taken = Instant::now();
    while let Err(e) = locker.execute_batch("BEGIN IMMEDIATE;") {
        assert!(
            taken.elapsed() < DEADLINE,
            "the write lock never came free: {e}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let id = svc.manager().resolve("alpha").unwrap().0;
    svc.job().enqueue(&id);
    wait_until(DEADLINE, "the refresh to be in flight", || in_flight(&svc)).await;
    let t = Instant::now();
    svc.stop().await;
    let took = t.elapsed();
    locker.execute_batch("ROLLBACK;").unwrap();
    // The refresh waits up to the 10 s busy timeout (three attempts); quitting must not.
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
}

fn in_flight(svc: &Service) -> bool {
    // The job's queue state without awaiting (a blocking read of its status).
    let job = svc.job().clone();
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current()
            .block_on(async move { !job.status().await.in_flight.is_empty() })
    })
}
