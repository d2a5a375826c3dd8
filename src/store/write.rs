//! Writes: every change to the cache is one `BEGIN IMMEDIATE` transaction; a project refresh
//! inserts, updates and deletes its artifacts and updates its row in the same transaction.

use super::insert::PendingRows;
use super::{Store, now_ms};
use crate::error::{CacheError, Result};
use crate::events::{InvalidationReason, MAX_EVENT_CHANGES};
use crate::model::{
    ArtifactKind, ChangeSet, ChangedArtifact, KindCounts, ProjectOrigin, StoppedLoading,
};
use crate::scan::{ProjectSnapshot, ScannedArtifact};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashMap;

/// Most entries kept in the recent-changes feed.
pub const MAX_CHANGE_FEED: i64 = 1000;

/// A project to put in the cache.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// Absolute path.
    pub path: String,
    /// Display name.
    pub name: String,
    /// How it came.
    pub origin: ProjectOrigin,
}

/// The outcome of scanning a project, to be written.
#[derive(Debug, Clone)]
pub struct ProjectUpdate<'a> {
    /// What the scan found.
    pub snapshot: &'a ProjectSnapshot,
    /// The display name to store.
    pub name: String,
    /// When the scan started (unix ms): invalidations after this are kept.
    pub scan_started: i64,
    /// The project's tree stamp at scan time (see `scan::tree_stamp`).
    pub tree_stamp: Option<String>,
    /// Each artifact's [`ScannedArtifact::fingerprint`], in order, when the caller computed
    /// them (the refresh does, on its reading threads, so the writer does not); `None`, or a
    /// list of another length, and the write computes them.
    pub fingerprints: Option<&'a [String]>,
}

/// The stable id of a project: the first 12 hex digits of the SHA-256 of its path.
pub fn project_id_for(path: &str) -> String {
    crate::hash::hash_bytes(path.as_bytes())[..12].to_string()
}

impl Store {
    /// Inserts a project; a duplicate path (or id) is a [`CacheError::Conflict`].
    pub fn insert_project(&self, p: &NewProject) -> Result<String> {
        self.write(|tx| {
            let id = project_id_for(&p.path);
            let now = now_ms();
            tx.execute(
                "INSERT INTO projects(id, path, name, origin, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, p.path, p.name, p.origin.as_str(), now],
            )?;
            Ok(id)
        })
    }

