//! The library: every artifact identity across projects, its copies and their variants, what
//! each project costs in context, and the cross-project findings. Plain data (serde) for the
//! CLI and the dashboard; the queries live in `store/library.rs`, the API on
//! [`crate::CacheManager`] (`library`, `where_is`, `variant_diff`, `project_cost`, `findings`).
//!
//! An identity is (kind, plugin, name): `plugin` is empty for items that no plugin provides.
//! A variant is one content (the SkillMeat content hash) of an identity. Memory files are
//! not in the library: each project's own by nature, they would all "drift".

use crate::model::{ArtifactKind, Scope};
use serde::{Deserialize, Serialize};

/// Order of a library page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LibrarySort {
    /// Most copies first.
    #[default]
    Copies,
    /// Most variants first.
    Variants,
    /// Highest context cost (tokens summed over every copy) first.
    Cost,
    /// By name, then kind.
    Name,
}

impl LibrarySort {
    /// Parses `copies`, `variants`, `cost` or `name`; anything else is an input error that
    /// lists them.
    pub fn parse(s: &str) -> crate::error::Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "copies" => Ok(LibrarySort::Copies),
            "variants" => Ok(LibrarySort::Variants),
            "cost" | "tokens" => Ok(LibrarySort::Cost),
            "name" => Ok(LibrarySort::Name),
            _ => Err(crate::error::CacheError::InvalidInput(format!(
                "unknown sort '{s}' (use copies, variants, cost or name)"
            ))),
        }
    }
}

/// What library page to read.
#[derive(Debug, Clone, Default)]
pub struct LibraryQuery {
    /// Only this kind.
    pub kind: Option<ArtifactKind>,
    /// Only identities with more than one variant.
    pub drifted_only: bool,
    /// Order.
    pub sort: LibrarySort,
    /// Rows to skip.
    pub skip: u64,
    /// Most rows (default 50).
    pub limit: Option<u64>,
}

/// Copies of an identity by scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeCounts {
    /// User scope (`~/.claude`).
    pub user: u64,
    /// Project scope.
    pub project: u64,
    /// Local scope.
    pub local: u64,
    /// Provided by a plugin.
    pub plugin: u64,
    /// Managed (enterprise).
    pub managed: u64,
}

/// One artifact identity across every cached project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Kind.
    pub kind: ArtifactKind,
    /// The plugin providing it (`name@marketplace`); `None` for items of no plugin.
    pub plugin: Option<String>,
    /// Name.
    pub name: String,
    /// Copies over all projects (normally one per project that has it).
    pub copies: u64,
    /// Distinct contents (SkillMeat content hashes) among the copies.
    pub variants: u64,
    /// True when the copies do not all have the same content.
    pub drifted: bool,
    /// Copies with a SkillMeat deployment record.
    pub managed: u64,
    /// Estimated tokens over every loaded copy (see [`crate::cost`]).
    pub tokens: u64,
    /// Copies by scope.
    pub scopes: ScopeCounts,
    /// The content hash the SkillMeat collection holds for this name and kind, when known.
    pub collection_hash: Option<String>,
    /// How many copies have the collection's content (`None` when the collection does not
    /// know the artifact).
    pub collection_copies: Option<u64>,
}

/// One copy of an identity, in one project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryCopy {
    /// The artifact's row id (for [`crate::CacheManager::variant_diff`]).
    pub aid: i64,
    /// Project id.
    pub project_id: String,
    /// Project display name.
    pub project_name: String,
    /// Project folder.
    pub project_path: String,
    /// Scope of the copy.
    pub scope: Scope,
    /// Path of the copy relative to its project.
    pub path: String,
    /// True when a SkillMeat deployment record covers it.
    pub managed: bool,
    /// Changed since SkillMeat deployed it (`None`: not managed).
    pub local_modified: Option<bool>,
    /// The collection has a different version (`None`: unknown).
    pub outdated: Option<bool>,
    /// Whether Claude Code loads it in its project.
    pub loaded: bool,
    /// Unix ms when the cache last saw it change.
    pub updated_at: i64,
    /// Estimated tokens it costs its project.
    pub tokens: u32,
}

/// The copies of an identity that share one content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LibraryVariant {
    /// The SkillMeat content hash.
    pub content_hash: String,
    /// True for the variant with the most recently changed copy.
    pub newest: bool,
    /// True when this is the content the SkillMeat collection holds.
    pub in_collection: bool,
    /// Unix ms of its most recently changed copy.
    pub updated_at: i64,
    /// The copies, newest first.
    pub copies: Vec<LibraryCopy>,
}

/// Every copy of one identity, grouped by variant (the answer of `where`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhereEntry {
    /// Kind.
    pub kind: ArtifactKind,
    /// The plugin providing it, if any.
    pub plugin: Option<String>,
    /// Name.
    pub name: String,
    /// Distinct projects that have it.
    pub projects: u64,
    /// The variants, most copies first.
    pub variants: Vec<LibraryVariant>,
}

/// One item of a project's context cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CostItem {
    /// The artifact's row id.
    pub aid: i64,
    /// Kind.
    pub kind: ArtifactKind,
    /// Name.
    pub name: String,
    /// Scope (`user` for items that reach the project from `~/.claude`).
    pub scope: Scope,
    /// Estimated tokens.
    pub tokens: u32,
    /// What is counted: `memory` (the file and its imports), `rule`, `output_style` (the
    /// active one) or `listing` (the name and description line).
    pub what: String,
}

/// What a session started in a project loads before the first prompt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProjectCost {
    /// Project id.
    pub project_id: String,
    /// Project display name.
    pub project_name: String,
    /// Estimated tokens in all.
    pub total_tokens: u64,
    /// The items that cost something, heaviest first.
    pub items: Vec<CostItem>,
    /// Characters of the skill listing (skills and commands the model may invoke, the user
    /// scope's included; see [`crate::budget`]).
    pub listing_chars: u64,
    /// The listing's budget in characters.
    pub listing_budget: u64,
}

/// A cross-project finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// `drift` (one identity, several contents across projects), `differs_from_user` (a
    /// project copy whose content differs from the user-scope copy of the same name) or
    /// `heavy_context` (a project whose startup context exceeds [`HEAVY_FACTOR`] × the median).
    pub code: String,
    /// The identity's kind (not for `heavy_context`).
    pub kind: Option<ArtifactKind>,
    /// The identity's name (not for `heavy_context`).
    pub name: Option<String>,
    /// The plugin of the identity, if any.
    pub plugin: Option<String>,
    /// The project concerned (`differs_from_user`, `heavy_context`).
    pub project_id: Option<String>,
    /// Its display name.
    pub project_name: Option<String>,
    /// A readable explanation.
    pub detail: String,
}

/// A project is heavy when its context exceeds this multiple of the median over projects.
pub const HEAVY_FACTOR: u64 = 2;
/// Most findings of each code listed (the worst first).
pub const MAX_FINDINGS_PER_CODE: usize = 500;
