//! When the OS refuses a file watcher at all (the per-user limit of inotify instances, reached
//! by other programs), the service still starts: every project is polled, the status says
//! "degraded", and changes still reach the cache.
//!
//! Lowers `fs.inotify.max_user_instances` for the duration of the start (root only; the old
//! value is restored even on failure). Its own test binary, so nothing else runs meanwhile.

#![cfg(target_os = "linux")]

use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::service::Service;
use skillmeat_cache::{ArtifactQuery, CacheManager, Config, EventBus};
use std::path::Path;
use std::time::{Duration, Instant};

const LIMIT: &str = "/proc/sys/fs/inotify/max_user_instances";

/// Restores the limit when dropped.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(LIMIT, &self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_watcher_at_all_means_polling_not_a_failed_start() {
    let Ok(old) = std::fs::read_to_string(LIMIT) else {
        eprintln!("skipped: {LIMIT} is not readable");
        return;
    };
    if std::fs::write(LIMIT, old.trim()).is_err() {
        eprintln!("skipped: {LIMIT} is not writable (needs root)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    for name in ["a", "b"] {
        write(
            &root.join(name).join(".claude/skills/s/SKILL.md"),
            "---\nname: s\ndescription: one\n---\n",
        );
    }
    let mut cfg = Config::defaults_for_home(tmp.path());
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    let m = CacheManager::open_with_events(cfg, EventBus::default()).unwrap();
    refresh_now(&m, false).unwrap();

    let restore = Restore(old.trim().to_string());
    // No room for one more inotify instance (those already open are kept).
    std::fs::write(LIMIT, "0").unwrap();
    let svc = Service::start_with(m.clone())
        .await
        .expect("the service starts without a native watcher");
    svc.watch_ready().await;
    drop(restore);

    let status = svc.watcher().status();
    assert_eq!(status.state, "degraded", "{status:?}");
    assert_eq!(status.polled.len(), 2, "{status:?}");
    assert!(
        status
            .problems
            .iter()
            .any(|p| p.contains("refused a file watcher")),
        "{status:?}"
    );

    // A change still reaches the cache, through polling (every 2 s).
    let polled = status.polled[0].clone();
    write(
        &Path::new(&polled).join(".claude/agents/new.md"),
        "---\nname: from-polling\ndescription: seen by the poller\n---\n",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = m
            .list_artifacts(&ArtifactQuery {
                project: Some(polled.clone()),
                ..Default::default()
            })
            .unwrap()
            .items
            .iter()
            .any(|a| a.name == "from-polling");
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the polled project was never refreshed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    svc.stop().await;
}
