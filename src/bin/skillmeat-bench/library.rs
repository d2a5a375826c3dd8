//! The library figures: the first page of the library (each sort, and drifted only), `where`
//! for names drawn from it, and one project's cost; p50 and p95 over many calls each.

use serde_json::{Map, Value, json};
use skillmeat_cache::CacheManager;
use skillmeat_cache::library::{LibraryQuery, LibrarySort};
use skillmeat_cache::model::Project;
use std::time::Instant;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Times `calls` calls of each read and returns `library_first_page_ms`, `where_ms` and
/// `cost_one_project_ms` (each `{p50, p95}`), with the library's size.
pub fn measure(
    m: &CacheManager,
    projects: &[Project],
    calls: usize,
) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let sorts = [
        LibrarySort::Copies,
        LibrarySort::Variants,
        LibrarySort::Cost,
        LibrarySort::Name,
    ];
    let mut first = Vec::new();
    let mut names = Vec::new();
    let mut total = 0;
    for i in 0..calls {
        let q = LibraryQuery {
            sort: sorts[i % sorts.len()],
            drifted_only: i % 5 == 4,
            ..Default::default()
        };
        let t = Instant::now();
        let page = m.library(&q)?;
        first.push(ms(t));
        if !q.drifted_only {
            total = page.total;
        }
        if names.len() < 200 {
            names.extend(page.items.iter().map(|e| e.name.clone()));
        }
    }
    // Names from every part of the library: the first pages and some deeper ones.
    for skip in [1000u64, 5000, 20000] {
        let page = m.library(&LibraryQuery {
            sort: LibrarySort::Name,
            skip,
            ..Default::default()
        })?;
        names.extend(page.items.into_iter().map(|e| e.name));
    }
    names.dedup();
    let mut where_ms = Vec::new();
    for i in 0..calls {
        let Some(name) = names.get(i % names.len().max(1)) else {
            break;
        };
        let t = Instant::now();
        let w = m.where_is(name, None)?;
        where_ms.push(ms(t));
        if w.is_empty() {
            return Err(format!("where {name} found nothing").into());
        }
    }
    let mut cost = Vec::new();
    for i in 0..calls {
        let p = &projects[(i * 13) % projects.len()];
        let t = Instant::now();
        let c = m.project_cost(&p.id)?;
        cost.push(ms(t));
        if c.total_tokens != p.context_tokens {
            return Err(format!(
                "cost of {} is {} but the project list says {}",
                p.path, c.total_tokens, p.context_tokens
            )
            .into());
        }
    }
    let mut out = Map::new();
    out.insert("library_identities".into(), json!(total));
    for (key, mut v) in [
        ("library_first_page_ms", first),
        ("where_ms", where_ms),
        ("cost_one_project_ms", cost),
    ] {
        out.insert(
            key.into(),
            json!({ "p50": super::percentile(&mut v.clone(), 0.5), "p95": super::percentile(&mut v, 0.95) }),
        );
    }
    Ok(out)
}
