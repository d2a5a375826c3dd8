//! Search on a query so broad that BM25 ranks only name and tag matches: every match is still
//! found exactly once across pages, name matches come first, and the total is exact.

use skillmeat_cache::corpus::{self, CorpusSpec};
use skillmeat_cache::refresh::refresh_now;
use skillmeat_cache::{CacheManager, Config, SearchQuery};
use std::collections::HashSet;

#[test]
fn a_broad_query_pages_through_every_match_once_in_tier_order() {
    let tmp = tempfile::tempdir().unwrap();
    let c = corpus::generate(
        tmp.path(),
        &CorpusSpec {
            projects: 120,
            artifacts: 60,
            seed: 9,
        },
    )
    .unwrap();
    let mut cfg = Config::defaults_for_home(tmp.path());
    cfg.db_path = tmp.path().join("cache.db");
    cfg.roots = vec![c.root.clone()];
    cfg.include_user_scope = false;
    cfg.collections_dir = c.collections_dir.clone();
    let m = CacheManager::open(cfg).unwrap();
    refresh_now(&m, false).unwrap();

    // "r" is a prefix of many vocabulary words: far more matches than the broad threshold.
    let first = m
        .search(&SearchQuery {
            text: "r".into(),
            limit: Some(100),
            ..Default::default()
        })
        .unwrap();
    assert!(first.total > 5_000, "not broad enough: {}", first.total);

    let mut seen = HashSet::new();
    let mut last_tier = 0u8;
    let mut skip = 0u64;
    loop {
        let page = m
            .search(&SearchQuery {
                text: "r".into(),
                skip,
                limit: Some(500),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            page.total, first.total,
            "the total is the same on every page"
        );
        if page.items.is_empty() {
            break;
        }
        for h in &page.items {
            assert!(
                h.tier >= last_tier,
                "tiers never go back: {} after {last_tier}",
                h.tier
            );
            last_tier = h.tier;
            assert!(
                seen.insert((
                    h.artifact.project.clone(),
                    h.artifact.path.clone(),
                    h.artifact.kind
                )),
                "{} returned twice",
                h.artifact.path
            );
        }
        skip += page.items.len() as u64;
    }
    assert_eq!(seen.len() as u64, first.total, "every match exactly once");
    // Name matches ("r" in the name) come before description-only matches.
    assert!(first.items.iter().take(10).all(|h| h.tier <= 2));
}
