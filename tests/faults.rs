//! Proof that the cache holds under faults, hostile databases, concurrency and scale, on real
//! files, a real SQLite database and real processes (nothing mocked):
//!
//! - a process killed with SIGKILL at random points of its refreshes, 50 times, never leaves
//!   a database that fails `PRAGMA integrity_check`, is mistaken for a corrupt one, or
//!   disagrees with the disk after one refresh;
//! - damaged databases (garbage, truncated, a garbage page, a future schema) are moved aside
//!   byte-identical and rebuilt, and the CLI says so; a database locked by another process
//!   serves reads at once and fails writes with a clear `Busy` after waiting; a read-only file
//!   serves reads and refuses writes, unchanged;
//! - a full disk fails the write with `DiskFull`, keeps the previous data intact, and the next
//!   refresh after space is freed succeeds by itself;
//! - the CLI's `watch`, a `refresh --force` loop and two reader loops run at once on one file
//!   with zero errors, in-process reads stay under 100 ms, and the cache ends equal to the disk.
//!
//! Children are this test binary re-run on an `#[ignore]`d helper test (see
//! `child_refresh_until_killed` and `child_hold_write_lock`), as in `tests/store_manager.rs`.
//!
//! A read-only *directory* cannot be made with permission bits here (the tests run as root,
//! which bypasses them); a read-only mount stands in for it (see
//! `a_database_on_a_read_only_file_system_serves_reads_and_refuses_writes_clearly`), and the
//! read-only *file* case is checked by its mode bits.
//!
//! Unix only: SIGKILL and SIGTERM, permission bits, tmpfs and read-only mounts, `statvfs`.

#![cfg(unix)]

mod common;
mod faults_support;

use common::{files_starting_with, wait_until};
use faults_support::*;
use skillmeat_cache::corpus::{self, CorpusSpec, Rng};
use skillmeat_cache::refresh::{refresh_now, refresh_project_now};
use skillmeat_cache::store::{ProjectFilter, Store};
use skillmeat_cache::{ArtifactQuery, CacheError, CacheManager, Config, EventBus, SearchQuery};
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// A config for a generated corpus: its root, its collections, the database `db`.
fn corpus_config(home: &Path, db: &Path, roots: &[PathBuf], collections: &Path) -> Config {
    let mut cfg = Config::defaults_for_home(home);
    cfg.db_path = db.to_path_buf();
    cfg.roots = roots.to_vec();
    cfg.collections_dir = collections.to_path_buf();
    cfg.include_user_scope = false;
    cfg.ttl_minutes = 60;
    cfg.workers = 2;
    cfg
}

/// A temporary folder (canonical path) with a tmpfs of `size` mounted at `<base>/mnt`; `None`,
/// after saying "skipped", when mounting is not allowed. Bound in this order, the mount goes
/// before the folder.
fn with_tmpfs(size: &str) -> Option<(tempfile::TempDir, PathBuf, Tmpfs)> {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let Some(mnt) = Tmpfs::mount(&base.join("mnt"), size) else {
        eprintln!("skipped: needs root (mount -t tmpfs)");
        return None;
    };
    Some((tmp, base, mnt))
}

