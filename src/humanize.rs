//! Human-friendly formatting shared by the CLI and the tray: "3 min ago", byte sizes.

/// How long ago `then_ms` was, relative to `now_ms`: "just now", "42 s ago", "3 min ago",
/// "5 h ago", "2 days ago"; "never" for `None`.
pub fn ago(now_ms: i64, then_ms: Option<i64>) -> String {
    let Some(then) = then_ms else {
        return "never".into();
    };
    let secs = (now_ms - then).max(0) / 1000;
    match secs {
        0..=4 => "just now".into(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => {
            let d = secs / 86_400;
            format!("{d} day{} ago", if d == 1 { "" } else { "s" })
        }
    }
}

/// The one-line status the tray shows: "42 projects · updated 3 min ago", with the number
/// of projects needing attention when there are any.
pub fn status_line(s: &crate::model::CacheStatus, now_ms: i64) -> String {
    let mut line = format!(
        "{} project{} · updated {}",
        s.projects,
        if s.projects == 1 { "" } else { "s" },
        ago(now_ms, s.last_refresh.or(s.newest_refresh))
    );
    if s.errored + s.missing > 0 {
        line.push_str(&format!(" · {} need attention", s.errored + s.missing));
    }
    if s.problems > 0 {
        line.push_str(&format!(
            " · {} problem{}",
            s.problems,
            if s.problems == 1 { "" } else { "s" }
        ));
    }
    line
}

/// A byte count as "512 B", "1.5 KiB", "3.2 MiB".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_ranges() {
        let now = 10_000_000;
        assert_eq!(ago(now, None), "never");
        assert_eq!(ago(now, Some(now - 1000)), "just now");
        assert_eq!(ago(now, Some(now - 42_000)), "42 s ago");
        assert_eq!(ago(now, Some(now - 180_000)), "3 min ago");
        assert_eq!(ago(now, Some(now - 7_200_000)), "2 h ago");
        assert_eq!(ago(now * 100, Some(now * 100 - 86_400_000)), "1 day ago");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
