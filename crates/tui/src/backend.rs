//! What interactive mode asks of the program around it: the [`Backend`] runs the pipeline and
//! the repository commands on the worker thread, with the same roles `aidx run` builds.
//!
//! The TUI owns no role and no configuration: the CLI implements [`Backend`] with its own
//! context and role construction, so interactive mode and the commands share one path.

use std::path::PathBuf;

use aidx_agent_core::pipeline::{CancelToken, ChatMessage, Observer, Reviewer, RunReport};
use thiserror::Error;

/// A failure shown in an error panel, in the words the non-interactive command would print.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    /// An error from anything printable.
    pub fn new(text: impl std::fmt::Display) -> Self {
        BackendError(text.to_string())
    }
}

/// The files in play for a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatFiles {
    /// Files the Editor may change (`/add`).
    pub editable: Vec<PathBuf>,
    /// Files shown as context only (`/read-only`).
    pub read_only: Vec<PathBuf>,
}

/// A fraction of a limit, for the status bar's gauges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// What is used.
    pub used: f64,
    /// The limit.
    pub limit: f64,
}

impl Usage {
    /// `used / limit`, clamped to 0..=1 (0 when the limit is 0).
    pub fn ratio(&self) -> f64 {
        if self.limit <= 0.0 {
            0.0
        } else {
            (self.used / self.limit).clamp(0.0, 1.0)
        }
    }
}

/// What the status bar shows about the session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionStatus {
    /// The Editor's model (file name or model id), or `not loaded`.
    pub editor: String,
    /// The Architect's model, when one is configured.
    pub architect: Option<String>,
    /// `max-chat-history-tokens`.
    pub history_limit: usize,
    /// Weights + KV cache against the device's memory, in bytes (`None`: no local model).
    pub memory: Option<Usage>,
    /// The current branch (`HEAD` when detached).
    pub branch: String,
    /// Paths with uncommitted changes.
    pub dirty: usize,
}

/// One entry of `/tokens`: a part of the next prompt and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLine {
    /// What it is (`conversation history`, `file src/lib.rs`, …).
    pub part: String,
    /// Tokens, in the role's own tokenizer.
    pub tokens: usize,
}

/// The work interactive mode hands to the program; every method runs on the worker thread
/// (which also builds it, so roles need not be `Send`), may block, and reports progress through
/// `observer`.
pub trait Backend {
    /// Facts for the status bar (cheap: no model call).
    fn status(&mut self) -> SessionStatus;

    /// Loads what the next request needs (the Editor's model), once.
    fn prepare(&mut self, observer: &mut dyn Observer) -> Result<(), BackendError>;

    /// The pipeline on `request` (`aidx run`): research, plan, edit, review through
    /// `reviewer`, validate, commit. `history` is the conversation so far: the planner sees it
    /// under `max-chat-history-tokens`, the Editor never does.
    fn run(
        &mut self,
        request: &str,
        files: &ChatFiles,
        history: &[ChatMessage],
        observer: &mut dyn Observer,
        reviewer: &mut dyn Reviewer,
        cancel: &CancelToken,
    ) -> Result<RunReport, BackendError>;

    /// Research and plan only (`/plan`): writes plan.md and returns its text.
    fn plan(
        &mut self,
        request: &str,
        files: &ChatFiles,
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<String, BackendError>;

    /// Answers a question without editing (`/ask`), streaming the answer to `observer`.
    fn ask(
        &mut self,
        question: &str,
        files: &ChatFiles,
        history: &[ChatMessage],
        observer: &mut dyn Observer,
        cancel: &CancelToken,
    ) -> Result<String, BackendError>;

    /// `aidx undo`: reverts the last aidx commit; returns what was done.
    fn undo(&mut self) -> Result<String, BackendError>;

    /// `aidx diff`: the last aidx change as a unified diff.
    fn last_diff(&mut self) -> Result<String, BackendError>;

    /// Commits the user's own uncommitted changes to tracked files (`/commit`).
    fn commit(&mut self, message: Option<&str>) -> Result<String, BackendError>;

    /// The repository map for `request` (`/map`).
    fn map(&mut self, request: &str, files: &ChatFiles) -> Result<String, BackendError>;

    /// The memory budget of the Editor's model (`/budget`), as `aidx budget` prints it.
    fn budget(&mut self) -> Result<String, BackendError>;

    /// What each part of the next prompt costs (`/tokens`).
    fn tokens(
        &mut self,
        files: &ChatFiles,
        history: &[ChatMessage],
    ) -> Result<Vec<TokenLine>, BackendError>;

    /// Counts `text` in the Editor's tokens (the gate's measure for the conversation).
    fn count_tokens(&mut self, text: &str) -> usize;

    /// Tracked and untracked files of the repository, for `/add` completion.
    fn repo_files(&mut self) -> Vec<String>;
}
