//! `skillmeat-bench`: the benchmark harness. Generates a synthetic corpus (or uses `--corpus`),
//! drives the real engine on a real database, and prints one JSON object of measurements.
//! Run it in the release build (`make bench`).

mod floor;
mod library;
mod store_floor;
mod usage;
mod watch;

use clap::Parser;
use serde_json::{Map, Value, json};
use skillmeat_cache::corpus::{self, CorpusSpec, Rng};
use skillmeat_cache::refresh::{refresh_ids_now, refresh_now, refresh_project_now};
use skillmeat_cache::store::ProjectFilter;
use skillmeat_cache::{CacheManager, Config, SearchQuery};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Measure the project cache on a synthetic or existing corpus; prints one JSON object.
#[derive(Debug, Parser)]
#[command(name = "skillmeat-bench", version, about)]
struct Args {
    /// Projects to generate.
    #[arg(long, default_value_t = 100)]
    projects: usize,
    /// Artifacts per generated project.
    #[arg(long, default_value_t = 100)]
    artifacts: usize,
    /// Use this folder as the discovery root instead of generating a corpus.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Repetitions of each timed step (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Generate the corpus into this folder and keep it (for profiling by hand).
    #[arg(long, value_name = "DIR")]
    keep_corpus: Option<PathBuf>,
    /// Keep the database at this path (default: a temporary file, removed at the end).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip the watcher measurements (latency, burst, set-up, idle daemon).
    #[arg(long)]
    no_watch: bool,
    /// File writes timed for the change-to-cache latency.
    #[arg(long, default_value_t = 40)]
    latency_samples: usize,
    /// Files created, modified and deleted in the burst.
    #[arg(long, default_value_t = 10_000)]
    burst_files: usize,
    /// Projects watched for the set-up time.
    #[arg(long, default_value_t = 1000)]
    watch_projects: usize,
    /// Only time searches, on the existing database given by --db (no corpus, no refresh).
    #[arg(long, requires = "db")]
    search_only: bool,
    /// Seconds the idle `watch` daemon is observed (0 skips it).
    #[arg(long, default_value_t = 30)]
    idle_seconds: u64,
    /// Gigabytes of session transcripts generated for the usage index (0 skips it).
    #[arg(long, default_value_t = 0.01)]
    usage_gb: f64,
    /// Only measure the usage index (its peak RSS is then the index's own).
    #[arg(long)]
    usage_only: bool,
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(e) => {
            eprintln!("skillmeat-bench: {e}");
            std::process::exit(1);
        }
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let idx = ((v.len() - 1) as f64 * p).round() as usize;
    round3(v[idx])
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn remove_db(db: &Path) {
    for s in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(s);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Peak resident set size of this process in MiB (VmHWM, from Linux's `/proc`); elsewhere
/// reported as skipped.
fn peak_rss_mb() -> Value {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        json!(
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map(|kb| round3(kb / 1024.0))
                .unwrap_or(0.0)
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        json!({"skipped": "needs Linux's /proc"})
    }
}

/// Times 200 searches drawn from the corpus vocabulary (whole words, 3-letter prefixes, two
/// words, inner fragments): p50, p95, the total hits and the five slowest queries.
fn measure_search(
    m: &CacheManager,
    seed: u64,
) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let mut rng = Rng::new(seed ^ 0xBEEF);
    let mut search = Vec::new();
    let mut hits = 0u64;
    let mut slowest: Vec<(f64, String)> = Vec::new();
    for i in 0..200 {
        let w = rng.word();
        let q = match i % 4 {
            0 => w.to_string(),
            1 => w[..3.min(w.len())].to_string(),
            2 => format!("{} {}", w, rng.word()),
            _ => w[1..w.len().min(5)].to_string(),
        };
        let t = Instant::now();
        let page = m.search(&SearchQuery {
            text: q.clone(),
            ..Default::default()
        })?;
        let took = ms(t);
        search.push(took);
        slowest.push((took, q.clone()));
        hits += page.total;
    }
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    slowest.truncate(5);
    let mut out = Map::new();
    out.insert(
        "search_p50_ms".into(),
        json!(percentile(&mut search.clone(), 0.5)),
    );
    out.insert("search_p95_ms".into(), json!(percentile(&mut search, 0.95)));
    out.insert("search_total_hits".into(), json!(hits));
    out.insert(
        "search_slowest".into(),
        json!(
            slowest
                .iter()
                .map(|(t, q)| json!({ "query": q, "ms": round3(*t) }))
                .collect::<Vec<_>>()
        ),
    );
    Ok(out)
}

/// `--search-only`: opens the database at `--db` as it is and times searches on it.
fn search_only(args: &Args) -> Result<Value, Box<dyn std::error::Error>> {
    let db = args.db.as_deref().ok_or("--search-only needs --db")?;
    let home = tempfile::tempdir()?;
    let mut cfg = Config::defaults_for_home(home.path());
    cfg.db_path = skillmeat_cache::config::absolute(db);
    cfg.roots = Vec::new();
    cfg.include_user_scope = false;
    let m = CacheManager::open(cfg)?;
    let status = m.status()?;
    let mut out = Map::new();
    out.insert("projects".into(), json!(status.projects));
    out.insert("artifacts".into(), json!(status.artifacts));
    out.extend(measure_search(&m, args.seed)?);
    Ok(Value::Object(out))
}

fn run(args: &Args) -> Result<Value, Box<dyn std::error::Error>> {
    if args.search_only {
        return search_only(args);
    }
    if args.usage_only {
        let tmp = tempfile::Builder::new()
            .prefix("skillmeat-bench")
            .tempdir()?;
        let mut out = usage::measure(tmp.path(), args.usage_gb, args.seed, args.runs)?;
        out.insert("peak_rss_mb".into(), peak_rss_mb());
        return Ok(Value::Object(out));
    }
    let tmp = tempfile::Builder::new()
        .prefix("skillmeat-bench")
        .tempdir()?;
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home)?;
    let (root, collections, generated) = match &args.corpus {
        Some(dir) => (
            std::fs::canonicalize(dir)?,
            home.join(".skillmeat/collections"),
            None,
        ),
        None => {
            let c = corpus::generate(
                args.keep_corpus.as_deref().unwrap_or(tmp.path()),
                &CorpusSpec {
                    projects: args.projects,
                    artifacts: args.artifacts,
                    seed: args.seed,
                },
            )?;
            (c.root.clone(), c.collections_dir.clone(), Some(c))
        }
    };
    let mut cfg = Config::defaults_for_home(&home);
    cfg.db_path = args
        .db
        .clone()
        .map(|p| skillmeat_cache::config::absolute(&p))
        .unwrap_or_else(|| tmp.path().join("db/cache.db"));
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    cfg.collections_dir = collections;
    let runs = args.runs.max(1);
    // Claude Code's user files: ~/.claude.json with a key per project (a third deleted),
    // local and user MCP servers, three installed plugins.
    let claude_home = match &generated {
        Some(c) => Some(corpus::generate_claude_home(&home, &c.projects)?),
        None => None,
    };

    // Cold refresh: an empty database, every project discovered and read.
    let mut cold = Vec::new();
    let mut cold_cpu = Vec::new();
    // Each cold refresh runs between two measures of the floor (on the same files and the
    // same warm page cache), and its ratios are taken against their mean: a machine whose
    // speed drifts, or that is busy for a while, slows both sides of a ratio alike.
    let mut floors = Vec::new();
    let mut floors_read_hash = Vec::new();
    let mut floor_files = (0, 0);
    let mut floors_cpu = Vec::new();
    let mut ratios = Vec::new();
    let mut ratios_read_hash = Vec::new();
    let mut cpu_ratios = Vec::new();
    let mut manager = None;
    for _ in 0..runs {
        drop(manager.take());
        remove_db(&cfg.db_path);
        let m = CacheManager::open(cfg.clone())?;
        let before = floor::measure(std::slice::from_ref(&root));
        let cpu = floor::process_cpu_ms();
        let t = Instant::now();
        let r = refresh_now(&m, false)?;
        let cold_ms = ms(t);
        let cold_cpu_ms = cpu.zip(floor::process_cpu_ms()).map(|(b, a)| a - b);
        if !r.failed.is_empty() {
            return Err(format!("cold refresh failed: {:?}", r.failed[0]).into());
        }
        let after = floor::measure(std::slice::from_ref(&root));
        let mean = |a: f64, b: f64| ((a + b) / 2.0).max(0.001);
        cold.push(cold_ms);
        ratios.push(cold_ms / mean(before.ms, after.ms));
        ratios_read_hash.push(cold_ms / mean(before.read_hash_ms, after.read_hash_ms));
        if let (Some(c), Some(b), Some(a)) = (cold_cpu_ms, before.cpu_ms, after.cpu_ms) {
            cold_cpu.push(c);
            cpu_ratios.push(c / mean(b, a));
        }
        // The floor of this run: the mean of the two around it (the figures reported are
        // medians over runs, so with one run each ratio is exactly cold ÷ floor).
        floors.push((before.ms + after.ms) / 2.0);
        floors_read_hash.push((before.read_hash_ms + after.read_hash_ms) / 2.0);
        floors_cpu.extend(before.cpu_ms.zip(after.cpu_ms).map(|(b, a)| (b + a) / 2.0));
        floor_files = (after.files, after.bytes);
        manager = Some(m);
    }
    let m = manager.ok_or("no run")?;
    let status = m.status()?;
    let db_bytes = status.db_bytes;

    // No-op refresh: everything forced, nothing changed on disk.
    let mut noop = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = refresh_now(&m, true)?;
        noop.push(ms(t));
        if !r.changed.is_empty() {
            return Err(
                format!("no-op refresh reported changes: {:?}", r.changed[0].changes).into(),
            );
        }
    }

