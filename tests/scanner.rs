//! Scanner tests on real folders: every on-disk oddity of `docs/skillmeat-on-disk.md` §1, the
//! content-hash rule of §3, SkillMeat deployment records and collections, and the
//! (mtime, size) fast path. Expected hashes are computed here, independently of the engine.

use sha2::{Digest, Sha256};
use skillmeat_cache::collection::Collection;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::scan::{PrevIndex, ProjectSnapshot, ScannedArtifact, scan_project};
use skillmeat_cache::{ArtifactKind, FrontmatterState, VersionCmp};
use std::fs;
#[cfg(unix)]
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------
// helpers

/// Writes `bytes` at `root/rel`, creating parent folders.
fn put(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    p
}

/// A fresh project folder with an empty `.claude/`.
fn project() -> TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join(".claude")).unwrap();
    d
}

fn scan(p: &Path) -> ProjectSnapshot {
    scan_project(p, &PrevIndex::default(), &Collection::default())
}

/// Plain SHA-256 hex, straight from the `sha2` crate (not through the engine).
fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SkillMeat's directory hash, from entries listed by hand in Python's
/// `sorted(Path.rglob)` order: relative POSIX path, then bytes, no separators.
fn dir_hash(entries_in_python_order: &[(&str, &[u8])]) -> String {
    let mut stream = Vec::new();
    for (rel, bytes) in entries_in_python_order {
        stream.extend_from_slice(rel.as_bytes());
        stream.extend_from_slice(bytes);
    }
    sha(&stream)
}

fn get<'a>(snap: &'a ProjectSnapshot, kind: ArtifactKind, path: &str) -> &'a ScannedArtifact {
    snap.artifacts
        .iter()
        .find(|a| a.kind == kind && a.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} at {path}; found: {:?}; notes: {:?}",
                keys(snap),
                snap.notes
            )
        })
}

fn keys(snap: &ProjectSnapshot) -> Vec<(String, String)> {
    snap.artifacts
        .iter()
        .map(|a| (a.kind.as_str().to_string(), a.path.clone()))
        .collect()
}

fn names_of(snap: &ProjectSnapshot, kind: ArtifactKind) -> Vec<String> {
    let mut v: Vec<String> = snap
        .artifacts
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| a.name.clone())
        .collect();
    v.sort();
    v
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// the hash function itself

#[test]
fn engine_hash_bytes_is_plain_sha256() {
    let want = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_eq!(sha(b"hello"), want);
    assert_eq!(skillmeat_cache::hash::hash_bytes(b"hello"), want);
}

// ---------------------------------------------------------------------------------------------
// §1 oddities

#[test]
fn command_without_frontmatter_takes_description_from_first_body_line() {
    let d = project();
    let body = "\n\n# Deploy the app to staging\n\nRun `make deploy` and report.\n";
    put(d.path(), ".claude/commands/deploy.md", body);
    let plain = "Run the whole test-suite and summarise failures.\nSecond line.\n";
    put(d.path(), ".claude/commands/test.md", plain);
    // Frontmatter without a description: the body still provides one.
    let half = "---\nargument-hint: <file>\n---\n## Format a file\n";
    put(d.path(), ".claude/commands/fmt.md", half);

    let snap = scan(d.path());
    assert!(snap.missing.is_none());
    assert_eq!(snap.artifacts.len(), 3, "{:?}", keys(&snap));

    let a = get(&snap, ArtifactKind::Command, ".claude/commands/deploy.md");
    assert_eq!(a.name, "deploy");
    assert_eq!(a.description, "Deploy the app to staging");
    assert_eq!(a.frontmatter, FrontmatterState::None);
    assert_eq!(a.version, None);
    assert_eq!(a.content_hash, sha(body.as_bytes()));

    let t = get(&snap, ArtifactKind::Command, ".claude/commands/test.md");
    assert_eq!(
        t.description,
        "Run the whole test-suite and summarise failures."
    );
    assert_eq!(t.frontmatter, FrontmatterState::None);

    let f = get(&snap, ArtifactKind::Command, ".claude/commands/fmt.md");
    assert_eq!(f.frontmatter, FrontmatterState::Ok);
    assert_eq!(f.description, "Format a file");
    assert_eq!(f.extra["argument_hint"], "<file>");
    assert_eq!(f.content_hash, sha(half.as_bytes()));
}

#[test]
fn malformed_yaml_frontmatter_is_recovered_by_line_scan_and_flagged() {
    let d = project();
    let agent = "---\n\
name: code-reviewer\n\
description: Use this agent after writing code. Examples: <example>Context: the user says: please review my PR\n  \
and this continuation line belongs to the description\n\
model: sonnet\n\
color: blue\n\
---\n\
You are a reviewer.\n";
    put(d.path(), ".claude/agents/code-reviewer.md", agent);
    // A block opened and never closed.
    let unclosed = "---\ndescription: half open: never closed\n";
    put(d.path(), ".claude/commands/half.md", unclosed);
    // A strict-YAML twin, to show the flag is about the block, not the agent kind.
    put(
        d.path(),
        ".claude/agents/fine.md",
        "---\nname: fine\ndescription: \"quoted: ok\"\n---\n",
    );

    let snap = scan(d.path());
    let a = get(
        &snap,
        ArtifactKind::Agent,
        ".claude/agents/code-reviewer.md",
    );
    assert_eq!(a.frontmatter, FrontmatterState::Malformed);
    assert_eq!(a.name, "code-reviewer");
    assert_eq!(
        a.description,
        "Use this agent after writing code. Examples: <example>Context: the user says: please \
         review my PR and this continuation line belongs to the description"
    );
    assert_eq!(a.extra["model"], "sonnet");
    assert_eq!(a.extra["color"], "blue");
    assert_eq!(a.content_hash, sha(agent.as_bytes()));

    let h = get(&snap, ArtifactKind::Command, ".claude/commands/half.md");
    assert_eq!(h.frontmatter, FrontmatterState::Malformed);
    assert_eq!(h.name, "half");
    assert_eq!(h.description, "half open: never closed");

    let f = get(&snap, ArtifactKind::Agent, ".claude/agents/fine.md");
    assert_eq!(f.frontmatter, FrontmatterState::Ok);
    assert_eq!(f.description, "quoted: ok");
}

