//! FIFOs, sockets and other special files in every place the scanner reads: a refresh never
//! opens one (a FIFO with no writer would block it forever, holding the refresh locks), skips
//! it with a note naming it, and keeps everything else. Driven through the real binary with a
//! deadline, so a hang fails the test instead of hanging the suite.

#![cfg(unix)]

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skillmeat-cache");

fn put(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn mkfifo(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system entry.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(r, 0, "mkfifo {}", path.display());
}

/// Runs the binary; fails the test (after killing it) if it runs past `deadline`.
fn output_within(
    home: &Path,
    db: &Path,
    root: &Path,
    args: &[&str],
    deadline: Duration,
) -> std::process::Output {
    let mut child = Command::new(BIN)
        .env_clear()
        .env("HOME", home)
        .arg("--db")
        .arg(db)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {deadline:?}: it hangs on a special file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the binary within `deadline`; a failure must say why on stderr.
fn run(home: &Path, db: &Path, root: &Path, args: &[&str], deadline: Duration) -> (i32, String) {
    let out = output_within(home, db, root, args, deadline);
    assert!(
        out.stderr.is_empty() || out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

struct Tree {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    root: PathBuf,
    db: PathBuf,
    project: PathBuf,
}

/// A project with one regular file of each kind beside special files named like what the
/// scanner reads: SkillMeat's records and collection, settings, `.mcp.json`, an agent, a
/// command, a `SKILL.md`, a file inside a skill, and a socket in the agents folder.
fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let root = tmp.path().join("root");
    let project = root.join("proj");
    let db = tmp.path().join("cache.db");
    put(
        &project.join(".claude/skills/good/SKILL.md"),
        "---\nname: good\ndescription: A regular skill\n---\n",
    );
    put(
        &project.join(".claude/agents/helper.md"),
        "---\nname: helper\ndescription: A regular agent\n---\n",
    );
    put(&project.join(".claude/commands/go.md"), "Go somewhere\n");
    for rel in [
        ".claude/.skillmeat-deployed.toml",
        ".claude/.skillmeat-project.toml",
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".mcp.json",
        ".claude/agents/fifo-agent.md",
        ".claude/commands/fifo-command.md",
        ".claude/skills/fifo-skill/SKILL.md",
        ".claude/skills/with-fifo/data.bin",
    ] {
        mkfifo(&project.join(rel));
    }
    put(
        &project.join(".claude/skills/with-fifo/SKILL.md"),
        "---\nname: with-fifo\ndescription: Holds a FIFO beside its SKILL.md\n---\n",
    );
    let col = home.join(".skillmeat/collections/default");
    mkfifo(&col.join("collection.toml"));
    mkfifo(&col.join("collection.lock"));
    let sock = project.join(".claude/agents/sock.md");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    Tree {
        _tmp: tmp,
        home,
        root,
        db,
        project,
    }
}

#[test]
fn special_files_in_every_place_are_skipped_with_a_note() {
    let t = tree();
    let (code, out) = run(
        &t.home,
        &t.db,
        &t.root,
        &["refresh", "--force", "--json"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0, "{out}");
    // Twice: the second run must not block on what the first skipped either.
    let (code, _) = run(
        &t.home,
        &t.db,
        &t.root,
        &["refresh", "--force"],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0);
    let (_, shown) = run(
        &t.home,
        &t.db,
        &t.root,
        &["show", "proj", "--json"],
        Duration::from_secs(30),
    );
    let v: Value = serde_json::from_str(&shown).unwrap();
    let mut names: Vec<(String, String)> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    names.sort();
    // Everything regular is kept; the skill with a FIFO inside is kept too (hashed without it,
    // as SkillMeat's rule counts regular files only).
    assert_eq!(
        names,
        [
            ("agent".to_string(), "helper".to_string()),
            ("command".to_string(), "go".to_string()),
            ("skill".to_string(), "good".to_string()),
            ("skill".to_string(), "with-fifo".to_string()),
        ]
    );
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let joined = notes.join("\n");
    for what in [
        ".skillmeat-deployed.toml",
        ".skillmeat-project.toml",
        "settings.json",
        "settings.local.json",
        ".mcp.json",
        "fifo-agent.md",
        "fifo-command.md",
        "fifo-skill/SKILL.md",
        "data.bin",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(what) && n.contains("FIFO")),
            "no note names the FIFO {what}:\n{joined}"
        );
    }
    assert!(
        notes
            .iter()
            .any(|n| n.contains("sock.md") && n.contains("socket")),
        "no note names the socket:\n{joined}"
    );
    // The collection's FIFOs are reported where problems that concern every project are.
    let (_, status) = run(
        &t.home,
        &t.db,
        &t.root,
        &["status", "--json"],
        Duration::from_secs(30),
    );
    let s: Value = serde_json::from_str(&status).unwrap();
    let snotes = s["notes"].to_string();
    assert!(
        snotes.contains("collection.toml") && snotes.contains("FIFO"),
        "{snotes}"
    );
    assert!(t.project.join(".mcp.json").exists(), "nothing was removed");
}

#[test]
fn a_fifo_in_place_of_a_compared_copy_or_a_transcript_never_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let root = tmp.path().join("projects");
    let db = tmp.path().join("cache.db");
    for (p, desc) in [("a", "Reviews code"), ("b", "Reviews code harshly")] {
        put(
            &root.join(p).join(".claude/agents/reviewer.md"),
            &format!("---\nname: reviewer\ndescription: {desc}\n---\n"),
        );
    }
    // A FIFO named like a session transcript (code.claude.com/docs/en/settings: sessions are
    // kept in ~/.claude/projects/<project>/<session>.jsonl).
    mkfifo(&home.join(".claude/projects/-tmp-a/session.jsonl"));
    let limit = Duration::from_secs(20);
    assert_eq!(run(&home, &db, &root, &["refresh"], limit).0, 0);
    let (_, out) = run(&home, &db, &root, &["--json", "where", "reviewer"], limit);
    let w: Value = serde_json::from_str(&out).unwrap();
    let aids: Vec<i64> = w[0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["copies"][0]["aid"].as_i64().unwrap())
        .collect();
    assert_eq!(aids.len(), 2, "{w}");
    // b's copy is swapped for a FIFO with no writer: the diff fails at once and says why.
    let b = root.join("b/.claude/agents/reviewer.md");
    fs::remove_file(&b).unwrap();
    mkfifo(&b);
    let (a_id, b_id) = (aids[0].to_string(), aids[1].to_string());
    let out = output_within(&home, &db, &root, &["diff", &a_id, &b_id], limit);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reviewer.md"), "{err}");
    // The usage pass skips the FIFO transcript instead of waiting for a writer.
    let (code, _) = run(&home, &db, &root, &["usage"], limit);
    assert_eq!(code, 0);
}
