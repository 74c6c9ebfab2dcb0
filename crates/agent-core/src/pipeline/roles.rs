//! The seams between the pipeline and the engines: the [`Researcher`], [`Planner`] and
//! [`Editor`] traits and the data they exchange.
//!
//! The traits are synchronous on purpose: an adapter around an async engine owns its runtime
//! and blocks inside, so the pipeline stays a plain sequence of steps. The price is that a
//! pipeline must not be driven from inside a tokio runtime (`block_on` would panic there); an
//! interactive front end runs it on a worker thread of its own and talks to it over channels,
//! which also keeps model work off its render loop. Making the roles async instead would push
//! an executor into every caller and every test for no gain: each step waits on the previous.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

use super::cancel::CancelToken;
use super::plan_doc::PlanDocument;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// Instructions for the model.
    System,
    /// The request side (the user, or aidx on the user's behalf).
    User,
    /// The model's replies.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Author.
    pub role: ChatRole,
    /// Text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: ChatRole::Assistant,
            content: content.into(),
        }
    }
}

/// How the Editor should generate one reply.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerateOptions {
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// Sampling temperature (0 is greedy).
    pub temperature: f64,
    /// Generation stops at any of these strings.
    pub stop: Vec<String>,
    /// An llguidance Lark grammar to constrain the reply with, for Editors that
    /// [support grammars](Editor::supports_grammar).
    pub grammar: Option<String>,
    /// The request's cancellation: the Editor stops generating soon after it fires and
    /// returns an error.
    pub cancel: CancelToken,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its reply (or the grammar was complete).
    Stop,
    /// The token limit was reached; the reply may be cut off.
    Length,
    /// Anything else the engine reported.
    Other,
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Other => "other",
        })
    }
}

/// One reply of the Editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The reply text.
    pub text: String,
    /// Tokens in the prompt, as the engine counted them.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Why generation ended.
    pub finish: FinishReason,
}

/// Why a role could not do its job.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RoleError {
    /// The role is not configured or cannot be reached (network down, no API key, model file
    /// missing); the pipeline may fall back to another role.
    #[error("{role} is unavailable: {reason}")]
    Unavailable {
        /// Which role (`architect`, `editor`, `researcher`).
        role: String,
        /// What is missing and how to fix it.
        reason: String,
    },
    /// The role was reached but failed.
    #[error("{role} failed: {reason}")]
    Failed {
        /// Which role.
        role: String,
        /// What went wrong.
        reason: String,
    },
}

/// What the Research phase found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Research {
    /// The rendered repository map (already under the repo map's token cap).
    pub map: String,
    /// Files the map ranked as relevant, relative to the repository root.
    pub files: Vec<PathBuf>,
    /// Stable reference ids the map defines; plans cite them and commits list them in `Refs:`.
    pub refs: Vec<String>,
}

/// Finds what in the repository matters for a request (the repo map).
pub trait Researcher {
    /// Researches `request`; `chat_files` are the files the user added (repository-relative).
    fn research(&mut self, request: &str, chat_files: &[PathBuf]) -> Result<Research, RoleError>;
}

/// Writes the plan: the cloud Architect, or the local model in fully local mode.
pub trait Planner {
    /// A short name for reports and logs (`architect`, `local`).
    fn name(&self) -> &str;

    /// Plans `request` from `research`. Streamed text goes to `on_text` as it arrives; when
    /// `cancel` fires the request in flight is dropped and an error returned.
    fn plan(
        &mut self,
        request: &str,
        research: &Research,
        cancel: &CancelToken,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<PlanDocument, RoleError>;

    /// Counts `text` in this role's tokens (tiktoken for cloud roles), for the context gate.
    fn count_tokens(&self, text: &str) -> usize;

    /// What the last plan cost, as the server reported it over all its requests. `None` when
    /// the planner does not know.
    fn last_plan_usage(&self) -> Option<TokenUsage> {
        None
    }
}

/// The model that turns a plan into edits.
pub trait Editor {
    /// Generates one reply to `messages`; streamed text goes to `on_text` as it arrives.
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError>;

    /// Counts `text` with the model's own tokenizer.
    fn count_tokens(&self, text: &str) -> usize;

    /// The largest context (prompt plus reply, in tokens) the model can run with safely,
    /// from the VRAM budget; `None` when there is no known limit.
    fn safe_context_tokens(&self) -> Option<usize>;

    /// Whether [`GenerateOptions::grammar`] is honoured (constrained decoding).
    fn supports_grammar(&self) -> bool {
        false
    }

    /// Frees the model's memory until its next use. A no-op for models that stay loaded; models
    /// loaded in turn (the Editor and the verifier on a device too small for both) drop theirs.
    fn release(&mut self) {}
}

/// What a role's model calls cost in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenUsage {
    /// Calls made.
    pub calls: usize,
    /// Prompt tokens, as the engine or server counted them.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
}

impl TokenUsage {
    /// Adds one call.
    pub fn add(&mut self, prompt_tokens: usize, completion_tokens: usize) {
        self.calls += 1;
        self.prompt_tokens += prompt_tokens;
        self.completion_tokens += completion_tokens;
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: TokenUsage) {
        self.calls += other.calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}
