//! The refresh schedule setting: an interval (`30s`, `5m`, `1h`; whole seconds) or a cron expression
//! with seconds (`0 */10 * * * *`), validated when the setting is read.

use std::time::Duration;

/// A parsed `schedule` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every fixed interval.
    Every(Duration),
    /// A cron expression (6 or 7 fields, seconds first), as tokio-cron-scheduler reads it.
    Cron(String),
}

impl Schedule {
    /// Parses the setting's text; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let t = text.trim();
        if t.split_whitespace().count() > 1 {
            return validate_cron(t).map(|_| Schedule::Cron(t.to_string()));
        }
        let d = parse_interval(t).ok_or_else(|| {
            format!("schedule '{t}' is neither an interval (30s, 5m, 1h) nor a cron expression")
        })?;
        // tokio-cron-scheduler keeps intervals in whole seconds.
        if d.subsec_nanos() != 0 {
            return Err(format!(
                "schedule '{t}': intervals are whole seconds (at least 1s)"
            ));
        }
        Ok(Schedule::Every(d))
    }
}

/// Parses `250ms`, `30s`, `5m`, `2h` (a bare number means seconds). Zero is refused.
pub fn parse_interval(t: &str) -> Option<Duration> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().ok()?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}

fn validate_cron(expr: &str) -> Result<(), String> {
    let fields = expr.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(format!(
            "cron expression '{expr}' needs 6 or 7 fields (seconds first), got {fields}"
        ));
    }
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| format!("cron expression '{expr}' is invalid: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_cron() {
        assert_eq!(
            Schedule::parse("5m"),
            Ok(Schedule::Every(Duration::from_secs(300)))
        );
        assert!(Schedule::parse("250ms").is_err());
        assert!(Schedule::parse("1500ms").is_err());
        assert_eq!(
            Schedule::parse("2000ms"),
            Ok(Schedule::Every(Duration::from_secs(2)))
        );
        assert_eq!(
            Schedule::parse("90"),
            Ok(Schedule::Every(Duration::from_secs(90)))
        );
        assert!(Schedule::parse("0s").is_err());
        assert!(Schedule::parse("soon").is_err());
        assert!(matches!(
            Schedule::parse("0 */10 * * * *"),
            Ok(Schedule::Cron(_))
        ));
        assert!(Schedule::parse("* * *").is_err());
        assert!(Schedule::parse("99 * * * * *").is_err());
    }
}
