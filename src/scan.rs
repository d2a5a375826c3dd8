//! Scanning: one project directory → a snapshot of its artifacts. Pure: reads files, writes
//! nothing. A source (a file, or a skill directory) whose (mtime, size) stamp equals the last
//! scan's is not re-read: its previous artifacts are reused.

mod managed;
mod memory;
mod plugins;

pub use memory::{imports_of, resolve_import};

use crate::claude::context::ScanContext;
use crate::claude::mcp::McpEntry;
use crate::collection::{Collection, compare_versions};
use crate::config::PROFILE_ROOTS;
use crate::frontmatter::{self, Frontmatter};
use crate::fsutil::{FileId, file_id};
use crate::hash;
use crate::model::{ArtifactKind, FrontmatterState, NotLoaded, Scope, VersionCmp};
use crate::records::{self, DeployRecord, Records};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Most files hashed inside one skill directory.
pub const MAX_FILES_PER_SKILL: usize = 20_000;
/// Most artifacts of one kind kept per profile root (a runaway tree is cut, with a note).
pub const MAX_ENTRIES_PER_FOLDER: usize = 50_000;
/// Deepest nesting searched below `skills/`, `agents/`, `commands/`.
pub const MAX_NESTING: usize = 8;
/// Longest name, version, tag or alias kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most tags (and aliases) kept per artifact.
pub const MAX_TAGS: usize = 64;

/// One artifact as scanned, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedArtifact {
    /// Kind.
    pub kind: ArtifactKind,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Path relative to the project (hooks and MCP servers with a `#` anchor).
    pub path: String,
    /// SkillMeat content hash (hex).
    pub content_hash: String,
    /// Frontmatter state.
    pub frontmatter: FrontmatterState,
    /// Version from frontmatter.
    pub version: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Derived: changed since SkillMeat deployed it.
    pub local_modified: Option<bool>,
    /// Derived: the collection's copy differs from what was deployed.
    pub outdated: Option<bool>,
    /// Derived: the collection's version.
    pub upstream_version: Option<String>,
    /// Derived: semver comparison of deployed and collection versions.
    pub version_cmp: Option<VersionCmp>,
    /// Kind-specific details.
    pub extra: Value,
    /// The file or folder this came from, relative to the project.
    pub source: String,
    /// The source's (mtime, size) stamp when scanned.
    pub stamp: String,
    /// Scope (derived after the scan, see [`crate::loading`]; plugin items set it at scan).
    pub scope: Scope,
    /// The plugin providing it (`name@marketplace`).
    pub plugin: Option<String>,
    /// Whether Claude Code would load it (derived, see [`crate::loading`]).
    pub loaded: bool,
    /// Why not (derived).
    pub not_loaded: Option<NotLoaded>,
    /// Estimated tokens it adds to a session's startup context (derived, see
    /// [`crate::cost`]); not part of the fingerprint (a derived figure, not a modification).
    pub tokens: u32,
}

impl ScannedArtifact {
    /// A fingerprint of every stored field: equal fingerprints mean "not modified".
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        let opt = |o: &Option<String>| {
            o.as_deref()
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_else(|| vec![0xff])
        };
        let flag = |b: Option<bool>| {
            [match b {
                None => 2u8,
                Some(true) => 1,
                Some(false) => 0,
            }]
        };
        field(self.kind.as_str().as_bytes());
        field(self.name.as_bytes());
        field(self.description.as_bytes());
        field(self.path.as_bytes());
        field(self.content_hash.as_bytes());
        field(self.frontmatter.as_str().as_bytes());
        field(&opt(&self.version));
        field(self.tags.join("\u{1f}").as_bytes());
        field(self.aliases.join("\u{1f}").as_bytes());
        field(&flag(self.local_modified));
        field(&flag(self.outdated));
        field(&opt(&self.upstream_version));
        field(
            self.version_cmp
                .map(|v| v.as_str())
                .unwrap_or("")
                .as_bytes(),
        );
        field(self.extra.to_string().as_bytes());
        field(self.scope.as_str().as_bytes());
        field(&opt(&self.plugin));
        field(&[u8::from(self.loaded)]);
        field(self.not_loaded.map(|n| n.as_str()).unwrap_or("").as_bytes());
        hex::encode(&h.finalize()[..16])
    }
}

/// What the last scan saw per source, so unchanged sources are not re-read.
#[derive(Debug, Default, Clone)]
pub struct PrevIndex {
    by_source: HashMap<String, (String, Vec<ScannedArtifact>)>,
}

impl PrevIndex {
    /// Builds the index from previously stored artifacts.
    pub fn from_artifacts(arts: impl IntoIterator<Item = ScannedArtifact>) -> Self {
        let mut by_source: HashMap<String, (String, Vec<ScannedArtifact>)> = HashMap::new();
        for a in arts {
            by_source
                .entry(a.source.clone())
                .or_insert_with(|| (a.stamp.clone(), Vec::new()))
                .1
                .push(a);
        }
        PrevIndex { by_source }
    }

    /// True when there is nothing to reuse (a project scanned for the first time, or again
    /// after a clear).
    fn is_empty(&self) -> bool {
        self.by_source.is_empty()
    }

    fn reuse(&self, source: &str, stamp: &str) -> Option<Vec<ScannedArtifact>> {
        let (s, arts) = self.by_source.get(source)?;
        (s == stamp).then(|| arts.clone())
    }
}

/// A project as the scanner found it.
#[derive(Debug, Clone, Default)]
pub struct ProjectSnapshot {
    /// `None` when the project is there; otherwise why it is missing.
    pub missing: Option<String>,
    /// Name from `.skillmeat-project.toml`.
    pub name: Option<String>,
    /// Description from `.skillmeat-project.toml`.
    pub description: Option<String>,
    /// Profile roots present.
    pub profiles: Vec<String>,
    /// `present`, `dangling` or `absent`.
    pub claude_md: String,
    /// Problems found (never fatal).
    pub notes: Vec<String>,
    /// The artifacts, sorted by (kind, path).
    pub artifacts: Vec<ScannedArtifact>,
    /// Sources re-read (not reused from the previous scan).
    pub sources_read: usize,
}

