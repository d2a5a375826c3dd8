//! One parsed search request: its text, its words, its filters and the named SQL parameters
//! every search statement draws from.

use crate::error::Result;
use crate::model::{ArtifactKind, Scope};
use crate::store::read::like_escape;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row, Statement};

/// Queries this long (in characters) match anywhere in a name, through the trigram index;
/// shorter ones match the start of a name, through the name index.
const SUBSTRING_MIN_CHARS: usize = 3;

/// A search request, parsed once.
pub(super) struct Query {
    /// The trimmed query text.
    pub text: String,
    /// Whether the query has words, so a full-text expression (`:fts`).
    pub has_fts: bool,
    /// The project and kind filters.
    pub filters: Filters,
    /// Named SQL parameters: `:q`, `:hi`, `:prefix`, `:tri`, `:fts`, `:fts_name`,
    /// `:fts_name_tags`, `:project`, `:kind`.
    params: Vec<(&'static str, SqlValue)>,
}

/// The project and kind filters, as SQL conditions on a table alias.
pub(super) struct Filters {
    project: bool,
    kind: bool,
    scope: bool,
    loaded: Option<bool>,
}

impl Filters {
    /// ` AND ...` conditions on the table aliased `t` (which has `project_rid` and `kind`).
    pub fn on(&self, t: &str) -> String {
        let mut s = String::new();
        if self.project {
            s.push_str(&format!(
                " AND {t}.project_rid = (SELECT rid FROM projects WHERE id = :project)"
            ));
        }
        if self.kind {
            s.push_str(&format!(" AND {t}.kind = :kind"));
        }
        if self.scope || self.loaded.is_some() {
            s.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM artifacts x WHERE x.aid = {t}.aid"
            ));
            if self.scope {
                s.push_str(" AND x.scope = :scope");
            }
            if let Some(l) = self.loaded {
                s.push_str(&format!(" AND x.loaded = {}", i64::from(l)));
            }
            s.push(')');
        }
        s
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        self.project || self.kind || self.scope || self.loaded.is_some()
    }
}

impl Query {
    /// Parses a trimmed, non-empty query with its filters.
    pub fn new(
        q: &str,
        project: Option<&str>,
        kind: Option<ArtifactKind>,
        scope: Option<Scope>,
        loaded: Option<bool>,
    ) -> Query {
        let words: Vec<String> = q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| format!("\"{}\"*", t.to_lowercase().replace('"', "\"\"")))
            .collect();
        let mut params: Vec<(&'static str, SqlValue)> = vec![
            (":q", q.to_string().into()),
            (":hi", format!("{q}\u{10FFFF}").into()),
            (":prefix", format!("{}%", like_escape(q)).into()),
            (":tri", format!("\"{}\"", q.replace('"', "\"\"")).into()),
        ];
        if !words.is_empty() {
            let expr = words.join(" ");
            params.push((":fts_name", format!("{{name}} : ({expr})").into()));
            params.push((":fts_name_tags", format!("{{name tags}} : ({expr})").into()));
            params.push((":fts", expr.into()));
        }
        if let Some(p) = project {
            params.push((":project", p.to_string().into()));
        }
        if let Some(k) = kind {
            params.push((":kind", k.as_str().to_string().into()));
        }
        if let Some(sc) = scope {
            params.push((":scope", sc.as_str().to_string().into()));
        }
        Query {
            text: q.to_string(),
            has_fts: !words.is_empty(),
            filters: Filters {
                project: project.is_some(),
                kind: kind.is_some(),
                scope: scope.is_some(),
                loaded,
            },
            params,
        }
    }

    /// Whether names match anywhere (trigram index) rather than at the start.
    pub fn substring(&self) -> bool {
        self.text.chars().count() >= SUBSTRING_MIN_CHARS
    }

    /// Whether `name` equals the query, ignoring ASCII case (as SQLite's NOCASE does).
    pub fn is_exact(&self, name: &str) -> bool {
        name.eq_ignore_ascii_case(&self.text)
    }

    /// Whether `name` starts with the query, ignoring ASCII case (as SQLite's LIKE does).
    pub fn is_prefix(&self, name: &str) -> bool {
        let n = self.text.len();
        name.len() >= n && name.is_char_boundary(n) && name[..n].eq_ignore_ascii_case(&self.text)
    }

    /// Binds the parameters `stmt` names and runs it, mapping each row.
    pub fn rows<T>(
        &self,
        stmt: &mut Statement<'_>,
        mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        for (name, value) in &self.params {
            if let Some(i) = stmt.parameter_index(name)? {
                stmt.raw_bind_parameter(i, value)?;
            }
        }
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(r)?);
        }
        Ok(out)
    }

    /// Runs a (cached) statement and returns its first column as ids (or counts).
    pub fn ints(&self, c: &Connection, sql: &str) -> Result<Vec<i64>> {
        let mut stmt = c.prepare_cached(sql)?;
        self.rows(&mut stmt, |r| r.get::<_, i64>(0))
    }

    /// Runs a (cached) statement returning one count.
    pub fn count(&self, c: &Connection, sql: &str) -> Result<u64> {
        Ok(self.ints(c, sql)?.first().copied().unwrap_or(0).max(0) as u64)
    }
}
