//! Reads: projects, artifacts, search, outdated, status totals, metadata and the change feed.
//! Freshness is computed at read time from the stored timestamps and the caller's TTL.

use super::Store;
use crate::error::{CacheError, Result};
use crate::model::{
    Artifact, ArtifactKind, ChangeSet, FrontmatterState, KindCounts, NotLoaded, Page, Project,
    ProjectOrigin, ProjectStatus, Scope, VersionCmp,
};
use crate::scan::ScannedArtifact;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::{Deserialize, Serialize};

/// Filters and paging for listing projects.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// Only projects with this status.
    pub status: Option<ProjectStatus>,
    /// Rows to skip.
    pub skip: u64,
    /// Most rows to return (`None`: all, there is no hidden cap).
    pub limit: Option<u64>,
}

/// Filters and paging for listing artifacts.
#[derive(Debug, Clone, Default)]
pub struct ArtifactFilter {
    /// Only this project's (by id).
    pub project: Option<String>,
    /// Only this kind.
    pub kind: Option<ArtifactKind>,
    /// Only outdated (true) or not outdated (false).
    pub outdated: Option<bool>,
    /// Only locally modified (true) or not (false).
    pub local_modified: Option<bool>,
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only loaded (true) or not loaded (false) items.
    pub loaded: Option<bool>,
    /// Rows to skip.
    pub skip: u64,
    /// Most rows to return (`None`: all).
    pub limit: Option<u64>,
}

/// Orders for search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Exact name, then name prefix, then name substring, then full-text rank.
    #[default]
    Relevance,
    /// By name.
    Name,
    /// By kind, then name.
    Kind,
    /// Most recently changed first.
    Updated,
    /// Most used first (uses in the last 30 days, from Claude Code's session logs), then by
    /// name; see `CacheManager::search`.
    Usage,
}

impl SearchSort {
    /// Parses a sort key; an unknown key is an input error.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "relevance" => Ok(SearchSort::Relevance),
            "name" => Ok(SearchSort::Name),
            "kind" | "type" => Ok(SearchSort::Kind),
            "updated" => Ok(SearchSort::Updated),
            "usage" | "used" => Ok(SearchSort::Usage),
            other => Err(CacheError::InvalidInput(format!(
                "unknown sort '{other}' (use relevance, name, kind, updated or usage)"
            ))),
        }
    }
}

/// Orders for the outdated-artifact list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutdatedSort {
    /// By artifact name.
    #[default]
    Name,
    /// By kind.
    Kind,
    /// By project path.
    Project,
    /// By version difference (collection newer first).
    Version,
}

impl OutdatedSort {
    /// Parses a sort key; an unknown key is an input error.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "name" => Ok(OutdatedSort::Name),
            "kind" | "type" => Ok(OutdatedSort::Kind),
            "project" => Ok(OutdatedSort::Project),
            "version" => Ok(OutdatedSort::Version),
            other => Err(CacheError::InvalidInput(format!(
                "unknown sort '{other}' (use name, kind, project or version)"
            ))),
        }
    }
}

/// One entry of the recent-changes feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecentChange {
    /// Sequence number (increasing).
    pub seq: i64,
    /// Unix ms.
    pub at: i64,
    /// Project id.
    pub project_id: String,
    /// Project name.
    pub project_name: String,
    /// Project path.
    pub project_path: String,
    /// One-line summary.
    pub summary: String,
    /// The change set (bounded).
    pub changes: ChangeSet,
}

/// Totals for `status`.
#[derive(Debug, Clone, Default)]
pub struct StatusCounts {
    /// Projects.
    pub projects: u64,
    /// Fresh projects.
    pub fresh: u64,
    /// Stale projects.
    pub stale: u64,
    /// Errored projects.
    pub errored: u64,
    /// Missing projects.
    pub missing: u64,
    /// Artifacts by kind.
    pub counts: KindCounts,
    /// Outdated artifacts.
    pub outdated: u64,
    /// Locally modified artifacts.
    pub modified: u64,
    /// Items with a problem.
    pub problems: u64,
    /// Oldest successful refresh.
    pub oldest: Option<i64>,
    /// Newest successful refresh.
    pub newest: Option<i64>,
}

