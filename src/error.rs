//! The engine's error type: one enum whose variants say what went wrong in words a user can act on.

use std::path::{Path, PathBuf};

/// Every failure the engine reports. "Not found" and "invalid input" are kept apart from a
/// broken database so that callers (CLI, tray, tests) can tell a user's mistake from a fault.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The named project, artifact or key is not in the cache.
    #[error("{what} not found: {key}")]
    NotFound {
        /// What kind of thing was looked for ("project", "metadata key").
        what: &'static str,
        /// The id, path or key that was asked for.
        key: String,
    },
    /// The caller passed something the engine cannot use (empty query, bad sort key...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A row with the same identity already exists (duplicate id or path).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A referenced row does not exist (foreign-key violation).
    #[error("reference to a missing row: {0}")]
    ForeignKey(String),
    /// The database is busy (another process holds the write lock) past the busy timeout.
    #[error("the cache database is busy (locked by another process) after waiting {waited_ms} ms")]
    Busy {
        /// How long the engine waited before giving up.
        waited_ms: u64,
    },
    /// The database cannot be written (read-only file or directory, permission denied).
    #[error("the cache database is read-only ({0}); reads still work, writes are refused")]
    ReadOnly(String),
    /// The database is read-only and was written by an older release, so it cannot be
    /// upgraded to the schema this build reads.
    #[error(
        "the cache database is read-only and was written by an older release (schema {found}, this build needs {needed}); make it writable once so it can be upgraded"
    )]
    ReadOnlyOutdated {
        /// The schema version found in the file.
        found: i64,
        /// The schema version this build needs.
        needed: i64,
    },
    /// The disk is full: the write was rolled back and the previous data is intact.
    #[error("the disk holding the cache database is full; the previous data is intact ({0})")]
    DiskFull(String),
    /// The database file is unusable and could not be rebuilt.
    #[error("the cache database is unusable: {0}")]
    Corrupt(String),
    /// Any other SQLite failure: the database is broken or unusable.
    #[error("cache database error: {0}")]
    Database(#[source] rusqlite::Error),
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file or a setting is invalid.
    #[error("configuration: {0}")]
    Config(String),
}

/// Shorthand for results of engine operations.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;

impl CacheError {
    /// Builds a "not found" error for `what` named `key`.
    pub fn not_found(what: &'static str, key: impl Into<String>) -> Self {
        CacheError::NotFound {
            what,
            key: key.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        CacheError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// True when the error means "the thing asked for does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, CacheError::NotFound { .. })
    }

    /// Whether trying the same write again in a second cannot help: the project is gone, the
    /// disk is full, or the database cannot be written. The refresh job does not retry these
    /// (a retry would only hold the queue; the next scheduled or watched refresh tries again).
    pub fn is_lasting(&self) -> bool {
        matches!(
            self,
            CacheError::NotFound { .. }
                | CacheError::DiskFull(_)
                | CacheError::ReadOnly(_)
                | CacheError::ReadOnlyOutdated { .. }
        )
    }

    /// A short stable code for the error's kind, used by the CLI's JSON output and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::NotFound { .. } => "not_found",
            CacheError::InvalidInput(_) => "invalid_input",
            CacheError::Conflict(_) => "conflict",
            CacheError::ForeignKey(_) => "foreign_key",
            CacheError::Busy { .. } => "busy",
            CacheError::ReadOnly(_) => "read_only",
            CacheError::ReadOnlyOutdated { .. } => "read_only_outdated",
            CacheError::DiskFull(_) => "disk_full",
            CacheError::Corrupt(_) => "corrupt",
            CacheError::Database(_) => "database",
            CacheError::Io { .. } => "io",
            CacheError::Config(_) => "config",
        }
    }
}

impl From<rusqlite::Error> for CacheError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            let detail = msg.clone().unwrap_or_else(|| f.to_string());
            match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    return CacheError::Busy { waited_ms: 0 };
                }
                ErrorCode::ReadOnly | ErrorCode::PermissionDenied => {
                    return CacheError::ReadOnly(detail);
                }
                ErrorCode::DiskFull => return CacheError::DiskFull(detail),
                ErrorCode::ConstraintViolation => {
                    // SQLITE_CONSTRAINT_FOREIGNKEY = 787, UNIQUE = 2067, PRIMARYKEY = 1555
                    return match f.extended_code {
                        787 => CacheError::ForeignKey(detail),
                        2067 | 1555 => CacheError::Conflict(detail),
                        _ => CacheError::InvalidInput(detail),
                    };
                }
                _ => {}
            }
        }
        CacheError::Database(e)
    }
}
