//! The usage index on a generated transcript corpus: cold index, no-op pass, a 10 KB append
//! seen by the watcher, and what the index adds to the database.
//!
//! The corpus imitates real sessions: most bytes are large lines (tool results holding file
//! contents, assistant text), a quarter of the lines are ordinary tool calls (Read, Bash,
//! Edit: parsed, not uses), a few percent are uses (Skill, Agent, MCP tools, typed commands).

use serde_json::{Map, Value, json};
use skillmeat_cache::corpus::Rng;
use skillmeat_cache::usage::watch::UsageWatcher;
use skillmeat_cache::{CacheManager, Config};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

const SKILLS: &[&str] = &[
    "lint",
    "release-notes",
    "docs-kit:publish",
    "deploy",
    "review",
];
const AGENTS: &[&str] = &["reviewer", "code-searcher", "general-purpose"];
const MCP: &[&str] = &["mcp__github__create_issue", "mcp__postgres__query"];
const TOOLS: &[&str] = &["Read", "Bash", "Edit", "Grep", "Glob", "Write"];

fn filler(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 16);
    while s.len() < bytes {
        s.push_str(rng.word());
        s.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    s
}

/// Filler text of a skewed size between `lo` and `hi`.
fn text(rng: &mut Rng, lo: usize, hi: usize) -> String {
    let n = skewed(rng, lo, hi);
    filler(rng, n)
}

/// A size between `lo` and `hi`, skewed to the small end (log-uniform).
fn skewed(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    let f = rng.below(1000) as f64 / 1000.0;
    (lo as f64 * (hi as f64 / lo as f64).powf(f)) as usize
}

/// One transcript line of a realistic mix.
fn line(rng: &mut Rng, cwd: &str, session: &str, at: &str) -> String {
    let uid = rng.next_u64();
    let head = |ty: &str| {
        json!({"type": ty, "cwd": cwd, "sessionId": session, "timestamp": at,
        "version": "2.1.70", "userType": "external", "isSidechain": false,
        "uuid": format!("{uid:016x}")})
    };
    let r = rng.below(100);
    let mut v = if r < 35 {
        let mut v = head("user");
        v["message"] = json!({"role":"user","content":[{"type":"tool_result",
            "tool_use_id":"toolu_01","content": text(rng, 500, 60_000)}]});
        v
    } else if r < 60 {
        let mut v = head("assistant");
        v["message"] = json!({"role":"assistant","model":"claude-opus-4-6",
            "content":[{"type":"text","text": text(rng, 200, 8_000)}],
            "usage":{"input_tokens":12,"output_tokens":340}});
        v
    } else if r < 85 {
        let mut v = head("assistant");
        let tool = TOOLS[rng.below(TOOLS.len())];
        v["message"] = json!({"role":"assistant","model":"claude-opus-4-6","content":[
            {"type":"tool_use","id":"toolu_02","name":tool,
             "input":{"file_path":"/src/x.rs","content": text(rng, 100, 4_000)}}],
            "usage":{"input_tokens":12,"output_tokens":340}});
        v
    } else if r < 90 {
        let mut v = head("assistant");
        let id = format!("toolu_{:016x}", rng.next_u64());
        let block = match rng.below(3) {
            0 => json!({"type":"tool_use","id":id,"name":"Skill",
                "input":{"skill": SKILLS[rng.below(SKILLS.len())]}}),
            1 => json!({"type":"tool_use","id":id,"name":"Agent","input":{"description":"d",
                "prompt": filler(rng, 300), "subagent_type": AGENTS[rng.below(AGENTS.len())]}}),
            _ => json!({"type":"tool_use","id":id,"name": MCP[rng.below(MCP.len())],
                "input":{"q": filler(rng, 100)}}),
        };
        v["message"] = json!({"role":"assistant","content":[block]});
        v
    } else if r < 94 {
        let mut v = head("user");
        let content = if rng.below(4) == 0 {
            format!(
                "<command-message>x</command-message>\n<command-name>/{}</command-name>\n<command-args>{}</command-args>",
                SKILLS[rng.below(SKILLS.len())],
                rng.word()
            )
        } else {
            text(rng, 50, 2_000)
        };
        v["message"] = json!({"role":"user","content": content});
        v
    } else {
        let mut v = head("system");
        v["content"] = json!("Running PostToolUse hooks");
        v
    };
    v["parentUuid"] = json!(null);
    v.to_string()
}

/// Writes about `bytes` of transcripts under `dir` (`<slug>/<session>.jsonl`, sessions of
/// 1 to 40 MB over 30 project folders). Returns (files, bytes written).
fn generate(dir: &Path, bytes: u64, seed: u64) -> std::io::Result<(u64, u64)> {
    let mut rng = Rng::new(seed ^ 0x05A6E);
    let mut written = 0u64;
    let mut files = 0u64;
    let now = chrono::Utc::now();
    while written < bytes {
        let slug = rng.below(30);
        let cwd = format!("/home/u/projects/p{slug}");
        let d = dir.join(format!("-home-u-projects-p{slug}"));
        std::fs::create_dir_all(&d)?;
        let session = format!("{:08x}-0000-4000-8000-{:012x}", files, rng.next_u64() >> 16);
        let target = (skewed(&mut rng, 1 << 20, 40 << 20) as u64).min(bytes - written + 1024);
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(d.join(format!("{session}.jsonl")))?);
        let mut n = 0u64;
        let days_ago = rng.below(90) as i64;
        while n < target {
            let at = (now - chrono::Duration::days(days_ago)
                + chrono::Duration::seconds(n as i64 / 1000))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let l = line(&mut rng, &cwd, &session, &at);
            f.write_all(l.as_bytes())?;
            f.write_all(b"\n")?;
            n += l.len() as u64 + 1;
        }
        f.flush()?;
        evict(f.get_ref())?;
        files += 1;
        written += n;
    }
    Ok((files, written))
}