#[test]
fn long_descriptions_spanning_lines_are_kept_whole() {
    let d = project();
    // 50 lines of 50 characters: 2,549 characters once folded with single spaces.
    let lines: Vec<String> = (0..50)
        .map(|i| format!("{:02}{}", i, "x".repeat(48)))
        .collect();
    let folded = lines.join(" ");
    assert_eq!(folded.chars().count(), 2549);

    let mut skill = String::from("---\nname: long-skill\ndescription: >\n");
    for l in &lines {
        skill.push_str("  ");
        skill.push_str(l);
        skill.push('\n');
    }
    skill.push_str("version: 1.0.0\n---\n# Body\n");
    put(d.path(), ".claude/skills/long/SKILL.md", &skill);

    // A plain multi-line scalar (valid YAML) in an agent.
    let agent = "---\nname: wrapped\ndescription: first part of the text\n  second part\n  third part\n---\n";
    put(d.path(), ".claude/agents/wrapped.md", agent);

    // The same 2,549 characters as continuation lines of a malformed block.
    let mut bad = String::from("---\nname: long-bad\ndescription: Examples: <example>Context: x\n");
    for l in &lines {
        bad.push_str("  ");
        bad.push_str(l);
        bad.push('\n');
    }
    bad.push_str("---\n");
    put(d.path(), ".claude/agents/long-bad.md", &bad);

    let snap = scan(d.path());
    let s = get(&snap, ArtifactKind::Skill, ".claude/skills/long");
    assert_eq!(s.frontmatter, FrontmatterState::Ok);
    assert_eq!(s.description, folded);
    assert_eq!(s.version.as_deref(), Some("1.0.0"));

    let w = get(&snap, ArtifactKind::Agent, ".claude/agents/wrapped.md");
    assert_eq!(
        w.description,
        "first part of the text second part third part"
    );

    let b = get(&snap, ArtifactKind::Agent, ".claude/agents/long-bad.md");
    assert_eq!(b.frontmatter, FrontmatterState::Malformed);
    assert_eq!(
        b.description,
        format!("Examples: <example>Context: x {folded}")
    );
}

#[test]
fn utf8_bom_and_crlf_files_parse_and_hash_their_raw_bytes() {
    let d = project();
    let bom_agent = "\u{feff}---\nname: bom-agent\ndescription: starts with a BOM\n---\nbody\n";
    put(d.path(), ".claude/agents/bom.md", bom_agent);
    let bom_cmd = "\u{feff}# Title after a BOM\nmore\n";
    put(d.path(), ".claude/commands/bom.md", bom_cmd);
    let crlf_skill = "---\r\nname: crlf-skill\r\ndescription: written on Windows\r\nversion: 1.0.0\r\ntags: [a, b]\r\n---\r\n# Body\r\n";
    put(d.path(), ".claude/skills/crlf/SKILL.md", crlf_skill);
    let crlf_cmd = "Commit everything\r\nand push\r\n";
    put(d.path(), ".claude/commands/crlf.md", crlf_cmd);
    let crlf_bad =
        "\u{feff}---\r\nname: crlf-bad\r\ndescription: Examples: <example>Context: yes\r\n---\r\n";
    put(d.path(), ".claude/agents/crlf-bad.md", crlf_bad);

    let snap = scan(d.path());
    let a = get(&snap, ArtifactKind::Agent, ".claude/agents/bom.md");
    assert_eq!(a.frontmatter, FrontmatterState::Ok);
    assert_eq!(a.name, "bom-agent");
    assert_eq!(a.description, "starts with a BOM");
    assert_eq!(a.content_hash, sha(bom_agent.as_bytes()));

    let c = get(&snap, ArtifactKind::Command, ".claude/commands/bom.md");
    assert_eq!(c.description, "Title after a BOM");
    assert_eq!(c.content_hash, sha(bom_cmd.as_bytes()));

    let s = get(&snap, ArtifactKind::Skill, ".claude/skills/crlf");
    assert_eq!(s.frontmatter, FrontmatterState::Ok);
    assert_eq!(s.name, "crlf-skill");
    assert_eq!(s.description, "written on Windows");
    assert_eq!(s.version.as_deref(), Some("1.0.0"));
    assert_eq!(s.tags, vec!["a", "b"]);
    assert_eq!(
        s.content_hash,
        dir_hash(&[("SKILL.md", crlf_skill.as_bytes())])
    );

    let cc = get(&snap, ArtifactKind::Command, ".claude/commands/crlf.md");
    assert_eq!(cc.description, "Commit everything");

    let b = get(&snap, ArtifactKind::Agent, ".claude/agents/crlf-bad.md");
    assert_eq!(b.frontmatter, FrontmatterState::Malformed);
    assert_eq!(b.name, "crlf-bad");
    assert_eq!(b.description, "Examples: <example>Context: yes");
}

#[test]
fn korean_and_chinese_names_and_paths() {
    let d = project();
    let skill_md = "---\nname: 코드-리뷰어\ndescription: 审查代码并给出建议\n---\n";
    put(d.path(), ".claude/skills/리뷰/SKILL.md", skill_md);
    put(d.path(), ".claude/skills/리뷰/参考.md", "참고 자료");
    put(
        d.path(),
        ".claude/agents/번역가.md",
        "---\ndescription: 한국어를 영어로 번역합니다\n---\n",
    );
    put(
        d.path(),
        ".claude/commands/工具/提交.md",
        "# 提交所有更改\n",
    );

    let snap = scan(d.path());
    assert_eq!(snap.artifacts.len(), 3, "{:?}", keys(&snap));
    let s = get(&snap, ArtifactKind::Skill, ".claude/skills/리뷰");
    assert_eq!(s.name, "코드-리뷰어");
    assert_eq!(s.description, "审查代码并给出建议");
    // "SKILL.md" < "参考.md": byte order equals code-point order.
    assert_eq!(
        s.content_hash,
        dir_hash(&[
            ("SKILL.md", skill_md.as_bytes()),
            ("参考.md", "참고 자료".as_bytes())
        ])
    );
    let a = get(&snap, ArtifactKind::Agent, ".claude/agents/번역가.md");
    assert_eq!(a.name, "번역가");
    assert_eq!(a.description, "한국어를 영어로 번역합니다");
    let c = get(
        &snap,
        ArtifactKind::Command,
        ".claude/commands/工具/提交.md",
    );
    assert_eq!(c.name, "工具:提交");
    assert_eq!(c.description, "提交所有更改");
}

