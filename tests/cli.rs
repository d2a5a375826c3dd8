//! End-to-end tests of the `skillmeat-cache` binary: a temporary HOME, a temporary database and
//! a temporary root of real project folders, driven through `std::process::Command`.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_skillmeat-cache");

const PDF_SKILL: &str = "---\nname: pdf\ndescription: Extract text and tables from PDF files\nversion: 2.0.0\n---\n# PDF\n";
const COMMIT: &str = "# Create a conventional commit\n\nStage and commit.\n";
const REVIEWER: &str = "---\nname: reviewer\ndescription: Use after coding. Examples: <example>Context: user: review\n---\nbody\n";
const DEPLOY: &str = "Ship the build to production\n";
const SETTINGS: &str =
    r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send finished"}]}]}}"#;
const MCP: &str =
    r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", "server-github"]}}}"#;

fn put(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    p
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The result of one run of the binary.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A temporary HOME, root of projects and database folder.
struct Env {
    home: TempDir,
    root: TempDir,
    db_dir: TempDir,
}

impl Env {
    /// Root with `alpha` (one of each kind, a SkillMeat record and an outdated skill), `beta`
    /// (one command) and a pruned `node_modules/pkg` project; HOME with a collection.
    fn new() -> Env {
        let env = Env {
            home: tempfile::tempdir().unwrap(),
            root: tempfile::tempdir().unwrap(),
            db_dir: tempfile::tempdir().unwrap(),
        };
        let a = env.root.path().join("alpha");
        put(&a, ".claude/skills/pdf/SKILL.md", PDF_SKILL);
        put(&a, ".claude/commands/git/commit.md", COMMIT);
        put(&a, ".claude/agents/reviewer.md", REVIEWER);
        put(&a, ".claude/settings.json", SETTINGS);
        put(&a, ".mcp.json", MCP);
        put(
            &a,
            ".claude/.skillmeat-deployed.toml",
            format!(
                "[[deployed]]\nartifact_name = \"pdf\"\nartifact_type = \"skill\"\n\
                 from_collection = \"default\"\ndeployed_at = \"2025-11-01T10:00:00\"\n\
                 artifact_path = \"skills/pdf\"\ncontent_hash = \"{}\"\n",
                pdf_hash()
            ),
        );
        put(env.root.path(), "beta/.claude/commands/deploy.md", DEPLOY);
        put(
            env.root.path(),
            "node_modules/pkg/.claude/commands/hidden.md",
            "pruned\n",
        );
        let col = env.home.path().join(".skillmeat/collections/default");
        put(
            &col,
            "collection.toml",
            "[collection]\nname = \"default\"\nversion = \"1.0.0\"\n\n\
             [[artifacts]]\nname = \"pdf\"\ntype = \"skill\"\npath = \"skills/pdf/\"\norigin = \"github\"\n\
             [artifacts.metadata]\nversion = \"v2.1.0\"\n",
        );
        put(
            &col,
            "collection.lock",
            format!(
                "[lock]\nversion = \"1.0.0\"\n\n[lock.entries.\"pdf::skill\"]\ncontent_hash = \"{}\"\nfetched = \"2025-12-01T00:00:00\"\n",
                sha(b"a newer pdf skill")
            ),
        );
        env
    }

    fn db(&self) -> PathBuf {
        self.db_dir.path().join("cache.db")
    }

    fn root_canon(&self) -> PathBuf {
        fs::canonicalize(self.root.path()).unwrap()
    }

    fn project_path(&self, name: &str) -> String {
        self.root_canon().join(name).display().to_string()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", self.home.path())
            .arg("--db")
            .arg(self.db())
            .arg("--root")
            .arg(self.root.path())
            .args(args)
            .current_dir(self.root.path())
            .stdin(Stdio::null());
        c
    }

    fn run_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Out {
        let mut c = self.command(args);
        for (k, v) in envs {
            c.env(k, v);
        }
        let o = c.output().expect("the binary runs");
        Out {
            code: o.status.code().expect("exited normally"),
            stdout: String::from_utf8(o.stdout).unwrap(),
            stderr: String::from_utf8(o.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, &[])
    }

    /// Runs and insists on success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.code, 0, "{args:?} failed: {o:?}");
        o.stdout
    }

    /// Runs with `--json` and parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.ok(&a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{a:?}: not JSON ({e}): {out}"))
    }

    fn list(&self) -> Value {
        self.json(&["list"])
    }

    fn project_paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self.list()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    }

    fn id_of(&self, name: &str) -> String {
        let path = self.project_path(name);
        self.list()["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} not listed"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn pdf_hash() -> String {
    let mut stream = b"SKILL.md".to_vec();
    stream.extend_from_slice(PDF_SKILL.as_bytes());
    sha(&stream)
}

fn one_error_line(o: &Out) -> String {
    let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line: {o:?}");
    lines[0].to_string()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn refresh_then_list_json() {
    let e = Env::new();
    let out = e.ok(&["refresh"]);
    assert!(
        out.starts_with("refreshed 2 of 2 project(s) (0 fresh, skipped)"),
        "{out}"
    );
    assert!(out.contains("2 changed, 0 failed"), "{out}");

    let l = e.list();
    assert_eq!(l["total"], 2);
    let items = l["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        e.project_paths(),
        vec![e.project_path("alpha"), e.project_path("beta")]
    );
    let alpha = items
        .iter()
        .find(|p| p["name"] == "alpha")
        .expect("alpha listed");
    assert_eq!(alpha["status"], "fresh");
    assert_eq!(alpha["origin"], "discovered");
    assert_eq!(
        alpha["counts"],
        serde_json::json!({"skill": 1, "agent": 1, "command": 1, "hook": 1, "mcp_server": 1,
            "memory": 0, "rule": 0, "output_style": 0, "plugin": 0})
    );
    assert_eq!(alpha["outdated_count"], 1);
    assert_eq!(alpha["modified_count"], 0);
    assert_eq!(alpha["id"].as_str().unwrap().len(), 12);
    let beta = items.iter().find(|p| p["name"] == "beta").unwrap();
    assert_eq!(beta["counts"]["command"], 1);
    assert_eq!(beta["status"], "fresh");

    // A second refresh finds everything fresh.
    let again = e.ok(&["refresh"]);
    assert!(
        again.starts_with("refreshed 0 of 2 project(s) (2 fresh, skipped)"),
        "{again}"
    );
}

#[test]
fn show_by_id_and_by_path() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let id = e.id_of("alpha");
    let by_id = e.json(&["show", &id]);
    assert_eq!(by_id["id"], id.as_str());
    assert_eq!(by_id["path"], e.project_path("alpha").as_str());
    assert_eq!(by_id["name"], "alpha");
    assert_eq!(by_id["profiles"], serde_json::json!([".claude"]));
    let names: Vec<&str> = by_id["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for n in ["pdf", "git:commit", "reviewer", "Stop", "github"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }

    let by_path = e.json(&["show", &e.project_path("alpha")]);
    assert_eq!(by_path["id"], id.as_str());
    assert_eq!(by_path["artifacts"], by_id["artifacts"]);
    // Relative (to the current directory) and with a trailing slash.
    assert_eq!(e.json(&["show", "./alpha/"])["id"], id.as_str());

    let text = e.ok(&["show", &id]);
    assert!(text.starts_with(&format!("alpha ({id})")), "{text}");
    assert!(text.contains("bad-frontmatter"), "{text}");
    assert!(text.contains("outdated"), "{text}");
}

#[test]
fn artifacts_json_has_every_field() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let page = e.json(&["artifacts"]);
    assert_eq!(page["total"], 6);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    let alpha = e.project_path("alpha");
    let beta = e.project_path("beta");
    for a in items {
        let project = a["project"].as_str().unwrap();
        assert!(project == alpha || project == beta, "{a}");
        assert!(Path::new(project).is_absolute());
        assert!(
            ["skill", "agent", "command", "hook", "mcp_server"]
                .contains(&a["kind"].as_str().unwrap()),
            "{a}"
        );
        assert!(!a["name"].as_str().unwrap().is_empty(), "{a}");
        assert!(a["description"].is_string(), "{a}");
        let path = a["path"].as_str().unwrap();
        assert!(!path.starts_with('/') && !path.is_empty(), "{a}");
        let h = a["content_hash"].as_str().unwrap();
        assert!(
            h.len() == 64
                && h.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{a}"
        );
        assert!(
            ["ok", "none", "malformed"].contains(&a["frontmatter"].as_str().unwrap()),
            "{a}"
        );
        assert!(a["version"].is_null() || a["version"].is_string(), "{a}");
        assert!(
            a["local_modified"].is_null() || a["local_modified"].is_boolean(),
            "{a}"
        );
        assert!(a["outdated"].is_null() || a["outdated"].is_boolean(), "{a}");
    }
    let find = |path: &str| {
        items
            .iter()
            .find(|a| a["path"] == path)
            .unwrap_or_else(|| panic!("no artifact at {path}"))
    };

    let pdf = find(".claude/skills/pdf");
    assert_eq!(pdf["project"], alpha.as_str());
    assert_eq!(pdf["kind"], "skill");
    assert_eq!(pdf["name"], "pdf");
    assert_eq!(pdf["description"], "Extract text and tables from PDF files");
    assert_eq!(pdf["content_hash"], pdf_hash().as_str());
    assert_eq!(pdf["frontmatter"], "ok");
    assert_eq!(pdf["version"], "2.0.0");
    assert_eq!(pdf["local_modified"], false);
    assert_eq!(pdf["outdated"], true);
    assert_eq!(pdf["upstream_version"], "v2.1.0");
    assert_eq!(pdf["version_cmp"], "collection_newer");

    let commit = find(".claude/commands/git/commit.md");
    assert_eq!(commit["kind"], "command");
    assert_eq!(commit["name"], "git:commit");
    assert_eq!(commit["description"], "Create a conventional commit");
    assert_eq!(commit["content_hash"], sha(COMMIT.as_bytes()).as_str());
    assert_eq!(commit["frontmatter"], "none");
    assert_eq!(commit["version"], Value::Null);
    assert_eq!(commit["local_modified"], Value::Null);
    assert_eq!(commit["outdated"], Value::Null);

    let rev = find(".claude/agents/reviewer.md");
    assert_eq!(rev["kind"], "agent");
    assert_eq!(rev["frontmatter"], "malformed");
    assert_eq!(
        rev["description"],
        "Use after coding. Examples: <example>Context: user: review"
    );

    let hook = find(".claude/settings.json#Stop[0].hooks[0]");
    assert_eq!(hook["kind"], "hook");
    assert_eq!(hook["name"], "Stop");
    assert_eq!(hook["description"], "notify-send finished");
    assert_eq!(hook["frontmatter"], "none");

    let mcp = find(".mcp.json#github");
    assert_eq!(mcp["kind"], "mcp_server");
    assert_eq!(mcp["description"], "npx -y server-github");

    let deploy = find(".claude/commands/deploy.md");
    assert_eq!(deploy["project"], beta.as_str());
    assert_eq!(deploy["name"], "deploy");

    // Filters.
    assert_eq!(e.json(&["artifacts", "--kind", "command"])["total"], 2);
    assert_eq!(e.json(&["artifacts", "--project", &beta])["total"], 1);
    let outdated = e.json(&["artifacts", "--outdated"]);
    assert_eq!(outdated["total"], 1);
    assert_eq!(outdated["items"][0]["name"], "pdf");
}

#[test]
fn search_json_reports_total_and_ranks_name_matches() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let s = e.json(&["search", "pdf"]);
    assert_eq!(s["total"], 1, "{s}");
    assert_eq!(s["items"][0]["name"], "pdf");
    assert_eq!(s["items"][0]["kind"], "skill");
    assert_eq!(s["items"][0]["tier"], 0);
    assert_eq!(s["items"][0]["project_name"], "alpha");

    // A word only found in a description.
    let d = e.json(&["search", "conventional"]);
    assert_eq!(d["total"], 1, "{d}");
    assert_eq!(d["items"][0]["name"], "git:commit");
    assert_eq!(d["items"][0]["tier"], 3);

    // Paging keeps the total: "git" is a name prefix of `git:commit` and `github`.
    let first = e.json(&["search", "git", "--limit", "1"]);
    assert_eq!(first["total"], 2, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let second = e.json(&["search", "git", "--limit", "1", "--skip", "1"]);
    assert_eq!(second["total"], 2, "{second}");
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    let mut names = vec![
        first["items"][0]["name"].as_str().unwrap(),
        second["items"][0]["name"].as_str().unwrap(),
    ];
    names.sort();
    assert_eq!(names, vec!["git:commit", "github"]);
    assert_eq!(first["items"][0]["tier"], 1);

    let none = e.json(&["search", "zzzznothing"]);
    assert_eq!(none["total"], 0);
    assert_eq!(none["items"], serde_json::json!([]));
}

#[test]
fn outdated_lists_and_rejects_a_bogus_sort() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let o = e.json(&["outdated"]);
    assert_eq!(o["total"], 1);
    assert_eq!(o["items"][0]["name"], "pdf");
    assert_eq!(o["items"][0]["upstream_version"], "v2.1.0");

    let bad = e.run(&["outdated", "--sort", "bogus"]);
    assert_ne!(bad.code, 0);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.stdout, "");
    let line = one_error_line(&bad);
    assert!(line.contains("bogus"), "{line}");
    assert!(line.contains("name, kind, project or version"), "{line}");
}