/// Writes the file to disk and drops it from the page cache, so the cold pass reads from the
/// disk as after a reboot (Linux; elsewhere the pages stay cached and the figure is warm).
fn evict(f: &std::fs::File) -> std::io::Result<()> {
    f.sync_all()?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only advises the kernel.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
    Ok(())
}

fn db_bytes(m: &CacheManager) -> u64 {
    let _ = m.store().checkpoint();
    m.store().size_bytes()
}

/// Runs the usage measurements with `gb` gigabytes of transcripts under a fresh home in
/// `tmp`. Adds `usage_*` fields.
pub fn measure(
    tmp: &Path,
    gb: f64,
    seed: u64,
    runs: usize,
) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let home = tmp.join("usage-home");
    let projects = home.join(".claude/projects");
    std::fs::create_dir_all(&projects)?;
    let t = Instant::now();
    let (files, bytes) = generate(&projects, (gb * 1e9) as u64, seed)?;
    let gen_ms = super::ms(t);
    let mut cfg = Config::defaults_for_home(&home);
    cfg.db_path = tmp.join("usage.db");
    cfg.roots = Vec::new();
    cfg.include_user_scope = false;
    let m = CacheManager::open(cfg)?;
    let empty = db_bytes(&m);

    let t = Instant::now();
    let cold = m.update_usage()?;
    let cold_ms = super::ms(t);
    let rss_after_cold = super::peak_rss_mb();
    // The same again with the transcripts in the page cache: the parsing cost alone.
    m.clear_usage()?;
    let t = Instant::now();
    m.update_usage()?;
    let warm_ms = super::ms(t);

    // What the dashboard asks: every artifact's figures and the totals.
    let t = Instant::now();
    m.usage_artifacts(&skillmeat_cache::usage::UsageQuery::default())?;
    m.usage_status()?;
    let answer_ms = super::ms(t);

    let mut noop = Vec::new();
    for _ in 0..runs.max(3) {
        let t = Instant::now();
        let r = m.update_usage()?;
        noop.push(super::ms(t));
        if r.bytes_read != 0 {
            return Err("a no-op pass read bytes".into());
        }
    }

    // 10 KB appended to a session while the watcher runs: time until the use is indexed.
    let mut watcher = UsageWatcher::start(m.clone())?;
    let target = skillmeat_cache::usage::index::transcript_files(&projects)
        .into_iter()
        .next()
        .ok_or("no transcript generated")?;
    let mut rng = Rng::new(seed ^ 0xA77);
    let mut append = Vec::new();
    for i in 0..runs.max(5) {
        let before = m.usage_status()?.uses;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut chunk = String::new();
        let filler_line = json!({"type":"user","cwd":"/home/u/projects/p0","sessionId":"bench",
            "timestamp": at, "message":{"role":"user","content": filler(&mut rng, 9_500)}})
        .to_string();
        chunk.push_str(&filler_line);
        chunk.push('\n');
        chunk.push_str(
            &json!({"type":"assistant","cwd":"/home/u/projects/p0","sessionId":"bench",
            "timestamp": at, "message":{"role":"assistant","content":[{"type":"tool_use","id":format!("toolu_bench_{i}"),
            "name":"Skill","input":{"skill": format!("bench-{i}")}}]}})
            .to_string(),
        );
        chunk.push('\n');
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        let mut f = std::fs::OpenOptions::new().append(true).open(&target)?;
        f.write_all(chunk.as_bytes())?;
        drop(f);
        loop {
            if m.usage_status()?.uses > before {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                return Err("an append was not indexed within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        append.push(super::ms(t));
    }
    watcher.stop();
    let used = db_bytes(&m).saturating_sub(empty);

    let mut out = Map::new();
    out.insert("usage_transcript_files".into(), json!(files));
    out.insert("usage_transcript_bytes".into(), json!(bytes));
    out.insert("usage_generate_ms".into(), json!(super::round3(gen_ms)));
    out.insert("usage_cold_ms".into(), json!(super::round3(cold_ms)));
    out.insert("usage_warm_ms".into(), json!(super::round3(warm_ms)));
    out.insert("usage_answer_ms".into(), json!(super::round3(answer_ms)));
    out.insert("usage_cold_uses".into(), json!(cold.uses_added));
    out.insert(
        "usage_cold_mb_per_s".into(),
        json!(super::round3(bytes as f64 / 1e6 / (cold_ms / 1000.0))),
    );
    out.insert(
        "usage_noop_ms".into(),
        json!(super::percentile(&mut noop, 0.5)),
    );
    out.insert(
        "usage_append_ms".into(),
        json!(super::percentile(&mut append.clone(), 0.5)),
    );
    out.insert(
        "usage_append_max_ms".into(),
        json!(super::percentile(&mut append, 1.0)),
    );
    out.insert("usage_db_bytes".into(), json!(used));
    out.insert(
        "usage_db_ratio".into(),
        json!(used as f64 / bytes.max(1) as f64),
    );
    out.insert("usage_peak_rss_mb".into(), rss_after_cold);
    Ok(out)
}
