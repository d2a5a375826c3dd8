//! The benchmark harness runs end to end on a tiny corpus and reports every figure the README
//! quotes (the real measurements are `make bench`, in the release build).

use std::process::Command;

#[test]
fn bench_reports_every_figure_on_a_tiny_corpus() {
    let out = Command::new(env!("CARGO_BIN_EXE_skillmeat-bench"))
        .args([
            "--projects",
            "3",
            "--artifacts",
            "20",
            "--runs",
            "1",
            "--latency-samples",
            "2",
            "--burst-files",
            "60",
            "--watch-projects",
            "5",
            "--idle-seconds",
            "1",
        ])
        .output()
        .expect("the benchmark runs");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let num = |key: &str| {
        v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing in {v}"))
    };
    // Times really measured: positive, and under a minute on a corpus this small.
    for key in [
        "cold_refresh_ms",
        "noop_refresh_ms",
        "one_change_refresh_ms",
        "list_projects_ms",
        "get_project_ms",
        "search_p50_ms",
        "search_p95_ms",
        "change_to_cache_p50_ms",
        "change_to_cache_p95_ms",
        "burst_settle_ms",
        "watch_setup_ms",
        "floor_ms",
        "floor_read_hash_ms",
        "floor_store_ms",
        "cold_ratio",
        "cold_ratio_read_hash",
        "cold_per_artifact_us",
        "usage_cold_ms",
        "usage_append_ms",
    ] {
        let x = num(key);
        assert!(x > 0.0 && x < 60_000.0, "{key} = {x}");
    }
    assert!(num("search_p50_ms") <= num("search_p95_ms"));
    // The floor reads every file of the corpus: at least one per artifact.
    assert!(num("floor_files") >= 60.0, "{v}");
    // CPU time: a cold refresh and the listing floor both use some (Unix: getrusage).
    #[cfg(unix)]
    {
        assert!(num("cold_cpu_ms") > 0.0 && num("floor_cpu_ms") > 0.0, "{v}");
        let got = num("cold_cpu_ratio");
        let want = num("cold_cpu_ms") / num("floor_cpu_ms");
        assert!(
            (got - want).abs() <= 0.01 * want.max(1.0),
            "cold_cpu_ratio: {got} vs {want}"
        );
        // The bound: the listing floor, the insert alone on one core, or both floors' CPU
        // time shared by the floor's threads, whichever is longest, over the listing floor.
        assert!(num("floor_store_cpu_ms") > 0.0, "{v}");
        let shared = (num("floor_cpu_ms") + num("floor_store_cpu_ms")) / num("floor_threads");
        let want = num("floor_ms").max(num("floor_store_ms")).max(shared) / num("floor_ms");
        let got = num("cold_ratio_bound");
        assert!(
            (got - want).abs() <= 0.01 * want,
            "cold_ratio_bound: {got} vs {want}"
        );
    }
    for (ratio, floor) in [
        ("cold_ratio", "floor_ms"),
        ("cold_ratio_read_hash", "floor_read_hash_ms"),
    ] {
        let got = num(ratio);
        let want = num("cold_refresh_ms") / num(floor);
        assert!(
            (got - want).abs() <= 0.01 * want.max(1.0),
            "{ratio}: {got} vs {want}"
        );
    }
    assert!(num("change_to_cache_p50_ms") <= num("change_to_cache_p95_ms"));
    // A change reaches the cache after the debounce (50 ms), never before.
    assert!(num("change_to_cache_p50_ms") >= 50.0, "{v}");
    // Sizes: a real database file and a real process.
    assert!(num("db_bytes") > 16_384.0, "{v}");
    for key in ["peak_rss_mb", "idle_rss_mb"] {
        let x = num(key);
        assert!(x > 1.0 && x < 1000.0, "{key} = {x}");
    }
    let cpu = num("idle_cpu_ms_per_min");
    assert!(
        (0.0..60_000.0).contains(&cpu),
        "idle_cpu_ms_per_min = {cpu}"
    );
    assert_eq!(v["projects"], 3);
    // 3 projects × 20 generated artifacts, plus each project's CLAUDE.md (a memory item),
    // plus the local MCP server ~/.claude.json gives projects 0 and 1 (project 2's key
    // points at a deleted folder instead).
    assert_eq!(v["artifacts"], 65);
    assert_eq!(v["claude_json_noise_refreshes"], 0);
    assert_eq!(v["claude_json_gone_keys"], 1);
    assert!(
        v["claude_json_change_p95_ms"]
            .as_f64()
            .is_some_and(|x| x >= 0.0),
        "{v}"
    );
    assert_eq!(v["burst_files"], 60);
    assert_eq!(
        v["burst_lost"], 0,
        "the cache must equal the disk after a burst"
    );
    assert_eq!(v["watch_setup_projects"], 5);
    assert_eq!(v["daemon_exit_ok"], true);
}
