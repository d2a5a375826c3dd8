//! Several projects' refresh outcomes written in one transaction (see
//! `CacheManager::try_refresh_many`): all or nothing, each project complete in it.

use super::Store;
use super::insert::PendingRows;
use super::write::{ProjectUpdate, apply_refresh_deferred, touch_refreshed_tx};
use crate::error::Result;
use crate::model::ChangeSet;

/// One project's part of a batched write.
#[derive(Debug)]
pub enum BatchWrite<'a> {
    /// Confirmed unchanged ([`Store::touch_refreshed`]).
    Touch {
        /// Project id.
        id: &'a str,
        /// When its check started (unix ms).
        scan_started: i64,
    },
    /// Scanned: its artifacts and row written ([`Store::apply_refresh`]).
    Refresh {
        /// Project id.
        id: &'a str,
        /// What the scan found.
        update: ProjectUpdate<'a>,
    },
}

/// What a [`BatchWrite`] returned, in the same order.
#[derive(Debug)]
pub enum BatchWritten {
    /// The confirmed project's display name.
    Touched(String),
    /// What the scanned project's write changed.
    Changes(ChangeSet),
}

impl Store {
    /// Writes several projects in one transaction: all or nothing. Returns one outcome per
    /// item, in order.
    pub fn apply_batch(&self, items: &[BatchWrite<'_>]) -> Result<Vec<BatchWritten>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            // Every project's new rows go in with one statement at the end (`super::insert`).
            let mut pending = PendingRows::default();
            let mut seen = std::collections::HashSet::new();
            let written = items
                .iter()
                .map(|item| match item {
                    BatchWrite::Touch { id, scan_started } => {
                        touch_refreshed_tx(tx, id, *scan_started).map(BatchWritten::Touched)
                    }
                    BatchWrite::Refresh { id, update } => {
                        // The same project twice: its first rows go in before it is compared
                        // again, as if written one after the other.
                        if !seen.insert(*id) {
                            std::mem::take(&mut pending).flush(tx)?;
                        }
                        apply_refresh_deferred(tx, id, update, &mut pending)
                            .map(BatchWritten::Changes)
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            pending.flush(tx)?;
            Ok(written)
        })
    }
}
