//! One transcript line → the artifact uses it records, and nothing else.
//!
//! Claude Code writes one JSON object per line to `~/.claude/projects/<slug>/<session>.jsonl`
//! with `type`, `cwd`, `sessionId`, `timestamp` and `message.content` (a string, or blocks).
//! What counts as a use (shapes checked against public parsers; see
//! `tests/fixtures/transcripts/README.md`):
//! - an assistant `tool_use` block named `Skill`: the skill in `input.skill` (2.1.x) or
//!   `input.command` (2.0.x);
//! - `tool_use` named `Task` (until 2.1.63) or `Agent` (since): the agent in
//!   `input.subagent_type` (code.claude.com/docs/en/sub-agents);
//! - `tool_use` named `SlashCommand` (2.0.x): the command in `input.command` (`/name args`);
//! - `tool_use` named `mcp__<server>__<tool>`: the MCP server (code.claude.com/docs/en/mcp);
//! - a user turn whose text carries `<command-name>/name</command-name>`: a slash command.
//!
//! Only names are taken: prompt text, command arguments, tool inputs and outputs are never
//! copied out of the line.

use memchr::memmem;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What kind of artifact a use names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UseKind {
    /// A skill (the `Skill` tool).
    Skill,
    /// A subagent (the `Task` / `Agent` tool's `subagent_type`).
    Agent,
    /// A slash command (typed by the user, or the `SlashCommand` tool).
    Command,
    /// An MCP server (any of its `mcp__<server>__<tool>` tools).
    Mcp,
}

impl UseKind {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            UseKind::Skill => "skill",
            UseKind::Agent => "agent",
            UseKind::Command => "command",
            UseKind::Mcp => "mcp",
        }
    }

    /// Parses [`UseKind::as_str`].
    pub fn parse(s: &str) -> Option<UseKind> {
        match s {
            "skill" => Some(UseKind::Skill),
            "agent" => Some(UseKind::Agent),
            "command" => Some(UseKind::Command),
            "mcp" => Some(UseKind::Mcp),
            _ => None,
        }
    }
}

/// One use of an artifact, as found in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// Unix time of the line, in seconds.
    pub at: i64,
    /// The line's working directory (`cwd`), when given.
    pub cwd: Option<String>,
    /// The session id (`sessionId`), when given.
    pub session: Option<String>,
    /// What was used.
    pub kind: UseKind,
    /// Its name as written (`plugin:name` for a plugin's skill, command or agent).
    pub name: String,
    /// Identity of the use, for counting it once when Claude Code copies it into another
    /// transcript (a continued session starts with the earlier messages): a 64-bit hash of the
    /// tool call's id (`toolu_…`), else of the line's `uuid`, else of its time and session.
    pub key: i64,
}

/// The outcome of reading one line.
#[derive(Debug, PartialEq, Eq)]
pub enum LineResult {
    /// The line cannot hold a use (decided without parsing it).
    Skipped,
    /// Parsed; zero or more uses.
    Uses(Vec<Use>),
    /// Not valid UTF-8 or not valid JSON.
    Malformed,
}

static TOOL_USE: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"\"tool_use\""));
static COMMAND_TAG: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"<command-name>"));

/// Longest artifact name kept (longer ones are not names).
const MAX_NAME: usize = 200;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    cwd: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uuid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Blocks(#[serde(borrow)] Vec<Block<'a>>),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    input: Option<Input<'a>>,
}

/// Only the input fields that name an artifact; everything else in `input` is skipped.
#[derive(Deserialize)]
struct Input<'a> {
    #[serde(borrow, default)]
    skill: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    command: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subagent_type: Option<Cow<'a, str>>,
}

/// Most uses taken from one line (a real assistant turn calls a handful of tools).
pub const MAX_USES_PER_LINE: usize = 256;

/// Longest working folder or session id kept (longer ones are not real and are dropped).
pub const MAX_FIELD_BYTES: usize = 4096;

/// Reads one line (without its newline). Never panics; bad input is `Malformed`.
pub fn parse_line(line: &[u8]) -> LineResult {
    let tool = TOOL_USE.find(line).is_some();
    let command = !tool && COMMAND_TAG.find(line).is_some();
    if !tool && !command {
        return LineResult::Skipped;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return LineResult::Malformed;
    };
    let Ok(parsed) = serde_json::from_str::<Line>(text) else {
        return LineResult::Malformed;
    };
    // Without a `uuid`, the line's time and session identify it (never its text: a hash of
    // the whole line would be a fingerprint of the prompt).
    let line_key = match parsed.uuid.as_deref() {
        Some(u) => hash(u.as_bytes()),
        None => hash(
            format!(
                "{}\u{0}{}",
                parsed.timestamp.as_deref().unwrap_or(""),
                parsed.session.as_deref().unwrap_or("")
            )
            .as_bytes(),
        ),
    };
    LineResult::Uses(uses_of(parsed, line_key))
}

