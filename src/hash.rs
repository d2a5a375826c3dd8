//! Content hashes by SkillMeat's exact rule, and cheap (mtime, size) stamps that let a rescan
//! skip files that did not change.
//!
//! - a file: SHA-256 of its bytes;
//! - a directory: one SHA-256 over every regular file below it, in the order of Python's
//!   `sorted(Path(dir).rglob("*"))` (component-wise path order), feeding each file's relative
//!   POSIX path and then its bytes. Symlinked directories are not descended into; a symlink
//!   to a file counts as a file.

use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Bytes of a file's start kept for parsing (frontmatter) while hashing it.
pub const HEAD_BYTES: usize = 64 * 1024;

/// A regular file inside a directory artifact.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Path components relative to the directory (raw bytes, as Python's surrogateescape, on
    /// Unix; UTF-8 elsewhere: see [`crate::fsutil::os_bytes`]).
    pub components: Vec<Vec<u8>>,
    /// Absolute path.
    pub abs: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
}

impl ListedFile {
    /// The relative path with `/` separators, as SkillMeat feeds it to the hash.
    pub fn rel_posix(&self) -> Vec<u8> {
        self.components.join(&b'/')
    }
}

/// The files of a directory artifact, sorted as SkillMeat sorts them, with a stamp.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Files in hash order.
    pub files: Vec<ListedFile>,
    /// A fingerprint of (path, size, mtime) of every file: equal stamps mean nothing changed.
    pub stamp: String,
    /// Entries that could not be read (skipped, with the reason).
    pub problems: Vec<String>,
}

/// The stamp of a single file from its metadata.
pub fn file_stamp(meta: &std::fs::Metadata) -> String {
    format!("{}:{}", meta.len(), mtime_ns(meta))
}

/// Modification time in nanoseconds since the epoch (negative before it, saturating).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.mtime_nsec())
    }
    #[cfg(not(unix))]
    {
        // No modification time (a file system without one) reads as the epoch.
        let Ok(t) = meta.modified() else { return 0 };
        match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        }
    }
}

/// Orders two files' relative paths as Python's `sorted()` orders `Path`s: component-wise,
/// by code point (UTF-8 byte order is the same). On Unix the comparison is case-sensitive;
/// on Windows, Python compares the lowercased paths, so this does too (ties, which a
/// case-insensitive file system does not allow in one folder, keep the exact order).
fn hash_order(a: &[Vec<u8>], b: &[Vec<u8>]) -> std::cmp::Ordering {
    #[cfg(windows)]
    {
        let lower = |c: &[Vec<u8>]| -> Vec<String> {
            c.iter()
                .map(|p| String::from_utf8_lossy(p).to_lowercase())
                .collect()
        };
        lower(a).cmp(&lower(b)).then_with(|| a.cmp(b))
    }
    #[cfg(not(windows))]
    {
        a.cmp(b)
    }
}

/// Lists a directory artifact's files (stat only, no reads). Symlinked folders inside are
/// not entered; symlinks to files count as files; the folder itself may be a symlink.
pub fn list_dir(dir: &Path, max_files: usize) -> io::Result<Listing> {
    list_entries(dir, std::fs::read_dir(dir)?, max_files)
}

/// [`list_dir`] from the directory's entries, already read by the caller (the skill search
/// reads each folder to find its `SKILL.md`: the listing does not read it again).
pub fn list_entries(
    dir: &Path,
    entries: impl IntoIterator<Item = io::Result<std::fs::DirEntry>>,
    max_files: usize,
) -> io::Result<Listing> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut rel = Vec::new();
    walk_entries(
        dir,
        entries,
        &mut rel,
        &mut files,
        &mut problems,
        max_files,
        0,
    )?;
    files.sort_by(|a, b| hash_order(&a.components, &b.components));
    let mut h = Sha256::new();
    for f in &files {
        h.update(f.rel_posix());
        h.update([0]);
        h.update(f.size.to_le_bytes());
        h.update(f.mtime_ns.to_le_bytes());
    }
    let stamp = hex::encode(&h.finalize()[..12]);
    Ok(Listing {
        files,
        stamp,
        problems,
    })
}

/// Deepest folder nesting walked inside one directory artifact.
const MAX_DIR_DEPTH: usize = 32;

