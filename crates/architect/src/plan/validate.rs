//! Checking a [`Plan`] against the repository.

use std::fmt;
use std::path::{Component, Path};

use super::{FileAction, Plan, PlanFormat};

/// Something that makes a plan unusable. `Display` is written for the model: it says what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanProblem {
    /// No `## Goal` text.
    MissingGoal,
    /// No steps.
    NoSteps,
    /// A file listed for change does not exist.
    FileNotFound {
        /// The path as written.
        path: String,
    },
    /// A file marked new already exists.
    NewFileExists {
        /// The path as written.
        path: String,
    },
    /// An absolute path, or one that climbs out of the repository with `..`.
    PathOutsideRepo {
        /// The path as written.
        path: String,
    },
    /// A path plan.md cannot carry as written: a backtick, whitespace (the Editor reads a path
    /// as one word), or a control character.
    UnwritablePath {
        /// The path as written.
        path: String,
    },
    /// A context reference that is not one of the researcher's ids.
    UnknownReference {
        /// The id as written.
        id: String,
    },
    /// The reply was cut off at the token limit.
    Truncated,
    /// A structured-output reply that is not a JSON plan (not JSON, not an object, or fields of the wrong shape).
    NotJson {
        /// What is wrong, e.g. serde's "EOF while parsing a string at line 3 column 12".
        detail: String,
    },
}

impl PlanProblem {
    /// The problem in the words of the format the model was asked for (what [`fmt::Display`] shows is the
    /// markdown wording).
    pub fn describe(&self, format: PlanFormat) -> String {
        if format == PlanFormat::Markdown {
            return self.to_string();
        }
        match self {
            PlanProblem::MissingGoal => {
                "`goal` is empty: write one or two sentences saying what the change achieves"
                    .to_string()
            }
            PlanProblem::NoSteps => "`steps` is empty: list at least one step".to_string(),
            PlanProblem::FileNotFound { path } => format!(
                "`{path}` is listed in `files` but does not exist in the repository: use \"path\" only for the \
                 repository files offered, and \"new\" for a file that must be created"
            ),
            PlanProblem::NewFileExists { path } => format!(
                "`{path}` is listed as \"new\" but already exists: list it as {{\"path\": \"{path}\"}} to change it"
            ),
            PlanProblem::UnknownReference { id } => format!(
                "context reference `{id}` is not one of the researcher's reference ids: cite only ids from the list"
            ),
            PlanProblem::PathOutsideRepo { .. }
            | PlanProblem::UnwritablePath { .. }
            | PlanProblem::Truncated
            | PlanProblem::NotJson { .. } => self.to_string(),
        }
    }
}

impl fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanProblem::MissingGoal => write!(
                f,
                "the plan has no goal: write one or two sentences under ## Goal"
            ),
            PlanProblem::NoSteps => write!(
                f,
                "the plan has no steps: list at least one numbered step under ## Steps"
            ),
            PlanProblem::FileNotFound { path } => write!(
                f,
                "`{path}` is listed under ## Files but does not exist in the repository: correct the path, or mark \
                 it (new) if it must be created"
            ),
            PlanProblem::NewFileExists { path } => {
                write!(
                    f,
                    "`{path}` is marked (new) but already exists: list it without (new) as a file to change"
                )
            }
            PlanProblem::UnwritablePath { path } => write!(
                f,
                "{path:?} is not a plain repository path (it has a backtick, whitespace or a control \
                 character): write the file's path exactly as it is in the repository; aidx cannot edit \
                 files whose names hold spaces"
            ),
            PlanProblem::PathOutsideRepo { path } => {
                write!(
                    f,
                    "`{path}` is not inside the repository: use a path relative to the repository root"
                )
            }
            PlanProblem::UnknownReference { id } => write!(
                f,
                "context reference `{id}` is not one of the researcher's reference ids: cite only ids from the list"
            ),
            PlanProblem::Truncated => {
                write!(
                    f,
                    "the reply was cut off at the token limit: write a shorter plan with fewer, tighter steps"
                )
            }
            PlanProblem::NotJson { detail } => write!(
                f,
                "the reply is not a JSON plan ({detail}): reply with one JSON object with the fields goal, \
                 context, steps, files and check, and nothing else"
            ),
        }
    }
}

impl Plan {
    /// Lists what is wrong with the plan: a missing goal, no steps, files that neither exist under `repo_root`
    /// nor are marked new (and new files that already exist), paths outside the repository, and — when
    /// `known_refs` is not empty — context references that are not among them. Empty means valid.
    pub fn validate(&self, repo_root: &Path, known_refs: &[String]) -> Vec<PlanProblem> {
        let mut problems = Vec::new();
        if self.goal.trim().is_empty() {
            problems.push(PlanProblem::MissingGoal);
        }
        if self.steps.iter().all(|step| step.trim().is_empty()) {
            problems.push(PlanProblem::NoSteps);
        }
        for file in &self.files {
            // plan.md writes each path in a code span on one line, and the Editor reads a path as
            // one word; a path that cannot be written so would reach the Editor as another path,
            // or as none.
            if file.path.is_empty()
                || file
                    .path
                    .chars()
                    .any(|c| c == '`' || c.is_whitespace() || c.is_control())
            {
                problems.push(PlanProblem::UnwritablePath {
                    path: file.path.clone(),
                });
                continue;
            }
            let relative = Path::new(&file.path);
            let escapes = relative.components().any(|c| {
                matches!(
                    c,
                    Component::ParentDir | Component::RootDir | Component::Prefix(_)
                )
            });
            if escapes || relative.is_absolute() {
                problems.push(PlanProblem::PathOutsideRepo {
                    path: file.path.clone(),
                });
                continue;
            }
            let exists = repo_root.join(relative).is_file();
            match (file.action, exists) {
                (FileAction::Change, false) => problems.push(PlanProblem::FileNotFound {
                    path: file.path.clone(),
                }),
                (FileAction::Create, true) => problems.push(PlanProblem::NewFileExists {
                    path: file.path.clone(),
                }),
                _ => {}
            }
        }
        if !known_refs.is_empty() {
            for id in &self.context_refs {
                if !known_refs.iter().any(|known| known == id) {
                    problems.push(PlanProblem::UnknownReference { id: id.clone() });
                }
            }
        }
        problems
    }
}
