//! A synthetic corpus of Claude Code projects, for the benchmark and for tests at scale:
//! mixed artifact kinds with realistic file sizes, some SkillMeat deployment records and a
//! collection that makes some of them outdated. Deterministic for a given seed.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

/// Words the generated names and descriptions are made of (search queries use them too).
pub const VOCABULARY: &[&str] = &[
    "review",
    "deploy",
    "test",
    "lint",
    "format",
    "refactor",
    "document",
    "search",
    "index",
    "research",
    "foundry",
    "pipeline",
    "schema",
    "migrate",
    "release",
    "audit",
    "security",
    "performance",
    "profile",
    "cache",
    "query",
    "graph",
    "vector",
    "embed",
    "parse",
    "render",
    "design",
    "frontend",
    "backend",
    "database",
    "kubernetes",
    "terraform",
    "docker",
    "python",
    "rust",
    "typescript",
    "react",
    "api",
    "client",
    "server",
    "stream",
    "batch",
    "report",
    "summarize",
    "translate",
    "analyze",
    "commit",
    "branch",
    "merge",
    "issue",
    "ticket",
    "plan",
];

/// A small deterministic pseudo-random generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a fixed constant).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A word from the vocabulary.
    pub fn word(&mut self) -> &'static str {
        VOCABULARY[self.below(VOCABULARY.len())]
    }

    /// `n` words joined by spaces.
    pub fn words(&mut self, n: usize) -> String {
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

/// The shape of a generated corpus.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    /// Number of projects.
    pub projects: usize,
    /// Artifacts per project.
    pub artifacts: usize,
    /// Seed for the generator.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The folder holding the project folders (use it as the discovery root).
    pub root: PathBuf,
    /// The SkillMeat collections folder generated beside it.
    pub collections_dir: PathBuf,
    /// Every project folder.
    pub projects: Vec<PathBuf>,
    /// Total artifacts written.
    pub artifacts: usize,
}

/// Writes a corpus under `base` (`base/projects/...`, `base/collections/...`).
pub fn generate(base: &Path, spec: &CorpusSpec) -> io::Result<Corpus> {
    let root = base.join("projects");
    let collections_dir = base.join("collections");
    let coll = collections_dir.join("default");
    std::fs::create_dir_all(&root)?;
    std::fs::create_dir_all(&coll)?;
    let mut rng = Rng::new(spec.seed);
    let mut projects = Vec::with_capacity(spec.projects);
    let mut total = 0;
    let mut lock = String::from("[lock]\nversion = \"1.0.0\"\n\n");
    let mut manifest = String::from(
        "[collection]\nname = \"default\"\nversion = \"1.0.0\"\ncreated = \"2025-01-01T00:00:00\"\n\n",
    );
    let mut in_collection = std::collections::HashSet::new();
    for p in 0..spec.projects {
        let dir = root.join(format!("{}-{}-{p:04}", rng.word(), rng.word()));
        total += write_project(
            &dir,
            p,
            spec.artifacts,
            &mut rng,
            &mut |name, kind, hash, outdated| {
                if in_collection.insert((name.to_string(), kind)) {
                    let h = if outdated {
                        crate::hash::hash_bytes(format!("newer {name}").as_bytes())
                    } else {
                        hash.to_string()
                    };
                    let _ = writeln!(
                        lock,
                        "[lock.entries.\"{name}::{kind}\"]\ncontent_hash = \"{h}\"\nfetched = \"2025-06-01T00:00:00\"\nresolved_version = \"{}\"\n",
                        if outdated { "1.3.0" } else { "1.2.0" }
                    );
                    let _ = writeln!(
                        manifest,
                        "[[artifacts]]\nname = \"{name}\"\ntype = \"{kind}\"\npath = \"{kind}s/{name}\"\norigin = \"github\"\nadded = \"2025-01-01T00:00:00\"\n"
                    );
                }
            },
        )?;
        projects.push(dir);
    }
    std::fs::write(coll.join("collection.lock"), lock)?;
    std::fs::write(coll.join("collection.toml"), manifest)?;
    Ok(Corpus {
        root,
        collections_dir,
        projects,
        artifacts: total,
    })
}

fn description(rng: &mut Rng) -> String {
    let n = 8 + rng.below(30);
    let mut d = rng.words(n);
    if let Some(first) = d.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    d.push('.');
    d
}