/// Bumped when the scanner's output for the same files changes, so tree stamps from an older
/// build never let a project skip a rescan.
const SCANNER_VERSION: &str = "3";

/// Scans `project`. Never fails: unreadable parts become notes; a vanished folder is `missing`.
/// Without a context: no user scope, no `~/.claude.json` entry.
pub fn scan_project(project: &Path, prev: &PrevIndex, collection: &Collection) -> ProjectSnapshot {
    scan_project_in(project, prev, collection, &ScanContext::default())
}

/// Scans `project` in `ctx`: what the user scope and `~/.claude.json` add and decide.
pub fn scan_project_in(
    project: &Path,
    prev: &PrevIndex,
    collection: &Collection,
    ctx: &ScanContext,
) -> ProjectSnapshot {
    scan_inner(project, prev, collection, Walk::Scan, ctx).0
}

/// A fingerprint of everything a scan of `project` would read: every source's path and
/// (mtime, size) stamp, SkillMeat's record files, CLAUDE.md, the profile roots and the
/// collection. Only stats, no reads. Equal tree stamps mean a rescan would find nothing new.
/// `None` when the project is missing.
pub fn tree_stamp(project: &Path, collection: &Collection) -> Option<String> {
    tree_stamp_in(project, collection, &ScanContext::default())
}

/// [`tree_stamp`] in `ctx`: the context's digest is part of the stamp.
pub fn tree_stamp_in(project: &Path, collection: &Collection, ctx: &ScanContext) -> Option<String> {
    let (snap, walked) = scan_inner(
        project,
        &PrevIndex::default(),
        collection,
        Walk::StampOnly,
        ctx,
    );
    let walked = walked?;
    stamp_of(&snap, walked, collection, ctx)
}

/// [`scan_project_in`] and [`tree_stamp_in`] from one walk: the snapshot, and the tree stamp a
/// stamp-only walk of the same files would give (`None` when the project is missing). Each
/// source's stamp is its metadata read before its content, so a file changed during the scan
/// gives the next walk a different stamp: the project is never wrongly taken as unchanged.
pub fn scan_and_stamp_in(
    project: &Path,
    prev: &PrevIndex,
    collection: &Collection,
    ctx: &ScanContext,
) -> (ProjectSnapshot, Option<String>) {
    let (snap, walked) = scan_inner(project, prev, collection, Walk::ScanAndStamp, ctx);
    let stamp = walked.and_then(|w| stamp_of(&snap, w, collection, ctx));
    (snap, stamp)
}

/// The tree stamp from what a walk saw: every source's stamp, SkillMeat's record files of
/// each profile root, CLAUDE.md, the collection, the context, and the walk's own notes.
fn stamp_of(
    snap: &ProjectSnapshot,
    walked: Walked,
    collection: &Collection,
    ctx: &ScanContext,
) -> Option<String> {
    if snap.missing.is_some() {
        return None;
    }
    let Walked {
        mut stamps,
        notes: walk_notes,
        records: record_stamps,
    } = walked;
    stamps.sort();
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(SCANNER_VERSION);
    for (s, st) in &stamps {
        h.update(s.as_bytes());
        h.update([0]);
        h.update(st.as_bytes());
        h.update([0]);
    }
    for r in &record_stamps {
        h.update(r.as_bytes());
    }
    h.update(format!(
        "md:{};col:{};ctx:{};",
        snap.claude_md,
        collection.stamp,
        ctx.digest()
    ));
    // What the walk itself noticed (too deep, too many, loops, unreadable folders) is part of
    // what a scan would report.
    for n in &walk_notes {
        h.update(n.as_bytes());
        h.update([0]);
    }
    Some(hex::encode(&h.finalize()[..16]))
}

/// What a scan does besides (or instead of) reading sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Reads and parses the sources; collects no stamps.
    Scan,
    /// Collects every source's stamp and reads nothing.
    StampOnly,
    /// Reads and parses the sources and collects their stamps.
    ScanAndStamp,
}

/// What a stamping walk collected: every source's (path, stamp), the notes the walk itself
/// made (the ones a stamp-only walk makes too; notes about content are not in it), and the
/// stamps of SkillMeat's record files of each profile root, in order.
#[derive(Debug, Default)]
struct Walked {
    stamps: Vec<(String, String)>,
    notes: Vec<String>,
    records: Vec<String>,
}

