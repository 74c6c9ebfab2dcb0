//! What callers and both engines exchange: requests, messages, results and errors. Its own file so
//! that the llama.cpp engine (`llama_cpp.rs`) depends on these types, not on the module that
//! drives it.

use std::path::PathBuf;
use std::time::Duration;

use crate::budget::BudgetError;
use crate::gguf::GgufError;

/// Errors from loading or running the embedded model.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The caller cancelled the generation (its flag was set).
    #[error("generation cancelled")]
    Cancelled,
    /// The GGUF file is unreadable, corrupt, truncated or of an unsupported architecture.
    #[error("{0}")]
    Gguf(#[from] GgufError),
    /// The model file does not exist.
    #[error(
        "model file {0} does not exist; run `aidx model pull` for a known model, or pass the path of a .gguf file"
    )]
    MissingFile(PathBuf),
    /// The engine failed to load the model.
    #[error("the embedded engine could not load {path}: {detail}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// The engine's message.
        detail: String,
    },
    /// The engine panicked; aidx caught it.
    #[error(
        "the embedded engine crashed ({during}): {message}; this is a bug in the engine or an unsupported model file"
    )]
    Panic {
        /// What the engine was doing.
        during: &'static str,
        /// The panic message.
        message: String,
    },
    /// The request was refused before it reached the engine because it would not fit.
    #[error(
        "prompt of {prompt_tokens} tokens plus {max_new_tokens} new tokens exceeds the safe context of {context_tokens} tokens; shorten the prompt, lower max-tokens or max-chat-history-tokens, or use a KV cache of q8_0 to fit more"
    )]
    ContextOverflow {
        /// Tokens in the prompt (chat template applied).
        prompt_tokens: usize,
        /// Requested new tokens.
        max_new_tokens: usize,
        /// The largest context that is safe.
        context_tokens: usize,
    },
    /// The model would not fit the device: refused before loading. The message gives the
    /// budget's terms and what to change.
    #[error("{message}")]
    OverBudget {
        /// The whole explanation.
        message: String,
    },
    /// The budget's inputs could not be read.
    #[error("{0}")]
    Budget(#[from] BudgetError),
    /// The engine reported an error while generating.
    #[error("generation failed: {0}")]
    Generate(String),
}

/// A grammar that constrains what the model may emit.
#[derive(Debug, Clone, PartialEq)]
pub enum Grammar {
    /// llguidance Lark syntax.
    Lark(String),
    /// A regular expression the whole reply must match.
    Regex(String),
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: Role,
    /// The text.
    pub content: String,
}

/// Chat roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// System prompt.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// A generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Most new tokens.
    pub max_new_tokens: usize,
    /// `None` or `Some(0.0)` is greedy.
    pub temperature: Option<f64>,
    /// Strings that end generation.
    pub stop: Vec<String>,
    /// Constrained decoding.
    pub grammar: Option<Grammar>,
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// End of sequence (or the grammar completed).
    Stop,
    /// The new-token limit was reached.
    Length,
    /// Anything else the engine reported.
    Other(String),
}

/// The result of one generation, with measured speeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Decoded text.
    pub text: String,
    /// Prompt tokens (chat template applied).
    pub prompt_tokens: usize,
    /// Generated tokens.
    pub completion_tokens: usize,
    /// Why it ended.
    pub finish: FinishReason,
    /// Prompt processing speed.
    pub prompt_tok_per_sec: f64,
    /// Decode speed.
    pub decode_tok_per_sec: f64,
    /// Wall time of the request.
    pub elapsed: Duration,
}
