//! Property tests on real files.
//!
//! 1. Model-based: random sequences of file operations on 2-3 real projects (agents, commands,
//!    skills created, edited, deleted, renamed, moved between projects, symlinked, given
//!    malformed frontmatter or binary junk, commands nested past the scanner's depth limit),
//!    interleaved with refreshes, or run under the real watcher and refresh job
//!    (`Service::start_with`). After each sequence the cache must equal a fresh scan of every
//!    project (kind, path, content hash, name, description, frontmatter state, and the
//!    project's notes), and since schema 4 also scope and why an item is not loaded. The new
//!    sources are in the model too: memory files with imports, rules with and without
//!    `paths:`, local settings (`disableAllHooks`, MCP approvals), `~/.claude.json` (local
//!    servers, approvals, a half-written file) and user skills that shadow project skills.
//!    The oracle is `scan_project_in` with no previous index, in the manager's context, so
//!    the checks exercise the (mtime, size) reuse, the tree stamps, the store's diff and the
//!    watcher. Unix only (its operations include symlinks).
//! 2. Readers: arbitrary bytes and YAML/TOML/JSON-shaped text into the frontmatter parser,
//!    SkillMeat's record files, settings.json / .mcp.json and the collection files: never a
//!    panic, never a hang (each case runs on its own thread, 5 s bound, 2 MiB stack like the
//!    engine's worker threads).

mod common;

use proptest::prelude::*;
use skillmeat_cache::collection::{Collection, compare_versions};
use skillmeat_cache::records::{self, Records};
use skillmeat_cache::scan::{PrevIndex, scan_project};
use skillmeat_cache::{FrontmatterState, frontmatter};
use std::fs;
use std::sync::mpsc;
use std::time::{Duration, Instant};
// The model (part 1).
#[cfg(unix)]
use common::{ProjectDir, TestEnv};
#[cfg(unix)]
use skillmeat_cache::refresh::{refresh_now, refresh_project_now};
#[cfg(unix)]
use skillmeat_cache::scan::{ProjectSnapshot, scan_project_in};
#[cfg(unix)]
use skillmeat_cache::service::Service;
#[cfg(unix)]
use skillmeat_cache::{ArtifactQuery, CacheManager};
#[cfg(unix)]
use std::collections::{BTreeMap, BTreeSet};
#[cfg(unix)]
use std::os::unix::fs::symlink;
#[cfg(unix)]
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Time bound
// ---------------------------------------------------------------------------------------------

