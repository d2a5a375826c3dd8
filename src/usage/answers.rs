//! Answers from the usage index: per artifact (uses in the last 7/30/90 days, last use, in
//! how many projects, a daily series), per project (sessions, most used, loaded but unused).
//!
//! An event names (kind, name); it counts for an artifact when:
//! - the kinds match: a skill answers to `Skill` calls and to `/name` commands (commands and
//!   skills are one mechanism since Claude Code 2.1: code.claude.com/docs/en/skills), a
//!   command likewise, an agent to subagent calls, an MCP server to its `mcp__server__*` tools;
//! - the names match: the artifact's name, or `plugin:name` for a plugin's item
//!   (`plugin_<plugin>_<server>` for a plugin's MCP server);
//! - the place matches: a user-scope item (held by the user-scope `~` entry) counts uses in any
//!   folder; any other item counts uses in its own project (sub-folders and worktrees too).

use crate::error::Result;
use crate::manager::CacheManager;
use rusqlite::params;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// Each working folder (cid) seen in transcripts → the cached project containing it: the
/// longest project path that is the folder or one of its parents (the user scope `~` is not a
/// project). Computed at each answer, so projects added or removed since the transcripts were
/// read count at once; folders and projects number in the hundreds.
fn cwd_projects(c: &rusqlite::Connection) -> Result<HashMap<i64, Option<i64>>> {
    let mut st = c.prepare("SELECT rid, path FROM projects WHERE origin != 'user'")?;
    let projects = st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = c.prepare("SELECT cid, path FROM usage_cwds")?;
    let mut rows = st.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let path: String = r.get(1)?;
        out.insert(r.get(0)?, super::index::project_of(&path, &projects));
    }
    Ok(out)
}

/// Days in the daily series ([`ArtifactUsage::daily`]).
pub const SERIES_DAYS: usize = 30;

const DAY: i64 = 86_400;

/// Usage of one cached artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactUsage {
    /// The artifact's id (`artifacts.aid`, as in `Artifact::aid`).
    pub aid: i64,
    /// Id of the project holding it (the user scope's entry for user-scope items).
    pub project_id: String,
    /// Name of that project.
    pub project_name: String,
    /// Folder of that project (`Artifact::project`).
    pub project_path: String,
    /// Kind: `skill`, `agent`, `command` or `mcp_server`.
    pub kind: String,
    /// The artifact's name.
    pub name: String,
    /// Its path relative to the project (`Artifact::path`): with `project_path` and `kind`,
    /// the key that joins this row to an `Artifact`.
    pub path: String,
    /// Scope: `user`, `project`, `local`, `plugin`, `managed`.
    pub scope: String,
    /// Providing plugin (`name@marketplace`), if any.
    pub plugin: Option<String>,
    /// Whether Claude Code loads it.
    pub loaded: bool,
    /// Uses in the last 7 days (today included, UTC days).
    pub uses_7d: u64,
    /// Uses in the last 30 days.
    pub uses_30d: u64,
    /// Uses in the last 90 days.
    pub uses_90d: u64,
    /// Uses in the last `days` days of the query ([`UsageQuery::days`]).
    pub uses: u64,
    /// Every use the index holds.
    pub uses_total: u64,
    /// Time of the last use (Unix milliseconds).
    pub last_used: Option<i64>,
    /// In how many cached projects it was used (ever).
    pub projects: u64,
    /// Uses per UTC day for the last [`SERIES_DAYS`] days, oldest first (the last is today).
    pub daily: Vec<u32>,
    /// What it costs in context in every session of its project, in estimated tokens
    /// ([`crate::cost`]).
    pub tokens: u64,
}

/// What [`CacheManager::usage_artifacts`] lists.
#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    /// Only this project's items and the user-scope items (which load in every project),
    /// counting uses inside this project only. `None`: every item, uses anywhere.
    pub project: Option<String>,
    /// The window of [`ArtifactUsage::uses`] in days (0 means 30).
    pub days: u32,
    /// Only items with no use in the window.
    pub unused_only: bool,
}

/// One loaded item never used in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnusedItem {
    /// The artifact's id.
    pub aid: i64,
    /// Kind: `skill`, `agent`, `command` or `mcp_server`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its scope.
    pub scope: String,
    /// Id of the project holding it.
    pub project_id: String,
    /// Folder of the project holding it (`Artifact::project`).
    pub project_path: String,
    /// Its path relative to that project (`Artifact::path`).
    pub path: String,
    /// Last use ever (outside the window), if any.
    pub last_used: Option<i64>,
    /// What it costs in context in every session, in estimated tokens ([`crate::cost`]).
    pub context_tokens: u64,
}

