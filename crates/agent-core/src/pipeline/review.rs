//! The seams the CLI and the TUI plug into: the review of the diff before anything is written,
//! and progress notifications.

use std::fmt;

/// What the reviewer sees before anything is written.
#[derive(Debug, Clone, Copy)]
pub struct ReviewRequest<'a> {
    /// The unified diff that will land, exactly.
    pub diff: &'a str,
    /// The files it changes.
    pub files: &'a [String],
    /// The commit message that will be used.
    pub commit_message: &'a str,
}

/// The reviewer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Land the diff.
    Approve,
    /// Write nothing.
    Reject {
        /// Why (shown in the report).
        reason: String,
    },
}

/// Sees the diff and approves or rejects it (an interactive prompt, the TUI, or `--yes`).
pub trait Reviewer {
    /// Decides on `request`.
    fn review(&mut self, request: &ReviewRequest<'_>) -> ReviewDecision;
}

/// Approves everything: the non-interactive `--yes` mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoApprove;

impl Reviewer for AutoApprove {
    fn review(&mut self, _request: &ReviewRequest<'_>) -> ReviewDecision {
        ReviewDecision::Approve
    }
}

/// A step of the run, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Finding what matters (repo map).
    Research,
    /// Writing plan.md.
    Plan,
    /// Asking the Editor (attempt 1, then reflections).
    Edit,
    /// Showing the diff for review.
    Review,
    /// Running lint and test commands.
    Validate,
    /// Writing files and committing.
    Land,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Research => "research",
            Phase::Plan => "plan",
            Phase::Edit => "edit",
            Phase::Review => "review",
            Phase::Validate => "validate",
            Phase::Land => "land",
        })
    }
}

/// Receives progress while the pipeline runs; every method does nothing by default.
pub trait Observer {
    /// A phase begins; `detail` says what is being done.
    fn phase(&mut self, _phase: Phase, _detail: &str) {}
    /// Streamed planner text.
    fn planner_text(&mut self, _text: &str) {}
    /// Streamed Editor text.
    fn editor_text(&mut self, _text: &str) {}
    /// Something the user should know (a fallback, an elided file, a failed check).
    fn notice(&mut self, _text: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}