/// The longest one reader case may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `f` on its own thread (2 MiB stack, as the engine's worker threads); fails the test
/// when it panics or is still running after [`CASE_TIMEOUT`].
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::Builder::new()
        .name(format!("bounded: {what}"))
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn");
    match rx.recv_timeout(CASE_TIMEOUT) {
        Ok(v) => {
            let _ = h.join();
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still running after {CASE_TIMEOUT:?} (a hang)")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => panic!("{what}: finished without a result"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle: cache rows vs a fresh scan
// ---------------------------------------------------------------------------------------------

/// (kind, path, content hash, name, description, frontmatter state, scope, why not loaded)
/// of one artifact.
#[cfg(unix)]
type Row = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

#[cfg(unix)]
fn snapshot_rows(snap: &ProjectSnapshot) -> BTreeSet<Row> {
    snap.artifacts
        .iter()
        .map(|a| {
            (
                a.kind.as_str().to_string(),
                a.path.clone(),
                a.content_hash.clone(),
                a.name.clone(),
                a.description.clone(),
                a.frontmatter.as_str().to_string(),
                a.scope.as_str().to_string(),
                a.not_loaded
                    .map(|r| r.as_str())
                    .unwrap_or("loaded")
                    .to_string(),
            )
        })
        .collect()
}

/// Every cached artifact grouped by project path (from one `list_artifacts` call).
#[cfg(unix)]
fn cache_rows(m: &CacheManager) -> BTreeMap<String, BTreeSet<Row>> {
    let mut out: BTreeMap<String, BTreeSet<Row>> = BTreeMap::new();
    for a in m
        .list_artifacts(&ArtifactQuery::default())
        .expect("list artifacts")
        .items
    {
        out.entry(a.project.clone()).or_default().insert((
            a.kind.as_str().to_string(),
            a.path,
            a.content_hash,
            a.name,
            a.description,
            a.frontmatter.as_str().to_string(),
            a.scope.as_str().to_string(),
            a.not_loaded
                .map(|r| r.as_str())
                .unwrap_or("loaded")
                .to_string(),
        ));
    }
    out
}

/// Differences between the cache and a fresh scan of each project (empty: equal).
#[cfg(unix)]
fn diff_cache_vs_scan(m: &CacheManager, projects: &[ProjectDir], collections: &Path) -> String {
    let collection = Collection::load(collections);
    let cached = cache_rows(m);
    let mut out = String::new();
    for p in projects {
        let ctx = m.scan_context(&p.key());
        let snap = scan_project_in(&p.path, &PrevIndex::default(), &collection, &ctx);
        let want = snapshot_rows(&snap);
        let got = cached.get(&p.key()).cloned().unwrap_or_default();
        for r in want.difference(&got) {
            out.push_str(&format!("{}: on disk, not in cache: {r:?}\n", p.key()));
        }
        for r in got.difference(&want) {
            out.push_str(&format!("{}: in cache, not on disk: {r:?}\n", p.key()));
        }
        match m.get_project(&p.key()) {
            Ok(d) => {
                if d.project.notes != snap.notes {
                    out.push_str(&format!(
                        "{}: notes differ: cache {:?} vs scan {:?}\n",
                        p.key(),
                        d.project.notes,
                        snap.notes
                    ));
                }
            }
            Err(e) => out.push_str(&format!("{}: not in cache: {e}\n", p.key())),
        }
    }
    for k in cached.keys() {
        if !projects.iter().any(|p| &p.key() == k) {
            out.push_str(&format!("artifacts of an unknown project {k}\n"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// An oracle written from the rules, not from the scanner: skills and commands with their hashes
// ---------------------------------------------------------------------------------------------

/// SkillMeat's folder hash, from its definition: Python's `sorted(Path(dir).rglob("*"))`
/// (component-wise order, symlinked folders not entered), regular files only (a symlink to a
/// file counts), each fed as its relative POSIX path then its bytes.
#[cfg(unix)]
fn skillmeat_dir_hash(dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, rel: &mut Vec<Vec<u8>>, out: &mut Vec<(Vec<Vec<u8>>, PathBuf)>) {
        use std::os::unix::ffi::OsStrExt;
        for e in fs::read_dir(dir).unwrap().map(|e| e.unwrap()) {
            let name = e.file_name().as_bytes().to_vec();
            let path = e.path();
            let is_link = fs::symlink_metadata(&path).unwrap().is_symlink();
            rel.push(name);
            if path.is_dir() && !is_link {
                walk(&path, rel, out);
            } else if path.is_file() {
                out.push((rel.clone(), path));
            }
            rel.pop();
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut Vec::new(), &mut files);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    for (rel, path) in files {
        h.update(rel.join(&b'/'));
        h.update(fs::read(path).unwrap());
    }
    hex::encode(h.finalize())
}

#[cfg(unix)]
fn sha256_file(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

/// (path, hash) of every skill that is a real folder (not reached through a symlink): a folder
/// below `skills/` holding a `SKILL.md`, the topmost one when they nest.
#[cfg(unix)]
fn oracle_real_skills(project: &Path) -> BTreeSet<(String, String)> {
    fn walk(project: &Path, dir: &Path, out: &mut BTreeSet<(String, String)>) {
        for e in read_sorted(dir) {
            if fs::symlink_metadata(&e).unwrap().is_symlink() || !e.is_dir() {
                continue;
            }
            if e.join("SKILL.md").is_file() {
                let rel = e.strip_prefix(project).unwrap().display().to_string();
                out.insert((rel, skillmeat_dir_hash(&e)));
            } else {
                walk(project, &e, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(project, &project.join(".claude/skills"), &mut out);
    out
}

/// (path, hash, name) of every command: each `*.md` below `commands/` (at most 8 namespace
/// folders deep), named by its path with `:` between namespaces.
#[cfg(unix)]
fn oracle_commands(project: &Path) -> BTreeSet<(String, String, String)> {
    let base = project.join(".claude/commands");
    let mut files = Vec::new();
    md_files(&base, &mut files);
    files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md") && f.is_file())
        .filter(|f| f.strip_prefix(&base).unwrap().components().count() <= 9)
        .map(|f| {
            let rel_in = f.strip_prefix(&base).unwrap().with_extension("");
            let name = rel_in
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(":");
            (
                f.strip_prefix(project).unwrap().display().to_string(),
                sha256_file(&f),
                name,
            )
        })
        .collect()
}

/// Differences between the cache and the independent oracle (empty: agree): every command
/// exactly, and every real skill folder with its hash (symlinked skills are the scanner's
/// dedup rules, checked by the fresh-scan oracle above).
#[cfg(unix)]
fn diff_cache_vs_oracle(m: &CacheManager, projects: &[ProjectDir]) -> String {
    let mut out = String::new();
    for p in projects {
        let arts = m
            .list_artifacts(&ArtifactQuery {
                project: Some(p.key()),
                ..Default::default()
            })
            .map(|pg| pg.items)
            .unwrap_or_default();
        let commands: BTreeSet<(String, String, String)> = arts
            .iter()
            .filter(|a| a.kind == skillmeat_cache::ArtifactKind::Command)
            .map(|a| (a.path.clone(), a.content_hash.clone(), a.name.clone()))
            .collect();
        let want = oracle_commands(&p.path);
        if commands != want {
            out.push_str(&format!(
                "{}: commands differ from the oracle:\n  cache  {commands:?}\n  oracle {want:?}\n",
                p.key()
            ));
        }
        let skills: BTreeSet<(String, String)> = arts
            .iter()
            .filter(|a| a.kind == skillmeat_cache::ArtifactKind::Skill)
            .map(|a| (a.path.clone(), a.content_hash.clone()))
            .collect();
        for s in oracle_real_skills(&p.path) {
            if !skills.contains(&s) {
                out.push_str(&format!(
                    "{}: skill {s:?} missing or with another hash; cache has {skills:?}\n",
                    p.key()
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The world and its operations
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
const NAMES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

/// What goes into a Markdown file.
#[cfg(unix)]
#[derive(Debug, Clone)]
enum Body {
    /// Good frontmatter; the digit makes same-size edits (the (mtime, size) stamp's weak spot).
    Good(u8),
    /// An unquoted colon strict YAML rejects (recovered, flagged malformed).
    Malformed(u8),
    /// Opened, never closed.
    Unclosed,
    /// No frontmatter at all.
    Plain,
    /// Binary junk (invalid UTF-8, NULs).
    Junk(Vec<u8>),
}

#[cfg(unix)]
impl Body {
    fn bytes(&self, name: &str) -> Vec<u8> {
        match self {
            Body::Good(d) => {
                format!("---\nname: {name}\ndescription: version {d}\n---\n# {name}\n").into()
            }
            Body::Malformed(d) => format!(
                "---\nname: {name}\ndescription: Use it. Examples: <example>Context: {d}: x\n---\nbody\n"
            )
            .into(),
            Body::Unclosed => format!("---\nname: {name}\ndescription: never closed\n").into(),
            Body::Plain => format!("# {name}\n\nJust text.\n").into(),
            Body::Junk(b) => b.clone(),
        }
    }
}

#[cfg(unix)]
fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => (0u8..10).prop_map(Body::Good),
        1 => (0u8..10).prop_map(Body::Malformed),
        1 => Just(Body::Unclosed),
        1 => Just(Body::Plain),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Junk),
    ]
}

#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
enum Refresh {
    All(bool),
    Project(usize, bool),
}

#[cfg(unix)]
#[derive(Debug, Clone)]
enum Op {
    WriteAgent(usize, usize, Body),
    DeleteAgent(usize, usize),
    /// Project, nesting depth (past the scanner's limit of 8 sometimes), name, body.
    WriteCommand(usize, usize, usize, Body),
    DeleteCommand(usize, usize),
    /// Project, name, nested one folder down, body.
    CreateSkill(usize, usize, bool, Body),
    /// Project, which skill, a supporting file (else SKILL.md), body.
    EditSkill(usize, usize, bool, Body),
    DeleteSkill(usize, usize),
    RenameSkill(usize, usize, usize),
    /// From project, which skill, to project.
    MoveSkill(usize, usize, usize),
    /// Project, link name, target: `None` the shared folder outside every project, else a
    /// skill of that project.
    LinkSkill(usize, usize, Option<(usize, usize)>),
    /// Project, variant (hooks, broken JSON, junk).
    Settings(usize, u8),
    Mcp(usize, u8),
    /// Project, variant (CLAUDE.md with a live and a dangling import, .claude/CLAUDE.md,
    /// CLAUDE.local.md, CLAUDE.md removed).
    Memory(usize, u8),
    /// Project, name, with `paths:`.
    Rule(usize, usize, bool),
    /// Project, variant (hooks off, approvals, approvals off, removed).
    LocalSettings(usize, u8),
    /// Variant of `~/.claude.json` (local servers and approvals for some projects, another
    /// set, half-written, removed).
    ClaudeJson(u8),
    /// A user skill of that name created (true) or removed.
    UserSkill(usize, bool),
    Refresh(Refresh),
}

#[cfg(unix)]
fn op(n: usize, refreshes: bool) -> impl Strategy<Value = Op> {
    let p = 0..n;
    let i = 0usize..8;
    let name = 0..NAMES.len();
    let files = prop_oneof![
        3 => (p.clone(), name.clone(), body()).prop_map(|(p, n, b)| Op::WriteAgent(p, n, b)),
        1 => (p.clone(), name.clone()).prop_map(|(p, n)| Op::DeleteAgent(p, n)),
        3 => (p.clone(), prop_oneof![3 => 0usize..3, 1 => 3usize..12], name.clone(), body())
            .prop_map(|(p, d, n, b)| Op::WriteCommand(p, d, n, b)),
        1 => (p.clone(), i.clone()).prop_map(|(p, i)| Op::DeleteCommand(p, i)),
        3 => (p.clone(), name.clone(), any::<bool>(), body())
            .prop_map(|(p, n, nested, b)| Op::CreateSkill(p, n, nested, b)),
        3 => (p.clone(), i.clone(), any::<bool>(), body())
            .prop_map(|(p, i, extra, b)| Op::EditSkill(p, i, extra, b)),
        1 => (p.clone(), i.clone()).prop_map(|(p, i)| Op::DeleteSkill(p, i)),
        1 => (p.clone(), i.clone(), name.clone()).prop_map(|(p, i, n)| Op::RenameSkill(p, i, n)),
        1 => (p.clone(), i.clone(), p.clone()).prop_map(|(p, i, q)| Op::MoveSkill(p, i, q)),
        1 => (p.clone(), name.clone(), prop::option::of((p.clone(), i.clone())))
            .prop_map(|(p, n, t)| Op::LinkSkill(p, n, t)),
        1 => (p.clone(), 0u8..4).prop_map(|(p, v)| Op::Settings(p, v)),
        1 => (p.clone(), 0u8..4).prop_map(|(p, v)| Op::Mcp(p, v)),
        1 => (p.clone(), 0u8..4).prop_map(|(p, v)| Op::Memory(p, v)),
        1 => (p.clone(), name.clone(), any::<bool>()).prop_map(|(p, n, b)| Op::Rule(p, n, b)),
        1 => (p.clone(), 0u8..4).prop_map(|(p, v)| Op::LocalSettings(p, v)),
        1 => (0u8..4).prop_map(Op::ClaudeJson),
        1 => (name.clone(), any::<bool>()).prop_map(|(n, b)| Op::UserSkill(n, b)),
    ];
    let refresh = prop_oneof![
        any::<bool>().prop_map(Refresh::All),
        (p, any::<bool>()).prop_map(|(p, f)| Refresh::Project(p, f)),
    ]
    .prop_map(Op::Refresh);
    if refreshes {
        prop_oneof![4 => files, 1 => refresh].boxed()
    } else {
        files.boxed()
    }
}

#[cfg(unix)]
struct World {
    env: TestEnv,
    projects: Vec<ProjectDir>,
    /// A skill folder outside every project (a symlink target).
    shared: PathBuf,
}

#[cfg(unix)]
fn world(n: usize) -> World {
    let mut env = TestEnv::new();
    env.config.debounce_ms = 30;
    env.config.max_wait_ms = 300;
    let projects: Vec<ProjectDir> = (0..n)
        .map(|i| {
            let p = env.project(&format!("p{i}"));
            p.skill("alpha", "alpha", "first skill");
            p.agent("alpha", "alpha", "first agent");
            p.command("alpha", "first command");
            p
        })
        .collect();
    let shared = env.base.join("shared/skills/ext");
    fs::create_dir_all(&shared).unwrap();
    fs::write(shared.join("SKILL.md"), Body::Good(1).bytes("ext")).unwrap();
    fs::write(shared.join("notes.txt"), "supporting file").unwrap();
    World {
        env,
        projects,
        shared,
    }
}

/// Skill folders of a project (depth 1 and 2 below `skills/`, symlinks included), sorted.
#[cfg(unix)]
fn skill_dirs(p: &ProjectDir) -> Vec<PathBuf> {
    let base = p.path.join(".claude/skills");
    let mut out = Vec::new();
    for e in read_sorted(&base) {
        if e.join("SKILL.md").exists() || fs::symlink_metadata(&e).is_ok_and(|m| m.is_symlink()) {
            out.push(e);
        } else if e.is_dir() {
            out.extend(read_sorted(&e).into_iter().filter(|s| s.is_dir()));
        }
    }
    out
}

#[cfg(unix)]
fn read_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(unix)]
fn md_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in read_sorted(dir) {
        if e.is_dir() {
            md_files(&e, out);
        } else {
            out.push(e);
        }
    }
}

#[cfg(unix)]
fn remove_any(p: &Path) {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).unwrap(),
        Ok(_) => fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

#[cfg(unix)]
fn put(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Applies a file operation (refreshes are the caller's); impossible ones do nothing.
#[cfg(unix)]
fn apply(w: &World, op: &Op) {
    let pr = |i: usize| &w.projects[i % w.projects.len()];
    match op {
        Op::WriteAgent(p, n, b) => put(
            &pr(*p).path.join(format!(".claude/agents/{}.md", NAMES[*n])),
            &b.bytes(NAMES[*n]),
        ),
        Op::DeleteAgent(p, n) => {
            remove_any(&pr(*p).path.join(format!(".claude/agents/{}.md", NAMES[*n])))
        }
        Op::WriteCommand(p, depth, n, b) => {
            let mut rel = PathBuf::from(".claude/commands");
            for d in 0..*depth {
                rel.push(format!("ns{d}"));
            }
            rel.push(format!("{}.md", NAMES[*n]));
            put(&pr(*p).path.join(rel), &b.bytes(NAMES[*n]));
        }
        Op::DeleteCommand(p, i) => {
            let mut files = Vec::new();
            md_files(&pr(*p).path.join(".claude/commands"), &mut files);
            if !files.is_empty() {
                remove_any(&files[i % files.len()]);
            }
        }
        Op::CreateSkill(p, n, nested, b) => {
            let dir = if *nested {
                format!(".claude/skills/group/{}", NAMES[*n])
            } else {
                format!(".claude/skills/{}", NAMES[*n])
            };
            let dir = pr(*p).path.join(dir);
            if fs::symlink_metadata(&dir).is_ok_and(|m| m.is_symlink()) {
                return; // never write through a link into another project
            }
            put(&dir.join("SKILL.md"), &b.bytes(NAMES[*n]));
        }
        Op::EditSkill(p, i, extra, b) => {
            let dirs: Vec<PathBuf> = skill_dirs(pr(*p))
                .into_iter()
                .filter(|d| !fs::symlink_metadata(d).is_ok_and(|m| m.is_symlink()))
                .collect();
            if let Some(d) = dirs.get(i % dirs.len().max(1)) {
                let f = if *extra {
                    d.join("ref/extra.md")
                } else {
                    d.join("SKILL.md")
                };
                put(&f, &b.bytes("edited"));
            }
        }
        Op::DeleteSkill(p, i) => {
            let dirs = skill_dirs(pr(*p));
            if let Some(d) = dirs.get(i % dirs.len().max(1)) {
                remove_any(d);
            }
        }
        Op::RenameSkill(p, i, n) => {
            let dirs = skill_dirs(pr(*p));
            if let Some(d) = dirs.get(i % dirs.len().max(1)) {
                let to = d.with_file_name(NAMES[*n]);
                if fs::symlink_metadata(&to).is_err() {
                    fs::rename(d, to).unwrap();
                }
            }
        }
        Op::MoveSkill(p, i, q) => {
            let dirs = skill_dirs(pr(*p));
            if let Some(d) = dirs.get(i % dirs.len().max(1)) {
                let to = pr(*q)
                    .path
                    .join(".claude/skills")
                    .join(d.file_name().unwrap());
                if fs::symlink_metadata(&to).is_err() {
                    fs::create_dir_all(to.parent().unwrap()).unwrap();
                    fs::rename(d, to).unwrap();
                }
            }
        }
        Op::LinkSkill(p, n, target) => {
            let target = match target {
                None => w.shared.clone(),
                Some((q, i)) => {
                    let dirs: Vec<PathBuf> = skill_dirs(pr(*q))
                        .into_iter()
                        .filter(|d| !fs::symlink_metadata(d).is_ok_and(|m| m.is_symlink()))
                        .collect();
                    match dirs.get(i % dirs.len().max(1)) {
                        Some(d) => d.clone(),
                        None => return,
                    }
                }
            };
            let link = pr(*p)
                .path
                .join(format!(".claude/skills/link-{}", NAMES[*n]));
            if fs::symlink_metadata(&link).is_err() {
                fs::create_dir_all(link.parent().unwrap()).unwrap();
                symlink(target, link).unwrap();
            }
        }
        Op::Settings(p, v) => {
            let f = pr(*p).path.join(".claude/settings.json");
            let bytes: Vec<u8> = match v {
                0 => serde_json::json!({"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo a"}]}]}}).to_string().into(),
                1 => serde_json::json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "echo b"}, {"type": "command", "command": "echo c"}]}]}}).to_string().into(),
                2 => b"{\"hooks\": {broken".to_vec(),
                _ => vec![0xff, 0xfe, 0, 1, 2],
            };
            put(&f, &bytes);
        }
        Op::Mcp(p, v) => {
            let f = pr(*p).path.join(".mcp.json");
            let bytes: Vec<u8> = match v {
                0 => serde_json::json!({"mcpServers": {"fs": {"command": "npx", "args": ["fs"]}}})
                    .to_string()
                    .into(),
                1 => serde_json::json!({"mcpServers": {"web": {"url": "http://x"}, "fs": {"command": "x"}}})
                    .to_string()
                    .into(),
                2 => b"{\"mcpServers\": [".to_vec(),
                _ => vec![0xc3, 0x28, 0x7b],
            };
            put(&f, &bytes);
        }
        Op::Memory(p, v) => {
            let root = &pr(*p).path;
            match v {
                0 => put(
                    &root.join("CLAUDE.md"),
                    b"# Memory\nSee @docs/a.md and @missing/b.md\n",
                ),
                1 => put(&root.join(".claude/CLAUDE.md"), b"Team memory\n"),
                2 => put(&root.join("CLAUDE.local.md"), b"Mine, see @CLAUDE.md\n"),
                _ => remove_any(&root.join("CLAUDE.md")),
            }
            if *v == 0 {
                put(&root.join("docs/a.md"), b"A\n");
            }
        }
        Op::Rule(p, n, paths) => {
            let body = if *paths {
                "---\npaths:\n  - \"src/**\"\n---\nScoped.\n"
            } else {
                "Always.\n"
            };
            put(
                &pr(*p).path.join(format!(".claude/rules/{}.md", NAMES[*n])),
                body.as_bytes(),
            );
        }
        Op::LocalSettings(p, v) => {
            let f = pr(*p).path.join(".claude/settings.local.json");
            match v {
                0 => put(&f, br#"{"disableAllHooks": true}"#),
                1 => put(&f, br#"{"enabledMcpjsonServers": ["fs"]}"#),
                2 => put(
                    &f,
                    br#"{"enableAllProjectMcpServers": false, "disabledMcpjsonServers": ["web"]}"#,
                ),
                _ => remove_any(&f),
            }
        }
        Op::ClaudeJson(v) => {
            let f = w.env.home.join(".claude.json");
            let key = |i: usize| w.projects[i % w.projects.len()].key();
            let doc = match v {
                0 => serde_json::json!({"projects": {
                    key(0): {"mcpServers": {"fs": {"command": "local-fs"}, "db": {"command": "pg"}},
                        "lastCost": 1.0},
                    key(1): {"enabledMcpjsonServers": ["web"], "disabledMcpServers": ["db"]}
                }})
                .to_string(),
                1 => serde_json::json!({"mcpServers": {"u": {"command": "u"}}, "projects": {
                    key(1): {"mcpServers": {"cache": {"url": "http://c"}}},
                    key(2): {"enableAllProjectMcpServers": true}
                }})
                .to_string(),
                2 => "{\"projects\": {\"/half-writ".to_string(),
                _ => {
                    remove_any(&f);
                    return;
                }
            };
            put(&f, doc.as_bytes());
        }
        Op::UserSkill(n, create) => {
            let dir = w.env.home.join(".claude/skills").join(NAMES[*n]);
            if *create {
                put(&dir.join("SKILL.md"), &Body::Good(7).bytes(NAMES[*n]));
            } else {
                remove_any(&dir);
            }
        }
        Op::Refresh(_) => {}
    }
}

// ---------------------------------------------------------------------------------------------
// 1a. Model-based, with explicit refreshes
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
fn run_with_refreshes(n: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let w = world(n);
    let m = w.env.open();
    let collections = w.env.config.collections_dir.clone();
    refresh_now(&m, true).expect("initial refresh");
    for (step, o) in ops.iter().enumerate() {
        match o {
            Op::Refresh(Refresh::All(force)) => {
                let r = refresh_now(&m, *force).expect("refresh_all");
                prop_assert!(r.failed.is_empty(), "step {step}: failures {:?}", r.failed);
                if *force {
                    let d = diff_cache_vs_scan(&m, &w.projects, &collections);
                    prop_assert!(d.is_empty(), "step {step} ({o:?}):\n{d}");
                }
            }
            Op::Refresh(Refresh::Project(p, force)) => {
                let p = &w.projects[p % n];
                refresh_project_now(&m, &p.key(), *force).expect("refresh_project");
                if *force {
                    let d = diff_cache_vs_scan(&m, std::slice::from_ref(p), &collections);
                    // Only this project was refreshed: ignore "unknown project" lines.
                    let d: String = d
                        .lines()
                        .filter(|l| l.starts_with(&p.key()))
                        .map(|l| format!("{l}\n"))
                        .collect();
                    prop_assert!(d.is_empty(), "step {step} ({o:?}):\n{d}");
                }
            }
            other => apply(&w, other),
        }
    }
    let r = refresh_now(&m, true).expect("final refresh");
    prop_assert!(r.failed.is_empty(), "final refresh failures {:?}", r.failed);
    let d = diff_cache_vs_scan(&m, &w.projects, &collections);
    prop_assert!(d.is_empty(), "after the sequence:\n{d}");
    let d = diff_cache_vs_oracle(&m, &w.projects);
    prop_assert!(d.is_empty(), "after the sequence, against the oracle:\n{d}");
    // Nothing changed on disk since: another refresh finds no change (no phantom changes).
    let r = refresh_now(&m, true).expect("idle refresh");
    prop_assert!(
        r.changed.is_empty(),
        "a refresh with nothing changed reported changes: {:?}",
        r.changed
    );
    Ok(())
}

#[cfg(unix)]
proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn model_refreshes_keep_the_cache_equal_to_a_fresh_scan(
        n in 2usize..=3,
        ops in prop::collection::vec(op(3, true), 1..14),
    ) {
        run_with_refreshes(n, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// 1b. Model-based, under the real watcher and refresh job
// ---------------------------------------------------------------------------------------------

/// How long the watcher variant waits for the cache to match the disk.
#[cfg(unix)]
const SETTLE_DEADLINE: Duration = Duration::from_secs(15);

#[cfg(unix)]
fn run_with_watcher(rt: &tokio::runtime::Runtime, n: usize, ops: &[Op]) -> Result<(), String> {
    let w = world(n);
    let m = w.env.open();
    let collections = w.env.config.collections_dir.clone();
    rt.block_on(async {
        let svc = Service::start_with(m.clone()).await.map_err(|e| e.to_string())?;
        svc.watch_ready().await;
        let start = Instant::now();
        // The initial refresh has run and every project is watched.
        loop {
            let ready = svc.watcher().status().projects_watched == n
                && svc.job().wait_idle(Duration::from_millis(50)).await
                && tokio::task::block_in_place(|| {
                    diff_cache_vs_scan(&m, &w.projects, &collections).is_empty()
                });
            if ready {
                break;
            }
            if start.elapsed() > SETTLE_DEADLINE {
                svc.stop().await;
                return Err("the service never became ready".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for o in ops {
            tokio::task::block_in_place(|| apply(&w, o));
            // Let the debouncer see some operations separately, others in one batch.
            if matches!(o, Op::MoveSkill(..) | Op::RenameSkill(..)) {
                tokio::task::yield_now().await;
            }
        }
        let start = Instant::now();
        let mut last = String::new();
        let mut stable = 0;
        loop {
            let idle = svc.job().wait_idle(Duration::from_millis(100)).await;
            let d = tokio::task::block_in_place(|| diff_cache_vs_scan(&m, &w.projects, &collections));
            // Equal twice in a row with the job idle in between: settled, not passing by.
            if idle && d.is_empty() {
                stable += 1;
                if stable >= 2 {
                    break;
                }
            } else {
                stable = 0;
            }
            last = d;
            if start.elapsed() > SETTLE_DEADLINE {
                let status = svc.watcher().status();
                svc.stop().await;
                return Err(format!(
                    "the cache did not match the disk within {SETTLE_DEADLINE:?}:\n{last}\nwatcher: {:?}",
                    status
                ));
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
        let _ = last;
        svc.stop().await;
        Ok(())
    })
}

#[cfg(unix)]
proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, max_shrink_iters: 16, ..ProptestConfig::default() })]

    #[test]
    fn model_under_the_watcher_the_cache_settles_to_a_fresh_scan(
        n in 2usize..=3,
        ops in prop::collection::vec(op(3, false), 1..12),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let r = run_with_watcher(&rt, n, &ops);
        rt.shutdown_timeout(Duration::from_secs(5));
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Readers: never a panic, never a hang
// ---------------------------------------------------------------------------------------------

/// Lines that look like frontmatter, with YAML's sharp edges (anchors, aliases, flow
/// collections, block scalars, tags, quotes, tabs, CR).
fn yamlish_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_-]{1,8}: [ -~]{0,30}",
        1 => "[a-z]{1,6}:",
        2 => "[ \t]{1,4}[ -~]{0,20}",
        1 => "[ ]{0,4}- [ -~]{0,10}",
        2 => "[&*!|>\\[\\]{}:#'\", -]{0,16}",
        1 => "[a-z]{1,3}: &[a-z]{1,2} \\[[a-z*, ]{0,12}\\]",
        1 => Just("---".to_string()),
        1 => Just("...".to_string()),
        1 => "\\PC{0,20}",
        1 => "[a-z]{1,5}: \"[^\"]{0,10}",
    ]
}

fn frontmatter_text() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(yamlish_line(), 0..24),
        any::<bool>(),
        "\\PC{0,40}",
    )
        .prop_map(|(bom, crlf, lines, close, body)| {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str("---");
            s.push_str(nl);
            for l in lines {
                s.push_str(&l);
                s.push_str(nl);
            }
            if close {
                s.push_str("---");
                s.push_str(nl);
            }
            s.push_str(&body);
            s
        })
}

fn check_frontmatter(text: String) -> Result<(), TestCaseError> {
    let input = text.clone();
    // Parsed (and its accessors used) on a thread of bounded time; what it found comes back.
    let (state, no_fields, body) = bounded("frontmatter::parse", move || {
        let fm = frontmatter::parse(&text);
        // The accessors the scanner uses never panic either.
        let _ = (fm.text("name"), fm.list("tags"), fm.first_body_line());
        (fm.state, fm.fields.is_empty(), fm.body.to_string())
    });
    let stripped = input.strip_prefix('\u{feff}').unwrap_or(&input);
    if state == FrontmatterState::None {
        prop_assert!(no_fields);
        prop_assert_eq!(body.as_str(), stripped);
    } else {
        prop_assert!(stripped.starts_with("---"));
    }
    Ok(())
}

/// Arbitrary JSON values with the keys the scanner looks for.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("hooks".to_string()),
        Just("mcpServers".to_string()),
        Just("PreToolUse".to_string()),
        Just("matcher".to_string()),
        Just("command".to_string()),
        Just("type".to_string()),
        Just("url".to_string()),
        Just("args".to_string()),
        Just("env".to_string()),
        Just("timeout".to_string()),
        "\\PC{0,6}",
    ];
    leaf.prop_recursive(5, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// TOML-shaped text for SkillMeat's record and collection files.
fn toml_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("artifact_name"),
        Just("artifact_type"),
        Just("artifact_path"),
        Just("content_hash"),
        Just("collection_sha"),
        Just("from_collection"),
        Just("deployed_at"),
        Just("name"),
        Just("type"),
        Just("resolved_version"),
        Just("version"),
        Just("description"),
    ];
    let value = prop_oneof![
        "\"[ -!#-~]{0,16}\"",
        Just("\"../../etc/passwd\"".to_string()),
        Just("\"/abs/path\"".to_string()),
        Just("\"skills/x\"".to_string()),
        Just("\"skill\"".to_string()),
        Just("\"hook\"".to_string()),
        "-?[0-9]{1,5}",
        Just("true".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("[1, \"a\", [2]]".to_string()),
        Just("{ version = \"1.0\" }".to_string()),
    ];
    let header = prop_oneof![
        Just("[[deployed]]"),
        Just("[project]"),
        Just("[lock]"),
        Just("[lock.entries.\"x::skill\"]"),
        Just("[lock.entries.odd]"),
        Just("[[artifacts]]"),
        Just("[artifacts.metadata]"),
        Just("[collection]"),
        Just("deployed = 3"),
        Just("[[artifacts]"),
    ];
    prop::collection::vec(
        prop_oneof![
            1 => header.prop_map(String::from),
            3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            1 => "[ -~]{0,20}",
        ],
        0..24,
    )
    .prop_map(|lines| lines.join("\n"))
}

fn check_records(deployed: Vec<u8>, project: Vec<u8>) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().to_path_buf();
    let claude = root.join(".claude");
    fs::create_dir_all(claude.join("skills/x")).unwrap();
    fs::write(claude.join("skills/x/SKILL.md"), "---\nname: x\n---\n").unwrap();
    fs::write(claude.join(records::DEPLOYED_FILE), &deployed).unwrap();
    fs::write(claude.join(records::PROJECT_FILE), &project).unwrap();
    let (recs, snap) = bounded("records::read_profile + scan", move || {
        let mut r = Records::default();
        records::read_profile(&claude, ".claude", &mut r);
        let snap = scan_project(&root, &PrevIndex::default(), &Collection::default());
        (r, snap)
    });
    for r in &recs.deployed {
        prop_assert!(!r.name.is_empty());
        prop_assert_eq!(r.profile_root.as_str(), ".claude");
    }
    prop_assert!(snap.missing.is_none(), "{:?}", snap.missing);
    prop_assert!(snap.artifacts.iter().any(|a| a.path == ".claude/skills/x"));
    Ok(())
}

fn check_json(settings: Vec<u8>, mcp: Vec<u8>) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().to_path_buf();
    fs::create_dir_all(root.join(".claude")).unwrap();
    fs::write(root.join(".claude/settings.json"), &settings).unwrap();
    fs::write(root.join(".claude/settings.local.json"), &settings).unwrap();
    fs::write(root.join(".mcp.json"), &mcp).unwrap();
    let snap = bounded("scan of settings.json / .mcp.json", move || {
        scan_project(&root, &PrevIndex::default(), &Collection::default())
    });
    prop_assert!(snap.missing.is_none());
    for a in &snap.artifacts {
        prop_assert!(
            a.path.starts_with(".claude/settings.json#")
                || a.path.starts_with(".claude/settings.local.json#")
                || a.path.starts_with(".mcp.json#"),
            "unexpected artifact {}",
            a.path
        );
        prop_assert_eq!(a.content_hash.len(), 64);
    }
    Ok(())
}

fn check_collection(manifest: Vec<u8>, lock: Vec<u8>) -> Result<(), TestCaseError> {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("default");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("collection.toml"), &manifest).unwrap();
    fs::write(dir.join("collection.lock"), &lock).unwrap();
    let base = d.path().to_path_buf();
    let c = bounded("Collection::load", move || {
        let c = Collection::load(&base);
        let _ = c.get("x", "skill", Some("default"));
        c
    });
    prop_assert!(!c.stamp.is_empty());
    // The stamp is what a reload decides on: equal while nothing changed, different once a
    // file changed size.
    prop_assert_eq!(&Collection::stamp_of(d.path()), &c.stamp);
    let mut longer = lock.clone();
    longer.push(b'\n');
    fs::write(dir.join("collection.lock"), &longer).unwrap();
    prop_assert_ne!(&Collection::stamp_of(d.path()), &c.stamp);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn frontmatter_never_panics_or_hangs_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        check_frontmatter(String::from_utf8_lossy(&bytes).into_owned())?;
    }

    #[test]
    fn frontmatter_never_panics_or_hangs_on_dash_blocks(text in frontmatter_text()) {
        check_frontmatter(text)?;
    }

    #[test]
    fn records_never_panic_or_hang_on_arbitrary_bytes(
        a in prop::collection::vec(any::<u8>(), 0..2048),
        b in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        check_records(a, b)?;
    }

    #[test]
    fn records_never_panic_or_hang_on_toml_shaped_text(a in toml_text(), b in toml_text()) {
        check_records(a.into_bytes(), b.into_bytes())?;
    }

    #[test]
    fn settings_and_mcp_json_never_panic_or_hang_on_arbitrary_bytes(
        a in prop::collection::vec(any::<u8>(), 0..2048),
        b in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        check_json(a, b)?;
    }

    #[test]
    fn settings_and_mcp_json_never_panic_or_hang_on_json_shaped_values(
        a in json_value(),
        b in json_value(),
        wrap in any::<bool>(),
    ) {
        let (a, b) = if wrap {
            (serde_json::json!({"hooks": a}), serde_json::json!({"mcpServers": b}))
        } else {
            (a, b)
        };
        check_json(a.to_string().into_bytes(), b.to_string().into_bytes())?;
    }

    #[test]
    fn collection_never_panics_or_hangs_on_arbitrary_bytes(
        a in prop::collection::vec(any::<u8>(), 0..2048),
        b in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        check_collection(a, b)?;
    }

    #[test]
    fn collection_never_panics_or_hangs_on_toml_shaped_text(a in toml_text(), b in toml_text()) {
        check_collection(a.into_bytes(), b.into_bytes())?;
    }

    #[test]
    fn version_comparison_is_antisymmetric_and_reflexive(
        a in "\\PC{0,16}",
        b in "[vV]?[0-9.]{0,8}[-+a-z0-9.]{0,6}",
    ) {
        let ab = compare_versions(&a, &b);
        let ba = compare_versions(&b, &a);
        prop_assert_eq!(ab.map(|o| o.reverse()), ba, "{} vs {}", a, b);
        if let Some(bb) = compare_versions(&b, &b) {
            prop_assert_eq!(bb, std::cmp::Ordering::Equal);
        }
        // A `v` prefix never changes the answer.
        prop_assert_eq!(compare_versions(&format!("v{b}"), &a), ba);
    }

    #[test]
    fn version_comparison_orders_like_the_numbers(
        x in (0u64..50, 0u64..50, 0u64..50),
        y in (0u64..50, 0u64..50, 0u64..50),
    ) {
        let (sx, sy) = (format!("{}.{}.{}", x.0, x.1, x.2), format!("v{}.{}.{}", y.0, y.1, y.2));
        prop_assert_eq!(compare_versions(&sx, &sy), Some(x.cmp(&y)));
    }
}

