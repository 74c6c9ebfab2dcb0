//! The plan document (`plan.md`): its text, the files it names and the references it cites,
//! read back from markdown and written atomically.
//!
//! The layout is the Architect's (`## Goal`, `## Context`, `## Steps`, `## Files`, `## Checks`);
//! the reader tolerates other heading levels, a few synonyms and `*`/`+`/numbered lists, so a
//! hand-written plan or a small local model's plan works too.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// One file a plan names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanFile {
    /// Repository-relative path, `/`-separated.
    pub path: String,
    /// Whether the plan creates it (`(new)` in `plan.md`).
    pub new: bool,
    /// What happens to it (may be empty); becomes the commit bullet's what/why.
    pub note: String,
}

/// A plan: the markdown handed to the Editor, plus what was read out of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDocument {
    /// The full markdown text, as written to `plan.md`.
    pub markdown: String,
    /// The plan's goal (first paragraph of `## Goal`, may be empty).
    pub goal: String,
    /// Files the plan names, in order.
    pub files: Vec<PlanFile>,
    /// Research reference ids the plan cites.
    pub refs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Goal,
    Context,
    Files,
    Other,
}

fn section_of(heading: &str) -> Section {
    let h = heading
        .trim()
        .trim_matches(|c: char| c == '*' || c == ':' || c.is_whitespace())
        .to_ascii_lowercase();
    if h.starts_with("goal") || h.starts_with("objective") || h.starts_with("summary") {
        Section::Goal
    } else if h.starts_with("context") || h.starts_with("references") || h.starts_with("refs") {
        Section::Context
    } else if h.starts_with("files") || h.contains("files to") {
        Section::Files
    } else {
        Section::Other
    }
}

/// A markdown heading (`#`…`######`) or a bold line used as one (`**Files:**`).
fn heading_text(line: &str) -> Option<&str> {
    let t = line.trim();
    if t.starts_with('#') {
        let text = t.trim_start_matches('#');
        return text.starts_with(' ').then(|| text.trim());
    }
    if t.starts_with("**") && t.ends_with("**") && t.len() > 4 {
        return Some(&t[2..t.len() - 2]);
    }
    None
}

/// The text of a list item (`- x`, `* x`, `+ x`, `1. x`, `1) x`), if `line` is one.
fn list_item(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = t.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &t[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(rest.trim());
        }
    }
    None
}

const NONE_ITEM: &str = "(none)";

impl PlanDocument {
    /// Reads a plan from its markdown. Never fails: a plan without a Files section names no
    /// files (the caller decides whether that is acceptable).
    pub fn from_markdown(markdown: &str) -> Self {
        let mut section = Section::Other;
        let mut goal_lines: Vec<&str> = Vec::new();
        let mut files: Vec<PlanFile> = Vec::new();
        let mut refs: Vec<String> = Vec::new();
        for line in markdown.lines() {
            if let Some(heading) = heading_text(line) {
                section = section_of(heading);
                continue;
            }
            match section {
                Section::Goal => {
                    if line.trim().is_empty() && !goal_lines.is_empty() {
                        section = Section::Other;
                    } else if !line.trim().is_empty() && line.trim() != NONE_ITEM {
                        goal_lines.push(line.trim());
                    }
                }
                Section::Context => {
                    if let Some(item) = list_item(line)
                        && item != NONE_ITEM
                    {
                        let id = first_code_span(item)
                            .unwrap_or_else(|| item.split_whitespace().next().unwrap_or(""));
                        let id = id.trim().to_string();
                        if !id.is_empty() && !refs.contains(&id) {
                            refs.push(id);
                        }
                    }
                }
                Section::Files => {
                    if let Some(item) = list_item(line)
                        && let Some(file) = parse_file_item(item)
                        && !files.iter().any(|f| f.path == file.path)
                    {
                        files.push(file);
                    }
                }
                Section::Other => {}
            }
        }
        PlanDocument {
            markdown: markdown.to_string(),
            goal: goal_lines.join(" "),
            files,
            refs,
        }
    }

    /// The paths the plan names.
    pub fn paths(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.path.as_str()).collect()
    }
}

