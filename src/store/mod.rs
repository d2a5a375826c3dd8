//! The SQLite store: opening (WAL, busy timeout, integrity check, move-aside-and-rebuild on
//! corruption, read-only fallback), a writer connection and a pool of reader connections.
//! Reads never wait for writes (WAL); writes are `BEGIN IMMEDIATE`, one transaction each.

mod batch;
mod insert;
mod library;
mod read;
pub mod schema;
mod search;
mod write;

pub use batch::{BatchWrite, BatchWritten};
pub use library::{CopyRow, Location, ProjectTotal, UserDiff};
pub use read::{ArtifactFilter, OutdatedSort, ProjectFilter, RecentChange, SearchSort};
pub use read::{ProjectRef, RefreshState, StatusCounts};
pub use search::SearchFilter;
pub use write::{NewProject, ProjectUpdate, project_id_for};

use crate::error::{CacheError, Result};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// How long a connection waits for another process's lock before failing.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The cache database.
pub struct Store {
    path: PathBuf,
    watcher_conn: Mutex<Option<Connection>>,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    read_only: bool,
    busy_timeout: Duration,
    notes: Vec<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) the database at `path`. A corrupt file or one from another
    /// schema version is moved aside (`<name>.corrupt-<time>`) and a new one is built; a file
    /// that cannot be written is opened read-only. What happened is in [`Store::notes`].
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_timeout(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// Like [`Store::open`] with a chosen busy timeout.
    pub fn open_with_timeout(path: &Path, busy_timeout: Duration) -> Result<Store> {
        let mut notes = Vec::new();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| CacheError::io(parent, e))?;
            restrict_permissions(parent, 0o700);
        }
        let mut existed = path.exists();
        if !existed {
            create_private(path);
        }
        let writer = match open_checked_retrying(path, busy_timeout) {
            Ok(c) => c,
            Err(Opened::Corrupt(why)) => {
                let aside = move_aside(path)?;
                let msg = format!(
                    "the cache database was unusable ({why}); it was moved to {} and rebuilt",
                    aside.display()
                );
                tracing::warn!("{msg}");
                notes.push(msg);
                // The rebuilt file is a new file: private like any new cache.
                existed = path.exists();
                if !existed {
                    create_private(path);
                }
                open_checked(path, busy_timeout).map_err(Opened::into_error)?
            }
            Err(Opened::ReadOnly(why)) => {
                let conn = open_read_only(path, busy_timeout)?;
                let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                if found < schema::SCHEMA_VERSION {
                    return Err(CacheError::ReadOnlyOutdated {
                        found,
                        needed: schema::SCHEMA_VERSION,
                    });
                }
                let msg = format!(
                    "the cache database is read-only ({why}): showing cached data, refresh is disabled"
                );
                tracing::warn!("{msg}");
                notes.push(msg);
                return Ok(Store {
                    path: path.to_path_buf(),
                    watcher_conn: Mutex::new(None),
                    writer: Mutex::new(conn),
                    readers: Mutex::new(Vec::new()),
                    read_only: true,
                    busy_timeout,
                    notes,
                });
            }
            Err(other) => {
                return Err(match other.into_error() {
                    CacheError::Busy { .. } => CacheError::Busy {
                        waited_ms: busy_timeout.as_millis() as u64,
                    },
                    e => e,
                });
            }
        };
        if !existed {
            // SQLite gives its -wal and -shm files the database file's mode; restricting
            // them too covers a file created before this release.
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                if Path::new(&p).exists() {
                    restrict_permissions(Path::new(&p), 0o600);
                }
            }
        }
        if let Some(note) = notes.first() {
            // Remembered so that later runs (another CLI call, the tray) can say it too.
            let _ = writer.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_rebuild', ?1)",
                [format!("{} (at unix ms {})", note, now_ms())],
            );
        }
        Ok(Store {
            path: path.to_path_buf(),
            watcher_conn: Mutex::new(None),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            read_only: false,
            busy_timeout,
            notes,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the database could only be opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// What happened at open (rebuilt after corruption, read-only...).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Size in bytes of the database file plus its `-wal` and `-shm` files.
    pub fn size_bytes(&self) -> u64 {
        ["", "-wal", "-shm"]
            .iter()
            .filter_map(|s| {
                let mut p = self.path.clone().into_os_string();
                p.push(s);
                std::fs::metadata(PathBuf::from(p)).ok()
            })
            .map(|m| m.len())
            .sum()
    }

    /// Runs `f` on a reader connection (pooled; readers never block each other or writers).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None if self.read_only => open_read_only(&self.path, self.busy_timeout)?,
            None => open_reader(&self.path, self.busy_timeout)?,
        };
        // One read transaction: every query of `f` sees the same snapshot.
        let out = conn
            .execute_batch("BEGIN")
            .map_err(CacheError::from)
            .and_then(|_| f(&conn))
            .map_err(|e| self.busy(e))
            .inspect_err(|e| self.flag_if_corrupt(e));
        let _ = conn.execute_batch("COMMIT");
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction on the writer connection; commits when
    /// `f` succeeds, rolls everything back when it fails.
    pub fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_inner(true, f)
    }

    /// Like [`Store::write`], but when another connection holds the write lock, gives up at
    /// once with [`CacheError::Busy`] instead of waiting: for best-effort bookkeeping (such as
    /// statistics flushed when a process exits) that must never hold anything up.
    pub fn write_now<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_inner(false, f)
    }

    fn write_inner<T>(
        &self,
        wait: bool,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.read_only {
            return Err(CacheError::ReadOnly(format!(
                "{} cannot be written",
                self.path.display()
            )));
        }
        if !wait {
            // Another thread of this process writing (perhaps waiting out another process's
            // lock) counts as busy too: give up at once.
            let mut conn = match self.writer.try_lock() {
                Ok(c) => c,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    return Err(CacheError::Busy { waited_ms: 0 });
                }
            };
            conn.busy_timeout(Duration::ZERO)?;
            let out = Self::transaction(&mut conn, f);
            conn.busy_timeout(self.busy_timeout)?;
            return out.map_err(|e| match e {
                CacheError::Busy { .. } => CacheError::Busy { waited_ms: 0 },
                other => other,
            });
        }
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        Self::transaction(&mut conn, f)
            .map_err(|e| self.busy(e))
            .inspect_err(|e| self.flag_if_corrupt(e))
    }

    /// After SQLite reported a damaged file, leaves a marker beside it so that the next open
    /// checks it (and moves it aside and rebuilds it when the check fails).
    fn flag_if_corrupt(&self, e: &CacheError) {
        if is_corruption(e) {
            flag_for_check(&self.path);
        }
    }

    fn transaction<T>(
        conn: &mut Connection,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// A number that changes whenever any connection (this process's or another's) has
    /// committed to the database since the last call: a cheap way to notice outside writes.
    pub fn data_version(&self) -> Result<i64> {
        let mut slot = self.watcher_conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(if self.read_only {
                open_read_only(&self.path, self.busy_timeout)?
            } else {
                open_reader(&self.path, self.busy_timeout)?
            });
        }
        let conn = slot
            .as_ref()
            .ok_or(CacheError::Corrupt("no connection".into()))?;
        Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Copies the WAL into the database and truncates it, so the files on disk stay small
    /// after a large write. Best effort: a busy database is left for SQLite's own checkpoints.
    pub fn checkpoint(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Runs the full `PRAGMA integrity_check` and records when it found the file sound.
    /// Returns the verdict (`"ok"` when healthy).
    pub fn check_integrity(&self) -> Result<String> {
        let verdict = match self.integrity_check() {
            Ok(v) => v,
            // So damaged that SQLite cannot even report on it.
            Err(e) if is_corruption(&e) => format!("damaged: {e}"),
            Err(e) => return Err(e),
        };
        if verdict == "ok" {
            if !self.read_only {
                let _ = self.meta_set(META_CHECKED_AT, &now_ms().to_string());
            }
        } else {
            // Moved aside and rebuilt at the next open.
            flag_for_check(&self.path);
        }
        Ok(verdict)
    }

    /// Runs `PRAGMA integrity_check` and returns its verdict (`"ok"` when healthy).
    ///
    /// Runs on a connection of its own, not a pooled one: FTS5 keeps a per-connection cache of
    /// its index structure, and a pooled reader that has not touched the index since other
    /// connections rewrote it can report "fts5: corruption found reading blob" once, for a
    /// file that is sound (seen after a full disk; queries on that connection are correct).
    pub fn integrity_check(&self) -> Result<String> {
        let c = if self.read_only {
            open_read_only(&self.path, self.busy_timeout)?
        } else {
            open_reader(&self.path, self.busy_timeout)?
        };
        let rows: Vec<String> = c
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.join("; "))
    }

    fn busy(&self, e: CacheError) -> CacheError {
        match e {
            CacheError::Busy { .. } => CacheError::Busy {
                waited_ms: self.busy_timeout.as_millis() as u64,
            },
            other => other,
        }
    }
}

