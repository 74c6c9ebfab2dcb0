//! Errors that stop a run before it can report an outcome.

use thiserror::Error;

use crate::gate::GateError;
use crate::git::GitError;

use super::plan_doc::PlanFileError;
use super::roles::RoleError;

/// Why a run stopped. Edit failures, rejections and failed checks are not errors: they are
/// outcomes in the [`super::RunReport`].
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The request is empty.
    #[error("the request is empty: say what to change with -m \"…\" or --message-file")]
    EmptyRequest,
    /// No planner is available and fully local mode is off.
    #[error(
        "no plan can be written: {reason}. Configure `architect` in .aidx.yml, or set `fully-local: true` to let the local model plan"
    )]
    NoPlanner {
        /// Why the architect is unavailable.
        reason: String,
    },
    /// The plan names no file to edit.
    #[error(
        "the plan names no file to edit: list files under `## Files` in {plan_path}, or add files with --file"
    )]
    PlanNamesNoFiles {
        /// The plan file.
        plan_path: String,
    },
    /// A role failed.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// A prompt could not be held under its limit.
    #[error(transparent)]
    Gate(#[from] GateError),
    /// Git refused or failed (includes Ctrl-C before writing: [`GitError::Interrupted`]).
    #[error(transparent)]
    Git(#[from] GitError),
    /// The plan file could not be written or resolved.
    #[error(transparent)]
    PlanFile(#[from] PlanFileError),
    /// The plan file could not be read.
    #[error("cannot read the plan {path}: {source}; check the path given to --plan")]
    ReadPlan {
        /// The plan file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