/// A project's stored state as a refresh sees it (see [`Store::refresh_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshState {
    /// The tree stamp of the last successful scan of a present project.
    pub clean_tree_stamp: Option<String>,
    /// True when the project is marked missing.
    pub missing: bool,
}

/// A project's identity and freshness inputs, for planning a refresh.
#[derive(Debug, Clone)]
pub struct ProjectRef {
    /// Id.
    pub id: String,
    /// Path.
    pub path: String,
    /// Origin.
    pub origin: ProjectOrigin,
    /// Status now.
    pub status: ProjectStatus,
    /// True when it was invalidated explicitly (not only past its TTL).
    pub invalidated: bool,
    /// True when it was ever refreshed successfully.
    pub refreshed: bool,
}

const PROJECT_COLS: &str = "id, path, name, description, origin, missing, error, refreshed_at, invalidated_at, invalidated_reason, created_at, n_skill, n_agent, n_command, n_hook, n_mcp_server, n_outdated, n_modified, claude_md, profiles, notes, n_memory, n_rule, n_output_style, n_plugin, n_problems, cost_tokens + CASE WHEN origin = 'user' THEN 0 ELSE (SELECT ifnull(sum(u.cost_tokens), 0) FROM projects u WHERE u.origin = 'user') END";

/// SQL computing a project's status; `?1` is the stale-before time (unix ms).
const STATUS_SQL: &str = "CASE WHEN missing IS NOT NULL THEN 'missing' WHEN error IS NOT NULL THEN 'error' WHEN refreshed_at IS NULL OR invalidated_at IS NOT NULL OR refreshed_at < ?1 THEN 'stale' ELSE 'fresh' END";

/// The artifact columns every artifact query selects, in `artifact_from_row` order.
pub(super) const ART_COLS: &str = "p.path, a.kind, a.name, a.description, a.path, a.content_hash, a.frontmatter, a.version, a.tags, a.aliases, a.local_modified, a.outdated, a.upstream_version, a.version_cmp, a.extra, a.updated_at, a.scope, a.plugin, a.loaded, a.not_loaded";

/// Computes a status from stored fields.
pub fn status_of(
    missing: bool,
    error: bool,
    refreshed_at: Option<i64>,
    invalidated: bool,
    stale_before: i64,
) -> ProjectStatus {
    if missing {
        ProjectStatus::Missing
    } else if error {
        ProjectStatus::Error
    } else if invalidated || refreshed_at.is_none_or(|t| t < stale_before) {
        ProjectStatus::Stale
    } else {
        ProjectStatus::Fresh
    }
}

fn project_from_row(r: &Row<'_>, stale_before: i64) -> rusqlite::Result<Project> {
    let missing: Option<String> = r.get(5)?;
    let error: Option<String> = r.get(6)?;
    let refreshed_at: Option<i64> = r.get(7)?;
    let invalidated_at: Option<i64> = r.get(8)?;
    let mut notes: Vec<String> = serde_json::from_str(&r.get::<_, String>(20)?).unwrap_or_default();
    if let Some(m) = &missing {
        notes.insert(0, format!("missing: {m}"));
    }
    Ok(Project {
        id: r.get(0)?,
        path: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        origin: ProjectOrigin::parse(&r.get::<_, String>(4)?),
        status: status_of(
            missing.is_some(),
            error.is_some(),
            refreshed_at,
            invalidated_at.is_some(),
            stale_before,
        ),
        error,
        invalidated_reason: r.get(9)?,
        refreshed_at,
        created_at: r.get(10)?,
        counts: KindCounts {
            skill: r.get(11)?,
            agent: r.get(12)?,
            command: r.get(13)?,
            hook: r.get(14)?,
            mcp_server: r.get(15)?,
            memory: r.get(21)?,
            rule: r.get(22)?,
            output_style: r.get(23)?,
            plugin: r.get(24)?,
        },
        outdated_count: r.get(16)?,
        modified_count: r.get(17)?,
        claude_md: r.get(18)?,
        profiles: serde_json::from_str(&r.get::<_, String>(19)?).unwrap_or_default(),
        notes,
        problems: r.get(25)?,
        context_tokens: r.get::<_, i64>(26)?.max(0) as u64,
    })
}

