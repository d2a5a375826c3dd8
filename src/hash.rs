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

impl Listing {
    /// False while the files' sizes and times are unknown (a [`StatFiles::WhenRead`] listing
    /// before [`hash_and_stamp`]): `stamp` is then empty.
    pub fn is_stamped(&self) -> bool {
        !self.stamp.is_empty()
    }
}

/// When a listing learns each file's size and modification time (its stamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatFiles {
    /// While listing, a `stat` per file: the stamp is known before anything is read (a rescan
    /// compares it to skip an unchanged folder).
    Now,
    /// When each file is opened to be hashed ([`hash_and_stamp`]), from the open descriptor:
    /// one system call less per file, for a folder that is read at once anyway.
    WhenRead,
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
    list_entries_with(dir, entries, max_files, StatFiles::Now)
}

/// [`list_entries`], the files' metadata read now or when they are hashed (`stat`).
pub fn list_entries_with(
    dir: &Path,
    entries: impl IntoIterator<Item = io::Result<std::fs::DirEntry>>,
    max_files: usize,
    stat: StatFiles,
) -> io::Result<Listing> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut rel = Vec::new();
    let mut walk = Walk {
        out: &mut files,
        problems: &mut problems,
        max_files,
        stat,
    };
    walk.entries(dir, entries, &mut rel, 0)?;
    files.sort_by(|a, b| hash_order(&a.components, &b.components));
    let stamp = match stat {
        StatFiles::Now => stamp_of(&files),
        StatFiles::WhenRead => String::new(),
    };
    Ok(Listing {
        files,
        stamp,
        problems,
    })
}

/// The stamp of a listing's files (in hash order): their paths, sizes and times.
fn stamp_of(files: &[ListedFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.rel_posix());
        h.update([0]);
        h.update(f.size.to_le_bytes());
        h.update(f.mtime_ns.to_le_bytes());
    }
    hex::encode(&h.finalize()[..12])
}

/// Deepest folder nesting walked inside one directory artifact.
const MAX_DIR_DEPTH: usize = 32;

/// A listing being made: where the files and problems go, and how files are stat-ed.
struct Walk<'a> {
    out: &'a mut Vec<ListedFile>,
    problems: &'a mut Vec<String>,
    max_files: usize,
    stat: StatFiles,
}

impl Walk<'_> {
    /// Walks a folder's entries (read by the caller), recursing into real subfolders.
    fn entries(
        &mut self,
        dir: &Path,
        entries: impl IntoIterator<Item = io::Result<std::fs::DirEntry>>,
        rel: &mut Vec<Vec<u8>>,
        depth: usize,
    ) -> io::Result<()> {
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.problems.push(format!("{}: {e}", dir.display()));
                    continue;
                }
            };
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name();
            let (size, mtime_ns) = if ft.is_dir() {
                if depth >= MAX_DIR_DEPTH {
                    self.problems.push(format!(
                        "{}: nested too deep, not hashed",
                        entry.path().display()
                    ));
                    continue;
                }
                rel.push(crate::fsutil::os_bytes(&name).into_owned());
                let sub = entry.path();
                let r = std::fs::read_dir(&sub)
                    .and_then(|read| self.entries(&sub, read, rel, depth + 1));
                rel.pop();
                if let Err(e) = r {
                    self.problems
                        .push(format!("{}: {e}", entry.path().display()));
                }
                continue;
            } else if ft.is_symlink() {
                // Counts when it points at a regular file (a dangling link does not, as in
                // Python).
                match std::fs::metadata(entry.path()) {
                    Ok(m) if m.is_file() => size_and_time(&m),
                    Ok(m) if crate::fsutil::is_special(&m.file_type()) => {
                        self.problems.push(format!(
                            "{}: links to {}, skipped",
                            entry.path().display(),
                            crate::fsutil::describe_type(&m.file_type())
                        ));
                        continue;
                    }
                    _ => continue,
                }
            } else if ft.is_file() && self.stat == StatFiles::WhenRead {
                // Known when the file is opened to be hashed.
                (0, 0)
            } else if ft.is_file() {
                match entry.metadata() {
                    Ok(m) => size_and_time(&m),
                    Err(e) => {
                        self.problems
                            .push(format!("{}: {e}", entry.path().display()));
                        continue;
                    }
                }
            } else {
                // A FIFO, socket or device is never opened (a FIFO would block the hash).
                self.problems.push(format!(
                    "{}: {}, not a regular file: skipped",
                    entry.path().display(),
                    crate::fsutil::describe_type(&ft)
                ));
                continue;
            };
            if self.out.len() >= self.max_files {
                self.problems.push(format!(
                    "more than {} files: the rest were not hashed",
                    self.max_files
                ));
                return Ok(());
            }
            let mut components = rel.clone();
            components.push(crate::fsutil::os_bytes(&name).into_owned());
            self.out.push(ListedFile {
                components,
                abs: entry.path(),
                size,
                mtime_ns,
            });
        }
        Ok(())
    }
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
    hash_files(&listing.files, head_of, |_, f| {
        crate::fsutil::open_regular(&f.abs).map(Some)
    })
}

