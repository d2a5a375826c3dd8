//! The SkillMeat collection (`collections/<name>/collection.toml` + `collection.lock`):
//! the current hash and version of each `<name>::<type>`, from which `outdated` is derived.

use std::collections::HashMap;
use std::path::Path;

/// The collection's current state of one artifact.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectionEntry {
    /// Collection name (the folder under `collections/`).
    pub collection: String,
    /// Current content hash from the lock file.
    pub content_hash: Option<String>,
    /// Current version (lock `resolved_version`, else the manifest's version fields).
    pub version: Option<String>,
}

/// Every collection's entries, keyed by `(name, type)`.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    entries: HashMap<(String, String), Vec<CollectionEntry>>,
    /// Problems found while reading (unparseable files).
    pub notes: Vec<String>,
    /// A fingerprint of the files read (size and mtime), to know when to reload.
    pub stamp: String,
}

impl Collection {
    /// Loads every collection under `dir`. A missing folder is an empty collection.
    pub fn load(dir: &Path) -> Collection {
        let mut c = Collection {
            stamp: Collection::stamp_of(dir),
            ..Default::default()
        };
        let Ok(read) = std::fs::read_dir(dir) else {
            return c;
        };
        let mut names: Vec<_> = read
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        for name in names {
            c.load_one(&dir.join(&name), &name);
        }
        c
    }

    /// A cheap fingerprint of the manifest and lock files of every collection under `dir`.
    pub fn stamp_of(dir: &Path) -> String {
        let mut parts = Vec::new();
        if let Ok(read) = std::fs::read_dir(dir) {
            for e in read.filter_map(|e| e.ok()) {
                for f in ["collection.toml", "collection.lock"] {
                    if let Ok(m) = std::fs::metadata(e.path().join(f)) {
                        parts.push(format!(
                            "{}/{f}:{}",
                            e.file_name().to_string_lossy(),
                            crate::hash::file_stamp(&m)
                        ));
                    }
                }
            }
        }
        parts.sort();
        parts.join(";")
    }

    fn load_one(&mut self, dir: &Path, name: &str) {
        let lock = read_table(&dir.join("collection.lock"), &mut self.notes);
        let manifest = read_table(&dir.join("collection.toml"), &mut self.notes);
        let mut versions: HashMap<(String, String), String> = HashMap::new();
        if let Some(toml::Value::Array(arts)) = manifest.as_ref().and_then(|m| m.get("artifacts")) {
            for a in arts.iter().filter_map(|a| a.as_table()) {
                let (Some(n), Some(t)) = (
                    a.get("name").and_then(|v| v.as_str()),
                    a.get("type").and_then(|v| v.as_str()),
                ) else {
                    continue;
                };
                let v = a
                    .get("resolved_version")
                    .and_then(|v| v.as_str())
                    .or_else(|| {
                        a.get("metadata")
                            .and_then(|m| m.get("version"))
                            .and_then(|v| v.as_str())
                    });
                if let Some(v) = v {
                    versions.insert((n.to_string(), t.to_string()), v.to_string());
                }
                self.entries
                    .entry((n.to_string(), t.to_string()))
                    .or_default();
            }
        }
        let mut seen_in_lock = Vec::new();
        if let Some(toml::Value::Table(entries)) = lock
            .as_ref()
            .and_then(|l| l.get("lock"))
            .and_then(|l| l.get("entries"))
        {
            for (key, e) in entries {
                let Some((n, t)) = key.split_once("::") else {
                    self.notes
                        .push(format!("{name}/collection.lock: odd entry key '{key}'"));
                    continue;
                };
                let text = |k: &str| e.get(k).and_then(|v| v.as_str()).map(|s| s.to_string());
                let k = (n.to_string(), t.to_string());
                let entry = CollectionEntry {
                    collection: name.to_string(),
                    content_hash: text("content_hash").map(|h| h.to_ascii_lowercase()),
                    version: text("resolved_version").or_else(|| versions.get(&k).cloned()),
                };
                seen_in_lock.push(k.clone());
                self.entries.entry(k).or_default().push(entry);
            }
        }
        // Manifest-only entries: version known, hash not.
        for (k, v) in versions {
            if !seen_in_lock.contains(&k) {
                self.entries.entry(k).or_default().push(CollectionEntry {
                    collection: name.to_string(),
                    content_hash: None,
                    version: Some(v),
                });
            }
        }
        self.entries.retain(|_, v| !v.is_empty());
    }

