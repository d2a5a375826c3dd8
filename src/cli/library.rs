//! `library`, `where`, `diff`, `cost` and `findings`: the cross-project views.

use super::table::Table;
use super::{parse_kind, print_json};
use clap::Args;
use skillmeat_cache::library::{LibraryQuery, LibrarySort};
use skillmeat_cache::store::ProjectFilter;
use skillmeat_cache::{CacheError, CacheManager, Result};

/// Arguments of `library`.
#[derive(Debug, Args)]
pub struct LibraryArgs {
    /// Only this kind: skill, agent, command, hook, mcp_server, rule, output_style, plugin.
    #[arg(long)]
    kind: Option<String>,
    /// Only artifacts whose copies do not all have the same content.
    #[arg(long)]
    drifted: bool,
    /// Order: copies, variants, cost or name.
    #[arg(long, default_value = "copies")]
    sort: String,
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    skip: u64,
    /// Most rows to show.
    #[arg(long, default_value_t = 50)]
    limit: u64,
}

/// Arguments of `where`.
#[derive(Debug, Args)]
pub struct WhereArgs {
    /// The artifact's name (case-insensitive).
    name: String,
    /// Only this kind.
    #[arg(long)]
    kind: Option<String>,
}

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first copy's id (`aid` in `where --json`).
    a: i64,
    /// The second copy's id.
    b: i64,
}

/// Arguments of `cost`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Project id, path or name; every project ranked by cost when omitted.
    project: Option<String>,
}

/// `library`: one row per artifact identity across projects.
pub fn library(m: &CacheManager, a: &LibraryArgs, json: bool) -> Result<()> {
    let sort = LibrarySort::parse(&a.sort)?;
    let page = m.library(&LibraryQuery {
        kind: parse_kind(a.kind.as_deref())?,
        drifted_only: a.drifted,
        sort,
        skip: a.skip,
        limit: Some(a.limit),
    })?;
    if json {
        print_json(&page);
        return Ok(());
    }
    let mut t = Table::new(&[
        "KIND",
        "NAME",
        "COPIES",
        "VARIANTS",
        "MANAGED",
        "COLLECTION",
        "TOKENS",
        "PLUGIN",
    ]);
    for e in &page.items {
        t.row(vec![
            e.kind.to_string(),
            e.name.clone(),
            e.copies.to_string(),
            if e.drifted {
                format!("{} (drift)", e.variants)
            } else {
                e.variants.to_string()
            },
            e.managed.to_string(),
            e.collection_copies
                .map(|n| format!("{n} copies match"))
                .unwrap_or_else(|| "-".into()),
            e.tokens.to_string(),
            e.plugin.clone().unwrap_or_default(),
        ]);
    }
    t.print();
    println!("{} of {} artifact(s)", page.items.len(), page.total);
    Ok(())
}

/// `where NAME`: every copy, grouped by variant.
pub fn where_is(m: &CacheManager, a: &WhereArgs, json: bool) -> Result<()> {
    let found = m.where_is(&a.name, parse_kind(a.kind.as_deref())?)?;
    if json {
        print_json(&found);
        return Ok(());
    }
    if found.is_empty() {
        return Err(CacheError::not_found("artifact", a.name.clone()));
    }
    for e in &found {
        println!(
            "{} {}{}: {} project(s), {} variant(s)",
            e.kind,
            e.name,
            e.plugin
                .as_deref()
                .map(|p| format!(" (plugin {p})"))
                .unwrap_or_default(),
            e.projects,
            e.variants.len()
        );
        for v in &e.variants {
            let mut tags = Vec::new();
            if v.newest {
                tags.push("newest");
            }
            if v.in_collection {
                tags.push("collection");
            }
            println!(
                "  variant {} ({} cop{}){}",
                v.content_hash.get(..12).unwrap_or(&v.content_hash),
                v.copies.len(),
                if v.copies.len() == 1 { "y" } else { "ies" },
                if tags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", tags.join(", "))
                }
            );
            for c in &v.copies {
                println!(
                    "    {:>8}  {}  {}  {}{}  {}",
                    c.aid,
                    c.project_name,
                    c.scope,
                    if c.managed { "managed" } else { "unmanaged" },
                    if c.local_modified == Some(true) {
                        ", edited"
                    } else {
                        ""
                    },
                    c.path
                );
            }
        }
    }
    Ok(())
}

/// `diff A B`: a unified diff of two copies read from disk now.
pub fn diff(m: &CacheManager, a: &DiffArgs, json: bool) -> Result<()> {
    let d = m.variant_diff(a.a, a.b)?;
    if json {
        print_json(&serde_json::json!({ "a": a.a, "b": a.b, "diff": d }));
    } else if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        // The text comes from files: escape sequences in it must not drive the terminal.
        let shown: String = d
            .chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    '\u{FFFD}'
                } else {
                    c
                }
            })
            .collect();
        print!("{shown}");
    } else {
        print!("{d}");
    }
    Ok(())
}

/// `cost [PROJECT]`: the projects ranked by startup context, or one project's breakdown.
pub fn cost(m: &CacheManager, a: &CostArgs, json: bool) -> Result<()> {
    if let Some(p) = &a.project {
        let c = m.project_cost(p)?;
        if json {
            print_json(&c);
            return Ok(());
        }
        println!(
            "{} ({}): about {} tokens at startup",
            c.project_name, c.project_id, c.total_tokens
        );
        println!(
            "skill listing: {} of {} characters{}",
            c.listing_chars,
            c.listing_budget,
            if c.listing_chars > c.listing_budget {
                " (over budget: see `problems`)"
            } else {
                ""
            }
        );
        let mut t = Table::new(&["TOKENS", "WHAT", "KIND", "SCOPE", "NAME"]);
        for i in &c.items {
            t.row(vec![
                i.tokens.to_string(),
                i.what.clone(),
                i.kind.to_string(),
                i.scope.to_string(),
                i.name.clone(),
            ]);
        }
        t.print();
        return Ok(());
    }
    let mut projects = m.list_projects(&ProjectFilter::default())?.items;
    projects.sort_by(|a, b| {
        b.context_tokens
            .cmp(&a.context_tokens)
            .then_with(|| a.name.cmp(&b.name))
    });
    if json {
        let rows: Vec<_> = projects
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "path": p.path,
                    "context_tokens": p.context_tokens,
                })
            })
            .collect();
        print_json(&rows);
        return Ok(());
    }
    let mut t = Table::new(&["TOKENS", "ID", "NAME", "PATH"]);
    for p in &projects {
        t.row(vec![
            p.context_tokens.to_string(),
            p.id.clone(),
            p.name.clone(),
            p.path.clone(),
        ]);
    }
    t.print();
    Ok(())
}

/// `findings`: drift, copies that differ from the user scope's, heavy projects.
pub fn findings(m: &CacheManager, json: bool) -> Result<()> {
    let f = m.findings()?;
    if json {
        print_json(&f);
        return Ok(());
    }
    let mut t = Table::new(&["FINDING", "DETAIL"]);
    for x in &f {
        t.row(vec![x.code.clone(), x.detail.clone()]);
    }
    t.print();
    println!("{} finding(s)", f.len());
    Ok(())
}