/// FNV-1a, 64 bits: stable across runs and platforms.
pub(crate) fn hash(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

fn uses_of(line: Line<'_>, line_key: i64) -> Vec<Use> {
    let Some(at) = line.timestamp.as_deref().and_then(parse_time) else {
        return Vec::new();
    };
    let Some(content) = line.message.and_then(|m| m.content) else {
        return Vec::new();
    };
    let ty = line.ty.as_deref().unwrap_or("");
    let mut found: Vec<(UseKind, String, i64)> = Vec::new();
    match (ty, content) {
        ("user", Content::Text(t)) => found.extend(command_tag(&t).map(|(k, n)| (k, n, line_key))),
        ("user", Content::Blocks(blocks)) => {
            // Only the user's own text: a tool result quoting a tag is not a use.
            for b in blocks {
                if b.ty.as_deref() == Some("text")
                    && let Some(t) = b.text.as_deref()
                {
                    found.extend(command_tag(t).map(|(k, n)| (k, n, line_key)));
                }
            }
        }
        ("assistant", Content::Blocks(blocks)) => {
            for b in blocks {
                if b.ty.as_deref() == Some("tool_use")
                    && let Some(name) = b.name.as_deref()
                {
                    let key = b.id.as_deref().map(|i| hash(i.as_bytes()));
                    found.extend(
                        tool_use(name, b.input.as_ref())
                            .map(|(k, n)| (k, n, key.unwrap_or(line_key))),
                    );
                }
            }
        }
        _ => {}
    }
    // Bounded whatever the line holds: a working folder or session id longer than any real
    // one is dropped, and one line yields at most MAX_USES_PER_LINE uses.
    let bounded = |s: Option<&str>| s.filter(|s| s.len() <= MAX_FIELD_BYTES).map(String::from);
    let cwd = bounded(line.cwd.as_deref());
    let session = bounded(line.session.as_deref());
    found
        .into_iter()
        .take(MAX_USES_PER_LINE)
        .map(|(kind, name, key)| Use {
            at,
            cwd: cwd.clone(),
            session: session.clone(),
            kind,
            name,
            key,
        })
        .collect()
}

fn tool_use(tool: &str, input: Option<&Input<'_>>) -> Option<(UseKind, String)> {
    match tool {
        "Skill" => {
            let i = input?;
            let n = i.skill.as_deref().or(i.command.as_deref())?;
            clean(n.trim_start_matches('/')).map(|n| (UseKind::Skill, n))
        }
        "Task" | "Agent" => clean(input?.subagent_type.as_deref()?).map(|n| (UseKind::Agent, n)),
        "SlashCommand" => {
            let c = input?.command.as_deref()?.trim_start();
            let word = c.trim_start_matches('/').split_whitespace().next()?;
            clean(word).map(|n| (UseKind::Command, n))
        }
        _ => {
            let rest = tool.strip_prefix("mcp__")?;
            let server = rest.split("__").next()?;
            clean(server).map(|n| (UseKind::Mcp, n))
        }
    }
}

/// The command named by the first `<command-name>` tag of a user turn.
fn command_tag(text: &str) -> Option<(UseKind, String)> {
    let start = text.find("<command-name>")? + "<command-name>".len();
    let end = text[start..].find("</command-name>")? + start;
    let name = text[start..end].trim().trim_start_matches('/');
    clean(name).map(|n| (UseKind::Command, n))
}

/// A name as stored: non-empty, short, one token (no whitespace or control characters).
fn clean(name: &str) -> Option<String> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > MAX_NAME
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some(name.to_string())
}

/// RFC 3339 timestamp → Unix seconds.
fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_both_spellings() {
        let a = br#"{"type":"assistant","timestamp":"2026-01-01T00:00:00Z","message":{"content":[{"type":"tool_use","name":"Skill","input":{"skill":"x"}},{"type":"tool_use","name":"Skill","input":{"command":"p:y"}}]}}"#;
        let LineResult::Uses(u) = parse_line(a) else {
            panic!()
        };
        assert_eq!(
            u.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["x", "p:y"]
        );
    }

    #[test]
    fn plain_text_is_skipped() {
        assert_eq!(parse_line(b"{\"type\":\"user\"}"), LineResult::Skipped);
        assert_eq!(parse_line(b"\"tool_use\" {"), LineResult::Malformed);
    }
}
