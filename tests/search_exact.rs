//! Search answers exactly what its rule says, whatever the shortcuts behind it: for whole
//! words, prefixes, fragments inside words, several words, one or two characters, other
//! cases, accents, punctuation and filters, the total equals a brute-force count, and paging
//! through every page returns each match once, name matches first with the right tier.
//!
//! The rule: a match is an artifact whose name contains the query (for one or two characters:
//! whose name starts with it, ignoring ASCII case), or whose words start with every word of
//! the query (FTS5's own matching, asked here row by row over the whole table).

mod common;

use common::TestEnv;
use skillmeat_cache::corpus::Rng;
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::{ArtifactKind, CacheManager, SearchQuery};
use std::collections::{BTreeSet, HashMap};

/// Name parts: words, words hidden inside other words, accents, case, punctuation.
const PARTS: &[&str] = &[
    "review",
    "prereview",
    "Review",
    "REVIEW",
    "search",
    "research",
    "deploy",
    "redeploy",
    "Révision",
    "café",
    "ÜBER",
    "naïve",
    "code_review",
    "a.b",
    "%wild_",
    "x",
    "re",
];

/// Description and tag words.
const WORDS: &[&str] = &[
    "review", "reviewer", "search", "deploy", "cafe", "über", "lint", "naive", "plan", "x",
];

/// One artifact as the oracle sees it.
struct Row {
    key: (String, ArtifactKind, String),
    name: String,
    project: String,
    kind: ArtifactKind,
}