fn scan_inner(
    project: &Path,
    prev: &PrevIndex,
    collection: &Collection,
    walk: Walk,
    ctx: &ScanContext,
) -> (ProjectSnapshot, Option<Walked>) {
    let stamp_mode = walk == Walk::StampOnly;
    let walked = (walk != Walk::Scan).then(Walked::default);
    let mut snap = ProjectSnapshot {
        claude_md: "absent".into(),
        ..Default::default()
    };
    match std::fs::metadata(project) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            snap.missing = Some("not a directory".into());
            return (snap, walked);
        }
        Err(e) => {
            snap.missing = Some(format!("folder not found ({e})"));
            return (snap, walked);
        }
    }
    let mut sc = Scanner {
        project,
        prev,
        snap: &mut snap,
        stamp_mode,
        walked,
    };
    let mut recs = Records::default();
    for profile in PROFILE_ROOTS {
        let dir = project.join(profile);
        if !dir.is_dir() {
            continue;
        }
        sc.snap.profiles.push(profile.to_string());
        sc.scan_skills(&dir);
        sc.scan_md_kind(&dir, "agents", ArtifactKind::Agent);
        sc.scan_md_kind(&dir, "commands", ArtifactKind::Command);
        if *profile == ".claude" {
            for f in ["settings.json", "settings.local.json"] {
                sc.scan_hooks(&dir.join(f), &format!(".claude/{f}"));
            }
            sc.scan_md_docs(&dir, ArtifactKind::Rule);
            sc.scan_md_docs(&dir, ArtifactKind::OutputStyle);
        }
        // SkillMeat's record files: stamped before they are read (a file rewritten meanwhile
        // gives the next walk a different stamp).
        if let Some(w) = sc.walked.as_mut() {
            for f in [records::DEPLOYED_FILE, records::PROJECT_FILE] {
                let stamp = std::fs::metadata(dir.join(f))
                    .map(|m| hash::file_stamp(&m))
                    .unwrap_or_default();
                w.records.push(format!("{profile}/{f}:{stamp};"));
            }
        }
        if !stamp_mode {
            records::read_profile(&dir, profile, &mut recs);
        }
    }
    if !sc.snap.profiles.iter().any(|p| p == ".claude")
        && recs.deployed.is_empty()
        && !has_record(project)
        && !has_other_config(project, ctx)
    {
        sc.snap.missing = Some("no .claude folder any more".into());
        sc.snap.artifacts.clear();
        let walked = sc.walked.take();
        return (snap, walked);
    }
    if !ctx.user_scope {
        // `~/.mcp.json` is not a file Claude Code reads for the user scope.
        sc.scan_mcp(&project.join(".mcp.json"));
    }
    sc.scan_memory(ctx);
    // What a stamp-only walk sees ends here: the rest is read in a full scan only.
    let walked = sc.walked.take();
    if !stamp_mode {
        let servers = if ctx.user_scope {
            &ctx.user_mcp[..]
        } else {
            ctx.local
                .as_ref()
                .map(|l| &l.mcp_servers[..])
                .unwrap_or(&[])
        };
        for e in servers {
            sc.snap.artifacts.push(claude_json_server(e));
        }
        if !ctx.user_scope {
            // A user server that a project or local server of the same name shadows here.
            let names: HashSet<String> = sc
                .snap
                .artifacts
                .iter()
                .filter(|a| a.kind == ArtifactKind::McpServer)
                .map(|a| a.name.clone())
                .collect();
            for e in ctx.user_mcp.iter().filter(|e| names.contains(&e.name)) {
                let mut a = claude_json_server(e);
                a.path = format!("{}{}", crate::loading::USER_SERVER_PREFIX, e.name);
                a.scope = Scope::User;
                sc.snap.artifacts.push(a);
            }
        }
        sc.scan_plugins(ctx);
        if ctx.user_scope {
            sc.scan_managed(ctx);
        }
    }
    snap.claude_md = match std::fs::symlink_metadata(project.join("CLAUDE.md")) {
        Err(_) => "absent".into(),
        Ok(_) if std::fs::metadata(project.join("CLAUDE.md")).is_ok() => "present".into(),
        Ok(_) => "dangling".into(),
    };
    if stamp_mode {
        return (snap, walked);
    }
    snap.name = recs.project_name.take();
    snap.description = recs.project_description.take();
    crate::notes::append(&mut snap.notes, &mut recs.notes);
    derive_flags(project, &mut snap, &recs.deployed, collection);
    snap.artifacts
        .sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    snap.artifacts
        .dedup_by(|a, b| a.kind == b.kind && a.path == b.path);
    crate::loading::resolve(project, &mut snap, ctx);
    crate::cost::annotate(project, &mut snap, ctx);
    (snap, walked)
}

/// True when the folder has Claude Code configuration other than a `.claude/` folder:
/// `CLAUDE.md`, `CLAUDE.local.md`, `.mcp.json`, or local-scope MCP servers.
pub fn has_other_config(project: &Path, ctx: &ScanContext) -> bool {
    ctx.local
        .as_ref()
        .is_some_and(|l| !l.mcp_servers.is_empty())
        || ["CLAUDE.md", "CLAUDE.local.md", ".mcp.json"]
            .iter()
            .any(|f| project.join(f).is_file())
}

/// An MCP server defined in `~/.claude.json` (local or user scope), secret-free.
fn claude_json_server(e: &McpEntry) -> ScannedArtifact {
    let extra = e.extra();
    let content_hash = hash::hash_bytes(extra.to_string().as_bytes());
    ScannedArtifact {
        kind: ArtifactKind::McpServer,
        name: e.name.clone(),
        description: frontmatter::truncate_chars(&e.description(), 500),
        path: format!("{}{}", crate::loading::CLAUDE_JSON_PREFIX, e.name),
        stamp: content_hash.clone(),
        content_hash,
        frontmatter: FrontmatterState::None,
        version: None,
        tags: Vec::new(),
        aliases: Vec::new(),
        local_modified: None,
        outdated: None,
        upstream_version: None,
        version_cmp: None,
        extra,
        source: "~/.claude.json".to_string(),
        scope: Scope::Local,
        plugin: None,
        loaded: true,
        not_loaded: None,
        tokens: 0,
    }
}

fn has_record(project: &Path) -> bool {
    PROFILE_ROOTS
        .iter()
        .any(|p| project.join(p).join(records::DEPLOYED_FILE).is_file())
}

/// Folders already walked below one kind's root (`skills/`, `agents/`, `commands/`), so a
/// symlinked folder is never walked twice (loops, duplicates). A real folder always wins over
/// a symlink to it, wherever each stands in the tree and whatever order the directory lists
/// them in: the real folders' identities are gathered (lazily, at the first symlinked folder
/// met) before any symlink is followed.
struct Visited {
    root: PathBuf,
    seen: HashSet<FileId>,
    real: Option<HashSet<FileId>>,
}

impl Visited {
    fn new(root: &Path) -> Visited {
        let mut seen = HashSet::new();
        if let Ok(m) = std::fs::metadata(root) {
            seen.insert(file_id(&m, root));
        }
        Visited {
            root: root.to_path_buf(),
            seen,
            real: None,
        }
    }

