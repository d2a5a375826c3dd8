//! Tolerant frontmatter reading: a `---` block at the top of a Markdown file, parsed as YAML,
//! recovered by a line scan when strict YAML rejects it, absent when there is none.
//!
//! Real files start with a BOM, use CRLF, carry unquoted descriptions full of colons, span
//! lines, and sometimes never close the block. None of that may lose the artifact.

use crate::model::FrontmatterState;
use serde_json::{Map, Value};
use yaml_rust2::{Yaml, YamlLoader};

/// The largest frontmatter block handed to the YAML parser; a bigger one is line-scanned.
const MAX_YAML_BLOCK: usize = 64 * 1024;
/// The deepest nesting handed to the YAML loader, which recurses once per level (a block of
/// `- - - - …` 30,000 deep overflowed a 2 MiB worker stack and aborted the process).
const MAX_YAML_DEPTH: usize = 64;
/// The most nodes a block may build, counting what aliases expand to and the copies the
/// loader keeps of anchored nodes (a "billion laughs" of 1 KiB expands to 10^9 nodes).
const MAX_YAML_NODES: usize = 100_000;

/// The parsed head of a Markdown file, borrowing the text it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Frontmatter<'a> {
    /// How the block parsed.
    pub state: FrontmatterState,
    /// The fields found, as JSON values (strings, numbers, lists, maps).
    pub fields: Map<String, Value>,
    /// The text after the block (the whole text when there is no block).
    pub body: &'a str,
}

impl Frontmatter<'_> {
    /// A field as a single line of text (lists are joined with ", ").
    pub fn text(&self, key: &str) -> Option<String> {
        let v = self.fields.get(key)?;
        let s = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Null => return None,
            Value::Array(items) => items
                .iter()
                .map(value_to_text)
                .collect::<Vec<_>>()
                .join(", "),
            other => value_to_text(other),
        };
        if s.is_empty() { None } else { Some(s) }
    }

    /// A field as a list of strings: a YAML list, or a comma-separated string.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.fields.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .map(value_to_text)
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Value::String(s)) => s
                .trim_matches(|c| c == '[' || c == ']')
                .split(',')
                .map(|t| unquote(t.trim()).to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![value_to_text(other)],
        }
    }

    /// The first non-empty line of the body, without Markdown heading marks, at most 200 chars.
    pub fn first_body_line(&self) -> Option<String> {
        let line = self
            .body
            .lines()
            .map(|l| l.trim().trim_start_matches('#').trim())
            .find(|l| !l.is_empty())?;
        Some(truncate_chars(line, 200))
    }
}

/// The text of a file's bytes, invalid UTF-8 replaced by U+FFFD: `String::from_utf8_lossy`,
/// with the standard library's faster validation first (a file is almost always valid).
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Parses the frontmatter of `text` (which may start with a BOM and use CRLF).
pub fn parse(text: &str) -> Frontmatter<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = LineIter::new(text);
    let Some((first, _)) = lines.next() else {
        return none(text);
    };
    if first.trim_end() != "---" {
        return none(text);
    }
    let block_start = lines.pos;
    let mut block_end = None;
    let mut body_start = text.len();
    while let Some((line, start)) = lines.next() {
        let t = line.trim_end();
        if t == "---" || t == "..." {
            block_end = Some(start);
            body_start = lines.pos;
            break;
        }
    }
    let Some(block_end) = block_end else {
        // Opened but never closed: keep what a line scan finds, and say so.
        return Frontmatter {
            state: FrontmatterState::Malformed,
            fields: line_scan(&text[block_start..]),
            body: "",
        };
    };
    let block = &text[block_start..block_end];
    let body = &text[body_start..];
    if block.len() <= MAX_YAML_BLOCK
        && let Some(fields) = strict_yaml(block)
    {
        return Frontmatter {
            state: FrontmatterState::Ok,
            fields,
            body,
        };
    }
    Frontmatter {
        state: FrontmatterState::Malformed,
        fields: line_scan(block),
        body,
    }
}