pub(super) fn artifact_from_row(r: &Row<'_>) -> rusqlite::Result<Artifact> {
    let kind: String = r.get(1)?;
    Ok(Artifact {
        project: r.get(0)?,
        kind: ArtifactKind::parse(&kind).unwrap_or(ArtifactKind::Skill),
        name: r.get(2)?,
        description: r.get(3)?,
        path: r.get(4)?,
        content_hash: r.get(5)?,
        frontmatter: FrontmatterState::parse(&r.get::<_, String>(6)?),
        version: r.get(7)?,
        tags: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
        aliases: serde_json::from_str(&r.get::<_, String>(9)?).unwrap_or_default(),
        local_modified: r.get(10)?,
        outdated: r.get(11)?,
        upstream_version: r.get(12)?,
        version_cmp: r
            .get::<_, Option<String>>(13)?
            .and_then(|v| VersionCmp::parse(&v)),
        extra: serde_json::from_str(&r.get::<_, String>(14)?).unwrap_or(serde_json::Value::Null),
        updated_at: r.get(15)?,
        scope: Scope::parse(&r.get::<_, String>(16)?).unwrap_or(Scope::Project),
        plugin: r.get(17)?,
        loaded: r.get(18)?,
        not_loaded: r
            .get::<_, Option<String>>(19)?
            .and_then(|v| NotLoaded::parse(&v)),
    })
}

pub(super) fn page_clause(skip: u64, limit: Option<u64>) -> String {
    match limit {
        Some(l) => format!(
            " LIMIT {} OFFSET {}",
            l.min(i64::MAX as u64),
            skip.min(i64::MAX as u64)
        ),
        None if skip > 0 => format!(" LIMIT -1 OFFSET {}", skip.min(i64::MAX as u64)),
        None => String::new(),
    }
}

