//! SkillMeat's per-project files: `.skillmeat-deployed.toml` (what was deployed, with the hash
//! at deploy time) and `.skillmeat-project.toml` (name, description). Real records are stale,
//! name missing files and carry unknown types: every oddity becomes a note, never a failure.

use std::path::Path;

/// File name of SkillMeat's deployment record inside a profile root.
pub const DEPLOYED_FILE: &str = ".skillmeat-deployed.toml";
/// File name of SkillMeat's project file inside a profile root.
pub const PROJECT_FILE: &str = ".skillmeat-project.toml";

/// The largest record or collection file read (real ones are a few KiB). A bigger file is not
/// read at all, with a note: reading it whole would hold it (and the parsed tables) in memory,
/// hundreds of MiB for a runaway file. Same bound as the scanner's for JSON settings.
pub const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a small structured file whole, refusing one larger than [`MAX_RECORD_BYTES`]
/// (checked on the open file, and the read itself is bounded, so a file that grows meanwhile
/// cannot slip through) and anything that is not a regular file (a FIFO would block the
/// refresh forever). `Err` carries the reason for the note.
pub fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = crate::fsutil::open_regular(path)?;
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, not read",
                MAX_RECORD_BYTES / (1024 * 1024)
            ),
        )
    };
    if f.metadata()?.len() > MAX_RECORD_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_RECORD_BYTES {
        return Err(too_big());
    }
    Ok(bytes)
}

/// One `[[deployed]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployRecord {
    /// `artifact_name`.
    pub name: String,
    /// `artifact_type` as written (skill, command, agent, or something unknown).
    pub artifact_type: String,
    /// `from_collection`.
    pub from_collection: Option<String>,
    /// `artifact_path`, relative to the profile root (e.g. `skills/foo`).
    pub artifact_path: Option<String>,
    /// `content_hash` (or the older `collection_sha`): the hash at deploy time.
    pub content_hash: Option<String>,
    /// `deployed_at` as written.
    pub deployed_at: Option<String>,
    /// The profile root the record file was found in (`.claude`, `.codex`...).
    pub profile_root: String,
}

/// What a profile root's records said, with notes on anything odd.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Deployment entries that could be identified.
    pub deployed: Vec<DeployRecord>,
    /// Project name from `.skillmeat-project.toml`.
    pub project_name: Option<String>,
    /// Project description from `.skillmeat-project.toml`.
    pub project_description: Option<String>,
    /// Problems found (unparseable file, entry without a name...).
    pub notes: Vec<String>,
}

/// Artifact types SkillMeat deploys that this cache understands.
pub fn known_type(t: &str) -> Option<crate::model::ArtifactKind> {
    use crate::model::ArtifactKind;
    match t {
        "skill" => Some(ArtifactKind::Skill),
        "command" => Some(ArtifactKind::Command),
        "agent" => Some(ArtifactKind::Agent),
        _ => None,
    }
}

/// Reads the record files of one profile root (`<project>/<profile>`), appending to `out`.
pub fn read_profile(profile_dir: &Path, profile: &str, out: &mut Records) {
    let deployed = profile_dir.join(DEPLOYED_FILE);
    if let Some(table) = read_toml(&deployed, profile, out) {
        match table.get("deployed") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match parse_entry(item, profile) {
                        Ok(r) => out.deployed.push(r),
                        Err(why) => out
                            .notes
                            .push(format!("{profile}/{DEPLOYED_FILE}: entry {}: {why}", i + 1)),
                    }
                }
            }
            Some(_) => crate::notes::push(
                &mut out.notes,
                format!("{profile}/{DEPLOYED_FILE}: 'deployed' is not an array of tables"),
            ),
        }
    }
    let project = profile_dir.join(PROJECT_FILE);
    if let Some(table) = read_toml(&project, profile, out)
        && let Some(toml::Value::Table(p)) = table.get("project")
    {
        let text = |k: &str| {
            p.get(k)
                .and_then(|v| v.as_str())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        if out.project_name.is_none() {
            out.project_name = text("name");
        }
        if out.project_description.is_none() {
            out.project_description = text("description");
        }
    }
}

fn read_toml(path: &Path, profile: &str, out: &mut Records) -> Option<toml::Table> {
    let bytes = match read_capped(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            crate::notes::push(
                &mut out.notes,
                format!("{profile}/{}: {e}", path.file_name()?.to_string_lossy()),
            );
            return None;
        }
        Err(e) => {
            crate::notes::push(
                &mut out.notes,
                format!(
                    "{profile}/{}: unreadable: {e}",
                    path.file_name()?.to_string_lossy()
                ),
            );
            return None;
        }
    };
    let name = path.file_name()?.to_string_lossy().to_string();
    let text = String::from_utf8_lossy(&bytes);
    match toml::from_str::<toml::Table>(text.trim_start_matches('\u{feff}')) {
        Ok(t) => Some(t),
        Err(e) => {
            out.notes
                .push(format!("{profile}/{name}: not valid TOML: {}", e.message()));
            None
        }
    }
}

fn parse_entry(item: &toml::Value, profile: &str) -> Result<DeployRecord, String> {
    let t = item.as_table().ok_or("not a table")?;
    let text = |k: &str| {
        t.get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let name = text("artifact_name").ok_or("no artifact_name")?;
    Ok(DeployRecord {
        name,
        artifact_type: text("artifact_type").unwrap_or_else(|| "unknown".into()),
        from_collection: text("from_collection"),
        artifact_path: text("artifact_path"),
        content_hash: text("content_hash")
            .or_else(|| text("collection_sha"))
            .map(|h| h.to_ascii_lowercase()),
        deployed_at: t.get("deployed_at").map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        profile_root: profile.to_string(),
    })
}

/// True when a record path is safe to resolve inside its profile root (relative, no `..`).
pub fn safe_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path.is_relative()
        && path.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_and_notes_oddities() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join(DEPLOYED_FILE),
            r#"
[[deployed]]
artifact_name = "review"
artifact_type = "command"
from_collection = "default"
deployed_at = "2025-11-01T10:00:00"
artifact_path = "commands/review.md"
collection_sha = "ABCDEF"
local_modifications = false

[[deployed]]
artifact_type = "skill"

[[deployed]]
artifact_name = "flow"
artifact_type = "orchestration"
content_hash = "00"
"#,
        )
        .unwrap();
        std::fs::write(
            d.path().join(PROJECT_FILE),
            "[project]\nname = \"Research Foundry\"\ndescription = \"d\"\n",
        )
        .unwrap();
        let mut r = Records::default();
        read_profile(d.path(), ".claude", &mut r);
        assert_eq!(r.deployed.len(), 2);
        assert_eq!(r.deployed[0].content_hash.as_deref(), Some("abcdef"));
        assert_eq!(r.deployed[1].artifact_type, "orchestration");
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert_eq!(r.project_name.as_deref(), Some("Research Foundry"));
    }

    #[test]
    fn broken_toml_is_a_note() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(DEPLOYED_FILE), "[[deployed]\nname=").unwrap();
        let mut r = Records::default();
        read_profile(d.path(), ".claude", &mut r);
        assert!(r.deployed.is_empty());
        assert!(r.notes[0].contains("not valid TOML"));
    }

    #[test]
    fn safe_relative_rejects_escapes() {
        assert!(safe_relative("skills/foo"));
        assert!(!safe_relative("../x"));
        assert!(!safe_relative("/etc/passwd"));
        assert!(!safe_relative(""));
    }
}
