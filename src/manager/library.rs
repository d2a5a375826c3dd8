//! The library API of [`CacheManager`]: identities across projects, where each lives, the
//! diff of two variants, each project's context cost and the cross-project findings.

use super::{CacheManager, check_page};
use crate::error::{CacheError, Result};
use crate::library::{
    Finding, HEAVY_FACTOR, LibraryEntry, LibraryQuery, LibraryVariant, MAX_FINDINGS_PER_CODE,
    ProjectCost, WhereEntry,
};
use crate::model::{ArtifactKind, Page};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Default rows of a library page.
pub const DEFAULT_LIBRARY_LIMIT: u64 = 50;
/// Largest file [`CacheManager::variant_diff`] reads.
pub const MAX_DIFF_BYTES: u64 = 1 << 20;

/// A refresh run of at least this many projects rebuilds the library in one pass at its end
/// instead of keeping it row by row (the triggers cost more than one recount there).
pub const BULK_MIN_PROJECTS: usize = 50;
/// A pause older than this is repaired by the next read even while its run holds the run
/// lock (a run hung or suspended that long; a recount during a live run is only extra work:
/// its later writes then go through the triggers), and whatever the lock says where none can
/// be taken (a file system without locks).
pub const STALE_PAUSE_MS: i64 = 10 * 60 * 1000;

/// The run lock of the database at `db`: every large refresh run holds a shared lock on it
/// while the library's triggers are set aside, in whichever process it runs. The operating
/// system lets go of it when the process dies, so a pause whose lock is free was left behind
/// by an interrupted run (killed, crashed, Ctrl-C) and is repaired at once.
pub fn run_lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-run.lock");
    PathBuf::from(p)
}

/// A large refresh run's hold on the library ([`CacheManager::library_run_begin`]): whether
/// the triggers were set aside, and the shared run lock that says the run is alive.
#[derive(Debug)]
pub struct LibraryRun {
    paused: bool,
    /// Held until the run ends (dropped last, after the recount).
    _alive: Option<std::fs::File>,
}

/// Whether any run holds the run lock: `None` when the lock file cannot be opened or locked
/// here (then the pause's age decides).
fn run_alive(lock: &Path) -> Option<bool> {
    let file = crate::fsutil::open_lock_file(lock).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Some(false)
        }
        Err(std::fs::TryLockError::WouldBlock) => Some(true),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Whether a pause that began (or was last renewed) at `since` was left behind: no run holds
/// the run lock, or the pause is older than [`STALE_PAUSE_MS`]. Where the lock cannot be used,
/// `any_age` decides for a recent pause.
fn pause_left_behind(db: &Path, since: i64, any_age: bool) -> bool {
    let old = crate::store::now_ms().saturating_sub(since) > STALE_PAUSE_MS;
    match run_alive(&run_lock_path(db)) {
        Some(alive) => !alive || old,
        None => any_age || old,
    }
}

impl CacheManager {
    /// Before a refresh run of `projects` projects: sets the library's triggers aside when
    /// the run is large ([`BULK_MIN_PROJECTS`]), holding the run lock ([`run_lock_path`])
    /// meanwhile. Pass the result to [`CacheManager::library_run_end`].
    pub fn library_run_begin(&self, projects: usize) -> LibraryRun {
        if projects < BULK_MIN_PROJECTS || self.inner.store.is_read_only() {
            return LibraryRun {
                paused: false,
                _alive: None,
            };
        }
        // Locked before the pause: a reader never sees this run's pause with the lock free.
        let alive = crate::fsutil::open_lock_file(&run_lock_path(self.inner.store.path()))
            .ok()
            .filter(|f| f.lock_shared().is_ok());
        let paused = self
            .inner
            .store
            .library_pause(crate::store::now_ms())
            .is_ok();
        LibraryRun {
            paused,
            _alive: alive,
        }
    }