#[test]
fn skills_two_and_three_folders_deep_and_topmost_skill_wins() {
    let d = project();
    let two = "---\nname: pdf-kit\ndescription: two deep\n---\n";
    put(d.path(), ".claude/skills/tools/pdf-kit/SKILL.md", two);
    put(d.path(), ".claude/skills/tools/README.md", "not a skill");
    let three = "---\ndescription: three deep\n---\n";
    put(d.path(), ".claude/skills/a/b/deep-one/SKILL.md", three);
    put(
        d.path(),
        ".claude/skills/a/b/deep-one/scripts/run.sh",
        "#!/bin/sh\n",
    );
    let outer = "---\nname: outer\ndescription: holds another\n---\n";
    put(d.path(), ".claude/skills/outer/SKILL.md", outer);
    let inner = "---\nname: inner\n---\n";
    put(d.path(), ".claude/skills/outer/inner/SKILL.md", inner);
    // A folder without SKILL.md anywhere below is no skill.
    put(d.path(), ".claude/skills/empty/notes/x.txt", "x");

    let snap = scan(d.path());
    let mut paths: Vec<&str> = snap
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Skill)
        .map(|a| a.path.as_str())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ".claude/skills/a/b/deep-one",
            ".claude/skills/outer",
            ".claude/skills/tools/pdf-kit",
        ]
    );
    let t = get(&snap, ArtifactKind::Skill, ".claude/skills/tools/pdf-kit");
    assert_eq!(t.name, "pdf-kit");
    assert_eq!(t.content_hash, dir_hash(&[("SKILL.md", two.as_bytes())]));
    let th = get(&snap, ArtifactKind::Skill, ".claude/skills/a/b/deep-one");
    assert_eq!(th.name, "deep-one");
    assert_eq!(th.description, "three deep");
    assert_eq!(
        th.content_hash,
        dir_hash(&[
            ("SKILL.md", three.as_bytes()),
            ("scripts/run.sh", b"#!/bin/sh\n")
        ])
    );
    let o = get(&snap, ArtifactKind::Skill, ".claude/skills/outer");
    assert_eq!(
        o.content_hash,
        dir_hash(&[
            ("SKILL.md", outer.as_bytes()),
            ("inner/SKILL.md", inner.as_bytes())
        ])
    );
}

#[cfg(unix)]
#[test]
fn symlinked_skills_folder_and_symlinked_single_skill() {
    // Project 1: `.claude/skills` is itself a symlink into `.agents/skills`.
    let d = project();
    let md = "---\nname: shared\ndescription: lives in .agents\n---\n";
    put(d.path(), ".agents/skills/shared/SKILL.md", md);
    put(d.path(), ".agents/skills/shared/ref/a.txt", "A");
    symlink("../.agents/skills", d.path().join(".claude/skills")).unwrap();
    let snap = scan(d.path());
    assert_eq!(keys(&snap).len(), 1, "{:?} {:?}", keys(&snap), snap.notes);
    let s = get(&snap, ArtifactKind::Skill, ".claude/skills/shared");
    assert_eq!(s.name, "shared");
    assert_eq!(
        s.content_hash,
        dir_hash(&[("SKILL.md", md.as_bytes()), ("ref/a.txt", b"A")])
    );

    // Project 2: one skill folder is a symlink; another is real.
    let d2 = project();
    let linked = "---\nname: linked\ndescription: one skill linked\n---\n";
    put(d2.path(), ".agents/linked-skill/SKILL.md", linked);
    put(d2.path(), ".agents/linked-skill/extra.md", "E");
    put(
        d2.path(),
        ".claude/skills/real/SKILL.md",
        "---\nname: real\n---\n",
    );
    symlink(
        "../../.agents/linked-skill",
        d2.path().join(".claude/skills/linked"),
    )
    .unwrap();
    let snap2 = scan(d2.path());
    assert_eq!(
        names_of(&snap2, ArtifactKind::Skill),
        vec!["linked", "real"]
    );
    let l = get(&snap2, ArtifactKind::Skill, ".claude/skills/linked");
    assert_eq!(l.description, "one skill linked");
    assert_eq!(
        l.content_hash,
        dir_hash(&[("SKILL.md", linked.as_bytes()), ("extra.md", b"E")])
    );
}

#[cfg(unix)]
#[test]
fn claude_md_present_absent_and_dangling() {
    let d = project();
    assert_eq!(scan(d.path()).claude_md, "absent");
    symlink("docs/AGENTS.md", d.path().join("CLAUDE.md")).unwrap();
    let snap = scan(d.path());
    assert_eq!(snap.claude_md, "dangling");
    assert!(snap.missing.is_none());
    put(d.path(), "docs/AGENTS.md", "# memory");
    assert_eq!(scan(d.path()).claude_md, "present");
}

#[test]
fn nested_command_namespaces() {
    let d = project();
    put(d.path(), ".claude/commands/git/commit.md", "Commit\n");
    put(d.path(), ".claude/commands/a/b/c.md", "Deep\n");
    put(d.path(), ".claude/commands/top.md", "Top\n");
    // Claude Code names commands by path; a frontmatter name does not rename them.
    put(
        d.path(),
        ".claude/commands/git/push.md",
        "---\nname: shove\ndescription: Push\n---\n",
    );
    put(d.path(), ".claude/commands/notes.txt", "not a command");

    let snap = scan(d.path());
    assert_eq!(
        names_of(&snap, ArtifactKind::Command),
        vec!["a:b:c", "git:commit", "git:push", "top"]
    );
    assert_eq!(
        get(
            &snap,
            ArtifactKind::Command,
            ".claude/commands/git/commit.md"
        )
        .name,
        "git:commit"
    );
    let p = get(&snap, ArtifactKind::Command, ".claude/commands/git/push.md");
    assert_eq!(p.name, "git:push");
    assert_eq!(p.description, "Push");
}

#[test]
fn hooks_from_settings_and_settings_local_with_and_without_matcher() {
    let d = project();
    put(
        d.path(),
        ".claude/settings.json",
        r#"{
  "permissions": {"allow": ["Bash(ls:*)"]},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [
        {"type": "command", "command": "echo pre-bash"},
        {"type": "command", "command": "audit.sh", "timeout": 5}
      ]}
    ],
    "Stop": [
      {"hooks": [{"type": "command", "command": "notify-send done"}]}
    ]
  }
}"#,
    );
    put(
        d.path(),
        ".claude/settings.local.json",
        "\u{feff}{\"hooks\": {\"PostToolUse\": [{\"matcher\": \"Edit|Write\", \"hooks\": [{\"type\": \"command\", \"command\": \"cargo fmt\"}]}]}}",
    );

    let snap = scan(d.path());
    assert!(snap.notes.is_empty(), "{:?}", snap.notes);
    let hooks: Vec<_> = snap
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Hook)
        .collect();
    assert_eq!(hooks.len(), 4, "{:?}", keys(&snap));

    let h = get(
        &snap,
        ArtifactKind::Hook,
        ".claude/settings.json#PreToolUse[0].hooks[0]",
    );
    assert_eq!(h.name, "PreToolUse [Bash]");
    assert_eq!(h.description, "echo pre-bash");
    assert_eq!(h.frontmatter, FrontmatterState::None);
    assert_eq!(h.extra["event"], "PreToolUse");
    assert_eq!(h.extra["matcher"], "Bash");
    assert_eq!(h.extra["type"], "command");
    assert_eq!(h.extra["command"], "echo pre-bash");
    assert_eq!(h.content_hash.len(), 64);

    let h2 = get(
        &snap,
        ArtifactKind::Hook,
        ".claude/settings.json#PreToolUse[0].hooks[1]",
    );
    assert_eq!(h2.description, "audit.sh");
    assert_eq!(h2.extra["timeout"], 5);
    assert_ne!(h.content_hash, h2.content_hash);

    let s = get(
        &snap,
        ArtifactKind::Hook,
        ".claude/settings.json#Stop[0].hooks[0]",
    );
    assert_eq!(s.name, "Stop");
    assert_eq!(s.extra["matcher"], "");
    assert_eq!(s.description, "notify-send done");

    let l = get(
        &snap,
        ArtifactKind::Hook,
        ".claude/settings.local.json#PostToolUse[0].hooks[0]",
    );
    assert_eq!(l.name, "PostToolUse [Edit|Write]");
    assert_eq!(l.description, "cargo fmt");
}