fn body(rng: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 64);
    s.push_str("# Instructions\n\n");
    while s.len() < bytes {
        let n = 6 + rng.below(12);
        s.push_str(&rng.words(n));
        s.push_str(".\n");
        if rng.below(6) == 0 {
            s.push_str("\n## Step\n\n");
        }
    }
    s
}

/// Writes one project with `n` artifacts; `record` is told about each deployed artifact
/// (name, type, hash, whether the collection should be newer). Returns artifacts written.
fn write_project(
    dir: &Path,
    index: usize,
    n: usize,
    rng: &mut Rng,
    record: &mut dyn FnMut(&str, &'static str, &str, bool),
) -> io::Result<usize> {
    let claude = dir.join(".claude");
    std::fs::create_dir_all(&claude)?;
    let n_hooks = n / 20;
    let n_mcp = n / 20;
    let rest = n - n_hooks - n_mcp;
    let n_skills = rest * 40 / 90;
    let n_agents = rest * 25 / 90;
    let n_commands = rest - n_skills - n_agents;
    let deployed_project = index.is_multiple_of(3);
    let mut deployed = String::new();
    let mut deploy = |name: &str, kind: &'static str, path: &str, hash: &str, rng: &mut Rng| {
        // A few deployed artifacts were edited locally since; a few are outdated upstream.
        let recorded = if rng.below(10) == 0 {
            crate::hash::hash_bytes(b"an older local copy")
        } else {
            hash.to_string()
        };
        let outdated = rng.below(8) == 0;
        let _ = writeln!(
            deployed,
            "[[deployed]]\nartifact_name = \"{name}\"\nartifact_type = \"{kind}\"\nfrom_collection = \"default\"\ndeployed_at = \"2025-09-01T12:00:00\"\nartifact_path = \"{path}\"\ncontent_hash = \"{recorded}\"\nlocal_modifications = false\n"
        );
        record(name, kind, &recorded, outdated);
    };
    for i in 0..n_skills {
        let name = format!("{}-{}-{i}", rng.word(), rng.word());
        // Some skills sit in a category folder, as real collections do.
        let rel = if i % 7 == 3 {
            format!("skills/{}/{name}", rng.word())
        } else {
            format!("skills/{name}")
        };
        let sdir = claude.join(&rel);
        std::fs::create_dir_all(&sdir)?;
        let desc = description(rng);
        let fm = format!(
            "---\nname: {name}\ndescription: {desc}\nversion: 1.{}.0\ntags: [{}, {}]\nallowed-tools: Read, Grep\n---\n",
            rng.below(4),
            rng.word(),
            rng.word()
        );
        let size = 1200 + rng.below(2500);
        std::fs::write(sdir.join("SKILL.md"), format!("{fm}{}", body(rng, size)))?;
        if i % 2 == 0 {
            let size = 800 + rng.below(3000);
            std::fs::write(sdir.join("reference.md"), body(rng, size))?;
        }
        if i % 5 == 0 {
            std::fs::create_dir_all(sdir.join("scripts"))?;
            std::fs::write(sdir.join("scripts/run.py"), format!("print('{name}')\n"))?;
        }
        if deployed_project && i % 4 == 0 {
            let h = crate::hash::hash_dir(&sdir)?;
            deploy(&name, "skill", &rel, &h, rng);
        }
    }
    let agents = claude.join("agents");
    std::fs::create_dir_all(&agents)?;
    for i in 0..n_agents {
        let name = format!("{}-{}-{i}", rng.word(), rng.word());
        let desc = description(rng);
        let fm = if i % 9 == 4 {
            // The shape strict YAML rejects: an unquoted colon-laden description.
            format!(
                "---\nname: {name}\ndescription: Use this agent for {desc} Examples: <example>Context: the user asks: {}</example>\nmodel: sonnet\n---\n",
                rng.words(4)
            )
        } else {
            format!(
                "---\nname: {name}\ndescription: {desc}\ntools: Read, Write, Bash\nmodel: sonnet\ncolor: blue\n---\n"
            )
        };
        let size = 1500 + rng.below(3500);
        let file = agents.join(format!("{name}.md"));
        let text = format!("{fm}{}", body(rng, size));
        std::fs::write(&file, &text)?;
        if deployed_project && i % 4 == 0 {
            let h = crate::hash::hash_bytes(text.as_bytes());
            deploy(&name, "agent", &format!("agents/{name}.md"), &h, rng);
        }
    }
    let commands = claude.join("commands");
    std::fs::create_dir_all(&commands)?;
    for i in 0..n_commands {
        let name = format!("{}-{i}", rng.word());
        let rel = if i % 5 == 1 {
            let ns = rng.word();
            std::fs::create_dir_all(commands.join(ns))?;
            format!("{ns}/{name}.md")
        } else {
            format!("{name}.md")
        };
        let size = 400 + rng.below(2000);
        let text = if i % 2 == 0 {
            let desc = description(rng);
            format!(
                "---\ndescription: {desc}\nargument-hint: [file]\nallowed-tools: Bash(git:*)\n---\n{}",
                body(rng, size)
            )
        } else {
            body(rng, size)
        };
        std::fs::write(commands.join(&rel), &text)?;
        if deployed_project && i % 4 == 0 {
            let h = crate::hash::hash_bytes(text.as_bytes());
            let name = rel.trim_end_matches(".md").replace('/', ":");
            deploy(&name, "command", &format!("commands/{rel}"), &h, rng);
        }
    }
    let events = ["PreToolUse", "PostToolUse", "Stop", "SessionStart"];
    let hooks: Vec<String> = (0..n_hooks)
        .map(|i| {
            format!(
                "{{\"matcher\": \"{}\", \"hooks\": [{{\"type\": \"command\", \"command\": \"./scripts/{}-{i}.sh\"}}]}}",
                ["Bash", "Edit|Write", "", "Read"][i % 4],
                rng.word()
            )
        })
        .collect();
    let mut by_event: Vec<Vec<String>> = vec![Vec::new(); events.len()];
    for (i, h) in hooks.into_iter().enumerate() {
        by_event[i % events.len()].push(h);
    }
    let body_json = events
        .iter()
        .zip(by_event)
        .filter(|(_, v)| !v.is_empty())
        .map(|(e, v)| format!("\"{e}\": [{}]", v.join(", ")))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        claude.join("settings.json"),
        format!(
            "{{\"permissions\": {{\"allow\": [\"Bash(npm test)\"]}}, \"hooks\": {{{body_json}}}}}"
        ),
    )?;
    let servers: Vec<String> = (0..n_mcp)
        .map(|i| {
            format!(
                "\"{}-{i}\": {{\"command\": \"npx\", \"args\": [\"-y\", \"@acme/{}-server\"]}}",
                rng.word(),
                rng.word()
            )
        })
        .collect();
    std::fs::write(
        dir.join(".mcp.json"),
        format!("{{\"mcpServers\": {{{}}}}}", servers.join(", ")),
    )?;
    std::fs::write(dir.join("CLAUDE.md"), body(rng, 1500))?;
    if deployed_project {
        std::fs::write(claude.join(crate::records::DEPLOYED_FILE), deployed)?;
        std::fs::write(
            claude.join(crate::records::PROJECT_FILE),
            format!(
                "[project]\nname = \"{}\"\ndescription = \"{}\"\ncreated_at = \"2025-01-01T00:00:00\"\n",
                dir.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                rng.words(6)
            ),
        )?;
    }
    Ok(n)
}

