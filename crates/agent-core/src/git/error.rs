//! Errors of the git layer. Each says what the user can do about it.

use thiserror::Error;

use super::message::MessageProblem;
use super::paths::PathError;

/// Why landing, undoing or showing an edit failed.
#[derive(Debug, Error)]
pub enum GitError {
    /// The directory is not inside a git work tree.
    #[error("{path} is not inside a git repository: run `git init` first or cd into one")]
    NotARepository {
        /// Where the search started.
        path: String,
    },
    /// The repository has no work tree.
    #[error("the repository is bare: aidx edits files in a work tree")]
    BareRepository,
    /// A path may not be edited.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Files to edit have uncommitted changes and `dirty-commits` is off.
    #[error(
        "these files have uncommitted changes: {}; commit or stash them, or enable `dirty-commits` so aidx commits them first",
        .paths.join(", ")
    )]
    DirtyFiles {
        /// The dirty files.
        paths: Vec<String>,
    },
    /// Ctrl-C arrived before anything was written.
    #[error("interrupted before any file was written; the repository is unchanged")]
    Interrupted,
    /// The commit message breaks the convention and could not be repaired.
    #[error("the commit message breaks the commit convention: {}", format_problems(.0))]
    InvalidMessage(Vec<MessageProblem>),
    /// The reviewed diff did not produce the planned content (a bug, or the file changed).
    #[error(
        "applying the diff to {path} did not give the planned content; nothing was written: re-run the edit"
    )]
    DiffMismatch {
        /// The file whose result differed.
        path: String,
    },
    /// A file changed on disk between planning and landing.
    #[error(
        "{path} changed on disk since the edits were planned; nothing was written: re-run the edit"
    )]
    StaleContent {
        /// The file that changed.
        path: String,
    },
    /// There is no commit to undo or show.
    #[error("the repository has no commits yet")]
    NoCommits,
    /// HEAD is not an aidx commit.
    #[error("the last commit ({summary}) was not made by aidx; aidx only undoes its own commits")]
    NotAidxCommit {
        /// The commit's summary line.
        summary: String,
    },
    /// HEAD has been pushed.
    #[error(
        "the last aidx commit is already on {remote_ref}; revert it with `git revert` instead of undoing it"
    )]
    AlreadyPushed {
        /// The remote-tracking reference that contains it.
        remote_ref: String,
    },
    /// HEAD is a merge or root commit.
    #[error("the last aidx commit has {parents} parents; undo only handles single-parent commits")]
    UnsupportedParents {
        /// Its parent count.
        parents: usize,
    },
    /// Files of the commit to undo changed since.
    #[error(
        "these files changed since the aidx commit: {}; commit or stash those changes before undoing",
        .paths.join(", ")
    )]
    ChangedSinceCommit {
        /// The changed files.
        paths: Vec<String>,
    },
    /// A libgit2 failure.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file system failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl GitError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        GitError::Io {
            context: context.into(),
            source,
        }
    }
}

fn format_problems(problems: &[MessageProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