#[test]
fn mcp_servers_from_dot_mcp_json_keep_env_names_not_values() {
    let d = project();
    put(
        d.path(),
        ".mcp.json",
        r#"{"mcpServers": {
  "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
             "env": {"GITHUB_TOKEN": "ghp_SECRET_VALUE"}},
  "remote": {"type": "sse", "url": "https://mcp.example.com/sse"},
  "plain-http": {"url": "https://h.example.com/mcp"}
}}"#,
    );
    let snap = scan(d.path());
    assert_eq!(
        names_of(&snap, ArtifactKind::McpServer),
        vec!["github", "plain-http", "remote"]
    );
    let g = get(&snap, ArtifactKind::McpServer, ".mcp.json#github");
    assert_eq!(g.description, "npx -y @modelcontextprotocol/server-github");
    assert_eq!(g.extra["type"], "stdio");
    assert_eq!(g.extra["command"], "npx");
    assert_eq!(g.extra["env_keys"], serde_json::json!(["GITHUB_TOKEN"]));
    assert!(!g.extra.to_string().contains("ghp_SECRET_VALUE"));
    assert!(!g.description.contains("ghp_SECRET_VALUE"));
    assert_eq!(g.content_hash.len(), 64);
    let r = get(&snap, ArtifactKind::McpServer, ".mcp.json#remote");
    assert_eq!(r.description, "https://mcp.example.com/sse");
    assert_eq!(r.extra["type"], "sse");
    assert_eq!(r.extra["url"], "https://mcp.example.com/sse");
    let h = get(&snap, ArtifactKind::McpServer, ".mcp.json#plain-http");
    assert_eq!(h.extra["type"], "http");
}

#[test]
fn broken_json_and_toml_become_notes_not_failures() {
    let d = project();
    put(
        d.path(),
        ".claude/settings.json",
        "{\"hooks\": {\"Stop\": [",
    );
    put(d.path(), ".claude/settings.local.json", "not json at all");
    put(d.path(), ".mcp.json", "{\"mcpServers\": ");
    put(
        d.path(),
        ".claude/.skillmeat-deployed.toml",
        "[[deployed]\nname=",
    );
    put(d.path(), ".claude/commands/ok.md", "Still here\n");

    let snap = scan(d.path());
    assert!(snap.missing.is_none());
    assert_eq!(
        keys(&snap),
        vec![("command".to_string(), ".claude/commands/ok.md".to_string())]
    );
    assert_eq!(snap.notes.len(), 4, "{:?}", snap.notes);
    for (file, what) in [
        (".claude/settings.json", "not valid JSON"),
        (".claude/settings.local.json", "not valid JSON"),
        (".mcp.json", "not valid JSON"),
        (".skillmeat-deployed.toml", "not valid TOML"),
    ] {
        assert!(
            snap.notes
                .iter()
                .any(|n| n.contains(file) && n.contains(what)),
            "no note for {file}: {:?}",
            snap.notes
        );
    }
}

#[cfg(unix)]
#[test]
fn odd_and_unreadable_files_never_fail_the_project() {
    let d = project();
    let good = "---\nname: good\ndescription: fine\n---\n";
    put(d.path(), ".claude/agents/good.md", good);
    // Invalid UTF-8 bytes: still an artifact, hashed as raw bytes.
    let binary: &[u8] = b"\xff\xfe\x00garbage\x80\x81\n";
    put(d.path(), ".claude/commands/binary.md", binary);
    // A file that opens but cannot be read, even by root.
    symlink("/proc/self/mem", d.path().join(".claude/agents/mem.md")).unwrap();
    // A dangling symlink and a symlink loop among the agents.
    symlink("nowhere.md", d.path().join(".claude/agents/ghost.md")).unwrap();
    symlink("loop.md", d.path().join(".claude/agents/loop.md")).unwrap();
    // A folder named like a command, and a FIFO that would block a careless reader.
    fs::create_dir_all(d.path().join(".claude/commands/folder.md")).unwrap();
    let fifo = d.path().join(".claude/commands/pipe.md");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    // A commands folder and a skills folder that link back to themselves.
    symlink(".", d.path().join(".claude/commands/again")).unwrap();
    put(
        d.path(),
        ".claude/skills/real/SKILL.md",
        "---\nname: real\n---\n",
    );
    symlink(".", d.path().join(".claude/skills/loop")).unwrap();
    // A SKILL.md that is a folder.
    fs::create_dir_all(d.path().join(".claude/skills/weird/SKILL.md")).unwrap();

    // Guard against a hang (a FIFO read) without sleeping: the scan runs on a thread.
    let path = d.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(scan(&path)).unwrap());
    let snap = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the scan hung on an odd file");

    assert!(snap.missing.is_none());
    assert_eq!(
        keys(&snap),
        vec![
            ("skill".to_string(), ".claude/skills/real".to_string()),
            ("agent".to_string(), ".claude/agents/good.md".to_string()),
            (
                "command".to_string(),
                ".claude/commands/binary.md".to_string()
            ),
        ],
        "notes: {:?}",
        snap.notes
    );
    let b = get(&snap, ArtifactKind::Command, ".claude/commands/binary.md");
    assert_eq!(b.name, "binary");
    assert_eq!(b.content_hash, sha(binary));
    let g = get(&snap, ArtifactKind::Agent, ".claude/agents/good.md");
    assert_eq!(g.content_hash, sha(good.as_bytes()));
    for bad in [
        "mem.md",
        "ghost.md",
        "loop.md",
        ".claude/commands/again",
        ".claude/skills/loop",
    ] {
        assert!(
            snap.notes.iter().any(|n| n.contains(bad)),
            "no note about {bad}: {:?}",
            snap.notes
        );
    }
}

#[test]
fn a_folder_without_claude_dir_is_missing_and_a_vanished_folder_too() {
    let d = tempfile::tempdir().unwrap();
    put(d.path(), "README.md", "x");
    let snap = scan(d.path());
    assert!(snap.missing.is_some());
    assert!(snap.artifacts.is_empty());
    let gone = d.path().join("nope");
    assert!(scan(&gone).missing.is_some());
}

// ---------------------------------------------------------------------------------------------
// §3 the hash rule

