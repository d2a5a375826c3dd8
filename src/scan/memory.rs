//! Memory files, rules and output styles.
//! Source: code.claude.com/docs/en/memory (`./CLAUDE.md` or `./.claude/CLAUDE.md`,
//! `./CLAUDE.local.md`, `~/.claude/CLAUDE.md`; `@path` imports, relative to the importing
//! file, not read inside code spans or blocks; `.claude/rules/**/*.md` with optional `paths:`);
//! code.claude.com/docs/en/output-styles (`output-styles/*.md`).

use super::{Scanner, artifact_from_frontmatter};
use crate::claude::context::ScanContext;
use crate::frontmatter;
use crate::model::{ArtifactKind, FrontmatterState};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Most `@imports` listed per memory file.
const MAX_IMPORTS: usize = 100;

impl Scanner<'_> {
    /// The memory files of the project (or, for the user scope, `~/.claude/CLAUDE.md`).
    pub(super) fn scan_memory(&mut self, ctx: &ScanContext) {
        let files: &[&str] = if ctx.user_scope {
            &[".claude/CLAUDE.md"]
        } else {
            &["CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md"]
        };
        for rel in files {
            let file = self.project.join(rel);
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let source = rel.to_string();
            let Some((stamp, content_hash, head)) = self.fresh_file(&file, &source, &meta) else {
                continue;
            };
            let text = crate::frontmatter::lossy(&head);
            let imports = imports_of(&text);
            let base = file.parent().unwrap_or(self.project);
            let dangling: Vec<&String> = imports
                .iter()
                .filter(|i| !resolve_import(base, &ctx.home, i).exists())
                .collect();
            let fm = frontmatter::parse(&text);
            let mut art = artifact_from_frontmatter(
                ArtifactKind::Memory,
                &fm,
                source.clone(),
                source.clone(),
                content_hash,
                &stamp,
            );
            art.name = source.clone();
            art.frontmatter = FrontmatterState::None;
            art.description = fm.first_body_line().unwrap_or_default();
            art.extra = json!({ "imports": imports, "dangling_imports": dangling });
            self.snap.artifacts.push(art);
        }
    }

    /// Rules (`rules/**/*.md`) or output styles (`output-styles/*.md`) of a profile folder.
    pub(super) fn scan_md_docs(&mut self, profile_dir: &Path, kind: ArtifactKind) {
        let folder = match kind {
            ArtifactKind::Rule => "rules",
            _ => "output-styles",
        };
        let base = profile_dir.join(folder);
        if !base.is_dir() {
            return;
        }
        let mut files = Vec::new();
        let mut seen = super::Visited::new(&base);
        self.collect_md(&base, 0, &mut files, &mut seen);
        for (file, meta) in files {
            let source = self.rel(&file);
            let Some((stamp, content_hash, head)) =
                self.fresh_listed(&file, &source, meta.as_ref())
            else {
                continue;
            };
            let text = crate::frontmatter::lossy(&head);
            let fm = frontmatter::parse(&text);
            let rel: PathBuf = file.strip_prefix(&base).unwrap_or(&file).with_extension("");
            let default_name = rel.to_string_lossy().replace('\\', "/");
            let mut art =
                artifact_from_frontmatter(kind, &fm, default_name, source, content_hash, &stamp);
            if art.description.is_empty() {
                art.description = fm.first_body_line().unwrap_or_default();
            }
            art.extra = match kind {
                ArtifactKind::Rule => json!({ "paths": fm.list("paths") }),
                _ => json!({ "keep_coding_instructions": fm.text("keep-coding-instructions") }),
            };
            self.snap.artifacts.push(art);
        }
    }
}

/// The `@path` imports of a memory file, outside code spans and fenced blocks, in order,
/// without duplicates.
pub fn imports_of(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // A word is a run of characters that are neither white space nor backticks, outside
        // code spans (a backtick ends the word it touches).
        let mut in_code = false;
        let mut start: Option<usize> = None;
        for (i, c) in line.char_indices() {
            if c == '`' {
                in_code = !in_code;
                start = None;
            } else if !in_code {
                if !c.is_whitespace() {
                    start.get_or_insert(i);
                } else if let Some(s) = start.take() {
                    add_import(&mut out, &line[s..i]);
                }
            }
        }
        if let Some(s) = start {
            add_import(&mut out, &line[s..]);
        }
        if out.len() >= MAX_IMPORTS {
            out.truncate(MAX_IMPORTS);
            break;
        }
    }
    out
}

/// Adds `word` to `imports` when it is an `@path` import not seen yet.
fn add_import(imports: &mut Vec<String>, word: &str) {
    if let Some(p) = word.strip_prefix('@') {
        let p = p.trim_end_matches(['.', ',', ';', ':', ')', ']']);
        let looks_like_path = p.contains('/') || p.contains('.');
        if !p.is_empty() && looks_like_path && !imports.iter().any(|x| x == p) {
            imports.push(p.to_string());
        }
    }
}

/// Where an import points: `~/x` below home, absolute as is, else relative to `base`.
pub fn resolve_import(base: &Path, home: &Path, import: &str) -> PathBuf {
    if let Some(rest) = import.strip_prefix("~/") {
        home.join(rest)
    } else if import.starts_with('/') {
        PathBuf::from(import)
    } else {
        base.join(import)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_skip_code_and_emails() {
        // Source: code.claude.com/docs/en/memory: "@path/to/import"; not evaluated inside
        // Markdown code spans and code blocks.
        let text = "See @README.md and @docs/git.md.\nMail me@example.com\n`@not/this`\n```\n@nor/this.md\n```\n@~/.claude/my.md\n";
        assert_eq!(
            imports_of(text),
            ["README.md", "docs/git.md", "~/.claude/my.md"]
        );
    }

    #[test]
    fn a_word_touching_a_code_span_is_no_import_and_duplicates_count_once() {
        // Same source: nothing in a code span is evaluated; a word glued to one is taken as
        // part of it.
        let text = "@a.md`@b.md`@c.md\t@d/e, @a.md\n  x `open @f.md\n@g.md`\n";
        assert_eq!(imports_of(text), ["c.md", "d/e", "a.md"]);
    }
}