/// Walks a folder's entries (read by the caller), recursing into real subfolders.
fn walk_entries(
    dir: &Path,
    entries: impl IntoIterator<Item = io::Result<std::fs::DirEntry>>,
    rel: &mut Vec<Vec<u8>>,
    out: &mut Vec<ListedFile>,
    problems: &mut Vec<String>,
    max_files: usize,
    depth: usize,
) -> io::Result<()> {
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        let Ok(ft) = entry.file_type() else { continue };
        let name = entry.file_name();
        let meta = if ft.is_dir() {
            if depth >= MAX_DIR_DEPTH {
                problems.push(format!(
                    "{}: nested too deep, not hashed",
                    entry.path().display()
                ));
                continue;
            }
            rel.push(crate::fsutil::os_bytes(&name).into_owned());
            let sub = entry.path();
            let r = std::fs::read_dir(&sub).and_then(|read| {
                walk_entries(&sub, read, rel, out, problems, max_files, depth + 1)
            });
            rel.pop();
            if let Err(e) = r {
                problems.push(format!("{}: {e}", entry.path().display()));
            }
            continue;
        } else if ft.is_symlink() {
            // Counts when it points at a regular file (a dangling link does not, as in Python).
            match std::fs::metadata(entry.path()) {
                Ok(m) if m.is_file() => m,
                Ok(m) if crate::fsutil::is_special(&m.file_type()) => {
                    problems.push(format!(
                        "{}: links to {}, skipped",
                        entry.path().display(),
                        crate::fsutil::describe_type(&m.file_type())
                    ));
                    continue;
                }
                _ => continue,
            }
        } else if ft.is_file() {
            match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    problems.push(format!("{}: {e}", entry.path().display()));
                    continue;
                }
            }
        } else {
            // A FIFO, socket or device is never opened (a FIFO would block the hash).
            problems.push(format!(
                "{}: {}, not a regular file: skipped",
                entry.path().display(),
                crate::fsutil::describe_type(&ft)
            ));
            continue;
        };
        if out.len() >= max_files {
            problems.push(format!(
                "more than {max_files} files: the rest were not hashed"
            ));
            return Ok(());
        }
        let mut components = rel.clone();
        components.push(crate::fsutil::os_bytes(&name).into_owned());
        out.push(ListedFile {
            components,
            abs: entry.path(),
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
        });
    }
    Ok(())
}

/// The most bytes hashed for one artifact (a file, or all the files of a skill together).
/// Past it the hash is left unknown, with a note: a runaway file (a 10 GB dump dropped into a
/// skill folder) must not be read on every refresh.
pub const MAX_HASH_BYTES: u64 = 256 * 1024 * 1024;

fn too_large(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{what} larger than {} MiB, not hashed",
            MAX_HASH_BYTES / (1024 * 1024)
        ),
    )
}

/// SkillMeat's directory hash over a listing. Refuses (`InvalidData`) a listing whose files
/// add up to more than [`MAX_HASH_BYTES`]; each read is bounded by what was listed, so a file
/// that grows meanwhile cannot make it read more.
pub fn hash_listing(listing: &Listing) -> io::Result<String> {
    hash_listing_with_head(listing, &[]).map(|(h, _)| h)
}

/// [`hash_listing`], also returning the first [`HEAD_BYTES`] bytes of the file whose relative
/// path is `head_of` (a skill's `SKILL.md`, for its frontmatter) as read for the hash, so it is
/// not opened twice. `None` when no listed file has that path.
pub fn hash_listing_with_head(
    listing: &Listing,
    head_of: &[&str],
) -> io::Result<(String, Option<Vec<u8>>)> {
    let total = listing
        .files
        .iter()
        .fold(0u64, |n, f| n.saturating_add(f.size));
    if total > MAX_HASH_BYTES {
        return Err(too_large("the folder's files are"));
    }
    let mut h = Sha256::new();
    let mut budget = MAX_HASH_BYTES;
    let mut head = None;
    with_read_buffer(|buf| {
        for f in &listing.files {
            h.update(f.rel_posix());
            let keep_head = !head_of.is_empty()
                && head.is_none()
                && f.components.len() == head_of.len()
                && f.components
                    .iter()
                    .zip(head_of)
                    .all(|(c, want)| crate::fsutil::name_bytes_is(c, want));
            let mut kept = keep_head.then(Vec::new);
            let file = crate::fsutil::open_regular(&f.abs)?;
            let mut file = file.take(budget + 1);
            loop {
                let n = file.read(buf)?;
                if n == 0 {
                    break;
                }
                budget = budget
                    .checked_sub(n as u64)
                    .ok_or_else(|| too_large("the folder's files are"))?;
                h.update(&buf[..n]);
                if let Some(k) = kept.as_mut()
                    && k.len() < HEAD_BYTES
                {
                    k.extend_from_slice(&buf[..n.min(HEAD_BYTES - k.len())]);
                }
            }
            if kept.is_some() {
                head = kept;
            }
        }
        Ok(())
    })?;
    Ok((hex::encode(h.finalize()), head))
}

/// Runs `f` with this thread's 64 KiB read buffer: a scan hashes thousands of small files,
/// and a fresh zeroed buffer for each cost more than reading most of them.
fn with_read_buffer<T>(f: impl FnOnce(&mut [u8]) -> io::Result<T>) -> io::Result<T> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.is_empty() {
                buf.resize(64 * 1024, 0);
            }
            f(&mut buf)
        }
        // Re-entered (never in practice): a buffer of its own.
        Err(_) => f(&mut vec![0u8; 64 * 1024]),
    })
}

/// SkillMeat's directory hash, listing and hashing in one go.
pub fn hash_dir(dir: &Path) -> io::Result<String> {
    hash_listing(&list_dir(dir, usize::MAX)?)
}

