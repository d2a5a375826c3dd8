//! `skillmeat-tray`: starts the tray app (see the library for what it does).

fn main() {
    std::process::exit(skillmeat_tray::run());
}
