//! What deserves a desktop notification, coalesced: engine events in, a few notices out.
//! At most one notice per project per interval, and one summary when many projects change at
//! once. Pure logic (time is passed in), so the tray only has to show what comes out.

use crate::events::{CacheEvent, InvalidationReason};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One desktop notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The headline, e.g. "research-foundry".
    pub title: String,
    /// The details, e.g. "2 skills modified, 1 agent added".
    pub body: String,
}

/// How notices are coalesced.
#[derive(Debug, Clone)]
pub struct NoticePolicy {
    /// At most one notice per project (or topic) within this interval.
    pub per_project: Duration,
    /// Events arriving within this window are shown together.
    pub window: Duration,
    /// From this many projects in one window on, one summary replaces individual notices.
    pub summary_from: usize,
}

impl Default for NoticePolicy {
    fn default() -> Self {
        NoticePolicy {
            per_project: Duration::from_secs(30),
            window: Duration::from_millis(400),
            summary_from: 3,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    key: String,
    title: String,
    body: String,
}

/// Collects events and hands out coalesced notices.
#[derive(Debug, Default)]
pub struct Coalescer {
    policy: NoticePolicy,
    last: HashMap<String, Instant>,
    pending: Vec<Pending>,
    window_start: Option<Instant>,
}

impl Coalescer {
    /// A coalescer with the given policy.
    pub fn new(policy: NoticePolicy) -> Self {
        Coalescer {
            policy,
            ..Default::default()
        }
    }

    /// Takes one event at time `now`; events that deserve no notice are ignored.
    pub fn push(&mut self, ev: &CacheEvent, now: Instant) {
        let item = match ev {
            CacheEvent::ProjectChanged {
                id,
                name,
                changes,
                summary,
                ..
            } if !changes.new_project => Some((id.clone(), name.clone(), summary.clone())),
            CacheEvent::RefreshFailed {
                id,
                path,
                error,
                final_attempt: true,
                ..
            } => Some((
                id.clone(),
                format!("{} could not be refreshed", short_name(path)),
                error.clone(),
            )),
            CacheEvent::ProjectMissing { id, path, .. } => Some((
                id.clone(),
                short_name(path),
                "the project folder is gone".into(),
            )),
            CacheEvent::ProjectInvalidated {
                id,
                path,
                reason: InvalidationReason::Manual,
            } => Some((
                id.clone().unwrap_or_else(|| "*".into()),
                path.as_deref()
                    .map(short_name)
                    .unwrap_or_else(|| "All projects".into()),
                "invalidated: re-reading now".into(),
            )),
            CacheEvent::WatchStatus { state, message } if state == "degraded" => Some((
                "watch".into(),
                "File watching degraded".into(),
                message.clone(),
            )),
            _ => None,
        };
        if let Some((key, title, body)) = item {
            if let Some(p) = self.pending.iter_mut().find(|p| p.key == key) {
                // The newest word on a project wins within a window.
                p.title = title;
                p.body = body;
            } else {
                self.pending.push(Pending { key, title, body });
            }
            self.window_start.get_or_insert(now);
        }
    }

    /// When `flush` should be called next (`None`: nothing pending).
    pub fn due(&self) -> Option<Instant> {
        self.window_start.map(|s| s + self.policy.window)
    }

    /// The notices to show now (empty until the window has passed).
    pub fn flush(&mut self, now: Instant) -> Vec<Notice> {
        match self.due() {
            Some(due) if now >= due => {}
            _ => return Vec::new(),
        }
        self.window_start = None;
        let per = self.policy.per_project;
        let fresh: Vec<Pending> = self
            .pending
            .drain(..)
            .filter(|p| {
                self.last
                    .get(&p.key)
                    .is_none_or(|t| now.duration_since(*t) >= per)
            })
            .collect();
        for p in &fresh {
            self.last.insert(p.key.clone(), now);
        }
        self.last.retain(|_, t| now.duration_since(*t) < per);
        if fresh.len() >= self.policy.summary_from {
            let names: Vec<&str> = fresh.iter().map(|p| p.title.as_str()).collect();
            let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            let more = if names.len() > 5 {
                format!(" and {} more", names.len() - 5)
            } else {
                String::new()
            };
            return vec![Notice {
                title: format!("{} projects changed", fresh.len()),
                body: format!("{shown}{more}"),
            }];
        }
        fresh
            .into_iter()
            .map(|p| Notice {
                title: p.title,
                body: p.body,
            })
            .collect()
    }
}

fn short_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactKind, ChangeSet, ChangedArtifact};

