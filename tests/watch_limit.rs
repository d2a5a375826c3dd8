//! When the OS refuses more file watches (the inotify limit), the watcher polls the projects it
//! could not watch, says so in its status, and changes there still reach the cache.
//!
//! Lowers `fs.inotify.max_user_watches` for the duration of the test (root only; the old value
//! is restored even on failure). Its own test binary, so nothing else runs meanwhile.

#![cfg(target_os = "linux")]

use skillmeat_cache::refresh::{JobOptions, RefreshJob, refresh_now};
use skillmeat_cache::watch::{FileWatcher, WatchOptions};
use skillmeat_cache::{ArtifactQuery, CacheManager, Config};
use std::path::Path;
use std::time::{Duration, Instant};

const LIMIT: &str = "/proc/sys/fs/inotify/max_user_watches";

/// Restores the limit when dropped.
struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::write(LIMIT, &self.0);
    }
}

/// Inotify watches currently held by processes of this user.
fn watches_in_use() -> usize {
    let uid = unsafe { libc::getuid() };
    let mut n = 0;
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(meta) = std::fs::metadata(p.path()) else {
            continue;
        };
        if std::os::unix::fs::MetadataExt::uid(&meta) != uid {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fdinfo")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(text) = std::fs::read_to_string(fd.path()) {
                n += text
                    .lines()
                    .filter(|l| l.starts_with("inotify wd:"))
                    .count();
            }
        }
    }
    n
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_watches_fall_back_to_polling_visibly() {
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
    for name in ["a", "b", "c", "d"] {
        write(
            &root.join(name).join(".claude/skills/s/SKILL.md"),
            "---\nname: s\ndescription: one\n---\n",
        );
    }
    let mut cfg = Config::defaults_for_home(tmp.path());
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    let m = CacheManager::open(cfg.clone()).unwrap();
    refresh_now(&m, false).unwrap();
    let job = RefreshJob::new(m.clone(), JobOptions::from_config(&cfg).unwrap());
    job.start().await.unwrap();
    let mut opts = WatchOptions::from_config(&cfg);
    opts.poll_interval = Duration::from_millis(300);
    let w = FileWatcher::new(m.clone(), job.clone(), opts);

    // Room for about one project's watches (its folder, .claude, skills, skills/s...).
    let _restore = Restore(old.trim().to_string());
    std::fs::write(LIMIT, (watches_in_use() + 5).to_string()).unwrap();
    w.start().unwrap();
    let status = w.status();
    std::fs::write(LIMIT, old.trim()).unwrap();

    assert_eq!(status.state, "degraded", "{status:?}");
    assert!(!status.polled.is_empty(), "{status:?}");
    assert!(
        status.projects_watched + status.polled.len() == 4,
        "{status:?}"
    );

    // A change in a polled project still reaches the cache.
    let polled = status.polled[0].clone();
    write(
        &Path::new(&polled).join(".claude/agents/new.md"),
        "---\nname: from-polling\ndescription: seen by the poller\n---\n",
    );
    let deadline = Instant::now() + Duration::from_secs(10);
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
    let w2 = w.clone();
    tokio::task::spawn_blocking(move || w2.stop())
        .await
        .unwrap();
    job.stop().await;
}
