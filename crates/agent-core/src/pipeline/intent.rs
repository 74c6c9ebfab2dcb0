//! The commit intent, built deterministically from the request, the plan and the applied edits.
//!
//! - type: the request's leading verb (`fix`, `add`, `refactor`, `optimize`, `document`, …),
//!   else keywords in the request and the plan's goal, else what the changed files are (all
//!   docs → `docs`, all tests → `test`), else `feat`;
//! - scope: the crate or package directory all files share, or the single file's stem;
//! - subject: the request's first line, lowercased first letter;
//! - per-file notes: the plan's note for each file;
//! - `Plan:` the plan file, `Refs:` the plan's references, else the research references.

use std::collections::BTreeMap;
use std::path::Path;

use crate::edit::FileChange;
use crate::git::{CommitIntent, CommitType};

use super::plan_doc::PlanDocument;

/// Leading verbs of a request and the type they mean.
const LEADING_VERBS: &[(&str, CommitType)] = &[
    ("fix", CommitType::Fix),
    ("repair", CommitType::Fix),
    ("correct", CommitType::Fix),
    ("resolve", CommitType::Fix),
    ("refactor", CommitType::Refactor),
    ("rename", CommitType::Refactor),
    ("extract", CommitType::Refactor),
    ("restructure", CommitType::Refactor),
    ("simplify", CommitType::Refactor),
    ("split", CommitType::Refactor),
    ("move", CommitType::Refactor),
    ("optimize", CommitType::Perf),
    ("optimise", CommitType::Perf),
    ("speed", CommitType::Perf),
    ("document", CommitType::Docs),
    ("test", CommitType::Test),
    ("add", CommitType::Feat),
    ("implement", CommitType::Feat),
    ("support", CommitType::Feat),
    ("create", CommitType::Feat),
    ("introduce", CommitType::Feat),
    ("allow", CommitType::Feat),
];

/// Words anywhere in the request or goal and the type they suggest, strongest first.
const KEYWORDS: &[(&str, CommitType)] = &[
    ("bug", CommitType::Fix),
    ("crash", CommitType::Fix),
    ("broken", CommitType::Fix),
    ("fix", CommitType::Fix),
    ("refactor", CommitType::Refactor),
    ("performance", CommitType::Perf),
    ("faster", CommitType::Perf),
];

/// The type of change `request` and `goal` describe, given the changed `paths`.
pub fn classify(request: &str, goal: &str, paths: &[&str]) -> CommitType {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let request_words = words(request);
    if let Some(first) = request_words.first()
        && let Some((_, t)) = LEADING_VERBS
            .iter()
            .find(|(verb, _)| first == verb || first.strip_suffix('s').is_some_and(|s| s == *verb))
    {
        return refine_by_files(*t, paths);
    }
    let all: Vec<String> = request_words.into_iter().chain(words(goal)).collect();
    for (keyword, t) in KEYWORDS {
        if all
            .iter()
            .any(|w| w == keyword || w.starts_with(&format!("{keyword}e")))
        {
            return *t;
        }
    }
    refine_by_files(CommitType::Feat, paths)
}

/// `feat` over only documentation becomes `docs`, over only tests `test`.
fn refine_by_files(t: CommitType, paths: &[&str]) -> CommitType {
    if paths.is_empty() || !matches!(t, CommitType::Feat) {
        return t;
    }
    if paths.iter().all(|p| is_doc(p)) {
        CommitType::Docs
    } else if paths.iter().all(|p| is_test(p)) {
        CommitType::Test
    } else {
        t
    }
}

fn is_doc(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".md", ".rst", ".txt", ".adoc"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || lower.starts_with("docs/")
}

fn is_test(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.starts_with("tests/")
        || lower.contains("/tests/")
        || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains("_spec.")
}