    // One file changed in one project, that project refreshed.
    let projects = m.list_projects(&ProjectFilter::default())?.items;
    let mut one = Vec::new();
    for i in 0..runs {
        let p = &projects[i % projects.len()];
        let changed = touch_one_artifact(Path::new(&p.path), i)?;
        let t = Instant::now();
        let r = refresh_project_now(&m, &p.id, true)?;
        one.push(ms(t));
        if changed && r.changes.is_empty() {
            return Err(format!("a changed file in {} was not detected", p.path).into());
        }
    }

    let mut list = Vec::new();
    for _ in 0..runs.max(20) {
        let t = Instant::now();
        let page = m.list_projects(&ProjectFilter::default())?;
        list.push(ms(t));
        assert_eq!(page.items.len(), projects.len());
    }
    let mut list_page = Vec::new();
    for i in 0..runs.max(20) {
        let t = Instant::now();
        let page = m.list_projects(&ProjectFilter {
            skip: (i as u64 * 50) % (projects.len() as u64).max(1),
            limit: Some(50),
            ..Default::default()
        })?;
        list_page.push(ms(t));
        assert!(page.items.len() <= 50);
    }
    let mut get = Vec::new();
    for i in 0..runs.max(20) {
        let p = &projects[(i * 7) % projects.len()];
        let t = Instant::now();
        let d = m.get_project(&p.id)?;
        get.push(ms(t));
        assert_eq!(d.project.id, p.id);
    }