#[test]
fn refresh_of_a_fresh_project_does_nothing_and_invalidate_makes_it_stale() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let alpha = e.project_path("alpha");
    let out = e.ok(&["refresh", &alpha]);
    assert!(out.contains("nothing to do"), "{out}");
    let r = e.json(&["refresh", &alpha]);
    assert_eq!(r["refreshed"], false);

    let inv = e.ok(&["invalidate"]);
    assert!(inv.starts_with("invalidated 2 project(s)"), "{inv}");
    for p in e.list()["items"].as_array().unwrap() {
        assert_eq!(p["status"], "stale", "{p}");
        assert_eq!(p["invalidated_reason"], "manual", "{p}");
    }
    let again = e.json(&["refresh", &alpha]);
    assert_eq!(again["refreshed"], true, "{again}");
    assert_eq!(again["status"], "fresh");
    let statuses: Vec<(String, String)> = e.list()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("alpha".into(), "fresh".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&("beta".into(), "stale".into())),
        "{statuses:?}"
    );

    // One project by path.
    let one = e.ok(&["invalidate", &alpha]);
    assert!(one.starts_with("invalidated 1 project(s)"), "{one}");
    // The stale projects are re-read by a plain refresh; nothing changed on disk.
    let all = e.json(&["refresh"]);
    assert_eq!(all["refreshed"], 2);
    assert_eq!(all["changed"], serde_json::json!([]), "{all}");

    // A change on disk shows up after invalidation.
    put(e.root.path(), "beta/.claude/commands/new.md", "New one\n");
    e.ok(&["invalidate", &e.project_path("beta")]);
    let r = e.ok(&["refresh", &e.project_path("beta")]);
    assert!(r.contains("1 command added"), "{r}");
}

