//! Tokens per role: a wrapper that counts what each call to a model cost, as the engine or
//! server reported it, for the run report.

use super::roles::{ChatMessage, Completion, Editor, GenerateOptions, RoleError, TokenUsage};

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
