//! Settings, layered: built-in defaults < `~/.skillmeat/config.toml` `[cache]` <
//! `SKILLMEAT_CACHE_*` environment variables < command-line flags.
//!
//! Every setting has one key (kebab-case, as written in the `[cache]` table and passed to
//! `skillmeat-cache config get|set`) and one environment variable derived from it.

use crate::error::{CacheError, Result};
use std::path::{Path, PathBuf};

/// Folder names never descended into, by discovery or the watcher (SkillMeat's list).
pub const DEFAULT_PRUNE: &[&str] = &[
    "node_modules",
    ".git",
    "venv",
    ".venv",
    "__pycache__",
    ".npm",
    ".cargo",
    ".rustup",
    ".cache",
    ".local",
    "vendor",
    "dist",
    "build",
    ".next",
    ".nuxt",
    "target",
    "Pods",
    ".gradle",
];

/// Profile roots a project may have, in the order they are scanned.
pub const PROFILE_ROOTS: &[&str] = &[".claude", ".codex", ".gemini", ".cursor"];

/// The type of a setting's value, used to parse it from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    /// A filesystem path.
    Path,
    /// A list of paths (TOML array; in the environment, separated by `:`).
    PathList,
    /// A list of names (TOML array; in the environment, separated by `,`).
    NameList,
    /// A non-negative integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// Free text.
    Text,
}

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Key in the `[cache]` table.
    pub key: &'static str,
    /// Environment variable that overrides it.
    pub env: &'static str,
    /// Value type.
    pub ty: SettingType,
    /// One-line description for `config list` and the README.
    pub help: &'static str,
}

/// Every setting this program reads.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "cache-path",
        env: "SKILLMEAT_CACHE_PATH",
        ty: SettingType::Path,
        help: "SQLite database file (default: <XDG data dir>/skillmeat-tray/cache.db)",
    },
    Setting {
        key: "cache-ttl",
        env: "SKILLMEAT_CACHE_TTL",
        ty: SettingType::Int,
        help: "minutes after which a refreshed project counts as stale (default 360)",
    },
    Setting {
        key: "cache-enabled",
        env: "SKILLMEAT_CACHE_ENABLED",
        ty: SettingType::Bool,
        help: "false stops scheduled refresh and watching; manual commands still work (default true)",
    },
    Setting {
        key: "roots",
        env: "SKILLMEAT_CACHE_ROOTS",
        ty: SettingType::PathList,
        help: "folders searched for projects (default ~/projects ~/dev ~/workspace ~/src)",
    },
    Setting {
        key: "depth",
        env: "SKILLMEAT_CACHE_DEPTH",
        ty: SettingType::Int,
        help: "how many folder levels below a root are searched (default 3)",
    },
    Setting {
        key: "prune",
        env: "SKILLMEAT_CACHE_PRUNE",
        ty: SettingType::NameList,
        help: "folder names never searched or watched (default node_modules .git target ...)",
    },
    Setting {
        key: "include-user-scope",
        env: "SKILLMEAT_CACHE_INCLUDE_USER_SCOPE",
        ty: SettingType::Bool,
        help: "also cache the user-level scope ~/.claude (default true)",
    },
    Setting {
        key: "collections-dir",
        env: "SKILLMEAT_CACHE_COLLECTIONS_DIR",
        ty: SettingType::Path,
        help: "SkillMeat collections folder (default ~/.skillmeat/collections)",
    },
    Setting {
        key: "schedule",
        env: "SKILLMEAT_CACHE_SCHEDULE",
        ty: SettingType::Text,
        help: "when stale projects are refreshed: an interval like 5m / 30s / 1h, or a 6-field cron expression (default 5m)",
    },
    Setting {
        key: "debounce-ms",
        env: "SKILLMEAT_CACHE_DEBOUNCE_MS",
        ty: SettingType::Int,
        help: "quiet time after a project's last file event before it is refreshed, in milliseconds (default 50)",
    },
    Setting {
        key: "max-wait-ms",
        env: "SKILLMEAT_CACHE_MAX_WAIT_MS",
        ty: SettingType::Int,
        help: "longest a steady stream of writes can delay a refresh, in milliseconds (default 1000)",
    },
    Setting {
        key: "workers",
        env: "SKILLMEAT_CACHE_WORKERS",
        ty: SettingType::Int,
        help: "projects scanned in parallel (default: number of cores, at most 4)",
    },
    Setting {
        key: "notifications",
        env: "SKILLMEAT_CACHE_NOTIFICATIONS",
        ty: SettingType::Bool,
        help: "desktop notifications from the tray app (default true)",
    },
    Setting {
        key: "watch-paused",
        env: "SKILLMEAT_CACHE_WATCH_PAUSED",
        ty: SettingType::Bool,
        help: "start with file watching paused (default false)",
    },
    Setting {
        key: "usage-index",
        env: "SKILLMEAT_CACHE_USAGE_INDEX",
        ty: SettingType::Bool,
        help: "index which skills, agents, commands and MCP servers Claude Code's session logs show in use; false deletes the index (default true)",
    },
];

