//! Hunk-by-hunk review: a change split into the hunks the user accepts or rejects, the content
//! that results from any selection, and the unified diff shown. Input: `before \0 after` (no
//! NUL: a created file). All accepted must give `after`, none `before`, and any selection a file
//! made only of lines of the two. (Not: a selection's own diff has at most as many hunks as were
//! accepted. A re-diff may align repeated lines differently; the fuzzer found such a case.)
#![no_main]

use aidx_agent_core::edit::FileChange;
use aidx_agent_core::git::{apply_selected, hunks_of, unified_diff};
use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mask, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (before, after) = match text.split_once('\0') {
        Some((before, after)) => (Some(before.to_string()), after.to_string()),
        None => (None, text.to_string()),
    };
    let change = FileChange {
        path: "src/lib.rs".into(),
        before: before.clone(),
        after: after.clone(),
    };
    let _ = unified_diff(std::slice::from_ref(&change));
    let hunks = hunks_of(&change);
    assert_eq!(
        apply_selected(&change, |_| true),
        after,
        "all hunks accepted"
    );
    assert_eq!(
        apply_selected(&change, |_| false),
        before.clone().unwrap_or_default(),
        "no hunk accepted"
    );
    let keep = |i: usize| mask >> (i % 8) & 1 == 1;
    let partial = apply_selected(&change, keep);
    let known: HashSet<&str> = pieces(before.as_deref().unwrap_or(""))
        .chain(pieces(&after))
        .collect();
    for piece in pieces(&partial) {
        assert!(
            known.contains(piece),
            "{piece:?} is in neither version ({} hunks)",
            hunks.len()
        );
    }
});

/// A text's lines without their endings (`\n`, `\r\n` or a lone `\r`, as the diff cuts them).
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', '\r'])
}
