//! Planned changes as a git-style unified diff, and its coloured rendering.
//!
//! The diff produced here is what the user reviews *and* what libgit2 applies, so it must be a
//! patch git understands: `diff --git` headers, `new file mode` for created files, and
//! `\ No newline at end of file` markers.

use std::fmt::Write as _;

use similar::TextDiff;

use crate::edit::FileChange;

/// Lines of context around each hunk.
const CONTEXT_LINES: usize = 3;

/// Renders `changes` as one git-style unified diff (empty when nothing changes).
///
/// Without file modes the patch carries no `index` lines; git then treats modified files as
/// regular (non-executable) files. Use [`unified_diff_with_modes`] to keep modes.
pub fn unified_diff(changes: &[FileChange]) -> String {
    unified_diff_with_modes(changes, |_| None)
}

/// Like [`unified_diff`], with each existing file's git mode (`0o100644`, `0o100755`) from
/// `mode_of`, written on an `index <old>..<new> <mode>` line so applying the patch keeps it.
pub fn unified_diff_with_modes(
    changes: &[FileChange],
    mode_of: impl Fn(&str) -> Option<u32>,
) -> String {
    let mut out = String::new();
    for change in changes {
        let before = change.before.as_deref().unwrap_or("");
        if before == change.after && change.before.is_some() {
            continue;
        }
        let path = &change.path;
        let _ = writeln!(out, "diff --git a/{path} b/{path}");
        let (old_header, new_header) = match change.before {
            None => {
                out.push_str("new file mode 100644\n");
                ("/dev/null".to_string(), format!("b/{path}"))
            }
            Some(_) => {
                if let Some(mode) = mode_of(path) {
                    let _ = writeln!(
                        out,
                        "index {}..{} {mode:o}",
                        short_blob_id(before),
                        short_blob_id(&change.after)
                    );
                }
                (format!("a/{path}"), format!("b/{path}"))
            }
        };
        if change.before.is_none() && change.after.is_empty() {
            // An empty new file has no hunk; git still needs the header lines.
            continue;
        }
        let diff = TextDiff::from_lines(before, change.after.as_str());
        let text = diff
            .unified_diff()
            .context_radius(CONTEXT_LINES)
            .missing_newline_hint(true)
            .header(&old_header, &new_header)
            .to_string();
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The abbreviated git blob id of `content`.
fn short_blob_id(content: &str) -> String {
    match git2::Oid::hash_object(git2::ObjectType::Blob, content.as_bytes()) {
        Ok(oid) => oid.to_string()[..7].to_string(),
        Err(_) => "0000000".to_string(),
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";

/// Colours a unified diff with ANSI escapes: headers bold, hunk headers cyan, removed lines
/// red, added lines green.
pub fn render_colored(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + diff.len() / 4);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let colour = if body.starts_with("diff --git")
            || body.starts_with("--- ")
            || body.starts_with("+++ ")
            || body.starts_with("new file mode")
            || body.starts_with("index ")
            || body.starts_with("deleted file mode")
        {
            Some(BOLD)
        } else if body.starts_with("@@") {
            Some(CYAN)
        } else if body.starts_with('+') {
            Some(GREEN)
        } else if body.starts_with('-') {
            Some(RED)
        } else {
            None
        };
        match colour {
            Some(c) => {
                let _ = write!(out, "{c}{body}{RESET}{newline}");
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_added_removed_and_hunk_lines() {
        let diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n";
        let coloured = render_colored(diff);
        assert!(coloured.contains("\x1b[31m-old\x1b[0m\n"));
        assert!(coloured.contains("\x1b[32m+new\x1b[0m\n"));
        assert!(coloured.contains("\x1b[36m@@ -1 +1 @@\x1b[0m\n"));
        assert!(coloured.contains("\x1b[1m+++ b/x\x1b[0m\n"));
        assert!(coloured.ends_with(" same\n"));
    }

    #[test]
    fn unchanged_files_produce_no_diff() {
        let same = FileChange {
            path: "a".into(),
            before: Some("x\n".into()),
            after: "x\n".into(),
        };
        assert_eq!(unified_diff(&[same]), "");
    }
}
