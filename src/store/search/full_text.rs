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

/// The counts behind a search's total.
pub(super) struct Counts {
    /// Rows the full-text expression matches (filtered).
    pub full_text: u64,
    /// Name matches the full-text expression misses.
    pub names_missed: u64,
}

/// Counts the full-text matches and the name matches (`names`, ascending ids, filtered) they
/// miss, so the total counts every match once.
///
/// A row whose name alone satisfies the expression (`{name} : ...`) is a full-text match, so
/// only the name matches outside that set are checked; for a whole-word query there are
/// usually none, and FTS5 counts without reading rows. Otherwise one pass over the full-text
/// matches both counts them and finds the unsure name matches among them.
pub(super) fn counts(c: &Connection, q: &Query, names: &[i64]) -> Result<Counts> {
    if !q.has_fts {
        return Ok(Counts {
            full_text: 0,
            names_missed: names.len() as u64,
        });
    }
    let unsure = if names.is_empty() {
        Vec::new()
    } else {
        let mut in_name = q.ints(
            c,
            "SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH :fts_name",
        )?;
        in_name.sort_unstable();
        sorted_difference(names, &in_name)
    };
    if unsure.is_empty() {
        return Ok(Counts {
            full_text: count(c, q)?,
            names_missed: 0,
        });
    }
    let (full_text, inside) = if q.filters.any() {
        let full_text = count(c, q)?;
        let inside = if full_text == 0 {
            0
        } else {
            let list = super::id_list(&unsure);
            // `+rowid` keeps the list away from FTS5, which would run the query once per id.
            q.count(
                c,
                &format!(
                    "SELECT count(*) FROM artifacts_fts WHERE artifacts_fts MATCH :fts AND +rowid IN ({list})"
                ),
            )?
        };
        (full_text, inside)
    } else {
        let all = q.ints(
            c,
            "SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH :fts",
        )?;
        let inside = all
            .iter()
            .filter(|aid| unsure.binary_search(aid).is_ok())
            .count();
        (all.len() as u64, inside as u64)
    };
    Ok(Counts {
        full_text,
        names_missed: (unsure.len() as u64).saturating_sub(inside),
    })
}

/// How many rows the full-text expression matches, filtered.
fn count(c: &Connection, q: &Query) -> Result<u64> {
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
        let want = skip
            .saturating_add(limit)
            .saturating_add(names.len())
            .saturating_add(seen.len());
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