/// The scope: the package directory every path shares (`crates/<name>/…`, `packages/<name>/…`),
/// a shared first directory other than `src`, or the stem of a single file.
pub fn scope_for(paths: &[&str]) -> Option<String> {
    let first = *paths.first()?;
    for parent in ["crates", "packages", "libs", "apps"] {
        let prefix = format!("{parent}/");
        let name_of = |p: &str| {
            p.strip_prefix(&prefix)
                .and_then(|rest| rest.split_once('/'))
                .map(|(name, _)| name.to_string())
        };
        if let Some(name) = name_of(first)
            && paths
                .iter()
                .all(|p| name_of(p).as_deref() == Some(name.as_str()))
        {
            return Some(name);
        }
    }
    if paths.len() == 1 {
        return Path::new(first)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string());
    }
    let top = |p: &str| p.split_once('/').map(|(d, _)| d.to_string());
    let dir = top(first)?;
    (dir != "src"
        && paths
            .iter()
            .all(|p| top(p).as_deref() == Some(dir.as_str())))
    .then_some(dir)
}

/// The subject: the request's first non-empty line with a lowercase first letter.
pub fn subject_for(request: &str) -> String {
    let line = request
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut chars = line.chars();
    match chars.next() {
        Some(c) if chars.clone().next().is_none_or(|n| !n.is_uppercase()) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => line.to_string(),
    }
}

/// Builds the commit intent for `changes` (see the module docs).
pub fn commit_intent(
    request: &str,
    plan: &PlanDocument,
    plan_path: &str,
    research_refs: &[String],
    changes: &[FileChange],
) -> CommitIntent {
    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    let commit_type = classify(request, &plan.goal, &paths);
    let mut intent = CommitIntent::new(commit_type, subject_for(request));
    intent.scope = scope_for(&paths);
    let lower = request.to_lowercase();
    intent.breaking = lower.contains("breaking change") || lower.contains("breaking:");
    intent.file_notes = plan
        .files
        .iter()
        .filter(|f| !f.note.trim().is_empty() && paths.contains(&f.path.as_str()))
        .map(|f| (f.path.clone(), f.note.clone()))
        .collect::<BTreeMap<_, _>>();
    intent.plan_path = plan_path.to_string();
    intent.refs = if plan.refs.is_empty() {
        research_refs.to_vec()
    } else {
        plan.refs.clone()
    };
    intent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_from_leading_verb_then_keywords_then_files() {
        assert_eq!(
            classify("Fix the off-by-one", "", &["a.rs"]),
            CommitType::Fix
        );
        assert_eq!(classify("Adds a flag", "", &["a.rs"]), CommitType::Feat);
        assert_eq!(
            classify("Rename foo to bar", "", &["a.rs"]),
            CommitType::Refactor
        );
        assert_eq!(classify("Make it faster", "", &["a.rs"]), CommitType::Perf);
        assert_eq!(
            classify("The parser crashes on ''", "", &["a.rs"]),
            CommitType::Fix
        );
        assert_eq!(
            classify("Explain usage", "", &["README.md"]),
            CommitType::Docs
        );
        assert_eq!(
            classify("Cover greet", "", &["tests/greet.rs"]),
            CommitType::Test
        );
        assert_eq!(
            classify("Greet by name", "", &["src/a.py"]),
            CommitType::Feat
        );
    }

    #[test]
    fn scope_from_shared_package_or_single_file() {
        assert_eq!(
            scope_for(&["crates/core/src/a.rs", "crates/core/b.rs"]).as_deref(),
            Some("core")
        );
        assert_eq!(scope_for(&["src/greet.py"]).as_deref(), Some("greet"));
        assert_eq!(scope_for(&["src/a.py", "src/b.py"]), None);
        assert_eq!(scope_for(&["web/a.js", "web/b.js"]).as_deref(), Some("web"));
    }

    #[test]
    fn subject_keeps_acronyms() {
        assert_eq!(subject_for("Greet by name\nmore"), "greet by name");
        assert_eq!(subject_for("API docs"), "API docs");
    }
}
