//! Syntax errors as tree-sitter sees them, for checking an edit before it is written.
//!
//! tree-sitter recovers from errors by wrapping what it could not parse in `ERROR` nodes and by
//! inserting zero-width `MISSING` nodes for tokens it expected. Both are reported here with their
//! position. Grammars lag behind their languages, so a caller should compare a file's issues
//! before and after an edit rather than trust an absolute count.

use std::time::Duration;

use crate::extract::{Budget, SkipReason, parse};
use crate::lang::Lang;

/// One place tree-sitter could not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxIssue {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
    /// For a missing token, its kind (e.g. `)` or `;`); `None` for text that does not parse.
    pub missing: Option<String>,
}

/// The syntax errors in `source`, in document order; empty when it parses cleanly. Gives up with
/// [`SkipReason::TimedOut`] after `limit` of CPU time, like tag extraction.
pub fn syntax_issues(
    lang: Lang,
    source: &str,
    limit: Duration,
) -> Result<Vec<SyntaxIssue>, SkipReason> {
    let budget = Budget::start(limit);
    let tree = parse(lang, source, &budget)?;
    let mut issues = Vec::new();
    let root = tree.root_node();
    if !root.has_error() {
        return Ok(issues);
    }
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            let at = node.start_position();
            issues.push(SyntaxIssue {
                line: at.row as u32 + 1,
                column: at.column as u32 + 1,
                missing: node.is_missing().then(|| node.kind().to_string()),
            });
        }
        // Only subtrees with an error below them are entered; an ERROR's own children may hold
        // further MISSING nodes, which would report one problem twice.
        if !node.is_error() && node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Ok(issues);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(5);

    #[test]
    fn clean_code_has_no_issues() {
        let ok = "def add(a, b):\n    return a + b\n";
        assert_eq!(syntax_issues(Lang::Python, ok, LIMIT).unwrap(), vec![]);
        let ok = "fn main() { let x = 1; }\n";
        assert_eq!(syntax_issues(Lang::Rust, ok, LIMIT).unwrap(), vec![]);
    }

    #[test]
    fn prose_in_code_and_missing_tokens_are_found_with_their_lines() {
        let broken = "def add(a, b):\n    return a + b\n\nThe function adds two numbers.\n";
        let issues = syntax_issues(Lang::Python, broken, LIMIT).unwrap();
        assert!(!issues.is_empty());
        assert_eq!(issues[0].line, 4, "{issues:?}");

        let missing = "fn main() {\n    let x = (1 + 2;\n}\n";
        let issues = syntax_issues(Lang::Rust, missing, LIMIT).unwrap();
        assert!(
            issues.iter().any(|i| i.line == 2),
            "the unclosed parenthesis is on line 2: {issues:?}"
        );
    }
}