#[cfg(unix)]
#[test]
fn skill_dir_hash_uses_python_component_order_and_link_rules() {
    let d = project();
    let s = ".claude/skills/order";
    let skill = "---\nname: order\n---\n";
    put(d.path(), &format!("{s}/SKILL.md"), skill);
    put(d.path(), &format!("{s}/a/x"), "1");
    put(d.path(), &format!("{s}/a-b/x"), "2");
    put(d.path(), &format!("{s}/a.txt"), "3");
    put(d.path(), &format!("{s}/z/deep/f.txt"), "4");
    put(d.path(), &format!("{s}/B.md"), "5");
    put(d.path(), "outside/dir/inside.txt", "NOT HASHED");
    put(d.path(), "outside/file.txt", "LINKED");
    // A symlinked folder is not descended into; a symlinked file counts; a dangling one not.
    symlink(
        d.path().join("outside/dir"),
        d.path().join(s).join("linkdir"),
    )
    .unwrap();
    symlink(
        d.path().join("outside/file.txt"),
        d.path().join(s).join("linkfile"),
    )
    .unwrap();
    symlink("no/such/file", d.path().join(s).join("dangling")).unwrap();

    let snap = scan(d.path());
    let a = get(&snap, ArtifactKind::Skill, s);
    // Listed by hand in Python's `sorted(Path.rglob("*"))` order (component-wise):
    // "B.md" < "SKILL.md" < "a" < "a-b" < "a.txt" < "linkfile" < "z".
    let want = dir_hash(&[
        ("B.md", b"5"),
        ("SKILL.md", skill.as_bytes()),
        ("a/x", b"1"),
        ("a-b/x", b"2"),
        ("a.txt", b"3"),
        ("linkfile", b"LINKED"),
        ("z/deep/f.txt", b"4"),
    ]);
    assert_eq!(a.content_hash, want);
    // The joined-string order would give another hash: the test can tell them apart.
    let joined_order = dir_hash(&[
        ("B.md", b"5"),
        ("SKILL.md", skill.as_bytes()),
        ("a-b/x", b"2"),
        ("a.txt", b"3"),
        ("a/x", b"1"),
        ("linkfile", b"LINKED"),
        ("z/deep/f.txt", b"4"),
    ]);
    assert_ne!(want, joined_order);
    assert_eq!(a.extra["files"], 7);
}

// ---------------------------------------------------------------------------------------------
// SkillMeat records and the collection

struct Fixture {
    project: TempDir,
    home: TempDir,
    review_hash: String,
    pdf_now: String,
    legacy_hash: String,
}

const REVIEW: &str = "---\ndescription: Review the diff\n---\nReview it.\n";
const PDF: &str = "---\nname: pdf\ndescription: Read PDFs\nversion: 2.0.0\n---\n";
const HELPER: &str = "---\nname: helper\ndescription: helps\nversion: \"1.0\"\n---\n";
const LEGACY: &str = "---\nname: legacy\ndescription: old agent\nversion: v1.2.0\n---\n";
const TWIN: &str = "---\nname: twin\ndescription: same version\nversion: \"1.2\"\n---\n";
const EDITED: &str = "---\nname: edited\ndescription: changed after deploy\n---\n";

fn records_fixture() -> Fixture {
    let project = project();
    let p = project.path();
    put(p, ".claude/commands/review.md", REVIEW);
    put(p, ".claude/skills/pdf/SKILL.md", PDF);
    put(p, ".claude/skills/pdf/forms.md", "forms");
    put(p, ".claude/skills/helper/SKILL.md", HELPER);
    put(p, ".claude/agents/legacy.md", LEGACY);
    put(p, ".claude/agents/twin.md", TWIN);
    put(p, ".claude/agents/edited.md", EDITED);
    put(p, ".claude/commands/untracked.md", "No record for me\n");
    put(p, ".claude/skills/x/SKILL.md", "---\nname: x\n---\n");

    let review_hash = sha(REVIEW.as_bytes());
    let pdf_now = dir_hash(&[("SKILL.md", PDF.as_bytes()), ("forms.md", b"forms")]);
    let pdf_deployed = dir_hash(&[("SKILL.md", PDF.as_bytes())]);
    let helper_now = dir_hash(&[("SKILL.md", HELPER.as_bytes())]);
    let legacy_hash = sha(LEGACY.as_bytes());
    let twin_hash = sha(TWIN.as_bytes());
    let edited_old = sha(b"the deployed version");
    put(
        p,
        ".claude/.skillmeat-deployed.toml",
        format!(
            r#"
[[deployed]]
artifact_name = "review"
artifact_type = "command"
from_collection = "default"
deployed_at = "2025-11-01T10:00:00"
artifact_path = "commands/review.md"
content_hash = "{review_hash}"
local_modifications = false
version_lineage = ["{review_hash}"]

[[deployed]]
artifact_name = "pdf"
artifact_type = "skill"
from_collection = "default"
deployed_at = 2025-11-02T10:00:00Z
artifact_path = "skills/pdf/"
content_hash = "{pdf_deployed}"
deployment_profile_id = "claude"
platform = "claude_code"

[[deployed]]
artifact_name = "helper"
artifact_type = "skill"
from_collection = "default"
content_hash = "{helper_now}"

[[deployed]]
artifact_name = "legacy"
artifact_type = "agent"
artifact_path = "agents/legacy.md"
collection_sha = "{legacy_upper}"

[[deployed]]
artifact_name = "twin"
artifact_type = "agent"
artifact_path = "agents/twin.md"
content_hash = "{twin_hash}"

[[deployed]]
artifact_name = "edited"
artifact_type = "agent"
artifact_path = "agents/edited.md"
collection_sha = "{edited_old}"

[[deployed]]
artifact_name = "gone"
artifact_type = "command"
artifact_path = "commands/gone.md"
content_hash = "{zero}"

[[deployed]]
artifact_name = "pre-commit"
artifact_type = "hook"
artifact_path = "settings.json"

[[deployed]]
artifact_name = "pipeline"
artifact_type = "orchestration"
artifact_path = "orchestrations/pipeline"

[[deployed]]
artifact_name = "x"
artifact_type = "skill"
artifact_path = "../x"
content_hash = "{zero}"
"#,
            legacy_upper = legacy_hash.to_ascii_uppercase(),
            zero = "0".repeat(64),
        ),
    );

    let home = tempfile::tempdir().unwrap();
    let col = home.path().join("collections/default");
    put(
        &col,
        "collection.toml",
        r#"[collection]
name = "default"
version = "1.0.0"
created = "2025-01-01T00:00:00"
updated = "2025-06-01T00:00:00"

[[artifacts]]
name = "pdf"
type = "skill"
path = "skills/pdf/"
origin = "github"
added = "2025-01-01T00:00:00"
upstream = "https://github.com/example/skills/tree/main/pdf"
[artifacts.metadata]
title = "PDF"
version = "v2.1.0"

[[artifacts]]
name = "review"
type = "command"
path = "commands/review.md"
origin = "local"
resolved_version = "1.0.0"

[[artifacts]]
name = "legacy"
type = "agent"
path = "agents/legacy.md"
origin = "local"
resolved_version = "1.0.0"

[[artifacts]]
name = "twin"
type = "agent"
path = "agents/twin.md"
origin = "local"
resolved_version = "v1.2.0"

[[artifacts]]
name = "helper"
type = "skill"
path = "skills/helper/"
origin = "local"
resolved_version = "1.3.0"

[[artifacts]]
name = "untracked"
type = "command"
path = "commands/untracked.md"
origin = "local"
"#,
    );
    put(
        &col,
        "collection.lock",
        format!(
            r#"[lock]
version = "1.0.0"

[lock.entries."pdf::skill"]
content_hash = "{pdf_upstream}"
fetched = "2025-06-01T00:00:00"

[lock.entries."review::command"]
content_hash = "{review_hash}"
fetched = "2025-06-01T00:00:00"

[lock.entries."legacy::agent"]
content_hash = "{legacy_hash}"
fetched = "2025-06-01T00:00:00"

[lock.entries."twin::agent"]
content_hash = "{twin_upstream}"
fetched = "2025-06-01T00:00:00"

[lock.entries."untracked::command"]
content_hash = "{zero}"
"#,
            pdf_upstream = sha(b"pdf upstream v2.1.0"),
            twin_upstream = sha(b"twin upstream"),
            zero = "0".repeat(64),
        ),
    );
    Fixture {
        project,
        home,
        review_hash,
        pdf_now,
        legacy_hash,
    }
}

