//! `skillmeat-cache`: a persistent, always-fresh cache of Claude Code projects.
//!
//! The engine finds projects (folders with a `.claude/` directory), scans their skills, agents,
//! commands, hooks and MCP servers, keeps the metadata in SQLite and answers from it in
//! milliseconds. Every way into the cache (CLI, tray app, watcher, schedule) goes through
//! [`CacheManager`]. The engine knows nothing of Tauri.

pub mod budget;
pub mod claude;
pub mod collection;
pub mod config;
pub mod corpus;
pub mod cost;
pub mod discover;
pub mod error;
pub mod events;
pub mod frontmatter;
pub mod fsutil;
pub mod hash;
pub mod humanize;
pub mod library;
pub mod loading;
pub mod manager;
pub mod model;
pub mod notes;
pub mod notices;
pub mod paths;
pub mod records;
pub mod refresh;
pub mod scan;
pub mod schedule;
pub mod service;
pub mod store;
pub mod usage;
pub mod watch;

pub use config::{Config, Overrides};
pub use error::{CacheError, Result};
pub use events::{CacheEvent, EventBus, InvalidationReason};
pub use manager::{ArtifactQuery, CacheManager, RefreshPlan, SearchQuery};
pub use model::*;