/// SHA-256 of a file's bytes (`None` for a file larger than [`MAX_HASH_BYTES`], or one that
/// grows past it while read), also returning its first [`HEAD_BYTES`] bytes for parsing.
pub fn hash_file_with_head(path: &Path) -> io::Result<(Option<String>, Vec<u8>)> {
    let (file, meta) = crate::fsutil::open_regular_with_meta(path)?;
    let mut head = Vec::with_capacity((meta.len() as usize).min(HEAD_BYTES));
    if meta.len() > MAX_HASH_BYTES {
        file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
        return Ok((None, head));
    }
    let mut h = Sha256::new();
    let mut rest = file.take(MAX_HASH_BYTES + 1);
    let mut read = 0u64;
    let whole = with_read_buffer(|buf| {
        loop {
            let n = rest.read(buf)?;
            if n == 0 {
                return Ok(true);
            }
            read += n as u64;
            if read > MAX_HASH_BYTES {
                // Grew past the cap while being read.
                return Ok(false);
            }
            if head.len() < HEAD_BYTES {
                head.extend_from_slice(&buf[..n.min(HEAD_BYTES - head.len())]);
            }
            h.update(&buf[..n]);
        }
    })?;
    if !whole {
        return Ok((None, head));
    }
    Ok((Some(hex::encode(h.finalize())), head))
}

/// SHA-256 of a file's bytes (`InvalidData` past [`MAX_HASH_BYTES`]).
pub fn hash_file(path: &Path) -> io::Result<String> {
    hash_file_with_head(path)?
        .0
        .ok_or_else(|| too_large("the file is"))
}

/// SHA-256 of a byte string, hex.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// The directory hash computed by hand, the way SkillMeat's Python does it.
    fn reference(entries: &[(&str, &[u8])]) -> String {
        let mut h = Sha256::new();
        for (p, b) in entries {
            h.update(p.as_bytes());
            h.update(b);
        }
        hex::encode(h.finalize())
    }

    #[test]
    fn file_hash_is_sha256_of_bytes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.md");
        fs::write(&p, b"hello").unwrap();
        assert_eq!(
            hash_file(&p).unwrap(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn dir_hash_uses_component_order_not_string_order() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("skill");
        fs::create_dir_all(s.join("a")).unwrap();
        fs::create_dir_all(s.join("a-b")).unwrap();
        fs::write(s.join("a/x"), b"1").unwrap();
        fs::write(s.join("a-b/x"), b"2").unwrap();
        fs::write(s.join("SKILL.md"), b"3").unwrap();
        // Python: sorted(Path).rglob → SKILL.md, a/x, a-b/x ('a' < 'a-b' component-wise,
        // although the joined string "a-b/x" < "a/x").
        // On Windows, Python compares lowercased paths: there "skill.md" sorts after "a-b".
        let want = if cfg!(windows) {
            reference(&[("a/x", b"1"), ("a-b/x", b"2"), ("SKILL.md", b"3")])
        } else {
            reference(&[("SKILL.md", b"3"), ("a/x", b"1"), ("a-b/x", b"2")])
        };
        assert_eq!(hash_dir(&s).unwrap(), want);
        let joined_order = reference(&[("SKILL.md", b"3"), ("a-b/x", b"2"), ("a/x", b"1")]);
        assert_ne!(want, joined_order);
    }

    #[cfg(unix)]
    #[test]
    fn dir_hash_skips_symlinked_dirs_but_counts_symlinked_files() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("skill");
        let other = d.path().join("other");
        fs::create_dir_all(&s).unwrap();
        fs::create_dir_all(&other).unwrap();
        fs::write(other.join("f"), b"F").unwrap();
        fs::write(s.join("SKILL.md"), b"S").unwrap();
        std::os::unix::fs::symlink(&other, s.join("linkdir")).unwrap();
        std::os::unix::fs::symlink(other.join("f"), s.join("linkfile")).unwrap();
        std::os::unix::fs::symlink(d.path().join("nowhere"), s.join("dangling")).unwrap();
        let want = reference(&[("SKILL.md", b"S"), ("linkfile", b"F")]);
        assert_eq!(hash_dir(&s).unwrap(), want);
    }

    #[test]
    fn stamp_changes_with_size_or_mtime() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("f"), b"1").unwrap();
        let a = list_dir(d.path(), 100).unwrap().stamp;
        assert_eq!(a, list_dir(d.path(), 100).unwrap().stamp);
        fs::write(d.path().join("f"), b"22").unwrap();
        assert_ne!(a, list_dir(d.path(), 100).unwrap().stamp);
    }

    #[test]
    fn large_file_hash_covers_everything_but_head_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big");
        let data: Vec<u8> = (0..(HEAD_BYTES * 3 + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        fs::write(&p, &data).unwrap();
        let (h, head) = hash_file_with_head(&p).unwrap();
        assert_eq!(h, Some(hash_bytes(&data)));
        assert_eq!(head.len(), HEAD_BYTES);
    }
}
