//! Name matches: which artifacts' names match the query, and their ranking (exact, then
//! prefix, then anywhere in the name; shorter names first within a tier).
//!
//! Names are read from `artifact_keys`, a narrow copy of each artifact's name, project and
//! kind: exact and prefix matches through its NOCASE name index, matches anywhere through the
//! trigram index `artifact_names`.

use super::query::Query;
use crate::error::Result;
use std::collections::HashSet;

/// Tier of a name equal to the query.
const TIER_EXACT: u8 = 0;
/// Tier of a name starting with the query.
const TIER_PREFIX: u8 = 1;
/// Tier of a name containing the query elsewhere.
const TIER_SUBSTRING: u8 = 2;

/// A name that matches the query, with its tier.
pub(super) struct NameMatch {
    /// The artifact's id.
    pub aid: i64,
    /// The artifact's name.
    pub name: String,
    /// 0 exact, 1 prefix, 2 anywhere in the name.
    pub tier: u8,
}

/// The name matches of a query.
pub(super) struct NameMatches {
    /// Every name match's id (filtered), ascending.
    pub ids: Vec<i64>,
    /// The first `want` matches in rank order (fewer when there are fewer).
    pub ranked: Vec<NameMatch>,
}

/// Finds the name matches (filtered): all their ids, and the first `want` ranked. The exact
/// and prefix tiers come ranked from the name index; the names of the other matches are read
/// (and ranked) only when `want` reaches past those tiers.
pub(super) fn find(c: &rusqlite::Connection, q: &Query, want: usize) -> Result<NameMatches> {
    // Sorted listings want no ranked names, only the ids.
    let head = if want == 0 {
        Vec::new()
    } else {
        prefix_ranked(c, q, want)?
    };
    if head.len() >= want {
        return Ok(NameMatches {
            ids: match_ids(c, q)?,
            ranked: head,
        });
    }
    // Fewer prefix matches than wanted: `head` holds all of them.
    if !q.substring() {
        let mut ids: Vec<i64> = head.iter().map(|n| n.aid).collect();
        ids.sort_unstable();
        return Ok(NameMatches { ids, ranked: head });
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT k.aid, k.name FROM artifact_names t JOIN artifact_keys k ON k.aid = t.rowid
         WHERE artifact_names MATCH :tri{}",
        q.filters.on("k")
    ))?;
    let mut rest = q.rows(&mut stmt, |r| {
        Ok(NameMatch {
            aid: r.get(0)?,
            name: r.get(1)?,
            tier: TIER_SUBSTRING,
        })
    })?;
    let mut ids: Vec<i64> = rest.iter().map(|n| n.aid).collect();
    ids.sort_unstable();
    let start: HashSet<i64> = head.iter().map(|n| n.aid).collect();
    rest.retain(|n| !start.contains(&n.aid));
    // The same order as `prefix_ranked` uses within a tier.
    rest.sort_by_cached_key(|n| (n.name.chars().count(), n.name.to_ascii_lowercase(), n.aid));
    rest.truncate(want - head.len());
    let mut ranked = head;
    ranked.extend(rest);
    Ok(NameMatches { ids, ranked })
}

/// The ids of every name match (filtered), ascending.
fn match_ids(c: &rusqlite::Connection, q: &Query) -> Result<Vec<i64>> {
    let filters = q.filters.on("k");
    let mut ids = if !q.substring() {
        q.ints(
            c,
            &format!("SELECT k.aid FROM artifact_keys k WHERE {PREFIX}{filters}"),
        )?
    } else if filters.is_empty() {
        q.ints(
            c,
            "SELECT rowid FROM artifact_names WHERE artifact_names MATCH :tri",
        )?
    } else {
        q.ints(
            c,
            &format!(
                "SELECT k.aid FROM artifact_names t JOIN artifact_keys k ON k.aid = t.rowid
                 WHERE artifact_names MATCH :tri{filters}"
            ),
        )?
    };
    ids.sort_unstable();
    Ok(ids)
}

/// Names starting with the query (ignoring ASCII case): the range uses the NOCASE index and
/// LIKE (ASCII case-insensitive too) makes it exact.
const PREFIX: &str = "k.name >= :q COLLATE NOCASE AND k.name < :hi COLLATE NOCASE
     AND k.name LIKE :prefix ESCAPE '\\'";

/// The first `want` exact and prefix matches, ranked: exact first, then shorter names, then
/// name (SQLite's length() counts characters and NOCASE folds ASCII, so this is the order a
/// Rust sort on (characters, ASCII-lowercase name, id) gives too), then id.
fn prefix_ranked(c: &rusqlite::Connection, q: &Query, want: usize) -> Result<Vec<NameMatch>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT k.aid, k.name FROM artifact_keys k WHERE {PREFIX}{}
         ORDER BY k.name <> :q COLLATE NOCASE, length(k.name), k.name COLLATE NOCASE, k.aid
         LIMIT {}",
        q.filters.on("k"),
        want.min(i64::MAX as usize)
    ))?;
    q.rows(&mut stmt, |r| {
        let name: String = r.get(1)?;
        Ok(NameMatch {
            aid: r.get(0)?,
            tier: if q.is_exact(&name) {
                TIER_EXACT
            } else {
                TIER_PREFIX
            },
            name,
        })
    })
}

/// The name tier of `name` for a row found another way (sorted listings): exact, prefix,
/// anywhere (for queries long enough to match anywhere), or `None`.
pub(super) fn tier_of(q: &Query, name: &str) -> Option<u8> {
    if q.is_exact(name) {
        Some(TIER_EXACT)
    } else if q.is_prefix(name) {
        Some(TIER_PREFIX)
    } else if q.substring() && name.to_lowercase().contains(&q.text.to_lowercase()) {
        Some(TIER_SUBSTRING)
    } else {
        None
    }
}

/// SQL yielding the aid of every name match (filtered), for the sorted listings.
pub(super) fn ids_sql(q: &Query) -> String {
    let filters = q.filters.on("k");
    if q.substring() {
        format!(
            "SELECT k.aid FROM artifact_names t JOIN artifact_keys k ON k.aid = t.rowid
             WHERE artifact_names MATCH :tri{filters}"
        )
    } else {
        format!("SELECT k.aid FROM artifact_keys k WHERE {PREFIX}{filters}")
    }
}