/// A name the index saw used in a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsedName {
    /// Kind as recorded: `skill`, `agent`, `command`, `mcp`.
    pub kind: String,
    /// Name as recorded (`plugin:name` for plugin items).
    pub name: String,
    /// Uses in the window.
    pub uses: u64,
    /// Last use (Unix milliseconds).
    pub last_used: i64,
}

/// Usage in one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectUsage {
    /// Project id.
    pub project_id: String,
    /// Project name.
    pub name: String,
    /// Project folder.
    pub path: String,
    /// The window in days.
    pub days: u32,
    /// Sessions with at least one recorded use in the window.
    pub sessions: u64,
    /// Uses in the window.
    pub uses: u64,
    /// Names used in the window, most used first (built-ins such as `/clear` included).
    pub most_used: Vec<UsedName>,
    /// Loaded skills, agents, commands and MCP servers (the project's and the user scope's)
    /// with no use in this project in the window, by kind then name.
    pub unused: Vec<UnusedItem>,
    /// Earliest use the index holds anywhere (Unix ms): windows reaching further back than
    /// this cannot tell "unused" from "not recorded".
    pub indexed_since: Option<i64>,
}

/// Totals of the usage index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageStatus {
    /// Whether indexing is on (`usage-index`).
    pub enabled: bool,
    /// Transcript files known.
    pub files: u64,
    /// Bytes of transcript read (sum of offsets).
    pub bytes_indexed: u64,
    /// Uses recorded (a use copied into a continued session's transcript counts once).
    pub uses: u64,
    /// Sessions seen.
    pub sessions: u64,
    /// Lines skipped (malformed or over-long).
    pub lines_skipped: u64,
    /// Earliest and latest use (Unix ms).
    pub first_use: Option<i64>,
    /// Latest use (Unix ms).
    pub last_use: Option<i64>,
}

struct Item {
    aid: i64,
    project_rid: i64,
    project_id: String,
    project_name: String,
    project_path: String,
    user_scope: bool,
    kind: String,
    name: String,
    path: String,
    scope: String,
    plugin: Option<String>,
    loaded: bool,
    tokens: u64,
}

/// (kind, name) → per (project rid or None, day) counts and last use.
type Agg = HashMap<(String, String), Vec<(Option<i64>, i64, u64, i64)>>;

fn today() -> i64 {
    crate::store::now_ms().div_euclid(1000).div_euclid(DAY)
}

/// The event keys an artifact answers to.
fn keys(kind: &str, name: &str, plugin: Option<&str>) -> Vec<(String, String)> {
    let base = plugin.map(|p| p.split('@').next().unwrap_or(p));
    let mut names = vec![name.to_string()];
    if let Some(b) = base {
        if kind == "mcp_server" {
            names.push(format!("plugin_{b}_{name}"));
        } else {
            names.push(format!("{b}:{name}"));
        }
    }
    let kinds: &[&str] = match kind {
        "skill" | "command" => &["skill", "command"],
        "agent" => &["agent"],
        "mcp_server" => &["mcp"],
        _ => &[],
    };
    kinds
        .iter()
        .flat_map(|k| names.iter().map(move |n| (k.to_string(), n.clone())))
        .collect()
}

