//! Argument parsing and the commands of `skillmeat-cache`.

mod library;
mod table;
mod usage;
mod watch;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use skillmeat_cache::config::{self, Config, Overrides, SETTINGS};
use skillmeat_cache::humanize::{ago, bytes};
use skillmeat_cache::refresh::{refresh_now, refresh_project_now};
use skillmeat_cache::store::{OutdatedSort, ProjectFilter, SearchSort, now_ms};
use skillmeat_cache::{
    ArtifactKind, ArtifactQuery, CacheError, CacheManager, InvalidationReason, ProjectStatus,
    Result, Scope, SearchQuery,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use table::Table;

/// Keep an always-fresh cache of every Claude Code project on this machine.
#[derive(Debug, Parser)]
#[command(name = "skillmeat-cache", version, about, long_about = None)]
pub struct Cli {
    /// Cache database file (overrides cache-path / SKILLMEAT_CACHE_PATH).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Discovery root (repeatable; replaces the configured roots).
    #[arg(long = "root", global = true, value_name = "DIR")]
    roots: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Log what happens (also: SKILLMEAT_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Totals, freshness, size and health of the cache.
    Status {
        /// Also run a full integrity check of the database (reads the whole file).
        #[arg(long)]
        check: bool,
    },
    /// List cached projects.
    List {
        /// Only projects with this status: fresh, stale, error, missing.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one project (by id or path) with its artifacts.
    Show {
        /// Project id or path.
        project: String,
    },
    /// List artifacts, optionally filtered.
    Artifacts {
        /// Only this project (id or path).
        #[arg(long)]
        project: Option<String>,
        /// Only this kind: skill, agent, command, hook, mcp_server.
        #[arg(long)]
        kind: Option<String>,
        /// Only outdated artifacts.
        #[arg(long)]
        outdated: bool,
        /// Only locally modified artifacts.
        #[arg(long)]
        modified: bool,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        page: PageArgs,
    },
    /// List artifacts whose collection copy differs from what was deployed.
    Outdated {
        /// Only this project (id or path).
        #[arg(long)]
        project: Option<String>,
        /// Sort by name, kind, project or version.
        #[arg(long, default_value = "name")]
        sort: String,
        /// Reverse the order.
        #[arg(long)]
        desc: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Full-text search over artifact names, descriptions and tags.
    Search {
        /// What to look for.
        query: String,
        /// Only this project (id or path).
        #[arg(long)]
        project: Option<String>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
        /// Sort by relevance, name, kind, updated or usage (most used in 30 days first).
        #[arg(long, default_value = "relevance")]
        sort: String,
        /// Rows to skip.
        #[arg(long, default_value_t = 0)]
        skip: u64,
        /// Most rows to show.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// What Claude Code will not load (and why), malformed frontmatter and dangling
    /// `@imports`, for one project or all.
    Problems {
        /// Project id or path; all projects when omitted.
        project: Option<String>,
    },
    /// Discover projects and refresh the stale ones (or one project).
    Refresh {
        /// Only this project (id or path).
        project: Option<String>,
        /// Refresh even fresh projects.
        #[arg(long)]
        force: bool,
    },
    /// Mark one project (or all) stale so the next refresh re-reads it.
    Invalidate {
        /// Project id or path; all projects when omitted.
        project: Option<String>,
    },
    /// Empty the cache (explicitly added and removed projects are remembered).
    Clear {
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Add a project folder explicitly (kept across clears and discovery).
    Add {
        /// The project folder.
        path: PathBuf,
    },
    /// Remove a project from the cache; discovery will not bring it back.
    Remove {
        /// Project id or path.
        project: String,
    },
    /// Recent changes found by refreshes, newest first.
    Changes {
        /// How many entries.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Which skills, agents, commands and MCP servers Claude Code's session logs show in use
    /// (updates the usage index first; only appended bytes are read).
    Usage(usage::UsageArgs),
    /// Keep the cache fresh in the foreground: schedule, file watching, printing each event
    /// (JSON lines with --json) until Ctrl-C or SIGTERM.
    Watch,
    /// Every artifact across projects: copies, variants (drift), SkillMeat state, cost.
    Library(library::LibraryArgs),
    /// Every copy of an artifact, grouped by variant, with its projects.
    Where(library::WhereArgs),
    /// A unified diff of two copies (ids from `where --json`), read from disk now.
    Diff(library::DiffArgs),
    /// Estimated startup context in tokens: every project ranked, or one project's items.
    Cost(library::CostArgs),
    /// Cross-project findings: drift, copies differing from the user scope's, heavy projects.
    Findings,
    /// Read or change settings in ~/.skillmeat/config.toml [cache].
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Print a setting's value in force (after file, environment and flags).
    Get {
        /// The setting's key, e.g. cache-ttl.
        key: String,
    },
    /// Write a setting into the config file.
    Set {
        /// The setting's key.
        key: String,
        /// The new value (lists: `a:b` for roots, `x,y` for prune).
        value: String,
    },
    /// Every setting with its value in force and its environment variable.
    List,
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Only this scope: user, project, local, plugin, managed.
    #[arg(long)]
    scope: Option<String>,
    /// Only items Claude Code loads.
    #[arg(long, conflicts_with = "not_loaded")]
    loaded: bool,
    /// Only items Claude Code does not load.
    #[arg(long = "not-loaded")]
    not_loaded: bool,
}

impl LoadArgs {
    fn scope(&self) -> Result<Option<Scope>> {
        self.scope
            .as_deref()
            .map(|s| {
                Scope::parse(s).ok_or_else(|| {
                    CacheError::InvalidInput(format!(
                        "unknown scope '{s}' (use user, project, local, plugin or managed)"
                    ))
                })
            })
            .transpose()
    }

    fn loaded(&self) -> Option<bool> {
        match (self.loaded, self.not_loaded) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
struct PageArgs {
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    skip: u64,
    /// Most rows to show (default: all).
    #[arg(long)]
    limit: Option<u64>,
}

/// The process exit code for an error: 2 for bad input, 3 for "not found", 1 otherwise.
pub fn exit_code(e: &CacheError) -> u8 {
    match e {
        CacheError::InvalidInput(_) | CacheError::Config(_) => 2,
        CacheError::NotFound { .. } => 3,
        _ => 1,
    }
}

fn print_json<T: Serialize>(v: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
}

fn parse_kind(k: Option<&str>) -> Result<Option<ArtifactKind>> {
    k.map(|k| {
        ArtifactKind::parse(k).ok_or_else(|| {
            CacheError::InvalidInput(format!(
                "unknown kind '{k}' (use skill, agent, command, hook, mcp_server, memory, rule, output_style or plugin)"
            ))
        })
    })
    .transpose()
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let overrides = Overrides {
        db_path: cli.db.clone(),
        roots: cli.roots.clone(),
    };
    if let Command::Config {
        action: ConfigAction::Set { key, value },
    } = &cli.command
    {
        // Needs only the file's path, so a file that no longer loads can be repaired.
        return config_set(&Config::file_path()?, key, value, cli.json);
    }
    let cfg = Config::load(&overrides)?;
    if let Command::Config { action } = &cli.command {
        return run_config(&cfg, action, cli.json);
    }
    if let Command::Watch = cli.command {
        return watch::run(cfg, cli.json);
    }
    let m = CacheManager::open(cfg)?;
    let json = cli.json;
    let now = now_ms();
    match cli.command {
        Command::Status { check } => {
            let verdict = if check {
                Some(m.store().check_integrity()?)
            } else {
                None
            };
            let mut s = m.status()?;
            s.integrity = verdict;
            if json {
                print_json(&s);
            } else {
                println!("database   {} ({})", s.db_path, bytes(s.db_bytes));
                println!(
                    "projects   {} ({} fresh, {} stale, {} error, {} missing; TTL {} min)",
                    s.projects, s.fresh, s.stale, s.errored, s.missing, s.ttl_minutes
                );
                println!(
                    "artifacts  {} ({} skills, {} agents, {} commands, {} hooks, {} MCP servers)",
                    s.artifacts,
                    s.counts.skill,
                    s.counts.agent,
                    s.counts.command,
                    s.counts.hook,
                    s.counts.mcp_server
                );
                println!(
                    "           {} memory files, {} rules, {} output styles, {} plugins",
                    s.counts.memory, s.counts.rule, s.counts.output_style, s.counts.plugin
                );
                println!(
                    "outdated   {}   locally modified {}",
                    s.outdated, s.modified
                );
                println!(
                    "problems   {} (see `problems`){}",
                    s.problems,
                    if s.claude_json_gone > 0 {
                        format!(
                            "; {} folder(s) in ~/.claude.json no longer exist",
                            s.claude_json_gone
                        )
                    } else {
                        String::new()
                    }
                );
                println!(
                    "refreshed  last run {}, oldest project {}, newest {}",
                    ago(now, s.last_refresh),
                    ago(now, s.oldest_refresh),
                    ago(now, s.newest_refresh)
                );
                let reads = s.hits + s.misses;
                println!(
                    "reads      {} hits, {} misses{}",
                    s.hits,
                    s.misses,
                    if reads > 0 {
                        format!(" ({:.0}% hit rate)", s.hits as f64 * 100.0 / reads as f64)
                    } else {
                        String::new()
                    }
                );
                println!(
                    "integrity  {}{}",
                    s.integrity.as_deref().unwrap_or("not checked now"),
                    match s.integrity_checked_at {
                        Some(t) => format!(" (last sound check {})", ago(now, Some(t))),
                        None => String::new(),
                    }
                );
                println!("logs       {} (the tray app's)", s.log_dir);
                for n in &s.notes {
                    println!("note       {n}");
                }
            }
            if s.integrity.as_deref().is_some_and(|v| v != "ok") {
                return Ok(ExitCode::from(1));
            }
        }
        Command::List { status, page } => {
            let status = status
                .map(|s| {
                    ProjectStatus::parse(&s).ok_or_else(|| {
                        CacheError::InvalidInput(format!(
                            "unknown status '{s}' (use fresh, stale, error or missing)"
                        ))
                    })
                })
                .transpose()?;
            let p = m.list_projects(&ProjectFilter {
                status,
                skip: page.skip,
                limit: page.limit,
            })?;
            if json {
                print_json(&p);
            } else {
                let mut t = Table::new(&[
                    "ID", "NAME", "STATUS", "SKILLS", "AGENTS", "CMDS", "HOOKS", "MCP", "PROBLEMS",
                    "UPDATED", "PATH",
                ]);
                for pr in &p.items {
                    t.row(vec![
                        pr.id.clone(),
                        pr.name.clone(),
                        pr.status.to_string(),
                        pr.counts.skill.to_string(),
                        pr.counts.agent.to_string(),
                        pr.counts.command.to_string(),
                        pr.counts.hook.to_string(),
                        pr.counts.mcp_server.to_string(),
                        pr.problems.to_string(),
                        ago(now, pr.refreshed_at),
                        pr.path.clone(),
                    ]);
                }
                t.print();
                println!("{} of {} project(s)", p.items.len(), p.total);
            }
        }
        Command::Show { project } => {
            let d = m.get_project(&project)?;
            if json {
                print_json(&d);
            } else {
                let p = &d.project;
                println!("{} ({})", p.name, p.id);
                println!("path       {}", p.path);
                if let Some(desc) = &p.description {
                    println!("about      {desc}");
                }
                println!(
                    "status     {} (refreshed {}){}",
                    p.status,
                    ago(now, p.refreshed_at),
                    p.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
                println!(
                    "profiles   {}   CLAUDE.md {}",
                    p.profiles.join(" "),
                    p.claude_md
                );
                println!(
                    "artifacts  {} ({} outdated, {} locally modified)",
                    p.counts.total(),
                    p.outdated_count,
                    p.modified_count
                );
                println!("problems   {}", p.problems);
                for n in &p.notes {
                    println!("note       {n}");
                }
                for scope in Scope::ALL {
                    let items: Vec<_> = d.artifacts.iter().filter(|a| a.scope == scope).collect();
                    if items.is_empty() {
                        continue;
                    }
                    println!();
                    println!("{scope} scope");
                    let mut t = Table::new(&[
                        "KIND",
                        "NAME",
                        "LOADED",
                        "VERSION",
                        "FLAGS",
                        "PATH",
                        "DESCRIPTION",
                    ]);
                    for a in items {
                        t.row(vec![
                            a.kind.to_string(),
                            a.name.clone(),
                            loaded_text(a),
                            a.version.clone().unwrap_or_default(),
                            flags(a),
                            a.path.clone(),
                            one_line(&a.description, 60),
                        ]);
                    }
                    t.print();
                }
            }
        }
        Command::Artifacts {
            project,
            kind,
            outdated,
            modified,
            load,
            page,
        } => {
            let p = m.list_artifacts(&ArtifactQuery {
                project,
                kind: parse_kind(kind.as_deref())?,
                outdated: outdated.then_some(true),
                local_modified: modified.then_some(true),
                scope: load.scope()?,
                loaded: load.loaded(),
                skip: page.skip,
                limit: page.limit,
            })?;
            if json {
                print_json(&p);
            } else {
                let mut t = Table::new(&[
                    "KIND", "NAME", "SCOPE", "LOADED", "FLAGS", "PROJECT", "PATH",
                ]);
                for a in &p.items {
                    t.row(vec![
                        a.kind.to_string(),
                        a.name.clone(),
                        a.scope.to_string(),
                        loaded_text(a),
                        flags(a),
                        a.project.clone(),
                        a.path.clone(),
                    ]);
                }
                t.print();
                println!("{} of {} artifact(s)", p.items.len(), p.total);
            }
        }
        Command::Outdated {
            project,
            sort,
            desc,
            page,
        } => {
            let sort = OutdatedSort::parse(&sort)?;
            let p = m.outdated(project.as_deref(), sort, desc, page.skip, page.limit)?;
            if json {
                print_json(&p);
            } else {
                let mut t = Table::new(&["KIND", "NAME", "DEPLOYED", "COLLECTION", "PROJECT"]);
                for a in &p.items {
                    t.row(vec![
                        a.kind.to_string(),
                        a.name.clone(),
                        a.version.clone().unwrap_or_else(|| "-".into()),
                        a.upstream_version.clone().unwrap_or_else(|| "-".into()),
                        a.project.clone(),
                    ]);
                }
                t.print();
                println!("{} of {} outdated artifact(s)", p.items.len(), p.total);
            }
        }
        Command::Search {
            query,
            project,
            kind,
            load,
            sort,
            skip,
            limit,
        } => {
            let p = m.search(&SearchQuery {
                text: query,
                project,
                kind: parse_kind(kind.as_deref())?,
                scope: load.scope()?,
                loaded: load.loaded(),
                sort: SearchSort::parse(&sort)?,
                skip,
                limit: Some(limit),
            })?;
            if json {
                print_json(&p);
            } else {
                let mut t = Table::new(&["KIND", "NAME", "PROJECT", "DESCRIPTION"]);
                for h in &p.items {
                    t.row(vec![
                        h.artifact.kind.to_string(),
                        h.artifact.name.clone(),
                        h.project_name.clone(),
                        one_line(&h.artifact.description, 70),
                    ]);
                }
                t.print();
                println!("{} of {} match(es)", p.items.len(), p.total);
            }
        }
        Command::Problems { project } => {
            let list = m.problems(project.as_deref())?;
            if json {
                print_json(&list);
            } else {
                let mut t = Table::new(&["PROJECT", "KIND", "NAME", "SCOPE", "PROBLEM", "DETAIL"]);
                for p in &list {
                    t.row(vec![
                        p.project_name.clone(),
                        p.artifact.kind.to_string(),
                        p.artifact.name.clone(),
                        p.artifact.scope.to_string(),
                        p.problem.clone(),
                        one_line(&p.detail, 100),
                    ]);
                }
                t.print();
                println!("{} problem(s)", list.len());
            }
        }
        Command::Usage(args) => usage::run(&m, &args, json)?,
        Command::Refresh { project, force } => match project {
            Some(p) => {
                let r = refresh_project_now(&m, &p, force)?;
                if json {
                    print_json(&r);
                } else if !r.refreshed {
                    println!(
                        "{} is fresh; nothing to do (use --force to re-read it)",
                        r.name
                    );
                } else {
                    println!(
                        "{}: {} ({:.0} ms)",
                        r.name,
                        r.changes.summary(),
                        r.elapsed_ms
                    );
                }
            }
            None => {
                let r = refresh_now(&m, force)?;
                // The usage index is brought up to date with the projects (appends only);
                // a failure there is reported, never failing the refresh.
                let usage = m.update_usage();
                if let (true, Err(e)) = (json, &usage) {
                    eprintln!("usage index: {e}");
                }
                if json {
                    let mut v = serde_json::to_value(&r).unwrap_or_default();
                    if let (Some(o), Ok(u)) = (v.as_object_mut(), &usage) {
                        o.insert("usage".into(), serde_json::to_value(u).unwrap_or_default());
                    }
                    print_json(&v);
                } else {
                    println!(
                        "refreshed {} of {} project(s) ({} fresh, skipped) in {:.0} ms: {} changed, {} failed",
                        r.refreshed,
                        r.considered,
                        r.skipped,
                        r.elapsed_ms,
                        r.changed.len(),
                        r.failed.len()
                    );
                    for c in &r.changed {
                        println!("  {}: {}", c.name, c.changes.summary());
                    }
                    for f in &r.failed {
                        eprintln!("  failed: {}: {}", f.path, f.error);
                    }
                    match &usage {
                        Ok(u) if m.config().usage_index => println!(
                            "usage index: {} new use(s) from {} of {} transcript(s) in {} ms",
                            u.uses_added, u.files_read, u.files, u.elapsed_ms
                        ),
                        Ok(_) => {}
                        Err(e) => eprintln!("  usage index: {e}"),
                    }
                }
                if !r.failed.is_empty() {
                    return Ok(ExitCode::from(1));
                }
            }
        },
        Command::Invalidate { project } => {
            let n = m.invalidate(project.as_deref(), InvalidationReason::Manual)?;
            if json {
                print_json(&serde_json::json!({ "invalidated": n }));
            } else {
                println!("invalidated {n} project(s); the next refresh re-reads them");
            }
        }
        Command::Clear { yes } => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(CacheError::InvalidInput(
                        "clear needs -y when not run from a terminal".into(),
                    ));
                }
                let n = m.status()?.projects;
                eprint!("Remove all {n} cached project(s)? [y/N] ");
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .map_err(|e| CacheError::io(std::path::Path::new("<stdin>"), e))?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    println!("nothing cleared");
                    return Ok(ExitCode::SUCCESS);
                }
            }
            let n = m.clear()?;
            if json {
                print_json(&serde_json::json!({ "cleared": n }));
            } else {
                println!("cleared {n} project(s)");
            }
        }
        Command::Add { path } => {
            let (id, _) = m.add_project(&path)?;
            let r = refresh_project_now(&m, &id, true)?;
            if json {
                print_json(&r);
            } else {
                println!("added {} ({}): {}", r.path, r.id, r.changes.summary());
            }
        }
        Command::Remove { project } => {
            let (id, path) = m.remove_project(&project)?;
            if json {
                print_json(&serde_json::json!({ "removed": id, "path": path }));
            } else {
                println!("removed {path} ({id}); `add` brings it back");
            }
        }
        Command::Library(a) => library::library(&m, &a, json)?,
        Command::Where(a) => library::where_is(&m, &a, json)?,
        Command::Diff(a) => library::diff(&m, &a, json)?,
        Command::Cost(a) => library::cost(&m, &a, json)?,
        Command::Findings => library::findings(&m, json)?,
        Command::Changes { limit } => {
            let c = m.recent_changes(limit)?;
            if json {
                print_json(&c);
            } else {
                let mut t = Table::new(&["WHEN", "PROJECT", "CHANGES"]);
                for e in &c {
                    t.row(vec![
                        ago(now, Some(e.at)),
                        e.project_name.clone(),
                        e.summary.clone(),
                    ]);
                }
                t.print();
            }
        }
        Command::Config { .. } | Command::Watch => unreachable!("handled before opening the cache"),
    }
    Ok(ExitCode::SUCCESS)
}

fn run_config(cfg: &Config, action: &ConfigAction, json: bool) -> Result<ExitCode> {
    match action {
        ConfigAction::Get { key } => {
            let v = cfg
                .get(key)
                .ok_or_else(|| CacheError::InvalidInput(format!("unknown setting '{key}'")))?;
            if json {
                print_json(&serde_json::json!({ "key": key, "value": v }));
            } else {
                println!("{v}");
            }
        }
        ConfigAction::Set { key, value } => {
            config::set_in_file(&cfg.config_file, key, value)?;
            if json {
                print_json(
                    &serde_json::json!({ "key": key, "value": value, "file": cfg.config_file }),
                );
            } else {
                println!("{key} = {value} (in {})", cfg.config_file.display());
                if let Some(s) = config::setting(key)
                    && std::env::var_os(s.env).is_some()
                {
                    println!(
                        "note: {} is set in the environment and overrides the file",
                        s.env
                    );
                }
            }
        }
        ConfigAction::List => {
            if json {
                let map: serde_json::Map<String, serde_json::Value> = SETTINGS
                    .iter()
                    .map(|s| (s.key.to_string(), cfg.get(s.key).unwrap_or_default().into()))
                    .collect();
                print_json(&map);
            } else {
                let mut t = Table::new(&["KEY", "VALUE", "ENVIRONMENT"]);
                for s in SETTINGS {
                    t.row(vec![
                        s.key.into(),
                        cfg.get(s.key).unwrap_or_default(),
                        s.env.into(),
                    ]);
                }
                t.print();
                println!("file: {}", cfg.config_file.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn config_set(file: &std::path::Path, key: &str, value: &str, json: bool) -> Result<ExitCode> {
    config::set_in_file(file, key, value)?;
    if json {
        print_json(&serde_json::json!({ "key": key, "value": value, "file": file }));
    } else {
        println!("{key} = {value} (in {})", file.display());
        if let Some(s) = config::setting(key)
            && std::env::var_os(s.env).is_some()
        {
            println!(
                "note: {} is set in the environment and overrides the file",
                s.env
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn flags(a: &skillmeat_cache::Artifact) -> String {
    let mut f = Vec::new();
    if a.outdated == Some(true) {
        f.push("outdated");
    }
    if a.local_modified == Some(true) {
        f.push("modified");
    }
    if a.frontmatter == skillmeat_cache::FrontmatterState::Malformed {
        f.push("bad-frontmatter");
    }
    f.join(",")
}

fn loaded_text(a: &skillmeat_cache::Artifact) -> String {
    match (a.loaded, a.not_loaded) {
        (true, _) => "yes".into(),
        (false, Some(r)) => format!("no: {r}"),
        (false, None) => "no".into(),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    skillmeat_cache::frontmatter::truncate_chars(&flat, max)
}
