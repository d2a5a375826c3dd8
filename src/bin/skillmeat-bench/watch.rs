//! The benchmark's watch measurements: change-to-cache latency, a burst of 10,000 file
//! operations, watcher set-up for many projects, and the `watch` daemon's idle cost.

use serde_json::{Value, json};
use skillmeat_cache::corpus::{self, CorpusSpec};
use skillmeat_cache::refresh::{JobOptions, RefreshJob};
use skillmeat_cache::scan::{PrevIndex, scan_project_in};
use skillmeat_cache::service::Service;
use skillmeat_cache::store::ProjectFilter;
use skillmeat_cache::watch::{FileWatcher, WatchOptions};
use skillmeat_cache::{ArtifactQuery, CacheEvent, CacheManager, Config};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Latency from a file write to the cache holding it (the ProjectChanged event is sent after
/// the commit), over `samples` writes in different projects.
pub async fn change_latency(m: &CacheManager, samples: usize) -> Res<Vec<f64>> {
    let service = Service::start_with(m.clone()).await?;
    service.watch_ready().await;
    let projects = m.list_projects(&ProjectFilter::default())?.items;
    let mut rx = m.events().subscribe();
    service.job().wait_idle(Duration::from_secs(30)).await;
    let mut out = Vec::new();
    for i in 0..samples {
        let p = &projects[i % projects.len()];
        let skill = first_skill(Path::new(&p.path)).ok_or("no skill in the corpus project")?;
        let text = std::fs::read_to_string(&skill)?;
        let new = text.replacen("description: ", &format!("description: edit {i} "), 1);
        while rx.try_recv().is_ok() {}
        let t = Instant::now();
        std::fs::write(&skill, new)?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(CacheEvent::ProjectChanged { id, .. })) if id == p.id => break,
                Ok(_) => continue,
                Err(_) => return Err(format!("no change seen for {}", p.path).into()),
            }
        }
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        service.job().wait_idle(Duration::from_secs(10)).await;
    }
    service.stop().await;
    Ok(out)
}

