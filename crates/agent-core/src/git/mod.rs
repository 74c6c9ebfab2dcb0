//! Git application of edits via git2.
//!
//! [`EditRepo`] is the entry point: it refuses unsafe paths ([`paths`]), commits or refuses
//! dirty files before editing, turns planned changes into a unified diff ([`diff`]), lands that
//! exact diff through libgit2 with atomic file writes, and commits only the edited files with a
//! validated message ([`message`]). [`EditRepo::undo_last`] and [`EditRepo::last_change`] back
//! `aidx undo` and `aidx diff`; [`interrupt`] keeps Ctrl-C from cutting a write in half.

pub mod diff;
mod error;
pub mod hunks;
pub mod interrupt;
mod land;
pub mod message;
pub mod paths;
mod repo;
mod status;
mod undo;
mod write;

pub use diff::{render_colored, unified_diff, unified_diff_with_modes};
pub use error::GitError;
pub use hunks::{Hunk, apply_selected, hunks_of};
pub use interrupt::InterruptGuard;
pub use land::{LandOptions, Landed};
pub use message::{
    ChangeVerb, CommitIntent, CommitMessage, CommitType, FileNote, MessageProblem,
    validate_commit_message,
};
pub use paths::PathError;
pub use repo::EditRepo;
pub use status::RepoStatus;
pub use undo::{LastChange, Undone, is_aidx_commit};

/// The git object id (re-exported so callers need no git2 dependency).
pub use git2::Oid;

/// The trailer that marks a commit as made by aidx; `aidx undo` only reverts such commits.
pub const RUN_TRAILER: &str = "Aidx-Run";

/// A fresh id for the `Aidx-Run:` trailer: seconds since the epoch and the process id.
pub fn new_run_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs}-{}", std::process::id())
}
