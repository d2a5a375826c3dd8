//! Small filesystem helpers shared by the engine.

use crate::error::{CacheError, Result};
use std::borrow::Cow;
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Opens `path` for reading only if it is a regular file (a symlink to one counts).
///
/// A FIFO, socket or device is refused with an error saying what it is, and opening never
/// blocks: on Unix the file is opened with `O_NONBLOCK` (so a FIFO with no writer cannot hang
/// the caller) and its type is checked on the open descriptor, so a file swapped for a FIFO
/// between a directory listing and the open is refused too. `O_NONBLOCK` has no effect on
/// reads of regular files.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    open_regular_with_meta(path).map(|(f, _)| f)
}

/// [`open_regular`], also returning the open file's metadata (read once, on the descriptor).
pub fn open_regular_with_meta(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let f = opts.open(path)?;
    let meta = f.metadata()?;
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok((f, meta));
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{}, not a regular file: not read", describe_type(&ft)),
    ))
}

/// The canonical form of `path` (symlinks resolved, absolute): `std::fs::canonicalize` on Unix;
/// on Windows without the `\\?\` prefix where the plain form is valid (`dunce`), so paths
/// compare equal to the ones users and Claude Code write (`C:\Users\...`).
pub fn canonical(path: impl AsRef<Path>) -> std::io::Result<std::path::PathBuf> {
    dunce::canonicalize(path)
}

/// A short name for a file type that is not a regular file or folder ("a FIFO", "a socket"...).
pub fn describe_type(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a folder"
    } else if ft.is_symlink() {
        "a symlink"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// True for a FIFO, socket or device: an entry the scanner reports and never opens.
pub fn is_special(ft: &std::fs::FileType) -> bool {
    !ft.is_file() && !ft.is_dir() && !ft.is_symlink()
}

/// The bytes of an OS string as SkillMeat's Python sees them: on Unix its raw bytes (Python's
/// `surrogateescape` round-trips them), elsewhere its UTF-8 (a name that is not valid Unicode,
/// which Windows allows but Python cannot encode either, gets U+FFFD in place of the bad part).
pub fn os_bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }
    }
}

/// The identity of a file or folder on its file system: two paths with equal ids name the same
/// file (a folder, and a symlink to it). Built by [`file_id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileId(FileIdInner);

/// (device, inode) on Unix.
#[cfg(unix)]
type FileIdInner = (u64, u64);
/// The canonical path elsewhere: stable Rust has no file index on Windows.
#[cfg(not(unix))]
type FileIdInner = PathBuf;

/// The identity of the file at `path`, whose metadata (symlinks followed) is `meta`.
///
/// On Unix it is the (device, inode) pair of `meta` and `path` is not used. Elsewhere (Windows,
/// where the volume serial number and file index are not exposed on stable Rust) it is the
/// canonical path, symlinks and junctions resolved, or `path` itself when that fails.
pub fn file_id(meta: &std::fs::Metadata, path: &Path) -> FileId {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        FileId((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        FileId(crate::fsutil::canonical(path).unwrap_or_else(|_| PathBuf::from(path)))
    }
}

/// Makes each temporary file name unique within the process, so two writers of the same
/// target (two threads, or two settings saved at once) never share a temporary file.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed over the target, so a crash never leaves a half-written file. The file is
/// readable and writable by the user only.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(CacheError::io(path, e));
    }
    Ok(())
}

/// Runs `f` while holding an exclusive lock on `<path>.lock` (created user-only if needed):
/// read-modify-write cycles of the same file by several threads or processes never lose one
/// another's change. The lock is released when `f` returns (or the process dies).
pub fn with_file_lock<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    if let Some(parent) = lock_path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| CacheError::io(parent, e))?;
    }
    let file = open_lock_file(&lock_path).map_err(|e| CacheError::io(&lock_path, e))?;
    file.lock().map_err(|e| CacheError::io(&lock_path, e))?;
    let out = f();
    let _ = file.unlock();
    out
}

/// Opens a lock file (the file only carries OS locks), creating it user-only if needed; read-only
/// when it exists but cannot be written (a lock needs no write access).
pub fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).or_else(|_| std::fs::File::open(path))
}

/// True when a directory entry's name is `want`, compared as the file system would: exactly on
/// Linux, ignoring ASCII case on macOS and Windows, whose default file systems do (there
/// `skill.md` opens as `SKILL.md`).
pub fn name_is(name: &std::ffi::OsStr, want: &str) -> bool {
    #[cfg(any(target_os = "macos", windows))]
    {
        name.to_str().is_some_and(|n| n.eq_ignore_ascii_case(want))
    }
    #[cfg(not(any(target_os = "macos", windows)))]
    {
        name == want
    }
}

/// [`name_is`] for a name as [`os_bytes`] gives it.
pub fn name_bytes_is(name: &[u8], want: &str) -> bool {
    if cfg!(any(target_os = "macos", windows)) {
        name.eq_ignore_ascii_case(want.as_bytes())
    } else {
        name == want.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_the_file_system_does() {
        assert!(name_is(std::ffi::OsStr::new("SKILL.md"), "SKILL.md"));
        let lower = name_is(std::ffi::OsStr::new("skill.md"), "SKILL.md");
        // Linux file systems are case-sensitive; macOS's and Windows' default ones are not.
        assert_eq!(lower, cfg!(any(target_os = "macos", windows)));
    }
}
