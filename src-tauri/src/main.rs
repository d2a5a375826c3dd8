//! `skillmeat-tray`: starts the tray app (see the library for what it does).

// A GUI app on Windows: no console window next to it (logs go to the log file).
#![cfg_attr(windows, windows_subsystem = "windows")]

fn main() {
    std::process::exit(skillmeat_tray::run());
}
