//! The app's log: one plain-text file per day in the platform's log folder, the last
//! [`KEEP_DAYS`] days kept, at most [`DAY_CAP`] bytes a day, `info` by default
//! (`SKILLMEAT_LOG` changes the filter). Also on stderr, coloured only on a terminal.
//!
//! What is logged is the engine's and the shell's own messages (paths, counts, errors); no
//! file contents and no secrets are ever passed to the log.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

/// Days of log files kept (older ones are deleted when the app starts and at each rotation).
pub const KEEP_DAYS: usize = 7;

/// Bytes written to one day's file at most; past it, lines are dropped until the next day
/// (one line says so).
pub const DAY_CAP: u64 = 10 * 1024 * 1024;

/// The start of every log file's name: `skillmeat-tray.2026-11-28.log`.
pub const FILE_PREFIX: &str = "skillmeat-tray";

/// The folder of the log files, by the platform's convention
/// ([`skillmeat_cache::paths::log_dir`], which `skillmeat-cache status` also shows).
/// `None` when the home folder is unknown.
pub fn log_dir() -> Option<PathBuf> {
    let base = directories::BaseDirs::new()?;
    Some(skillmeat_cache::paths::log_dir(base.home_dir()))
}

/// Sets up logging to stderr and to the daily file. Returns the log folder, or `None` when
/// no file could be opened there (the app then logs to stderr only, and says why).
pub fn init() -> Option<PathBuf> {
    let filter = || {
        EnvFilter::try_from_env("SKILLMEAT_LOG")
            .unwrap_or_else(|_| EnvFilter::new("info,notify=error"))
    };
    let stderr = fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_filter(filter());
    let dir = log_dir();
    let file = dir.as_ref().map(|d| open(d.clone()));
    let (file_layer, problem) = match file {
        Some(Ok(w)) => (
            Some(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(Mutex::new(w))
                    .with_filter(filter()),
            ),
            None,
        ),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, Some("no home folder".to_string())),
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    match problem {
        None => {
            tracing::info!(
                "skillmeat-tray {} started; log folder {}",
                env!("CARGO_PKG_VERSION"),
                dir.as_ref()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            );
            dir
        }
        Some(p) => {
            tracing::warn!("no log file ({p}); logging to stderr only");
            None
        }
    }
}

fn open(dir: PathBuf) -> io::Result<Capped> {
    std::fs::create_dir_all(&dir)?;
    // The log names your projects' paths: yours only, like the cache.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let inner = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(KEEP_DAYS)
        .build(&dir)
        .map_err(io::Error::other)?;
    // What today's file already holds counts against today's cap (the app may restart).
    let today = today();
    let written = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(FILE_PREFIX) && name.contains(&date_of(today))
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(Capped {
        inner,
        day: today,
        written,
        cap: DAY_CAP,
    })
}

/// The rolling file with a daily byte cap.
struct Capped {
    inner: RollingFileAppender,
    /// Days since the epoch (UTC, like the appender's rotation) of `written`.
    day: u64,
    written: u64,
    cap: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let day = today();
        if day != self.day {
            self.day = day;
            self.written = 0;
        }
        if self.written >= self.cap {
            return Ok(buf.len());
        }
        self.written += buf.len() as u64;
        if self.written >= self.cap {
            let _ = self
                .inner
                .write_all(b"log cap reached: nothing more is written today\n");
            return Ok(buf.len());
        }
        self.inner.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn today() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// `YYYY-MM-DD` of a day since the epoch (the date in the appender's file names).
fn date_of(day: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), valid for any day after 1970.
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Opens a folder in the system's file manager.
pub fn open_folder<R: tauri::Runtime>(app: &tauri::AppHandle<R>, dir: &std::path::Path) {
    use tauri_plugin_opener::OpenerExt;
    if let Err(e) = std::fs::create_dir_all(dir) {
        tracing::warn!("could not create {}: {e}", dir.display());
    }
    let path = dunce::simplified(dir).to_string_lossy().into_owned();
    if let Err(e) = app.opener().open_path(path, None::<&str>) {
        tracing::warn!("could not open {}: {e}", dir.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(20_513), "2026-03-01");
        assert_eq!(date_of(19_782), "2024-02-29");
    }

    #[test]
    fn the_cap_stops_writing_and_says_so_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = open(dir.path().to_path_buf()).unwrap();
        w.cap = 100;
        for _ in 0..20 {
            w.write_all(b"0123456789\n").unwrap();
        }
        w.flush().unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.len() < 200, "{} bytes written", text.len());
        assert_eq!(text.matches("log cap reached").count(), 1);
        let name = files[0].as_ref().unwrap().file_name();
        assert!(
            name.to_string_lossy().contains(&date_of(today())),
            "{name:?}"
        );
    }
}