    let mut out = Map::new();
    if let (Some(ch), Some(c)) = (&claude_home, &generated) {
        let (noise, mut change) = claude_json_figures(&m, ch, c, &home, runs.max(20))?;
        out.insert("claude_json_noise_refreshes".into(), json!(noise));
        out.insert(
            "claude_json_change_p95_ms".into(),
            json!(percentile(&mut change, 0.95)),
        );
        out.insert("claude_json_gone_keys".into(), json!(ch.gone_keys));
    }
    out.insert("projects".into(), json!(status.projects));
    out.insert("artifacts".into(), json!(status.artifacts));
    let cold_ms = percentile(&mut cold, 0.5);
    let floor_ms = percentile(&mut floors, 0.5);
    let floor_read_hash_ms = percentile(&mut floors_read_hash, 0.5);
    out.insert("cold_refresh_ms".into(), json!(cold_ms));
    out.insert("floor_ms".into(), json!(floor_ms));
    out.insert("floor_read_hash_ms".into(), json!(floor_read_hash_ms));
    let mut floor_cpu = None;
    if !cold_cpu.is_empty() && !floors_cpu.is_empty() {
        let cold_cpu_ms = percentile(&mut cold_cpu, 0.5);
        let floor_cpu_ms = percentile(&mut floors_cpu, 0.5);
        floor_cpu = Some(floor_cpu_ms);
        out.insert("cold_cpu_ms".into(), json!(round3(cold_cpu_ms)));
        out.insert("floor_cpu_ms".into(), json!(round3(floor_cpu_ms)));
        out.insert(
            "cold_cpu_ratio".into(),
            json!(round3(percentile(&mut cpu_ratios, 0.5))),
        );
    }
    out.insert(
        "cold_ratio_read_hash".into(),
        json!(round3(percentile(&mut ratios_read_hash, 0.5))),
    );
    out.insert("floor_files".into(), json!(floor_files.0));
    out.insert("floor_bytes".into(), json!(floor_files.1));
    out.insert(
        "cold_ratio".into(),
        json!(round3(percentile(&mut ratios, 0.5))),
    );
    out.insert(
        "cold_per_artifact_us".into(),
        json!(round3(cold_ms * 1000.0 / (status.artifacts.max(1) as f64))),
    );
    out.insert("noop_refresh_ms".into(), json!(percentile(&mut noop, 0.5)));
    out.insert(
        "one_change_refresh_ms".into(),
        json!(percentile(&mut one, 0.5)),
    );
    out.insert("list_projects_ms".into(), json!(percentile(&mut list, 0.5)));
    out.insert(
        "list_projects_page_ms".into(),
        json!(percentile(&mut list_page, 0.5)),
    );
    out.insert("get_project_ms".into(), json!(percentile(&mut get, 0.5)));
    out.extend(measure_search(&m, args.seed)?);
    // Re-read: the one-change refreshes above may have moved a project's cost.
    let projects = m.list_projects(&ProjectFilter::default())?.items;
    out.extend(library::measure(&m, &projects, runs.max(200))?);
    out.insert("db_bytes".into(), json!(db_bytes));
    // The engine's own peak (before the watcher measurements generate more corpora).
    out.insert("peak_rss_mb".into(), peak_rss_mb());
    // The store floor: the cache's rows copied with one statement into an empty database of
    // the same schema (see `store_floor.rs`); after the peak RSS, which is the engine's alone.
    let artifacts = m.status()?.artifacts;
    let mut stores = Vec::new();
    let mut stores_cpu = Vec::new();
    // Its folder is created by the cache's own open, as the cache's is.
    let scratch = tmp.path().join("store-floor").join("floor.db");
    for _ in 0..runs {
        let s = store_floor::measure(&cfg.db_path, &scratch)?;
        if s.rows != artifacts {
            return Err(format!(
                "the store floor stored {} rows, the cache holds {}",
                s.rows, artifacts
            )
            .into());
        }
        stores.push(s.ms);
        stores_cpu.extend(s.cpu_ms);
    }
    let floor_store_ms = percentile(&mut stores, 0.5);
    out.insert("floor_store_ms".into(), json!(floor_store_ms));
    out.insert("floor_threads".into(), json!(floor::threads()));
    if let Some(floor_cpu_ms) = floor_cpu
        && !stores_cpu.is_empty()
    {
        let floor_store_cpu_ms = percentile(&mut stores_cpu, 0.5);
        out.insert("floor_store_cpu_ms".into(), json!(floor_store_cpu_ms));
        out.insert(
            "cold_ratio_bound".into(),
            json!(round3(store_floor::ratio_bound(
                floor_ms,
                floor_cpu_ms,
                floor_store_ms,
                floor_store_cpu_ms,
                floor::threads(),
            ))),
        );
    }
    if !args.no_watch {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let mut lat = rt.block_on(watch::change_latency(&m, args.latency_samples))?;
        out.insert(
            "change_to_cache_p50_ms".into(),
            json!(percentile(&mut lat, 0.5)),
        );
        out.insert(
            "change_to_cache_p95_ms".into(),
            json!(percentile(&mut lat, 0.95)),
        );
        let (lost, settle) = rt.block_on(watch::burst(&m, args.burst_files))?;
        out.insert("burst_files".into(), json!(args.burst_files));
        out.insert("burst_lost".into(), json!(lost));
        out.insert("burst_settle_ms".into(), json!(round3(settle)));
        let (setup, watched) = watch::watch_setup(&tmp.path().join("many"), args.watch_projects)?;
        out.insert("watch_setup_ms".into(), json!(round3(setup)));
        out.insert("watch_setup_projects".into(), json!(watched));
        if args.idle_seconds > 0 {
            let idle = watch::idle_daemon(&cfg, args.idle_seconds)?;
            if let Value::Object(o) = idle {
                out.extend(o);
            }
        }
    }
    if args.usage_gb > 0.0 {
        out.extend(usage::measure(
            tmp.path(),
            args.usage_gb,
            args.seed,
            args.runs,
        )?);
    }
    out.insert(
        "corpus".into(),
        json!(match &generated {
            Some(c) => format!(
                "generated: {} projects x {} artifacts",
                c.projects.len(),
                args.artifacts
            ),
            None => format!("{}", root.display()),
        }),
    );
    Ok(Value::Object(out))
}

