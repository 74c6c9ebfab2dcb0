//! The plan contract: what the Architect must produce, how it is stored, and how it is checked.
//!
//! * [`Plan`] is the structured plan; [`Plan::to_markdown`] renders the fixed `plan.md` layout and
//!   [`Plan::parse`] reads a model's reply back, tolerating small formatting drift.
//! * [`Plan::validate`] lists [`PlanProblem`]s (missing files, no steps, ...).
//! * [`write_atomically`] stores a file through a temporary file and a rename in the same directory.
//! * [`Architect`] asks a [`ChatClient`](crate::ChatClient) for a plan, asks once more with the problems listed
//!   when it does not validate, and writes the valid plan.
//! * [`PlanFormat`] chooses how the plan is asked for: the markdown structure, or one JSON object matching
//!   [`schema::plan_schema`] that the server enforces by constrained decoding (structured output), read with
//!   [`Plan::from_json`]. Either way the plan is validated the same way and written as the same markdown.

mod architect;
mod json;
mod parse;
mod render;
pub mod schema;
mod template;
mod validate;
mod write;

use crate::config::Provider;

pub use architect::{
    Architect, ArchitectError, ArchitectOptions, DEFAULT_PLAN_PATH, PlanInput, PlanOutcome,
};
pub use schema::{plan_response_schema, plan_schema};
pub use validate::PlanProblem;
pub use write::write_atomically;

/// What an empty list section of plan.md shows: written by the renderer, read back as "no item"
/// by the parser.
const NONE_ITEM: &str = "(none)";

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

/// How the Architect asks for the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlanFormat {
    /// The markdown structure of `plan.md`, described in the prompt and read back by the tolerant parser.
    #[default]
    Markdown,
    /// One JSON object matching [`schema::plan_schema`], sent as the request's response schema so that the server's
    /// constrained decoding enforces it (OpenAI-compatible `response_format`, Gemini `responseSchema`).
    JsonSchema,
}

impl PlanFormat {
    /// The `auto` choice: JSON Schema where the protocol has structured output (OpenAI-compatible, Gemini),
    /// markdown for Anthropic, whose Messages API has no response-schema field.
    pub fn auto(provider: Provider) -> PlanFormat {
        if PlanFormat::JsonSchema.supported_by(provider) {
            PlanFormat::JsonSchema
        } else {
            PlanFormat::Markdown
        }
    }

    /// Whether `provider`'s protocol can carry this format.
    pub fn supported_by(self, provider: Provider) -> bool {
        match self {
            PlanFormat::Markdown => true,
            PlanFormat::JsonSchema => {
                matches!(provider, Provider::OpenAiCompatible | Provider::Gemini)
            }
        }
    }

    /// The name used in `.aidx.yml` (`markdown`, `json-schema`).
    pub fn name(self) -> &'static str {
        match self {
            PlanFormat::Markdown => "markdown",
            PlanFormat::JsonSchema => "json-schema",
        }
    }
}
