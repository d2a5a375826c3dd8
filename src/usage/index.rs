//! Keeping the usage index in step with the transcripts: read each file once, then only what
//! was appended; a truncated or replaced file is read again from the start.

use super::parse::{LineResult, Use, parse_line};
use super::reader::{Line, MAX_LINE, scan_lines};
use crate::error::{CacheError, Result};
use crate::manager::CacheManager;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Uses written to the database per transaction while a file is read.
const FLUSH_USES: usize = 4096;

/// One indexing pass at a time in this process (the database guards across processes).
static PASS: Mutex<()> = Mutex::new(());

/// What an indexing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    /// Transcript files looked at.
    pub files: u64,
    /// Files that had new bytes and were read.
    pub files_read: u64,
    /// Files found truncated or replaced, whose uses were dropped and re-read from the start.
    pub files_reset: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Uses added to the index.
    pub uses_added: u64,
    /// Lines skipped: malformed (invalid UTF-8 or JSON) or longer than the line cap.
    pub lines_skipped: u64,
    /// Files that could not be read (the pass goes on without them).
    pub errors: Vec<String>,
    /// Wall time of the pass in milliseconds.
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct FileRow {
    fid: i64,
    dev: i64,
    ino: i64,
    size: i64,
    mtime: i64,
    offset: i64,
    head_len: i64,
    head: i64,
}

/// Bytes at the start of a file whose fingerprint is kept.
const HEAD: i64 = 4096;

/// The fingerprint of the first `len` bytes of `file`, or None when it is shorter.
fn head_of(file: &mut std::fs::File, len: i64) -> std::io::Result<Option<i64>> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok((buf.len() as i64 == len).then(|| super::parse::hash(&buf)))
}

/// A file's identity and size as `stat` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    dev: i64,
    ino: i64,
    size: i64,
    mtime: i64,
}

fn stat_of(m: &std::fs::Metadata) -> Stat {
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev() as i64, m.ino() as i64)
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0i64, 0i64);
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Stat {
        dev,
        ino,
        size: m.len() as i64,
        mtime,
    }
}

/// Ids of the texts events refer to, remembered for one pass.
#[derive(Default)]
struct Interner {
    names: HashMap<(&'static str, String), i64>,
    sessions: HashMap<String, i64>,
    cwds: HashMap<String, i64>,
}

impl Interner {
    fn name(&mut self, tx: &Transaction<'_>, kind: &'static str, name: &str) -> Result<i64> {
        if let Some(id) = self.names.get(&(kind, name.to_string())) {
            return Ok(*id);
        }
        tx.execute(
            "INSERT OR IGNORE INTO usage_names(kind, name) VALUES (?1, ?2)",
            params![kind, name],
        )?;
        let id: i64 = tx.query_row(
            "SELECT nid FROM usage_names WHERE kind = ?1 AND name = ?2",
            params![kind, name],
            |r| r.get(0),
        )?;
        self.names.insert((kind, name.to_string()), id);
        Ok(id)
    }

    fn session(&mut self, tx: &Transaction<'_>, s: &str) -> Result<i64> {
        if let Some(id) = self.sessions.get(s) {
            return Ok(*id);
        }
        tx.execute(
            "INSERT OR IGNORE INTO usage_sessions(session) VALUES (?1)",
            [s],
        )?;
        let id: i64 = tx.query_row(
            "SELECT sid FROM usage_sessions WHERE session = ?1",
            [s],
            |r| r.get(0),
        )?;
        self.sessions.insert(s.to_string(), id);
        Ok(id)
    }