// ---------------------------------------------------------------------------------------------
// Readers: inputs known to break parsers (each under the same bound)
// ---------------------------------------------------------------------------------------------

/// A YAML "billion laughs": nine levels of ten aliases each (10^9 nodes if expanded), well
/// inside the 64 KiB head the scanner reads.
fn billion_laughs() -> String {
    let mut s = String::from(
        "---\nname: lol\na0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(",");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s.push_str("---\nbody\n");
    s
}

#[test]
fn frontmatter_alias_bomb_is_bounded_and_keeps_the_name() {
    let text = billion_laughs();
    assert!(text.len() < 2048);
    let t0 = Instant::now();
    let name = bounded("billion laughs", move || {
        frontmatter::parse(&text).text("name")
    });
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(name.as_deref(), Some("lol"));
}

#[test]
fn frontmatter_deep_nesting_is_bounded() {
    // Block sequences nested 30,000 deep on one line, flow collections 250 deep, a mapping
    // nested by indentation: none may overflow a 2 MiB stack.
    let cases = [
        format!("---\nname: deep\nx:\n  {}1\n---\n", "- ".repeat(30_000)),
        format!(
            "---\nname: deep\nx: {}\n---\n",
            "[".repeat(250) + &"]".repeat(250)
        ),
        format!(
            "---\nname: deep\nx: {}\n---\n",
            "{a: ".repeat(250) + &"}".repeat(250)
        ),
        {
            let mut s = String::from("---\nname: deep\n");
            for i in 0..300 {
                s.push_str(&" ".repeat(i));
                s.push_str("k:\n");
            }
            s.push_str("---\n");
            s
        },
    ];
    for (i, text) in cases.into_iter().enumerate() {
        let t0 = Instant::now();
        let name = bounded("deeply nested YAML", move || {
            frontmatter::parse(&text).text("name")
        });
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "case {i}: {:?}",
            t0.elapsed()
        );
        assert_eq!(name.as_deref(), Some("deep"), "case {i}");
    }
}

