//! New artifact rows written together, one statement per write transaction.
//!
//! Every write statement inside a transaction opens a statement savepoint, and FTS5 writes its
//! pending index entries to disk at each savepoint (SQLite 3.54's `fts5SavepointMethod`):
//! inserted one per statement, every artifact became a segment of its own in both full-text
//! indexes, then merged again and again. Here a write's new rows (every project of a batched
//! refresh) are staged in a temporary table with no index nor trigger, several rows per
//! statement, then moved into `artifacts` with one `INSERT ... SELECT` (in the order staged, so
//! ids ascend in that order): both full-text indexes get one segment per write, whatever the
//! number of projects and rows. The temporary table lives in the writer connection's memory.

use crate::error::Result;
use crate::scan::ScannedArtifact;
use rusqlite::Transaction;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

/// A new artifact row waiting to be inserted.
pub(super) struct NewRow<'a> {
    /// What the scan found.
    pub(super) artifact: &'a ScannedArtifact,
    /// Its fingerprint.
    pub(super) fp: String,
    /// Its problem code.
    pub(super) problem: Option<&'static str>,
}

/// The new rows of one write transaction, staged as they come and moved into `artifacts` by
/// [`PendingRows::flush`] before the transaction commits.
#[derive(Default)]
pub(super) struct PendingRows {
    staged: usize,
}

/// Columns of one row (`?` placeholders per row).
const COLUMNS: usize = 25;

/// The columns, in the order of the staged rows' values.
const COLUMN_NAMES: &str =
    "project_rid, kind, name, description, path, content_hash, frontmatter, version, tags, aliases,
     local_modified, outdated, upstream_version, version_cmp, extra, source, stamp, fp, updated_at,
     scope, plugin, loaded, not_loaded, problem, tokens";

/// Largest number of rows per staging statement (a power of two: a remainder is written in
/// chunks of the smaller powers, so at most a handful of distinct statements is ever
/// prepared).
const MAX_ROWS: usize = 64;

impl PendingRows {
    /// Stages the new rows of the project `rid`, with `now` as their update time.
    pub(super) fn push(
        &mut self,
        tx: &Transaction<'_>,
        rid: i64,
        now: i64,
        rows: &[NewRow<'_>],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.staged == 0 {
            tx.execute_batch(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS staged_artifacts(seq INTEGER PRIMARY KEY, {COLUMN_NAMES});
                 DELETE FROM temp.staged_artifacts;"
            ))?;
        }
        let mut rest = rows;
        while !rest.is_empty() {
            let n = chunk_len(rest.len());
            let (chunk, tail) = rest.split_at(n);
            let mut stmt = tx.prepare_cached(&staging_sql(n))?;
            // Text is bound borrowed from the artifacts (no copy); only the JSON columns are
            // made here.
            let json: Vec<[String; 3]> = chunk.iter().map(|r| json_columns(r.artifact)).collect();
            let mut values: Vec<ToSqlOutput<'_>> = Vec::with_capacity(n * COLUMNS);
            for (r, json) in chunk.iter().zip(&json) {
                push_row(&mut values, rid, now, r, json);
            }
            stmt.execute(rusqlite::params_from_iter(values.iter()))?;
            rest = tail;
        }
        self.staged += rows.len();
        Ok(())
    }

    /// Moves every staged row into `artifacts` (in the order staged) with one statement.
    pub(super) fn flush(self, tx: &Transaction<'_>) -> Result<()> {
        if self.staged == 0 {
            return Ok(());
        }
        tx.prepare_cached(&format!(
            "INSERT INTO artifacts({COLUMN_NAMES}) SELECT {COLUMN_NAMES} FROM temp.staged_artifacts ORDER BY seq"
        ))?
        .execute([])?;
        tx.prepare_cached("DELETE FROM temp.staged_artifacts")?
            .execute([])?;
        Ok(())
    }
}

/// The largest power of two no bigger than `len` nor [`MAX_ROWS`].
fn chunk_len(len: usize) -> usize {
    let len = len.min(MAX_ROWS);
    1 << (usize::BITS - 1 - len.leading_zeros())
}

fn staging_sql(rows: usize) -> String {
    let mut sql = format!("INSERT INTO temp.staged_artifacts({COLUMN_NAMES}) VALUES ");
    let row = format!("({})", vec!["?"; COLUMNS].join(","));
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&row);
    }
    sql
}

fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

fn opt_text(s: Option<&str>) -> ToSqlOutput<'_> {
    s.map(text).unwrap_or(ToSqlOutput::Owned(Value::Null))
}

fn int(i: i64) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(Value::Integer(i))
}

fn opt_flag(b: Option<bool>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(b.map_or(Value::Null, |b| Value::Integer(i64::from(b))))
}

/// The row's JSON columns: tags, aliases, extra.
fn json_columns(a: &ScannedArtifact) -> [String; 3] {
    let list = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    [list(&a.tags), list(&a.aliases), a.extra.to_string()]
}

fn push_row<'a>(
    values: &mut Vec<ToSqlOutput<'a>>,
    rid: i64,
    now: i64,
    r: &'a NewRow<'a>,
    json: &'a [String; 3],
) {
    let a = r.artifact;
    values.extend([
        int(rid),
        text(a.kind.as_str()),
        text(&a.name),
        text(&a.description),
        text(&a.path),
        text(&a.content_hash),
        text(a.frontmatter.as_str()),
        opt_text(a.version.as_deref()),
        text(&json[0]),
        text(&json[1]),
        opt_flag(a.local_modified),
        opt_flag(a.outdated),
        opt_text(a.upstream_version.as_deref()),
        opt_text(a.version_cmp.map(|v| v.as_str())),
        text(&json[2]),
        text(&a.source),
        text(&a.stamp),
        text(&r.fp),
        int(now),
        text(a.scope.as_str()),
        opt_text(a.plugin.as_deref()),
        int(i64::from(a.loaded)),
        opt_text(a.not_loaded.map(|n| n.as_str())),
        opt_text(r.problem),
        int(i64::from(a.tokens)),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_up_to_the_cap() {
        assert_eq!(chunk_len(1), 1);
        assert_eq!(chunk_len(3), 2);
        assert_eq!(chunk_len(64), 64);
        assert_eq!(chunk_len(100), 64);
        assert_eq!(chunk_len(63), 32);
    }

    #[test]
    fn statement_has_a_placeholder_per_column_and_row() {
        let sql = staging_sql(3);
        assert_eq!(sql.matches('?').count(), 3 * COLUMNS);
        assert_eq!(sql.matches("),(").count(), 2);
    }
}