fn first_skill(project: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(project.join(".claude/skills"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("SKILL.md").is_file())
        .collect();
    dirs.sort();
    dirs.first().map(|d| d.join("SKILL.md"))
}

/// Creates, modifies and deletes `files` files across the corpus in one burst while the
/// service watches, then waits until the cache equals a fresh scan of the disk. Returns
/// (artifacts that differ at the deadline, time to settle in ms).
pub async fn burst(m: &CacheManager, files: usize) -> Res<(usize, f64)> {
    let service = Service::start_with(m.clone()).await?;
    service.watch_ready().await;
    service.job().wait_idle(Duration::from_secs(30)).await;
    let projects: Vec<PathBuf> = m
        .list_projects(&ProjectFilter::default())?
        .items
        .iter()
        .map(|p| PathBuf::from(&p.path))
        .collect();
    let t = Instant::now();
    // A third created, a third of those modified, a third of those deleted... until `files`
    // operations were made: creates, then edits of half, then deletes of a quarter.
    let creates = files * 4 / 7;
    let mut made = Vec::with_capacity(creates);
    for i in 0..creates {
        let p = &projects[i % projects.len()];
        let dir = p.join(".claude/commands/burst");
        if i < projects.len() {
            std::fs::create_dir_all(&dir)?;
        }
        let f = dir.join(format!("b{i}.md"));
        std::fs::write(&f, format!("---\ndescription: burst {i}\n---\nBody {i}\n"))?;
        made.push(f);
    }
    for f in made.iter().step_by(2) {
        std::fs::write(f, "---\ndescription: edited in the burst\n---\nchanged\n")?;
    }
    for f in made.iter().step_by(4) {
        std::fs::remove_file(f)?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lost = usize::MAX;
    while Instant::now() < deadline {
        service.job().wait_idle(Duration::from_secs(5)).await;
        lost = difference(m, &projects)?;
        if lost == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settle = t.elapsed().as_secs_f64() * 1000.0;
    service.stop().await;
    Ok((lost, settle))
}

/// How many artifacts differ (by kind, path and hash) between the cache and a fresh scan.
pub fn difference(m: &CacheManager, projects: &[PathBuf]) -> Res<usize> {
    let cached: BTreeSet<(String, String, String, String)> = m
        .list_artifacts(&ArtifactQuery::default())?
        .items
        .into_iter()
        .map(|a| (a.project, a.kind.to_string(), a.path, a.content_hash))
        .collect();
    let collection = skillmeat_cache::collection::Collection::load(&m.config().collections_dir);
    let mut disk = BTreeSet::new();
    for p in projects {
        let ctx = m.scan_context(&p.display().to_string());
        let snap = scan_project_in(p, &PrevIndex::default(), &collection, &ctx);
        for a in snap.artifacts {
            disk.insert((
                p.display().to_string(),
                a.kind.to_string(),
                a.path,
                a.content_hash,
            ));
        }
    }
    Ok(cached.symmetric_difference(&disk).count())
}

/// Time to start watching `n` projects (each with a few artifacts, already cached).
pub fn watch_setup(base: &Path, n: usize) -> Res<(f64, usize)> {
    let c = corpus::generate(
        base,
        &CorpusSpec {
            projects: n,
            artifacts: 10,
            seed: 7,
        },
    )?;
    let mut cfg = Config::defaults_for_home(base);
    cfg.db_path = base.join("watch-setup.db");
    cfg.roots = vec![c.root.clone()];
    cfg.include_user_scope = false;
    cfg.collections_dir = c.collections_dir.clone();
    let m = CacheManager::open(cfg.clone())?;
    skillmeat_cache::refresh::refresh_now(&m, false)?;
    let job = RefreshJob::new(m.clone(), JobOptions::from_config(&cfg)?);
    let w = FileWatcher::new(m, job, WatchOptions::from_config(&cfg));
    let t = Instant::now();
    w.start()?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let watched = w.status().projects_watched;
    w.stop();
    Ok((ms, watched))
}

/// Runs the real `skillmeat-cache watch` on the corpus and measures its CPU time over an
/// idle window (scaled to a minute) and its resident memory. Linux only (it reads `/proc` and
/// stops the daemon with SIGTERM): elsewhere reported as skipped.
pub fn idle_daemon(cfg: &Config, seconds: u64) -> Res<Value> {
    #[cfg(target_os = "linux")]
    {
        idle_daemon_linux(cfg, seconds)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (cfg, seconds);
        Ok(json!({"skipped": "idle daemon: needs Linux (/proc, SIGTERM)"}))
    }
}

/// [`idle_daemon`] on Linux.
#[cfg(target_os = "linux")]
fn idle_daemon_linux(cfg: &Config, seconds: u64) -> Res<Value> {
    use std::io::BufRead;
    let exe = std::env::current_exe()?
        .parent()
        .ok_or("no bin folder")?
        .join("skillmeat-cache");
    if !exe.is_file() {
        return Ok(json!({"skipped": format!("{} not built", exe.display())}));
    }
    let mut child = std::process::Command::new(&exe)
        .arg("--db")
        .arg(&cfg.db_path)
        .arg("--root")
        .arg(&cfg.roots[0])
        .arg("--json")
        .arg("watch")
        .env("HOME", &cfg.home)
        .env("SKILLMEAT_CACHE_INCLUDE_USER_SCOPE", "false")
        .env("SKILLMEAT_CACHE_COLLECTIONS_DIR", &cfg.collections_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Settled once the start-up refresh completed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))?;
        if line.contains("\"refresh_completed\"") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let cpu0 = cpu_ns(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu1 = cpu_ns(pid);
    let wall = t.elapsed().as_secs_f64();
    let rss = rss_mb(pid);
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let status = child.wait()?;
    let cpu_ms = (cpu1.saturating_sub(cpu0)) as f64 / 1e6;
    Ok(json!({
        "idle_cpu_ms_per_min": round3(cpu_ms * 60.0 / wall),
        "idle_rss_mb": rss,
        "idle_window_s": seconds,
        "daemon_exit_ok": status.success(),
    }))
}

/// CPU time (ns) of every thread of a process, from /proc/<pid>/task/*/schedstat.
#[cfg(target_os = "linux")]
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(target_os = "linux")]
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kb| round3(kb / 1024.0))
        .unwrap_or(0.0)
}

#[cfg(target_os = "linux")]
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
