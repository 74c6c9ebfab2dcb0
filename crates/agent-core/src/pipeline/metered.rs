//! Tokens per role: a wrapper that counts what each call to a model cost, as the engine or
//! server reported it, for the run report.

use serde::Serialize;

use super::roles::{ChatMessage, Completion, Editor, GenerateOptions, RoleError};

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

/// An [`Editor`] that tallies each completion's tokens and passes everything else through.
pub(crate) struct Metered<'e> {
    inner: &'e mut dyn Editor,
    /// What the calls through this wrapper cost.
    pub used: TokenUsage,
}

impl<'e> Metered<'e> {
    pub(crate) fn new(inner: &'e mut dyn Editor) -> Self {
        Metered {
            inner,
            used: TokenUsage::default(),
        }
    }
}

impl Editor for Metered<'_> {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        let completion = self.inner.complete(messages, options, on_text)?;
        self.used
            .add(completion.prompt_tokens, completion.completion_tokens);
        Ok(completion)
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        self.inner.safe_context_tokens()
    }

    fn supports_grammar(&self) -> bool {
        self.inner.supports_grammar()
    }

    fn release(&mut self) {
        self.inner.release();
    }
}
