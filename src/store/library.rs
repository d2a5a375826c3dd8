//! Library reads: identity pages from `lib_identities`, copies through the name index of
//! `artifact_keys`, per-project cost rows, and the raw material of the findings. The tables
//! are kept by triggers (schema version 5), so no read groups every artifact.

use super::Store;
use crate::error::Result;
use crate::library::{CostItem, LibraryCopy, LibraryEntry, LibraryQuery, LibrarySort, ScopeCounts};
use crate::model::{ArtifactKind, Page, Scope};
use rusqlite::{OptionalExtension, params_from_iter, types::Value};

/// One copy as `where` reads it, with its identity and content.
#[derive(Debug, Clone)]
pub struct CopyRow {
    /// Kind.
    pub kind: ArtifactKind,
    /// Plugin (`None` for items of no plugin).
    pub plugin: Option<String>,
    /// Name.
    pub name: String,
    /// SkillMeat content hash.
    pub content_hash: String,
    /// The copy.
    pub copy: LibraryCopy,
}

/// Where an artifact lives on disk, as the cache holds it.
#[derive(Debug, Clone)]
pub struct Location {
    /// Project folder.
    pub project_path: String,
    /// Path relative to the project.
    pub path: String,
    /// Kind.
    pub kind: ArtifactKind,
    /// Scope.
    pub scope: Scope,
    /// Name.
    pub name: String,
}

/// A project's total for the findings.
#[derive(Debug, Clone)]
pub struct ProjectTotal {
    /// Project id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Estimated startup tokens (own items plus the user scope's).
    pub tokens: u64,
}

/// A project copy whose content differs from the user-scope copy of the same identity.
#[derive(Debug, Clone)]
pub struct UserDiff {
    /// Kind.
    pub kind: ArtifactKind,
    /// Name.
    pub name: String,
    /// Project id.
    pub project_id: String,
    /// Project display name.
    pub project_name: String,
    /// Path of the project copy.
    pub path: String,
    /// Whether Claude Code loads the project copy (false: the user copy wins).
    pub loaded: bool,
}

fn kind_of(s: &str) -> ArtifactKind {
    ArtifactKind::parse(s).unwrap_or(ArtifactKind::Skill)
}

/// A non-negative count as u64.
fn n(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)?.max(0) as u64)
}

fn opt_plugin(p: String) -> Option<String> {
    (!p.is_empty()).then_some(p)
}

/// The user-scope total as a SQL expression (0 when there is no user scope in the cache).
const USER_TOTAL: &str =
    "(SELECT ifnull(sum(u.cost_tokens), 0) FROM projects u WHERE u.origin = 'user')";

/// Recounts the library tables from the artifacts in one pass (the triggers stand aside).
const REBUILD: &str = "
UPDATE lib_state SET live = 0 WHERE id = 1;
DELETE FROM lib_identities;
DELETE FROM lib_variants;
CREATE TEMP TABLE IF NOT EXISTS lib_scan (
    kind TEXT, plugin TEXT, name TEXT, hash16 TEXT, copies INTEGER, managed INTEGER,
    tokens INTEGER, n_user INTEGER, n_project INTEGER, n_local INTEGER, n_plugin INTEGER,
    n_managed INTEGER
);
DELETE FROM temp.lib_scan;
INSERT INTO temp.lib_scan
    SELECT kind, ifnull(plugin, ''), name, substr(content_hash, 1, 16), count(*),
           sum(local_modified IS NOT NULL), sum(tokens), sum(scope = 'user'),
           sum(scope = 'project'), sum(scope = 'local'), sum(scope = 'plugin'),
           sum(scope = 'managed')
    FROM artifacts WHERE kind <> 'memory'
    GROUP BY kind, ifnull(plugin, ''), name, substr(content_hash, 1, 16);
INSERT INTO lib_variants(kind, plugin, name, hash16, copies)
    SELECT kind, plugin, name, hash16, copies FROM temp.lib_scan;
INSERT INTO lib_identities(kind, plugin, name, copies, variants, managed, tokens,
        n_user, n_project, n_local, n_plugin, n_managed)
    SELECT kind, plugin, name, sum(copies), count(*), sum(managed), sum(tokens), sum(n_user),
           sum(n_project), sum(n_local), sum(n_plugin), sum(n_managed)
    FROM temp.lib_scan GROUP BY kind, plugin, name;