    /// After a run begun with [`CacheManager::library_run_begin`]: recounts the library when
    /// an artifact was written meanwhile (by this run or any other writer), else turns the
    /// triggers back on; then lets go of the run lock. Best effort: a failure leaves the
    /// pause, which the next library read repairs.
    pub fn library_run_end(&self, run: LibraryRun) {
        if !run.paused {
            return;
        }
        let r = self.inner.store.library_resume();
        if let Ok(true) = r {
            // The recount's pages are all in the WAL: fold them into the file now.
            let _ = self.inner.store.checkpoint();
        }
        if let Err(e) = r {
            tracing::warn!("library: could not finish the run's recount: {e}");
        }
        drop(run);
    }

    /// Recounts the library now if its triggers are set aside and were left behind (the
    /// service's start: no run holds the run lock; without a usable lock, whatever the
    /// pause's age, as no run of this process can be under way yet).
    pub fn library_recover(&self) -> Result<()> {
        if let Some(since) = self.inner.store.library_paused_since()?
            && !self.inner.store.is_read_only()
            && pause_left_behind(self.inner.store.path(), since, true)
        {
            self.inner.store.library_rebuild()?;
        }
        Ok(())
    }

    /// Rebuilds the library when a pause was left behind by an interrupted run: no run holds
    /// the run lock, or the pause is older than [`STALE_PAUSE_MS`] (without a usable lock,
    /// only the age counts).
    fn library_heal(&self) -> Result<()> {
        if let Some(since) = self.inner.store.library_paused_since()?
            && !self.inner.store.is_read_only()
            && pause_left_behind(self.inner.store.path(), since, false)
        {
            self.inner.store.library_rebuild()?;
        }
        Ok(())
    }

    /// One page of the library: every artifact identity (kind, plugin, name) across projects
    /// with its copies, variants, managed copies, cost, scopes and the collection's variant.
    pub fn library(&self, q: &LibraryQuery) -> Result<Page<LibraryEntry>> {
        check_page(q.skip, q.limit)?;
        self.library_heal()?;
        let mut page = self
            .inner
            .store
            .library_page(q, q.limit.unwrap_or(DEFAULT_LIBRARY_LIMIT))?;
        let collection = self.collection();
        for e in &mut page.items {
            if e.plugin.is_some() || crate::records::known_type(e.kind.as_str()).is_none() {
                continue;
            }
            if let Some(h) = collection
                .get(&e.name, e.kind.as_str(), None)
                .and_then(|c| c.content_hash.clone())
            {
                e.collection_copies =
                    Some(self.inner.store.variant_copies(e.kind, None, &e.name, &h)?);
                e.collection_hash = Some(h);
            }
        }
        self.count(true);
        Ok(page)
    }

    /// Every copy of the identities named `name` (case-insensitive; of kind `kind` if given),
    /// grouped by variant, most copies first; each copy with its project, scope, SkillMeat
    /// state and last change.
    pub fn where_is(&self, name: &str, kind: Option<ArtifactKind>) -> Result<Vec<WhereEntry>> {
        let name = name.trim();
        if name.is_empty() {
            return Err(CacheError::InvalidInput("no name given".into()));
        }
        let rows = self.inner.store.copies_named(name, kind)?;
        let collection = self.collection();
        type Key = (ArtifactKind, Option<String>, String);
        let mut groups: BTreeMap<Key, BTreeMap<String, Vec<crate::library::LibraryCopy>>> =
            BTreeMap::new();
        for r in rows {
            groups
                .entry((r.kind, r.plugin, r.name))
                .or_default()
                .entry(r.content_hash)
                .or_default()
                .push(r.copy);
        }
        let mut out = Vec::new();
        for ((kind, plugin, name), variants) in groups {
            let coll_hash = if plugin.is_none() {
                collection
                    .get(&name, kind.as_str(), None)
                    .and_then(|c| c.content_hash.clone())
            } else {
                None
            };
            let projects: HashSet<&str> = variants
                .values()
                .flatten()
                .map(|c| c.project_id.as_str())
                .collect();
            let projects = projects.len() as u64;
            let mut list: Vec<LibraryVariant> = variants
                .into_iter()
                .map(|(hash, mut copies)| {
                    copies.sort_by(|a, b| {
                        b.updated_at
                            .cmp(&a.updated_at)
                            .then_with(|| a.project_name.cmp(&b.project_name))
                    });
                    LibraryVariant {
                        in_collection: coll_hash
                            .as_deref()
                            .is_some_and(|h| h.eq_ignore_ascii_case(&hash)),
                        content_hash: hash,
                        newest: false,
                        updated_at: copies.first().map(|c| c.updated_at).unwrap_or(0),
                        copies,
                    }
                })
                .collect();
            if let Some(newest) = list.iter_mut().max_by_key(|v| v.updated_at) {
                newest.newest = true;
            }
            list.sort_by(|a, b| {
                b.copies
                    .len()
                    .cmp(&a.copies.len())
                    .then_with(|| b.updated_at.cmp(&a.updated_at))
            });
            out.push(WhereEntry {
                kind,
                plugin,
                name,
                projects,
                variants: list,
            });
        }
        self.count(true);
        Ok(out)
    }