impl CacheManager {
    fn usage_items(&self, project_rid: Option<i64>) -> Result<Vec<Item>> {
        self.store().read(|c| {
            let mut st = c.prepare(
                "SELECT a.aid, a.project_rid, p.id, p.name, p.origin = 'user', a.kind, a.name,
                        a.scope, a.plugin, a.loaded, p.path, a.path, a.tokens
                 FROM artifacts a JOIN projects p ON p.rid = a.project_rid
                 WHERE a.kind IN ('skill', 'agent', 'command', 'mcp_server')
                   AND (?1 IS NULL OR a.project_rid = ?1 OR p.origin = 'user')
                 ORDER BY a.kind, a.name, a.aid",
            )?;
            let rows = st.query_map([project_rid], |r| {
                Ok(Item {
                    aid: r.get(0)?,
                    project_rid: r.get(1)?,
                    project_id: r.get(2)?,
                    project_name: r.get(3)?,
                    user_scope: r.get(4)?,
                    kind: r.get(5)?,
                    name: r.get(6)?,
                    scope: r.get(7)?,
                    plugin: r.get(8)?,
                    loaded: r.get::<_, i64>(9)? != 0,
                    project_path: r.get(10)?,
                    path: r.get(11)?,
                    tokens: r.get::<_, i64>(12)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn usage_agg(&self) -> Result<Agg> {
        self.store().read(|c| {
            let cwds = cwd_projects(c)?;
            let mut st = c.prepare(
                "SELECT n.kind, n.name, e.cid, e.at / 86400 AS day, COUNT(DISTINCT e.key),
                        MAX(e.at)
                 FROM usage_events e JOIN usage_names n ON n.nid = e.nid
                 GROUP BY e.nid, e.cid, day",
            )?;
            let mut agg: Agg = HashMap::new();
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let cid: Option<i64> = r.get(2)?;
                let rid = cid.and_then(|c| cwds.get(&c).copied().flatten());
                agg.entry((r.get(0)?, r.get(1)?)).or_default().push((
                    rid,
                    r.get(3)?,
                    r.get::<_, i64>(4)? as u64,
                    r.get(5)?,
                ));
            }
            Ok(agg)
        })
    }

    /// Usage of cached skills, agents, commands and MCP servers (see [`UsageQuery`]), in the
    /// artifacts' order (kind, name). Built for the dashboard's "last used" column and
    /// sparkline ([`ArtifactUsage::daily`]) and for sorting by use.
    pub fn usage_artifacts(&self, q: &UsageQuery) -> Result<Vec<ArtifactUsage>> {
        let days = if q.days == 0 { 30 } else { q.days } as i64;
        let rid = match &q.project {
            Some(key) => Some(self.project_rid(key)?),
            None => None,
        };
        let items = self.usage_items(rid)?;
        // The user scope asked for: its items load in every folder, so their uses count
        // wherever they were made (no working folder maps to the user scope itself).
        let asked_user_scope = match rid {
            Some(r) => self.store().read(|c| {
                Ok(c.query_row(
                    "SELECT origin = 'user' FROM projects WHERE rid = ?1",
                    [r],
                    |row| row.get::<_, bool>(0),
                )?)
            })?,
            None => false,
        };
        let rid = if asked_user_scope { None } else { rid };
        let agg = self.usage_agg()?;
        let today = today();
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let mut u = ArtifactUsage {
                aid: it.aid,
                project_id: it.project_id.clone(),
                project_name: it.project_name.clone(),
                project_path: it.project_path.clone(),
                kind: it.kind.clone(),
                name: it.name.clone(),
                path: it.path.clone(),
                scope: it.scope.clone(),
                plugin: it.plugin.clone(),
                loaded: it.loaded,
                uses_7d: 0,
                uses_30d: 0,
                uses_90d: 0,
                uses: 0,
                uses_total: 0,
                last_used: None,
                projects: 0,
                daily: vec![0; SERIES_DAYS],
                tokens: it.tokens,
            };
            let mut projects = BTreeSet::new();
            for key in keys(&it.kind, &it.name, it.plugin.as_deref()) {
                for &(prid, day, n, last) in agg.get(&key).map(|v| &v[..]).unwrap_or(&[]) {
                    // Where the use counts: a project's own item only inside that project;
                    // a user-scope item anywhere (or inside the asked project).
                    let wanted = match (it.user_scope, rid) {
                        (false, _) => prid == Some(it.project_rid),
                        (true, Some(r)) => prid == Some(r),
                        (true, None) => true,
                    };
                    if !wanted {
                        continue;
                    }
                    let age = today - day;
                    u.uses_total += n;
                    if age < 7 {
                        u.uses_7d += n;
                    }
                    if age < 30 {
                        u.uses_30d += n;
                    }
                    if age < 90 {
                        u.uses_90d += n;
                    }
                    if age < days {
                        u.uses += n;
                    }
                    if (0..SERIES_DAYS as i64).contains(&age) {
                        u.daily[SERIES_DAYS - 1 - age as usize] += n as u32;
                    }
                    u.last_used = u.last_used.max(Some(last * 1000));
                    if let Some(p) = prid {
                        projects.insert(p);
                    }
                }
            }
            u.projects = projects.len() as u64;
            if !q.unused_only || (u.uses == 0 && it.loaded) {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// Usage in one project over the last `days` days (0 means 30): sessions, most used
    /// names, and loaded items never used there.
    pub fn usage_project(&self, key: &str, days: u32) -> Result<ProjectUsage> {
        let days = if days == 0 { 30 } else { days };
        let rid = self.project_rid(key)?;
        let since = (today() - days as i64 + 1) * DAY;
        let (id, name, path) = self.store().read(|c| {
            Ok(c.query_row(
                "SELECT id, name, path FROM projects WHERE rid = ?1",
                [rid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })?;
        let (sessions, uses, most_used) = self.store().read(|c| {
            // The project's working folders, as a JSON array for `json_each`.
            let cids: Vec<i64> = cwd_projects(c)?
                .into_iter()
                .filter(|(_, r)| *r == Some(rid))
                .map(|(cid, _)| cid)
                .collect();
            let cids = serde_json::to_string(&cids).unwrap_or_else(|_| "[]".into());
            let (sessions, uses): (i64, i64) = c.query_row(
                "SELECT COUNT(DISTINCT e.sid), COUNT(DISTINCT e.key) FROM usage_events e
                 WHERE e.cid IN (SELECT value FROM json_each(?1)) AND e.at >= ?2",
                params![cids, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let mut st = c.prepare(
                "SELECT n.kind, n.name, COUNT(DISTINCT e.key), MAX(e.at) FROM usage_events e
                 JOIN usage_names n ON n.nid = e.nid
                 WHERE e.cid IN (SELECT value FROM json_each(?1)) AND e.at >= ?2
                 GROUP BY e.nid ORDER BY COUNT(DISTINCT e.key) DESC, n.kind, n.name",
            )?;
            let most = st
                .query_map(params![cids, since], |r| {
                    Ok(UsedName {
                        kind: r.get(0)?,
                        name: r.get(1)?,
                        uses: r.get::<_, i64>(2)? as u64,
                        last_used: r.get::<_, i64>(3)? * 1000,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((sessions as u64, uses as u64, most))
        })?;
        let first = self.usage_indexed_since()?;
        let unused = self
            .usage_artifacts(&UsageQuery {
                project: Some(key.to_string()),
                days,
                unused_only: true,
            })?
            .into_iter()
            .map(|u| UnusedItem {
                aid: u.aid,
                kind: u.kind,
                name: u.name,
                scope: u.scope,
                project_id: u.project_id,
                project_path: u.project_path,
                path: u.path,
                last_used: u.last_used,
                context_tokens: u.tokens,
            })
            .collect();
        Ok(ProjectUsage {
            project_id: id,
            name,
            path,
            days,
            sessions,
            uses,
            most_used,
            unused,
            indexed_since: first,
        })
    }

    /// The earliest use the index holds (Unix ms): a window reaching further back cannot tell
    /// "unused" from "not recorded".
    pub fn usage_indexed_since(&self) -> Result<Option<i64>> {
        self.store().read(|c| {
            let first: Option<i64> =
                c.query_row("SELECT MIN(at) FROM usage_events", [], |r| r.get(0))?;
            Ok(first.map(|t| t * 1000))
        })
    }

    /// Totals of the usage index.
    pub fn usage_status(&self) -> Result<UsageStatus> {
        let enabled = self.config().usage_index;
        self.store().read(|c| {
            let (files, bytes, skipped): (i64, i64, i64) = c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(offset), 0), COALESCE(SUM(skipped), 0)
                 FROM usage_files",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let (uses, first, last): (i64, Option<i64>, Option<i64>) = c.query_row(
                "SELECT COUNT(DISTINCT key), MIN(at), MAX(at) FROM usage_events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let sessions: i64 =
                c.query_row("SELECT COUNT(*) FROM usage_sessions", [], |r| r.get(0))?;
            Ok(UsageStatus {
                enabled,
                files: files as u64,
                bytes_indexed: bytes as u64,
                uses: uses as u64,
                sessions: sessions as u64,
                lines_skipped: skipped as u64,
                first_use: first.map(|t| t * 1000),
                last_use: last.map(|t| t * 1000),
            })
        })
    }

    fn project_rid(&self, key: &str) -> Result<i64> {
        let (id, _) = self.resolve(key)?;
        self.store().read(|c| {
            Ok(
                c.query_row("SELECT rid FROM projects WHERE id = ?1", [&id], |r| {
                    r.get(0)
                })?,
            )
        })
    }
}