    fn cwd(&mut self, tx: &Transaction<'_>, p: &str) -> Result<i64> {
        if let Some(id) = self.cwds.get(p) {
            return Ok(*id);
        }
        tx.execute("INSERT OR IGNORE INTO usage_cwds(path) VALUES (?1)", [p])?;
        let id: i64 = tx.query_row("SELECT cid FROM usage_cwds WHERE path = ?1", [p], |r| {
            r.get(0)
        })?;
        self.cwds.insert(p.to_string(), id);
        Ok(id)
    }
}

/// Errors inside a file pass: reading the file, or the database.
enum PassError {
    Io(std::io::Error),
    Cache(CacheError),
    /// Another process moved this file's offset meanwhile: leave the file to it.
    Conflict,
}

impl From<std::io::Error> for PassError {
    fn from(e: std::io::Error) -> Self {
        PassError::Io(e)
    }
}

impl From<CacheError> for PassError {
    fn from(e: CacheError) -> Self {
        PassError::Cache(e)
    }
}

/// Every `*.jsonl` below the transcripts folder (session files at the top of each project
/// folder, subagent transcripts below it), sorted.
pub fn transcript_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(4)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && is_transcript(e.path()))
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// Whether a path names a transcript (`*.jsonl`).
pub fn is_transcript(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "jsonl")
}

impl CacheManager {
    /// Where Claude Code keeps session transcripts: `<claude config dir>/projects`
    /// (`~/.claude/projects`, or `$CLAUDE_CONFIG_DIR/projects`).
    pub fn transcripts_dir(&self) -> PathBuf {
        self.config().claude_paths().config_dir.join("projects")
    }

    /// Brings the usage index up to date with every transcript: reads only what was appended
    /// since the last pass. With the `usage-index` setting off, empties the index instead and
    /// reads nothing.
    pub fn update_usage(&self) -> Result<UsageReport> {
        if !self.config().usage_index {
            self.clear_usage()?;
            return Ok(UsageReport::default());
        }
        let files = transcript_files(&self.transcripts_dir());
        self.update_usage_files(&files)
    }

