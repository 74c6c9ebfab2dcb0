//! The context gate: every prompt to every role is counted, chat history is held under
//! `max-chat-history-tokens`, and the Editor's prompt is held under its safe context.
//!
//! - [`TokenCounter`] counts text in a role's tokens (tiktoken for cloud roles, the GGUF
//!   tokenizer for the embedded model); [`EditorTokens`] and [`PlannerTokens`] adapt the roles.
//! - [`ChatHistory::fit`] trims oldest first or summarizes (with a [`Summarizer`]) until the
//!   history fits — a hard limit.
//! - [`fit_editor_prompt`] builds the hard-reset Editor prompt and elides the least relevant file
//!   content, or refuses with the token numbers, so an overflowing prompt is never sent.

mod editor_budget;
mod error;
mod history;

pub use editor_budget::{EditorBudget, ElidedFile, Elision, FittedPrompt, fit_editor_prompt};
pub use error::GateError;
pub use history::{
    ChatHistory, EditorSummarizer, GateReport, HistoryGate, Summarizer, SummaryPlan,
};

use crate::pipeline::{ChatMessage, Editor, Planner};

/// Tokens added per message for the chat template's role markers (`<|im_start|>user\n` …
/// `<|im_end|>\n` is 5 tokens in ChatML; the margin covers other templates).
pub const MESSAGE_OVERHEAD_TOKENS: usize = 8;

/// Counts text in some model's tokens.
pub trait TokenCounter {
    /// The number of tokens `text` encodes to.
    fn count_tokens(&self, text: &str) -> usize;
}

/// Counts with an [`Editor`]'s own tokenizer.
pub struct EditorTokens<'a>(pub &'a dyn Editor);

impl TokenCounter for EditorTokens<'_> {
    fn count_tokens(&self, text: &str) -> usize {
        self.0.count_tokens(text)
    }
}

/// Counts with a [`Planner`]'s tokenizer.
pub struct PlannerTokens<'a>(pub &'a dyn Planner);

impl TokenCounter for PlannerTokens<'_> {
    fn count_tokens(&self, text: &str) -> usize {
        self.0.count_tokens(text)
    }
}

/// Tokens of one message, template overhead included.
pub fn message_tokens(counter: &dyn TokenCounter, message: &ChatMessage) -> usize {
    counter.count_tokens(&message.content) + MESSAGE_OVERHEAD_TOKENS
}

/// Tokens of a conversation, template overhead included.
pub fn messages_tokens(counter: &dyn TokenCounter, messages: &[ChatMessage]) -> usize {
    messages.iter().map(|m| message_tokens(counter, m)).sum()
}