    fn changed(id: &str, name: &str) -> CacheEvent {
        let changes = ChangeSet {
            modified: vec![ChangedArtifact {
                kind: ArtifactKind::Skill,
                name: "pdf".into(),
                path: ".claude/skills/pdf".into(),
            }],
            ..Default::default()
        };
        CacheEvent::ProjectChanged {
            id: id.into(),
            name: name.into(),
            path: format!("/p/{name}"),
            summary: changes.summary(),
            changes,
        }
    }

    #[test]
    fn one_project_one_notice_after_the_window() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        c.push(&changed("a", "research-foundry"), t0);
        c.push(
            &changed("a", "research-foundry"),
            t0 + Duration::from_millis(100),
        );
        assert!(
            c.flush(t0 + Duration::from_millis(300)).is_empty(),
            "window not over"
        );
        let n = c.flush(t0 + Duration::from_secs(2));
        assert_eq!(
            n,
            vec![Notice {
                title: "research-foundry".into(),
                body: "1 skill modified".into()
            }]
        );
        assert_eq!(c.due(), None);
    }

    #[test]
    fn at_most_one_per_project_per_interval() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        c.push(&changed("a", "A"), t0);
        assert_eq!(c.flush(t0 + Duration::from_secs(2)).len(), 1);
        c.push(&changed("a", "A"), t0 + Duration::from_secs(5));
        assert!(
            c.flush(t0 + Duration::from_secs(7)).is_empty(),
            "within 30 s"
        );
        c.push(&changed("a", "A"), t0 + Duration::from_secs(40));
        assert_eq!(c.flush(t0 + Duration::from_secs(42)).len(), 1, "after 30 s");
    }

    #[test]
    fn many_projects_at_once_make_one_summary() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        for i in 0..8 {
            c.push(&changed(&format!("p{i}"), &format!("proj{i}")), t0);
        }
        let n = c.flush(t0 + Duration::from_secs(2));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].title, "8 projects changed");
        assert!(n[0].body.ends_with("and 3 more"), "{}", n[0].body);
    }

    #[test]
    fn new_projects_and_progress_are_not_notified() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        c.push(
            &CacheEvent::ProjectChanged {
                id: "n".into(),
                name: "new".into(),
                path: "/p/new".into(),
                summary: "new project".into(),
                changes: ChangeSet {
                    new_project: true,
                    ..Default::default()
                },
            },
            t0,
        );
        c.push(
            &CacheEvent::RefreshProgress {
                done: 1,
                total: 2,
                project: "/p".into(),
            },
            t0,
        );
        assert_eq!(c.due(), None);
        assert!(c.flush(t0 + Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn failures_after_the_last_attempt_are_notified() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        let fail = |last| CacheEvent::RefreshFailed {
            id: "x".into(),
            path: "/p/broken".into(),
            error: "disk full".into(),
            attempt: 1,
            final_attempt: last,
        };
        c.push(&fail(false), t0);
        assert_eq!(c.due(), None);
        c.push(&fail(true), t0);
        let n = c.flush(t0 + Duration::from_secs(2));
        assert_eq!(n[0].title, "broken could not be refreshed");
        assert_eq!(n[0].body, "disk full");
    }
}