fn none(text: &str) -> Frontmatter<'_> {
    Frontmatter {
        state: FrontmatterState::None,
        fields: Map::new(),
        body: text,
    }
}

/// Strict YAML: the block must be empty or a mapping with string keys.
fn strict_yaml(block: &str) -> Option<Map<String, Value>> {
    let normalized;
    let block = if block.contains('\r') {
        normalized = block.replace("\r\n", "\n");
        &normalized
    } else {
        block
    };
    if let Some(fields) = plain_mapping(block) {
        return Some(fields);
    }
    if !yaml_within_bounds(block) {
        return None;
    }
    loader_mapping(block)
}

/// What the YAML loader reads in `block`: a mapping with string keys (numbers and booleans
/// as keys become their text), or nothing (an empty block is an empty mapping).
fn loader_mapping(block: &str) -> Option<Map<String, Value>> {
    let docs = YamlLoader::load_from_str(block).ok()?;
    match docs.into_iter().next() {
        None | Some(Yaml::Null) => Some(Map::new()),
        Some(Yaml::Hash(h)) => {
            let mut out = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => return None,
                };
                out.insert(key, yaml_to_json(v, 0));
            }
            Some(out)
        }
        Some(_) => None,
    }
}

/// The common block, read without the YAML loader: every line is `key: value` at column 0 (or
/// blank), each key an ASCII word seen once, each value a one-line plain scalar that YAML can
/// only read as that text, or a one-line list of such words (`[a, b]`). `None` for anything
/// else (quotes, block lists, continuation lines, comments, integers, booleans, nulls,
/// indicators...): the loader decides those. Most frontmatter is this simple, and the loader
/// costs several times the rest of a file's scan. What this returns is what the loader
/// returns for the same block (a property test checks it against the loader).
fn plain_mapping(block: &str) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    for line in block.split('\n') {
        // Blank for YAML: spaces and tabs only (a no-break space is text to it).
        if line.bytes().all(|b| b == b' ' || b == b'\t') {
            continue;
        }
        let (key, rest) = line.split_once(':')?;
        // A key YAML reads as text: a word starting with a letter, not a null or boolean
        // spelling (`null:` is a null key, `0x1F:` the number 31).
        let key_ok = key.len() <= MAX_PLAIN_KEY
            && key
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !not_text(key);
        if !key_ok || !rest.starts_with(' ') || out.contains_key(key) {
            return None;
        }
        let value = rest.trim_matches(' ');
        let value = if let Some(items) = value.strip_prefix('[') {
            plain_word_list(items.strip_suffix(']')?)?
        } else if plain_text_scalar(value) {
            Value::String(value.to_string())
        } else {
            return None;
        };
        out.insert(key.to_string(), value);
    }
    Some(out)
}

/// The longest key read without the YAML loader (the loader refuses a key over 1,024
/// characters; real keys are a few words).
const MAX_PLAIN_KEY: usize = 64;

/// The items of a one-line flow list (`a, b c, d-e`) when each is a word YAML reads as that
/// text: ASCII letters first, then letters, digits, spaces, `-`, `_`, `.`, `/`.
fn plain_word_list(items: &str) -> Option<Value> {
    if items.trim_matches(' ').is_empty() {
        return Some(Value::Array(Vec::new()));
    }
    let mut out = Vec::new();
    for item in items.split(',') {
        let item = item.trim_matches(' ');
        // No word may start with `-` (in a list, `-` before `,` or `]` is an error to YAML).
        let ok = item.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && item.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'.' | b'/')
            })
            && !item.contains(" -")
            && !not_text(item);
        if !ok {
            return None;
        }
        out.push(Value::String(item.to_string()));
    }
    Some(Value::Array(out))
}

/// True when `value` (trimmed, one line) is a YAML plain scalar that resolves to exactly this
/// text: no indicator first, no `: ` or ` #` inside, no trailing `:`, no brackets, tabs or
/// control characters, and nothing YAML's core schema reads as an integer, boolean or null (a
/// float stays text here: the loader's reading of one is kept as written).
fn plain_text_scalar(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if !(first.is_alphanumeric() || first == '_' || first == '/' || first == '(') {
        return false;
    }
    if value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.contains(['[', ']', '{', '}', '\t', '\r'])
        || value
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}'))
    {
        return false;
    }
    !not_text(value)
}