    /// Like [`CacheManager::update_usage`] for the given transcript files only (what the
    /// watcher calls when files change). Files that no longer exist are passed over; their
    /// uses stay in the index (Claude Code deletes old transcripts, the history remains).
    pub fn update_usage_files(&self, files: &[PathBuf]) -> Result<UsageReport> {
        if !self.config().usage_index {
            return Ok(UsageReport::default());
        }
        let _pass = PASS.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let mut report = UsageReport::default();
        let rows = self.file_rows()?;
        let mut interner = Interner::default();
        for path in files {
            report.files += 1;
            let key = path.to_string_lossy().into_owned();
            match self.index_file(
                path,
                &key,
                rows.get(&key).copied(),
                &mut interner,
                &mut report,
            ) {
                Ok(()) => {}
                Err(PassError::Conflict) => {}
                Err(PassError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(PassError::Io(e)) => report.errors.push(format!("{key}: {e}")),
                Err(PassError::Cache(e)) => return Err(e),
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    /// Empties the usage index (all its tables). Called when the setting is turned off.
    pub fn clear_usage(&self) -> Result<()> {
        let _pass = PASS.lock().unwrap_or_else(|p| p.into_inner());
        let any: bool = self.store().read(|c| {
            Ok(c.query_row(
                "SELECT EXISTS(SELECT 1 FROM usage_files) OR EXISTS(SELECT 1 FROM usage_cwds)",
                [],
                |r| r.get(0),
            )?)
        })?;
        if !any {
            return Ok(());
        }
        self.store().write(|tx| {
            // Freed pages are overwritten with zeros, so working folders and session ids do
            // not linger in the file's free pages (the WAL is checkpointed below).
            tx.execute_batch(
                "PRAGMA secure_delete = ON;
                 DELETE FROM usage_events; DELETE FROM usage_files; DELETE FROM usage_names;
                 DELETE FROM usage_sessions; DELETE FROM usage_cwds;
                 PRAGMA secure_delete = OFF;",
            )?;
            Ok(())
        })?;
        // Give the freed pages back so no trace of the index remains in the file.
        let _ = self.store().checkpoint();
        Ok(())
    }

    fn file_rows(&self) -> Result<HashMap<String, FileRow>> {
        self.store().read(|c| {
            let mut st = c.prepare(
                "SELECT path, fid, dev, ino, size, mtime, offset, head_len, head
                 FROM usage_files",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    FileRow {
                        fid: r.get(1)?,
                        dev: r.get(2)?,
                        ino: r.get(3)?,
                        size: r.get(4)?,
                        mtime: r.get(5)?,
                        offset: r.get(6)?,
                        head_len: r.get(7)?,
                        head: r.get(8)?,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
        })
    }

    fn index_file(
        &self,
        path: &Path,
        key: &str,
        row: Option<FileRow>,
        interner: &mut Interner,
        report: &mut UsageReport,
    ) -> std::result::Result<(), PassError> {
        let seen = stat_of(&std::fs::metadata(path)?);
        if let Some(r) = row
            && (r.dev, r.ino, r.size, r.mtime) == (seen.dev, seen.ino, seen.size, seen.mtime)
        {
            return Ok(());
        }
        // Never blocks on a FIFO named like a transcript: refused like any non-file.
        let mut file = crate::fsutil::open_regular(path)?;
        let opened = stat_of(&file.metadata()?);
        let mut replaced = row
            .is_some_and(|r| (r.dev, r.ino) != (opened.dev, opened.ino) || opened.size < r.offset);
        if let Some(r) = row
            && !replaced
            && r.head_len > 0
        {
            replaced = head_of(&mut file, r.head_len)? != Some(r.head);
        }
        // The file's row, reset when the file was truncated or replaced.
        let (fid, start) = self.store().write(|tx| match row {
            Some(r) if replaced => {
                check_offset(tx, r.fid, r.offset)?;
                tx.execute("DELETE FROM usage_events WHERE fid = ?1", [r.fid])?;
                tx.execute(
                    "UPDATE usage_files SET dev = ?2, ino = ?3, size = 0, mtime = 0,
                             offset = 0, skipped = 0 WHERE fid = ?1",
                    params![r.fid, opened.dev, opened.ino],
                )?;
                Ok((r.fid, 0i64))
            }
            Some(r) => Ok((r.fid, r.offset)),
            None => {
                tx.execute(
                    "INSERT OR IGNORE INTO usage_files(path, dev, ino, size, mtime, offset)
                         VALUES (?1, ?2, ?3, 0, 0, 0)",
                    params![key, opened.dev, opened.ino],
                )?;
                let (fid, offset): (i64, i64) = tx.query_row(
                    "SELECT fid, offset FROM usage_files WHERE path = ?1",
                    [key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                Ok((fid, offset))
            }
        })?;
        if replaced {
            report.files_reset += 1;
        }
        report.files_read += 1;
        let mut pending: Vec<Use> = Vec::new();
        let mut skipped = 0i64;
        let mut committed = start;
        let mut last_end = start;
        let scanned = scan_lines(
            &mut file,
            start as u64,
            MAX_LINE,
            |line, after| -> std::result::Result<(), PassError> {
                match line {
                    Line::Overlong => skipped += 1,
                    Line::Text(bytes) => match parse_line(bytes) {
                        LineResult::Skipped => {}
                        LineResult::Malformed => skipped += 1,
                        LineResult::Uses(u) => pending.extend(u),
                    },
                }
                last_end = after as i64;
                if pending.len() >= FLUSH_USES {
                    self.flush(fid, committed, last_end, None, &pending, skipped, interner)?;
                    report.uses_added += pending.len() as u64;
                    report.lines_skipped += skipped as u64;
                    pending.clear();
                    skipped = 0;
                    committed = last_end;
                }
                Ok(())
            },
        )?;
        // The stamp that lets the next pass skip this file: only when nothing was written
        // after the read ended (otherwise the next pass looks again).
        let after = stat_of(&file.metadata()?);
        let stamp = if after.size as u64 == scanned.end {
            Some(after)
        } else {
            None
        };
        self.flush(
            fid,
            committed,
            scanned.offset as i64,
            Some(stamp),
            &pending,
            skipped,
            interner,
        )?;
        report.uses_added += pending.len() as u64;
        report.lines_skipped += skipped as u64;
        report.bytes_read += scanned.end.saturating_sub(start as u64);
        // Fingerprint the start of the file once more of it is read (up to 4 KiB).
        let known = if replaced {
            0
        } else {
            row.map_or(0, |r| r.head_len)
        };
        let want = (scanned.offset as i64).min(HEAD);
        if want > known
            && let Some(head) = head_of(&mut file, want)?
        {
            self.store().write(|tx| {
                tx.execute(
                    "UPDATE usage_files SET head_len = ?2, head = ?3 WHERE fid = ?1",
                    params![fid, want, head],
                )?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Writes `uses` and moves the file's offset from `from` to `to` in one transaction.
    /// `stamp`: on the last flush of a pass, the file's stat to remember (None: forget it).
    #[allow(clippy::too_many_arguments)]
    fn flush(
        &self,
        fid: i64,
        from: i64,
        to: i64,
        stamp: Option<Option<Stat>>,
        uses: &[Use],
        skipped: i64,
        interner: &mut Interner,
    ) -> std::result::Result<(), PassError> {
        let r = self.store().write(|tx| {
            check_offset(tx, fid, from)?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO usage_events(fid, at, cid, sid, nid, key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for u in uses {
                let nid = interner.name(tx, u.kind.as_str(), &u.name)?;
                let sid = u
                    .session
                    .as_deref()
                    .map(|s| interner.session(tx, s))
                    .transpose()?;
                let cid = u.cwd.as_deref().map(|c| interner.cwd(tx, c)).transpose()?;
                ins.execute(params![fid, u.at, cid, sid, nid, u.key])?;
            }
            match stamp {
                Some(Some(s)) => tx.execute(
                    "UPDATE usage_files SET offset = ?2, skipped = skipped + ?3, size = ?4,
                         mtime = ?5 WHERE fid = ?1",
                    params![fid, to, skipped, s.size, s.mtime],
                )?,
                Some(None) => tx.execute(
                    "UPDATE usage_files SET offset = ?2, skipped = skipped + ?3, size = -1,
                         mtime = 0 WHERE fid = ?1",
                    params![fid, to, skipped],
                )?,
                None => tx.execute(
                    "UPDATE usage_files SET offset = ?2, skipped = skipped + ?3 WHERE fid = ?1",
                    params![fid, to, skipped],
                )?,
            };
            Ok(())
        });
        match r {
            Ok(()) => Ok(()),
            Err(CacheError::Conflict(_)) => Err(PassError::Conflict),
            Err(e) => {
                // Ids remembered from a rolled-back transaction may not exist.
                *interner = Interner::default();
                Err(PassError::Cache(e))
            }
        }
    }
}

/// The project (rid) whose path is the longest prefix of `cwd` on a path boundary.
pub fn project_of(cwd: &str, projects: &[(i64, String)]) -> Option<i64> {
    let cwd = cwd.trim_end_matches(['/', '\\']);
    projects
        .iter()
        .filter(|(_, p)| {
            let p = p.trim_end_matches(['/', '\\']);
            !p.is_empty()
                && cwd.starts_with(p)
                && matches!(cwd.as_bytes().get(p.len()), None | Some(b'/') | Some(b'\\'))
        })
        .max_by_key(|(_, p)| p.len())
        .map(|(rid, _)| *rid)
}

/// Fails with [`CacheError::Conflict`] when the file's stored offset is not `expected`.
fn check_offset(tx: &Transaction<'_>, fid: i64, expected: i64) -> Result<()> {
    let now: Option<i64> = tx
        .query_row(
            "SELECT offset FROM usage_files WHERE fid = ?1",
            [fid],
            |r| r.get(0),
        )
        .optional()?;
    if now != Some(expected) {
        return Err(CacheError::Conflict(format!(
            "usage index: transcript {fid} moved on meanwhile"
        )));
    }
    Ok(())
}