/// Finds a setting by key.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// The resolved configuration every component reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The user's home directory.
    pub home: PathBuf,
    /// The config file that was (or would be) read.
    pub config_file: PathBuf,
    /// SQLite database file.
    pub db_path: PathBuf,
    /// Discovery roots.
    pub roots: Vec<PathBuf>,
    /// Discovery depth below each root.
    pub depth: usize,
    /// Pruned folder names.
    pub prune: Vec<String>,
    /// TTL in minutes.
    pub ttl_minutes: u64,
    /// Background refresh and watching enabled.
    pub enabled: bool,
    /// Whether `~/.claude` is cached as a project.
    pub include_user_scope: bool,
    /// SkillMeat collections folder.
    pub collections_dir: PathBuf,
    /// Refresh schedule (interval or cron).
    pub schedule: String,
    /// Watcher debounce in ms.
    pub debounce_ms: u64,
    /// Watcher maximum wait in ms.
    pub max_wait_ms: u64,
    /// Parallel scan workers.
    pub workers: usize,
    /// Desktop notifications on/off.
    pub notifications: bool,
    /// Start with watching paused.
    pub watch_paused: bool,
    /// Index artifact use from Claude Code's session transcripts (`usage-index`).
    pub usage_index: bool,
    /// `CLAUDE_CONFIG_DIR`: where Claude Code keeps `~/.claude` (and `.claude.json`) when set.
    pub claude_config_dir: Option<PathBuf>,
    /// Claude Code's managed (enterprise) folder: `managed-settings.json`, `CLAUDE.md`.
    pub claude_managed_dir: PathBuf,
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--db PATH`.
    pub db_path: Option<PathBuf>,
    /// `--root DIR` (repeatable); when non-empty, replaces the configured roots.
    pub roots: Vec<PathBuf>,
}

impl Config {
    /// Defaults for a given home directory, ignoring files and environment.
    pub fn defaults_for_home(home: &Path) -> Config {
        let data_dir = crate::paths::data_dir(home);
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Config {
            home: home.to_path_buf(),
            config_file: home.join(".skillmeat/config.toml"),
            db_path: data_dir.join("skillmeat-tray/cache.db"),
            roots: ["projects", "dev", "workspace", "src"]
                .iter()
                .map(|r| home.join(r))
                .collect(),
            depth: 3,
            prune: DEFAULT_PRUNE.iter().map(|s| s.to_string()).collect(),
            ttl_minutes: 360,
            enabled: true,
            include_user_scope: true,
            collections_dir: home.join(".skillmeat/collections"),
            schedule: "5m".into(),
            debounce_ms: 50,
            max_wait_ms: 1000,
            workers: cores.clamp(1, 4),
            notifications: true,
            watch_paused: false,
            usage_index: true,
            claude_config_dir: None,
            claude_managed_dir: PathBuf::from(if cfg!(target_os = "macos") {
                "/Library/Application Support/ClaudeCode"
            } else {
                "/etc/claude-code"
            }),
        }
    }

    /// Where Claude Code's user configuration (`~/.claude`) and `~/.claude.json` are.
    pub fn claude_paths(&self) -> crate::claude::claude_json::ClaudePaths {
        crate::claude::claude_json::ClaudePaths::new(&self.home, self.claude_config_dir.as_deref())
    }

    /// The config file path (`~/.skillmeat/config.toml`, or `$SKILLMEAT_CONFIG`), without
    /// reading it: lets `config set` repair a file that no longer loads.
    pub fn file_path() -> Result<PathBuf> {
        if let Some(file) = std::env::var_os("SKILLMEAT_CONFIG") {
            return Ok(PathBuf::from(file));
        }
        Ok(home_dir()?.join(".skillmeat/config.toml"))
    }

    /// Loads the full configuration: defaults, then the config file, then the environment,
    /// then `overrides`. A malformed file or value is an error naming the key.
    pub fn load(overrides: &Overrides) -> Result<Config> {
        let home = home_dir()?;
        let mut cfg = Config::defaults_for_home(&home);
        cfg.config_file = Config::file_path()?;
        let table = read_cache_table(&cfg.config_file)?;
        for (key, value) in table.iter() {
            let Some(s) = setting(key) else {
                tracing::warn!(
                    "{}: unknown key [cache].{key} ignored",
                    cfg.config_file.display()
                );
                continue;
            };
            let text = toml_value_to_text(value, s.ty);
            cfg.apply(s, &text)
                .map_err(|e| CacheError::Config(format!("{}: {e}", cfg.config_file.display())))?;
        }
        for s in SETTINGS {
            if let Ok(v) = std::env::var(s.env) {
                cfg.apply(s, &v)
                    .map_err(|e| CacheError::Config(format!("{}: {e}", s.env)))?;
            }
        }
        cfg.claude_config_dir = std::env::var_os("CLAUDE_CONFIG_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute());
        if let Some(db) = &overrides.db_path {
            cfg.db_path = absolute(db);
        }
        if !overrides.roots.is_empty() {
            cfg.roots = overrides.roots.iter().map(|r| absolute(r)).collect();
        }
        Ok(cfg)
    }

    /// Sets one setting from its text form (as given in the environment or `config set`).
    pub fn apply(&mut self, s: &Setting, text: &str) -> std::result::Result<(), String> {
        let text = text.trim();
        match s.key {
            "cache-path" => self.db_path = self.expand(text),
            "cache-ttl" => self.ttl_minutes = parse_int(s, text)?,
            "cache-enabled" => self.enabled = parse_bool(s, text)?,
            "roots" => self.roots = split_paths(text).iter().map(|p| self.expand(p)).collect(),
            "depth" => self.depth = parse_int(s, text)? as usize,
            "prune" => self.prune = split_list(text, ','),
            "include-user-scope" => self.include_user_scope = parse_bool(s, text)?,
            "collections-dir" => self.collections_dir = self.expand(text),
            "schedule" => {
                crate::schedule::Schedule::parse(text)?;
                self.schedule = text.to_string()
            }
            "debounce-ms" => self.debounce_ms = parse_int(s, text)?,
            "max-wait-ms" => self.max_wait_ms = parse_int(s, text)?,
            "workers" => self.workers = parse_int(s, text)? as usize,
            "notifications" => self.notifications = parse_bool(s, text)?,
            "watch-paused" => self.watch_paused = parse_bool(s, text)?,
            "usage-index" => self.usage_index = parse_bool(s, text)?,
            other => return Err(format!("unknown setting {other}")),
        }
        Ok(())
    }

    /// The current value of a setting, as text.
    pub fn get(&self, key: &str) -> Option<String> {
        let join = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(PATH_LIST_SEPARATOR)
        };
        Some(match key {
            "cache-path" => self.db_path.display().to_string(),
            "cache-ttl" => self.ttl_minutes.to_string(),
            "cache-enabled" => self.enabled.to_string(),
            "roots" => join(&self.roots),
            "depth" => self.depth.to_string(),
            "prune" => self.prune.join(","),
            "include-user-scope" => self.include_user_scope.to_string(),
            "collections-dir" => self.collections_dir.display().to_string(),
            "schedule" => self.schedule.clone(),
            "debounce-ms" => self.debounce_ms.to_string(),
            "max-wait-ms" => self.max_wait_ms.to_string(),
            "workers" => self.workers.to_string(),
            "notifications" => self.notifications.to_string(),
            "watch-paused" => self.watch_paused.to_string(),
            "usage-index" => self.usage_index.to_string(),
            _ => return None,
        })
    }

    /// The TTL in milliseconds.
    pub fn ttl_ms(&self) -> i64 {
        (self.ttl_minutes as i64).saturating_mul(60_000)
    }

    /// The SkillMeat global folder (`~/.skillmeat`).
    pub fn skillmeat_dir(&self) -> PathBuf {
        self.home.join(".skillmeat")
    }

    /// Expands `~/` and makes a path absolute.
    fn expand(&self, text: &str) -> PathBuf {
        if text == "~" {
            return self.home.clone();
        }
        if let Some(rest) = text.strip_prefix("~/") {
            return self.home.join(rest);
        }
        absolute(Path::new(text))
    }
}

/// Writes `key = value` into the `[cache]` table of the config file, keeping the rest of the
/// file (comments, other tables) as it was. The value is validated first.
pub fn set_in_file(config_file: &Path, key: &str, text: &str) -> Result<()> {
    let s = setting(key).ok_or_else(|| {
        CacheError::InvalidInput(format!(
            "unknown setting '{key}' (known: {})",
            SETTINGS
                .iter()
                .map(|s| s.key)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let mut probe = Config::defaults_for_home(Path::new("/"));
    probe.apply(s, text).map_err(CacheError::InvalidInput)?;
    if let Some(parent) = config_file.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CacheError::io(parent, e))?;
    }
    // Read, edit and write under a lock: two settings saved at once (the dashboard and a
    // `config set`, or two quick saves) both end up in the file.
    crate::fsutil::with_file_lock(config_file, || edit_file(config_file, s, key, text))
}

fn edit_file(config_file: &Path, s: &Setting, key: &str, text: &str) -> Result<()> {
    let existing = match std::fs::read_to_string(config_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CacheError::io(config_file, e)),
    };
    let mut doc: toml_edit::DocumentMut = existing
        .parse()
        .map_err(|e| CacheError::Config(format!("{}: {e}", config_file.display())))?;
    if !doc.contains_key("cache") {
        doc["cache"] = toml_edit::table();
    }
    let item = match s.ty {
        SettingType::Int => toml_edit::value(text.trim().parse::<i64>().unwrap_or_default()),
        SettingType::Bool => toml_edit::value(parse_bool(s, text).unwrap_or_default()),
        SettingType::PathList | SettingType::NameList => {
            let items = if s.ty == SettingType::PathList {
                split_paths(text)
            } else {
                split_list(text, ',')
            };
            let mut arr = toml_edit::Array::new();
            for v in items {
                arr.push(v);
            }
            toml_edit::value(arr)
        }
        SettingType::Path | SettingType::Text => toml_edit::value(text.trim()),
    };
    doc["cache"][key] = item;
    crate::fsutil::write_atomic(config_file, doc.to_string().as_bytes())
}

fn read_cache_table(file: &Path) -> Result<toml::Table> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(e) => return Err(CacheError::io(file, e)),
    };
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| CacheError::Config(format!("{}: {}", file.display(), e.message())))?;
    match doc.get("cache") {
        None => Ok(toml::Table::new()),
        Some(toml::Value::Table(t)) => Ok(t.clone()),
        Some(_) => Err(CacheError::Config(format!(
            "{}: [cache] must be a table",
            file.display()
        ))),
    }
}

fn toml_value_to_text(v: &toml::Value, ty: SettingType) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => {
            // A line per path: unambiguous on every OS (a Windows path holds `:`).
            let sep = if ty == SettingType::PathList {
                "\n"
            } else {
                ","
            };
            items
                .iter()
                .map(|i| match i {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(sep)
        }
        other => other.to_string(),
    }
}

/// The accepted range of an integer setting, with its unit. Every number from the config
/// file, the environment, `config set` or the dashboard is checked against it, so nothing
/// downstream (TTL arithmetic, debounce timers, walk depths) can overflow.
pub fn int_range(key: &str) -> (u64, u64, &'static str) {
    match key {
        // A year: past that "stale" means nothing.
        "cache-ttl" => (1, 525_600, "minutes"),
        "depth" => (0, 32, "levels"),
        "debounce-ms" => (1, 60_000, "milliseconds"),
        "max-wait-ms" => (1, 600_000, "milliseconds"),
        "workers" => (1, 64, "workers"),
        _ => (0, u32::MAX as u64, ""),
    }
}

fn parse_int(s: &Setting, text: &str) -> std::result::Result<u64, String> {
    let (min, max, unit) = int_range(s.key);
    let out_of_range = || {
        format!(
            "{} must be a whole number from {min} to {max} ({unit}), got '{text}'",
            s.key
        )
    };
    let n = text.parse::<u64>().map_err(|_| out_of_range())?;
    if !(min..=max).contains(&n) {
        return Err(out_of_range());
    }
    Ok(n)
}

fn parse_bool(s: &Setting, text: &str) -> std::result::Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{} must be true or false, got '{text}'", s.key)),
    }
}

/// The OS path-list separator (`:` on Unix, `;` on Windows), as in `PATH`.
#[cfg(windows)]
pub const PATH_LIST_SEPARATOR: &str = ";";
/// The OS path-list separator (`:` on Unix, `;` on Windows), as in `PATH`.
#[cfg(not(windows))]
pub const PATH_LIST_SEPARATOR: &str = ":";

/// A list of paths as given in the environment, `config set` or the dashboard: one per line,
/// or separated by the OS path-list separator ([`std::env::split_paths`]: `:` on Unix, `;` on
/// Windows, where `C:\` keeps its colon).
pub fn split_paths(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|line| std::env::split_paths(line).collect::<Vec<_>>())
        .map(|p| p.to_string_lossy().trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn split_list(text: &str, sep: char) -> Vec<String> {
    text.split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Checks discovery roots chosen in a user interface (the dashboard): each must be an
/// absolute path (`~/` allowed) to an existing folder, and not the file system's root (a walk
/// of `/` would cover the whole machine). The CLI and the config file may name folders that
/// do not exist yet (the defaults often don't).
pub fn check_roots_exist(text: &str) -> Result<()> {
    let home = home_dir()?;
    let roots = split_paths(text);
    if roots.is_empty() {
        return Err(CacheError::InvalidInput(
            "roots: give at least one folder".into(),
        ));
    }
    for r in roots {
        let p = match r.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None if r == "~" => home.clone(),
            None => PathBuf::from(&r),
        };
        if !p.is_absolute() {
            return Err(CacheError::InvalidInput(format!(
                "roots: '{r}' is not an absolute path"
            )));
        }
        let real = match crate::fsutil::canonical(&p) {
            Ok(real) if real.is_dir() => real,
            _ => {
                return Err(CacheError::InvalidInput(format!(
                    "roots: '{r}' is not an existing folder"
                )));
            }
        };
        if real.parent().is_none() {
            return Err(CacheError::InvalidInput(
                "roots: '/' would search the whole machine; choose folders below it".into(),
            ));
        }
    }
    Ok(())
}

/// The user's home directory (`$HOME`).
pub fn home_dir() -> Result<PathBuf> {
    directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .ok_or_else(|| CacheError::Config("cannot determine the home directory ($HOME)".into()))
}

/// Makes `p` absolute against the current directory, without touching the disk.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lists_split_like_path_or_by_line() {
        #[cfg(unix)]
        assert_eq!(split_paths("/a:/b c:/d"), ["/a", "/b c", "/d"]);
        #[cfg(windows)]
        assert_eq!(split_paths(r"C:\a;D:\b c"), [r"C:\a", r"D:\b c"]);
        assert_eq!(split_paths("/a\n /b \n\n"), ["/a", "/b"]);
        assert!(split_paths("").is_empty());
    }

    #[test]
    fn roots_written_to_the_file_read_back_the_same() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("config.toml");
        set_in_file(&file, "roots", "/x/one\n/x/two").unwrap();
        let table = read_cache_table(&file).unwrap();
        let text = toml_value_to_text(&table["roots"], SettingType::PathList);
        let mut cfg = Config::defaults_for_home(d.path());
        cfg.apply(setting("roots").unwrap(), &text).unwrap();
        assert_eq!(
            cfg.roots,
            [PathBuf::from("/x/one"), PathBuf::from("/x/two")]
        );
        assert_eq!(
            cfg.get("roots").unwrap(),
            format!("/x/one{PATH_LIST_SEPARATOR}/x/two")
        );
    }
}
