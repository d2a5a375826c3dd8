//! The physical floor of a cold refresh: reading and SHA-256-hashing every file of the corpus,
//! in parallel over the cores, with nothing else. A cold refresh cannot be faster than this on
//! the same machine and page cache, so `cold_refresh_ms / floor_ms` says how close it comes
//! whatever the machine's speed that day.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What reading and hashing the corpus cost.
pub struct Floor {
    /// Wall time in milliseconds.
    pub ms: f64,
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
}

/// Every regular file below `root` (symlinks not followed), listed before timing.
fn list(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(root) else {
        return;
    };
    for e in read.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            list(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

/// Reads and hashes every file below `roots` with one thread per core; the listing is not
/// timed (the refresh's own walk is part of what the ratio shows).
pub fn measure(roots: &[PathBuf]) -> Floor {
    let mut files = Vec::new();
    for r in roots {
        list(r, &mut files);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let chunk = files.len().div_ceil(threads).max(1);
    let t = Instant::now();
    let bytes: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut n = 0u64;
                    for f in part {
                        if let Ok(b) = std::fs::read(f) {
                            n += b.len() as u64;
                            std::hint::black_box(Sha256::digest(&b));
                        }
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    Floor {
        ms: t.elapsed().as_secs_f64() * 1000.0,
        files: files.len(),
        bytes,
    }
}