    /// A unified diff of two copies' text (`aid_a` → `aid_b`), both read from disk now at the
    /// paths the cache holds (never stored). For a skill, its `SKILL.md`. Items that are not
    /// a file of their project (hooks, MCP servers, plugins, plugin components) are refused.
    pub fn variant_diff(&self, aid_a: i64, aid_b: i64) -> Result<String> {
        let (label_a, text_a) = self.copy_text(aid_a)?;
        let (label_b, text_b) = self.copy_text(aid_b)?;
        // Two large, wholly different texts make the line diff quadratic: past the deadline
        // similar returns a coarser (still correct) diff instead of running on.
        let diff = similar::TextDiff::configure()
            .timeout(std::time::Duration::from_secs(2))
            .diff_lines(&text_a, &text_b);
        Ok(diff
            .unified_diff()
            .context_radius(3)
            .header(&label_a, &label_b)
            .to_string())
    }

    fn copy_text(&self, aid: i64) -> Result<(String, String)> {
        let loc = self
            .inner
            .store
            .location(aid)?
            .ok_or_else(|| CacheError::not_found("artifact", aid.to_string()))?;
        if matches!(
            loc.kind,
            ArtifactKind::Hook | ArtifactKind::McpServer | ArtifactKind::Plugin
        ) || loc.path.contains('#')
            || loc.path.starts_with("plugin:")
            || loc.path.starts_with('~')
        {
            return Err(CacheError::InvalidInput(format!(
                "{} `{}` is not a file of its project; there is no text to compare",
                crate::model::kind_noun(loc.kind, 1),
                loc.name
            )));
        }
        let root = crate::fsutil::canonical(Path::new(&loc.project_path))
            .map_err(|e| CacheError::io(Path::new(&loc.project_path), e))?;
        let mut file: PathBuf = root.join(&loc.path);
        if file.is_dir() {
            file = file.join("SKILL.md");
        }
        let real = crate::fsutil::canonical(&file).map_err(|e| CacheError::io(&file, e))?;
        // The cache's path, not the caller's; still, never follow a link out of the project.
        if !real.starts_with(&root) {
            return Err(CacheError::InvalidInput(format!(
                "{} leads outside its project; not read",
                file.display()
            )));
        }
        // A regular file only (a FIFO put in its place would block the read), read up to the
        // cap on the open descriptor, so a file growing meanwhile is still bounded.
        let file = crate::fsutil::open_regular(&real).map_err(|e| CacheError::io(&real, e))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_DIFF_BYTES + 1),
            &mut bytes,
        )
        .map_err(|e| CacheError::io(&real, e))?;
        if bytes.len() as u64 > MAX_DIFF_BYTES {
            return Err(CacheError::InvalidInput(format!(
                "{} is larger than {} bytes; not compared",
                real.display(),
                MAX_DIFF_BYTES
            )));
        }
        let label = format!(
            "{}/{}",
            Path::new(&loc.project_path)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            loc.path
        );
        Ok((label, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// What a session started in the project named by `key` loads before the first prompt:
    /// the total and the items (its own and the user scope's), heaviest first.
    pub fn project_cost(&self, key: &str) -> Result<ProjectCost> {
        let (id, _) = self.resolve(key)?;
        let (project_name, items) = self.inner.store.cost_items(&id)?;
        let total_tokens = items.iter().map(|i| u64::from(i.tokens)).sum();
        let (path, user_scope, entries) = self.inner.store.listing_entries(&id)?;
        let rules =
            crate::budget::Rules::for_project(Path::new(&path), &self.config().home, user_scope);
        let verdict = crate::budget::judge(&entries, &[], &rules);
        self.count(true);
        Ok(ProjectCost {
            project_id: id,
            project_name,
            total_tokens,
            items,
            listing_chars: verdict.listing_chars as u64,
            listing_budget: verdict.budget_chars as u64,
        })
    }

    /// Cross-project findings: identities with several contents (`drift`), project copies
    /// that differ from the user-scope copy of the same name (`differs_from_user`), and
    /// projects whose startup context exceeds [`HEAVY_FACTOR`] × the median
    /// (`heavy_context`). At most [`MAX_FINDINGS_PER_CODE`] of each, the worst first.
    pub fn findings(&self) -> Result<Vec<Finding>> {
        self.library_heal()?;
        let mut out = Vec::new();
        let drifted = self.inner.store.library_page(
            &LibraryQuery {
                drifted_only: true,
                sort: crate::library::LibrarySort::Variants,
                ..Default::default()
            },
            MAX_FINDINGS_PER_CODE as u64,
        )?;
        for e in drifted.items {
            out.push(Finding {
                code: "drift".into(),
                kind: Some(e.kind),
                name: Some(e.name.clone()),
                plugin: e.plugin.clone(),
                project_id: None,
                project_name: None,
                detail: format!(
                    "{} `{}` has {} different contents over {} copies (see `where {}`)",
                    crate::model::kind_noun(e.kind, 1),
                    e.name,
                    e.variants,
                    e.copies,
                    e.name
                ),
            });
        }
        for d in self.inner.store.user_diffs(MAX_FINDINGS_PER_CODE as u64)? {
            let winner = if d.loaded {
                "Claude Code loads the project copy"
            } else {
                "Claude Code loads the user copy"
            };
            out.push(Finding {
                code: "differs_from_user".into(),
                kind: Some(d.kind),
                name: Some(d.name.clone()),
                plugin: None,
                project_id: Some(d.project_id),
                project_name: Some(d.project_name.clone()),
                detail: format!(
                    "{} `{}` in {} ({}) differs from the user-scope copy; {winner}",
                    crate::model::kind_noun(d.kind, 1),
                    d.name,
                    d.project_name,
                    d.path
                ),
            });
        }
        let mut totals = self.inner.store.project_totals()?;
        if let Some(median) = median(totals.iter().map(|t| t.tokens).collect()) {
            totals.sort_by_key(|t| std::cmp::Reverse(t.tokens));
            for t in totals
                .into_iter()
                .filter(|t| median > 0 && t.tokens > HEAVY_FACTOR * median)
                .take(MAX_FINDINGS_PER_CODE)
            {
                out.push(Finding {
                    code: "heavy_context".into(),
                    kind: None,
                    name: None,
                    plugin: None,
                    project_id: Some(t.id),
                    project_name: Some(t.name.clone()),
                    detail: format!(
                        "{} loads about {} tokens at startup, more than {HEAVY_FACTOR}× the median of {median} (see `cost {}`)",
                        t.name, t.tokens, t.name
                    ),
                });
            }
        }
        self.count(true);
        Ok(out)
    }
}

/// The median (lower middle for an even count); `None` for no values.
fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}
