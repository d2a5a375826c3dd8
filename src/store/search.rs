//! Search: names first (exact, prefix, substring, via a trigram index), then full-text
//! matches over names, descriptions and tags ranked by BM25; filtered, paged, with the total.
//!
//! Broad queries can match thousands of artifacts, so the relevance order is built without
//! joining or sorting every match: name matches are few, and FTS5 ranks its own top rows.

use super::Store;
use super::read::{ART_COLS, artifact_from_row, like_escape, page_clause};
use crate::error::{CacheError, Result};
use crate::model::{ArtifactKind, Page, SearchHit};
use crate::store::SearchSort;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, params_from_iter};
use std::collections::{HashMap, HashSet};

/// BM25 column weights: name, description, tags.
const BM25: &str = "bm25(artifacts_fts, 10.0, 1.0, 4.0)";

/// The SQL expression ranking a name against the query `?1` (and `?2` = escaped `q%`).
const TIER_SQL: &str = "CASE WHEN a.name = ?1 COLLATE NOCASE THEN 0 WHEN a.name LIKE ?2 ESCAPE '\\' THEN 1 WHEN instr(lower(a.name), lower(?1)) > 0 THEN 2 ELSE 3 END";

struct Plan {
    /// `?1` the query, `?2` its prefix pattern, then the FTS and trigram expressions, then filters.
    args: Vec<SqlValue>,
    /// FTS5 expression argument index, when the query has words.
    fts: Option<usize>,
    /// SQL yielding the aids whose name contains the query.
    names_sql: String,
    /// Extra WHERE conditions on `a` (artifacts) and `p` (projects).
    filters: String,
}

impl Plan {
    fn new(q: &str, project: Option<&str>, kind: Option<ArtifactKind>) -> Plan {
        let mut args: Vec<SqlValue> =
            vec![q.to_string().into(), format!("{}%", like_escape(q)).into()];
        let tokens: Vec<String> = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
            .collect();
        let fts = (!tokens.is_empty()).then(|| {
            args.push(tokens.join(" ").into());
            args.len()
        });
        let names_sql = if q.chars().count() >= 3 {
            args.push(format!("\"{}\"", q.replace('"', "\"\"")).into());
            format!(
                "SELECT rowid AS aid FROM artifact_names WHERE artifact_names MATCH ?{}",
                args.len()
            )
        } else {
            "SELECT aid FROM artifacts WHERE instr(lower(name), lower(?1)) > 0".to_string()
        };
        let mut filters = String::new();
        if let Some(p) = project {
            args.push(p.to_string().into());
            filters.push_str(&format!(" AND p.id = ?{}", args.len()));
        }
        if let Some(k) = kind {
            args.push(k.as_str().to_string().into());
            filters.push_str(&format!(" AND a.kind = ?{}", args.len()));
        }
        Plan {
            args,
            fts,
            names_sql,
            filters,
        }
    }

    /// SQL yielding every matching aid (names or full text), before filters.
    fn all_hits_sql(&self) -> String {
        match self.fts {
            Some(i) => format!(
                "SELECT rowid AS aid FROM artifacts_fts WHERE artifacts_fts MATCH ?{i} UNION {}",
                self.names_sql
            ),
            None => self.names_sql.clone(),
        }
    }

    /// The arguments a statement takes: the first `parameter_count` of the plan's, since
    /// every statement numbers its parameters from the same list.
    fn args_for(&self, stmt: &rusqlite::Statement<'_>) -> Vec<SqlValue> {
        self.args
            .iter()
            .take(stmt.parameter_count())
            .cloned()
            .collect()
    }
}

