//! The Architect driver: ask for a plan, validate it, ask once more with the problems listed, write it.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::schema::{normalized_files, plan_response_schema};
use super::template::fill;
use super::validate::PlanProblem;
use super::write::write_atomically;
use super::{Plan, PlanFormat};
use crate::client::{ChatClient, DeltaSink};
use crate::error::ChatError;
use crate::message::{ChatMessage, FinishReason, Usage};

const SYSTEM_PROMPT: &str = include_str!("../../prompts/architect_system.md");
const USER_PROMPT: &str = include_str!("../../prompts/architect_user.md");
const RETRY_PROMPT: &str = include_str!("../../prompts/architect_retry.md");
const JSON_SYSTEM_PROMPT: &str = include_str!("../../prompts/architect_system_json.md");
const JSON_USER_PROMPT: &str = include_str!("../../prompts/architect_user_json.md");
const JSON_RETRY_PROMPT: &str = include_str!("../../prompts/architect_retry_json.md");

/// Where the plan goes when the caller does not say, relative to the repository root.
pub const DEFAULT_PLAN_PATH: &str = "artifacts/plan.md";

/// How the Architect asks.
#[derive(Clone, Debug, PartialEq)]
pub struct ArchitectOptions {
    /// Plan file; a relative path is taken from the repository root.
    pub plan_path: PathBuf,
    /// Token limit per reply.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Stream replies (deltas go to the caller's sink).
    pub stream: bool,
    /// Markdown, or JSON enforced by the server's structured output ([`PlanFormat::auto`] picks per provider).
    pub format: PlanFormat,
    /// With [`PlanFormat::JsonSchema`] chosen by `plan-format: auto`: a reply that is not JSON is also read as a
    /// markdown plan before it counts as invalid. Many OpenAI-compatible servers and proxies accept
    /// `response_format` and answer in plain text anyway; their markdown plan is as good as any.
    pub markdown_fallback: bool,
}

impl Default for ArchitectOptions {
    fn default() -> Self {
        Self {
            plan_path: PathBuf::from(DEFAULT_PLAN_PATH),
            max_tokens: Some(4096),
            temperature: Some(0.2),
            stream: true,
            format: PlanFormat::Markdown,
            markdown_fallback: false,
        }
    }
}

/// What the Architect is asked about; plain strings so any caller (agent-core's Research phase) can supply them.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The user's change request.
    pub request: &'a str,
    /// The researcher's rendered repository map.
    pub repo_map: &'a str,
    /// The reference ids the map defines; plans may cite only these (no check when empty).
    pub reference_ids: &'a [String],
    /// Repository files the plan may change (the researcher's ranked files and the chat files), relative to the
    /// repository root. In [`PlanFormat::JsonSchema`] they are the only existing files the schema offers.
    pub files: &'a [String],
}

/// A valid plan, written.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOutcome {
    /// The plan as written.
    pub plan: Plan,
    /// Where it was written.
    pub path: PathBuf,
    /// Tokens over all requests.
    pub usage: Usage,
    /// Cost over all requests, when known for every request.
    pub cost: Option<f64>,
    /// Requests made (1, or 2 after a correction).
    pub attempts: u32,
    /// The server was sent the plan schema but answered with a markdown plan, which was used
    /// ([`ArchitectOptions::markdown_fallback`]): ask it for markdown from now on.
    pub schema_ignored: bool,
}

/// Why no plan was written.
#[derive(Debug, thiserror::Error)]
pub enum ArchitectError {
    /// The chat request failed.
    #[error(transparent)]
    Chat(#[from] ChatError),

    /// The plan was still invalid after the correction request.
    #[error(
        "the Architect's plan is still invalid after {attempts} requests, so nothing was written to {}:\n{}{}",
        path.display(),
        problems.iter().map(|p| format!("  - {}", p.describe(*format))).collect::<Vec<_>>().join("\n"),
        reply_hint(*format, last_reply)
    )]
    InvalidPlan {
        /// What is wrong with the last reply.
        problems: Vec<PlanProblem>,
        /// The last reply (secrets redacted), for showing or saving.
        last_reply: String,
        /// Requests made.
        attempts: u32,
        /// Where the plan would have gone.
        path: PathBuf,
        /// Tokens spent.
        usage: Usage,
        /// The format asked for (the problems are worded for it).
        format: PlanFormat,
    },

    /// Writing the plan failed.
    #[error("cannot write the plan to {}: {source}; check that the directory is writable", path.display())]
    Write {
        /// Target path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Asks a [`ChatClient`] for a plan and writes it once it validates.
pub struct Architect<'c, C: ChatClient + ?Sized> {
    client: &'c C,
    repo_root: PathBuf,
    options: ArchitectOptions,
}

