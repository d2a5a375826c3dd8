//! The physical floor of a cold refresh, measured on the same files and page cache: listing
//! every folder of the corpus, reading every file and SHA-256-hashing its bytes, in parallel
//! over the cores, with nothing else. A cold refresh cannot be faster than this on the same
//! machine, so `cold_refresh_ms / floor_ms` says how close it comes whatever the machine's
//! speed that day. The floor lists the folders because a refresh must too (the issue's own
//! reference, `find | xargs sha256sum`, does); the stricter figure without the listing (files
//! listed before the clock starts) is reported beside it.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// What the two floors cost.
pub struct Floor {
    /// Wall time in milliseconds: list, read and hash.
    pub ms: f64,
    /// Wall time in milliseconds: read and hash only (the files listed beforehand).
    pub read_hash_ms: f64,
    /// CPU time (all threads) of the first: list, read and hash.
    pub cpu_ms: Option<f64>,
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
}

/// Every regular file below `root` (symlinks not followed).
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

/// Threads the floors use: one per core.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Reads and hashes one file; its size.
fn read_and_hash(f: &Path) -> u64 {
    match std::fs::read(f) {
        Ok(b) => {
            std::hint::black_box(Sha256::digest(&b));
            b.len() as u64
        }
        Err(_) => 0,
    }
}

/// Reads and hashes files listed beforehand, one thread per core.
fn read_hash_listed(files: &[PathBuf]) -> (f64, u64) {
    let chunk = files.len().div_ceil(threads()).max(1);
    let t = Instant::now();
    let bytes: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|f| read_and_hash(f)).sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (t.elapsed().as_secs_f64() * 1000.0, bytes)
}

/// Folders waiting to be listed, and how many threads are listing one now.
struct Work {
    folders: Vec<PathBuf>,
    busy: usize,
}

/// Lists, reads and hashes everything below `roots`, one thread per core sharing a queue of
/// folders: each thread lists a folder, reads and hashes its files, queues its subfolders.
fn walk_read_hash(roots: &[PathBuf]) -> (f64, u64) {
    let work = Mutex::new(Work {
        folders: roots.to_vec(),
        busy: 0,
    });
    let ready = Condvar::new();
    let t = Instant::now();
    let bytes: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads())
            .map(|_| {
                s.spawn(|| {
                    let mut n = 0u64;
                    loop {
                        let folder = {
                            let mut w = work.lock().unwrap_or_else(|p| p.into_inner());
                            loop {
                                if let Some(f) = w.folders.pop() {
                                    w.busy += 1;
                                    break Some(f);
                                }
                                if w.busy == 0 {
                                    break None;
                                }
                                w = ready.wait(w).unwrap_or_else(|p| p.into_inner());
                            }
                        };
                        let Some(folder) = folder else {
                            ready.notify_all();
                            return n;
                        };
                        let mut subfolders = Vec::new();
                        if let Ok(read) = std::fs::read_dir(&folder) {
                            for e in read.flatten() {
                                let Ok(t) = e.file_type() else { continue };
                                if t.is_dir() {
                                    subfolders.push(e.path());
                                } else if t.is_file() {
                                    n += read_and_hash(&e.path());
                                }
                            }
                        }
                        let mut w = work.lock().unwrap_or_else(|p| p.into_inner());
                        w.folders.extend(subfolders);
                        w.busy -= 1;
                        ready.notify_all();
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (t.elapsed().as_secs_f64() * 1000.0, bytes)
}

/// Both floors on everything below `roots`.
pub fn measure(roots: &[PathBuf]) -> Floor {
    let cpu_before = process_cpu_ms();
    let (ms, walked_bytes) = walk_read_hash(roots);
    let cpu_ms = cpu_before.zip(process_cpu_ms()).map(|(b, a)| a - b);
    let mut files = Vec::new();
    for r in roots {
        list(r, &mut files);
    }
    let (read_hash_ms, bytes) = read_hash_listed(&files);
    debug_assert_eq!(walked_bytes, bytes);
    Floor {
        ms,
        read_hash_ms,
        cpu_ms,
        files: files.len(),
        bytes,
    }
}

/// CPU time (user + system, every thread) this process has used so far, in milliseconds:
/// on this project's shared machines far steadier from run to run than wall time, so the
/// benchmark reports it beside the cold refresh. `None` where `getrusage` is not available.
pub fn process_cpu_ms() -> Option<f64> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
            return None;
        }
        let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
        Some(ms(u.ru_utime) + ms(u.ru_stime))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
