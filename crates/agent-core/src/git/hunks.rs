//! A planned change split into the hunks a reviewer accepts or rejects one by one, and the
//! content that results from keeping only some of them.
//!
//! Hunks are computed with the same line diff and context as the unified diff the user sees
//! ([`super::diff`]), so hunk *n* here is hunk *n* on the screen. Applying a selection walks the
//! old text and takes, for each hunk, either its new lines (accepted) or its old lines
//! (rejected); the context lines inside a hunk are the same on both sides, so any subset of
//! hunks gives a well-formed file.

use std::fmt::Write as _;
use std::ops::Range;

use similar::{ChangeTag, TextDiff};

use crate::edit::FileChange;

/// Lines of context around each hunk (the unified diff's).
const CONTEXT_LINES: usize = 3;

/// One hunk of one file's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// Position in the file's hunks, from 0.
    pub index: usize,
    /// `@@ -a,b +c,d @@`.
    pub header: String,
    /// The hunk's lines, each prefixed with ` `, `-` or `+` (newline-terminated).
    pub body: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    old: Range<usize>,
    new: Range<usize>,
}

/// The hunks of `change` (a created file is one hunk; an unchanged file has none).
pub fn hunks_of(change: &FileChange) -> Vec<Hunk> {
    let before = change.before.as_deref().unwrap_or("");
    let diff = TextDiff::from_lines(before, change.after.as_str());
    let mut out = Vec::new();
    for (index, group) in diff.grouped_ops(CONTEXT_LINES).iter().enumerate() {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        let mut body = String::new();
        let (mut added, mut removed) = (0, 0);
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => {
                        removed += 1;
                        '-'
                    }
                    ChangeTag::Insert => {
                        added += 1;
                        '+'
                    }
                };
                let text = change.value();
                body.push(sign);
                body.push_str(text);
                if !text.ends_with('\n') {
                    body.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
        let mut header = String::new();
        let _ = write!(
            header,
            "@@ -{} +{} @@",
            range_label(&old),
            range_label(&new)
        );
        out.push(Hunk {
            index,
            header,
            body,
            added,
            removed,
            old,
            new,
        });
    }
    out
}

/// `start,len` as a unified diff writes it (1-based; an empty range names the line before).
fn range_label(range: &Range<usize>) -> String {
    let len = range.end - range.start;
    let start = if len == 0 {
        range.start
    } else {
        range.start + 1
    };
    format!("{start},{len}")
}

/// The content of `change` with only the hunks whose index `keep` accepts applied to its old
/// text. All accepted gives `after`, none gives `before` (empty for a created file).
pub fn apply_selected(change: &FileChange, keep: impl Fn(usize) -> bool) -> String {
    let before = change.before.as_deref().unwrap_or("");
    // The lines exactly as the diff cut them: it also ends a line at a lone `\r`, so splitting at
    // `\n` here would disagree with the hunks' line numbers.
    let diff = TextDiff::from_lines(before, change.after.as_str());
    let old_lines: Vec<&str> = (0..diff.old_len())
        .filter_map(|i| diff.old_slice(i))
        .collect();
    let new_lines: Vec<&str> = (0..diff.new_len())
        .filter_map(|i| diff.new_slice(i))
        .collect();
    let mut out = String::with_capacity(change.after.len().max(before.len()));
    let mut cursor = 0;
    for hunk in hunks_of(change) {
        for line in &old_lines[cursor..hunk.old.start] {
            out.push_str(line);
        }
        if keep(hunk.index) {
            for line in &new_lines[hunk.new.clone()] {
                out.push_str(line);
            }
        } else {
            for line in &old_lines[hunk.old.clone()] {
                out.push_str(line);
            }
        }
        cursor = hunk.old.end;
    }
    for line in &old_lines[cursor..] {
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(before: &str, after: &str) -> FileChange {
        FileChange {
            path: "a.txt".into(),
            before: Some(before.into()),
            after: after.into(),
        }
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    /// Found by the `hunks` fuzz target: the diff also ends a line at a lone `\r`, and applying a
    /// selection split lines at `\n` only, so hunk line numbers pointed past the end.
    #[test]
    fn a_lone_carriage_return_ends_a_line_on_both_sides() {
        let c = change("\n\nac\r!!!\u{2}", "\u{1a}c");
        assert_eq!(apply_selected(&c, |_| true), c.after);
        assert_eq!(apply_selected(&c, |_| false), "\n\nac\r!!!\u{2}");
        let c = change("a\rb\nc\r\nd\n", "a\rB\nc\r\nd\n");
        assert_eq!(hunks_of(&c).len(), 1);
        assert_eq!(apply_selected(&c, |_| true), c.after);
        assert_eq!(apply_selected(&c, |_| false), c.before.clone().unwrap());
    }

    #[test]
    fn far_apart_edits_are_separate_hunks_and_any_subset_applies() {
        let before = numbered(40);
        let after = before
            .replace("line 3\n", "line three\n")
            .replace("line 30\n", "line thirty\nline thirty-one-bis\n");
        let c = change(&before, &after);
        let hunks = hunks_of(&c);
        assert_eq!(hunks.len(), 2);
        assert!(hunks[0].body.contains("+line three\n"));
        assert_eq!((hunks[1].added, hunks[1].removed), (2, 1));
        assert_eq!(apply_selected(&c, |_| true), after);
        assert_eq!(apply_selected(&c, |_| false), before);
        let first_only = apply_selected(&c, |i| i == 0);
        assert!(first_only.contains("line three\n") && first_only.contains("line 30\n"));
        let second_only = apply_selected(&c, |i| i == 1);
        assert!(second_only.contains("line 3\n") && second_only.contains("line thirty\n"));
    }

    #[test]
    fn created_file_is_one_hunk() {
        let c = FileChange {
            path: "new.txt".into(),
            before: None,
            after: "a\nb".into(),
        };
        let hunks = hunks_of(&c);
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunks[0].header, "@@ -0,0 +1,2 @@");
        assert!(hunks[0].body.ends_with("\\ No newline at end of file\n"));
        assert_eq!(apply_selected(&c, |_| true), "a\nb");
        assert_eq!(apply_selected(&c, |_| false), "");
    }

    #[test]
    fn headers_match_the_unified_diff() {
        let before = numbered(20);
        let after = before.replace("line 10\n", "ten\n");
        let c = change(&before, &after);
        let diff = super::super::diff::unified_diff(std::slice::from_ref(&c));
        let hunks = hunks_of(&c);
        assert_eq!(hunks.len(), 1);
        assert!(
            diff.contains(&hunks[0].header),
            "{diff}\n{}",
            hunks[0].header
        );
    }
}
