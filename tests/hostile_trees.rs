//! Hostile project trees, on real files: symlink loops, a 200 MB file, 100,000 files in one
//! folder, a folder deleted while it is scanned, file names that are not UTF-8, projects nested
//! in projects. Each must be handled in bounded time and memory, with a visible note where
//! something was cut or skipped, and never crash or fail the project.
//!
//! Symlinks and non-UTF-8 names are Unix only; the memory bounds are checked on Linux only
//! (they read `/proc`).

mod common;

use common::TestEnv;
use sha2::{Digest, Sha256};
#[cfg(unix)]
use skillmeat_cache::ProjectStatus;
use skillmeat_cache::collection::Collection;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::scan::{MAX_ENTRIES_PER_FOLDER, PrevIndex, ProjectSnapshot, scan_project};
use skillmeat_cache::{ArtifactKind, ArtifactQuery, discover, records};
#[cfg(unix)]
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
#[cfg(unix)]
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Memory-sensitive tests run one at a time (peak RSS is per process).
static HEAVY: Mutex<()> = Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on its own thread (2 MiB stack, like the engine's workers); fails when it panics or
/// runs longer than `limit`.
fn bounded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn");
    match rx.recv_timeout(limit) {
        Ok(v) => {
            let _ = h.join();
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still running after {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => panic!("{what}: no result"),
        },
    }
}

fn scan(p: &Path) -> ProjectSnapshot {
    scan_project(p, &PrevIndex::default(), &Collection::default())
}

fn scan_bounded(p: &Path, limit: Duration) -> ProjectSnapshot {
    let p = p.to_path_buf();
    bounded("scan", limit, move || scan(&p))
}

fn put(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    p
}

#[cfg(unix)]
fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of a file, streamed (independent of the engine).
fn sha_file(p: &Path) -> String {
    let mut f = fs::File::open(p).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Peak resident set size of this process, in KiB, after resetting it (`clear_refs` 5).
#[cfg(target_os = "linux")]
fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

#[cfg(target_os = "linux")]
fn peak_rss_kib() -> u64 {
    let s = fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let s = fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Without Linux's `/proc` the memory is not measured: the memory bounds are not checked.
#[cfg(not(target_os = "linux"))]
fn reset_peak_rss() {}

/// See [`reset_peak_rss`]: 0 without Linux's `/proc`.
#[cfg(not(target_os = "linux"))]
fn peak_rss_kib() -> u64 {
    0
}

/// See [`reset_peak_rss`]: 0 without Linux's `/proc`.
#[cfg(not(target_os = "linux"))]
fn rss_kib() -> u64 {
    0
}

fn paths_of(snap: &ProjectSnapshot, kind: ArtifactKind) -> Vec<String> {
    snap.artifacts
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.path.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loops_are_noted_and_the_scan_ends() {
    let env = TestEnv::new();
    let p = env.project("loops");
    p.skill("real", "real", "a real skill");
    p.command("ok", "a real command");
    p.agent("ok", "ok", "a real agent");
    let c = p.path.join(".claude");
    symlink("..", c.join("skills/a")).unwrap(); // skills/a -> .claude
    symlink(".", c.join("commands/loop")).unwrap(); // commands/loop -> commands
    symlink("../agents", c.join("agents/again")).unwrap(); // agents/again -> agents
    symlink(&p.path, c.join("skills/up")).unwrap(); // the project itself
    fs::create_dir_all(c.join("skills/x")).unwrap();
    symlink("../x", c.join("skills/x/self")).unwrap(); // x/self -> x
    // A link cycle that never resolves.
    symlink("b", c.join("commands/a")).unwrap();
    symlink("a", c.join("commands/b")).unwrap();

    let t0 = Instant::now();
    let snap = scan_bounded(&p.path, Duration::from_secs(10));
    eprintln!("symlink loops: scan {:?}", t0.elapsed());
    assert!(snap.missing.is_none());
    assert_eq!(
        paths_of(&snap, ArtifactKind::Command),
        vec![".claude/commands/ok.md"]
    );
    assert_eq!(
        paths_of(&snap, ArtifactKind::Agent),
        vec![".claude/agents/ok.md"]
    );
    assert!(paths_of(&snap, ArtifactKind::Skill).contains(&".claude/skills/real".to_string()));
    assert!(
        snap.notes.iter().any(|n| n.contains("loop")),
        "no note about the loop: {:?}",
        snap.notes
    );

    // Through the cache: the project is fresh, the loop is a visible note.
    let m = env.open();
    let link_to_root = env.root.join("loops/.claude/skills/root");
    symlink(&env.root, link_to_root).unwrap();
    symlink(&env.root, env.root.join("loops/rootlink")).unwrap(); // discovery loop
    let r = bounded("refresh_all", Duration::from_secs(20), {
        let m = m.clone();
        move || refresh_now(&m, true).unwrap()
    });
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let d = m.get_project(&p.key()).unwrap();
    assert_eq!(d.project.status, ProjectStatus::Fresh);
    assert!(
        d.project.notes.iter().any(|n| n.contains("loop")),
        "{:?}",
        d.project.notes
    );
}

#[test]
fn a_200_mb_file_is_hashed_streaming_and_big_structured_files_are_capped_with_a_note() {
    let _g = heavy();
    const SIZE: u64 = 200 * 1024 * 1024;
    let env = TestEnv::new();
    let p = env.project("huge");
    let c = p.path.join(".claude");
    let agent = put(
        &c,
        "agents/huge.md",
        "---\nname: huge\ndescription: a big one\n---\n",
    );
    fs::OpenOptions::new()
        .write(true)
        .open(&agent)
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    let skill_file = put(&c, "skills/big/SKILL.md", "---\nname: big\n---\n");
    fs::OpenOptions::new()
        .write(true)
        .open(&skill_file)
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    // Structured files SkillMeat and Claude Code write: 200 MB each, sparse.
    for f in [
        c.join("settings.json"),
        c.join(records::DEPLOYED_FILE),
        c.join(records::PROJECT_FILE),
        p.path.join(".mcp.json"),
    ] {
        let mut h = fs::File::create(&f).unwrap();
        h.write_all(b"{ \"a\": ").unwrap();
        h.set_len(SIZE).unwrap();
    }
    let col = env.collection_dir();
    for f in ["collection.toml", "collection.lock"] {
        let h = fs::File::create(col.join(f)).unwrap();
        h.set_len(SIZE).unwrap();
    }

    let before = rss_kib();
    reset_peak_rss();
    let t0 = Instant::now();
    let (snap, col_notes) = bounded("scan of 200 MB files", Duration::from_secs(60), {
        let path = p.path.clone();
        let cdir = env.config.collections_dir.clone();
        move || {
            let collection = Collection::load(&cdir);
            let notes = collection.notes.clone();
            (
                scan_project(&path, &PrevIndex::default(), &collection),
                notes,
            )
        }
    });
    let took = t0.elapsed();
    let growth_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("200 MB files: scan {took:?}, peak RSS growth {growth_mib} MiB");
    // Nothing is read whole: a 200 MB read would show as ≥ 200 MiB of growth.
    assert!(growth_mib < 100, "peak RSS grew by {growth_mib} MiB");
    let a = snap
        .artifacts
        .iter()
        .find(|a| a.path == ".claude/agents/huge.md")
        .expect("the big agent is kept");
    assert_eq!(a.name, "huge");
    assert_eq!(a.content_hash, sha_file(&agent));
    let s = snap
        .artifacts
        .iter()
        .find(|a| a.path == ".claude/skills/big")
        .expect("the big skill is kept");
    assert_eq!(s.name, "big");
    let mut h = Sha256::new();
    h.update(b"SKILL.md");
    let mut f = fs::File::open(&skill_file).unwrap();
    std::io::copy(&mut f, &mut HashWriter(&mut h)).unwrap();
    let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s.content_hash, want);
    for f in [
        "settings.json",
        ".mcp.json",
        records::DEPLOYED_FILE,
        records::PROJECT_FILE,
    ] {
        assert!(
            snap.notes
                .iter()
                .any(|n| n.contains(f) && n.contains("not read")),
            "no note about the big {f}: {:?}",
            snap.notes
        );
    }
    assert!(
        col_notes.iter().filter(|n| n.contains("not read")).count() == 2,
        "{col_notes:?}"
    );
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_folder_of_100_000_commands_is_cut_at_the_cap_with_a_note() {
    let _g = heavy();
    const N: usize = 100_000;
    let env = TestEnv::new();
    let p = env.project("many");
    let dir = p.path.join(".claude/commands/many");
    fs::create_dir_all(&dir).unwrap();
    let t0 = Instant::now();
    for i in 0..N {
        fs::write(dir.join(format!("c{i:06}.md")), b"x").unwrap();
    }
    eprintln!("100,000 files written in {:?}", t0.elapsed());
    let before = rss_kib();
    reset_peak_rss();
    let t0 = Instant::now();
    let snap = scan_bounded(&p.path, Duration::from_secs(60));
    let took = t0.elapsed();
    let growth_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!("100,000 files: scan {took:?}, peak RSS growth {growth_mib} MiB");
    let cmds = paths_of(&snap, ArtifactKind::Command);
    assert_eq!(cmds.len(), MAX_ENTRIES_PER_FOLDER);
    // The cut is deterministic: the first names in order are kept.
    assert_eq!(cmds[0], ".claude/commands/many/c000000.md");
    assert_eq!(
        cmds.last().unwrap(),
        &format!(
            ".claude/commands/many/c{:06}.md",
            MAX_ENTRIES_PER_FOLDER - 1
        )
    );
    assert!(
        snap.notes
            .iter()
            .any(|n| n.contains(&format!("more than {MAX_ENTRIES_PER_FOLDER} files"))),
        "{:?}",
        snap.notes
    );
    assert!(growth_mib < 400, "peak RSS grew by {growth_mib} MiB");
}

#[test]
fn folders_deleted_while_they_are_scanned_never_fail_the_project() {
    let env = TestEnv::new();
    let p = env.project("vanishing");
    for i in 0..150 {
        for f in 0..5 {
            put(
                &p.path,
                &format!(".claude/skills/s{i:03}/ref/f{f}.md"),
                "x".repeat(2000),
            );
        }
        p.skill(&format!("s{i:03}"), &format!("s{i:03}"), "d");
        p.command(&format!("ns{i:03}/c"), "d");
    }
    p.skill("keep", "keep", "stays");
    let stop = Arc::new(AtomicBool::new(false));
    let deleter = {
        let root = p.path.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            for i in 0..150 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let _ = fs::remove_dir_all(root.join(format!(".claude/skills/s{i:03}")));
                let _ = fs::remove_dir_all(root.join(format!(".claude/commands/ns{i:03}")));
                std::thread::sleep(Duration::from_micros(300));
            }
        })
    };
    let t0 = Instant::now();
    let mut scans = 0;
    while !deleter.is_finished() && t0.elapsed() < Duration::from_secs(20) {
        let snap = scan_bounded(&p.path, Duration::from_secs(10));
        assert!(snap.missing.is_none(), "{:?}", snap.missing);
        assert!(
            snap.artifacts
                .iter()
                .any(|a| a.path == ".claude/skills/keep"),
            "the untouched skill was lost"
        );
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    deleter.join().unwrap();
    eprintln!("{scans} scans while deleting");
    assert!(scans >= 1);
    let snap = scan(&p.path);
    assert_eq!(
        paths_of(&snap, ArtifactKind::Skill),
        vec![".claude/skills/keep"]
    );

    // Deterministically: a skill listed, then removed before it is hashed.
    let dir = p.path.join(".claude/skills/keep");
    let listing = skillmeat_cache::hash::list_dir(&dir, 100).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    assert!(skillmeat_cache::hash::hash_listing(&listing).is_err());
    let snap = scan(&p.path);
    assert!(snap.missing.is_none());
    assert!(paths_of(&snap, ArtifactKind::Skill).is_empty());

    // Through the cache while folders vanish: the refresh succeeds.
    let m = env.open();
    for i in 0..50 {
        p.skill(&format!("t{i:02}"), "t", "d");
    }
    let root = p.path.clone();
    let deleter = std::thread::spawn(move || {
        for i in 0..50 {
            let _ = fs::remove_dir_all(root.join(format!(".claude/skills/t{i:02}")));
        }
    });
    let r = refresh_now(&m, true).unwrap();
    deleter.join().unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let r = refresh_now(&m, true).unwrap();
    assert!(r.failed.is_empty());
    let cached = m
        .list_artifacts(&ArtifactQuery {
            project: Some(p.key()),
            ..Default::default()
        })
        .unwrap();
    assert!(
        cached.items.iter().all(|a| a.kind != ArtifactKind::Skill),
        "{:?}",
        cached.items
    );
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_are_kept() {
    let env = TestEnv::new();
    let p = env.project("bytes");
    let c = p.path.join(".claude");
    let name = |dir: &str, raw: &[u8]| c.join(dir).join(OsStr::from_bytes(raw));
    fs::create_dir_all(c.join("commands")).unwrap();
    fs::create_dir_all(c.join("agents")).unwrap();
    fs::write(
        name("commands", b"bad\xff.md"),
        "---\ndescription: odd\n---\n",
    )
    .unwrap();
    fs::write(name("agents", b"agent\xfe.md"), "no frontmatter").unwrap();
    let skill = name("skills", b"sk\xff\xfe");
    fs::create_dir_all(&skill).unwrap();
    fs::write(skill.join("SKILL.md"), "---\nname: odd-skill\n---\n").unwrap();
    fs::write(skill.join(OsStr::from_bytes(b"data\x80.txt")), "payload").unwrap();

    let snap = scan_bounded(&p.path, Duration::from_secs(10));
    assert!(snap.missing.is_none());
    let cmd = snap
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Command)
        .expect("command kept");
    assert_eq!(cmd.name, "bad\u{fffd}");
    assert_eq!(cmd.content_hash, sha(b"---\ndescription: odd\n---\n"));
    assert_eq!(cmd.description, "odd");
    let agent = snap
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Agent)
        .expect("agent kept");
    assert_eq!(agent.content_hash, sha(b"no frontmatter"));
    let sk = snap
        .artifacts
        .iter()
        .find(|a| a.kind == ArtifactKind::Skill)
        .expect("skill kept");
    assert_eq!(sk.name, "odd-skill");
    // SkillMeat's rule over the raw bytes of the names (sorted: SKILL.md, data\x80.txt).
    let mut stream = Vec::new();
    stream.extend_from_slice(b"SKILL.md---\nname: odd-skill\n---\n");
    stream.extend_from_slice(b"data\x80.txtpayload");
    assert_eq!(sk.content_hash, sha(&stream));

    // Through the cache, twice (the second time from the stamps).
    let m = env.open();
    for _ in 0..2 {
        let r = refresh_now(&m, true).unwrap();
        assert!(r.failed.is_empty(), "{:?}", r.failed);
        let cached = m
            .list_artifacts(&ArtifactQuery {
                project: Some(p.key()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(cached.items.len(), 3, "{:?}", cached.items);
    }
}

#[test]
fn a_project_nested_in_a_project_is_cached_separately() {
    let env = TestEnv::new();
    let outer = env.project("outer");
    outer.skill("o", "o", "outer skill");
    outer.command("oc", "outer command");
    outer.mcp(&["outer-mcp"]);
    let inner = env.project("outer/inner");
    inner.skill("i", "i", "inner skill");
    inner.agent("ia", "ia", "inner agent");
    inner.mcp(&["inner-mcp"]);
    let deeper = env.project("outer/src/deeper");
    deeper.command("dc", "deeper command");

    let found = discover::discover(std::slice::from_ref(&env.root), 3, &[]);
    let got: Vec<PathBuf> = found.projects.iter().cloned().collect();
    assert_eq!(
        got,
        vec![outer.path.clone(), inner.path.clone(), deeper.path.clone()]
    );

    let m = env.open();
    let r = refresh_now(&m, true).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let all = m.list_artifacts(&ArtifactQuery::default()).unwrap().items;
    let of = |p: &common::ProjectDir| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = all
            .iter()
            .filter(|a| a.project == p.key())
            .map(|a| (a.kind.as_str().to_string(), a.path.clone()))
            .collect();
        v.sort();
        v
    };
    let s = |k: &str, p: &str| (k.to_string(), p.to_string());
    assert_eq!(
        of(&outer),
        vec![
            s("command", ".claude/commands/oc.md"),
            s("mcp_server", ".mcp.json#outer-mcp"),
            s("skill", ".claude/skills/o"),
        ]
    );
    assert_eq!(
        of(&inner),
        vec![
            s("agent", ".claude/agents/ia.md"),
            s("mcp_server", ".mcp.json#inner-mcp"),
            s("skill", ".claude/skills/i"),
        ]
    );
    assert_eq!(of(&deeper), vec![s("command", ".claude/commands/dc.md")]);
    // Each artifact belongs to exactly one project.
    assert_eq!(all.len(), 7, "{all:?}");
}

/// Notes, names, tags and hashes are bounded whatever a file says: a record with thousands of
/// odd entries, a frontmatter with a huge name and thousands of tags, and a skill folder
/// holding a file larger than the hash cap.
#[test]
fn notes_names_tags_and_hashes_are_bounded() {
    let env = TestEnv::new();
    let p = env.project("alpha");
    let mut records = String::new();
    for i in 0..5000 {
        records.push_str(&format!(
            "[[deployed]]\nartifact_name = \"x{i}\"\nartifact_type = \"orchestration\"\n"
        ));
    }
    p.write(".claude/.skillmeat-deployed.toml", &records);
    let tags: Vec<String> = (0..5000).map(|i| format!("t{i}")).collect();
    p.write(
        ".claude/skills/huge/SKILL.md",
        &format!(
            "---\nname: {}\ndescription: big\ntags: [{}]\n---\n",
            "n".repeat(20_000),
            tags.join(", ")
        ),
    );
    p.write(
        ".claude/skills/heavy/SKILL.md",
        "---\nname: heavy\ndescription: holds a runaway file\n---\n",
    );
    // Sparse: 300 MiB on paper, nothing on disk; reading it would take seconds.
    let f = fs::File::create(p.path.join(".claude/skills/heavy/dump.bin")).unwrap();
    f.set_len(300 * 1024 * 1024).unwrap();
    let m = env.open();
    refresh_now(&m, true).unwrap();
    let d = m.get_project(&p.key()).unwrap();
    assert_eq!(d.project.notes.len(), 200, "notes are capped");
    assert_eq!(
        d.project.notes.last().unwrap(),
        "more problems were found; only the first ones are listed"
    );
    assert!(d.project.notes.iter().all(|n| n.chars().count() <= 501));
    let huge = d
        .artifacts
        .iter()
        .find(|a| a.path.ends_with("skills/huge"))
        .unwrap();
    assert_eq!(huge.name.chars().count(), 201, "200 characters and '…'");
    assert!(huge.name.starts_with("nnnn") && huge.name.ends_with('…'));
    assert_eq!(huge.tags.len(), 64);
    assert_eq!(huge.tags[0], "t0");
    let heavy = d.artifacts.iter().find(|a| a.name == "heavy").unwrap();
    assert_eq!(heavy.content_hash, "", "not hashed past the cap");
    assert!(
        d.project
            .notes
            .iter()
            .any(|n| n.contains("skills/heavy") && n.contains("larger than 256 MiB")),
        "{:?}",
        &d.project.notes[..3]
    );
}
