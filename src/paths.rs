//! The app's folders by each platform's convention: where the cache lives and where the
//! tray app writes its log. One place, so the CLI's `status`, the tray's "Open log folder"
//! and the README name the same folders.

use std::path::{Path, PathBuf};

/// The folder the app's data lives under by default: `$XDG_DATA_HOME` or `~/.local/share` on
/// Linux and other Unixes (unchanged, so existing caches are found), `~/Library/Application
/// Support` on macOS, `%LOCALAPPDATA%` on Windows. The cache is `skillmeat-tray/cache.db`
/// inside it.
pub fn data_dir(home: &Path) -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        home.join("Library/Application Support")
    }
    #[cfg(windows)]
    {
        local_app_data(home)
    }
    #[cfg(not(any(target_os = "macos", windows)))]
    {
        absolute_env("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share"))
    }
}

/// The folder of the tray app's daily log files: `$XDG_STATE_HOME/skillmeat-tray/logs`
/// (`~/.local/state/skillmeat-tray/logs`) on Linux and other Unixes, `~/Library/Logs/SkillMeat
/// Tray` on macOS, `%LOCALAPPDATA%\SkillMeat Tray\logs` on Windows.
pub fn log_dir(home: &Path) -> PathBuf {
    #[cfg(target_os = "macos")]
    {
        home.join("Library/Logs/SkillMeat Tray")
    }
    #[cfg(windows)]
    {
        local_app_data(home).join("SkillMeat Tray").join("logs")
    }
    #[cfg(not(any(target_os = "macos", windows)))]
    {
        absolute_env("XDG_STATE_HOME")
            .unwrap_or_else(|| home.join(".local/state"))
            .join("skillmeat-tray")
            .join("logs")
    }
}

/// `%LOCALAPPDATA%`, or `~\AppData\Local` when it is unset or not absolute.
#[cfg(windows)]
fn local_app_data(home: &Path) -> PathBuf {
    absolute_env("LOCALAPPDATA").unwrap_or_else(|| home.join("AppData").join("Local"))
}

/// An environment variable naming an absolute folder; a relative value is ignored, as the
/// XDG base directory specification requires.
fn absolute_env(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Linux keeps its historical folders (existing caches and logs are found):
    /// XDG base directory specification, https://specifications.freedesktop.org/basedir-spec/latest/
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_folders_follow_xdg_defaults() {
        let home = Path::new("/home/someone");
        if std::env::var_os("XDG_DATA_HOME").is_none() {
            assert_eq!(data_dir(home), Path::new("/home/someone/.local/share"));
        }
        if std::env::var_os("XDG_STATE_HOME").is_none() {
            assert_eq!(
                log_dir(home),
                Path::new("/home/someone/.local/state/skillmeat-tray/logs")
            );
        }
    }
}
