//! Full-text matches: their count, the name matches they miss, and the rows one page needs,
//! best first. FTS5 counts and ranks its own rows; nothing here joins every match.

use super::query::Query;
use crate::error::Result;
use rusqlite::Connection;

/// Relevance order of full-text matches: BM25 with column weights name, description, tags;
/// ties by id.
const BM25_ORDER: &str = "bm25(artifacts_fts, 10.0, 1.0, 4.0), artifacts_fts.rowid";

/// Newest first (ids grow with insertion).
const NEWEST_FIRST: &str = "artifacts_fts.rowid DESC";

/// Above this many full-text matches BM25 (about a microsecond per match) is not used: matches
/// in names or tags come first, then the rest, newest first within each.
const BROAD_QUERY: u64 = 5_000;

/// How many rows the full-text expression matches, filtered.
pub(super) fn count(c: &Connection, q: &Query) -> Result<u64> {
    if !q.has_fts {
        return Ok(0);
    }
    if !q.filters.any() {
        return q.count(
            c,
            "SELECT count(*) FROM artifacts_fts WHERE artifacts_fts MATCH :fts",
        );
    }
    q.count(
        c,
        &format!(
            "SELECT count(*) FROM artifacts_fts f JOIN artifact_keys k ON k.aid = f.rowid
             WHERE artifacts_fts MATCH :fts{}",
            q.filters.on("k")
        ),
    )
}

/// How many of the name matches `names` (ascending ids) the full-text expression misses, so
/// the total counts every match once.
///
/// A row whose name alone satisfies the expression (`{name} : ...`) is a full-text match, so
/// only the name matches outside that set are checked, in one pass over the full-text matches.
/// For a whole-word query that set is usually empty.
pub(super) fn names_missed(
    c: &Connection,
    q: &Query,
    names: &[i64],
    full_text: u64,
) -> Result<u64> {
    if names.is_empty() || !q.has_fts {
        return Ok(names.len() as u64);
    }
    let mut in_name = q.ints(
        c,
        "SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH :fts_name",
    )?;
    in_name.sort_unstable();
    let unsure = sorted_difference(names, &in_name);
    if unsure.is_empty() || full_text == 0 {
        return Ok(unsure.len() as u64);
    }
    let list = unsure
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    // `+rowid` keeps the list away from FTS5, which would run the whole query once per id.
    let inside = q.count(
        c,
        &format!(
            "SELECT count(*) FROM artifacts_fts WHERE artifacts_fts MATCH :fts AND +rowid IN ({list})"
        ),
    )?;
    Ok((unsure.len() as u64).saturating_sub(inside))
}

/// The ids in `a` and not in `b` (both ascending).
fn sorted_difference(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// Appends to `page` the full-text matches that are not name matches (`names`, ascending),
/// best first, skipping the first `skip` of them, until `page` holds `limit` ids. `full_text`
/// is their count; each ranked source is asked only when the ones before it fall short.
pub(super) fn fill_page(
    c: &Connection,
    q: &Query,
    full_text: u64,
    names: &[i64],
    skip: usize,
    limit: usize,
    page: &mut Vec<i64>,
) -> Result<()> {
    let sources: &[(&str, &str)] = if full_text > BROAD_QUERY {
        &[(":fts_name_tags", NEWEST_FIRST), (":fts", NEWEST_FIRST)]
    } else {
        &[(":fts", BM25_ORDER)]
    };
    let mut seen = std::collections::HashSet::new();
    let mut n = 0usize;
    for &(expr, order) in sources {
        let want = skip + limit + names.len() + seen.len();
        for aid in rows(c, q, expr, order, want)? {
            if names.binary_search(&aid).is_ok() || !seen.insert(aid) {
                continue;
            }
            if n >= skip {
                page.push(aid);
                if page.len() >= limit {
                    return Ok(());
                }
            }
            n += 1;
        }
    }
    Ok(())
}

/// Up to `want` rows (filtered) matching the expression parameter `expr`, in `order`.
fn rows(c: &Connection, q: &Query, expr: &str, order: &str, want: usize) -> Result<Vec<i64>> {
    let sql = if q.filters.any() {
        format!(
            "SELECT artifacts_fts.rowid FROM artifacts_fts JOIN artifact_keys k ON k.aid = artifacts_fts.rowid
             WHERE artifacts_fts MATCH {expr}{} ORDER BY {order} LIMIT {want}",
            q.filters.on("k")
        )
    } else {
        format!(
            "SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH {expr} ORDER BY {order} LIMIT {want}"
        )
    };
    q.ints(c, &sql)
}