impl Store {
    /// Full-text search over names, descriptions and tags, with name matches ranked first
    /// (exact, then prefix, then substring), filtered by project id and kind, paged, with
    /// the total number of matches. An empty query is an input error.
    pub fn search(
        &self,
        query: &str,
        project: Option<&str>,
        kind: Option<ArtifactKind>,
        sort: SearchSort,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Page<SearchHit>> {
        let q = query.trim();
        if q.is_empty() {
            return Err(CacheError::InvalidInput("the search query is empty".into()));
        }
        let plan = Plan::new(q, project, kind);
        let limit = limit.unwrap_or(50);
        self.read(|c| {
            let total = count_hits(c, &plan)?;
            let ids = match sort {
                SearchSort::Relevance => relevance_page(c, &plan, skip, limit)?,
                other => sorted_page(c, &plan, other, skip, limit)?,
            };
            let items = load_hits(c, &plan, &ids)?;
            Ok(Page { total, skip, items })
        })
    }
}

fn count_hits(c: &Connection, plan: &Plan) -> Result<u64> {
    let sql = if plan.filters.is_empty() {
        format!("SELECT count(*) FROM ({})", plan.all_hits_sql())
    } else {
        format!(
            "SELECT count(*) FROM artifacts a JOIN projects p ON p.rid = a.project_rid
             WHERE a.aid IN ({}){}",
            plan.all_hits_sql(),
            plan.filters
        )
    };
    let mut stmt = c.prepare_cached(&sql)?;
    let args = plan.args_for(&stmt);
    let n = stmt.query_row(params_from_iter(args), |r| r.get::<_, i64>(0))?;
    Ok(n as u64)
}

/// The aids of one page in relevance order: name matches by tier, then full-text matches.
fn relevance_page(c: &Connection, plan: &Plan, skip: u64, limit: u64) -> Result<Vec<i64>> {
    let names_sql = format!(
        "SELECT a.aid, {TIER_SQL} AS tier FROM ({}) n JOIN artifacts a ON a.aid = n.aid
         JOIN projects p ON p.rid = a.project_rid
         WHERE tier < 3{}
         ORDER BY tier, length(a.name), a.name COLLATE NOCASE, a.aid",
        plan.names_sql, plan.filters
    );
    let mut stmt = c.prepare_cached(&names_sql)?;
    let args = plan.args_for(&stmt);
    let names: Vec<i64> = stmt
        .query_map(params_from_iter(args), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let (skip, limit) = (skip as usize, limit as usize);
    let mut page: Vec<i64> = names.iter().skip(skip).take(limit).copied().collect();
    let Some(fts) = plan.fts else {
        return Ok(page);
    };
    if page.len() >= limit {
        return Ok(page);
    }
    // Full-text matches that are not name matches, best BM25 first. BM25 costs about a
    // microsecond per match, so for a very broad query it ranks only the matches in names and
    // tags; matches in descriptions alone then follow, newest first.
    let name_set: HashSet<i64> = names.iter().copied().collect();
    let want = skip + limit + names.len();
    let broad = fts_matches(c, plan, fts)? > BROAD_QUERY;
    let mut ranked = Vec::new();
    if broad {
        let expr = match &plan.args[fts - 1] {
            SqlValue::Text(t) => format!("{{name tags}} : ({t})"),
            _ => String::new(),
        };
        ranked.extend(fts_rows(c, plan, Some(&expr), "r, f.rowid", want)?);
        ranked.extend(fts_rows(
            c,
            plan,
            None,
            "f.rowid DESC",
            want + ranked.len(),
        )?);
    } else {
        ranked.extend(fts_rows(c, plan, None, "r, f.rowid", want)?);
    }
    let rest_skip = skip.saturating_sub(names.len());
    let mut seen = HashSet::new();
    let mut n = 0usize;
    for aid in ranked {
        if name_set.contains(&aid) || !seen.insert(aid) {
            continue;
        }
        if n >= rest_skip {
            page.push(aid);
            if page.len() >= limit {
                break;
            }
        }
        n += 1;
    }
    Ok(page)
}

/// Above this many full-text matches, BM25 ranks only matches in names and tags.
const BROAD_QUERY: u64 = 5_000;

/// How many rows the full-text expression matches (before filters; cheap in FTS5).
fn fts_matches(c: &Connection, plan: &Plan, fts: usize) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM artifacts_fts WHERE artifacts_fts MATCH ?{fts}");
    let mut stmt = c.prepare_cached(&sql)?;
    let args = plan.args_for(&stmt);
    Ok(stmt.query_row(params_from_iter(args), |r| r.get::<_, i64>(0))? as u64)
}

/// Up to `want` full-text matches (filtered) in the given order; `expr` replaces the plan's
/// full-text expression (e.g. restricted to some columns).
fn fts_rows(
    c: &Connection,
    plan: &Plan,
    expr: Option<&str>,
    order: &str,
    want: usize,
) -> Result<Vec<i64>> {
    let Some(fts) = plan.fts else {
        return Ok(Vec::new());
    };
    let mut args = plan.args.clone();
    let idx = match expr {
        Some(e) => {
            args.push(e.to_string().into());
            args.len()
        }
        None => fts,
    };
    let sql = format!(
        "SELECT f.rowid, {BM25} AS r FROM artifacts_fts f JOIN artifacts a ON a.aid = f.rowid
         JOIN projects p ON p.rid = a.project_rid
         WHERE artifacts_fts MATCH ?{idx}{} ORDER BY {order} LIMIT {want}",
        plan.filters
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let n = stmt.parameter_count();
    let rows = stmt
        .query_map(params_from_iter(args.iter().take(n)), |r| {
            r.get::<_, i64>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The aids of one page sorted by name, kind or update time.
fn sorted_page(
    c: &Connection,
    plan: &Plan,
    sort: SearchSort,
    skip: u64,
    limit: u64,
) -> Result<Vec<i64>> {
    let order = match sort {
        SearchSort::Kind => "a.kind, a.name COLLATE NOCASE, a.aid",
        SearchSort::Updated => "a.updated_at DESC, a.aid",
        _ => "a.name COLLATE NOCASE, a.aid",
    };
    let sql = format!(
        "SELECT a.aid FROM artifacts a JOIN projects p ON p.rid = a.project_rid
         WHERE a.aid IN ({}){} ORDER BY {order}{}",
        plan.all_hits_sql(),
        plan.filters,
        page_clause(skip, Some(limit))
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let args = plan.args_for(&stmt);
    let ids = stmt
        .query_map(params_from_iter(args), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Loads the rows of `ids`, keeping their order, with each one's tier.
fn load_hits(c: &Connection, plan: &Plan, ids: &[i64]) -> Result<Vec<SearchHit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT {ART_COLS}, p.name, {TIER_SQL}, a.aid FROM artifacts a JOIN projects p ON p.rid = a.project_rid
         WHERE a.aid IN ({list})"
    );
    let mut by_id: HashMap<i64, SearchHit> = HashMap::with_capacity(ids.len());
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(plan.args.iter().take(2)))?;
    while let Some(r) = rows.next()? {
        by_id.insert(
            r.get(18)?,
            SearchHit {
                artifact: artifact_from_row(r)?,
                project_name: r.get(16)?,
                tier: r.get::<_, i64>(17)? as u8,
            },
        );
    }
    Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
}
