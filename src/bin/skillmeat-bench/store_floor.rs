//! The store floor of a cold refresh: what writing its rows costs with nothing else. The rows
//! a cold refresh stored are copied, with one statement in one transaction, into an empty
//! database the cache itself created (the same schema: every table, index, trigger and
//! full-text index a refresh fills, the same pragmas), the library's counts set aside as a
//! large refresh sets them aside. No refresh can store those rows for less, whatever it does
//! before: SQLite has one writer, so this part runs on one core. Beside the listing floor
//! ([`crate::floor`]) it bounds what a cold refresh could reach on this machine
//! ([`ratio_bound`]). The copy also reads its source rows from the cache's file (warm in the
//! page cache): a few per cent more than the insert alone, so the bound errs low.

use rusqlite::Connection;
use std::path::Path;
use std::time::Instant;

/// One measure of the store floor.
pub struct StoreFloor {
    /// Wall time in milliseconds: the insert and its commit.
    pub ms: f64,
    /// CPU time (all threads) of the same, where `getrusage` is available.
    pub cpu_ms: Option<f64>,
    /// Artifact rows stored.
    pub rows: u64,
}

/// Copies the artifacts of the cache database `cache_db` into a new database at `scratch`
/// (created by the cache's own [`skillmeat_cache::store::Store::open`], removed first if
/// present) and times the copy.
pub fn measure(cache_db: &Path, scratch: &Path) -> Result<StoreFloor, Box<dyn std::error::Error>> {
    crate::remove_db(scratch);
    drop(skillmeat_cache::store::Store::open(scratch)?);
    let conn = Connection::open(scratch)?;
    // As the cache's own connections (`store::configure`).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let source = cache_db
        .to_str()
        .ok_or("the cache database's path is not UTF-8")?;
    conn.execute("ATTACH DATABASE ?1 AS src", [source])?;
    // Not timed: the projects the rows belong to, and the library set aside with a write
    // pending, as during a large refresh (its recount is not part of this floor).
    conn.execute_batch(
        "INSERT INTO projects SELECT * FROM src.projects;
         UPDATE lib_state SET live = 0, since = 0, dirty = 1 WHERE id = 1;",
    )?;
    let cpu = crate::floor::process_cpu_ms();
    let t = Instant::now();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO artifacts SELECT * FROM src.artifacts ORDER BY aid;
         COMMIT;",
    )?;
    let ms = crate::ms(t);
    let cpu_ms = cpu.zip(crate::floor::process_cpu_ms()).map(|(b, a)| a - b);
    let rows: i64 = conn.query_row("SELECT count(*) FROM artifacts", [], |r| r.get(0))?;
    drop(conn);
    crate::remove_db(scratch);
    Ok(StoreFloor {
        ms,
        cpu_ms,
        rows: rows.max(0) as u64,
    })
}

/// The least `cold_ratio` a cold refresh could reach on `cores` cores if it did only the
/// listing floor's work (list, read, hash: `floor_ms` wall, `floor_cpu_ms` CPU) and the store
/// floor's insert (`store_ms` on one core, `store_cpu_ms` CPU), all perfectly spread over the
/// cores: the longest of the listing floor, the insert, and their CPU time shared by the
/// cores, over the listing floor.
pub fn ratio_bound(
    floor_ms: f64,
    floor_cpu_ms: f64,
    store_ms: f64,
    store_cpu_ms: f64,
    cores: usize,
) -> f64 {
    let shared = (floor_cpu_ms + store_cpu_ms) / cores.max(1) as f64;
    floor_ms.max(store_ms).max(shared) / floor_ms.max(0.001)
}

#[cfg(test)]
mod tests {
    use super::ratio_bound;

    #[test]
    fn the_bound_is_the_longest_of_the_three_over_the_floor() {
        // Reading dominates: the floor itself.
        assert_eq!(ratio_bound(100.0, 150.0, 20.0, 20.0, 2), 1.0);
        // The single writer dominates: 300 ms of insert over a 100 ms floor.
        assert_eq!(ratio_bound(100.0, 150.0, 300.0, 300.0, 8), 3.0);
        // CPU dominates: (200 + 100) ms shared by 2 cores = 150 ms.
        assert_eq!(ratio_bound(100.0, 200.0, 90.0, 100.0, 2), 1.5);
        // No cores reported counts as one; a zero floor does not divide by zero.
        assert_eq!(ratio_bound(100.0, 200.0, 90.0, 100.0, 0), 3.0);
        assert!(ratio_bound(0.0, 0.0, 1.0, 1.0, 2).is_finite());
    }
}