/// Plugins installed (and enabled in the user settings) by [`generate_claude_home`].
pub const CORPUS_PLUGINS: [&str; 3] = ["formatter", "reviewer", "deployer"];

/// What [`generate_claude_home`] wrote.
#[derive(Debug, Clone)]
pub struct ClaudeHome {
    /// `~/.claude.json`.
    pub claude_json: PathBuf,
    /// Keys of `projects` that point at existing project folders.
    pub live_keys: Vec<PathBuf>,
    /// Keys of `projects` that point at folders that do not exist.
    pub gone_keys: usize,
}

/// The `~/.claude.json` of [`generate_claude_home`], with `cost` as every project's
/// `lastCost` and `extra_server` (project index, server name) added as a local server.
pub fn claude_json_text(
    projects: &[PathBuf],
    gone_base: &Path,
    cost: f64,
    extra_server: Option<(usize, &str)>,
) -> String {
    let mut map = serde_json::Map::new();
    for (i, p) in projects.iter().enumerate() {
        let (key, entry) = if i % 3 == 2 {
            (
                gone_base.join(format!("deleted-{i:04}")),
                serde_json::json!({"lastCost": cost, "hasTrustDialogAccepted": true}),
            )
        } else {
            let mut servers = serde_json::json!({
                "local-db": {"command": "pg-mcp", "args": ["--db", format!("app{i}")],
                    "env": {"PGPASSWORD": "corpus-secret"}}
            });
            if let Some((k, name)) = extra_server
                && k == i
            {
                servers[name] =
                    serde_json::json!({"type": "http", "url": "https://mcp.example.com/x"});
            }
            (
                p.clone(),
                serde_json::json!({
                    "mcpServers": servers,
                    "enabledMcpjsonServers": [],
                    "allowedTools": [],
                    "lastCost": cost,
                    "lastSessionId": format!("session-{i}-{cost}"),
                    "history": [{"display": "please refactor the cache", "pastedContents": {}}]
                }),
            )
        };
        map.insert(key.display().to_string(), entry);
    }
    serde_json::json!({
        "numStartups": 42,
        "oauthAccount": {"emailAddress": "dev@example.com"},
        "mcpServers": {
            "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
                "headers": {"Authorization": "Bearer corpus-token"}},
            "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}
        },
        "projects": map
    })
    .to_string()
}