    /// Inserts the projects not yet cached (in one transaction); returns the ids of the new ones.
    pub fn ensure_projects(&self, list: &[NewProject]) -> Result<Vec<String>> {
        if list.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let now = now_ms();
            let mut added = Vec::new();
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO projects(id, path, name, origin, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?;
            for p in list {
                let id = project_id_for(&p.path);
                if stmt.execute(params![id, p.path, p.name, p.origin.as_str(), now])? > 0 {
                    added.push(id);
                }
            }
            Ok(added)
        })
    }

    /// Writes one project's scan result: artifacts inserted, updated and deleted, the project
    /// row updated, the change recorded; all in one transaction. Returns what changed.
    pub fn apply_refresh(&self, project_id: &str, upd: &ProjectUpdate<'_>) -> Result<ChangeSet> {
        self.write(|tx| apply_refresh_tx(tx, project_id, upd))
    }

    /// Writes several projects' scan results in one transaction: all or nothing
    /// ([`Store::apply_batch`] with scanned projects only).
    pub fn apply_refresh_batch(
        &self,
        items: &[(String, ProjectUpdate<'_>)],
    ) -> Result<Vec<ChangeSet>> {
        let writes: Vec<super::BatchWrite<'_>> = items
            .iter()
            .map(|(id, update)| super::BatchWrite::Refresh {
                id,
                update: update.clone(),
            })
            .collect();
        Ok(self
            .apply_batch(&writes)?
            .into_iter()
            .map(|w| match w {
                super::BatchWritten::Changes(c) => c,
                super::BatchWritten::Touched(_) => ChangeSet::default(),
            })
            .collect())
    }

    /// Confirms a project unchanged: marks it refreshed now and clears an invalidation made
    /// before `scan_started` (one later than that is kept: it may describe a newer change).
    /// Returns the project's display name.
    pub fn touch_refreshed(&self, project_id: &str, scan_started: i64) -> Result<String> {
        self.write(|tx| touch_refreshed_tx(tx, project_id, scan_started))
    }

    /// Marks a project errored with `message`, keeping its last good data.
    pub fn mark_error(&self, project_id: &str, message: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE projects SET error = ?2, updated_at = ?3 WHERE id = ?1",
                params![project_id, message, now_ms()],
            )?;
            if n == 0 {
                return Err(CacheError::not_found("project", project_id));
            }
            Ok(())
        })
    }

    /// Marks one project (or all, with `None`) stale. Returns how many were marked.
    pub fn invalidate(
        &self,
        project_id: Option<&str>,
        reason: InvalidationReason,
    ) -> Result<usize> {
        self.write(|tx| {
            let now = now_ms();
            let n = match project_id {
                Some(id) => {
                    let n = tx.execute(
                        "UPDATE projects SET invalidated_at = ?2, invalidated_reason = ?3 WHERE id = ?1",
                        params![id, now, reason.as_str()],
                    )?;
                    if n == 0 {
                        return Err(CacheError::not_found("project", id));
                    }
                    n
                }
                None => tx.execute(
                    "UPDATE projects SET invalidated_at = ?1, invalidated_reason = ?2",
                    params![now, reason.as_str()],
                )?,
            };
            Ok(n)
        })
    }

    /// Deletes a project and (by cascade) its artifacts.
    pub fn delete_project(&self, project_id: &str) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute("DELETE FROM projects WHERE id = ?1", [project_id])?;
            if n == 0 {
                return Err(CacheError::not_found("project", project_id));
            }
            Ok(())
        })
    }

    /// Empties the cache (projects, artifacts, change feed); user choices and settings stay.
    /// Returns how many projects were removed.
    pub fn clear(&self) -> Result<usize> {
        self.write(|tx| {
            tx.execute("DELETE FROM artifacts", [])?;
            let n = tx.execute("DELETE FROM projects", [])?;
            tx.execute("DELETE FROM changes", [])?;
            tx.execute("DELETE FROM meta WHERE key = 'last_refresh'", [])?;
            tx.execute_batch(
                "INSERT INTO artifacts_fts(artifacts_fts) VALUES ('rebuild');
                 INSERT INTO artifact_names(artifact_names) VALUES ('rebuild');",
            )?;
            Ok(n)
        })
    }

    /// Sets a metadata key.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// Records that a service (tray or `watch`) runs in this process, or with `None` that it
    /// stopped cleanly: a pid left behind by a process that is gone tells the next opener to
    /// check the file. Never waits for another connection's lock (start and quit must not).
    pub fn mark_service(&self, pid: Option<u32>) -> Result<()> {
        self.write_now(|tx| {
            match pid {
                Some(pid) => tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![super::META_SERVICE_PID, pid.to_string()],
                )?,
                None => tx.execute(
                    "DELETE FROM meta WHERE key = ?1 AND value = ?2",
                    params![super::META_SERVICE_PID, std::process::id().to_string()],
                )?,
            };
            Ok(())
        })
    }

    /// Sets a metadata key without waiting for another connection's lock ([`Store::write_now`]).
    pub fn meta_set_now(&self, key: &str, value: &str) -> Result<()> {
        self.write_now(|tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    /// Deletes a metadata key; a missing key is [`CacheError::NotFound`].
    pub fn meta_delete(&self, key: &str) -> Result<()> {
        self.write(|tx| {
            if tx.execute("DELETE FROM meta WHERE key = ?1", [key])? == 0 {
                return Err(CacheError::not_found("metadata key", key));
            }
            Ok(())
        })
    }

    /// Adds `delta` to a numeric metadata counter.
    pub fn meta_add(&self, key: &str, delta: u64) -> Result<()> {
        if delta == 0 {
            return Ok(());
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ?2 AS TEXT)",
                params![key, delta as i64],
            )?;
            Ok(())
        })
    }

    /// Adds to several numeric counters in one transaction. Without `wait`, gives up at once
    /// ([`CacheError::Busy`]) when another connection holds the write lock.
    pub fn meta_add_all(&self, deltas: &[(&str, u64)], wait: bool) -> Result<()> {
        if deltas.iter().all(|(_, d)| *d == 0) {
            return Ok(());
        }
        let add = |tx: &Transaction<'_>| -> Result<()> {
            for (key, delta) in deltas.iter().filter(|(_, d)| *d > 0) {
                tx.execute(
                    "INSERT INTO meta(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ?2 AS TEXT)",
                    params![key, *delta as i64],
                )?;
            }
            Ok(())
        };
        if wait {
            self.write(add)
        } else {
            self.write_now(add)
        }
    }

    /// Records (or with `None`, forgets) the user's explicit choice for a project path.
    pub fn set_choice(&self, path: &str, choice: Option<&str>) -> Result<()> {
        self.write(|tx| {
            match choice {
                Some(c) => tx.execute(
                    "INSERT INTO project_choices(path, choice) VALUES (?1, ?2)
                     ON CONFLICT(path) DO UPDATE SET choice = excluded.choice",
                    params![path, c],
                )?,
                None => tx.execute("DELETE FROM project_choices WHERE path = ?1", [path])?,
            };
            Ok(())
        })
    }
}