/// Runs this test binary on one ignored helper test with `vars`, stdout and stderr piped.
fn spawn_child(test: &str, vars: &[(&str, &Path)]) -> std::process::Child {
    let mut c = std::process::Command::new(std::env::current_exe().expect("test binary"));
    c.args([
        "--ignored",
        "--exact",
        test,
        "--test-threads=1",
        "--nocapture",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in vars {
        c.env(k, v);
    }
    c.spawn().expect("spawn child")
}

/// Forwards a child's stdout lines into a channel (ends at EOF, i.e. when the child dies).
fn line_channel(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the line `want` from a child; panics with its stderr if it dies first.
fn expect_line(
    child: &mut std::process::Child,
    rx: &mpsc::Receiver<String>,
    want: &str,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            // libtest prints "test <name> ... " without a newline first.
            Ok(l) if l.ends_with(want) => return,
            Ok(_) => continue,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                if let Some(mut s) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut s, &mut err);
                }
                panic!("no '{want}' from the child ({e:?}); its stderr:\n{err}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Crash consistency
// ---------------------------------------------------------------------------------------------

const CHILD_DB: &str = "FAULTS_CHILD_DB";
const CHILD_HOME: &str = "FAULTS_CHILD_HOME";
const CHILD_ROOT: &str = "FAULTS_CHILD_ROOT";
const CHILD_COLL: &str = "FAULTS_CHILD_COLL";

#[test]
#[ignore = "helper process for killing_a_refreshing_process_50_times_never_breaks_the_cache"]
fn child_refresh_until_killed() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let var = |k: &str| PathBuf::from(std::env::var_os(k).expect(k));
    let cfg = corpus_config(
        &var(CHILD_HOME),
        Path::new(&db),
        &[var(CHILD_ROOT)],
        &var(CHILD_COLL),
    );
    let m = CacheManager::open(cfg).expect("child: open");
    let mut out = std::io::stdout();
    writeln!(out, "CHILD started").unwrap();
    out.flush().unwrap();
    loop {
        let r = refresh_now(&m, true).expect("child: refresh");
        assert!(r.failed.is_empty(), "child: {:?}", r.failed);
        writeln!(out, "CHILD done").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killing_a_refreshing_process_50_times_never_breaks_the_cache() {
    const ROUNDS: usize = 50;
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let corpus = corpus::generate(
        &base.join("corpus"),
        &CorpusSpec {
            projects: 12,
            artifacts: 40,
            seed: 7,
        },
    )
    .unwrap();
    let home = base.join("home");
    fs::create_dir_all(&home).unwrap();
    let db = base.join("data").join("cache.db");
    let roots = vec![corpus.root.clone()];
    let cfg = corpus_config(&home, &db, &roots, &corpus.collections_dir);
    {
        let m = CacheManager::open(cfg.clone()).unwrap();
        assert_eq!(refresh_now(&m, false).unwrap().refreshed, 12);
        assert_cache_matches_disk(&m, &roots, &corpus.collections_dir, "initial");
    }
    let started = Instant::now();
    let mut rng = Rng::new(0x5EED_CAFE);
    let (mut mid_refresh, mut touched) = (0usize, 0usize);
    for round in 0..ROUNDS {
        // Real changes between rounds, so the child's refresh has much to write.
        for _ in 0..3 {
            let p = &corpus.projects[rng.below(corpus.projects.len())];
            touched += churn(p, &mut rng, round, 60);
        }
        let delay = Duration::from_millis(rng.below(21) as u64);
        let mut child = spawn_child(
            "child_refresh_until_killed",
            &[
                (CHILD_DB, &db),
                (CHILD_HOME, &home),
                (CHILD_ROOT, &corpus.root),
                (CHILD_COLL, &corpus.collections_dir),
            ],
        );
        let rx = line_channel(&mut child);
        expect_line(&mut child, &rx, "CHILD started", Duration::from_secs(30));
        std::thread::sleep(delay); // the random kill point: this sleep is the point
        if let Some(status) = child.try_wait().unwrap() {
            panic!("round {round}: the child ended by itself ({status})");
        }
        kill9(&mut child);
        // Whatever the child printed before it died: did a whole refresh complete?
        let completed = rx.iter().any(|l| l.ends_with("CHILD done"));
        if !completed {
            mid_refresh += 1;
        }

        // The killed process's database: never corrupt, never moved aside.
        let store = Store::open(&db).unwrap();
        assert!(
            store.notes().is_empty(),
            "round {round} (kill after {delay:?}): a crash made the database look damaged: {:?}",
            store.notes()
        );
        assert_eq!(
            store.integrity_check().unwrap(),
            "ok",
            "round {round} (kill after {delay:?})"
        );
        drop(store);
        // One refresh brings it exactly in line with the disk.
        let m = CacheManager::open(cfg.clone()).unwrap();
        let r = refresh_now(&m, true).unwrap();
        assert!(r.failed.is_empty(), "round {round}: {:?}", r.failed);
        assert_cache_matches_disk(
            &m,
            &roots,
            &corpus.collections_dir,
            &format!("round {round} (kill after {delay:?})"),
        );
    }
    eprintln!(
        "crash test: {ROUNDS} kills, {mid_refresh} during the first refresh, {touched} files changed, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The test proves something only if most kills hit a refresh in flight.
    assert!(
        mid_refresh >= ROUNDS / 2,
        "only {mid_refresh} of {ROUNDS} kills landed during a refresh"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Corrupt and hostile databases
// ---------------------------------------------------------------------------------------------

/// A temporary HOME with two projects under `<home>/projects` and a database path.
struct CliEnv {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    root: PathBuf,
    db: PathBuf,
}

impl CliEnv {
    fn new() -> CliEnv {
        let tmp = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(tmp.path()).unwrap();
        let home = base.join("home");
        let root = home.join("projects");
        for (p, rel, text) in [
            (
                "alpha",
                ".claude/skills/pdf/SKILL.md",
                "---\nname: pdf\ndescription: Read PDF files\n---\nbody\n",
            ),
            (
                "alpha",
                ".claude/skills/xlsx/SKILL.md",
                "---\nname: xlsx\ndescription: Spreadsheets\n---\nbody\n",
            ),
            ("beta", ".claude/commands/deploy.md", "Ship it\n"),
        ] {
            let f = root.join(p).join(rel);
            fs::create_dir_all(f.parent().unwrap()).unwrap();
            fs::write(f, text).unwrap();
        }
        let db = base.join("data").join("cache.db");
        CliEnv {
            _tmp: tmp,
            home,
            root,
            db,
        }
    }

    /// Runs the CLI on this environment's database and root.
    fn run(&self, args: &[&str]) -> Out {
        let mut all = vec![
            "--db",
            self.db.to_str().unwrap(),
            "--root",
            self.root.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        cli(&self.home, &all)
    }

    /// Runs the CLI expecting success without an error line; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.code, 0, "{args:?}: {o:?}");
        assert!(error_lines(&o.stderr).is_empty(), "{args:?}: {o:?}");
        o.stdout
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    fn populate(&self) {
        self.ok(&["refresh"]);
        assert_eq!(self.json(&["list"])["total"], 2);
        assert!(
            !sidecar(&self.db, "-wal").exists(),
            "the CLI's last connection checkpoints and removes the WAL"
        );
    }
}

fn sidecar(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn garbage(n: usize, seed: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn the_cli_moves_a_damaged_database_aside_byte_identical_says_so_and_rebuilds() {
    type Damage = fn(&Path);
    let cases: [(&str, Damage); 5] = [
        ("garbage bytes, with a garbage WAL beside it", |db| {
            fs::write(db, garbage(16384, 1)).unwrap();
            fs::write(sidecar(db, "-wal"), garbage(5000, 2)).unwrap();
        }),
        ("truncated inside the 100-byte header", |db| {
            let f = fs::OpenOptions::new().write(true).open(db).unwrap();
            f.set_len(60).unwrap();
        }),
        ("truncated in the middle of a page", |db| {
            let len = fs::metadata(db).unwrap().len();
            let f = fs::OpenOptions::new().write(true).open(db).unwrap();
            f.set_len(len / 2 + 123).unwrap();
        }),
        ("a page of garbage in the middle of a valid file", |db| {
            use std::io::{Seek, SeekFrom};
            let mut f = fs::OpenOptions::new().write(true).open(db).unwrap();
            f.seek(SeekFrom::Start(3 * 4096)).unwrap();
            f.write_all(&garbage(4096, 3)).unwrap();
        }),
        ("a future schema version", |db| {
            let c = rusqlite::Connection::open(db).unwrap();
            c.pragma_update(None, "user_version", 99).unwrap();
        }),
    ];
    for (what, damage) in cases {
        let env = CliEnv::new();
        env.populate();
        damage(&env.db);
        let damaged = fs::read(&env.db).unwrap();
        let damaged_wal = fs::read(sidecar(&env.db, "-wal")).ok();
        if what.starts_with("a page of garbage") {
            // Damage that opening does not touch is not looked for at every open (that
            // would read the whole file on every command): `status --check` finds it and
            // says so, and the next open moves the file aside and rebuilds it.
            let o = env.run(&["status", "--check", "--json"]);
            assert_eq!(o.code, 1, "{what}: {o:?}");
            let st: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
            let verdict = st["integrity"].as_str().unwrap();
            assert_ne!(verdict, "ok", "{what}");
            assert_eq!(
                fs::read(&env.db).unwrap(),
                damaged,
                "{what}: untouched by the check"
            );
        }

        // The first run: moved aside, rebuilt, reported; the command still succeeds.
        let st = env.json(&["status"]);
        let notes = st["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 1, "{what}: {st}");
        let note = notes[0].as_str().unwrap();
        assert!(
            note.contains("unusable") && note.contains("moved to") && note.contains("rebuilt"),
            "{what}: {note}"
        );
        assert_eq!(st["projects"], 0, "{what}: the new cache starts empty");
        assert_eq!(
            fs::metadata(&env.db).unwrap().permissions().mode() & 0o777,
            0o600,
            "{what}: the rebuilt file is private like any new cache"
        );
        let dir = env.db.parent().unwrap();
        let aside = files_starting_with(dir, "cache.db.corrupt-");
        let main: Vec<&PathBuf> = aside
            .iter()
            .filter(|p| !p.to_string_lossy().ends_with("-wal"))
            .filter(|p| !p.to_string_lossy().ends_with("-shm"))
            .collect();
        assert_eq!(main.len(), 1, "{what}: {aside:?}");
        assert!(
            note.contains(&main[0].display().to_string()),
            "{what}: the note names the copy: {note}"
        );
        assert_eq!(
            fs::read(main[0]).unwrap(),
            damaged,
            "{what}: the moved-aside copy is byte-identical"
        );
        if let Some(wal) = damaged_wal {
            assert_eq!(
                fs::read(sidecar(main[0], "-wal")).unwrap(),
                wal,
                "{what}: the WAL beside it is kept too, byte-identical"
            );
        }

        // Later runs still tell the user, in the table too, and the cache rebuilds from disk.
        let text = env.ok(&["status"]);
        assert!(
            text.lines()
                .any(|l| l.starts_with("note") && l.contains("earlier") && l.contains("rebuilt")),
            "{what}: {text}"
        );
        env.ok(&["refresh"]);
        let list = env.json(&["list"]);
        assert_eq!(list["total"], 2, "{what}: {list}");
        assert_eq!(
            files_starting_with(dir, "cache.db.corrupt-").len(),
            aside.len(),
            "{what}: nothing else was moved aside"
        );
        let store = Store::open(&env.db).unwrap();
        assert!(store.notes().is_empty(), "{what}: {:?}", store.notes());
        assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
    }
}

const LOCK_DB: &str = "FAULTS_LOCK_DB";
const LOCK_RELEASE: &str = "FAULTS_LOCK_RELEASE";

#[test]
#[ignore = "helper process for a_database_locked_by_another_process_serves_reads_and_fails_writes_with_busy"]
fn child_hold_write_lock() {
    let Some(db) = std::env::var_os(LOCK_DB) else {
        return;
    };
    let release = PathBuf::from(std::env::var_os(LOCK_RELEASE).expect(LOCK_RELEASE));
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "BEGIN EXCLUSIVE;
         INSERT OR REPLACE INTO meta(key, value) VALUES ('locked_by', 'child');",
    )
    .unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "CHILD locked").unwrap();
    out.flush().unwrap();
    wait_until(Duration::from_secs(60), "the release file", || {
        release.exists()
    });
    c.execute_batch("COMMIT").unwrap();
}

#[test]
fn a_database_locked_by_another_process_serves_reads_and_fails_writes_with_busy() {
    const TIMEOUT: Duration = Duration::from_millis(400);
    let env = CliEnv::new();
    env.populate();
    let home = env.home.clone();
    let cfg = corpus_config(
        &home,
        &env.db,
        std::slice::from_ref(&env.root),
        &home.join(".skillmeat/collections"),
    );
    let release = env.db.with_file_name("release");
    let mut child = spawn_child(
        "child_hold_write_lock",
        &[(LOCK_DB, &env.db), (LOCK_RELEASE, &release)],
    );
    let rx = line_channel(&mut child);
    expect_line(&mut child, &rx, "CHILD locked", Duration::from_secs(30));

    // Opening does not wait for the other process's lock, nor fail because of it.
    let t = Instant::now();
    let m = CacheManager::open_with_busy_timeout(cfg, EventBus::default(), TIMEOUT)
        .expect("open while another process holds the write lock");
    assert!(
        t.elapsed() < TIMEOUT,
        "opening waited for the lock: {:?}",
        t.elapsed()
    );
    assert!(m.status().unwrap().notes.is_empty());

    // Reads work at once (WAL: readers never wait for a writer).
    let t = Instant::now();
    let names: Vec<String> = m
        .list_projects(&ProjectFilter::default())
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    let hits = m
        .search(&SearchQuery {
            text: "pdf".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(m.status().unwrap().artifacts, 3);
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
    assert!(
        t.elapsed() < TIMEOUT,
        "reads waited for the lock: {:?}",
        t.elapsed()
    );

    // A refresh waits the whole timeout, then fails with a clear Busy error.
    let f = env.root.join("alpha/.claude/skills/docx/SKILL.md");
    fs::create_dir_all(f.parent().unwrap()).unwrap();
    fs::write(&f, "---\nname: docx\ndescription: Word\n---\n").unwrap();
    let t = Instant::now();
    let err = refresh_now(&m, true).unwrap_err();
    let waited = t.elapsed();
    assert!(waited >= TIMEOUT, "gave up after {waited:?}");
    assert!(
        waited < TIMEOUT * 5,
        "waited far longer than the timeout: {waited:?}"
    );
    assert!(
        matches!(err, CacheError::Busy { waited_ms: 400 }),
        "{err:?}"
    );
    assert_eq!(err.code(), "busy");
    assert_eq!(
        err.to_string(),
        "the cache database is busy (locked by another process) after waiting 400 ms"
    );
    let err = refresh_project_now(&m, "alpha", true).unwrap_err();
    assert!(matches!(err, CacheError::Busy { .. }), "{err:?}");

    // The CLI reads too, without waiting for its own (10 s) busy timeout, even at exit.
    let o = env.run(&["list", "--json"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(error_lines(&o.stderr).is_empty(), "{o:?}");
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["total"], 2);
    assert!(
        o.elapsed < Duration::from_secs(5),
        "a read-only command hung on the lock: {:?}",
        o.elapsed
    );

    // Released: the other process's write lands, and the same manager refreshes by itself.
    fs::write(&release, b"").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "lock holder: {status}");
    let r = refresh_now(&m, true).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let skills = m
        .list_artifacts(&ArtifactQuery {
            project: Some("alpha".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(skills.total, 3);
    assert_eq!(
        m.store().meta_get("locked_by").unwrap().as_deref(),
        Some("child")
    );
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
}

#[test]
fn the_cli_on_a_read_only_database_file_reads_refuses_writes_and_leaves_it_unchanged() {
    // The read-only *directory* case is a read-only mount, below.
    let env = CliEnv::new();
    env.populate();
    let before = fs::read(&env.db).unwrap();
    fs::set_permissions(&env.db, fs::Permissions::from_mode(0o444)).unwrap();

    let text = env.ok(&["status"]);
    assert!(
        text.lines().any(|l| l.starts_with("note")
            && l.contains("read-only")
            && l.contains("refresh is disabled")),
        "{text}"
    );
    assert_eq!(env.json(&["list"])["total"], 2);
    assert_eq!(env.json(&["search", "pdf"])["total"], 1);
    for args in [
        &["refresh", "--force"][..],
        &["invalidate"][..],
        &["clear", "-y"][..],
    ] {
        let o = env.run(args);
        assert_eq!(o.code, 1, "{args:?}: {o:?}");
        let errs = error_lines(&o.stderr);
        assert_eq!(errs.len(), 1, "{args:?}: {o:?}");
        assert!(
            errs[0].starts_with("skillmeat-cache: the cache database is read-only"),
            "{args:?}: {errs:?}"
        );
    }
    assert_eq!(
        fs::read(&env.db).unwrap(),
        before,
        "the read-only file was not changed"
    );
    assert!(files_starting_with(env.db.parent().unwrap(), "cache.db.corrupt-").is_empty());

    fs::set_permissions(&env.db, fs::Permissions::from_mode(0o600)).unwrap();
    env.ok(&["refresh", "--force"]);
    let st = env.json(&["status"]);
    assert_eq!(st["notes"].as_array().unwrap().len(), 0, "{st}");
    assert_eq!(st["projects"], 2);
}

#[test]
fn a_database_on_a_read_only_file_system_serves_reads_and_refuses_writes_clearly() {
    // Root ignores permission bits, but not a read-only mount: this is the read-only
    // *directory* case (no WAL or lock file can be created next to the database).
    let Some((_tmp, base, mnt)) = with_tmpfs("16m") else {
        return;
    };
    let db = mnt.path.join("cache.db");
    let c = corpus::generate(
        &base.join("corpus"),
        &CorpusSpec {
            projects: 3,
            artifacts: 10,
            seed: 5,
        },
    )
    .unwrap();
    let home = base.join("home");
    fs::create_dir_all(&home).unwrap();
    let roots = vec![c.root.clone()];
    let cfg = corpus_config(&home, &db, &roots, &c.collections_dir);
    let before = {
        let m = CacheManager::open(cfg.clone()).unwrap();
        refresh_now(&m, false).unwrap();
        cache_view(&m)
    };
    let bytes = fs::read(&db).unwrap();
    mnt.remount(true);

    let m = CacheManager::open(cfg.clone()).unwrap();
    assert!(m.store().is_read_only());
    let st = m.status().unwrap();
    assert!(
        st.notes.iter().any(|n| n.contains("read-only")),
        "{:?}",
        st.notes
    );
    assert_eq!(cache_view(&m), before, "every cached row is still readable");
    let hits = m
        .search(&skillmeat_cache::SearchQuery {
            text: corpus::VOCABULARY[0].into(),
            ..Default::default()
        })
        .unwrap();
    assert!(hits.total > 0);
    let key = before.0.iter().next().unwrap().clone();
    for err in [
        refresh_project_now(&m, &key, true).unwrap_err(),
        m.invalidate(None, skillmeat_cache::InvalidationReason::Manual)
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "read_only", "{err}");
    }
    drop(m);
    assert_eq!(fs::read(&db).unwrap(), bytes, "the file was not changed");

    // Writable again: the next open writes as usual.
    mnt.remount(false);
    let m = CacheManager::open(cfg).unwrap();
    assert!(!m.store().is_read_only());
    refresh_project_now(&m, &key, true).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 3. A full disk
// ---------------------------------------------------------------------------------------------

#[test]
fn a_full_disk_fails_the_write_keeps_the_previous_data_and_recovers_when_space_returns() {
    let Some((_tmp, base, mnt)) = with_tmpfs("8m") else {
        return;
    };
    let db = mnt.path.join("cache.db");
    let small = corpus::generate(
        &base.join("small"),
        &CorpusSpec {
            projects: 3,
            artifacts: 20,
            seed: 1,
        },
    )
    .unwrap();
    let home = base.join("home");
    fs::create_dir_all(&home).unwrap();
    let big_base = base.join("big");
    let roots = vec![small.root.clone(), big_base.join("projects")];
    fs::create_dir_all(&roots[1]).unwrap();
    let cfg = corpus_config(&home, &db, &roots, &small.collections_dir);
    let m = CacheManager::open(cfg).unwrap();
    assert_eq!(refresh_now(&m, false).unwrap().refreshed, 3);
    assert_cache_matches_disk(&m, &roots, &small.collections_dir, "before");
    let (prev_projects, prev_arts) = cache_view(&m);

    // A big corpus appears, and the disk holding the cache is full but for a little.
    let big = corpus::generate(
        &big_base,
        &CorpusSpec {
            projects: 30,
            artifacts: 60,
            seed: 2,
        },
    )
    .unwrap();
    let filler = mnt.path.join("filler");
    let filled = fill(&filler);
    let f = fs::OpenOptions::new().write(true).open(&filler).unwrap();
    f.set_len(filled - 256 * 1024).unwrap();
    drop(f);
    let free = mnt.free_bytes();
    assert!(free < 1024 * 1024, "{free} bytes free");

    let key = big.projects[0].display().to_string();
    let outcome = refresh_now(&m, false);
    let failures: Vec<String> = match &outcome {
        Err(e) => vec![format!("{e:?}")],
        Ok(r) => r.failed.iter().map(|f| f.error.clone()).collect(),
    };
    assert!(
        !failures.is_empty(),
        "a 1,800-artifact refresh fit in {free} bytes? {outcome:?}"
    );
    for f in &failures {
        assert!(
            f.contains("DiskFull") || f.starts_with("the disk holding the cache database is full"),
            "every failure says the disk is full: {failures:#?}"
        );
    }
    // The typed error, straight from one project's refresh.
    match refresh_project_now(&m, &key, true) {
        Err(CacheError::DiskFull(detail)) => assert!(!detail.is_empty()),
        other => panic!("expected DiskFull, got {other:?}"),
    }

    // The previous data is intact and readable, on this connection and on a new one.
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
    let (now_projects, now_arts) = cache_view(&m);
    assert!(
        prev_projects.is_subset(&now_projects),
        "previous projects lost"
    );
    let prev_only: BTreeSet<_> = now_arts
        .iter()
        .filter(|a| prev_projects.contains(&a.0))
        .cloned()
        .collect();
    assert_eq!(
        prev_only, prev_arts,
        "the previous projects' artifacts changed"
    );
    {
        let other = Store::open(&db).unwrap();
        assert!(other.notes().is_empty(), "{:?}", other.notes());
        assert_eq!(other.integrity_check().unwrap(), "ok");
    }

    // Space returns: the next refresh succeeds by itself, same manager, no reopen.
    fs::remove_file(&filler).unwrap();
    let r = refresh_now(&m, false).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert!(r.refreshed > 0);
    assert_cache_matches_disk(&m, &roots, &small.collections_dir, "after space was freed");
    assert_eq!(m.status().unwrap().projects, 33);
    // The file is sound, seen from a new store and from the long-lived manager alike.
    let fresh = Store::open(&db).unwrap();
    assert!(fresh.notes().is_empty(), "{:?}", fresh.notes());
    assert_eq!(fresh.integrity_check().unwrap(), "ok");
    drop(fresh);
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
    // And the long-lived manager answers searches exactly as a new one does.
    let other = CacheManager::open(m.config()).unwrap();
    for q in ["review", "deploy", "rev"] {
        let query = skillmeat_cache::SearchQuery {
            text: q.into(),
            limit: Some(2000),
            ..Default::default()
        };
        let mine: Vec<_> = m
            .search(&query)
            .unwrap()
            .items
            .into_iter()
            .map(|h| h.artifact.path)
            .collect();
        let theirs: Vec<_> = other
            .search(&query)
            .unwrap()
            .items
            .into_iter()
            .map(|h| h.artifact.path)
            .collect();
        assert_eq!(
            mine, theirs,
            "search '{q}' differs on the long-lived manager"
        );
    }
    drop(m);
    drop(mnt);
}

// ---------------------------------------------------------------------------------------------
// 4. Several processes at once
// ---------------------------------------------------------------------------------------------

/// How long the soak runs: `SKILLMEAT_SOAK_SECS` (default 10).
fn soak_duration() -> Duration {
    let secs = std::env::var("SKILLMEAT_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

#[test]
fn watch_refresh_and_readers_in_separate_processes_surface_no_errors() {
    let duration = soak_duration();
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let home = base.join("home");
    fs::create_dir_all(&home).unwrap();
    let corpus = corpus::generate(
        &base.join("corpus"),
        &CorpusSpec {
            projects: 10,
            artifacts: 20,
            seed: 11,
        },
    )
    .unwrap();
    let db = base.join("data").join("cache.db");
    let roots = vec![corpus.root.clone()];
    let cfg = corpus_config(&home, &db, &roots, &corpus.collections_dir);
    let m = CacheManager::open(cfg.clone()).unwrap();
    assert_eq!(refresh_now(&m, false).unwrap().refreshed, 10);
    let n_projects = 10u64;

    let cmd = |args: &[&str]| {
        let mut c = cli_command(&home);
        c.env("SKILLMEAT_CACHE_COLLECTIONS_DIR", &corpus.collections_dir)
            .args(["--db", db.to_str().unwrap()])
            .args(["--root", corpus.root.to_str().unwrap()])
            .args(args);
        c
    };

    // The daemon.
    let mut watch = cmd(&["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watch_err = watch.stderr.take().unwrap();
    let watch_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut { watch_err }, &mut s);
        s
    });
    let lines = line_channel(&mut watch);
    let first = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(first.starts_with("watching;"), "{first}");
    let watch_events = std::thread::spawn(move || lines.iter().count());

    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::<String>::new());
    let runs = AtomicU64::new(0);
    let (reads, max_read_us) = (AtomicU64::new(0), AtomicU64::new(0));
    let modified = AtomicU64::new(0);
    let deadline = Instant::now() + duration;
    std::thread::scope(|s| {
        // One process refreshing everything in a loop; two reading in a loop.
        let loops: [(&str, &[&str]); 3] = [
            ("refresh", &["refresh", "--force"]),
            ("list", &["list", "--json"]),
            ("search", &["search", "review", "--json"]),
        ];
        for (name, args) in loops {
            let (cmd, failures, runs) = (&cmd, &failures, &runs);
            s.spawn(move || {
                while Instant::now() < deadline {
                    let o = cmd(args).output().unwrap();
                    runs.fetch_add(1, Ordering::Relaxed);
                    let stderr = String::from_utf8_lossy(&o.stderr);
                    let errs = error_lines(&stderr);
                    let mut bad = !o.status.success() || !errs.is_empty();
                    if !bad && name != "refresh" {
                        match serde_json::from_slice::<serde_json::Value>(&o.stdout) {
                            Ok(v) if name == "list" => bad = v["total"] != n_projects,
                            Ok(v) => bad = v["total"].as_u64().is_none(),
                            Err(_) => bad = true,
                        }
                    }
                    if bad {
                        failures.lock().unwrap().push(format!(
                            "{name}: {} {errs:?} {}",
                            o.status,
                            String::from_utf8_lossy(&o.stdout)
                                .chars()
                                .take(300)
                                .collect::<String>()
                        ));
                    }
                }
            });
        }
        // In-process reader through its own manager: every read timed.
        let (cfg, failures, stop) = (cfg.clone(), &failures, &stop);
        let (reads, max_read_us) = (&reads, &max_read_us);
        s.spawn(move || {
            let r = CacheManager::open(cfg).unwrap();
            let words = ["review", "deploy", "cache", "rust", "pl", "x"];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let t = Instant::now();
                let res = r.list_projects(&ProjectFilter::default()).map(|p| p.total);
                let us = t.elapsed().as_micros() as u64;
                max_read_us.fetch_max(us, Ordering::Relaxed);
                if res.as_ref().ok() != Some(&n_projects) {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("in-process list: {res:?}"));
                }
                let t = Instant::now();
                let res = r.search(&SearchQuery {
                    text: words[i % words.len()].into(),
                    ..Default::default()
                });
                let us = t.elapsed().as_micros() as u64;
                max_read_us.fetch_max(us, Ordering::Relaxed);
                if let Err(e) = res {
                    failures
                        .lock()
                        .unwrap()
                        .push(format!("in-process search: {e}"));
                }
                reads.fetch_add(2, Ordering::Relaxed);
                i += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        // Files modified all along.
        let (corpus, modified) = (&corpus, &modified);
        s.spawn(move || {
            let mut rng = Rng::new(99);
            let mut round = 0;
            while Instant::now() < deadline {
                let p = &corpus.projects[rng.below(corpus.projects.len())];
                modified.fetch_add(
                    churn(p, &mut rng, 1000 + round, 15) as u64,
                    Ordering::Relaxed,
                );
                round += 1;
                std::thread::sleep(Duration::from_millis(30));
            }
        });
    });
    stop.store(true, Ordering::Relaxed);

    let status = terminate(&mut watch, Duration::from_secs(20));
    let watch_stderr = watch_err.join().unwrap();
    let events = watch_events.join().unwrap();
    assert!(status.success(), "watch: {status}; stderr:\n{watch_stderr}");
    assert!(
        error_lines(&watch_stderr).is_empty(),
        "watch reported errors:\n{watch_stderr}"
    );
    let failures = failures.into_inner().unwrap();
    let (runs, reads, max_ms) = (
        runs.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
        max_read_us.load(Ordering::Relaxed) as f64 / 1000.0,
    );
    eprintln!(
        "soak {:?}: {runs} CLI runs, {reads} in-process reads (max {max_ms:.1} ms), {} files modified, {events} watch events",
        duration,
        modified.load(Ordering::Relaxed)
    );
    assert!(failures.is_empty(), "errors surfaced: {failures:#?}");
    assert!(runs >= 6, "only {runs} CLI runs");
    assert!(reads >= 20, "only {reads} reads");
    assert!(events > 0, "the watcher reported nothing");
    assert!(max_ms <= 100.0, "a read took {max_ms:.1} ms");

    // One last refresh: the cache equals the disk.
    let r = refresh_now(&m, true).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_cache_matches_disk(&m, &roots, &corpus.collections_dir, "after the soak");
    assert_eq!(m.store().integrity_check().unwrap(), "ok");
}

/// `PRAGMA quick_check` reads the whole file: it runs at open only when there is a reason
/// (never checked, not for a day, or the service that used the file died), not on every CLI
/// call.
#[test]
fn the_integrity_check_at_open_runs_only_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let checked_at = |db: &Path| -> Option<i64> {
        let c = rusqlite::Connection::open(db).unwrap();
        c.query_row(
            "SELECT value FROM meta WHERE key = 'integrity.checked_at'",
            [],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .map(|v| v.parse().unwrap())
    };
    drop(Store::open(&db).unwrap()); // created: nothing to check
    assert_eq!(checked_at(&db), None);
    drop(Store::open(&db).unwrap()); // never checked: checked now
    let first = checked_at(&db).expect("checked at the second open");
    common::wait_clock_past(first);
    for _ in 0..3 {
        drop(Store::open(&db).unwrap());
    }
    assert_eq!(checked_at(&db), Some(first), "no reason, no check");
    // A service that is gone left its pid behind: the next open checks, and forgets it.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('service.pid', ?1)",
            [gone_pid.to_string()],
        )
        .unwrap();
    }
    drop(Store::open(&db).unwrap());
    let second = checked_at(&db).unwrap();
    assert!(second > first, "checked after an unclean exit");
    let pid_left: Option<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'service.pid'",
            [],
            |r| r.get(0),
        )
        .ok();
    assert_eq!(pid_left, None);
    // A running service's pid is no reason (this process is alive).
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('service.pid', ?1)",
            [std::process::id().to_string()],
        )
        .unwrap();
    }
    common::wait_clock_past(second);
    drop(Store::open(&db).unwrap());
    assert_eq!(checked_at(&db), Some(second));
    // A day without a check is a reason.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'integrity.checked_at'",
            [(second - 25 * 3600 * 1000).to_string()],
        )
        .unwrap();
    }
    drop(Store::open(&db).unwrap());
    assert!(checked_at(&db).unwrap() >= second);
}

/// The database's WAL and shared-memory files are as private as the database itself.
#[test]
fn wal_and_shm_files_are_user_only() {
    let env = common::TestEnv::new();
    env.project("alpha").skill("pdf", "pdf", "Reads PDF files");
    let m = env.open();
    refresh_now(&m, false).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = env.db.clone().into_os_string();
        p.push(suffix);
        let meta = fs::metadata(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{p:?}");
    }
    let folder = fs::metadata(env.db.parent().unwrap()).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);
}
