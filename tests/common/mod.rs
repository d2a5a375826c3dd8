//! Shared helpers for the integration tests: a throw-away home with a discovery root and a
//! database path, real project folders written file by file, and a raw SQLite connection to
//! the cache file for the few checks the public API cannot make.

#![allow(dead_code)]

use skillmeat_cache::{CacheManager, Config};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A temporary home (`<tmp>/home`), a discovery root (`<home>/projects`), a database path in
/// a folder that does not exist yet (`<tmp>/data/cache.db`) and a config pointing at them.
pub struct TestEnv {
    /// Keeps the temporary directory alive.
    pub tmp: tempfile::TempDir,
    /// Canonical path of the temporary directory.
    pub base: PathBuf,
    /// The fake home directory.
    pub home: PathBuf,
    /// The discovery root.
    pub root: PathBuf,
    /// The database file.
    pub db: PathBuf,
    /// The configuration used by [`TestEnv::open`].
    pub config: Config,
}

impl TestEnv {
    /// A new environment with a 60-minute TTL and the user scope excluded.
    pub fn new() -> TestEnv {
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = fs::canonicalize(tmp.path()).expect("canonical tempdir");
        let home = base.join("home");
        let root = home.join("projects");
        fs::create_dir_all(&root).expect("create root");
        let db = base.join("data").join("cache.db");
        let mut config = Config::defaults_for_home(&home);
        config.db_path = db.clone();
        config.roots = vec![root.clone()];
        config.include_user_scope = false;
        config.collections_dir = home.join(".skillmeat").join("collections");
        // Never the machine's own /etc/claude-code.
        config.claude_managed_dir = base.join("managed");
        config.ttl_minutes = 60;
        config.workers = 2;
        TestEnv {
            tmp,
            base,
            home,
            root,
            db,
            config,
        }
    }

    /// Opens a manager on this environment's config.
    pub fn open(&self) -> CacheManager {
        CacheManager::open(self.config.clone()).expect("open cache")
    }

    /// Creates (or reuses) the project folder `<root>/<name>` with an empty `.claude/`.
    pub fn project(&self, name: &str) -> ProjectDir {
        let path = self.root.join(name);
        fs::create_dir_all(path.join(".claude")).expect("create project");
        ProjectDir { path }
    }

    /// The default collection folder (`<collections>/default`), created.
    pub fn collection_dir(&self) -> PathBuf {
        let dir = self.config.collections_dir.join("default");
        fs::create_dir_all(&dir).expect("create collection");
        dir
    }

    /// A raw connection to the database file (for checks and fault injection).
    pub fn raw(&self) -> rusqlite::Connection {
        raw(&self.db)
    }
}

/// A raw connection to a database file, with a generous busy timeout.
pub fn raw(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(db).expect("raw open");
    c.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    c
}

/// A real project folder.
#[derive(Debug, Clone)]
pub struct ProjectDir {
    /// Canonical absolute path.
    pub path: PathBuf,
}

impl ProjectDir {
    /// The path as the cache stores it (and accepts as a key).
    pub fn key(&self) -> String {
        self.path.display().to_string()
    }

    /// Writes `rel` (relative to the project) with `content`, creating folders.
    pub fn write(&self, rel: &str, content: &str) -> &Self {
        let p = self.path.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, content).expect("write file");
        self
    }

    /// Removes a file or a folder below the project.
    pub fn remove(&self, rel: &str) {
        let p = self.path.join(rel);
        if p.is_dir() {
            fs::remove_dir_all(&p).expect("remove dir");
        } else {
            fs::remove_file(&p).expect("remove file");
        }
    }

    /// A skill `.claude/skills/<dir>/SKILL.md` with the given frontmatter lines and a body.
    pub fn skill_with(&self, dir: &str, frontmatter: &str, body: &str) -> &Self {
        self.write(
            &format!(".claude/skills/{dir}/SKILL.md"),
            &format!("---\n{frontmatter}\n---\n{body}\n"),
        )
    }

    /// A skill with a name and a description.
    pub fn skill(&self, dir: &str, name: &str, description: &str) -> &Self {
        self.skill_with(
            dir,
            &format!("name: {name}\ndescription: {description}"),
            &format!("# {name}\n\nUse it well."),
        )
    }

    /// An agent `.claude/agents/<file>.md`.
    pub fn agent(&self, file: &str, name: &str, description: &str) -> &Self {
        self.write(
            &format!(".claude/agents/{file}.md"),
            &format!("---\nname: {name}\ndescription: {description}\nmodel: sonnet\n---\nYou are {name}.\n"),
        )
    }

    /// A command `.claude/commands/<rel>.md` (folders are namespaces).
    pub fn command(&self, rel: &str, description: &str) -> &Self {
        self.write(
            &format!(".claude/commands/{rel}.md"),
            &format!("---\ndescription: {description}\n---\nDo the thing with $ARGUMENTS.\n"),
        )
    }

    /// `.claude/settings.json` with one hook entry per (event, command).
    pub fn hooks(&self, entries: &[(&str, &str)]) -> &Self {
        let mut hooks = serde_json::Map::new();
        for (event, command) in entries {
            hooks.insert(
                event.to_string(),
                serde_json::json!([{"matcher": "", "hooks": [{"type": "command", "command": command}]}]),
            );
        }
        self.write(
            ".claude/settings.json",
            &serde_json::json!({ "hooks": hooks }).to_string(),
        )
    }

    /// `<project>/.mcp.json` with one stdio server per name.
    pub fn mcp(&self, names: &[&str]) -> &Self {
        let mut servers = serde_json::Map::new();
        for n in names {
            servers.insert(
                n.to_string(),
                serde_json::json!({"command": "npx", "args": [format!("{n}-server")]}),
            );
        }
        self.write(
            ".mcp.json",
            &serde_json::json!({ "mcpServers": servers }).to_string(),
        )
    }

    /// `.claude/.skillmeat-project.toml` with a name and a description.
    pub fn project_file(&self, name: &str, description: &str) -> &Self {
        self.write(
            ".claude/.skillmeat-project.toml",
            &format!("[project]\nname = \"{name}\"\ndescription = \"{description}\"\n"),
        )
    }
}

/// Polls `cond` every few milliseconds until it holds; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until the wall clock (unix ms) is strictly past `t`.
pub fn wait_clock_past(t: i64) {
    wait_until(Duration::from_secs(5), "the clock to advance", || {
        skillmeat_cache::store::now_ms() > t
    });
}

/// Files in `dir` whose name starts with `prefix`.
pub fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().starts_with(prefix))
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The cached user scope (`~/.claude`), which must be there.
pub fn user_scope(m: &CacheManager) -> skillmeat_cache::model::Project {
    m.list_projects(&Default::default())
        .expect("projects listed")
        .items
        .into_iter()
        .find(|p| p.origin == skillmeat_cache::model::ProjectOrigin::User)
        .expect("the user scope is cached")
}
