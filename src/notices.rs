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
    /// The project it is about (its id), to open when the notice is clicked; `None` for a
    /// summary of several projects or a notice about the app itself.
    pub project: Option<String>,
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
    project: Option<String>,
    /// How a summary of several notices names this one.
    name: String,
    /// Shown on its own even when many projects change at once (something stopped loading).
    urgent: bool,
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
        if let CacheEvent::ProjectChanged {
            id, name, changes, ..
        } = ev
            && let Some(first) = changes.stopped_loading.first()
        {
            // Something Claude Code loaded will not load any more: said on its own, with why,
            // and never folded into a summary or silenced by an ordinary change notice.
            let mut body = crate::loading::problem_detail(
                first.kind,
                &first.name,
                &first.path,
                &serde_json::Value::Null,
                first.reason.as_str(),
            );
            let more = changes.stopped_loading.len() - 1;
            if more > 0 {
                body.push_str(&format!(" (and {more} more)"));
            }
            self.add(Pending {
                key: format!("{id}:stopped"),
                title: format!("{name}: something stopped loading"),
                body,
                project: Some(id.clone()),
                name: name.clone(),
                urgent: true,
            });
            self.window_start.get_or_insert(now);
        }
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
            let project = (key != "watch" && key != "*").then(|| key.clone());
            self.add(Pending {
                key,
                name: title.clone(),
                title,
                body,
                project,
                urgent: false,
            });
            self.window_start.get_or_insert(now);
        }
    }

    fn add(&mut self, item: Pending) {
        if let Some(p) = self.pending.iter_mut().find(|p| p.key == item.key) {
            // The newest word on a project wins within a window.
            *p = item;
        } else {
            self.pending.push(item);
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
        let (urgent, fresh): (Vec<Pending>, Vec<Pending>) =
            fresh.into_iter().partition(|p| p.urgent);
        let mut out = self.summarised(urgent, |n| format!("Items stopped loading in {n} projects"));
        out.extend(self.summarised(fresh, |n| format!("{n} projects changed")));
        out
    }

    /// The notices as they are, or one summary naming the first five when there are at least
    /// [`NoticePolicy::summary_from`] of them.
    fn summarised(&self, items: Vec<Pending>, title: impl Fn(usize) -> String) -> Vec<Notice> {
        if items.len() < self.policy.summary_from {
            return items.into_iter().map(Pending::into_notice).collect();
        }
        let shown: Vec<&str> = items.iter().take(5).map(|p| p.name.as_str()).collect();
        let more = match items.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        vec![Notice {
            title: title(items.len()),
            body: format!("{}{more}", shown.join(", ")),
            project: None,
        }]
    }
}

impl Pending {
    fn into_notice(self) -> Notice {
        Notice {
            title: self.title,
            body: self.body,
            project: self.project,
        }
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
                body: "1 skill modified".into(),
                project: Some("a".into()),
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

    fn stopped(id: &str, name: &str) -> CacheEvent {
        let mut changes = ChangeSet {
            modified: vec![ChangedArtifact {
                kind: ArtifactKind::Skill,
                name: "pdf".into(),
                path: ".claude/skills/group/pdf".into(),
            }],
            ..Default::default()
        };
        changes.stopped_loading.push(crate::model::StoppedLoading {
            kind: ArtifactKind::Skill,
            name: "pdf".into(),
            path: ".claude/skills/group/pdf".into(),
            reason: crate::model::NotLoaded::NestedSkill,
        });
        CacheEvent::ProjectChanged {
            id: id.into(),
            name: name.into(),
            path: format!("/p/{name}"),
            summary: changes.summary(),
            changes,
        }
    }

    #[test]
    fn something_that_stops_loading_is_said_with_why_and_not_silenced() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        // An ordinary change notice for the project a moment before...
        c.push(&changed("a", "alpha"), t0);
        assert_eq!(c.flush(t0 + Duration::from_secs(1)).len(), 1);
        // ...does not silence the one that says a skill stopped loading.
        c.push(&stopped("a", "alpha"), t0 + Duration::from_secs(2));
        let n = c.flush(t0 + Duration::from_secs(3));
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].title, "alpha: something stopped loading");
        assert_eq!(
            n[0].body,
            "skill `pdf` will not load: nested more than one level below skills/ (move it to .claude/skills/pdf)"
        );
        assert_eq!(n[0].project.as_deref(), Some("a"));
    }

    #[test]
    fn stopped_loading_in_many_projects_is_one_notice_beside_the_summary() {
        let mut c = Coalescer::new(NoticePolicy::default());
        let t0 = Instant::now();
        for i in 0..4 {
            c.push(&stopped(&format!("p{i}"), &format!("proj{i}")), t0);
        }
        let n = c.flush(t0 + Duration::from_secs(1));
        let titles: Vec<&str> = n.iter().map(|n| n.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Items stopped loading in 4 projects", "4 projects changed"]
        );
        assert_eq!(n[0].body, "proj0, proj1, proj2, proj3");
    }
}