#[test]
fn deployment_records_give_local_modified_and_notes_for_odd_entries() {
    let f = records_fixture();
    let snap = scan(f.project.path());
    let p = |path| get(&snap, kind_of(path), path);

    let review = p(".claude/commands/review.md");
    assert_eq!(review.content_hash, f.review_hash);
    assert_eq!(review.local_modified, Some(false));
    let pdf = p(".claude/skills/pdf");
    assert_eq!(pdf.content_hash, f.pdf_now);
    assert_eq!(pdf.local_modified, Some(true));
    // Matched by name (no artifact_path in the record).
    assert_eq!(p(".claude/skills/helper").local_modified, Some(false));
    // The older `collection_sha` field, upper-case hex.
    let legacy = p(".claude/agents/legacy.md");
    assert_eq!(legacy.content_hash, f.legacy_hash);
    assert_eq!(legacy.local_modified, Some(false));
    assert_eq!(p(".claude/agents/edited.md").local_modified, Some(true));
    // No record: unknown, not false.
    assert_eq!(p(".claude/commands/untracked.md").local_modified, None);
    // The record with path `../x` must not attach to the real skill `x`.
    assert_eq!(p(".claude/skills/x").local_modified, None);
    // Without a collection nothing is known about `outdated`.
    for a in &snap.artifacts {
        assert_eq!(a.outdated, None, "{}", a.path);
        assert_eq!(a.upstream_version, None, "{}", a.path);
        assert_eq!(a.version_cmp, None, "{}", a.path);
    }

    assert_eq!(snap.notes.len(), 4, "{:?}", snap.notes);
    let has = |parts: &[&str]| {
        snap.notes
            .iter()
            .any(|n| parts.iter().all(|s| n.contains(s)))
    };
    assert!(
        has(&["stale", "'gone'", "commands/gone.md"]),
        "{:?}",
        snap.notes
    );
    assert!(has(&["'pre-commit'", "'hook'"]), "{:?}", snap.notes);
    assert!(has(&["'pipeline'", "'orchestration'"]), "{:?}", snap.notes);
    assert!(has(&["'x'", "../x"]), "{:?}", snap.notes);
}

fn kind_of(path: &str) -> ArtifactKind {
    if path.contains("/skills/") {
        ArtifactKind::Skill
    } else if path.contains("/agents/") {
        ArtifactKind::Agent
    } else {
        ArtifactKind::Command
    }
}

#[test]
fn collection_gives_outdated_and_semver_comparison() {
    let f = records_fixture();
    let col = Collection::load(&f.home.path().join("collections"));
    assert!(col.notes.is_empty(), "{:?}", col.notes);
    let snap = scan_project(f.project.path(), &PrevIndex::default(), &col);
    let p = |path| get(&snap, kind_of(path), path);

    // Collection hash differs from the deployed one; `v2.1.0` > `2.0.0`.
    let pdf = p(".claude/skills/pdf");
    assert_eq!(pdf.outdated, Some(true));
    assert_eq!(pdf.upstream_version.as_deref(), Some("v2.1.0"));
    assert_eq!(pdf.version_cmp, Some(VersionCmp::CollectionNewer));
    assert_eq!(pdf.local_modified, Some(true));

    // Same hash, no version in the project: not outdated, no comparison.
    let review = p(".claude/commands/review.md");
    assert_eq!(review.outdated, Some(false));
    assert_eq!(review.upstream_version.as_deref(), Some("1.0.0"));
    assert_eq!(review.version_cmp, None);

    // Same hash, project `v1.2.0` newer than collection `1.0.0`.
    let legacy = p(".claude/agents/legacy.md");
    assert_eq!(legacy.outdated, Some(false));
    assert_eq!(legacy.version_cmp, Some(VersionCmp::ProjectNewer));

    // `1.2` and `v1.2.0` are the same version, but the content differs.
    let twin = p(".claude/agents/twin.md");
    assert_eq!(twin.outdated, Some(true));
    assert_eq!(twin.version_cmp, Some(VersionCmp::Same));

    // Manifest only (no lock hash): `1.0` < `1.3.0` is enough to call it outdated.
    let helper = p(".claude/skills/helper");
    assert_eq!(helper.upstream_version.as_deref(), Some("1.3.0"));
    assert_eq!(helper.version_cmp, Some(VersionCmp::CollectionNewer));
    assert_eq!(helper.outdated, Some(true));

    // In the collection but never deployed here: unknown.
    let untracked = p(".claude/commands/untracked.md");
    assert_eq!(untracked.outdated, None);
    assert_eq!(untracked.local_modified, None);

    let outdated: Vec<&str> = snap
        .artifacts
        .iter()
        .filter(|a| a.outdated == Some(true))
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(outdated, vec!["helper", "pdf", "twin"]);
}

// ---------------------------------------------------------------------------------------------
// the (mtime, size) fast path