/// [`hash_listing_with_head`] for a listing of either kind. A [`StatFiles::WhenRead`] listing
/// is stamped here: each file's size and time are taken from its open descriptor before it is
/// read (the same values a `stat` of its path gives, so the stamp equals the one a
/// [`StatFiles::Now`] listing of the same files has). A file that cannot be opened is stat-ed
/// by path: when that works, the hash fails as it would have after a stat-first listing; when
/// even that fails (the folder cannot be searched, the file is gone), the file leaves the
/// listing with a problem, as a stat-first listing leaves it out. After a failure the rest are
/// stat-ed by path. Its [`MAX_HASH_BYTES`] check counts the sizes as the files are opened: a
/// folder over the cap is read up to the cap before it is refused, so this suits folders read
/// once and then reused by their stamp, not ones read on every scan.
pub fn hash_and_stamp(
    listing: &mut Listing,
    head_of: &[&str],
) -> io::Result<(String, Option<Vec<u8>>)> {
    if listing.is_stamped() {
        return hash_listing_with_head(listing, head_of);
    }
    // Each file's (size, time), or why not even a stat of it works; `None` until known.
    let mut stats: Vec<Option<io::Result<(u64, i64)>>> =
        (0..listing.files.len()).map(|_| None).collect();
    let mut total = 0u64;
    let out = hash_files(
        &listing.files,
        head_of,
        |i, f| match crate::fsutil::open_regular_with_meta(&f.abs) {
            Ok((file, meta)) => {
                stats[i] = Some(Ok(size_and_time(&meta)));
                total = total.saturating_add(meta.len());
                if total > MAX_HASH_BYTES {
                    return Err(too_large("the folder's files are"));
                }
                Ok(Some(file))
            }
            Err(e) => {
                let by_path = stat_by_path(&f.abs);
                let gone = by_path.is_err();
                stats[i] = Some(by_path);
                if gone { Ok(None) } else { Err(e) }
            }
        },
    );
    let files = std::mem::take(&mut listing.files);
    for (mut f, stat) in files.into_iter().zip(stats) {
        // Not reached (an earlier file failed): by path.
        match stat.unwrap_or_else(|| stat_by_path(&f.abs)) {
            Ok((size, mtime)) => {
                (f.size, f.mtime_ns) = (size, mtime);
                listing.files.push(f);
            }
            Err(e) => listing.problems.push(format!("{}: {e}", f.abs.display())),
        }
    }
    listing.stamp = stamp_of(&listing.files);
    out
}

fn size_and_time(meta: &std::fs::Metadata) -> (u64, i64) {
    (meta.len(), mtime_ns(meta))
}

/// A file's (size, time) from a `stat` of its path (a link followed, as a listing does).
fn stat_by_path(path: &Path) -> io::Result<(u64, i64)> {
    std::fs::metadata(path).map(|m| size_and_time(&m))
}