    /// True the first time a real folder (at `path`, with metadata `m`) is entered.
    fn enter_real(&mut self, m: &std::fs::Metadata, path: &Path) -> bool {
        self.seen.insert(file_id(m, path))
    }

    /// True when a symlinked folder (at `path`, with its target's metadata `m`) should be
    /// followed: not a real folder of this tree (that one is walked as itself) and not
    /// followed before.
    fn enter_link(&mut self, m: &std::fs::Metadata, path: &Path) -> bool {
        let id = file_id(m, path);
        let root = &self.root;
        let real = self.real.get_or_insert_with(|| real_folders(root));
        !real.contains(&id) && self.seen.insert(id)
    }
}

/// The identities of the real folders below `root` (symlinks not followed), as deep as the
/// scanner goes, at most [`MAX_ENTRIES_PER_FOLDER`] of them.
fn real_folders(root: &Path) -> HashSet<FileId> {
    let mut out = HashSet::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if depth > MAX_NESTING + 1 || out.len() >= MAX_ENTRIES_PER_FOLDER {
            continue;
        }
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in read.filter_map(|e| e.ok()) {
            if e.file_type().is_ok_and(|t| t.is_dir())
                && let Ok(m) = e.metadata()
            {
                let path = e.path();
                out.insert(file_id(&m, &path));
                stack.push((path, depth + 1));
            }
        }
    }
    out
}

struct Scanner<'a> {
    project: &'a Path,
    prev: &'a PrevIndex,
    snap: &'a mut ProjectSnapshot,
    /// Stamp-only mode: nothing is read.
    stamp_mode: bool,
    /// While the walk is stamped: every source's (path, stamp) and the walk's notes.
    walked: Option<Walked>,
}

impl Scanner<'_> {
    /// Records the source's stamp when the walk is stamped; true in stamp-only mode (the
    /// caller skips reading).
    fn stamp_only(&mut self, source: &str, stamp: &str) -> bool {
        if let Some(w) = self.walked.as_mut() {
            w.stamps.push((source.to_string(), stamp.to_string()));
        }
        self.stamp_mode
    }

    /// True when every source will be read whatever its stamp and its stamp is kept for the
    /// next scan (a project's full, stamped scan with nothing to reuse: scanned for the first
    /// time, or after a clear), so files may be stamped from their open descriptors when read
    /// instead of by a `stat` each beforehand. Decided per scan, not per source, so a rescan
    /// (which stats and reuses) pays nothing for it. Not for a plugin's components, read on
    /// every scan without stamps: a skill folder over the hash cap must be refused there from
    /// its listing, before anything is read (see [`hash::hash_and_stamp`]).
    fn stat_when_read(&self) -> bool {
        !self.stamp_mode && self.walked.is_some() && self.prev.is_empty()
    }
}