fn first_code_span(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

/// `` `path` (new) — note `` and the drift around it (no backticks, `:` or ` - ` before the note).
fn parse_file_item(item: &str) -> Option<PlanFile> {
    if item == NONE_ITEM {
        return None;
    }
    let (path, rest) = match first_code_span(item) {
        Some(span) => {
            let end = item.find(span).unwrap_or(0) + span.len() + 1;
            (span.trim(), item.get(end..).unwrap_or(""))
        }
        None => {
            let word = item.split_whitespace().next()?;
            let word = word.trim_end_matches([':', ',']).trim_matches('*');
            (word, &item[item.find(word).unwrap_or(0) + word.len()..])
        }
    };
    let path = path.trim_start_matches("./").trim();
    if path.is_empty() || path.contains(char::is_whitespace) {
        return None;
    }
    let mut rest = rest.trim_start_matches(':').trim();
    let mut new = false;
    for marker in ["(new)", "(new file)", "(create)", "(created)"] {
        if let Some(r) = rest.strip_prefix(marker) {
            new = true;
            rest = r.trim();
        }
    }
    let note = rest
        .trim_start_matches('—')
        .trim_start_matches("--")
        .trim_start_matches('-')
        .trim_start_matches(':')
        .trim();
    Some(PlanFile {
        path: path.to_string(),
        new,
        note: note.to_string(),
    })
}

/// Why the plan file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The configured plan path leaves the repository.
    #[error(
        "the plan file {path} is outside the repository: set `plan-file` to a path relative to the git root (e.g. artifacts/plan.md)"
    )]
    OutsideRepository {
        /// The configured path.
        path: String,
    },
    /// A file system error.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The plan path.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Resolves `plan_file` (relative to `root`, or absolute inside it) to an absolute path,
/// refusing `..` and paths outside the repository.
pub fn resolve_plan_path(root: &Path, plan_file: &Path) -> Result<PathBuf, PlanFileError> {
    let outside = || PlanFileError::OutsideRepository {
        path: plan_file.display().to_string(),
    };
    let relative = if plan_file.is_absolute() {
        plan_file.strip_prefix(root).map_err(|_| outside())?
    } else {
        plan_file
    };
    if relative.as_os_str().is_empty()
        || relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(outside());
    }
    Ok(root.join(relative))
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, then a rename),
/// creating the directory if needed.
pub fn write_plan_atomically(path: &Path, text: &str) -> Result<(), PlanFileError> {
    let io = |context, source| PlanFileError::Io {
        context,
        path: path.display().to_string(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io("creating the directory of", e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io("creating a temporary file for", e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io("writing", e))?;
    tmp.persist(path)
        .map_err(|e| io("renaming into place", e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_architect_layout() {
        let md = "# Plan\n\n## Goal\n\nGreet by name.\n\n## Context\n\n- `src/greet.py#greet`\n\n## Steps\n\n1. Change greet.\n\n## Files\n\n- `src/greet.py` — take a name\n- `src/new.py` (new) — helper\n\n## Checks\n\n- (none)\n";
        let plan = PlanDocument::from_markdown(md);
        assert_eq!(plan.goal, "Greet by name.");
        assert_eq!(plan.refs, vec!["src/greet.py#greet"]);
        assert_eq!(
            plan.files,
            vec![
                PlanFile {
                    path: "src/greet.py".into(),
                    new: false,
                    note: "take a name".into()
                },
                PlanFile {
                    path: "src/new.py".into(),
                    new: true,
                    note: "helper".into()
                },
            ]
        );
    }

    #[test]
    fn tolerates_drift() {
        let md = "**Files:**\n* src/a.rs: add x\n1. `b.rs` (new)\n- (none)\n";
        let plan = PlanDocument::from_markdown(md);
        assert_eq!(plan.paths(), vec!["src/a.rs", "b.rs"]);
        assert_eq!(plan.files[0].note, "add x");
        assert!(plan.files[1].new);
    }

    #[test]
    fn plan_path_must_stay_inside_the_repository() {
        let root = Path::new("/repo");
        assert!(resolve_plan_path(root, Path::new("artifacts/plan.md")).is_ok());
        assert!(resolve_plan_path(root, Path::new("../plan.md")).is_err());
        assert!(resolve_plan_path(root, Path::new("/elsewhere/plan.md")).is_err());
        assert!(resolve_plan_path(root, Path::new("/repo/a/plan.md")).is_ok());
    }
}
