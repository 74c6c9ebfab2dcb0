//! The seams the CLI and the TUI plug into: the review of the change before anything is
//! written ([`Reviewer`]), and typed progress events ([`Observer`]).
//!
//! Both front ends are callers of the same [`super::Pipeline`]: `aidx run` prints the events and
//! asks one yes/no question; interactive mode draws them and reviews hunk by hunk. Neither has a
//! path of its own through the pipeline.

use std::collections::BTreeSet;
use std::fmt;

use crate::git::Hunk;

use super::report::{PromptCount, RunReport};

/// One file of the change under review, split into hunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFile {
    /// Repository-relative path.
    pub path: String,
    /// True when the change creates the file.
    pub created: bool,
    /// Its hunks, in file order; [`HunkId`]s point into them.
    pub hunks: Vec<Hunk>,
    /// The file's full content with every hunk applied (what `e` opens in an editor).
    pub after: String,
}

/// A hunk of the review: file index in [`ReviewRequest::files`], hunk index in that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HunkId {
    /// Index of the file.
    pub file: usize,
    /// Index of the hunk in the file.
    pub hunk: usize,
}

/// What the reviewer sees before anything is written.
#[derive(Debug, Clone, Copy)]
pub struct ReviewRequest<'a> {
    /// The unified diff that will land if everything is accepted, exactly.
    pub diff: &'a str,
    /// The files it changes, with their hunks.
    pub files: &'a [ReviewFile],
    /// The commit message that will be used (the reviewer may replace it).
    pub commit_message: &'a str,
    /// Which review round this is (1, then one more after each request for changes).
    pub round: u32,
}

impl ReviewRequest<'_> {
    /// Every hunk's id, in order.
    pub fn all_hunks(&self) -> Vec<HunkId> {
        self.files
            .iter()
            .enumerate()
            .flat_map(|(file, f)| (0..f.hunks.len()).map(move |hunk| HunkId { file, hunk }))
            .collect()
    }
}

/// What happens to the hunks the reviewer rejected in a partial approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RejectedHunks {
    /// Not written at all: the working tree holds exactly what is committed.
    #[default]
    Discard,
    /// Written to the working tree, unstaged and uncommitted, for the user to finish by hand.
    KeepUnstaged,
}

/// The reviewer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Land the whole change.
    Approve,
    /// Land only `accepted`; the rest is discarded or kept unstaged as `rejected` says.
    /// Accepting nothing is the same as [`ReviewDecision::Reject`].
    Partial {
        /// The hunks to land.
        accepted: BTreeSet<HunkId>,
        /// What to do with the others.
        rejected: RejectedHunks,
    },
    /// Write nothing.
    Reject {
        /// Why (shown in the report).
        reason: String,
    },
    /// Write nothing yet: send `feedback` to the Editor as a reflection and review its new
    /// edits (bounded by `max-reflections`).
    Revise {
        /// What the Editor should change.
        feedback: String,
    },
    /// Stop the run now; nothing is written.
    Abort,
}

/// The reviewer may also edit the commit message: `Some` replaces the one in the request (it is
/// validated like any aidx message, and the run's trailers are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewAnswer {
    /// The decision.
    pub decision: ReviewDecision,
    /// A replacement commit message, if the reviewer edited it.
    pub commit_message: Option<String>,
    /// Files the reviewer rewrote by hand (index in [`ReviewRequest::files`], new content):
    /// each lands as written, whole, in place of the Editor's version (when the decision lands
    /// anything).
    pub edited: Vec<(usize, String)>,
}

impl From<ReviewDecision> for ReviewAnswer {
    fn from(decision: ReviewDecision) -> Self {
        ReviewAnswer {
            decision,
            commit_message: None,
            edited: Vec::new(),
        }
    }
}

/// Sees the change and decides on it (an interactive prompt, the TUI, or `--yes`).
pub trait Reviewer {
    /// Decides on `request`.
    fn review(&mut self, request: &ReviewRequest<'_>) -> ReviewAnswer;
}

/// Approves everything: the non-interactive `--yes` mode.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoApprove;

impl Reviewer for AutoApprove {
    fn review(&mut self, _request: &ReviewRequest<'_>) -> ReviewAnswer {
        ReviewDecision::Approve.into()
    }
}

/// A step of the run, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Loading a model (the caller emits it: loading happens before the pipeline starts).
    Load,
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
            Phase::Load => "load",
            Phase::Research => "research",
            Phase::Plan => "plan",
            Phase::Edit => "edit",
            Phase::Review => "review",
            Phase::Validate => "validate",
            Phase::Land => "land",
        })
    }
}

/// Who is speaking in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    /// The repository map.
    Researcher,
    /// The planner (cloud Architect, or the local model in fully local mode).
    Architect,
    /// The model that writes the edits.
    Editor,
    /// A model that checks the Editor's draft.
    Verifier,
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Speaker::Researcher => "Researcher",
            Speaker::Architect => "Architect",
            Speaker::Editor => "Editor",
            Speaker::Verifier => "Verifier",
        })
    }
}

/// Something that happened during a run, in the order it happened.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A phase begins; `detail` says what is being done.
    Phase {
        /// Which.
        phase: Phase,
        /// What is being done.
        detail: &'a str,
    },
    /// Streamed model text.
    Text {
        /// Whose.
        speaker: Speaker,
        /// The new text.
        text: &'a str,
    },
    /// A prompt is about to be sent, with its size in the role's tokens.
    Prompt(&'a PromptCount),
    /// The Editor is asked (attempt 1, then one per reflection).
    Attempt {
        /// 1-based.
        attempt: u32,
        /// The last attempt allowed.
        max: u32,
    },
    /// An edit block that did not apply.
    BlockFailed {
        /// Its file.
        path: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// Failures are sent back to the Editor.
    Reflection {
        /// The attempt that failed.
        attempt: u32,
    },
    /// The history gate dropped or summarized messages to stay under its limit.
    GateTrimmed {
        /// Messages dropped or folded into a summary.
        messages: usize,
        /// The limit held.
        limit: usize,
        /// True when summarized rather than dropped.
        summarized: bool,
    },
    /// A lint or test command finished.
    Check {
        /// `lint` or `test`.
        name: &'a str,
        /// Whether it passed.
        passed: bool,
    },
    /// Something the user should know (a fallback, an elided file, a failed check).
    Notice(&'a str),
    /// The run reached an outcome.
    Finished(&'a RunReport),
}

/// Receives the run's [`Event`]s as they happen.
pub trait Observer {
    /// One event.
    fn event(&mut self, event: &Event<'_>);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {
    fn event(&mut self, _event: &Event<'_>) {}
}