impl Scanner<'_> {
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.project)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// A note about the tree as walked (a stamp-only walk makes it too): also part of the
    /// tree stamp.
    fn note(&mut self, s: String) {
        if let Some(w) = self.walked.as_mut() {
            crate::notes::push(&mut w.notes, s.clone());
        }
        crate::notes::push(&mut self.snap.notes, s);
    }

    /// A note about a source's content, made only once it is read (never in stamp-only mode,
    /// so not part of the tree stamp: its source's stamp already is).
    fn read_note(&mut self, s: String) {
        crate::notes::push(&mut self.snap.notes, s);
    }

    /// Skills: any folder below `skills/` holding a SKILL.md, at any depth; the topmost wins.
    fn scan_skills(&mut self, profile_dir: &Path) {
        self.scan_skills_in(&profile_dir.join("skills"));
    }

    /// Skills below one `skills/` folder.
    fn scan_skills_in(&mut self, skills: &Path) {
        let skills = skills.to_path_buf();
        if !skills.is_dir() {
            return;
        }
        let mut found = 0;
        let mut seen = Visited::new(&skills);
        self.find_skill_dirs(&skills, 0, &mut found, &mut seen);
        if found >= MAX_ENTRIES_PER_FOLDER {
            let rel = self.rel(&skills);
            self.note(format!(
                "{rel}: {MAX_ENTRIES_PER_FOLDER} skills or more, the rest skipped"
            ));
        }
    }

    /// One skill folder found, with its listing: its stamp recorded, or its previous artifact
    /// reused, or the folder hashed and its `SKILL.md` parsed.
    fn add_skill(&mut self, dir: &Path, listing: std::io::Result<hash::Listing>) {
        let source = self.rel(dir);
        let mut listing = match listing {
            Ok(l) => l,
            Err(e) => {
                self.note(format!("{source}: unreadable skill folder: {e}"));
                return;
            }
        };
        for p in &listing.problems {
            self.note(format!("{source}: {p}"));
        }
        let stamped_first = listing.is_stamped();
        if stamped_first {
            if self.stamp_only(&source, &listing.stamp) {
                return;
            }
            if let Some(arts) = self.prev.reuse(&source, &listing.stamp) {
                self.snap.artifacts.extend(arts);
                return;
            }
        }
        self.snap.sources_read += 1;
        let noted = listing.problems.len();
        let hashed = hash::hash_and_stamp(&mut listing, &["SKILL.md"]);
        if !stamped_first {
            // Stamped while read (never in stamp-only mode, see `Scanner::stat_when_read`);
            // files it could not even stat left the listing, noted as a stat-first listing
            // notes them.
            for p in &listing.problems[noted..] {
                self.note(format!("{source}: {p}"));
            }
            self.stamp_only(&source, &listing.stamp);
        }
        let (content_hash, head) = match hashed {
            Ok(h) => h,
            Err(e) => {
                // Keep the skill (it is identifiable); its hash is unknown.
                self.read_note(format!(
                    "{source}: a file could not be read, hash unknown: {e}"
                ));
                (String::new(), None)
            }
        };
        let head = head.unwrap_or_else(|| read_head(&dir.join("SKILL.md")));
        let text = crate::frontmatter::lossy(&head);
        let fm = frontmatter::parse(&text);
        let dir_name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut art = artifact_from_frontmatter(
            ArtifactKind::Skill,
            &fm,
            dir_name,
            source.clone(),
            content_hash,
            &listing.stamp,
        );
        art.extra = json!({
            "files": listing.files.len(),
            "allowed_tools": fm.text("allowed-tools"),
        });
        // What the skill listing needs (see `crate::budget`), only when set.
        if fm.text("disable-model-invocation").as_deref() == Some("true") {
            art.extra["disable_model_invocation"] = json!(true);
        }
        if let Some(w) = fm.text("when_to_use") {
            art.extra["when_to_use_chars"] = json!(w.chars().count());
        }
        self.snap.artifacts.push(art);
    }

    /// Finds the skill folders below `dir` (topmost wins) and adds each as it is found
    /// ([`Scanner::add_skill`]), its listing made from the entries read here (a skill's folder
    /// is not read twice, and only one listing is held at a time). `found` counts them.
    fn find_skill_dirs(&mut self, dir: &Path, depth: usize, found: &mut usize, seen: &mut Visited) {
        if depth > MAX_NESTING {
            let rel = self.rel(dir);
            self.note(format!("{rel}: nested too deep, not searched for skills"));
            return;
        }
        if *found >= MAX_ENTRIES_PER_FOLDER {
            return;
        }
        let Ok(read) = std::fs::read_dir(dir) else {
            let rel = self.rel(dir);
            self.note(format!("{rel}: unreadable folder"));
            return;
        };
        let entries: Vec<std::io::Result<std::fs::DirEntry>> = read.collect();
        let mut subdirs = Vec::new();
        let mut is_skill = false;
        for entry in entries.iter().filter_map(|e| e.as_ref().ok()) {
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            if ft.is_dir() {
                if let Ok(m) = entry.metadata()
                    && seen.enter_real(&m, &path)
                {
                    subdirs.push(path);
                }
            } else if ft.is_symlink() {
                // Follow symlinked skill folders, but never the same folder twice (loops).
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        if seen.enter_link(&m, &path) {
                            subdirs.push(path);
                        } else {
                            let rel = self.rel(&path);
                            self.note(format!(
                                "{rel}: symlink to a folder already scanned (a loop or a duplicate), not followed"
                            ));
                        }
                    }
                    Ok(m)
                        if m.is_file()
                            && crate::fsutil::name_is(&entry.file_name(), "SKILL.md") =>
                    {
                        is_skill = true
                    }
                    Ok(m)
                        if crate::fsutil::name_is(&entry.file_name(), "SKILL.md")
                            && crate::fsutil::is_special(&m.file_type()) =>
                    {
                        let rel = self.rel(&path);
                        let what = crate::fsutil::describe_type(&m.file_type());
                        self.note(format!("{rel}: links to {what}, skipped"));
                    }
                    _ => {}
                }
            } else if ft.is_file() && crate::fsutil::name_is(&entry.file_name(), "SKILL.md") {
                is_skill = true;
            } else if crate::fsutil::name_is(&entry.file_name(), "SKILL.md")
                && crate::fsutil::is_special(&ft)
            {
                let rel = self.rel(&path);
                let what = crate::fsutil::describe_type(&ft);
                self.note(format!("{rel}: {what}, not a regular file: skipped"));
            }
        }
        if is_skill && depth > 0 {
            let stat = if self.stat_when_read() {
                hash::StatFiles::WhenRead
            } else {
                hash::StatFiles::Now
            };
            let listing = hash::list_entries_with(dir, entries, MAX_FILES_PER_SKILL, stat);
            *found += 1;
            self.add_skill(dir, listing);
            return;
        }
        drop(entries);
        subdirs.sort();
        for sub in subdirs {
            self.find_skill_dirs(&sub, depth + 1, found, seen);
        }
    }

    /// Collects `*.md` files below `dir` with their metadata, following symlinked folders
    /// (never the same one twice) down to [`MAX_NESTING`] levels.
    fn collect_md(
        &mut self,
        dir: &Path,
        depth: usize,
        out: &mut Vec<(PathBuf, Option<std::fs::Metadata>)>,
        seen: &mut Visited,
    ) {
        if depth > MAX_NESTING {
            let rel = self.rel(dir);
            self.note(format!("{rel}: nested too deep, not scanned"));
            return;
        }
        let Ok(read) = std::fs::read_dir(dir) else {
            let rel = self.rel(dir);
            self.note(format!("{rel}: unreadable folder"));
            return;
        };
        let mut entries: Vec<_> = read.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            let is_md = path
                .extension()
                .is_some_and(|e| crate::fsutil::name_is(e, "md"));
            if ft.is_dir() {
                if let Ok(m) = entry.metadata()
                    && seen.enter_real(&m, &path)
                {
                    self.collect_md(&path, depth + 1, out, seen);
                }
            } else if is_md && crate::fsutil::is_special(&ft) {
                let rel = self.rel(&path);
                let what = crate::fsutil::describe_type(&ft);
                self.note(format!("{rel}: {what}, not a regular file: skipped"));
            } else if ft.is_file() && is_md {
                if out.len() >= MAX_ENTRIES_PER_FOLDER {
                    let rel = self.rel(dir);
                    self.note(format!(
                        "{rel}: more than {MAX_ENTRIES_PER_FOLDER} files, the rest skipped"
                    ));
                    return;
                }
                if self.stat_when_read() {
                    out.push((path, None));
                } else if let Ok(m) = entry.metadata() {
                    out.push((path, Some(m)));
                }
            } else if ft.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => {
                        if seen.enter_link(&m, &path) {
                            self.collect_md(&path, depth + 1, out, seen);
                        } else {
                            let rel = self.rel(&path);
                            self.note(format!(
                                "{rel}: symlink to a folder already scanned (a loop or a duplicate), not followed"
                            ));
                        }
                    }
                    Ok(m) if m.is_file() && is_md => out.push((path, Some(m))),
                    Ok(m) if is_md && crate::fsutil::is_special(&m.file_type()) => {
                        let rel = self.rel(&path);
                        let what = crate::fsutil::describe_type(&m.file_type());
                        self.note(format!("{rel}: links to {what}, skipped"));
                    }
                    Ok(_) => {}
                    Err(_) => {
                        let rel = self.rel(&path);
                        self.note(format!("{rel}: dangling symlink"));
                    }
                }
            }
        }
    }

    /// Agents and commands: every `*.md` below `<profile>/<folder>/`, nested folders included.
    fn scan_md_kind(&mut self, profile_dir: &Path, folder: &str, kind: ArtifactKind) {
        let base = profile_dir.join(folder);
        if !base.is_dir() {
            return;
        }
        let mut files = Vec::new();
        let mut seen = Visited::new(&base);
        self.collect_md(&base, 0, &mut files, &mut seen);
        for (file, meta) in files {
            let source = self.rel(&file);
            let Some((stamp, content_hash, head)) =
                self.fresh_listed(&file, &source, meta.as_ref())
            else {
                continue;
            };
            let text = crate::frontmatter::lossy(&head);
            let fm = frontmatter::parse(&text);
            let rel_in_kind = file.strip_prefix(&base).unwrap_or(&file);
            let default_name = match kind {
                // commands/git/commit.md is /git:commit
                ArtifactKind::Command => rel_in_kind
                    .with_extension("")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect::<Vec<_>>()
                    .join(":"),
                _ => file
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default(),
            };
            let mut art = artifact_from_frontmatter(
                kind,
                &fm,
                default_name.clone(),
                source,
                content_hash,
                &stamp,
            );
            if kind == ArtifactKind::Command {
                // Claude Code names commands by path; frontmatter `name` is not used for them.
                art.name = default_name;
                if art.description.is_empty() {
                    art.description = fm.first_body_line().unwrap_or_default();
                }
                art.extra = json!({
                    "argument_hint": fm.text("argument-hint"),
                    "allowed_tools": fm.text("allowed-tools"),
                    "model": fm.text("model"),
                });
            } else {
                art.extra = json!({
                    "tools": fm.text("tools"),
                    "model": fm.text("model"),
                    "color": fm.text("color"),
                    "name_set": fm.text("name").is_some(),
                });
            }
            self.snap.artifacts.push(art);
        }
    }

    /// Hooks: `hooks.<Event>[].hooks[]` entries of a settings file, one artifact each.
    fn scan_hooks(&mut self, file: &Path, source: &str) {
        let Some((stamp, json)) = self.read_json(file, source) else {
            return;
        };
        let Some(json) = json else {
            return; // reused
        };
        let Some(hooks) = json.get("hooks") else {
            return;
        };
        let Some(events) = hooks.as_object() else {
            self.read_note(format!("{source}: 'hooks' is not an object"));
            return;
        };
        for (event, groups) in events {
            let Some(groups) = groups.as_array() else {
                self.read_note(format!("{source}: hooks.{event} is not a list"));
                continue;
            };
            for (gi, group) in groups.iter().enumerate() {
                let matcher = group.get("matcher").and_then(|m| m.as_str()).unwrap_or("");
                let Some(entries) = group.get("hooks").and_then(|h| h.as_array()) else {
                    self.read_note(format!("{source}: hooks.{event}[{gi}] has no 'hooks' list"));
                    continue;
                };
                for (hi, entry) in entries.iter().enumerate() {
                    let command = entry.get("command").and_then(|c| c.as_str()).unwrap_or("");
                    let htype = entry.get("type").and_then(|c| c.as_str()).unwrap_or("");
                    let target = hook_target(entry);
                    let name = if matcher.is_empty() {
                        event.clone()
                    } else {
                        format!("{event} [{matcher}]")
                    };
                    let canonical = json!({"event": event, "matcher": matcher, "hook": entry});
                    self.snap.artifacts.push(ScannedArtifact {
                        kind: ArtifactKind::Hook,
                        name,
                        description: frontmatter::truncate_chars(&target, 500),
                        path: format!("{source}#{event}[{gi}].hooks[{hi}]"),
                        content_hash: hash::hash_bytes(canonical.to_string().as_bytes()),
                        frontmatter: FrontmatterState::None,
                        version: None,
                        tags: Vec::new(),
                        aliases: Vec::new(),
                        local_modified: None,
                        outdated: None,
                        upstream_version: None,
                        version_cmp: None,
                        extra: json!({"event": event, "matcher": matcher, "type": htype, "command": command, "target": target, "timeout": entry.get("timeout")}),
                        source: source.to_string(),
                        stamp: stamp.clone(),
                        scope: Scope::Project,
                        plugin: None,
                        loaded: true,
                        not_loaded: None,
                        tokens: 0,
                    });
                }
            }
        }
    }

    /// MCP servers: each key of `mcpServers` in `<project>/.mcp.json`.
    fn scan_mcp(&mut self, file: &Path) {
        self.scan_mcp_file(file, ".mcp.json");
    }

    /// MCP servers of one JSON file with an `mcpServers` object (`source` is its name).
    fn scan_mcp_file(&mut self, file: &Path, source: &str) {
        let Some((stamp, json)) = self.read_json(file, source) else {
            return;
        };
        let Some(json) = json else {
            return; // reused
        };
        let Some(servers) = json.get("mcpServers") else {
            return;
        };
        let Some(servers) = servers.as_object() else {
            self.read_note(format!("{source}: 'mcpServers' is not an object"));
            return;
        };
        for (name, spec) in servers {
            let entry = McpEntry::from_spec(name, spec);
            let description = entry.description();
            self.snap.artifacts.push(ScannedArtifact {
                kind: ArtifactKind::McpServer,
                name: name.clone(),
                description: frontmatter::truncate_chars(&description, 500),
                path: format!("{source}#{name}"),
                content_hash: hash::hash_bytes(spec.to_string().as_bytes()),
                frontmatter: FrontmatterState::None,
                version: None,
                tags: Vec::new(),
                aliases: Vec::new(),
                local_modified: None,
                outdated: None,
                upstream_version: None,
                version_cmp: None,
                // Environment and header values may hold secrets: only their names are kept.
                extra: entry.extra(),
                source: source.to_string(),
                stamp: stamp.clone(),
                scope: Scope::Project,
                plugin: None,
                loaded: true,
                not_loaded: None,
                tokens: 0,
            });
        }
    }
}

