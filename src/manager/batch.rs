//! Refreshing several projects in one write: each project is read (stamped, scanned) on its
//! own, then all of them are written in one transaction. A cold or forced refresh of many
//! projects pays SQLite's per-transaction costs (the commit, the full-text indexes' segment
//! flush and merges) once per batch instead of once per project. Readers still never see a
//! half-written project: a transaction holds every row of each of its projects.

use super::CacheManager;
use crate::error::Result;
use crate::model::{ChangeSet, ProjectRefresh};
use crate::scan::ProjectSnapshot;
use crate::store::{BatchWrite, BatchWritten, ProjectUpdate};
use std::time::Instant;

/// A project read and ready to be written.
pub(super) struct Prepared {
    pub(super) id: String,
    pub(super) path: String,
    pub(super) started: Instant,
    pub(super) scan_started: i64,
    pub(super) was_missing: bool,
    /// `None` when the tree stamp showed nothing changed (only confirmed, not scanned).
    pub(super) scan: Option<Scanned>,
}

/// What a scan found.
pub(super) struct Scanned {
    pub(super) snap: ProjectSnapshot,
    pub(super) name: String,
    pub(super) stamp: Option<String>,
    /// Each artifact's fingerprint, computed while reading (off the writer).
    pub(super) fingerprints: Vec<String>,
}

impl Prepared {
    /// The store's update for this project's scan.
    pub(super) fn update<'a>(&self, scan: &'a Scanned) -> ProjectUpdate<'a> {
        ProjectUpdate {
            snapshot: &scan.snap,
            name: scan.name.clone(),
            scan_started: self.scan_started,
            tree_stamp: scan.stamp.clone(),
            fingerprints: Some(&scan.fingerprints),
        }
    }
}

/// Several projects read and waiting to be written together ([`CacheManager::read_many`]).
pub struct ReadBatch {
    prepared: Vec<Result<Prepared>>,
}

impl CacheManager {
    /// One attempt at refreshing several projects (ids or paths) with a single write
    /// transaction: [`CacheManager::read_many`] then [`CacheManager::write_many`]. Each
    /// project is read on its own; a project that cannot be read (unknown key, database error
    /// while reading) gets its own error and stays out of the write. When the write fails, the
    /// whole call fails and nothing was written: the caller retries the projects one by one
    /// ([`CacheManager::try_refresh`]). Like `try_refresh`, marks nothing errored.
    ///
    /// The outcomes are in the order of `keys`.
    pub fn try_refresh_many(&self, keys: &[String]) -> Result<Vec<Result<ProjectRefresh>>> {
        self.write_many(self.read_many(keys))
    }

    /// The reading half of [`CacheManager::try_refresh_many`]: every project stamped and, when
    /// changed, scanned; nothing written. The refresh job reads the next projects while these
    /// wait for the writer.
    pub fn read_many(&self, keys: &[String]) -> ReadBatch {
        let collection = self.collection();
        let prepared = keys
            .iter()
            .map(|k| {
                let (id, path) = self.resolve(k)?;
                self.prepare_refresh(&id, &path, &collection)
            })
            .collect();
        ReadBatch { prepared }
    }

    /// The writing half of [`CacheManager::try_refresh_many`]: one transaction for every
    /// project read, then the events. Outcomes in the order of the keys read.
    pub fn write_many(&self, batch: ReadBatch) -> Result<Vec<Result<ProjectRefresh>>> {
        let prepared = batch.prepared;
        let started = Instant::now();
        let writes: Vec<BatchWrite<'_>> = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| match &p.scan {
                None => BatchWrite::Touch {
                    id: &p.id,
                    scan_started: p.scan_started,
                },
                Some(scan) => BatchWrite::Refresh {
                    id: &p.id,
                    update: p.update(scan),
                },
            })
            .collect();
        let mut written = self.inner.store.apply_batch(&writes)?.into_iter();
        tracing::debug!(
            projects = writes.len(),
            write_ms = started.elapsed().as_secs_f64() * 1000.0,
            "batch written (waiting for the writer included)"
        );
        drop(writes);
        Ok(prepared
            .into_iter()
            .map(|p| {
                let p = p?;
                let w = written
                    .next()
                    .unwrap_or(BatchWritten::Changes(ChangeSet::default()));
                Ok(self.conclude_refresh(p, w))
            })
            .collect())
    }
}