/// Writes a Claude Code user home for `projects`: `~/.claude.json` with one key per project
/// (every third pointing at a deleted folder instead), local and user MCP servers, and three
/// installed plugins enabled in `~/.claude/settings.json`, each with a skill, a command, an
/// agent, a hook and an MCP server.
pub fn generate_claude_home(home: &Path, projects: &[PathBuf]) -> io::Result<ClaudeHome> {
    let claude = home.join(".claude");
    let cache = claude.join("plugins/cache/corpus-market");
    let mut installed = serde_json::Map::new();
    let mut enabled = serde_json::Map::new();
    for name in CORPUS_PLUGINS {
        let root = cache.join(name).join("1.0.0");
        let w = |rel: &str, text: String| -> io::Result<()> {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap_or(&root))?;
            std::fs::write(p, text)
        };
        w(
            ".claude-plugin/plugin.json",
            serde_json::json!({"name": name, "version": "1.0.0", "description": format!("The {name} plugin")})
                .to_string(),
        )?;
        w(
            &format!("skills/{name}-skill/SKILL.md"),
            format!("---\nname: {name}-skill\ndescription: Helps with {name}\n---\nBody.\n"),
        )?;
        w(
            &format!("commands/{name}-run.md"),
            format!("---\ndescription: Run the {name}\n---\nRun.\n"),
        )?;
        w(
            &format!("agents/{name}-agent.md"),
            format!("---\nname: {name}-agent\ndescription: The {name} agent\n---\nYou are it.\n"),
        )?;
        w(
            "hooks/hooks.json",
            r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./done.sh"}]}]}}"#
                .to_string(),
        )?;
        w(
            ".mcp.json",
            format!(r#"{{"mcpServers": {{"{name}-mcp": {{"command": "{name}-server"}}}}}}"#),
        )?;
        let id = format!("{name}@corpus-market");
        installed.insert(
            id.clone(),
            serde_json::json!([{"scope": "user", "installPath": root, "version": "1.0.0"}]),
        );
        enabled.insert(id, serde_json::json!(true));
    }
    std::fs::create_dir_all(claude.join("plugins"))?;
    std::fs::write(
        claude.join("plugins/installed_plugins.json"),
        serde_json::json!({"version": 2, "plugins": installed}).to_string(),
    )?;
    std::fs::write(
        claude.join("settings.json"),
        serde_json::json!({"enabledPlugins": enabled}).to_string(),
    )?;
    let claude_json = home.join(".claude.json");
    let gone_base = home.join("gone");
    std::fs::write(
        &claude_json,
        claude_json_text(projects, &gone_base, 0.0, None),
    )?;
    let live_keys: Vec<PathBuf> = projects
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, p)| p.clone())
        .collect();
    Ok(ClaudeHome {
        claude_json,
        gone_keys: projects.len() - live_keys.len(),
        live_keys,
    })
}
