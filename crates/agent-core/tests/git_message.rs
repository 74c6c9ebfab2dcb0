//! The commit message convention: built messages validate, bad messages are caught.

use std::collections::BTreeMap;

use aidx_agent_core::edit::FileChange;
use aidx_agent_core::git::{CommitIntent, CommitMessage, CommitType, validate_commit_message};

fn change(path: &str, before: Option<&str>, after: &str) -> FileChange {
    FileChange {
        path: path.into(),
        before: before.map(Into::into),
        after: after.into(),
    }
}

const GOOD: &str = "fix(parser): handle empty input\n\n- Fixed: `src/parser.rs` — empty input no longer panics\n\nPlan: artifacts/plan.md\nRefs: R1\nAidx-Run: abc\n";

#[test]
fn a_good_message_validates() {
    validate_commit_message(GOOD, Some(&["src/parser.rs".to_string()])).unwrap();
}

#[test]
fn bad_messages_are_rejected_with_a_reason() {
    let cases: [(&str, &str); 10] = [
        (
            "Fix the parser\n\n- Fixed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "no `: `",
        ),
        (
            "fixes: parser\n\n- Fixed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "not a Conventional Commits type",
        ),
        (
            "fix(Parser): x\n\n- Fixed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "must be lowercase",
        ),
        (
            "fix: handle it.\n\n- Fixed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "ends with a period",
        ),
        (
            "fix: x\n- Fixed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "second line must be blank",
        ),
        (
            "fix: x\n\nsome prose only\n\nPlan: p\nRefs: r\n",
            "one bullet per changed file",
        ),
        (
            "fix: x\n\n- Changed: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "not a bullet verb",
        ),
        (
            "fix: x\n\n- Fixed: a.rs — x\n\nPlan: p\nRefs: r\n",
            "in backticks",
        ),
        (
            "fix: x\n\n- Fixed: `a.rs` — x\n\nRefs: r\n",
            "`Plan:` trailer",
        ),
        (
            "refactor: x\n\n- Refactored: `a.rs` — x\n\nPlan: p\nRefs: r\n",
            "ArchTag",
        ),
    ];
    for (message, expected) in cases {
        let problems = validate_commit_message(message, None).expect_err(message);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.contains(expected)),
            "{message:?}: {text:?}"
        );
    }
}

#[test]
fn breaking_and_perf_need_a_known_arch_tag() {
    let breaking =
        "feat!: drop v1 api\n\n- Deleted: `api/v1.rs` — v1 is gone\n\nPlan: p\nRefs: r\n";
    assert!(validate_commit_message(breaking, None).is_err());
    let tagged = "feat!: drop v1 api\n\nArchTag:DEPRECATION-PLANNED\n- Deleted: `api/v1.rs` — v1 is gone\n\nPlan: p\nRefs: r\n";
    validate_commit_message(tagged, None).unwrap();
    let unknown = "perf: faster\n\nArchTag:GO-FAST\n- Updated: `a.rs` — x\n\nPlan: p\nRefs: r\n";
    let problems = validate_commit_message(unknown, None).unwrap_err();
    assert!(
        problems[0]
            .to_string()
            .contains("unknown ArchTag `GO-FAST`")
    );
}

#[test]
fn bullets_must_match_the_changed_files() {
    let files = ["src/parser.rs".to_string(), "src/lexer.rs".to_string()];
    let problems = validate_commit_message(GOOD, Some(&files)).unwrap_err();
    assert!(problems.iter().any(|p| {
        p.to_string()
            .contains("no bullet names the changed file `src/lexer.rs`")
    }));
    let problems = validate_commit_message(GOOD, Some(&["other.rs".to_string()])).unwrap_err();
    assert!(problems.iter().any(|p| {
        p.to_string()
            .contains("names a file this commit does not change")
    }));
}

#[test]
fn build_is_deterministic_and_repairs_the_intent() {
    let mut intent = CommitIntent::new(
        CommitType::Perf,
        "  speed up the repository map builder by caching parsed trees between runs and skipping unchanged files.  ",
    );
    intent.scope = Some("Repo Map".into());
    intent.arch_tag = Some("not-a-tag".into());
    intent.refs = vec!["R2".into(), "R7".into()];
    intent.file_notes = BTreeMap::from([(
        "src/cache.rs".to_string(),
        "cache\nparsed trees".to_string(),
    )]);
    let changes = [
        change("src/map.rs", Some("a\n"), "b\n"),
        change("src/cache.rs", None, "c\n"),
    ];
    let first = CommitMessage::build(&intent, &changes, "run-9").render();
    let second = CommitMessage::build(&intent, &changes, "run-9").render();
    assert_eq!(first, second);
    let header = first.lines().next().unwrap();
    assert!(
        header.starts_with("perf(repo-map): speed up the repository map"),
        "{header}"
    );
    assert!(header.chars().count() <= 72, "{header}");
    assert!(!header.ends_with('.'));
    let expected_body = "\n\nArchTag:PERF-OPTIMIZATION\n\
        - Created: `src/cache.rs` — cache parsed trees\n\
        - Updated: `src/map.rs` — ";
    assert!(first.contains(expected_body), "{first}");
    assert!(
        first.ends_with("\n\nPlan: artifacts/plan.md\nRefs: R2, R7\nAidx-Run: run-9\n"),
        "{first}"
    );
    validate_commit_message(
        &first,
        Some(&["src/cache.rs".to_string(), "src/map.rs".to_string()]),
    )
    .unwrap();
}