/// True for a word YAML might read as something else than text: an integer (decimal, `0x`,
/// `0o`) or one of the boolean and null spellings of any YAML version.
fn not_text(value: &str) -> bool {
    const SPELLINGS: [&str; 10] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~",
    ];
    value.parse::<i64>().is_ok()
        || value.starts_with("0x")
        || value.starts_with("0o")
        || (value.len() <= 5 && SPELLINGS.iter().any(|s| value.eq_ignore_ascii_case(s)))
}

/// True when the YAML loader may be trusted with `block`: it parses, is nested at most
/// [`MAX_YAML_DEPTH`] deep and builds at most [`MAX_YAML_NODES`] nodes. Decided from the
/// parser's events (an iterative state machine: no recursion, nothing expanded). Blocks
/// without anchors, aliases, deep indentation or many brackets cannot exceed either bound and
/// skip this pass.
fn yaml_within_bounds(block: &str) -> bool {
    use std::collections::HashMap;
    use yaml_rust2::parser::{Event, Parser};
    let brackets = block.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    let deepest_indent = block
        .lines()
        .map(|l| {
            l.bytes()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'-' | b'?' | b':'))
                .count()
        })
        .max()
        .unwrap_or(0);
    if !block.contains(['*', '&']) && brackets < MAX_YAML_DEPTH / 2 && deepest_indent < 24 {
        return true;
    }
    let mut parser = Parser::new_from_str(block);
    // Expanded size of each anchored node; open collections with their anchor and size.
    let mut anchored: HashMap<usize, usize> = HashMap::new();
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut total: usize = 0;
    loop {
        let Ok((ev, _)) = parser.next_token() else {
            return false; // the loader would reject it too, possibly after deep recursion
        };
        let node = match ev {
            Event::StreamEnd => return true,
            Event::SequenceStart(aid, _) | Event::MappingStart(aid, _) => {
                open.push((aid, 1));
                if open.len() > MAX_YAML_DEPTH {
                    return false;
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop() {
                Some((aid, n)) => Some((aid, n)),
                None => return false,
            },
            Event::Scalar(_, _, aid, _) => Some((aid, 1)),
            Event::Alias(id) => Some((0, anchored.get(&id).copied().unwrap_or(1))),
            _ => None,
        };
        let Some((aid, n)) = node else { continue };
        if aid > 0 {
            // The loader keeps a copy of every anchored node.
            anchored.insert(aid, n);
            total = total.saturating_add(n);
        }
        match open.last_mut() {
            Some((_, size)) => *size = size.saturating_add(n),
            None => total = total.saturating_add(n),
        }
        if total > MAX_YAML_NODES || open.last().is_some_and(|(_, s)| *s > MAX_YAML_NODES) {
            return false;
        }
    }
}

fn yaml_to_json(y: Yaml, depth: usize) -> Value {
    if depth > 32 {
        return Value::Null;
    }
    match y {
        Yaml::String(s) => Value::String(s),
        Yaml::Real(s) => Value::String(s),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Array(a) => Value::Array(a.into_iter().map(|v| yaml_to_json(v, depth + 1)).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => continue,
                };
                m.insert(key, yaml_to_json(v, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// The lenient recovery: `key: value` lines at column 0, with indented continuation lines
/// appended to the value. Values keep their text (quotes stripped); nothing is lost to a colon.
fn line_scan(block: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut current: Option<(String, String, bool)> = None; // key, value, is_block_scalar
    let mut list_items: Vec<String> = Vec::new();
    let flush = |out: &mut Map<String, Value>,
                 cur: Option<(String, String, bool)>,
                 items: &mut Vec<String>| {
        if let Some((k, v, _)) = cur {
            if v.trim().is_empty() && !items.is_empty() {
                out.insert(
                    k,
                    Value::Array(items.drain(..).map(Value::String).collect()),
                );
            } else {
                items.clear();
                out.entry(k)
                    .or_insert_with(|| Value::String(unquote(v.trim()).to_string()));
            }
        }
    };
    for raw in block.lines() {
        let line = raw.trim_end_matches('\r');
        let starts_indented = line.starts_with(' ') || line.starts_with('\t');
        if !starts_indented && let Some((key, value)) = split_key(line) {
            flush(&mut out, current.take(), &mut list_items);
            let v = value.trim();
            let is_block = matches!(v, "|" | ">" | "|-" | ">-" | "|+" | ">+");
            current = Some((
                key.to_string(),
                if is_block {
                    String::new()
                } else {
                    v.to_string()
                },
                is_block,
            ));
            continue;
        }
        if let Some((_, value, _)) = current.as_mut() {
            let t = line.trim();
            if t.is_empty() {
                continue;
            }
            if let Some(item) = t.strip_prefix("- ")
                && value.trim().is_empty()
            {
                list_items.push(unquote(item.trim()).to_string());
                continue;
            }
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(t);
        }
    }
    flush(&mut out, current.take(), &mut list_items);
    out
}

fn split_key(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let key = &line[..colon];
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
    {
        return None;
    }
    let rest = &line[colon + 1..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    Some((key, rest))
}

fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2
        && ((b[0] == b'"' && b[b.len() - 1] == b'"') || (b[0] == b'\'' && b[b.len() - 1] == b'\''))
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn value_to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Cuts `s` to at most `max` characters (not bytes), adding "…" when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

/// Iterates lines with their byte offsets, accepting `\n` and `\r\n`.
struct LineIter<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> LineIter<'a> {
    fn new(text: &'a str) -> Self {
        LineIter { text, pos: 0 }
    }

    fn next(&mut self) -> Option<(&'a str, usize)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        Some((line.strip_suffix('\r').unwrap_or(line), start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of values, with every character YAML treats specially.
    fn value_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            30 => "[a-zA-Z]{1,8}",
            20 => Just(" ".to_string()),
            1 => Just(" ".to_string()),
            1 => Just("  ".to_string()),
            1 => Just(": ".to_string()),
            1 => Just(":".to_string()),
            1 => Just(" #".to_string()),
            1 => Just("#".to_string()),
            1 => Just("C#".to_string()),
            1 => Just("'".to_string()),
            1 => Just("\"".to_string()),
            1 => Just(",".to_string()),
            1 => Just("-".to_string()),
            1 => Just("- ".to_string()),
            1 => Just("?".to_string()),
            1 => Just("&a".to_string()),
            1 => Just("*a".to_string()),
            1 => Just("!tag".to_string()),
            1 => Just("|".to_string()),
            1 => Just(">".to_string()),
            1 => Just("%".to_string()),
            1 => Just("@".to_string()),
            1 => Just("`".to_string()),
            1 => Just("[x]".to_string()),
            1 => Just("[a, b]".to_string()),
            1 => Just("[a b, c-d, e.f]".to_string()),
            1 => Just("[]".to_string()),
            1 => Just("[ ]".to_string()),
            1 => Just("[1, 2]".to_string()),
            1 => Just("[a, true]".to_string()),
            1 => Just("[a, null]".to_string()),
            1 => Just("[a,b]".to_string()),
            1 => Just("[a, [b]]".to_string()),
            1 => Just("[a, ]".to_string()),
            1 => Just("[a -, b]".to_string()),
            1 => Just("[a -]".to_string()),
            1 => Just("[a - b]".to_string()),
            1 => Just("[ \u{a0} ]".to_string()),
            1 => Just("[a".to_string()),
            1 => Just("{x}".to_string()),
            1 => Just("1.2.0".to_string()),
            1 => Just("2024-01-01".to_string()),
            1 => Just("0o17".to_string()),
            1 => Just("007".to_string()),
            1 => Just("1_000".to_string()),
            1 => Just("3 apples".to_string()),
            1 => Just("0b101".to_string()),
            1 => Just("1.0e+3".to_string()),
            1 => Just("12:30".to_string()),
            1 => Just("inf".to_string()),
            1 => Just("NaN".to_string()),
            1 => Just("\t".to_string()),
            1 => Just("~".to_string()),
            1 => Just("true".to_string()),
            1 => Just("False".to_string()),
            1 => Just("null".to_string()),
            1 => Just("NULL".to_string()),
            1 => Just("yes".to_string()),
            1 => Just("12".to_string()),
            1 => Just("0x1F".to_string()),
            1 => Just("1.5".to_string()),
            1 => Just(".inf".to_string()),
            1 => Just("-3".to_string()),
            1 => Just("+4".to_string()),
            1 => Just("1e3".to_string()),
            1 => Just("é".to_string()),
            1 => Just("日本".to_string()),
            1 => Just("http://x.y/z".to_string()),
            1 => Just("(see)".to_string()),
            1 => Just("/path".to_string()),
            1 => Just("_u".to_string()),
            1 => Just("\u{2028}".to_string()),
            1 => Just("\u{85}".to_string()),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            8 => Just("name".to_string()),
            8 => Just("description".to_string()),
            8 => Just("allowed-tools".to_string()),
            8 => Just("when_to_use".to_string()),
            8 => Just("x1".to_string()),
            1 => Just("-k".to_string()),
            1 => Just("k k".to_string()),
            1 => Just("2".to_string()),
            1 => Just("0x1F".to_string()),
            1 => Just("null".to_string()),
            1 => Just("Null".to_string()),
            1 => Just("true".to_string()),
            1 => Just("no".to_string()),
            1 => Just("_k".to_string()),
        ];
        let sep = prop_oneof![
            20 => Just(": ".to_string()),
            2 => Just(":  ".to_string()),
            1 => Just(":".to_string()),
            1 => Just(" : ".to_string()),
        ];
        (
            key,
            sep,
            proptest::collection::vec(value_piece(), 0..5),
            prop_oneof![Just(""), Just(" "), Just("  ")],
            prop_oneof![30 => Just(""), 1 => Just("  "), 1 => Just("- ")],
        )
            .prop_map(|(k, sep, v, trail, indent)| format!("{indent}{k}{sep}{}{trail}", v.concat()))
    }

    /// A line of the block: mostly `key: value`, sometimes a line YAML reads as blank or not.
    fn any_line() -> impl Strategy<Value = String> {
        prop_oneof![
            20 => line(),
            1 => Just(String::new()),
            1 => Just("  ".to_string()),
            1 => Just("\t".to_string()),
            1 => Just("\u{a0}".to_string()),
            1 => Just("\u{3000}".to_string()),
            1 => Just("\u{b}".to_string()),
            1 => Just(format!("{}: x", "k".repeat(1100))),
            1 => Just(format!("{}: x", "k".repeat(65))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(30_000))]
        /// Whenever the plain reading answers, it answers what the YAML loader answers.
        #[test]
        fn plain_reading_agrees_with_the_loader(lines in proptest::collection::vec(any_line(), 0..4)) {
            let block = lines.join("\n");
            if let Some(plain) = plain_mapping(&block) {
                prop_assert_eq!(Some(plain), loader_mapping(&block), "block: {:?}", block);
            }
        }
    }

    #[test]
    fn plain_reading_takes_the_common_block_and_leaves_the_rest() {
        let m = plain_mapping("name: pdf-tools\ndescription: Fill forms, C# and http://x.y too\n")
            .expect("plain");
        assert_eq!(m["name"], "pdf-tools");
        assert_eq!(m["description"], "Fill forms, C# and http://x.y too");
        let m = plain_mapping("version: 1.2.0\ntags: [security, deploy]\nargument-hint: [file]\n")
            .expect("plain");
        assert_eq!(m["version"], "1.2.0");
        assert_eq!(m["tags"], serde_json::json!(["security", "deploy"]));
        assert_eq!(m["argument-hint"], serde_json::json!(["file"]));
        for other in [
            "name: x\nname: y",
            "tags: [a, 1]",
            "count: 12",
            "enabled: true",
            "description: >\n  folded",
            "description: a: b",
            "description: 'quoted'",
            "description: x # comment",
            "name: x\n  continued",
            "# comment",
        ] {
            assert_eq!(plain_mapping(other), None, "{other}");
        }
    }

    #[test]
    fn strict_block_parses() {
        let fm = parse(
            "---\nname: pdf\ndescription: Reads PDFs\nversion: 1.2.0\ntags: [a, b]\n---\n# Body\n",
        );
        assert_eq!(fm.state, FrontmatterState::Ok);
        assert_eq!(fm.text("name").as_deref(), Some("pdf"));
        assert_eq!(fm.text("version").as_deref(), Some("1.2.0"));
        assert_eq!(fm.list("tags"), vec!["a", "b"]);
        assert_eq!(fm.first_body_line().as_deref(), Some("Body"));
    }

    #[test]
    fn bom_and_crlf_are_accepted() {
        let fm = parse("\u{feff}---\r\nname: x\r\ndescription: y\r\n---\r\nbody\r\n");
        assert_eq!(fm.state, FrontmatterState::Ok);
        assert_eq!(fm.text("name").as_deref(), Some("x"));
        assert_eq!(fm.text("description").as_deref(), Some("y"));
    }

    #[test]
    fn unquoted_colons_are_recovered_and_flagged() {
        let text = "---\nname: reviewer\ndescription: Use this agent. Examples: <example>Context: the user asks: review\n  more text here\nmodel: sonnet\n---\nbody";
        let fm = parse(text);
        assert_eq!(fm.state, FrontmatterState::Malformed);
        assert_eq!(fm.text("name").as_deref(), Some("reviewer"));
        let d = fm.text("description").unwrap();
        assert!(d.starts_with("Use this agent. Examples: <example>Context: the user asks: review"));
        assert!(d.ends_with("more text here"), "{d}");
        assert_eq!(fm.text("model").as_deref(), Some("sonnet"));
    }

    #[test]
    fn no_block_is_none() {
        let fm = parse("# Title\nDo the thing\n");
        assert_eq!(fm.state, FrontmatterState::None);
        assert!(fm.fields.is_empty());
        assert_eq!(fm.first_body_line().as_deref(), Some("Title"));
    }

    #[test]
    fn unclosed_block_is_malformed_but_kept() {
        let fm = parse("---\nname: half\ndescription: never closed\n");
        assert_eq!(fm.state, FrontmatterState::Malformed);
        assert_eq!(fm.text("name").as_deref(), Some("half"));
    }

    #[test]
    fn multiline_and_unicode_values() {
        let fm = parse("---\nname: 리뷰어\ndescription: >\n  첫 줄\n  second line\n---\n");
        assert_eq!(fm.state, FrontmatterState::Ok);
        assert_eq!(fm.text("name").as_deref(), Some("리뷰어"));
        assert_eq!(fm.text("description").as_deref(), Some("첫 줄 second line"));
    }

    #[test]
    fn a_scalar_block_is_malformed() {
        let fm = parse("---\njust text\n---\n");
        assert_eq!(fm.state, FrontmatterState::Malformed);
    }

    #[test]
    fn empty_input_is_none() {
        assert_eq!(parse("").state, FrontmatterState::None);
        assert_eq!(parse("---").state, FrontmatterState::Malformed);
    }

    #[test]
    fn comma_string_tags_split_and_list_tags_keep_commas() {
        let fm = parse("---\ntags: a, b ,c\n---\n");
        assert_eq!(fm.list("tags"), vec!["a", "b", "c"]);
        let fm = parse("---\ntags:\n  - \"x, y\"\n  - z\n---\n");
        assert_eq!(fm.list("tags"), vec!["x, y", "z"]);
    }

    #[test]
    fn truncation_counts_chars() {
        assert_eq!(truncate_chars("héllo", 3), "hél…");
        assert_eq!(truncate_chars("hé", 3), "hé");
    }
}
