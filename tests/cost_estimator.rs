//! The context-cost estimator against a real tokenizer: `estimate_tokens` (bytes / 4, rounded
//! up) compared with OpenAI's o200k_base and cl100k_base (the `tiktoken-rs` crate; Anthropic
//! publishes no tokenizer crate) on a fixed sample of real Markdown (the project's design
//! documents, copied into `tests/fixtures/estimator/` so the figures are reproducible) and
//! listing lines. Prints the measured error (`cargo test --test cost_estimator --
//! --nocapture`); the README states it.

use skillmeat_cache::cost::estimate_tokens;
use std::path::{Path, PathBuf};

fn sample() -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = Vec::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/estimator");
    for dir in [fixtures.as_path()] {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "md"))
                .collect();
            v.sort();
            files.extend(v);
        }
    }
    let mut out = Vec::new();
    for f in files {
        if let Ok(t) = std::fs::read_to_string(&f) {
            out.push((f.display().to_string(), t));
        }
    }
    // Listing lines as the cost counts them for skills, agents and commands.
    for (name, desc) in [
        ("pdf", "Extract text and tables from PDF files"),
        (
            "code-reviewer",
            "Use after writing code to review it for bugs, style and tests",
        ),
        ("deploy", "Ship the build to production"),
        (
            "git:commit",
            "Create a conventional commit from the staged changes",
        ),
    ] {
        out.push((
            format!("listing {name}"),
            skillmeat_cache::cost::listing_line(name, desc, 1536),
        ));
    }
    out
}

#[test]
fn estimator_error_against_a_real_tokenizer_is_measured_and_bounded() {
    let sample = sample();
    assert!(sample.len() >= 6, "too small a sample");
    for (label, bpe) in [
        ("o200k_base", tiktoken_rs::o200k_base().expect("o200k")),
        ("cl100k_base", tiktoken_rs::cl100k_base().expect("cl100k")),
    ] {
        let (mut est_sum, mut real_sum, mut abs_rel_sum, mut worst) = (0u64, 0u64, 0f64, 0f64);
        let mut doc_count = 0usize;
        for (name, text) in &sample {
            let real = bpe.encode_with_special_tokens(text).len() as u64;
            let est = u64::from(estimate_tokens(text.len() as u64));
            if real == 0 {
                continue;
            }
            let rel = (est as f64 - real as f64) / real as f64;
            println!(
                "{label} {name}: bytes {} real {real} est {est} ({:+.1}%)",
                text.len(),
                rel * 100.0
            );
            est_sum += est;
            real_sum += real;
            abs_rel_sum += rel.abs();
            worst = worst.max(rel.abs());
            doc_count += 1;
        }
        let total_rel = (est_sum as f64 - real_sum as f64) / real_sum as f64;
        let mean_abs = abs_rel_sum / doc_count as f64;
        println!(
            "{label}: {doc_count} texts, total real {real_sum} est {est_sum} ({:+.1}% overall), mean |error| {:.1}%, worst {:.1}%",
            total_rel * 100.0,
            mean_abs * 100.0,
            worst * 100.0
        );
        // The bound the README states: within ±35 % per text and ±25 % overall.
        assert!(total_rel.abs() < 0.25, "{label}: overall error {total_rel}");
        assert!(worst < 0.35, "{label}: worst error {worst}");
    }
}