#[test]
fn unchanged_sources_are_not_reread_and_changed_ones_are() {
    let f = records_fixture();
    let p = f.project.path();
    put(
        p,
        ".claude/settings.json",
        r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}"#,
    );
    put(
        p,
        ".mcp.json",
        r#"{"mcpServers": {"s": {"command": "srv"}}}"#,
    );
    let col = Collection::load(&f.home.path().join("collections"));

    let first = scan_project(p, &PrevIndex::default(), &col);
    // 3 skills + 3 agents + 2 commands + settings.json + .mcp.json.
    assert_eq!(first.sources_read, 10, "{:?}", keys(&first));
    let total = first.artifacts.len();

    let second = scan_project(p, &PrevIndex::from_artifacts(first.artifacts.clone()), &col);
    assert_eq!(second.sources_read, 0);
    assert_eq!(second.artifacts, first.artifacts);
    assert_eq!(second.notes, first.notes);

    // New content of another size in one command.
    let review = p.join(".claude/commands/review.md");
    fs::write(&review, "---\ndescription: Review the diff again\n---\n").unwrap();
    let third = scan_project(
        p,
        &PrevIndex::from_artifacts(second.artifacts.clone()),
        &col,
    );
    assert_eq!(third.sources_read, 1);
    assert_eq!(third.artifacts.len(), total);
    let r = get(&third, ArtifactKind::Command, ".claude/commands/review.md");
    assert_eq!(r.description, "Review the diff again");
    assert_eq!(r.local_modified, Some(true));

    // Same size, new bytes, mtime moved explicitly: a file inside a skill folder.
    let forms = p.join(".claude/skills/pdf/forms.md");
    let before = fs::metadata(&forms).unwrap().modified().unwrap();
    fs::write(&forms, "FORMS").unwrap();
    set_mtime(&forms, before + Duration::from_secs(10));
    let fourth = scan_project(p, &PrevIndex::from_artifacts(third.artifacts.clone()), &col);
    assert_eq!(fourth.sources_read, 1);
    let pdf = get(&fourth, ArtifactKind::Skill, ".claude/skills/pdf");
    assert_eq!(
        pdf.content_hash,
        dir_hash(&[("SKILL.md", PDF.as_bytes()), ("forms.md", b"FORMS")])
    );
}

#[test]
fn reused_artifacts_get_fresh_derived_flags() {
    let f = records_fixture();
    let p = f.project.path();
    let first = scan(p);
    assert_eq!(
        get(&first, ArtifactKind::Agent, ".claude/agents/edited.md").local_modified,
        Some(true)
    );
    // The record now carries the current hash: nothing on disk changed but the record.
    let rec = p.join(".claude/.skillmeat-deployed.toml");
    let text = fs::read_to_string(&rec)
        .unwrap()
        .replace(&sha(b"the deployed version"), &sha(EDITED.as_bytes()));
    fs::write(&rec, text).unwrap();
    let col = Collection::load(&f.home.path().join("collections"));
    let second = scan_project(p, &PrevIndex::from_artifacts(first.artifacts.clone()), &col);
    assert_eq!(second.sources_read, 0);
    assert_eq!(
        get(&second, ArtifactKind::Agent, ".claude/agents/edited.md").local_modified,
        Some(false)
    );
    // And the collection, given now, is applied to reused artifacts too.
    assert_eq!(
        get(&second, ArtifactKind::Skill, ".claude/skills/pdf").outdated,
        Some(true)
    );
}

#[test]
fn records_in_other_profile_roots_and_unrecognisable_paths() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // Only a `.codex` profile with a SkillMeat record: still a project.
    let md = "---\nname: cx\ndescription: codex skill\n---\n";
    put(p, ".codex/skills/cx/SKILL.md", md);
    put(p, ".codex/notes.txt", "not an artifact");
    put(
        p,
        ".codex/.skillmeat-deployed.toml",
        format!(
            "[[deployed]]\nartifact_name = \"cx\"\nartifact_type = \"skill\"\n\
             artifact_path = \"skills/cx\"\ncontent_hash = \"{}\"\n\n\
             [[deployed]]\nartifact_name = \"notes\"\nartifact_type = \"command\"\n\
             artifact_path = \"notes.txt\"\n",
            dir_hash(&[("SKILL.md", md.as_bytes())])
        ),
    );
    put(
        p,
        ".codex/.skillmeat-project.toml",
        "[project]\nname = \"Codex Project\"\ndescription = \"from the record\"\n",
    );
    let snap = scan(p);
    assert!(snap.missing.is_none(), "{:?}", snap.missing);
    assert_eq!(snap.profiles, vec![".codex"]);
    assert_eq!(snap.name.as_deref(), Some("Codex Project"));
    assert_eq!(snap.description.as_deref(), Some("from the record"));
    let cx = get(&snap, ArtifactKind::Skill, ".codex/skills/cx");
    assert_eq!(cx.local_modified, Some(false));
    // The file exists but is no command: reported, and not called stale.
    assert_eq!(snap.notes.len(), 1, "{:?}", snap.notes);
    assert!(snap.notes[0].contains("'notes'"), "{:?}", snap.notes);
    assert!(
        snap.notes[0].contains(".codex/notes.txt"),
        "{:?}",
        snap.notes
    );
    assert!(!snap.notes[0].contains("stale"), "{:?}", snap.notes);
}

/// Found by the model test: a change only the walk notices (a command nested too deep) must
/// not be hidden by the tree-stamp shortcut that confirms unchanged projects.
#[test]
fn a_change_only_the_walk_notices_still_reaches_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let p = root.join("deep");
    fs::create_dir_all(p.join(".claude/commands")).unwrap();
    fs::write(p.join(".claude/commands/top.md"), "Top command\n").unwrap();
    let mut cfg = skillmeat_cache::Config::defaults_for_home(tmp.path());
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    let m = skillmeat_cache::CacheManager::open(cfg).unwrap();
    refresh_now(&m, false).unwrap();
    assert!(m.get_project("deep").unwrap().project.notes.is_empty());
    let mut dir = p.join(".claude/commands");
    for i in 0..10 {
        dir = dir.join(format!("ns{i}"));
    }
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("buried.md"), "Too deep to be read\n").unwrap();
    refresh_now(&m, true).unwrap();
    let notes = m.get_project("deep").unwrap().project.notes;
    assert!(
        notes.iter().any(|n| n.contains("nested too deep")),
        "{notes:?}"
    );
}

/// A symlink to a folder of the same tree never takes that folder's place, whatever the names
/// and the order the directory lists them in (found by the model test's independent oracle:
/// a link listed before its target replaced the real skill).
#[cfg(unix)]
#[test]
fn a_real_folder_wins_over_a_symlink_to_it() {
    let d = project();
    let p = d.path();
    put(
        p,
        ".claude/skills/zeta/SKILL.md",
        "---\nname: zeta\ndescription: the real one\n---\n",
    );
    put(
        p,
        ".claude/skills/group/deep/SKILL.md",
        "---\nname: deep\ndescription: nested real one\n---\n",
    );
    symlink(
        p.join(".claude/skills/zeta"),
        p.join(".claude/skills/a-link"),
    )
    .unwrap();
    symlink(
        p.join(".claude/skills/group/deep"),
        p.join(".claude/skills/b-link"),
    )
    .unwrap();
    put(p, ".claude/commands/zz/ship.md", "Ship it\n");
    symlink(p.join(".claude/commands/zz"), p.join(".claude/commands/aa")).unwrap();
    let snap = scan(p);
    let paths: Vec<(ArtifactKind, &str)> = snap
        .artifacts
        .iter()
        .map(|a| (a.kind, a.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            (ArtifactKind::Skill, ".claude/skills/group/deep"),
            (ArtifactKind::Skill, ".claude/skills/zeta"),
            (ArtifactKind::Command, ".claude/commands/zz/ship.md"),
        ]
    );
    for link in [
        ".claude/skills/a-link",
        ".claude/skills/b-link",
        ".claude/commands/aa",
    ] {
        assert!(
            snap.notes
                .iter()
                .any(|n| n.starts_with(link) && n.contains("already scanned")),
            "{link}: {:?}",
            snap.notes
        );
    }
}