fn build(env: &TestEnv) -> CacheManager {
    let mut rng = Rng::new(7);
    for p in 0..3 {
        let project = env.project(&format!("proj{p}"));
        for i in 0..40 {
            let name = match rng.below(3) {
                0 => PARTS[rng.below(PARTS.len())].to_string(),
                1 => format!(
                    "{}-{}",
                    PARTS[rng.below(PARTS.len())],
                    PARTS[rng.below(PARTS.len())]
                ),
                _ => format!("{} {}", PARTS[rng.below(PARTS.len())], i),
            };
            let desc = (0..3)
                .map(|_| WORDS[rng.below(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ");
            let tag = WORDS[rng.below(WORDS.len())];
            match i % 3 {
                0 => {
                    project.skill_with(
                        &format!("s{i}"),
                        &format!("name: \"{name}\"\ndescription: {desc}\ntags: [{tag}]"),
                        "body",
                    );
                }
                1 => {
                    project.agent(&format!("a{i}"), &format!("\"{name}\""), &desc);
                }
                _ => {
                    project.command(&format!("c{i}-{}", PARTS[i % PARTS.len()]), &desc);
                }
            }
        }
    }
    let m = env.open();
    let r = refresh_now(&m, false).unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    m
}

fn rows(env: &TestEnv) -> HashMap<i64, Row> {
    let c = env.raw();
    let mut stmt = c
        .prepare("SELECT a.aid, p.path, a.kind, a.path, a.name FROM artifacts a JOIN projects p ON p.rid = a.project_rid")
        .unwrap();
    stmt.query_map([], |r| {
        let kind: String = r.get(2)?;
        let kind = ArtifactKind::parse(&kind).unwrap();
        let project: String = r.get(1)?;
        Ok((
            r.get::<_, i64>(0)?,
            Row {
                key: (project.clone(), kind, r.get(3)?),
                name: r.get(4)?,
                project,
                kind,
            },
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// The expected matches of `q` (ids), by the rule, with each name match's tier.
fn expected(
    env: &TestEnv,
    all: &HashMap<i64, Row>,
    q: &str,
    project: Option<&str>,
    kind: Option<ArtifactKind>,
) -> (BTreeSet<i64>, HashMap<i64, u8>) {
    let mut tiers = HashMap::new();
    for (aid, r) in all {
        let n = q.len();
        let prefix =
            r.name.len() >= n && r.name.is_char_boundary(n) && r.name[..n].eq_ignore_ascii_case(q);
        let tier = if r.name.eq_ignore_ascii_case(q) {
            Some(0)
        } else if prefix {
            Some(1)
        } else if q.chars().count() >= 3 && r.name.to_lowercase().contains(&q.to_lowercase()) {
            Some(2)
        } else {
            None
        };
        if let Some(t) = tier {
            tiers.insert(*aid, t);
        }
    }
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.to_lowercase()))
        .collect();
    let mut found: BTreeSet<i64> = tiers.keys().copied().collect();
    if !words.is_empty() {
        let c = env.raw();
        let mut stmt = c
            .prepare("SELECT rowid FROM artifacts_fts WHERE artifacts_fts MATCH ?1")
            .unwrap();
        let ids = stmt
            .query_map([words.join(" ")], |r| r.get::<_, i64>(0))
            .unwrap();
        found.extend(ids.map(Result::unwrap));
    }
    found.retain(|aid| {
        let r = &all[aid];
        project.is_none_or(|p| r.project == p) && kind.is_none_or(|k| r.kind == k)
    });
    tiers.retain(|aid, _| found.contains(aid));
    (found, tiers)
}

#[test]
fn totals_and_pages_equal_a_brute_force_answer() {
    let env = TestEnv::new();
    let m = build(&env);
    let all = rows(&env);
    let by_key: HashMap<_, i64> = all.iter().map(|(aid, r)| (r.key.clone(), *aid)).collect();
    let p1 = env.root.join("proj1").display().to_string();
    let queries: &[(&str, Option<&str>, Option<ArtifactKind>)] = &[
        ("review", None, None),
        ("Review", None, None),
        ("rev", None, None),
        ("eview", None, None),
        ("view", None, None),
        ("re", None, None),
        ("r", None, None),
        ("x", None, None),
        ("search", None, None),
        ("earc", None, None),
        ("révision", None, None),
        ("RÉV", None, None),
        ("cafe", None, None),
        ("café", None, None),
        ("über", None, None),
        ("naive", None, None),
        ("deploy review", None, None),
        ("review-deploy", None, None),
        ("code_review", None, None),
        ("a.b", None, None),
        ("%", None, None),
        ("_", None, None),
        ("%wild_", None, None),
        ("zz", None, None),
        ("review", Some(&p1), None),
        ("rev", None, Some(ArtifactKind::Agent)),
        ("eview", Some(&p1), Some(ArtifactKind::Skill)),
        ("re", Some(&p1), Some(ArtifactKind::Command)),
    ];
    let mut nonempty = 0;
    for &(q, project, kind) in queries {
        let (want, tiers) = expected(&env, &all, q, project, kind);
        let ask = |skip: u64, limit: u64| {
            m.search(&SearchQuery {
                text: q.into(),
                project: project.map(String::from),
                kind,
                skip,
                limit: Some(limit),
                ..Default::default()
            })
            .unwrap()
        };
        assert_eq!(
            ask(0, 50).total,
            want.len() as u64,
            "total of {q:?} ({project:?}, {kind:?})"
        );
        let mut got = BTreeSet::new();
        let mut order = Vec::new();
        let mut skip = 0;
        loop {
            let page = ask(skip, 7);
            assert_eq!(page.total, want.len() as u64, "{q:?} at {skip}");
            if page.items.is_empty() {
                break;
            }
            for h in &page.items {
                let key = (
                    h.artifact.project.clone(),
                    h.artifact.kind,
                    h.artifact.path.clone(),
                );
                let aid = by_key[&key];
                assert!(got.insert(aid), "{q:?}: {} twice", h.artifact.name);
                let tier = tiers.get(&aid).copied().unwrap_or(3);
                assert_eq!(h.tier, tier, "{q:?}: tier of {:?}", h.artifact.name);
                order.push((tier, h.artifact.name.chars().count()));
            }
            skip += page.items.len() as u64;
        }
        assert_eq!(got, want, "{q:?}: the pages hold every match once");
        // Tiers never go back; within a name tier, shorter names come first.
        for w in order.windows(2) {
            assert!(w[0].0 <= w[1].0, "{q:?}: tiers {order:?}");
            if w[0].0 == w[1].0 && w[0].0 < 3 {
                assert!(w[0].1 <= w[1].1, "{q:?}: lengths {order:?}");
            }
        }
        nonempty += usize::from(!want.is_empty());
    }
    assert!(
        nonempty >= 20,
        "the corpus exercises the queries: {nonempty}"
    );
}