#[test]
fn clear_needs_yes_when_not_in_a_terminal() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let refused = e.run(&["clear"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("-y"), "{refused:?}");
    assert_eq!(e.list()["total"], 2);
    assert_eq!(e.json(&["artifacts"])["total"], 6);

    let out = e.ok(&["clear", "-y"]);
    assert_eq!(out.trim(), "cleared 2 project(s)");
    assert_eq!(e.list()["total"], 0);
    assert_eq!(e.json(&["artifacts"])["total"], 0);
    // Discovery brings them back.
    e.ok(&["refresh"]);
    assert_eq!(e.list()["total"], 2);
}

#[test]
fn add_and_remove_projects() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let elsewhere = tempfile::tempdir().unwrap();
    let gamma = elsewhere.path().join("gamma");
    put(
        &gamma,
        ".claude/agents/helper.md",
        "---\nname: helper\n---\n",
    );
    let gamma_canon = fs::canonicalize(&gamma).unwrap().display().to_string();

    let added = e.ok(&["add", gamma.to_str().unwrap()]);
    assert!(
        added.starts_with(&format!("added {gamma_canon} (")),
        "{added}"
    );
    let l = e.list();
    assert_eq!(l["total"], 3);
    let g = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == gamma_canon.as_str())
        .expect("gamma listed");
    assert_eq!(g["origin"], "added");
    assert_eq!(g["counts"]["agent"], 1);
    assert_eq!(g["status"], "fresh");

    // Not a project: refused, nothing added.
    let plain = tempfile::tempdir().unwrap();
    let bad = e.run(&["add", plain.path().to_str().unwrap()]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(e.list()["total"], 3);

    // Remove a discovered project and an added one: the next refresh brings neither back.
    let beta = e.project_path("beta");
    let r = e.ok(&["remove", &beta]);
    assert!(r.starts_with(&format!("removed {beta} (")), "{r}");
    e.ok(&["remove", &gamma_canon]);
    assert_eq!(e.project_paths(), vec![e.project_path("alpha")]);
    e.ok(&["refresh", "--force"]);
    assert_eq!(e.project_paths(), vec![e.project_path("alpha")]);
    assert_eq!(e.json(&["artifacts"])["total"], 5);
    // Nor does a clear forget the choice.
    e.ok(&["clear", "-y"]);
    e.ok(&["refresh"]);
    assert_eq!(e.project_paths(), vec![e.project_path("alpha")]);

    // `add` brings a removed project back.
    e.ok(&["add", &beta]);
    e.ok(&["refresh"]);
    assert_eq!(
        e.project_paths(),
        vec![e.project_path("alpha"), e.project_path("beta")]
    );
}