/// SkillMeat's directory hash over `files` (in hash order), keeping the head of `head_of`.
/// `open` opens each file to be read (`None`: left out of the hash); an error from it stops
/// the hash.
fn hash_files(
    files: &[ListedFile],
    head_of: &[&str],
    mut open: impl FnMut(usize, &ListedFile) -> io::Result<Option<std::fs::File>>,
) -> io::Result<(String, Option<Vec<u8>>)> {
    let mut h = Sha256::new();
    let mut budget = MAX_HASH_BYTES;
    let mut head = None;
    with_read_buffer(|buf| {
        for (i, f) in files.iter().enumerate() {
            let Some(file) = open(i, f)? else {
                continue;
            };
            h.update(f.rel_posix());
            let keep_head = !head_of.is_empty()
                && head.is_none()
                && f.components.len() == head_of.len()
                && f.components
                    .iter()
                    .zip(head_of)
                    .all(|(c, want)| crate::fsutil::name_bytes_is(c, want));
            let mut kept = keep_head.then(Vec::new);
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
    hash_open_file(file, &meta)
}

/// [`hash_file_with_head`] of a file already open, `meta` from its descriptor. Read to its end
/// whatever size `meta` reports (a size may be stale on some file systems, and `/proc` files
/// report none).
pub fn hash_open_file(
    file: std::fs::File,
    meta: &std::fs::Metadata,
) -> io::Result<(Option<String>, Vec<u8>)> {
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

    /// A folder with files at two depths, a symlinked file and an empty file.
    fn sample_skill(root: &Path) -> PathBuf {
        let s = root.join("skill");
        fs::create_dir_all(s.join("scripts")).unwrap();
        fs::write(s.join("SKILL.md"), b"---\nname: x\n---\nbody").unwrap();
        fs::write(s.join("scripts/run.py"), b"print(1)").unwrap();
        fs::write(s.join("empty"), b"").unwrap();
        fs::write(root.join("outside"), b"linked").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("outside"), s.join("link")).unwrap();
        s
    }

    fn listing(dir: &Path, stat: StatFiles) -> Listing {
        list_entries_with(dir, fs::read_dir(dir).unwrap(), 100, stat).unwrap()
    }

    #[test]
    fn a_listing_stamped_when_read_gets_the_stamp_and_hash_of_one_stamped_first() {
        let d = tempfile::tempdir().unwrap();
        let s = sample_skill(d.path());
        let first = listing(&s, StatFiles::Now);
        assert!(first.is_stamped());
        let mut later = listing(&s, StatFiles::WhenRead);
        assert!(!later.is_stamped());
        let (hash, head) = hash_and_stamp(&mut later, &["SKILL.md"]).unwrap();
        assert!(later.is_stamped());
        assert_eq!(later.stamp, first.stamp);
        // SkillMeat's rule, written out: paths in component order, each followed by its bytes.
        let mut want = vec![
            ("SKILL.md", &b"---\nname: x\n---\nbody"[..]),
            ("empty", b""),
        ];
        if cfg!(unix) {
            want.push(("link", b"linked"));
        }
        want.push(("scripts/run.py", b"print(1)"));
        assert_eq!(hash, reference(&want));
        assert_eq!(head.as_deref(), Some(&b"---\nname: x\n---\nbody"[..]));
        // A changed file changes the stamp taken either way.
        fs::write(s.join("scripts/run.py"), b"print(22)").unwrap();
        let mut again = listing(&s, StatFiles::WhenRead);
        hash_and_stamp(&mut again, &[]).unwrap();
        assert_ne!(again.stamp, first.stamp);
        assert_eq!(again.stamp, listing(&s, StatFiles::Now).stamp);
    }

    #[test]
    fn a_file_gone_before_it_is_read_leaves_the_listing_as_a_stat_first_listing_leaves_it() {
        let d = tempfile::tempdir().unwrap();
        let s = sample_skill(d.path());
        let mut later = listing(&s, StatFiles::WhenRead);
        // The first file in hash order vanishes between the listing and the read.
        assert_eq!(later.files[0].rel_posix(), b"SKILL.md");
        fs::remove_file(s.join("SKILL.md")).unwrap();
        let (hash, head) = hash_and_stamp(&mut later, &["SKILL.md"]).unwrap();
        // Hash and stamp are those of the files still there, as listed now by stat.
        let now = listing(&s, StatFiles::Now);
        assert_eq!(later.stamp, now.stamp);
        assert_eq!(hash, hash_listing(&now).unwrap());
        assert_eq!(head, None);
        let names: Vec<Vec<u8>> = later.files.iter().map(ListedFile::rel_posix).collect();
        assert!(!names.contains(&b"SKILL.md".to_vec()), "{names:?}");
        // And the reason is noted.
        assert_eq!(later.problems.len(), 1, "{:?}", later.problems);
        assert!(
            later.problems[0].contains("SKILL.md"),
            "{:?}",
            later.problems
        );
    }

    /// A folder that can be listed but not searched: its entries (and their types) are read,
    /// but no file in it can be stat-ed or opened. Both kinds of listing leave every file out
    /// with a note, so both stamp it alike.
    #[cfg(unix)]
    #[test]
    fn a_folder_that_cannot_be_searched_is_listed_alike_either_way() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("skill");
        fs::create_dir_all(&s).unwrap();
        fs::write(s.join("SKILL.md"), b"x").unwrap();
        fs::write(s.join("notes.md"), b"y").unwrap();
        fs::set_permissions(&s, fs::Permissions::from_mode(0o444)).unwrap();
        let searchable = fs::metadata(s.join("SKILL.md")).is_ok();
        let now = listing(&s, StatFiles::Now);
        let mut later = listing(&s, StatFiles::WhenRead);
        let hashed = hash_and_stamp(&mut later, &["SKILL.md"]);
        fs::set_permissions(&s, fs::Permissions::from_mode(0o755)).unwrap();
        if searchable {
            // Running as root: permissions do not stop it, and both listings see both files.
            assert_eq!(now.files.len(), 2);
        } else {
            assert!(
                now.files.is_empty() && now.problems.len() == 2,
                "{:?}",
                now.problems
            );
        }
        assert_eq!(later.stamp, now.stamp);
        assert_eq!(later.files.len(), now.files.len());
        assert_eq!(later.problems, now.problems);
        assert_eq!(hashed.unwrap().0, hash_listing(&now).unwrap());
    }

    #[test]
    fn a_folder_over_the_cap_is_refused_when_stamped_as_read_and_still_stamped() {
        let d = tempfile::tempdir().unwrap();
        let s = sample_skill(d.path());
        // Sparse: its size is over the cap, nothing is written to disk.
        let big = fs::File::create(s.join("zz-dump.bin")).unwrap();
        big.set_len(MAX_HASH_BYTES + 1).unwrap();
        let mut later = listing(&s, StatFiles::WhenRead);
        let err = hash_and_stamp(&mut later, &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert_eq!(later.stamp, listing(&s, StatFiles::Now).stamp);
        // The same refusal as a listing stamped first.
        let first = listing(&s, StatFiles::Now);
        assert_eq!(
            hash_listing(&first).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    /// A file whose size reads as 0 is read to its end (only a reported size bounds the read):
    /// Linux's `/proc` files have content but report no size.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_reporting_no_size_is_read_to_its_end() {
        let p = Path::new("/proc/self/cmdline");
        assert_eq!(fs::metadata(p).unwrap().len(), 0, "the premise: no size");
        let (h, head) = hash_file_with_head(p).unwrap();
        let bytes = fs::read(p).unwrap();
        assert!(!bytes.is_empty());
        assert_eq!(h, Some(hash_bytes(&bytes)));
        assert_eq!(head, bytes);
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
