//! Claude Code's own files outside a project: `~/.claude.json`, the settings files, MCP
//! server definitions, and the per-project context a scan needs to decide what is loaded.

pub mod claude_json;
pub mod context;
pub mod mcp;
pub mod plugins;
pub mod settings;