/// A project with every kind of note: the walk's own (a command nested too deep, a dangling
/// symlink, a FIFO where a command would be) and the ones made only when a source is read
/// (settings that are not JSON, an `.mcp.json` whose `mcpServers` is not an object).
fn project_with_every_kind_of_note() -> TempDir {
    let d = project();
    let p = d.path();
    put(
        p,
        ".claude/skills/alpha/SKILL.md",
        "---\nname: alpha\ndescription: first\n---\nBody\n",
    );
    put(p, ".claude/skills/alpha/scripts/run.py", "print(1)\n");
    put(
        p,
        ".claude/skills/group/beta/SKILL.md",
        "---\nname: beta\ndescription: nested\n---\n",
    );
    put(p, ".claude/commands/git/commit.md", "Commit things\n");
    put(
        p,
        ".claude/agents/rev.md",
        "---\nname: rev\ndescription: reviews\n---\n",
    );
    put(p, ".claude/rules/style.md", "Use tabs\n");
    put(p, "CLAUDE.md", "# Memory\n@missing.md\n");
    put(p, ".claude/settings.json", "{ not json");
    put(p, ".mcp.json", r#"{"mcpServers": 3}"#);
    let mut deep = p.join(".claude/commands");
    for i in 0..10 {
        deep = deep.join(format!("ns{i}"));
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("buried.md"), "Too deep\n").unwrap();
    #[cfg(unix)]
    {
        symlink(p.join("nowhere.md"), p.join(".claude/agents/gone.md")).unwrap();
        let fifo = p.join(".claude/commands/pipe.md");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }
    d
}

/// A cold refresh scans a project and takes its tree stamp in one walk
/// (`scan::scan_and_stamp_in`): the stamp must be exactly the one a later stamp-only walk of
/// the unchanged tree gives (`scan::tree_stamp_in`), or every unchanged project would be
/// rescanned by the next refresh; notes about content (made only when a source is read) must
/// stay out of it, the walk's own notes in it. The snapshot is the plain scan's.
#[test]
fn one_walk_gives_the_snapshot_and_the_stamp_a_stamp_only_walk_gives() {
    use skillmeat_cache::claude::context::ScanContext;
    use skillmeat_cache::scan::{scan_and_stamp_in, scan_project_in, tree_stamp_in};
    let d = project_with_every_kind_of_note();
    let p = d.path();
    let (col, ctx) = (Collection::default(), ScanContext::default());
    let (snap, stamp) = scan_and_stamp_in(p, &PrevIndex::default(), &col, &ctx);
    let notes = snap.notes.join("\n");
    for walk_note in ["nested too deep", "dangling symlink"] {
        assert!(notes.contains(walk_note), "{notes}");
    }
    for read_note in ["not valid JSON", "'mcpServers' is not an object"] {
        assert!(notes.contains(read_note), "{notes}");
    }
    #[cfg(unix)]
    assert!(notes.contains("pipe.md: a FIFO"), "{notes}");
    assert_eq!(stamp, tree_stamp_in(p, &col, &ctx));
    assert!(stamp.is_some());
    assert_eq!(
        snap.artifacts,
        scan_project_in(p, &PrevIndex::default(), &col, &ctx).artifacts
    );
    assert_eq!(
        snap.notes,
        scan_project_in(p, &PrevIndex::default(), &col, &ctx).notes
    );
    // A change the walk sees changes both alike: a file of a skill, a change only a note of
    // the walk shows (a dangling link, a FIFO inside a skill folder), SkillMeat's records.
    let mut last = stamp;
    let mut expect_change = |what: &str| {
        let (_, changed) = scan_and_stamp_in(p, &PrevIndex::default(), &col, &ctx);
        assert_ne!(changed, last, "{what}");
        assert_eq!(changed, tree_stamp_in(p, &col, &ctx), "{what}");
        last = changed;
    };
    put(p, ".claude/skills/alpha/extra.md", "more");
    expect_change("a file added to a skill");
    #[cfg(unix)]
    {
        symlink(p.join("gone-too.md"), p.join(".claude/agents/lost.md")).unwrap();
        expect_change("a dangling link (a note only)");
        let fifo = p.join(".claude/skills/alpha/pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        expect_change("a FIFO inside a skill folder (a note only)");
    }
    put(
        p,
        ".claude/.skillmeat-deployed.toml",
        "[[deployed]]\nname = \"alpha\"\n",
    );
    expect_change("SkillMeat's deployment record");
    // A missing project has no stamp either way.
    let gone = p.join("not-there");
    assert_eq!(
        scan_and_stamp_in(&gone, &PrevIndex::default(), &col, &ctx).1,
        None
    );
    assert_eq!(tree_stamp_in(&gone, &col, &ctx), None);
}

/// Through the cache: the tree stamp stored by the cold refresh (one walk) equals the one
/// stored after a stamp-only walk found the tree "changed" and rescanned it (two walks).
#[test]
fn the_cold_refresh_stores_the_stamp_the_two_walk_refresh_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("projects");
    let src = project_with_every_kind_of_note();
    let p = root.join("noted");
    fs::create_dir_all(&root).unwrap();
    fs::rename(src.path(), &p).unwrap();
    let mut cfg = skillmeat_cache::Config::defaults_for_home(tmp.path());
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![root.clone()];
    cfg.include_user_scope = false;
    cfg.claude_managed_dir = tmp.path().join("managed");
    let m = skillmeat_cache::CacheManager::open(cfg.clone()).unwrap();
    let r = refresh_now(&m, false).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let raw = rusqlite::Connection::open(&cfg.db_path).unwrap();
    let stored = || -> Option<String> {
        raw.query_row("SELECT tree_stamp FROM projects", [], |r| r.get(0))
            .unwrap()
    };
    let one_walk = stored();
    assert!(one_walk.is_some());
    // A stale clean stamp: the next refresh walks for the stamp, differs, scans again.
    raw.execute("UPDATE projects SET tree_stamp = 'stale'", [])
        .unwrap();
    refresh_now(&m, true).unwrap();
    assert_eq!(stored(), one_walk);
}
