//! The managed (enterprise) scope, shown with the user scope: hooks of
//! `managed-settings.json` and the managed `CLAUDE.md`, as items of scope `managed`.
//! Source: code.claude.com/docs/en/settings (managed settings: Linux `/etc/claude-code/`,
//! macOS `/Library/Application Support/ClaudeCode/`; they take precedence over every other
//! settings file); code.claude.com/docs/en/memory (managed `CLAUDE.md`).

use super::{PrevIndex, ProjectSnapshot, Scanner};
use crate::claude::context::ScanContext;
use crate::model::{ArtifactKind, FrontmatterState, Scope};
use serde_json::json;

impl Scanner<'_> {
    /// Adds the managed scope's hooks and memory file.
    pub(super) fn scan_managed(&mut self, ctx: &ScanContext) {
        let dir = &ctx.user.managed_dir;
        if !dir.is_dir() {
            return;
        }
        let prev = PrevIndex::default();
        let mut snap = ProjectSnapshot::default();
        let mut sc = Scanner {
            project: dir,
            prev: &prev,
            snap: &mut snap,
            stamp_mode: false,
            walked: None,
        };
        sc.scan_hooks(&dir.join("managed-settings.json"), "managed-settings.json");
        let memory = dir.join("CLAUDE.md");
        if memory.is_file() {
            match crate::hash::hash_file_with_head(&memory) {
                Ok((content_hash, head)) => {
                    let text = crate::frontmatter::lossy(&head);
                    let fm = crate::frontmatter::parse(&text);
                    let mut a = super::artifact_from_frontmatter(
                        ArtifactKind::Memory,
                        &fm,
                        "CLAUDE.md".into(),
                        "CLAUDE.md".into(),
                        content_hash.unwrap_or_default(),
                        "",
                    );
                    a.name = "managed CLAUDE.md".into();
                    a.frontmatter = FrontmatterState::None;
                    a.description = fm.first_body_line().unwrap_or_default();
                    a.extra =
                        json!({ "imports": super::imports_of(&crate::frontmatter::lossy(&head)) });
                    sc.snap.artifacts.push(a);
                }
                Err(e) => sc.note(format!("managed CLAUDE.md: could not be read: {e}")),
            }
        }
        let notes = std::mem::take(&mut sc.snap.notes);
        for n in notes {
            self.note(format!("managed: {n}"));
        }
        for mut a in std::mem::take(&mut snap.artifacts) {
            a.path = format!("managed:{}", a.path);
            a.source = format!("managed:{}", a.source);
            a.scope = Scope::Managed;
            self.snap.artifacts.push(a);
        }
    }
}
