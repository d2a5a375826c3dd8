//! Search: names first (exact, then prefix, then anywhere in the name), then full-text
//! matches over names, descriptions and tags; filtered, paged, with the exact total.
//!
//! A match is an artifact whose name contains the query (for a query of one or two
//! characters: whose name starts with it), or whose words start with every word of the query.
//! Broad queries match tens of thousands of artifacts, so nothing here joins, sorts or unions
//! every match: the total is the full-text count (FTS5 counts without reading rows) plus the
//! name matches the full text misses, and only the rows of the page asked for are ranked and
//! read.

mod full_text;
mod names;
mod query;

use super::Store;
use super::read::{ART_COLS, artifact_from_row, page_clause};
use crate::error::{CacheError, Result};
use crate::model::{ArtifactKind, Page, Scope, SearchHit};
use crate::store::SearchSort;
use query::Query;
use rusqlite::Connection;
use std::collections::HashMap;

/// The filters of a search.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchFilter<'a> {
    /// Only this project (by id).
    pub project: Option<&'a str>,
    /// Only this kind.
    pub kind: Option<ArtifactKind>,
    /// Only this scope.
    pub scope: Option<Scope>,
    /// Only loaded (true) or not loaded (false) items.
    pub loaded: Option<bool>,
}

/// Tier of a full-text match whose name does not match.
const TIER_FULL_TEXT: u8 = 3;

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
        let filter = SearchFilter {
            project,
            kind,
            ..Default::default()
        };
        self.search_in(query, &filter, sort, skip, limit)
    }

    /// [`Store::search`] with every filter, scope and loaded state included.
    pub fn search_in(
        &self,
        query: &str,
        filter: &SearchFilter<'_>,
        sort: SearchSort,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Page<SearchHit>> {
        if sort == SearchSort::Usage {
            // The uses are not in the search tables: CacheManager::search brings them.
            return Err(CacheError::InvalidInput(
                "ordering by usage needs the usage index: use Store::search_by_uses".into(),
            ));
        }
        let q = prepare(query, filter)?;
        let limit = limit.unwrap_or(50);
        self.read(|c| {
            let want = match sort {
                SearchSort::Relevance => skip.saturating_add(limit) as usize,
                _ => 0,
            };
            let names = names::find(c, &q, want)?;
            let counts = full_text::counts(c, &q, &names.ids)?;
            let (full_text, total) = (counts.full_text, counts.full_text + counts.names_missed);
            let items = match sort {
                SearchSort::Relevance => {
                    let (ids, tiers) = relevance_page(c, &q, &names, full_text, skip, limit)?;
                    load_hits(c, &ids, |aid, _| {
                        tiers.get(&aid).copied().unwrap_or(TIER_FULL_TEXT)
                    })?
                }
                other => {
                    let ids = sorted_page(c, &q, other, skip, limit)?;
                    load_hits(c, &ids, |_, name| {
                        names::tier_of(&q, name).unwrap_or(TIER_FULL_TEXT)
                    })?
                }
            };
            Ok(Page { total, skip, items })
        })
    }

    /// [`Store::search_in`] ordered by `uses` (artifact id → uses; most first), matches with
    /// equal or no uses by name. Every match's id is read to order them (the uses come from
    /// outside the database's search tables), so it costs more than the other orders on very
    /// broad queries.
    pub fn search_by_uses(
        &self,
        query: &str,
        filter: &SearchFilter<'_>,
        uses: &HashMap<i64, u64>,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Page<SearchHit>> {
        let q = prepare(query, filter)?;
        let limit = limit.unwrap_or(50);
        self.read(|c| {
            let names = names::find(c, &q, 0)?;
            let counts = full_text::counts(c, &q, &names.ids)?;
            let total = counts.full_text + counts.names_missed;
            // Every match by name, then a stable sort by uses keeps names in order on ties.
            let mut ids = sorted_page(c, &q, SearchSort::Name, 0, total)?;
            ids.sort_by_key(|aid| std::cmp::Reverse(uses.get(aid).copied().unwrap_or(0)));
            let page: Vec<i64> = ids
                .into_iter()
                .skip(usize::try_from(skip).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect();
            let items = load_hits(c, &page, |_, name| {
                names::tier_of(&q, name).unwrap_or(TIER_FULL_TEXT)
            })?;
            Ok(Page { total, skip, items })
        })
    }
}

/// The query as the search runs it; an empty one is an input error.
fn prepare(query: &str, filter: &SearchFilter<'_>) -> Result<Query> {
    let q = query.trim();
    if q.is_empty() {
        return Err(CacheError::InvalidInput("the search query is empty".into()));
    }
    Ok(Query::new(
        q,
        filter.project,
        filter.kind,
        filter.scope,
        filter.loaded,
    ))
}

/// The ids of one page in relevance order, with the tier of each name match among them:
/// name matches by rank, then full-text matches.
fn relevance_page(
    c: &Connection,
    q: &Query,
    names: &names::NameMatches,
    full_text: u64,
    skip: u64,
    limit: u64,
) -> Result<(Vec<i64>, HashMap<i64, u8>)> {
    let (skip, limit) = (skip as usize, limit as usize);
    let mut page = Vec::with_capacity(limit.min(1000));
    let mut tiers = HashMap::new();
    for n in names.ranked.iter().skip(skip).take(limit) {
        page.push(n.aid);
        tiers.insert(n.aid, n.tier);
    }
    if page.len() < limit && q.has_fts && full_text > 0 {
        let rest_skip = skip.saturating_sub(names.ids.len());
        full_text::fill_page(c, q, full_text, &names.ids, rest_skip, limit, &mut page)?;
    }
    Ok((page, tiers))
}

/// The ids of one page sorted by name, kind or update time.
fn sorted_page(
    c: &Connection,
    q: &Query,
    sort: SearchSort,
    skip: u64,
    limit: u64,
) -> Result<Vec<i64>> {
    let order = match sort {
        SearchSort::Kind => "a.kind, a.name COLLATE NOCASE, a.aid",
        SearchSort::Updated => "a.updated_at DESC, a.aid",
        _ => "a.name COLLATE NOCASE, a.aid",
    };
    let names = names::ids_sql(q);
    let hits = if q.has_fts {
        format!("SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH :fts UNION {names}")
    } else {
        names
    };
    q.ints(
        c,
        &format!(
            "SELECT a.aid FROM artifacts a WHERE a.aid IN ({hits}){} ORDER BY {order}{}",
            q.filters.on("a"),
            page_clause(skip, Some(limit))
        ),
    )
}

/// Ids as a comma-separated SQL list (integers, so nothing to escape).
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Loads the rows of `ids`, keeping their order; `tier` gives each row's tier from its id and
/// name.
fn load_hits(
    c: &Connection,
    ids: &[i64],
    tier: impl Fn(i64, &str) -> u8,
) -> Result<Vec<SearchHit>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = id_list(ids);
    let sql = format!(
        "SELECT {ART_COLS}, p.name, a.aid FROM artifacts a JOIN projects p ON p.rid = a.project_rid
         WHERE a.aid IN ({list})"
    );
    let mut by_id: HashMap<i64, SearchHit> = HashMap::with_capacity(ids.len());
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let aid: i64 = r.get(21)?;
        let artifact = artifact_from_row(r)?;
        by_id.insert(
            aid,
            SearchHit {
                tier: tier(aid, &artifact.name),
                artifact,
                project_name: r.get(20)?,
            },
        );
    }
    Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
}