/// Why a database could not be opened for writing.
enum Opened {
    /// Unusable content: to be moved aside and rebuilt.
    Corrupt(String),
    /// Cannot be written: open read-only instead.
    ReadOnly(String),
    /// Anything else, reported as is.
    Failed(CacheError),
}

impl Opened {
    fn into_error(self) -> CacheError {
        match self {
            Opened::Corrupt(why) => CacheError::Corrupt(why),
            Opened::ReadOnly(why) => CacheError::ReadOnly(why),
            Opened::Failed(e) => e,
        }
    }
}

fn classify(e: rusqlite::Error) -> Opened {
    use rusqlite::ErrorCode::*;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let why = msg.clone().unwrap_or_else(|| f.to_string());
        return match f.code {
            NotADatabase | DatabaseCorrupt => Opened::Corrupt(why),
            ReadOnly | PermissionDenied | CannotOpen => Opened::ReadOnly(why),
            _ => Opened::Failed(e.into()),
        };
    }
    Opened::Failed(e.into())
}

fn configure(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Temporary tables (the writer's staged rows, `store::insert`) and sorts stay in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// [`open_checked`], tried again while SQLite answers "busy" without waiting (two processes
/// creating the same new database at once), up to the busy timeout.
fn open_checked_retrying(
    path: &Path,
    busy_timeout: Duration,
) -> std::result::Result<Connection, Opened> {
    let deadline = std::time::Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        match open_checked(path, busy_timeout) {
            Err(Opened::Failed(CacheError::Busy { .. }))
                if std::time::Instant::now() + pause < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn open_checked(path: &Path, busy_timeout: Duration) -> std::result::Result<Connection, Opened> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().readonly()
    {
        return Err(Opened::ReadOnly("the file is not writable".into()));
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(classify)?;
    // Until the file is known to be ours and sound, closing this connection must not
    // checkpoint the WAL into the file nor delete the WAL: a file refused or moved aside is
    // kept exactly as it was, with its WAL.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(classify)?;
    configure(&conn, busy_timeout).map_err(classify)?;
    // Identity first, in one read snapshot, before anything is written: a foreign SQLite
    // file must be refused untouched (not switched to WAL, not moved aside).
    let version = identify(&conn, path)?;
    // The integrity check reads the whole file: run it only when there is a reason, not on
    // every open (every CLI call would pay for it, proportional to the cache's size).
    let flagged = check_marker(path).exists();
    let reason = if flagged && version != 0 {
        Some("an earlier operation found the file damaged")
    } else {
        check_reason(&conn, version).map_err(classify)?
    };
    let checked = match reason {
        Some(reason) => {
            tracing::debug!("integrity check at open: {reason}");
            let check: String = conn
                .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
                .map_err(classify)?;
            if check != "ok" {
                // One line: the verdict ends up in a note shown in tables and tooltips.
                let check = check.split_whitespace().collect::<Vec<_>>().join(" ");
                return Err(Opened::Corrupt(format!("quick_check: {check}")));
            }
            true
        }
        None => false,
    };
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
        .map_err(classify)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(classify)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("journal mode is {mode}, not WAL");
    }
    if version < schema::SCHEMA_VERSION {
        schema::migrate(&mut conn).map_err(classify)?;
    }
    // Probe that writing really works (a read-only directory refuses the WAL file). Without
    // waiting: another process holding the write lock (even for long) proves nothing either
    // way, and must not delay or fail an open that may only read.
    conn.busy_timeout(Duration::ZERO).map_err(classify)?;
    let probe = conn.execute_batch("BEGIN IMMEDIATE; COMMIT;");
    conn.busy_timeout(busy_timeout).map_err(classify)?;
    match probe {
        Err(rusqlite::Error::SqliteFailure(f, _))
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) => {}
        other => other.map_err(classify)?,
    }
    if checked {
        // Best effort, without waiting: a busy database is checked again next time.
        conn.busy_timeout(Duration::ZERO).map_err(classify)?;
        let _ = record_check(&conn);
        conn.busy_timeout(busy_timeout).map_err(classify)?;
    }
    if flagged {
        let _ = std::fs::remove_file(check_marker(path));
    }
    Ok(conn)
}

/// The marker file asking the next open to check the database (`<db>.check`).
fn check_marker(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".check");
    PathBuf::from(p)
}

fn flag_for_check(db: &Path) {
    if let Err(e) = std::fs::write(check_marker(db), b"") {
        tracing::warn!("could not flag {} for a check: {e}", db.display());
    }
}

/// True for an error meaning the file's content is damaged.
fn is_corruption(e: &CacheError) -> bool {
    match e {
        CacheError::Corrupt(_) => true,
        CacheError::Database(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
        ),
        _ => false,
    }
}

/// Metadata key: unix ms of the last integrity check that found the file sound.
pub const META_CHECKED_AT: &str = "integrity.checked_at";
/// Metadata key: the process id of the running service (tray or `watch`), removed when it
/// stops cleanly; one left behind by a process that no longer runs means it crashed.
pub const META_SERVICE_PID: &str = "service.pid";
/// How often the file is checked at open even when nothing went wrong.
pub const CHECK_EVERY_MS: i64 = 24 * 3600 * 1000;

/// Why the file should be checked at this open, if at all: never checked (or not for a day),
/// or the service that last used it died without closing it.
fn check_reason(conn: &Connection, version: i64) -> rusqlite::Result<Option<&'static str>> {
    if version == 0 {
        return Ok(None); // a new, empty file
    }
    let get = |k: &str| -> rusqlite::Result<Option<String>> {
        match conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)) {
            Ok(v) => Ok(Some(v)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let checked_at: Option<i64> = get(META_CHECKED_AT)?.and_then(|v| v.parse().ok());
    if checked_at.is_none_or(|t| now_ms().saturating_sub(t) > CHECK_EVERY_MS) {
        return Ok(Some("not checked for a day"));
    }
    if let Some(pid) = get(META_SERVICE_PID)?.and_then(|v| v.parse::<u32>().ok())
        && !process_alive(pid)
    {
        return Ok(Some("the service that used it last did not stop cleanly"));
    }
    Ok(None)
}

/// Records a sound check, and forgets a service pid whose process is gone.
fn record_check(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
        rusqlite::params![META_CHECKED_AT, now_ms().to_string()],
    )?;
    let pid: Option<u32> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [META_SERVICE_PID],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .and_then(|v| v.parse().ok());
    if let Some(pid) = pid
        && !process_alive(pid)
    {
        conn.execute("DELETE FROM meta WHERE key = ?1", [META_SERVICE_PID])?;
    }
    Ok(())
}

