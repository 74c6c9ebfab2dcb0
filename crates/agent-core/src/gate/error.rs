//! Errors of the context gate; each names the token numbers and what to change.

use thiserror::Error;

/// Why a prompt could not be held under its limit.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum GateError {
    /// The newest message alone is larger than the history gate.
    #[error(
        "the newest message needs {tokens} tokens but max-chat-history-tokens is {gate}: shorten the message or raise max-chat-history-tokens"
    )]
    MessageOverGate {
        /// Tokens of the message (template overhead included).
        tokens: usize,
        /// The gate.
        gate: usize,
    },
    /// The Editor prompt does not fit the Editor's safe context even with content elided.
    #[error(
        "the Editor prompt needs {needed} tokens (system {system}, plan {plan}, files {files}, request {request}, template {overhead}) but only {available} fit: safe context {safe_context} minus {max_new_tokens} for the reply. Add fewer files, shorten the plan, lower editor.max-tokens, or give the Editor more context (editor.context / gpu.vram)"
    )]
    EditorPromptTooLarge {
        /// Tokens the smallest prompt would need.
        needed: usize,
        /// Of which the system prompt.
        system: usize,
        /// Of which the plan.
        plan: usize,
        /// Of which the files (after elision).
        files: usize,
        /// Of which the request.
        request: usize,
        /// Of which template text and per-message overhead.
        overhead: usize,
        /// Tokens available for the prompt.
        available: usize,
        /// The Editor's safe context.
        safe_context: usize,
        /// Tokens reserved for the reply.
        max_new_tokens: usize,
    },
    /// The reply budget alone uses the whole safe context.
    #[error(
        "editor.max-tokens ({max_new_tokens}) leaves no room for a prompt in the Editor's safe context of {safe_context} tokens: lower editor.max-tokens or give the Editor more context"
    )]
    NoRoomForPrompt {
        /// The Editor's safe context.
        safe_context: usize,
        /// Tokens reserved for the reply.
        max_new_tokens: usize,
    },
}
