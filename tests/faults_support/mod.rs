//! Helpers for `tests/faults.rs`: comparing the cache with a fresh scan of the disk, churning
//! real project files, running the CLI binary, killing processes and mounting a small tmpfs.

#![allow(dead_code)]

use skillmeat_cache::collection::Collection;
use skillmeat_cache::corpus::Rng;
use skillmeat_cache::scan::{PrevIndex, scan_project};
use skillmeat_cache::store::ProjectFilter;
use skillmeat_cache::{ArtifactQuery, CacheManager};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The path of the `skillmeat-cache` binary built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_skillmeat-cache");

/// (project path, kind, artifact path, content hash) of every artifact.
pub type ArtifactSet = BTreeSet<(String, String, String, String)>;

/// The projects and artifacts the cache holds.
pub fn cache_view(m: &CacheManager) -> (BTreeSet<String>, ArtifactSet) {
    let projects = m
        .list_projects(&ProjectFilter::default())
        .expect("list projects")
        .items
        .into_iter()
        .map(|p| p.path)
        .collect();
    let arts = m
        .list_artifacts(&ArtifactQuery::default())
        .expect("list artifacts")
        .items
        .into_iter()
        .map(|a| (a.project, a.kind.to_string(), a.path, a.content_hash))
        .collect();
    (projects, arts)
}

/// The projects (folders with `.claude/` directly below each root) and what a fresh scan of
/// each finds, with no previous index.
pub fn disk_view(roots: &[PathBuf], collections_dir: &Path) -> (BTreeSet<String>, ArtifactSet) {
    let collection = Collection::load(collections_dir);
    let mut projects = BTreeSet::new();
    let mut arts = BTreeSet::new();
    for root in roots {
        for entry in fs::read_dir(root).expect("read root") {
            let dir = entry.expect("dir entry").path();
            if !dir.join(".claude").is_dir() {
                continue;
            }
            let key = dir.display().to_string();
            let snap = scan_project(&dir, &PrevIndex::default(), &collection);
            for a in snap.artifacts {
                arts.insert((key.clone(), a.kind.to_string(), a.path, a.content_hash));
            }
            projects.insert(key);
        }
    }
    (projects, arts)
}

/// Asserts that the cache holds exactly what a fresh scan of the disk finds.
pub fn assert_cache_matches_disk(
    m: &CacheManager,
    roots: &[PathBuf],
    collections_dir: &Path,
    when: &str,
) {
    let (cp, ca) = cache_view(m);
    let (dp, da) = disk_view(roots, collections_dir);
    assert_eq!(cp, dp, "{when}: the cached projects differ from the disk");
    if ca != da {
        let only_cache: Vec<_> = ca.difference(&da).take(10).collect();
        let only_disk: Vec<_> = da.difference(&ca).take(10).collect();
        panic!(
            "{when}: the cache ({} artifacts) differs from a fresh scan ({}):\n only in the cache: {only_cache:#?}\n only on disk: {only_disk:#?}",
            ca.len(),
            da.len()
        );
    }
    assert!(!da.is_empty(), "{when}: the comparison compared nothing");
}

/// The `.md` files under a project's `.claude/{skills,agents,commands}`, sorted.
pub fn md_files(project: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["skills", "agents", "commands"] {
        let base = project.join(".claude").join(sub);
        for e in walkdir::WalkDir::new(&base)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md") {
                out.push(e.path().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Changes a project for real: rewrites a share of its files (new description and body, so
/// rows and both full-text indexes change), deletes a few and adds new skills.
/// `share` is out of 100. Returns how many files were touched.
pub fn churn(project: &Path, rng: &mut Rng, round: usize, share: usize) -> usize {
    let mut touched = 0;
    for (i, f) in md_files(project).into_iter().enumerate() {
        let roll = rng.below(100);
        if roll >= share {
            continue;
        }
        touched += 1;
        if roll < share / 10 {
            // A skill is its folder; removing only SKILL.md would leave an empty folder.
            let _ = fs::remove_file(&f);
            continue;
        }
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        let text = text.replacen(
            "description: ",
            &format!("description: r{round} {} ", rng.word()),
            1,
        );
        let _ = fs::write(
            &f,
            format!("{text}\nround {round} file {i}: {}\n", rng.words(3)),
        );
    }
    for k in 0..1 + rng.below(3) {
        let dir = project
            .join(".claude/skills")
            .join(format!("churn-{round}-{k}"));
        let _ = fs::create_dir_all(&dir);
        let _ = fs::write(
            dir.join("SKILL.md"),
            format!(
                "---\nname: churn-{round}-{k}\ndescription: {}\n---\n{}\n",
                rng.words(6),
                rng.words(40)
            ),
        );
        touched += 1;
    }
    touched
}

/// Sends SIGKILL to a child process (no chance to clean up), then reaps it.
pub fn kill9(child: &mut Child) {
    // SAFETY: plain syscall on the pid of a child we spawned and have not reaped yet.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    child.wait().expect("reap child");
}

/// Sends SIGTERM and waits for the process to end (at most `timeout`).
pub fn terminate(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    // SAFETY: as in `kill9`.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if start.elapsed() > timeout {
            kill9(child);
            panic!("the process did not stop within {timeout:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One run of the CLI binary.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// A `Command` for the CLI with a clean environment: `HOME` in `home`, no inherited
/// `SKILLMEAT_*` settings, the config file inside `home`.
pub fn cli_command(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SKILLMEAT_") || k == "XDG_DATA_HOME" {
            c.env_remove(k);
        }
    }
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("SKILLMEAT_CONFIG", home.join(".skillmeat/config.toml"))
        .stdin(Stdio::null());
    c
}

/// Runs the CLI to completion with `args`.
pub fn cli(home: &Path, args: &[&str]) -> Out {
    let start = Instant::now();
    let o = cli_command(home)
        .args(args)
        .output()
        .expect("run skillmeat-cache");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// The lines of a CLI's stderr that report an error (`skillmeat-cache: ...`).
pub fn error_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("skillmeat-cache:"))
        .map(str::to_string)
        .collect()
}

/// A tmpfs of a fixed size mounted for the life of this value; unmounted on drop.
pub struct Tmpfs {
    /// The mount point.
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `"8m"`) at `path`; `None` when mounting is not allowed.
    pub fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(path).expect("mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "mount failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Remounts the file system read-only (`true`) or read-write (`false`).
    pub fn remount(&self, read_only: bool) {
        let opt = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let out = Command::new("mount")
            .args(["-o", opt])
            .arg(&self.path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -o {opt}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// Free bytes on the mount.
    pub fn free_bytes(&self) -> u64 {
        let c = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: statvfs fills the struct we own; the path is a valid C string.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
        assert_eq!(r, 0, "statvfs: {}", std::io::Error::last_os_error());
        s.f_bavail as u64 * s.f_frsize as u64
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            // Something still holds a file there: detach it so nothing is left mounted.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Fills a file system: writes `path` until the disk is full (ENOSPC). Returns its size.
pub fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = fs::File::create(path).expect("create filler");
    let chunk = vec![0xA5u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = f.sync_all();
    written
}
