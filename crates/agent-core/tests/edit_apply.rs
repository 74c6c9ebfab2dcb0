//! Applying blocks in memory: each strategy, each failure, and the transaction rules.

use std::collections::HashMap;

use aidx_agent_core::edit::{
    EditBlock, FailureReason, MatchError, MatchStrategy, WholeFile, plan_edits, plan_whole_files,
    reflection_message,
};

fn files(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

fn reader(
    fs: &HashMap<String, String>,
) -> impl FnMut(&str) -> std::io::Result<Option<String>> + '_ {
    |path| Ok(fs.get(path).cloned())
}

fn apply_one(
    content: &str,
    search: &str,
    replace: &str,
) -> (Option<String>, Vec<(usize, MatchStrategy)>) {
    let fs = files(&[("f.rs", content)]);
    let outcome = plan_edits(&[EditBlock::new("f.rs", search, replace)], reader(&fs));
    (
        outcome.changes.first().map(|c| c.after.clone()),
        outcome.applied,
    )
}

#[test]
fn exact_match() {
    let (after, applied) = apply_one("a\nb\nc\n", "b\n", "B\n");
    assert_eq!(after.as_deref(), Some("a\nB\nc\n"));
    assert_eq!(applied, vec![(0, MatchStrategy::Exact)]);
}

#[test]
fn indentation_tolerant_match_reindents_the_replacement() {
    let content = "impl X {\n    fn f() {\n        one();\n    }\n}\n";
    // The model dropped the indentation of the whole section.
    let (after, applied) = apply_one(
        content,
        "fn f() {\n    one();\n}\n",
        "fn f() {\n    two();\n}\n",
    );
    assert_eq!(
        after.as_deref(),
        Some("impl X {\n    fn f() {\n        two();\n    }\n}\n")
    );
    assert_eq!(applied[0].1, MatchStrategy::IndentationTolerant);
}

#[test]
fn trailing_whitespace_differences_are_tolerated() {
    let (after, applied) = apply_one("x = 1   \ny = 2\n", "x = 1\n", "x = 3\n");
    assert_eq!(after.as_deref(), Some("x = 3\ny = 2\n"));
    assert_eq!(applied[0].1, MatchStrategy::IndentationTolerant);
}

#[test]
fn blank_line_tolerant_match() {
    let content = "def f():\n    a = 1\n\n    b = 2\n    return a + b\n";
    let (after, applied) = apply_one(
        content,
        "    a = 1\n    b = 2\n",
        "    a = 10\n    b = 20\n",
    );
    assert_eq!(
        after.as_deref(),
        Some("def f():\n    a = 10\n    b = 20\n    return a + b\n")
    );
    assert_eq!(applied[0].1, MatchStrategy::BlankLineTolerant);
}

#[test]
fn elision_applies_each_piece() {
    let content = "fn a() {\n    1\n}\n\nfn b() {\n    2\n}\n\nfn c() {\n    3\n}\n";
    let search = "fn a() {\n    1\n...\n    3\n}\n";
    let replace = "fn a() {\n    100\n...\n    300\n}\n";
    let (after, applied) = apply_one(content, search, replace);
    assert_eq!(
        after.as_deref(),
        Some("fn a() {\n    100\n}\n\nfn b() {\n    2\n}\n\nfn c() {\n    300\n}\n")
    );
    assert_eq!(applied[0].1, MatchStrategy::Elision);
}

#[test]
fn elision_pieces_must_pair_up() {
    let fs = files(&[("f.rs", "a\nb\nc\n")]);
    let outcome = plan_edits(
        &[EditBlock::new("f.rs", "a\n...\nc\n", "A\nC\n")],
        reader(&fs),
    );
    assert_eq!(
        outcome.failures[0].reason,
        FailureReason::Match(MatchError::ElisionMismatch)
    );
}

#[test]
fn ambiguous_match_is_an_error_not_a_guess() {
    let fs = files(&[("f.rs", "x();\ny();\nx();\n")]);
    let outcome = plan_edits(&[EditBlock::new("f.rs", "x();\n", "z();\n")], reader(&fs));
    assert!(!outcome.is_complete());
    assert_eq!(
        outcome.failures[0].reason,
        FailureReason::Match(MatchError::Ambiguous { lines: vec![1, 3] })
    );
    assert!(outcome.changes.is_empty());
}

#[test]
fn ambiguity_under_a_tolerant_strategy_is_also_an_error() {
    let fs = files(&[("f.rs", "    x();\n        x();\n")]);
    let outcome = plan_edits(&[EditBlock::new("f.rs", "x();\n", "z();\n")], reader(&fs));
    assert!(matches!(
        outcome.failures[0].reason,
        FailureReason::Match(MatchError::Ambiguous { .. })
    ));
}

#[test]
fn empty_search_creates_a_new_file() {
    let fs = files(&[]);
    let outcome = plan_edits(
        &[EditBlock::new("new/mod.rs", "", "pub fn x() {}\n")],
        reader(&fs),
    );
    assert!(outcome.is_complete());
    assert_eq!(outcome.changes[0].before, None);
    assert_eq!(outcome.changes[0].after, "pub fn x() {}\n");
    assert_eq!(outcome.applied, vec![(0, MatchStrategy::CreateFile)]);
}

