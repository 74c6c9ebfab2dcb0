//! The syntax check of planned edits: a change that leaves a file with more tree-sitter syntax
//! errors than it had is sent back to the Editor before anything is written.
//!
//! Counts are compared, not taken absolutely: grammars lag behind their languages, so a file that
//! already had "errors" (new syntax, macros) only fails when the edit adds more. For C and C++
//! the result is advisory ([`SyntaxRegression::blocking`] is false): tree-sitter finds errors in
//! 55 % of the valid C files and 24 % of the C++ files in a cargo registry (macros, C++ in `.h`),
//! against 0.8 % of the Rust files, so new "errors" there are too often the grammar's.

use std::path::Path;
use std::time::Duration;

use aidx_repo_map::{Lang, SyntaxIssue, syntax_issues};

use super::apply::FileChange;

/// CPU time allowed for parsing one version of one file; a file that takes longer is not checked.
const PARSE_LIMIT: Duration = Duration::from_secs(2);

/// A file an edit leaves with more syntax errors than it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxRegression {
    /// Repository-relative path.
    pub path: String,
    /// The errors in the edited text, in document order.
    pub issues: Vec<SyntaxIssue>,
    /// How many errors the file had before the edit (0 for a new file).
    pub before: usize,
    /// The edited text, to quote the offending lines.
    pub after: String,
    /// Whether the grammar is trusted enough to send the edit back (false for C and C++: then
    /// the errors are only reported).
    pub blocking: bool,
}

impl SyntaxRegression {
    /// One line per line with issues (at most `max`), quoting it: `line N does not parse: …` or
    /// `line N is missing ")": …`.
    pub fn describe(&self, max: usize) -> Vec<String> {
        let lines: Vec<&str> = self.after.lines().collect();
        // Issues come in document order, so those of one line are neighbours.
        self.issues
            .iter()
            .enumerate()
            .filter(|(i, issue)| *i == 0 || self.issues[i - 1].line != issue.line)
            .map(|(_, issue)| issue)
            .take(max)
            .map(|issue| {
                let text = lines
                    .get(issue.line as usize - 1)
                    .map(|l| l.trim())
                    .unwrap_or("");
                let mut quoted: String = text.chars().take(100).collect();
                if quoted.len() < text.len() {
                    quoted.push('…');
                }
                match &issue.missing {
                    Some(token) => format!("line {} is missing \"{token}\": {quoted}", issue.line),
                    None => format!("line {} does not parse: {quoted}", issue.line),
                }
            })
            .collect()
    }
}

/// The changes that add syntax errors to a file in a language the repo map knows.
pub fn syntax_regressions(changes: &[FileChange]) -> Vec<SyntaxRegression> {
    changes
        .iter()
        .filter_map(|change| {
            let lang = Lang::from_path(Path::new(&change.path))?;
            let found = regression(lang, change)?;
            // A `.h` file may be C++: it only fails when the C++ grammar finds new errors too.
            if lang == Lang::C && change.path.ends_with(".h") {
                regression(Lang::Cpp, change)?;
            }
            Some(found)
        })
        .collect()
}

/// `change` read as `lang`, when the edit adds errors (`None` when it does not, or a parse timed
/// out).
fn regression(lang: Lang, change: &FileChange) -> Option<SyntaxRegression> {
    let issues = syntax_issues(lang, &change.after, PARSE_LIMIT).ok()?;
    if issues.is_empty() {
        return None;
    }
    let before = match &change.before {
        Some(text) => syntax_issues(lang, text, PARSE_LIMIT).ok()?.len(),
        None => 0,
    };
    (issues.len() > before).then(|| SyntaxRegression {
        path: change.path.clone(),
        issues,
        before,
        after: change.after.clone(),
        blocking: !matches!(lang, Lang::C | Lang::Cpp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, before: Option<&str>, after: &str) -> FileChange {
        FileChange {
            path: path.into(),
            before: before.map(str::to_string),
            after: after.into(),
        }
    }

    #[test]
    fn an_edit_that_breaks_the_syntax_is_found_and_quoted() {
        let before = "def add(a, b):\n    return a + b\n";
        let after =
            "def add(a, b):\n    return a + b\n\n# Explanation\n\nThe function adds a and b.\n";
        let found = syntax_regressions(&[change("calc.py", Some(before), after)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].before, 0);
        let described = found[0].describe(3);
        assert!(
            described[0].contains("line 6") && described[0].contains("The function adds"),
            "{described:?}"
        );
    }

    #[test]
    fn clean_edits_unknown_languages_and_old_errors_pass() {
        let ok = change("calc.py", Some("x = 1\n"), "x = 2\n");
        let text = change("notes.txt", Some("a\n"), "this is ( not code\n");
        // Already broken before the edit, and no worse after it.
        let old = change(
            "legacy.py",
            Some("def f(:\n    pass\n"),
            "def f(:\n    return 1\n",
        );
        assert_eq!(syntax_regressions(&[ok, text, old]), vec![]);
    }

    #[test]
    fn a_header_passes_when_it_parses_as_cpp() {
        let before = "int add(int a, int b);\n";
        let cpp = "int add(int a, int b);\nclass Calc { public: int mul(int a, int b); };\n";
        assert_eq!(
            syntax_regressions(&[change("calc.h", Some(before), cpp)]),
            vec![]
        );
        let broken = "int add(int a, int b);\nint mul(int a, int b\n";
        let found = syntax_regressions(&[change("calc.h", Some(before), broken)]);
        assert_eq!(found.len(), 1);
        assert!(!found[0].blocking, "C and C++ findings are advisory");
        let rust = syntax_regressions(&[change("a.rs", None, "fn f( {\n")]);
        assert!(rust[0].blocking);
    }

    #[test]
    fn a_new_file_must_parse() {
        let found = syntax_regressions(&[change("src/new.rs", None, "fn main( {\n")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].before, 0);
    }
}
