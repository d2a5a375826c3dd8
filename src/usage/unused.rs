//! The dashboard's "Unused" view: every loaded skill, agent, command and MCP server that no
//! session used in a window, across projects, with what each costs in context, sorted and
//! paged by the engine (a machine with 1,000 projects has 100,000 items; the view shows a page).

use super::answers::UsageQuery;
use crate::error::{CacheError, Result};
use crate::manager::CacheManager;
use serde::Serialize;

/// Order of the Unused view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnusedSort {
    /// Heaviest context cost first (what dropping the item would save).
    #[default]
    Tokens,
    /// By name, then project.
    Name,
    /// By kind, then name.
    Kind,
    /// Longest unused first (never used before any use).
    Last,
}

impl UnusedSort {
    /// Parses `tokens`, `name`, `kind` or `last`; anything else is an input error that lists
    /// them.
    pub fn parse(s: &str) -> Result<UnusedSort> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tokens" | "cost" => Ok(UnusedSort::Tokens),
            "name" => Ok(UnusedSort::Name),
            "kind" => Ok(UnusedSort::Kind),
            "last" | "last_used" => Ok(UnusedSort::Last),
            _ => Err(CacheError::InvalidInput(format!(
                "unknown sort '{s}' (use tokens, name, kind or last)"
            ))),
        }
    }
}

/// One loaded item no session used in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnusedRow {
    /// The artifact's id.
    pub aid: i64,
    /// Kind: `skill`, `agent`, `command` or `mcp_server`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its scope.
    pub scope: String,
    /// Id of the project holding it (the user scope's entry for user-scope items).
    pub project_id: String,
    /// Name of that project.
    pub project_name: String,
    /// Folder of that project.
    pub project_path: String,
    /// Its path relative to the project.
    pub path: String,
    /// Its last use ever (before the window), if any (Unix ms).
    pub last_used: Option<i64>,
    /// What it costs in context in every session of its project, in estimated tokens.
    pub context_tokens: u64,
}

/// A page of the Unused view.
#[derive(Debug, Clone, Serialize)]
pub struct UnusedPage {
    /// Unused items in all.
    pub total: u64,
    /// Rows skipped.
    pub skip: u64,
    /// The rows of this page.
    pub items: Vec<UnusedRow>,
    /// Estimated tokens over every unused item (not only this page).
    pub total_tokens: u64,
    /// The earliest use the index holds (Unix ms): before it, "unused" means "not recorded".
    pub indexed_since: Option<i64>,
}

impl CacheManager {
    /// Loaded items with no use in the last `days` days (1–3650), across every project,
    /// sorted by `sort`, `limit` rows (1–100,000) after `skip`.
    pub fn unused_items(
        &self,
        days: u32,
        sort: UnusedSort,
        skip: u64,
        limit: u64,
    ) -> Result<UnusedPage> {
        if !(1..=3650).contains(&days) {
            return Err(CacheError::InvalidInput(format!(
                "days must be from 1 to 3650, not {days}"
            )));
        }
        crate::manager::check_page(skip, Some(limit))?;
        let mut rows: Vec<UnusedRow> = self
            .usage_artifacts(&UsageQuery {
                project: None,
                days,
                unused_only: true,
            })?
            .into_iter()
            .map(|u| UnusedRow {
                aid: u.aid,
                kind: u.kind,
                name: u.name,
                scope: u.scope,
                project_id: u.project_id,
                project_name: u.project_name,
                project_path: u.project_path,
                path: u.path,
                last_used: u.last_used,
                context_tokens: u.tokens,
            })
            .collect();
        match sort {
            UnusedSort::Tokens => rows.sort_by(|a, b| {
                b.context_tokens
                    .cmp(&a.context_tokens)
                    .then_with(|| a.name.cmp(&b.name))
            }),
            UnusedSort::Name => rows.sort_by(|a, b| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then_with(|| a.project_name.cmp(&b.project_name))
            }),
            UnusedSort::Kind => {
                rows.sort_by(|a, b| a.kind.cmp(&b.kind).then_with(|| a.name.cmp(&b.name)))
            }
            UnusedSort::Last => rows.sort_by(|a, b| {
                a.last_used
                    .cmp(&b.last_used)
                    .then_with(|| b.context_tokens.cmp(&a.context_tokens))
            }),
        }
        let total = rows.len() as u64;
        let total_tokens = rows.iter().map(|r| r.context_tokens).sum();
        let items = rows
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        let indexed_since = self.usage_indexed_since()?;
        Ok(UnusedPage {
            total,
            skip,
            items,
            total_tokens,
            indexed_since,
        })
    }
}