impl Scanner<'_> {
    /// The step every single-file source starts with: in stamp-only mode the stamp is recorded;
    /// an unchanged source's previous artifacts are reused; otherwise the file is read and
    /// hashed. `Some((stamp, hash, head))` only when the caller has a fresh file to parse.
    pub(crate) fn fresh_file(
        &mut self,
        file: &Path,
        source: &str,
        meta: &std::fs::Metadata,
    ) -> Option<(String, String, Vec<u8>)> {
        let stamp = hash::file_stamp(meta);
        if self.stamp_only(source, &stamp) {
            return None;
        }
        if let Some(arts) = self.prev.reuse(source, &stamp) {
            self.snap.artifacts.extend(arts);
            return None;
        }
        self.snap.sources_read += 1;
        let (content_hash, head) = self.read_hashed(file, source)?;
        Some((stamp, content_hash, head))
    }

    /// [`Scanner::fresh_file`] for a file listed by its folder entry, its metadata read then
    /// (`Some`) or not ([`Scanner::stat_when_read`]: `None`). Such a file is opened first and
    /// stamped from its open descriptor, one system call less than a `stat` beforehand.
    pub(crate) fn fresh_listed(
        &mut self,
        file: &Path,
        source: &str,
        meta: Option<&std::fs::Metadata>,
    ) -> Option<(String, String, Vec<u8>)> {
        if let Some(meta) = meta {
            return self.fresh_file(file, source, meta);
        }
        let (opened, meta) = match crate::fsutil::open_regular_with_meta(file) {
            Ok((f, m)) => (Ok(f), m),
            // Stamped by path as a `stat` first would have; gone: skipped, as it would be.
            Err(e) => (Err(e), std::fs::metadata(file).ok()?),
        };
        let stamp = hash::file_stamp(&meta);
        self.stamp_only(source, &stamp);
        self.snap.sources_read += 1;
        let hashed = opened.and_then(|f| hash::hash_open_file(f, &meta));
        let (content_hash, head) = self.hashed_or_noted(hashed, source)?;
        Some((stamp, content_hash, head))
    }

    /// Hashes a single-file source and returns its head for parsing. `None` (with a note) when
    /// it cannot be read; a file over the hash cap is kept with an unknown (empty) hash.
    pub(crate) fn read_hashed(&mut self, file: &Path, source: &str) -> Option<(String, Vec<u8>)> {
        let hashed = hash::hash_file_with_head(file);
        self.hashed_or_noted(hashed, source)
    }

    /// A single-file source's hash and head, or a note why not: `None` when it could not be
    /// read; a file over the hash cap is kept with an unknown (empty) hash.
    fn hashed_or_noted(
        &mut self,
        hashed: std::io::Result<(Option<String>, Vec<u8>)>,
        source: &str,
    ) -> Option<(String, Vec<u8>)> {
        match hashed {
            Ok((Some(h), head)) => Some((h, head)),
            Ok((None, head)) => {
                self.read_note(format!(
                    "{source}: larger than {} MiB, not hashed",
                    hash::MAX_HASH_BYTES / (1024 * 1024)
                ));
                Some((String::new(), head))
            }
            Err(e) => {
                self.read_note(format!("{source}: could not be read: {e}"));
                None
            }
        }
    }

    /// Reads a JSON source. `None`: absent or broken (noted). `Some((stamp, None))`: unchanged,
    /// previous artifacts reused. `Some((stamp, Some(json)))`: parsed anew.
    #[allow(clippy::type_complexity)]
    fn read_json(&mut self, file: &Path, source: &str) -> Option<(String, Option<Value>)> {
        let meta = std::fs::metadata(file).ok()?;
        if !meta.is_file() {
            if crate::fsutil::is_special(&meta.file_type()) {
                let what = crate::fsutil::describe_type(&meta.file_type());
                self.note(format!("{source}: {what}, not a regular file: skipped"));
            }
            return None;
        }
        let stamp = hash::file_stamp(&meta);
        if self.stamp_only(source, &stamp) {
            return None;
        }
        if let Some(arts) = self.prev.reuse(source, &stamp) {
            self.snap.artifacts.extend(arts);
            return Some((stamp, None));
        }
        self.snap.sources_read += 1;
        if meta.len() > 16 * 1024 * 1024 {
            self.read_note(format!("{source}: larger than 16 MiB, not read"));
            return None;
        }
        let bytes = match crate::records::read_capped(file) {
            Ok(b) => b,
            Err(e) => {
                self.read_note(format!("{source}: could not be read: {e}"));
                return None;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        match serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
            Ok(v) => Some((stamp, Some(v))),
            Err(e) => {
                self.read_note(format!("{source}: not valid JSON ({e})"));
                None
            }
        }
    }
}

