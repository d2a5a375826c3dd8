//! `skillmeat-cache`: the command-line face of the project cache. Every command goes through
//! the same `CacheManager` the tray app uses, on the same database.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Behave like other command-line tools when piped into `head`: end quietly.
    // (Unix only: Windows has no SIGPIPE.)
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = cli::Cli::parse();
    init_logging(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("skillmeat-cache: {e}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}

fn init_logging(verbose: bool) {
    // notify logs its own recoverable hiccups (a folder gone before it was unwatched) as
    // warnings; the engine reports what matters itself.
    let default = if verbose {
        "debug"
    } else {
        "warn,notify=error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SKILLMEAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