DELETE FROM temp.lib_scan;
UPDATE lib_state SET live = 1, since = NULL, dirty = 0 WHERE id = 1;
";

impl Store {
    /// Sets the library's triggers aside (for a large refresh): from now until
    /// [`Store::library_rebuild`], artifact writes leave the library tables alone.
    pub fn library_pause(&self, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE lib_state SET live = 0, since = ifnull(since, ?1) WHERE id = 1",
                [now],
            )?;
            Ok(())
        })
    }

    /// Recounts the library tables from the artifacts in one transaction and turns the
    /// triggers back on.
    pub fn library_rebuild(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute_batch(REBUILD)?;
            Ok(())
        })
    }

    /// Ends a pause: recounts when an artifact was written meanwhile, else just turns the
    /// triggers back on. Returns whether it recounted.
    pub fn library_resume(&self) -> Result<bool> {
        self.write(|tx| {
            let dirty: bool =
                tx.query_row("SELECT dirty FROM lib_state WHERE id = 1", [], |r| r.get(0))?;
            if dirty {
                tx.execute_batch(REBUILD)?;
            } else {
                tx.execute(
                    "UPDATE lib_state SET live = 1, since = NULL WHERE id = 1",
                    [],
                )?;
            }
            Ok(dirty)
        })
    }

    /// When the triggers were set aside, if they are (`None`: the tables are live).
    pub fn library_paused_since(&self) -> Result<Option<i64>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT CASE WHEN live THEN NULL ELSE ifnull(since, 0) END FROM lib_state WHERE id = 1",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
        })
    }

    /// One page of library identities (collection fields left empty).
    pub fn library_page(&self, q: &LibraryQuery, limit: u64) -> Result<Page<LibraryEntry>> {
        let mut wh = vec!["1 = 1".to_string()];
        let mut args: Vec<Value> = Vec::new();
        if let Some(k) = q.kind {
            wh.push("kind = ?".into());
            args.push(Value::Text(k.as_str().into()));
        }
        if q.drifted_only {
            wh.push("variants > 1".into());
        }
        let wh = wh.join(" AND ");
        let order = match q.sort {
            LibrarySort::Copies => "copies DESC, name, kind, plugin",
            LibrarySort::Variants => "variants DESC, copies DESC, name, kind, plugin",
            LibrarySort::Cost => "tokens DESC, name, kind, plugin",
            LibrarySort::Name => "name, kind, plugin",
        };
        self.read(|c| {
            let total: u64 = c.query_row(
                &format!("SELECT count(*) FROM lib_identities WHERE {wh}"),
                params_from_iter(args.iter()),
                |r| n(r, 0),
            )?;
            let mut page_args = args.clone();
            page_args.push(Value::Integer(limit.min(i64::MAX as u64) as i64));
            page_args.push(Value::Integer(q.skip.min(i64::MAX as u64) as i64));
            let mut stmt = c.prepare_cached(&format!(
                "SELECT kind, plugin, name, copies, variants, managed, tokens,
                        n_user, n_project, n_local, n_plugin, n_managed
                 FROM lib_identities WHERE {wh} ORDER BY {order} LIMIT ? OFFSET ?"
            ))?;
            let items = stmt
                .query_map(params_from_iter(page_args.iter()), |r| {
                    let variants = n(r, 4)?;
                    Ok(LibraryEntry {
                        kind: kind_of(&r.get::<_, String>(0)?),
                        plugin: opt_plugin(r.get(1)?),
                        name: r.get(2)?,
                        copies: n(r, 3)?,
                        variants,
                        drifted: variants > 1,
                        managed: n(r, 5)?,
                        tokens: n(r, 6)?,
                        scopes: ScopeCounts {
                            user: n(r, 7)?,
                            project: n(r, 8)?,
                            local: n(r, 9)?,
                            plugin: n(r, 10)?,
                            managed: n(r, 11)?,
                        },
                        collection_hash: None,
                        collection_copies: None,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page {
                total,
                skip: q.skip,
                items,
            })
        })
    }

    /// How many copies of an identity have content `hash` (compared on its first 16 hex
    /// digits, as the library stores variants).
    pub fn variant_copies(
        &self,
        kind: ArtifactKind,
        plugin: Option<&str>,
        name: &str,
        hash: &str,
    ) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT copies FROM lib_variants
                 WHERE kind = ?1 AND plugin = ?2 AND name = ?3 AND hash16 = substr(lower(?4), 1, 16)",
                rusqlite::params![kind.as_str(), plugin.unwrap_or(""), name, hash],
                |r| n(r, 0),
            )
            .optional()?
            .unwrap_or(0))
        })
    }

    /// Every copy of every identity named `name` (case-insensitive), optionally of one kind.
    /// Memory files are left out, as in the library.
    pub fn copies_named(&self, name: &str, kind: Option<ArtifactKind>) -> Result<Vec<CopyRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.kind, ifnull(a.plugin, ''), a.name, a.content_hash, a.aid, p.id, p.name, p.path,
                        a.scope, a.path, a.local_modified, a.outdated, a.loaded, a.updated_at, a.tokens
                 FROM artifact_keys k
                 JOIN artifacts a ON a.aid = k.aid
                 JOIN projects p ON p.rid = a.project_rid
                 WHERE k.name = ?1 COLLATE NOCASE AND (?2 IS NULL OR k.kind = ?2)
                   AND k.kind <> 'memory'",
            )?;
            let rows = stmt
                .query_map(rusqlite::params![name, kind.map(|k| k.as_str())], |r| {
                    let local_modified: Option<bool> = r.get(10)?;
                    Ok(CopyRow {
                        kind: kind_of(&r.get::<_, String>(0)?),
                        plugin: opt_plugin(r.get(1)?),
                        name: r.get(2)?,
                        content_hash: r.get(3)?,
                        copy: LibraryCopy {
                            aid: r.get(4)?,
                            project_id: r.get(5)?,
                            project_name: r.get(6)?,
                            project_path: r.get(7)?,
                            scope: Scope::parse(&r.get::<_, String>(8)?).unwrap_or(Scope::Project),
                            path: r.get(9)?,
                            managed: local_modified.is_some(),
                            local_modified,
                            outdated: r.get(11)?,
                            loaded: r.get(12)?,
                            updated_at: r.get(13)?,
                            tokens: r.get(14)?,
                        },
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Where the artifact `aid` lives, as the cache holds it.
    pub fn location(&self, aid: i64) -> Result<Option<Location>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT p.path, a.path, a.kind, a.scope, a.name
                 FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE a.aid = ?1",
                [aid],
                |r| {
                    Ok(Location {
                        project_path: r.get(0)?,
                        path: r.get(1)?,
                        kind: kind_of(&r.get::<_, String>(2)?),
                        scope: Scope::parse(&r.get::<_, String>(3)?).unwrap_or(Scope::Project),
                        name: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// The items of project `id` that cost something, then (unless it is the user scope
    /// itself) those of the user scope; with the project's name. Heaviest first.
    pub fn cost_items(&self, id: &str) -> Result<(String, Vec<CostItem>)> {
        self.read(|c| {
            let (rid, name, origin): (i64, String, String) = c
                .query_row(
                    "SELECT rid, name, origin FROM projects WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or_else(|| crate::error::CacheError::not_found("project", id))?;
            let mut rids = vec![rid];
            if origin != "user" {
                let mut s = c.prepare_cached("SELECT rid FROM projects WHERE origin = 'user'")?;
                for r in s.query_map([], |r| r.get::<_, i64>(0))? {
                    rids.push(r?);
                }
            }
            let mut items = Vec::new();
            let mut stmt = c.prepare_cached(
                "SELECT aid, kind, name, scope, tokens FROM artifacts
                 WHERE project_rid = ?1 AND tokens > 0",
            )?;
            for (i, rid) in rids.iter().enumerate() {
                let rows = stmt.query_map([rid], |r| {
                    let kind = kind_of(&r.get::<_, String>(1)?);
                    let scope = Scope::parse(&r.get::<_, String>(3)?).unwrap_or(Scope::Project);
                    Ok(CostItem {
                        aid: r.get(0)?,
                        kind,
                        name: r.get(2)?,
                        // What reaches the project from `~/.claude` is user scope (plugin and
                        // managed items keep theirs).
                        scope: if i > 0 && scope == Scope::Project {
                            Scope::User
                        } else {
                            scope
                        },
                        tokens: r.get(4)?,
                        what: match kind {
                            ArtifactKind::Memory => "memory",
                            ArtifactKind::Rule => "rule",
                            ArtifactKind::OutputStyle => "output_style",
                            _ => "listing",
                        }
                        .into(),
                    })
                })?;
                for r in rows {
                    items.push(r?);
                }
            }
            items.sort_by(|a, b| b.tokens.cmp(&a.tokens).then_with(|| a.name.cmp(&b.name)));
            Ok((name, items))
        })
    }

    /// The listing entries (see [`crate::budget`]) of project `id` and of the user scope
    /// (unless `id` is the user scope), with the project's path.
    pub fn listing_entries(&self, id: &str) -> Result<(String, bool, Vec<crate::budget::Entry>)> {
        self.read(|c| {
            let (rid, path, origin): (i64, String, String) = c
                .query_row(
                    "SELECT rid, path, origin FROM projects WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or_else(|| crate::error::CacheError::not_found("project", id))?;
            let user_scope = origin == "user";
            let mut stmt = c.prepare_cached(
                "SELECT a.kind, a.name, a.description, a.extra FROM artifacts a
                 WHERE a.kind IN ('skill', 'command') AND a.loaded = 1
                   AND (a.project_rid = ?1 OR (?2 AND a.scope = 'user' AND a.project_rid IN
                        (SELECT rid FROM projects WHERE origin = 'user')))",
            )?;
            let mut out = Vec::new();
            let rows = stmt.query_map(rusqlite::params![rid, !user_scope], |r| {
                Ok((
                    kind_of(&r.get::<_, String>(0)?),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for r in rows {
                let (kind, name, desc, extra) = r?;
                let extra: serde_json::Value =
                    serde_json::from_str(&extra).unwrap_or(serde_json::Value::Null);
                out.extend(crate::budget::entry_of(kind, true, &name, &desc, &extra));
            }
            Ok((path, user_scope, out))
        })
    }

    /// Every project's estimated startup tokens (own items plus the user scope's), the user
    /// scope and missing projects left out.
    pub fn project_totals(&self) -> Result<Vec<ProjectTotal>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT id, name, cost_tokens + {USER_TOTAL} FROM projects
                 WHERE origin <> 'user' AND missing IS NULL AND refreshed_at IS NOT NULL"
            ))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(ProjectTotal {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        tokens: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Project copies (skills, agents, commands, rules, output styles) whose content differs
    /// from the user-scope copy of the same kind and name, at most `limit`.
    pub fn user_diffs(&self, limit: u64) -> Result<Vec<UserDiff>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.kind, a.name, p.id, p.name, a.path, a.loaded
                 FROM projects up
                 JOIN artifacts u ON u.project_rid = up.rid AND u.scope = 'user'
                 -- NOCASE first, so the name index serves the join; then the exact name.
                 JOIN artifact_keys k ON k.name = u.name COLLATE NOCASE AND k.name = u.name AND k.kind = u.kind
                 JOIN artifacts a ON a.aid = k.aid
                 JOIN projects p ON p.rid = a.project_rid
                 WHERE up.origin = 'user'
                   AND u.kind IN ('skill', 'agent', 'command', 'rule', 'output_style')
                   AND a.project_rid <> up.rid AND a.scope IN ('project', 'local')
                   AND a.plugin IS NULL AND a.content_hash <> u.content_hash
                 ORDER BY a.kind, a.name, p.name
                 LIMIT ?1",
            )?;
            let rows = stmt
                .query_map([limit.min(i64::MAX as u64) as i64], |r| {
                    Ok(UserDiff {
                        kind: kind_of(&r.get::<_, String>(0)?),
                        name: r.get(1)?,
                        project_id: r.get(2)?,
                        project_name: r.get(3)?,
                        path: r.get(4)?,
                        loaded: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