/// What a hook handler runs or calls, by its `type`: the command, the URL (without
/// credentials), the prompt, or the MCP tool (`server/tool`).
/// Source: code.claude.com/docs/en/hooks (handler types command, http, prompt, agent, mcp_tool).
fn hook_target(entry: &Value) -> String {
    let s = |k: &str| entry.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match s("type") {
        "http" => crate::claude::mcp::strip_url(s("url")),
        "prompt" | "agent" => s("prompt").to_string(),
        "mcp_tool" => {
            let server = s("server");
            let tool = s("tool");
            if server.is_empty() {
                tool.to_string()
            } else {
                format!("{server}/{tool}")
            }
        }
        _ => s("command").to_string(),
    }
}

/// The first [`hash::HEAD_BYTES`] bytes of a file, for its frontmatter (none when it cannot
/// be read).
fn read_head(file: &Path) -> Vec<u8> {
    crate::fsutil::open_regular(file)
        .and_then(|f| {
            use std::io::Read;
            let mut head = Vec::new();
            f.take(hash::HEAD_BYTES as u64).read_to_end(&mut head)?;
            Ok(head)
        })
        .unwrap_or_default()
}

fn artifact_from_frontmatter(
    kind: ArtifactKind,
    fm: &Frontmatter,
    default_name: String,
    source: String,
    content_hash: String,
    stamp: &str,
) -> ScannedArtifact {
    // Bounded like every other field read from a user's file: a hostile frontmatter cannot
    // make a row (and the search indexes) grow without limit.
    let list = |key: &str| -> Vec<String> {
        fm.list(key)
            .iter()
            .take(MAX_TAGS)
            .map(|t| frontmatter::truncate_chars(t, MAX_NAME_CHARS))
            .collect()
    };
    ScannedArtifact {
        kind,
        name: frontmatter::truncate_chars(&fm.text("name").unwrap_or(default_name), MAX_NAME_CHARS),
        description: fm
            .text("description")
            .map(|d| frontmatter::truncate_chars(&d, 4000))
            .unwrap_or_default(),
        path: source.clone(),
        content_hash,
        frontmatter: fm.state,
        version: fm
            .text("version")
            .map(|v| frontmatter::truncate_chars(&v, MAX_NAME_CHARS)),
        tags: list("tags"),
        aliases: list("aliases"),
        local_modified: None,
        outdated: None,
        upstream_version: None,
        version_cmp: None,
        extra: Value::Null,
        source,
        stamp: stamp.to_string(),
        scope: Scope::Project,
        plugin: None,
        loaded: true,
        not_loaded: None,
        tokens: 0,
    }
}