#[test]
fn config_set_get_environment_and_bad_values() {
    let e = Env::new();
    let out = e.ok(&["config", "set", "cache-ttl", "42"]);
    assert!(out.starts_with("cache-ttl = 42"), "{out}");
    assert_eq!(e.ok(&["config", "get", "cache-ttl"]), "42\n");
    let file = fs::read_to_string(e.home.path().join(".skillmeat/config.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&file).unwrap();
    assert_eq!(
        parsed["cache"]["cache-ttl"].as_integer(),
        Some(42),
        "{file}"
    );
    // The engine uses it.
    assert_eq!(e.json(&["status"])["ttl_minutes"], 42);

    // The environment overrides the file.
    let env = e.run_with(
        &["config", "get", "cache-ttl"],
        &[("SKILLMEAT_CACHE_TTL", "7")],
    );
    assert_eq!(env.code, 0, "{env:?}");
    assert_eq!(env.stdout, "7\n");

    // A bad value is refused and the file keeps the old one.
    let bad = e.run(&["config", "set", "cache-ttl", "banana"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let line = one_error_line(&bad);
    assert!(
        line.contains("cache-ttl") && line.contains("banana"),
        "{line}"
    );
    assert_eq!(e.ok(&["config", "get", "cache-ttl"]), "42\n");
    assert_eq!(
        fs::read_to_string(e.home.path().join(".skillmeat/config.toml")).unwrap(),
        file
    );

    // A bad value in the environment is an error naming the variable.
    let bad_env = e.run_with(
        &["config", "get", "cache-ttl"],
        &[("SKILLMEAT_CACHE_TTL", "x")],
    );
    assert_eq!(bad_env.code, 2, "{bad_env:?}");
    assert!(
        bad_env.stderr.contains("SKILLMEAT_CACHE_TTL"),
        "{bad_env:?}"
    );

    // Flags beat the environment.
    let flag = e.run_with(
        &["config", "get", "cache-path"],
        &[("SKILLMEAT_CACHE_PATH", "/nonexistent/env.db")],
    );
    assert_eq!(flag.stdout.trim(), e.db().display().to_string(), "{flag:?}");

    // An unknown key.
    let unknown = e.run(&["config", "get", "no-such-key"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
}

#[test]
fn unknown_project_is_exit_code_3_not_found() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let missing = e.root.path().join("no-such-project");
    let missing = missing.to_str().unwrap();
    for args in [
        vec!["show", missing],
        vec!["show", "deadbeef0000"],
        vec!["refresh", missing],
        vec!["invalidate", missing],
        vec!["remove", missing],
        vec!["artifacts", "--project", missing],
    ] {
        let o = e.run(&args);
        assert_eq!(o.code, 3, "{args:?}: {o:?}");
        assert!(o.stderr.contains("not found"), "{args:?}: {o:?}");
        assert_eq!(o.stdout, "", "{args:?}");
    }
    // Nothing was removed on the way.
    assert_eq!(e.list()["total"], 2);
}

#[test]
fn corrupt_database_is_rebuilt_and_status_says_so() {
    let e = Env::new();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 13) as u8).collect();
    fs::write(e.db(), &garbage).unwrap();
    let out = e.ok(&["status"]);
    assert!(out.contains("rebuilt"), "{out}");
    assert!(out.contains("projects   0"), "{out}");
    // The bad file was kept aside, byte for byte.
    let aside: Vec<PathBuf> = fs::read_dir(e.db_dir.path())
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("cache.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(fs::read(&aside[0]).unwrap(), garbage);
    // And the cache works.
    e.ok(&["refresh"]);
    assert_eq!(e.list()["total"], 2);

    // The same with another command first: it still works.
    let e2 = Env::new();
    fs::write(e2.db(), &garbage).unwrap();
    let r = e2.run(&["refresh"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("refreshed 2 of 2"), "{r:?}");
    assert_eq!(e2.list()["total"], 2);
}

#[test]
fn vanished_artifacts_are_deleted_and_vanished_projects_marked_missing() {
    let e = Env::new();
    e.ok(&["refresh"]);
    let alpha = e.project_path("alpha");
    fs::remove_file(e.root.path().join("alpha/.claude/commands/git/commit.md")).unwrap();
    fs::remove_dir_all(e.root.path().join("alpha/.claude/skills/pdf")).unwrap();
    e.ok(&["invalidate", &alpha]);
    let r = e.ok(&["refresh", &alpha]);
    assert!(r.contains("1 skill removed, 1 command removed"), "{r}");
    let left: Vec<String> = e.json(&["artifacts", "--project", &alpha])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(
        !left
            .iter()
            .any(|p| p.contains("commit") || p.contains("pdf"))
    );
    assert_eq!(e.json(&["outdated"])["total"], 0);

    fs::remove_dir_all(e.root.path().join("beta")).unwrap();
    e.ok(&["refresh"]);
    let beta = e.list()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "beta")
        .cloned()
        .expect("a vanished project stays listed");
    assert_eq!(beta["status"], "missing");
    assert_eq!(
        e.json(&["artifacts", "--project", &e.project_path("beta")])["total"],
        0
    );
}

#[test]
fn forced_refresh_of_unchanged_projects_reports_no_changes() {
    let e = Env::new();
    let first = e.json(&["refresh"]);
    assert_eq!(first["changed"].as_array().unwrap().len(), 2);
    let again = e.json(&["refresh", "--force"]);
    assert_eq!(again["refreshed"], 2);
    assert_eq!(again["changed"], serde_json::json!([]), "{again}");
    assert_eq!(again["failed"], serde_json::json!([]));
}

#[test]
fn no_hidden_row_limit_with_150_projects() {
    let e = Env::new();
    for i in 0..148 {
        put(
            e.root.path(),
            &format!("many/p{i:03}/.claude/commands/c.md"),
            format!("command {i}\n"),
        );
    }
    let out = e.ok(&["refresh"]);
    assert!(out.starts_with("refreshed 150 of 150 project(s)"), "{out}");
    let l = e.list();
    assert_eq!(l["total"], 150);
    assert_eq!(l["items"].as_array().unwrap().len(), 150);
    assert_eq!(e.json(&["artifacts"])["total"], 6 + 148);
    assert_eq!(e.json(&["status"])["projects"], 150);
    assert!(
        e.ok(&["invalidate"])
            .starts_with("invalidated 150 project(s)")
    );
    assert_eq!(e.ok(&["clear", "-y"]).trim(), "cleared 150 project(s)");
    assert_eq!(e.list()["total"], 0);
}

#[test]
fn numbers_out_of_range_get_a_clear_error_and_change_nothing() {
    let env = Env::new();
    env.ok(&["config", "set", "cache-ttl", "42"]);
    let file = env.home.path().join(".skillmeat/config.toml");
    // Reproduced in review: this used to succeed and leave `cache-ttl = 0` in the file.
    let o = env.run(&["config", "set", "cache-ttl", "18446744073709551615"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(
        one_error_line(&o).contains("cache-ttl must be a whole number from 1 to 525600"),
        "{o:?}"
    );
    assert!(
        fs::read_to_string(&file)
            .unwrap()
            .contains("cache-ttl = 42")
    );
    for (key, bad) in [("depth", "33"), ("debounce-ms", "0"), ("workers", "65")] {
        let o = env.run(&["config", "set", key, bad]);
        assert_eq!(o.code, 2, "{key}={bad}: {o:?}");
        assert!(one_error_line(&o).contains(key), "{o:?}");
    }
    // The environment is checked the same way, naming the variable.
    let o = env.run_with(&["status"], &[("SKILLMEAT_CACHE_TTL", "99999999999")]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(one_error_line(&o).contains("SKILLMEAT_CACHE_TTL"), "{o:?}");
    // Paging numbers at the API boundary.
    env.ok(&["refresh"]);
    for args in [
        &["list", "--limit", "0"][..],
        &["artifacts", "--skip", "18446744073709551615"],
        &["search", "pdf", "--skip", "18446744073709551615"],
        &["search", "pdf", "--limit", "1000000"],
        &["changes", "--limit", "18446744073709551615"],
    ] {
        let o = env.run(args);
        assert_eq!(o.code, 2, "{args:?}: {o:?}");
        let line = one_error_line(&o);
        assert!(
            line.contains("skip must be from 0 to") || line.contains("limit must be from 1 to"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn status_check_runs_a_full_integrity_check() {
    let env = Env::new();
    env.ok(&["refresh"]);
    let s = env.json(&["status", "--check"]);
    assert_eq!(s["integrity"], "ok");
    let checked = s["integrity_checked_at"].as_i64().expect("recorded");
    assert!(checked > 0);
    // Without --check nothing is checked now, and the last check is shown.
    let s = env.json(&["status"]);
    assert!(s["integrity"].is_null());
    assert_eq!(s["integrity_checked_at"].as_i64(), Some(checked));
    // The tray app's log folder, by the XDG base directory convention (HOME set, no
    // XDG_STATE_HOME): https://specifications.freedesktop.org/basedir-spec/latest/
    #[cfg(target_os = "linux")]
    {
        let logs = env.home.path().join(".local/state/skillmeat-tray/logs");
        assert_eq!(s["log_dir"].as_str(), Some(logs.to_str().unwrap()));
        assert!(
            env.ok(&["status"])
                .contains(&format!("logs       {}", logs.display()))
        );
    }
    assert!(
        env.ok(&["status"])
            .contains("integrity  not checked now (last sound check")
    );
}

#[test]
fn problems_scope_and_loaded_filters_from_the_command_line() {
    // Source: anthropics/claude-code#88400 (nested skills not loaded); code.claude.com/docs/en/mcp
    // (local scope in ~/.claude.json; project servers need approval).
    let e = Env::new();
    let alpha = e.root_canon().join("alpha");
    put(
        &alpha,
        ".claude/skills/group/inner/SKILL.md",
        "---\nname: inner\ndescription: deep\n---\n",
    );
    let claude_json = serde_json::json!({"projects": {
        alpha.display().to_string(): {"mcpServers": {"db": {"command": "pg", "env": {"PGPASSWORD": "pw-123"}}}}
    }});
    put(e.home.path(), ".claude.json", claude_json.to_string());
    e.ok(&["refresh"]);

    let problems = e.json(&["problems", &e.project_path("alpha")]);
    let mut got: Vec<(String, String)> = problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("github".to_string(), "mcp_not_approved".to_string()),
            ("inner".to_string(), "nested_skill".to_string()),
            // Its description holds "Examples: <example>Context: user: review": loaded, but
            // not valid YAML.
            ("reviewer".to_string(), "malformed_frontmatter".to_string()),
        ]
    );
    assert_eq!(e.json(&["status"])["problems"], 3);

    let local = e.json(&["artifacts", "--scope", "local"]);
    let items = local["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "db");
    assert_eq!(items[0]["scope"], "local");
    assert_eq!(items[0]["loaded"], true);
    assert_eq!(items[0]["not_loaded"], Value::Null);
    assert_eq!(
        items[0]["extra"]["env_keys"],
        serde_json::json!(["PGPASSWORD"])
    );

    let not_loaded = e.json(&["artifacts", "--not-loaded"]);
    let mut names: Vec<&str> = not_loaded["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["github", "inner"]);
    let hits = e.json(&["search", "inner", "--not-loaded"]);
    assert_eq!(hits["total"], 1);
    assert_eq!(e.json(&["search", "inner", "--loaded"])["total"], 0);

    let show = e.ok(&["show", &e.project_path("alpha")]);
    assert!(
        show.contains("local scope") && show.contains("project scope"),
        "{show}"
    );
    assert!(show.contains("no: nested_skill"), "{show}");
    let bad = e.run(&["artifacts", "--scope", "galaxy"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(!fs::read(e.db()).unwrap().windows(6).any(|w| w == b"pw-123"));
}

#[test]
fn no_secret_reaches_the_output_or_the_logs() {
    // Source: code.claude.com/docs/en/mcp (`env` and `headers` hold credentials);
    // docs/claude-code-on-disk.md (~/.claude.json holds OAuth data and prompt history).
    let e = Env::new();
    let alpha = e.root_canon().join("alpha");
    put(
        &alpha,
        ".mcp.json",
        r#"{"mcpServers": {"api": {"type": "http", "url": "https://u:TOPSECRET-1@x.example/m?k=TOPSECRET-2",
            "headers": {"Authorization": "Bearer TOPSECRET-3"}, "env": {"K": "TOPSECRET-4"}}}}"#,
    );
    let doc = serde_json::json!({
        "oauthAccount": {"emailAddress": "TOPSECRET-5@example.com"},
        "mcpServers": {"u": {"command": "u", "env": {"TOKEN": "TOPSECRET-6"}}},
        "projects": {alpha.display().to_string(): {
            "history": [{"display": "TOPSECRET-7 fix the login"}],
            "mcpServers": {"db": {"command": "pg", "env": {"PGPASSWORD": "TOPSECRET-8"}}}
        }}
    })
    .to_string();
    put(e.home.path(), ".claude.json", &doc);
    let mut seen = String::new();
    for args in [
        vec!["refresh", "-v"],
        vec!["status"],
        vec!["show", alpha.to_str().unwrap()],
        vec!["artifacts", "--json"],
        vec!["problems", "--json"],
        vec!["search", "db", "--json"],
    ] {
        let o = e.run_with(&args, &[("SKILLMEAT_LOG", "debug")]);
        assert_eq!(o.code, 0, "{args:?}: {o:?}");
        seen.push_str(&o.stdout);
        seen.push_str(&o.stderr);
    }
    // Half-written, cut right inside a secret: the note must not quote the file.
    let cut = doc.find("TOPSECRET-8").unwrap() + 5;
    put(e.home.path(), ".claude.json", &doc[..cut]);
    let o = e.run_with(&["refresh", "--force", "-v"], &[("SKILLMEAT_LOG", "debug")]);
    seen.push_str(&o.stdout);
    seen.push_str(&o.stderr);
    let o = e.run(&["status"]);
    assert!(o.stdout.contains("last good reading"), "{o:?}");
    seen.push_str(&o.stdout);
    assert!(seen.contains("PGPASSWORD"), "env key names are shown");
    assert!(
        !seen.contains("TOPSECRET"),
        "a secret was printed or logged:\n{seen}"
    );
}
