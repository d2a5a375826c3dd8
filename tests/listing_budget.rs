//! The skill listing budget as a problem with its fix. Source for the rule:
//! https://code.claude.com/docs/en/skills — skill names and descriptions are listed within a
//! character budget (1 % of the context window, fallback 8,000 characters; the environment
//! variable SLASH_COMMAND_TOOL_CHAR_BUDGET replaces it); each description (with `when_to_use`)
//! is cut at `skillListingMaxDescChars` (default 1,536); past the budget, descriptions are
//! dropped; `disable-model-invocation: true` keeps a skill out of the listing.

mod common;

use common::{ProjectDir, TestEnv};
use skillmeat_cache::CacheManager;
use skillmeat_cache::refresh::refresh_now;

fn problems(m: &CacheManager, p: &ProjectDir) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = m
        .problems(Some(&p.key()))
        .unwrap()
        .into_iter()
        .map(|x| (x.artifact.name, x.problem))
        .collect();
    v.sort();
    v
}

#[test]
fn a_listing_past_its_budget_is_a_problem_that_goes_away_below_it() {
    let env = TestEnv::new();
    let p = env.project("many");
    // A 300-character budget for this project, set for Claude Code in the settings' env.
    p.write(
        ".claude/settings.json",
        r#"{"env": {"SLASH_COMMAND_TOOL_CHAR_BUDGET": "300"}}"#,
    );
    // Entries: name + description + 5 ("- ", ": ", newline).
    // a: 1 + 100 + 5 = 106; b: 1 + 150 + 5 = 156; c: 1 + 20 + 5 = 26; total 288 ≤ 300.
    p.skill("a", "a", &"x".repeat(100));
    p.skill("b", "b", &"y".repeat(150));
    p.skill("c", "c", &"z".repeat(20));
    // Kept out of the listing: would add 1 + 200 + 5 if it counted.
    p.skill_with(
        "quiet",
        &format!(
            "name: quiet\ndescription: {}\ndisable-model-invocation: true",
            "q".repeat(200)
        ),
        "Only by hand.",
    );
    let m = env.open();
    refresh_now(&m, true).unwrap();
    assert_eq!(problems(&m, &p), vec![]);

    // b grows to 170: 106 + 176 + 26 = 308 > 300. Dropping b's description (the longest)
    // brings it to 138: b is flagged.
    p.skill("b", "b", &"y".repeat(170));
    refresh_now(&m, true).unwrap();
    assert_eq!(
        problems(&m, &p),
        vec![("b".to_string(), "listing_over_budget".to_string())]
    );
    let c = m.project_cost(&p.key()).unwrap();
    assert_eq!((c.listing_chars, c.listing_budget), (308, 300));
    let detail = m.problems(Some(&p.key())).unwrap()[0].detail.clone();
    assert!(detail.contains("308") && detail.contains("300"), "{detail}");

    // Back to 150: under budget, the problem is gone.
    p.skill("b", "b", &"y".repeat(150));
    refresh_now(&m, true).unwrap();
    assert_eq!(problems(&m, &p), vec![]);
}

#[test]
fn a_description_past_the_cap_is_cut() {
    let env = TestEnv::new();
    let p = env.project("long");
    p.skill("short", "short", "Fits");
    // The default cap is 1,536 characters.
    p.skill("long", "long", &"w".repeat(1537));
    p.skill("edge", "edge", &"v".repeat(1536));
    let m = env.open();
    refresh_now(&m, true).unwrap();
    assert_eq!(
        problems(&m, &p),
        vec![("long".to_string(), "description_cut".to_string())]
    );
    // A lower cap in the settings cuts more.
    p.write(
        ".claude/settings.json",
        r#"{"skillListingMaxDescChars": 3}"#,
    );
    p.skill("short", "short", "Fits!");
    refresh_now(&m, true).unwrap();
    let got = problems(&m, &p);
    assert!(
        got.contains(&("short".to_string(), "description_cut".to_string())),
        "{got:?}"
    );
}
