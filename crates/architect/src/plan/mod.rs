//! The plan contract: what the Architect must produce, how it is stored, and how it is checked.
//!
//! * [`Plan`] is the structured plan; [`Plan::to_markdown`] renders the fixed `plan.md` layout and
//!   [`Plan::parse`] reads a model's reply back, tolerating small formatting drift.
//! * [`Plan::validate`] lists [`PlanProblem`]s (missing files, no steps, ...).
//! * [`write_atomically`] stores a file through a temporary file and a rename in the same directory.
//! * [`Architect`] asks a [`ChatClient`](crate::ChatClient) for a plan, asks once more with the problems listed
//!   when it does not validate, and writes the valid plan.

mod architect;
mod parse;
mod render;
mod template;
mod validate;
mod write;

pub use architect::{
    Architect, ArchitectError, ArchitectOptions, DEFAULT_PLAN_PATH, PlanInput, PlanOutcome,
};
pub use validate::PlanProblem;
pub use write::write_atomically;

/// What happens to a file the plan touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileAction {
    /// An existing file is changed.
    Change,
    /// A new file is created.
    Create,
}

/// One file the plan touches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedFile {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// Change an existing file or create a new one.
    pub action: FileAction,
    /// What happens to it (may be empty).
    pub note: String,
}

/// A plan for one change request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// What the change achieves.
    pub goal: String,
    /// Reference ids from the researcher's repo map that the plan relied on.
    pub context_refs: Vec<String>,
    /// Ordered steps.
    pub steps: Vec<String>,
    /// Files to change or create.
    pub files: Vec<PlannedFile>,
    /// How to check the result.
    pub checks: Vec<String>,
}
