//! The usage index (issue 12): which skills, agents, commands and MCP servers Claude Code's
//! own session transcripts (`~/.claude/projects/<slug>/*.jsonl`) show in use.
//!
//! - [`parse`]: one transcript line → the uses it records (names only, nothing private);
//! - [`reader`]: streaming a file from an offset in bounded memory, complete lines only;
//! - [`index`]: the incremental pass (`CacheManager::update_usage`), per file (device, inode,
//!   size, offset), re-reading truncated or replaced files;
//! - [`answers`]: per artifact and per project figures (`CacheManager::usage_artifacts`,
//!   `CacheManager::usage_project`, `CacheManager::usage_status`);
//! - [`unused`]: the dashboard's Unused view, across projects, sorted and paged;
//! - [`watch`]: a watcher on the transcripts folder that indexes appends as they happen.

pub mod answers;
pub mod index;
pub mod parse;
pub mod reader;
pub mod unused;
pub mod watch;

pub use answers::{
    ArtifactUsage, ProjectUsage, SERIES_DAYS, UnusedItem, UsageQuery, UsageStatus, UsedName,
};
pub use index::UsageReport;
pub use unused::{UnusedPage, UnusedRow, UnusedSort};