    /// The entry for `name::type`, preferring the named collection when there are several.
    pub fn get(
        &self,
        name: &str,
        artifact_type: &str,
        collection: Option<&str>,
    ) -> Option<&CollectionEntry> {
        let list = self
            .entries
            .get(&(name.to_string(), artifact_type.to_string()))?;
        collection
            .and_then(|c| list.iter().find(|e| e.collection == c))
            .or_else(|| list.first())
    }
}

fn read_table(path: &Path, notes: &mut Vec<String>) -> Option<toml::Table> {
    let text = match crate::records::read_capped(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            crate::notes::push(notes, format!("{}: {e}", path.display()));
            return None;
        }
    };
    match toml::from_str::<toml::Table>(
        String::from_utf8_lossy(&text).trim_start_matches('\u{feff}'),
    ) {
        Ok(t) => Some(t),
        Err(e) => {
            crate::notes::push(
                notes,
                format!("{}: not valid TOML: {}", path.display(), e.message()),
            );
            None
        }
    }
}

/// Compares two version strings as semver (a leading `v` allowed; `1.2` read as `1.2.0`).
/// `None` when either is not a version.
pub fn compare_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    Some(parse_version(a)?.cmp(&parse_version(b)?))
}

fn parse_version(s: &str) -> Option<semver::Version> {
    let s = s.trim();
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    if let Ok(v) = semver::Version::parse(s) {
        return Some(v);
    }
    let dots = s.split('.').count();
    let padded = match dots {
        1 => format!("{s}.0.0"),
        2 => format!("{s}.0"),
        _ => return None,
    };
    semver::Version::parse(&padded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_compare_as_semver() {
        assert_eq!(
            compare_versions("v1.10.0", "1.9.0"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_versions("1.2", "1.2.0"), Some(Ordering::Equal));
        assert_eq!(compare_versions("latest", "1.0.0"), None);
        assert_eq!(
            compare_versions("2.0.0-beta", "2.0.0"),
            Some(Ordering::Less)
        );
    }

    #[test]
    fn loads_lock_and_manifest() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path().join("default");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(
            c.join("collection.toml"),
            r#"[collection]
name = "default"
version = "1.0.0"

[[artifacts]]
name = "pdf"
type = "skill"
path = "skills/pdf/"
origin = "github"
[artifacts.metadata]
version = "2.0.0"

[[artifacts]]
name = "only-manifest"
type = "agent"
path = "agents/x.md"
resolved_version = "0.3.0"
"#,
        )
        .unwrap();
        std::fs::write(
            c.join("collection.lock"),
            r#"[lock]
version = "1.0.0"
[lock.entries."pdf::skill"]
content_hash = "ABC"
fetched = "2025-01-01"
"#,
        )
        .unwrap();
        let col = Collection::load(d.path());
        let pdf = col.get("pdf", "skill", None).unwrap();
        assert_eq!(pdf.content_hash.as_deref(), Some("abc"));
        assert_eq!(pdf.version.as_deref(), Some("2.0.0"));
        let only = col.get("only-manifest", "agent", Some("default")).unwrap();
        assert_eq!(only.content_hash, None);
        assert_eq!(only.version.as_deref(), Some("0.3.0"));
        assert!(col.get("nope", "skill", None).is_none());
        assert!(!col.stamp.is_empty());
    }
}