struct Existing {
    aid: i64,
    fp: String,
    name: String,
    stamp: String,
    loaded: bool,
    tokens: u32,
}

/// [`Store::touch_refreshed`] inside a transaction.
pub(super) fn touch_refreshed_tx(
    tx: &Transaction<'_>,
    project_id: &str,
    scan_started: i64,
) -> Result<String> {
    tx.prepare_cached(
        "UPDATE projects SET refreshed_at = ?2,
             invalidated_reason = CASE WHEN invalidated_at IS NOT NULL AND invalidated_at <= ?3 THEN NULL ELSE invalidated_reason END,
             invalidated_at = CASE WHEN invalidated_at IS NOT NULL AND invalidated_at <= ?3 THEN NULL ELSE invalidated_at END
         WHERE id = ?1 RETURNING name",
    )?
    .query_row(params![project_id, now_ms(), scan_started], |r| r.get(0))
    .optional()?
    .ok_or_else(|| CacheError::not_found("project", project_id))
}

/// [`Store::apply_refresh`] inside a transaction.
pub(super) fn apply_refresh_tx(
    tx: &Transaction<'_>,
    project_id: &str,
    upd: &ProjectUpdate<'_>,
) -> Result<ChangeSet> {
    let mut pending = PendingRows::default();
    let changes = apply_refresh_deferred(tx, project_id, upd, &mut pending)?;
    pending.flush(tx)?;
    Ok(changes)
}