/// Sets `local_modified`, `outdated`, `upstream_version` and `version_cmp` from the project's
/// deployment records and the collection, and notes records that are stale or odd.
pub fn derive_flags(
    project: &Path,
    snap: &mut ProjectSnapshot,
    deployed: &[DeployRecord],
    collection: &Collection,
) {
    for a in &mut snap.artifacts {
        a.local_modified = None;
        a.outdated = None;
        a.upstream_version = None;
        a.version_cmp = None;
    }
    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut by_name: HashMap<(ArtifactKind, String), usize> = HashMap::new();
    for (i, a) in snap.artifacts.iter().enumerate() {
        by_path.insert(a.path.clone(), i);
        by_name.entry((a.kind, a.name.clone())).or_insert(i);
    }
    for r in deployed {
        let Some(kind) = records::known_type(&r.artifact_type) else {
            crate::notes::push(
                &mut snap.notes,
                format!(
                    "SkillMeat record '{}' has type '{}', which this cache does not track",
                    r.name, r.artifact_type
                ),
            );
            continue;
        };
        let idx = match &r.artifact_path {
            Some(p) if !records::safe_relative(p) => {
                crate::notes::push(
                    &mut snap.notes,
                    format!(
                        "SkillMeat record '{}' has an unsafe path '{p}', ignored",
                        r.name
                    ),
                );
                continue;
            }
            Some(p) => {
                let full = format!("{}/{}", r.profile_root, p.trim_end_matches('/'));
                by_path
                    .get(&full)
                    .copied()
                    .or_else(|| by_name.get(&(kind, r.name.clone())).copied())
            }
            None => by_name.get(&(kind, r.name.clone())).copied(),
        };
        let Some(i) = idx else {
            let where_ = r
                .artifact_path
                .as_deref()
                .map(|p| format!("{}/{p}", r.profile_root))
                .unwrap_or_else(|| "(no path)".into());
            let exists = r
                .artifact_path
                .as_deref()
                .map(|p| project.join(&r.profile_root).join(p).exists())
                .unwrap_or(false);
            crate::notes::push(
                &mut snap.notes,
                if exists {
                    format!(
                        "SkillMeat record '{}' ({}) points at {where_}, which is not a recognisable {}",
                        r.name, r.artifact_type, r.artifact_type
                    )
                } else {
                    format!(
                        "stale SkillMeat record '{}' ({}): {where_} is not on disk",
                        r.name, r.artifact_type
                    )
                },
            );
            continue;
        };
        let a = &mut snap.artifacts[i];
        if let Some(h) = r
            .content_hash
            .as_ref()
            .filter(|_| !a.content_hash.is_empty())
        {
            a.local_modified = Some(!a.content_hash.eq_ignore_ascii_case(h));
        }
        if let Some(entry) = collection.get(&r.name, &r.artifact_type, r.from_collection.as_deref())
        {
            if let (Some(up), Some(dep)) = (&entry.content_hash, &r.content_hash) {
                a.outdated = Some(!up.eq_ignore_ascii_case(dep));
            }
            a.upstream_version = entry.version.clone();
            if let (Some(mine), Some(theirs)) = (&a.version, &entry.version) {
                a.version_cmp = compare_versions(mine, theirs).map(|o| match o {
                    std::cmp::Ordering::Less => VersionCmp::CollectionNewer,
                    std::cmp::Ordering::Greater => VersionCmp::ProjectNewer,
                    std::cmp::Ordering::Equal => VersionCmp::Same,
                });
                if a.outdated.is_none() && a.version_cmp == Some(VersionCmp::CollectionNewer) {
                    a.outdated = Some(true);
                }
            }
        }
    }
}