#[test]
fn toml_and_json_deep_nesting_is_bounded() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().to_path_buf();
    let claude = root.join(".claude");
    fs::create_dir_all(&claude).unwrap();
    let deep_toml = format!("x = {}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    let deep_inline = format!("x = {}1{}\n", "{a = ".repeat(5_000), "}".repeat(5_000));
    let deep_json = format!(
        "{{\"hooks\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    for (i, t) in [&deep_toml, &deep_inline].into_iter().enumerate() {
        fs::write(claude.join(records::DEPLOYED_FILE), t).unwrap();
        fs::write(claude.join(records::PROJECT_FILE), t).unwrap();
        let col = root.join("collections/default");
        fs::create_dir_all(&col).unwrap();
        fs::write(col.join("collection.toml"), t).unwrap();
        fs::write(col.join("collection.lock"), t).unwrap();
        fs::write(claude.join("settings.json"), &deep_json).unwrap();
        fs::write(root.join(".mcp.json"), &deep_json).unwrap();
        let r = root.clone();
        let snap = bounded("deeply nested TOML and JSON", move || {
            let c = Collection::load(&r.join("collections"));
            scan_project(&r, &PrevIndex::default(), &c)
        });
        assert!(snap.missing.is_none(), "case {i}");
        assert!(
            snap.notes.iter().any(|n| n.contains("settings.json")),
            "case {i}: {:?}",
            snap.notes
        );
    }
}
