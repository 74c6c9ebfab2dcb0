//! The run: Research → Plan → Hard reset → Edit → Review → Apply → Validate → Commit.
//!
//! - The seams to the engines: [`Researcher`], [`Planner`] and [`Editor`], synchronous traits
//!   the engine adapters implement; [`LocalPlanner`] plans with the Editor in fully local mode.
//! - [`PlanDocument`]: `plan.md` read back and written atomically.
//! - [`build_editor_messages`]: the hard reset, a pure function of plan, files and request.
//! - [`Pipeline`]: the run itself, with a [`Reviewer`] seam for the diff and an [`Observer`]
//!   for progress; it returns a serializable [`RunReport`].
//! - [`commit_intent`]: the commit message's type, scope, subject, notes and trailers, derived
//!   deterministically from the request, the plan and the applied edits.

mod answer;
mod ask;
mod cancel;
mod checks;
mod commit;
mod edit_loop;
mod error;
pub mod hard_reset;
mod hooks;
mod intent;
mod local_planner;
mod metered;
mod plan_doc;
mod plan_grammar;
mod preflight;
mod report;
mod review;
mod roles;
mod route;
mod run;
pub(crate) mod template;
mod verifier;

pub use ask::{ask, ask_messages};
pub use cancel::CancelToken;
pub use checks::{CheckReport, MAX_CHECK_OUTPUT_BYTES, run_checks};
pub use commit::commit_staged;
pub use error::PipelineError;
pub use hard_reset::{
    EditorPromptInput, FileContent, PromptFile, build_editor_messages, editor_system_prompt,
};
pub use intent::{classify, commit_intent, scope_for, subject_for};
pub use local_planner::LocalPlanner;
pub use plan_doc::{
    PlanDocument, PlanFile, PlanFileError, resolve_plan_path, write_plan_atomically,
};
pub use preflight::{PreflightOutcome, PreflightVerdict, review_plan};
pub use report::{AttemptReport, FailedBlock, PromptCount, RoleModel, RunReport, RunStatus};
pub use review::{
    AutoApprove, Event, HunkId, Observer, Phase, RejectedHunks, ReviewAnswer, ReviewDecision,
    ReviewFile, ReviewRequest, Reviewer, Silent, Speaker,
};
pub use roles::TokenUsage;
pub use roles::{
    ChatMessage, ChatRole, Completion, Editor, FinishReason, GenerateOptions, Planner, Research,
    Researcher, RoleError,
};
pub use route::{Decider, Route, RouteChoice, RouteDecision, ask_router, heuristic};
pub use run::{Pipeline, RunOptions};
pub use verifier::{Verdict, VerdictKind, VerdictReason, ask_verifier};