fn count(conn: &Connection, sql: &str, args: &[SqlValue]) -> Result<u64> {
    Ok(conn.query_row(sql, params_from_iter(args.iter()), |r| r.get::<_, i64>(0))? as u64)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub(super) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// Lists projects ordered by name then path (stable), with the total count.
    pub fn list_projects(&self, f: &ProjectFilter, stale_before: i64) -> Result<Page<Project>> {
        self.read(|c| {
            let mut args: Vec<SqlValue> = vec![stale_before.into()];
            let mut wh = "?1 IS NOT NULL".to_string();
            if let Some(s) = f.status {
                wh.push_str(&format!(" AND ({STATUS_SQL}) = ?2"));
                args.push(s.as_str().to_string().into());
            }
            let total = count(c, &format!("SELECT count(*) FROM projects WHERE {wh}"), &args)?;
            let sql = format!(
                "SELECT {PROJECT_COLS} FROM projects WHERE {wh} ORDER BY name COLLATE NOCASE, path{}",
                page_clause(f.skip, f.limit)
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let items = stmt
                .query_map(params_from_iter(args.iter()), |r| project_from_row(r, stale_before))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page {
                total,
                skip: f.skip,
                items,
            })
        })
    }

    /// One project by id.
    pub fn get_project(&self, id: &str, stale_before: i64) -> Result<Project> {
        self.read(|c| get_project_in(c, id, stale_before))
    }

    /// One project by id with all its artifacts, read in one snapshot (never a mix of two
    /// refreshes).
    pub fn project_detail(&self, id: &str, stale_before: i64) -> Result<(Project, Vec<Artifact>)> {
        self.read(|c| {
            let project = get_project_in(c, id, stale_before)?;
            let artifacts = list_artifacts_in(
                c,
                &ArtifactFilter {
                    project: Some(id.to_string()),
                    ..Default::default()
                },
            )?;
            Ok((project, artifacts.items))
        })
    }

    /// The id of the project named by `key`: its id, or its path.
    pub fn find_project(&self, key: &str) -> Result<Option<(String, String)>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT id, path FROM projects WHERE id = ?1 OR path = ?1 LIMIT 1",
            )?
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
        })
    }

    /// What a refresh needs to know of a project before scanning it: its stored tree stamp
    /// when its last refresh succeeded and found it present (errored or missing projects get
    /// a full scan), and whether it is missing now.
    pub fn refresh_state(&self, id: &str) -> Result<RefreshState> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT CASE WHEN error IS NULL AND missing IS NULL THEN tree_stamp END, missing IS NOT NULL
                 FROM projects WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(RefreshState {
                    clean_tree_stamp: r.get(0)?,
                    missing: r.get(1)?,
                })
            })
            .optional()?
            .ok_or_else(|| CacheError::not_found("project", id))
        })
    }

    /// (id, path) of every project whose display name is `name` (case-insensitive).
    pub fn find_projects_by_name(&self, name: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT id, path FROM projects WHERE name = ?1 COLLATE NOCASE LIMIT 10",
                )?
                .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Every project's id, path, origin and status (for refresh planning).
    pub fn project_refs(&self, stale_before: i64) -> Result<Vec<ProjectRef>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT id, path, origin, {STATUS_SQL}, invalidated_at IS NOT NULL, refreshed_at IS NOT NULL FROM projects ORDER BY path"
            ))?;
            let rows = stmt
                .query_map([stale_before], |r| {
                    Ok(ProjectRef {
                        id: r.get(0)?,
                        path: r.get(1)?,
                        origin: ProjectOrigin::parse(&r.get::<_, String>(2)?),
                        status: ProjectStatus::parse(&r.get::<_, String>(3)?)
                            .unwrap_or(ProjectStatus::Stale),
                        invalidated: r.get(4)?,
                        refreshed: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Lists artifacts, ordered by project path, kind, path.
    pub fn list_artifacts(&self, f: &ArtifactFilter) -> Result<Page<Artifact>> {
        self.read(|c| list_artifacts_in(c, f))
    }

    /// A project's stored artifacts in scanner form (with sources and stamps), for rescans.
    pub fn scanned_artifacts(&self, project_id: &str) -> Result<Vec<ScannedArtifact>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT a.kind, a.name, a.description, a.path, a.content_hash, a.frontmatter, a.version, a.tags, a.aliases,
                        a.local_modified, a.outdated, a.upstream_version, a.version_cmp, a.extra, a.source, a.stamp,
                        a.scope, a.plugin, a.loaded, a.not_loaded, a.tokens
                 FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE p.id = ?1",
            )?;
            let rows = stmt
                .query_map([project_id], |r| {
                    Ok(ScannedArtifact {
                        kind: ArtifactKind::parse(&r.get::<_, String>(0)?).unwrap_or(ArtifactKind::Skill),
                        name: r.get(1)?,
                        description: r.get(2)?,
                        path: r.get(3)?,
                        content_hash: r.get(4)?,
                        frontmatter: FrontmatterState::parse(&r.get::<_, String>(5)?),
                        version: r.get(6)?,
                        tags: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                        aliases: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                        local_modified: r.get(9)?,
                        outdated: r.get(10)?,
                        upstream_version: r.get(11)?,
                        version_cmp: r.get::<_, Option<String>>(12)?.and_then(|v| VersionCmp::parse(&v)),
                        extra: serde_json::from_str(&r.get::<_, String>(13)?).unwrap_or(serde_json::Value::Null),
                        source: r.get(14)?,
                        stamp: r.get(15)?,
                        scope: Scope::parse(&r.get::<_, String>(16)?).unwrap_or(Scope::Project),
                        plugin: r.get(17)?,
                        loaded: r.get(18)?,
                        not_loaded: r.get::<_, Option<String>>(19)?.and_then(|v| NotLoaded::parse(&v)),
                        tokens: r.get(20)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Outdated artifacts (the collection's copy differs), sorted as asked.
    pub fn outdated(
        &self,
        project: Option<&str>,
        sort: OutdatedSort,
        descending: bool,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Page<Artifact>> {
        self.read(|c| {
            let mut args: Vec<SqlValue> = Vec::new();
            let mut wh = "a.outdated = 1".to_string();
            if let Some(p) = project {
                args.push(p.to_string().into());
                wh.push_str(" AND p.id = ?1");
            }
            let dir = if descending { "DESC" } else { "ASC" };
            let order = match sort {
                OutdatedSort::Name => format!("a.name COLLATE NOCASE {dir}, p.path"),
                OutdatedSort::Kind => format!("a.kind {dir}, a.name COLLATE NOCASE"),
                OutdatedSort::Project => format!("p.path {dir}, a.name COLLATE NOCASE"),
                OutdatedSort::Version => format!(
                    "CASE a.version_cmp WHEN 'collection_newer' THEN 0 WHEN 'same' THEN 1 WHEN 'project_newer' THEN 2 ELSE 3 END {dir}, a.name COLLATE NOCASE"
                ),
            };
            let total = count(
                c,
                &format!("SELECT count(*) FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE {wh}"),
                &args,
            )?;
            let sql = format!(
                "SELECT {ART_COLS} FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE {wh} ORDER BY {order}, a.aid{}",
                page_clause(skip, limit)
            );
            let items = c
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), artifact_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page { total, skip, items })
        })
    }

    /// Totals for `status`.
    pub fn status_counts(&self, stale_before: i64) -> Result<StatusCounts> {
        self.read(|c| {
            let mut s = StatusCounts::default();
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {STATUS_SQL} AS st, count(*), sum(n_skill), sum(n_agent), sum(n_command), sum(n_hook), sum(n_mcp_server),
                        sum(n_outdated), sum(n_modified), min(refreshed_at), max(refreshed_at),
                        sum(n_memory), sum(n_rule), sum(n_output_style), sum(n_plugin), sum(n_problems)
                 FROM projects GROUP BY st"
            ))?;
            let mut rows = stmt.query([stale_before])?;
            while let Some(r) = rows.next()? {
                let n = r.get::<_, i64>(1)? as u64;
                s.projects += n;
                match r.get::<_, String>(0)?.as_str() {
                    "fresh" => s.fresh += n,
                    "stale" => s.stale += n,
                    "error" => s.errored += n,
                    _ => s.missing += n,
                }
                s.counts.skill += r.get::<_, i64>(2)? as u32;
                s.counts.agent += r.get::<_, i64>(3)? as u32;
                s.counts.command += r.get::<_, i64>(4)? as u32;
                s.counts.hook += r.get::<_, i64>(5)? as u32;
                s.counts.mcp_server += r.get::<_, i64>(6)? as u32;
                s.outdated += r.get::<_, i64>(7)? as u64;
                s.modified += r.get::<_, i64>(8)? as u64;
                s.counts.memory += r.get::<_, i64>(11)? as u32;
                s.counts.rule += r.get::<_, i64>(12)? as u32;
                s.counts.output_style += r.get::<_, i64>(13)? as u32;
                s.counts.plugin += r.get::<_, i64>(14)? as u32;
                s.problems += r.get::<_, i64>(15)? as u64;
                let (lo, hi): (Option<i64>, Option<i64>) = (r.get(9)?, r.get(10)?);
                s.oldest = match (s.oldest, lo) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                s.newest = match (s.newest, hi) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            Ok(s)
        })
    }

    /// A metadata value.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()?)
        })
    }

    /// The user's explicit choices: (path, `added` | `excluded`).
    pub fn choices(&self) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            let rows = c
                .prepare_cached("SELECT path, choice FROM project_choices ORDER BY path")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The most recent `limit` entries of the change feed, newest first; only those after
    /// `after_seq` when given.
    pub fn recent_changes(&self, limit: u64, after_seq: Option<i64>) -> Result<Vec<RecentChange>> {
        self.read(|c| {
            let rows = c
                .prepare_cached(
                    "SELECT seq, at, project_id, project_name, project_path, summary, changes FROM changes
                     WHERE seq > ?1 ORDER BY seq DESC LIMIT ?2",
                )?
                .query_map(rusqlite::params![after_seq.unwrap_or(-1), limit.min(i64::MAX as u64) as i64], |r| {
                    Ok(RecentChange {
                        seq: r.get(0)?,
                        at: r.get(1)?,
                        project_id: r.get(2)?,
                        project_name: r.get(3)?,
                        project_path: r.get(4)?,
                        summary: r.get(5)?,
                        changes: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

fn get_project_in(c: &Connection, id: &str, stale_before: i64) -> Result<Project> {
    c.prepare_cached(&format!(
        "SELECT {PROJECT_COLS} FROM projects WHERE id = ?1"
    ))?
    .query_row([id], |r| project_from_row(r, stale_before))
    .optional()?
    .ok_or_else(|| CacheError::not_found("project", id))
}

fn list_artifacts_in(c: &Connection, f: &ArtifactFilter) -> Result<Page<Artifact>> {
    let mut wh = vec!["1 = 1".to_string()];
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(p) = &f.project {
        args.push(p.clone().into());
        wh.push(format!("p.id = ?{}", args.len()));
    }
    if let Some(k) = f.kind {
        args.push(k.as_str().to_string().into());
        wh.push(format!("a.kind = ?{}", args.len()));
    }
    if let Some(o) = f.outdated {
        wh.push(if o {
            "a.outdated = 1".into()
        } else {
            "coalesce(a.outdated, 0) = 0".into()
        });
    }
    if let Some(m) = f.local_modified {
        wh.push(if m {
            "a.local_modified = 1".into()
        } else {
            "coalesce(a.local_modified, 0) = 0".into()
        });
    }
    if let Some(sc) = f.scope {
        args.push(sc.as_str().to_string().into());
        wh.push(format!("a.scope = ?{}", args.len()));
    }
    if let Some(l) = f.loaded {
        wh.push(format!("a.loaded = {}", i64::from(l)));
    }
    let wh = wh.join(" AND ");
    let total = count(
        c,
        &format!(
            "SELECT count(*) FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE {wh}"
        ),
        &args,
    )?;
    let sql = format!(
        "SELECT {ART_COLS} FROM artifacts a JOIN projects p ON p.rid = a.project_rid WHERE {wh} ORDER BY p.path, a.kind, a.path{}",
        page_clause(f.skip, f.limit)
    );
    let items = c
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), artifact_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page {
        total,
        skip: f.skip,
        items,
    })
}

impl Store {
    /// At most `limit` problems, the rarest kinds of problem first (a skill nested too deep
    /// before the hundreds of unapproved servers of a big tree), then by project path, kind
    /// and path: what a panel with little room should show.
    pub fn problems_rarest_first(
        &self,
        project: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Artifact, String, String)>> {
        self.read(|c| {
                let (join_where, args): (&str, Vec<SqlValue>) = match project {
                    Some(p) => (" AND p.id = ?2", vec![p.to_string().into()]),
                    None => ("", Vec::new()),
                };
                let codes: Vec<String> = {
                    let sql = format!(
                        "SELECT a.problem FROM artifacts a JOIN projects p ON p.rid = a.project_rid
                         WHERE a.problem IS NOT NULL{} GROUP BY a.problem ORDER BY count(*), a.problem",
                        join_where.replace("?2", "?1")
                    );
                    c.prepare_cached(&sql)?
                        .query_map(params_from_iter(args.iter()), |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?
                };
                let sql = format!(
                    "SELECT {ART_COLS}, p.name, a.problem FROM artifacts a JOIN projects p ON p.rid = a.project_rid
                     WHERE a.problem = ?1{join_where} ORDER BY p.path, a.kind, a.path LIMIT ?{}",
                    if project.is_some() { 3 } else { 2 }
                );
                let mut out = Vec::new();
                let mut stmt = c.prepare_cached(&sql)?;
                for code in codes {
                    let left = limit.saturating_sub(out.len());
                    if left == 0 {
                        break;
                    }
                    let mut params: Vec<SqlValue> = vec![code.into()];
                    params.extend(args.iter().cloned());
                    params.push(SqlValue::Integer(i64::try_from(left).unwrap_or(i64::MAX)));
                    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
                        Ok((artifact_from_row(r)?, r.get(20)?, r.get(21)?))
                    })?;
                    for row in rows {
                        out.push(row?);
                    }
                }
                Ok(out)
            })
    }

    /// Items with a problem (see [`crate::loading::problem_of`]), of one project (by id) or
    /// all, ordered by project path, kind and path: (item, project name, problem code).
    pub fn problems(&self, project: Option<&str>) -> Result<Vec<(Artifact, String, String)>> {
        self.read(|c| {
            let mut args: Vec<SqlValue> = Vec::new();
            let mut wh = "a.problem IS NOT NULL".to_string();
            if let Some(p) = project {
                args.push(p.to_string().into());
                wh.push_str(" AND p.id = ?1");
            }
            let sql = format!(
                "SELECT {ART_COLS}, p.name, a.problem FROM artifacts a JOIN projects p ON p.rid = a.project_rid
                 WHERE {wh} ORDER BY p.path, a.kind, a.path"
            );
            let rows = c
                .prepare_cached(&sql)?
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok((artifact_from_row(r)?, r.get(20)?, r.get(21)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}