/// `~/.claude.json` figures, through the path the watcher takes
/// ([`CacheManager::claude_json_changed`] then a refresh of what it names): the projects
/// refreshed after 20 writes that change only `lastCost` (must be 0), and the time from a
/// write adding a local MCP server to the cache holding it, `samples` times.
fn claude_json_figures(
    m: &CacheManager,
    ch: &corpus::ClaudeHome,
    c: &corpus::Corpus,
    home: &Path,
    samples: usize,
) -> Result<(usize, Vec<f64>), Box<dyn std::error::Error>> {
    let gone = home.join("gone");
    let mut noise = 0;
    for i in 0..20 {
        std::fs::write(
            &ch.claude_json,
            corpus::claude_json_text(&c.projects, &gone, 1.0 + i as f64, None),
        )?;
        let ids: Vec<String> = m
            .claude_json_changed()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if !ids.is_empty() {
            noise += refresh_ids_now(m, &ids)?.refreshed;
        }
    }
    let mut lat = Vec::new();
    for s in 0..samples {
        let k = (s * 3) % c.projects.len().max(1);
        let k = if k % 3 == 2 { k - 1 } else { k };
        let name = format!("added-{s}");
        std::fs::write(
            &ch.claude_json,
            corpus::claude_json_text(&c.projects, &gone, 100.0 + s as f64, Some((k, &name))),
        )?;
        let t = Instant::now();
        let ids: Vec<String> = m
            .claude_json_changed()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        refresh_ids_now(m, &ids)?;
        lat.push(ms(t));
        let key = c.projects[k].display().to_string();
        let held = m
            .get_project(&key)?
            .artifacts
            .iter()
            .any(|a| a.name == name);
        if !held {
            return Err(format!("the local server {name} did not reach {key}").into());
        }
    }
    Ok((noise, lat))
}

/// Appends a line to one agent (or command) file of the project; false if none was found.
fn touch_one_artifact(project: &Path, i: usize) -> std::io::Result<bool> {
    for sub in [".claude/agents", ".claude/commands"] {
        let dir = project.join(sub);
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = read
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        files.sort();
        if let Some(f) = files.first() {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().append(true).open(f)?;
            writeln!(file, "\nEdited by the benchmark, run {i}.")?;
            return Ok(true);
        }
    }
    Ok(false)
}