impl<'c, C: ChatClient + ?Sized> Architect<'c, C> {
    /// An Architect for the repository at `repo_root`.
    pub fn new(client: &'c C, repo_root: impl Into<PathBuf>, options: ArchitectOptions) -> Self {
        Self {
            client,
            repo_root: repo_root.into(),
            options,
        }
    }

    /// The plan file path in effect.
    pub fn plan_path(&self) -> PathBuf {
        if self.options.plan_path.is_absolute() {
            self.options.plan_path.clone()
        } else {
            self.repo_root.join(&self.options.plan_path)
        }
    }

    /// The system prompt and first user message for `input`, asking for a markdown plan.
    pub fn initial_messages(input: &PlanInput<'_>) -> Vec<ChatMessage> {
        Self::initial_messages_for(input, PlanFormat::Markdown)
    }

    /// The system prompt and first user message for `input`, asking for a plan in `format`.
    pub fn initial_messages_for(input: &PlanInput<'_>, format: PlanFormat) -> Vec<ChatMessage> {
        let listed = |items: &[String]| {
            if items.is_empty() {
                "(none)".to_string()
            } else {
                items
                    .iter()
                    .map(|item| format!("- `{item}`"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        let reference_ids = listed(input.reference_ids);
        let (system, user) = match format {
            PlanFormat::Markdown => (
                SYSTEM_PROMPT,
                fill(
                    USER_PROMPT,
                    &[
                        ("request", input.request.trim()),
                        ("reference_ids", &reference_ids),
                        ("repo_map", input.repo_map.trim()),
                    ],
                ),
            ),
            PlanFormat::JsonSchema => (
                JSON_SYSTEM_PROMPT,
                fill(
                    JSON_USER_PROMPT,
                    &[
                        ("request", input.request.trim()),
                        ("reference_ids", &reference_ids),
                        ("files", &listed(&normalized_files(input.files))),
                        ("repo_map", input.repo_map.trim()),
                    ],
                ),
            ),
        };
        vec![ChatMessage::system(system.trim()), ChatMessage::user(user)]
    }

    /// Asks for a plan, validates it, asks once more with the problems listed when needed, and writes the valid
    /// plan atomically to [`Architect::plan_path`]. Reply text streams to `on_delta` as it arrives. In
    /// [`PlanFormat::JsonSchema`] every request carries the plan schema and the reply must be a JSON plan; a reply
    /// that is not counts as invalid like any other problem.
    pub async fn plan(
        &self,
        input: PlanInput<'_>,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<PlanOutcome, ArchitectError> {
        let path = self.plan_path();
        let format = self.options.format;
        let schema = (format == PlanFormat::JsonSchema)
            .then(|| plan_response_schema(input.reference_ids, input.files));
        let mut messages = Self::initial_messages_for(&input, format);
        let mut usage = Usage::default();
        let mut cost = Some(0.0);
        let mut attempts = 0;
        let mut schema_ignored = false;
        loop {
            attempts += 1;
            let mut request = self
                .client
                .request(messages.clone())
                .with_stream(self.options.stream);
            request.max_tokens = self.options.max_tokens;
            request.temperature = self.options.temperature;
            request.response_schema = schema.clone();
            let response = self.client.chat(&request, &mut *on_delta, cancel).await?;
            usage += response.usage;
            cost = cost.zip(response.cost).map(|(a, b)| a + b);

            let reply = self.client.redact(&response.text).into_owned();
            let (plan, mut problems) = match format {
                PlanFormat::Markdown => {
                    let plan = Plan::parse(&reply);
                    let problems = plan.validate(&self.repo_root, input.reference_ids);
                    (plan, problems)
                }
                PlanFormat::JsonSchema => match Plan::from_json(&reply) {
                    Ok(plan) => {
                        let problems = plan.validate(&self.repo_root, input.reference_ids);
                        (plan, problems)
                    }
                    Err(detail) => match self.markdown_reading(&reply, &input) {
                        Some(plan) => {
                            if !schema_ignored {
                                warn!(
                                    "the architect's server ignored the plan's JSON Schema (response_format) and \
                                     answered in markdown; its markdown plan is used, and it is asked for markdown \
                                     for the rest of this run (set `plan-format: markdown` to skip the schema)"
                                );
                            }
                            schema_ignored = true;
                            (plan, Vec::new())
                        }
                        None => (Plan::default(), vec![PlanProblem::NotJson { detail }]),
                    },
                },
            };
            if response.finish_reason == FinishReason::Length {
                problems.insert(0, PlanProblem::Truncated);
            }
            if problems.is_empty() {
                write_plan(&path, &plan)?;
                info!(path = %path.display(), attempts, format = format.name(), steps = plan.steps.len(), files = plan.files.len(), "plan written");
                return Ok(PlanOutcome {
                    plan,
                    path,
                    usage,
                    cost,
                    attempts,
                    schema_ignored,
                });
            }
            if attempts >= 2 {
                return Err(ArchitectError::InvalidPlan {
                    problems,
                    last_reply: reply,
                    attempts,
                    path,
                    usage,
                    format,
                });
            }
            warn!(
                problems = problems.len(),
                format = format.name(),
                "plan failed validation; asking the Architect to correct it"
            );
            let listed = problems
                .iter()
                .map(|p| format!("- {}", p.describe(format)))
                .collect::<Vec<_>>()
                .join("\n");
            let retry = match format {
                PlanFormat::Markdown => RETRY_PROMPT,
                PlanFormat::JsonSchema => JSON_RETRY_PROMPT,
            };
            messages.push(ChatMessage::assistant(reply));
            messages.push(ChatMessage::user(fill(retry, &[("problems", &listed)])));
        }
    }
}

impl<C: ChatClient + ?Sized> Architect<'_, C> {
    /// A reply that is not JSON, read as a markdown plan under the same contract, when
    /// [`ArchitectOptions::markdown_fallback`] allows it and the reading is a valid plan.
    fn markdown_reading(&self, reply: &str, input: &PlanInput<'_>) -> Option<Plan> {
        if !self.options.markdown_fallback {
            return None;
        }
        let plan = Plan::parse(reply);
        plan.validate(&self.repo_root, input.reference_ids)
            .is_empty()
            .then_some(plan)
    }
}

/// What follows the problems in [`ArchitectError::InvalidPlan`]: for a JSON plan, where the setting is; for any
/// plan, how the server's last reply began (already redacted), so a user can see what came back.
fn reply_hint(format: PlanFormat, last_reply: &str) -> String {
    const LINES: usize = 6;
    const CHARS: usize = 600;
    let mut hint = String::new();
    if format == PlanFormat::JsonSchema {
        hint.push_str(
            "\nThe plan was asked for as JSON (`plan-format: json-schema`, which `auto` picks for this provider). If \
             the server does not honour `response_format`, set `plan-format: markdown` under `architect:` in .aidx.yml.",
        );
    }
    let trimmed = last_reply.trim();
    if trimmed.is_empty() {
        hint.push_str("\nThe server's last reply was empty.");
        return hint;
    }
    let mut shown: String = trimmed
        .lines()
        .take(LINES)
        .map(|line| format!("\n    | {line}"))
        .collect();
    if shown.chars().count() > CHARS {
        shown = shown.chars().take(CHARS).collect::<String>() + " …";
    } else if trimmed.lines().count() > LINES {
        shown.push_str("\n    | …");
    }
    hint.push_str("\nThe server's last reply began:");
    hint.push_str(&shown);
    hint
}

fn write_plan(path: &Path, plan: &Plan) -> Result<(), ArchitectError> {
    write_atomically(path, plan.to_markdown().as_bytes()).map_err(|source| ArchitectError::Write {
        path: path.to_path_buf(),
        source,
    })
}
