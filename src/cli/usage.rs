//! `skillmeat-cache usage`: what Claude Code's session logs show in use, per artifact or for
//! one project, after bringing the usage index up to date (only appended bytes are read).

use super::print_json;
use super::table::Table;
use serde::Serialize;
use skillmeat_cache::humanize::{ago, bytes};
use skillmeat_cache::store::now_ms;
use skillmeat_cache::usage::{ArtifactUsage, ProjectUsage, UsageQuery, UsageReport, UsageStatus};
use skillmeat_cache::{CacheError, CacheManager, Result};

/// The arguments of `usage`.
#[derive(Debug, clap::Args)]
pub struct UsageArgs {
    /// Project id, path or name: its sessions, most used and unused items. All artifacts
    /// when omitted.
    project: Option<String>,
    /// Only loaded items with no use in the window.
    #[arg(long)]
    unused: bool,
    /// The window in days (1 to 3650).
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Drop the index and read every transcript again.
    #[arg(long)]
    reindex: bool,
    /// Answer from the index as it is, without reading transcripts first.
    #[arg(long = "no-update", conflicts_with = "reindex")]
    no_update: bool,
}

/// `usage --json`.
#[derive(Debug, Serialize)]
struct Output {
    /// What this run's index update read (absent with --no-update).
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<UsageReport>,
    status: UsageStatus,
    days: u32,
    /// Without PROJECT: every skill, agent, command and MCP server with its use.
    #[serde(skip_serializing_if = "Option::is_none")]
    artifacts: Option<Vec<ArtifactUsage>>,
    /// With PROJECT.
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<ProjectUsage>,
}

/// Runs `usage`.
pub fn run(m: &CacheManager, a: &UsageArgs, json: bool) -> Result<()> {
    if !(1..=3650).contains(&a.days) {
        return Err(CacheError::InvalidInput(format!(
            "--days {} is out of range (1 to 3650)",
            a.days
        )));
    }
    if !m.config().usage_index {
        // Off: the index is deleted (the setting's promise), nothing is read.
        if !a.no_update && !m.store().is_read_only() {
            m.update_usage()?;
        }
        if json {
            print_json(&Output {
                update: None,
                status: m.usage_status()?,
                days: a.days,
                artifacts: None,
                project: None,
            });
        } else {
            println!(
                "usage indexing is off (setting usage-index = false); nothing is read or kept"
            );
        }
        return Ok(());
    }
    if a.reindex {
        m.clear_usage()?;
    }
    // A read-only cache answers from the index as it is.
    let update = if a.no_update || m.store().is_read_only() {
        None
    } else {
        Some(m.update_usage()?)
    };
    let status = m.usage_status()?;
    let mut out = Output {
        update,
        status,
        days: a.days,
        artifacts: None,
        project: None,
    };
    match &a.project {
        Some(p) => out.project = Some(m.usage_project(p, a.days)?),
        None => {
            let mut list = m.usage_artifacts(&UsageQuery {
                project: None,
                days: a.days,
                unused_only: a.unused,
            })?;
            list.sort_by(|x, y| {
                (y.uses, y.last_used)
                    .cmp(&(x.uses, x.last_used))
                    .then_with(|| (&x.kind, &x.name).cmp(&(&y.kind, &y.name)))
            });
            out.artifacts = Some(list);
        }
    }
    if json {
        print_json(&out);
    } else {
        human(&out, a.unused);
    }
    Ok(())
}

fn human(out: &Output, unused_only: bool) {
    let now = now_ms();
    let s = &out.status;
    if let Some(u) = &out.update {
        println!(
            "index      {} transcript(s), {} read now in {} ms, {} new use(s){}",
            u.files,
            bytes(u.bytes_read),
            u.elapsed_ms,
            u.uses_added,
            if u.lines_skipped > 0 {
                format!(", {} malformed line(s) skipped", u.lines_skipped)
            } else {
                String::new()
            }
        );
        for e in &u.errors {
            println!("note       {e}");
        }
    }
    println!(
        "recorded   {} use(s) in {} session(s) from {} of transcripts; first use {}",
        s.uses,
        s.sessions,
        bytes(s.bytes_indexed),
        ago(now, s.first_use)
    );
    println!();
    if let Some(list) = &out.artifacts {
        let mut t = Table::new(&[
            "KIND",
            "NAME",
            "WHERE",
            &format!("USES {}D", out.days),
            "7D",
            "30D",
            "90D",
            "PROJECTS",
            "LAST USED",
        ]);
        for u in list {
            t.row(vec![
                u.kind.clone(),
                u.name.clone(),
                if u.scope == "user" {
                    "user".into()
                } else {
                    u.project_name.clone()
                },
                u.uses.to_string(),
                u.uses_7d.to_string(),
                u.uses_30d.to_string(),
                u.uses_90d.to_string(),
                u.projects.to_string(),
                ago(now, u.last_used),
            ]);
        }
        t.print();
        if unused_only {
            println!(
                "\n{} loaded item(s) unused in {} days",
                list.len(),
                out.days
            );
        }
    }
    if let Some(p) = &out.project {
        println!("{} ({}), last {} days", p.name, p.path, p.days);
        if !unused_only {
            println!(
                "sessions   {} with a recorded use; {} use(s)",
                p.sessions, p.uses
            );
            let mut t = Table::new(&["KIND", "NAME", "USES", "LAST USED"]);
            for u in &p.most_used {
                t.row(vec![
                    u.kind.clone(),
                    u.name.clone(),
                    u.uses.to_string(),
                    ago(now, Some(u.last_used)),
                ]);
            }
            println!("\nmost used");
            t.print();
        }
        println!("\nloaded but unused ({})", p.unused.len());
        let mut t = Table::new(&["KIND", "NAME", "SCOPE", "LAST USED"]);
        for u in &p.unused {
            t.row(vec![
                u.kind.clone(),
                u.name.clone(),
                u.scope.clone(),
                ago(now, u.last_used),
            ]);
        }
        t.print();
    }
}