/// True when a process with this id exists (on Unix, `kill(pid, 0)`; elsewhere unknown,
/// taken as gone so the check errs on the side of running).
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        if pid <= 0 {
            return false;
        }
        // SAFETY: signal 0 performs the permission and existence checks only.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Reads the schema version and checks the file is ours (or empty), in one snapshot.
/// Ours and newer than this build: `Corrupt` (moved aside and rebuilt). Not ours: refused.
fn identify(conn: &Connection, path: &Path) -> std::result::Result<i64, Opened> {
    let read = || -> rusqlite::Result<(i64, i64, Option<String>)> {
        conn.execute_batch("BEGIN")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        let has_meta: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get(0),
        )?;
        let marker = if has_meta {
            conn.query_row("SELECT value FROM meta WHERE key = 'app'", [], |r| r.get(0))
                .ok()
        } else {
            None
        };
        conn.execute_batch("COMMIT")?;
        Ok((version, tables, marker))
    };
    let (version, tables, marker) = read().map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        classify(e)
    })?;
    if tables == 0 && version == 0 {
        return Ok(0);
    }
    if marker.as_deref() != Some(schema::APP_MARKER) {
        return Err(Opened::Failed(CacheError::Config(format!(
            "{} is an SQLite database of another program (not a skillmeat-tray cache); it was left untouched: choose another cache-path",
            path.display()
        ))));
    }
    if version > schema::SCHEMA_VERSION {
        return Err(Opened::Corrupt(format!(
            "schema version {version} is newer than this program's {}",
            schema::SCHEMA_VERSION
        )));
    }
    Ok(version)
}

fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn, busy_timeout)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Opens the database for reading only. On a read-only file system (or in a folder this
/// process cannot write) SQLite cannot create the WAL index next to the file, so the file is
/// then opened as immutable: read as it is, without locks.
fn open_read_only(path: &Path, busy_timeout: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(path, flags).and_then(|c| {
        c.query_row("PRAGMA user_version", [], |_| Ok(()))
            .map(|_| c)
    }) {
        Ok(c) => c,
        Err(_) => {
            Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)?
        }
    };
    conn.busy_timeout(busy_timeout)?;
    Ok(conn)
}

/// `file:` URI of `path` with `immutable=1`, every byte outside the unreserved set and `/`
/// percent-encoded.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in crate::fsutil::os_bytes(path.as_os_str()).iter() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Renames the database and its `-wal`/`-shm` files to `<name>.corrupt-<unix ms>[-wal|-shm]`.
fn move_aside(path: &Path) -> Result<PathBuf> {
    let stamp = now_ms();
    let mut aside = path.to_path_buf().into_os_string();
    aside.push(format!(".corrupt-{stamp}"));
    let aside = PathBuf::from(aside);
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.to_path_buf().into_os_string();
        from.push(suffix);
        let mut to = aside.clone().into_os_string();
        to.push(suffix);
        let from = PathBuf::from(from);
        if from.exists() {
            std::fs::rename(&from, PathBuf::from(to)).map_err(|e| CacheError::io(&from, e))?;
        }
    }
    let _ = std::fs::remove_file(check_marker(path));
    Ok(aside)
}

/// Creates an empty database file readable and writable by the user only, before SQLite
/// opens it: its `-wal` and `-shm` files then get the same mode (SQLite copies it).
fn create_private(path: &Path) {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let _ = opts.open(path);
}

/// Sets `path`'s Unix permission bits to `mode` (best effort). Elsewhere nothing is done: on
/// Windows the cache lives in the user's profile, whose ACLs already keep it private.
fn restrict_permissions(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
    }
}

#[cfg(test)]
mod tests {
    /// The bundled SQLite carries the compile-time options `.cargo/config.toml` asks for
    /// (`LIBSQLITE3_FLAGS`): a build without them is slower, not wrong, so only this notices.
    #[test]
    fn bundled_sqlite_has_the_recommended_options() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = c.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        // Names as sqlite.org/compile.html spells them, without the SQLITE_ prefix (as the
        // pragma reports them).
        for want in [
            "DEFAULT_MEMSTATUS=0",
            "LIKE_DOESNT_MATCH_BLOBS",
            "OMIT_SHARED_CACHE",
        ] {
            assert!(
                options.iter().any(|o| o == want),
                "{want} missing from {options:?}"
            );
        }
    }
}