/// [`apply_refresh_tx`] with the project's new artifact rows queued in `pending` instead of
/// inserted: the caller flushes them before its transaction commits (see [`super::insert`]).
pub(super) fn apply_refresh_deferred(
    tx: &Transaction<'_>,
    project_id: &str,
    upd: &ProjectUpdate<'_>,
    pending: &mut PendingRows,
) -> Result<ChangeSet> {
    let now = now_ms();
    let snap = upd.snapshot;
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        Option<i64>,
    );
    let row: Option<Row> = tx
        .query_row(
            "SELECT rid, path, name, description, missing, claude_md, profiles, notes, refreshed_at FROM projects WHERE id = ?1",
            [project_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?)),
        )
        .optional()?;
    let Some((
        rid,
        path,
        old_name,
        old_desc,
        old_missing,
        old_md,
        old_profiles,
        old_notes,
        old_refreshed,
    )) = row
    else {
        return Err(CacheError::not_found("project", project_id));
    };
    let mut existing: HashMap<(String, String), Existing> = HashMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT aid, kind, path, fp, name, stamp, loaded, tokens FROM artifacts WHERE project_rid = ?1",
        )?;
        let rows = stmt.query_map([rid], |r| {
            Ok((
                (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                Existing {
                    aid: r.get(0)?,
                    fp: r.get(3)?,
                    name: r.get(4)?,
                    stamp: r.get(5)?,
                    loaded: r.get(6)?,
                    tokens: r.get(7)?,
                },
            ))
        })?;
        for r in rows {
            let (k, v) = r?;
            existing.insert(k, v);
        }
    }
    let mut changes = ChangeSet::default();
    let mut counts = KindCounts::default();
    let (mut n_outdated, mut n_modified, mut n_problems) = (0u32, 0u32, 0u32);
    {
        let mut update = tx.prepare_cached(
            "UPDATE artifacts SET name = ?2, description = ?3, content_hash = ?4, frontmatter = ?5, version = ?6, tags = ?7,
                 aliases = ?8, local_modified = ?9, outdated = ?10, upstream_version = ?11, version_cmp = ?12, extra = ?13,
                 source = ?14, stamp = ?15, fp = ?16, updated_at = ?17, scope = ?18, plugin = ?19,
                 loaded = ?20, not_loaded = ?21, problem = ?22, tokens = ?23
             WHERE aid = ?1",
        )?;
        let mut restamp =
            tx.prepare_cached("UPDATE artifacts SET stamp = ?2, source = ?3 WHERE aid = ?1")?;
        // A derived figure: a changed estimate alone is not a modification.
        let mut retoken = tx.prepare_cached("UPDATE artifacts SET tokens = ?2 WHERE aid = ?1")?;
        // New rows are written together when the write ends (see `super::insert`).
        let mut new_rows = Vec::new();
        let given = upd.fingerprints.filter(|f| f.len() == snap.artifacts.len());
        for (i, a) in snap.artifacts.iter().enumerate() {
            counts.add(a.kind, 1);
            let problem = crate::loading::problem_of(a);
            n_problems += u32::from(problem.is_some());
            n_outdated += u32::from(a.outdated == Some(true));
            n_modified += u32::from(a.local_modified == Some(true));
            let key = (a.kind.as_str().to_string(), a.path.clone());
            let fp = match given {
                Some(f) => f[i].clone(),
                None => a.fingerprint(),
            };
            match existing.remove(&key) {
                None => {
                    new_rows.push(super::insert::NewRow {
                        artifact: a,
                        fp,
                        problem,
                    });
                    changes.added.push(changed(a));
                }
                Some(old) if old.fp != fp => {
                    update.execute(params![
                        old.aid,
                        a.name,
                        a.description,
                        a.content_hash,
                        a.frontmatter.as_str(),
                        a.version,
                        json_list(&a.tags),
                        json_list(&a.aliases),
                        a.local_modified,
                        a.outdated,
                        a.upstream_version,
                        a.version_cmp.map(|v| v.as_str()),
                        a.extra.to_string(),
                        a.source,
                        a.stamp,
                        fp,
                        now,
                        a.scope.as_str(),
                        a.plugin,
                        a.loaded,
                        a.not_loaded.map(|n| n.as_str()),
                        problem,
                        a.tokens
                    ])?;
                    if old.loaded
                        && !a.loaded
                        && let Some(reason) = a.not_loaded
                    {
                        changes.stopped_loading.push(StoppedLoading {
                            kind: a.kind,
                            name: a.name.clone(),
                            path: a.path.clone(),
                            reason,
                        });
                    }
                    changes.modified.push(changed(a));
                }
                Some(old) => {
                    // Same data; keep the new stamp so the next scan can skip the file.
                    if old.stamp != a.stamp {
                        restamp.execute(params![old.aid, a.stamp, a.source])?;
                    }
                    if old.tokens != a.tokens {
                        retoken.execute(params![old.aid, a.tokens])?;
                    }
                }
            }
        }
        pending.push(tx, rid, now, &new_rows)?;
    }
    let mut removed_loaded: std::collections::HashSet<(String, String)> = Default::default();
    if !existing.is_empty() {
        let mut delete = tx.prepare_cached("DELETE FROM artifacts WHERE aid = ?1")?;
        let mut gone: Vec<_> = existing.into_iter().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        for ((kind, path), old) in gone {
            delete.execute([old.aid])?;
            if old.loaded {
                removed_loaded.insert((kind.clone(), old.name.clone()));
            }
            changes.removed.push(ChangedArtifact {
                kind: ArtifactKind::parse(&kind).unwrap_or(ArtifactKind::Skill),
                name: old.name,
                path,
            });
        }
    }
    // An item that moved and stopped loading (a skill pushed one folder deeper) is a removal
    // and an addition under the same name: it stopped loading too.
    if !removed_loaded.is_empty() {
        for added in &changes.added {
            if let Some(a) = snap
                .artifacts
                .iter()
                .find(|a| a.kind == added.kind && a.path == added.path)
                && !a.loaded
                && let Some(reason) = a.not_loaded
                && removed_loaded.contains(&(a.kind.as_str().to_string(), a.name.clone()))
            {
                changes.stopped_loading.push(StoppedLoading {
                    kind: a.kind,
                    name: a.name.clone(),
                    path: a.path.clone(),
                    reason,
                });
            }
        }
    }
    let profiles = serde_json::to_string(&snap.profiles).unwrap_or_else(|_| "[]".into());
    let notes = serde_json::to_string(&snap.notes).unwrap_or_else(|_| "[]".into());
    changes.new_project = old_refreshed.is_none() && old_missing.is_none();
    changes.project_changed = !changes.new_project
        && (old_name != upd.name
            || old_desc != snap.description
            || old_missing != snap.missing
            || old_md != snap.claude_md
            || old_profiles != profiles
            || old_notes != notes);
    tx.execute(
        "UPDATE projects SET name = ?2, description = ?3, missing = ?4, error = NULL, refreshed_at = ?5,
             invalidated_at = CASE WHEN invalidated_at IS NOT NULL AND invalidated_at <= ?6 THEN NULL ELSE invalidated_at END,
             invalidated_reason = CASE WHEN invalidated_at IS NOT NULL AND invalidated_at <= ?6 THEN NULL ELSE invalidated_reason END,
             updated_at = CASE WHEN ?16 THEN ?5 ELSE updated_at END,
             claude_md = ?7, profiles = ?8, notes = ?9, n_skill = ?10, n_agent = ?11, n_command = ?12, n_hook = ?13,
             n_mcp_server = ?14, n_outdated = ?15, n_modified = ?17, tree_stamp = ?18,
             n_memory = ?19, n_rule = ?20, n_output_style = ?21, n_plugin = ?22, n_problems = ?23,
             cost_tokens = ?24
         WHERE rid = ?1",
        params![
            rid,
            upd.name,
            snap.description,
            snap.missing,
            now,
            upd.scan_started,
            snap.claude_md,
            profiles,
            notes,
            counts.skill,
            counts.agent,
            counts.command,
            counts.hook,
            counts.mcp_server,
            n_outdated,
            !changes.is_empty(),
            n_modified,
            upd.tree_stamp,
            counts.memory,
            counts.rule,
            counts.output_style,
            counts.plugin,
            n_problems,
            snap.artifacts.iter().map(|a| i64::from(a.tokens)).sum::<i64>()
        ],
    )?;
    if !changes.is_empty() {
        tx.execute(
            "INSERT INTO changes(at, project_id, project_name, project_path, summary, changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                now,
                project_id,
                upd.name,
                path,
                changes.summary(),
                serde_json::to_string(&changes.truncated(MAX_EVENT_CHANGES)).unwrap_or_default()
            ],
        )?;
        tx.execute(
            "DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?1",
            [MAX_CHANGE_FEED],
        )?;
    }
    Ok(changes)
}

fn changed(a: &ScannedArtifact) -> ChangedArtifact {
    ChangedArtifact {
        kind: a.kind,
        name: a.name.clone(),
        path: a.path.clone(),
    }
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