#[test]
fn empty_search_on_an_existing_file_fails() {
    let fs = files(&[("f.rs", "content\n")]);
    let outcome = plan_edits(&[EditBlock::new("f.rs", "", "x\n")], reader(&fs));
    assert_eq!(
        outcome.failures[0].reason,
        FailureReason::EmptySearchOnExistingFile
    );
}

#[test]
fn search_in_a_missing_file_fails() {
    let fs = files(&[]);
    let outcome = plan_edits(&[EditBlock::new("nope.rs", "a\n", "b\n")], reader(&fs));
    assert_eq!(outcome.failures[0].reason, FailureReason::FileMissing);
}

#[test]
fn blocks_apply_in_sequence_on_the_same_file() {
    let fs = files(&[("f.rs", "a\n")]);
    let blocks = [
        EditBlock::new("f.rs", "a\n", "b\n"),
        EditBlock::new("f.rs", "b\n", "c\n"),
    ];
    let outcome = plan_edits(&blocks, reader(&fs));
    assert!(outcome.is_complete());
    assert_eq!(outcome.changes.len(), 1);
    assert_eq!(outcome.changes[0].after, "c\n");
}

#[test]
fn one_failed_block_is_reported_with_closest_lines_and_the_blocks_that_matched() {
    let fs = files(&[
        ("a.py", "def f():\n    return 1\n"),
        ("b.py", "def g(x):\n    total = x + 1\n    return total\n"),
    ]);
    let blocks = [
        EditBlock::new("a.py", "    return 1\n", "    return 2\n"),
        EditBlock::new(
            "b.py",
            "def g(x):\n    total = x + 2\n",
            "def g(x):\n    total = x + 3\n",
        ),
    ];
    let outcome = plan_edits(&blocks, reader(&fs));
    assert!(!outcome.is_complete());
    assert_eq!(outcome.applied, vec![(0, MatchStrategy::Exact)]);
    let failure = &outcome.failures[0];
    assert_eq!(failure.index, 1);
    assert_eq!(failure.reason, FailureReason::Match(MatchError::NotFound));
    let closest = failure.closest.as_ref().expect("closest lines");
    assert_eq!(closest.start_line, 1);
    assert_eq!(closest.text, "def g(x):\n    total = x + 1\n");

    let message = reflection_message(&outcome, blocks.len()).unwrap();
    assert!(
        message.contains("1 of 2 SEARCH/REPLACE blocks failed"),
        "{message}"
    );
    assert!(message.contains("## Block 2 failed in b.py"), "{message}");
    assert!(message.contains("    total = x + 1\n"), "{message}");
    assert!(message.contains("do not send them again: 1."), "{message}");
    assert!(
        message.contains("<<<<<<< SEARCH\ndef g(x):\n    total = x + 2\n=======\n"),
        "{message}"
    );
}

#[test]
fn reader_errors_fail_the_block() {
    let blocks = [EditBlock::new("../etc/passwd", "a\n", "b\n")];
    let outcome = plan_edits(&blocks, |_path: &str| {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "outside the repository",
        ))
    });
    assert_eq!(
        outcome.failures[0].reason,
        FailureReason::Unreadable("outside the repository".into())
    );
}

#[test]
fn no_reflection_when_everything_applied() {
    let fs = files(&[("f.rs", "a\n")]);
    let outcome = plan_edits(&[EditBlock::new("f.rs", "a\n", "b\n")], reader(&fs));
    assert_eq!(reflection_message(&outcome, 1), None);
}

#[test]
fn whole_files_replace_content() {
    let fs = files(&[("f.rs", "old\n")]);
    let outcome = plan_whole_files(
        &[
            WholeFile {
                path: "f.rs".into(),
                content: "new\n".into(),
            },
            WholeFile {
                path: "g.rs".into(),
                content: "g\n".into(),
            },
        ],
        reader(&fs),
    );
    assert!(outcome.is_complete());
    assert_eq!(outcome.changes.len(), 2);
    assert_eq!(outcome.changes[0].after, "new\n");
    assert_eq!(outcome.changes[1].before, None);
}

#[test]
fn an_exact_repeat_of_an_applied_block_is_skipped_not_failed() {
    // SmolLM2 in the demo wrote the same block twice; the second SEARCH no longer matches.
    let fs = files(&[("calc.py", "def add(a, b):\n    return a + b\n")]);
    let block = EditBlock::new(
        "calc.py",
        "def add(a, b):\n    return a + b\n",
        "def mul(a, b):\n    return a * b\n",
    );
    let outcome = plan_edits(&[block.clone(), block.clone()], reader(&fs));
    assert!(outcome.is_complete(), "{:?}", outcome.failures);
    assert_eq!(
        outcome.applied,
        vec![(0, MatchStrategy::Exact), (1, MatchStrategy::Duplicate)]
    );
    assert_eq!(
        outcome.changes[0].after,
        "def mul(a, b):\n    return a * b\n"
    );

    // A repeat of a block that failed is still a failure (nothing was applied to repeat).
    let missing = EditBlock::new("calc.py", "nope\n", "x\n");
    let outcome = plan_edits(&[missing.clone(), missing], reader(&fs));
    assert_eq!(outcome.failures.len(), 2);
}
