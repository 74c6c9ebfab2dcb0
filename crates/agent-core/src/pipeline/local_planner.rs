//! Fully local mode: the local Editor model writes the plan when no Architect is configured or
//! reachable. Its prompt (a data file) asks for the Architect's `plan.md` layout; the repository
//! map is cut from the end until the prompt fits the model's safe context.

use crate::gate::{EditorTokens, TokenCounter, messages_tokens};

use super::cancel::CancelToken;
use super::plan_doc::PlanDocument;
use super::roles::{ChatMessage, Editor, GenerateOptions, Planner, Research, RoleError};
use super::template::fill;

const SYSTEM: &str = include_str!("../../prompts/local_planner_system.md");
const USER: &str = include_str!("../../prompts/local_planner_user.md");

/// A [`Planner`] backed by the local Editor model.
pub struct LocalPlanner<'a> {
    editor: &'a mut dyn Editor,
    max_tokens: usize,
    last_prompt_tokens: usize,
}

impl<'a> LocalPlanner<'a> {
    /// Plans with `editor`, generating at most `max_tokens` tokens of plan.
    pub fn new(editor: &'a mut dyn Editor, max_tokens: usize) -> Self {
        LocalPlanner {
            editor,
            max_tokens,
            last_prompt_tokens: 0,
        }
    }

    /// Tokens of the last prompt sent (after the map was cut to fit).
    pub fn last_prompt_tokens(&self) -> usize {
        self.last_prompt_tokens
    }

    /// The planning conversation for `request`, with as much of `map` as fits.
    pub fn messages(&self, request: &str, map: &str) -> Result<Vec<ChatMessage>, RoleError> {
        let counter = EditorTokens(&*self.editor);
        let build = |map: &str| {
            vec![
                ChatMessage::system(SYSTEM.trim_end()),
                ChatMessage::user(
                    fill(
                        USER,
                        &[("request", request.trim()), ("map", map.trim_end())],
                    )
                    .trim_end(),
                ),
            ]
        };
        let Some(available) = self
            .editor
            .safe_context_tokens()
            .map(|safe| safe.saturating_sub(self.max_tokens))
        else {
            return Ok(build(map));
        };
        let lines: Vec<&str> = map.lines().collect();
        let fits = |n: usize| {
            let cut = lines[..n].join("\n");
            messages_tokens(&counter as &dyn TokenCounter, &build(&cut)) <= available
        };
        if fits(lines.len()) {
            return Ok(build(map));
        }
        if !fits(0) {
            let needed = messages_tokens(&counter, &build(""));
            return Err(RoleError::Failed {
                role: "local planner".into(),
                reason: format!(
                    "the planning prompt needs {needed} tokens without any repository map, but only {available} fit the model's safe context; shorten the request or lower editor.max-tokens"
                ),
            });
        }
        let (mut lo, mut hi) = (0, lines.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        tracing::info!(
            kept = lo,
            of = lines.len(),
            "repository map cut to fit the local planner"
        );
        Ok(build(&format!("{}\n⋮", lines[..lo].join("\n"))))
    }
}

impl Planner for LocalPlanner<'_> {
    fn name(&self) -> &str {
        "local"
    }

    fn plan(
        &mut self,
        request: &str,
        research: &Research,
        cancel: &CancelToken,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<PlanDocument, RoleError> {
        // A small local model rambles; constrain it to the plan's shape with files research found,
        // which also bounds its length, when the Editor supports grammars.
        let candidates: Vec<String> = research
            .files
            .iter()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        let (grammar, max_tokens) = if self.editor.supports_grammar() && !candidates.is_empty() {
            let bound = super::plan_grammar::plan_grammar_max_chars(&candidates);
            (
                Some(super::plan_grammar::plan_grammar(&candidates)),
                self.max_tokens.max(bound),
            )
        } else {
            (None, self.max_tokens)
        };
        let budgeted = std::mem::replace(&mut self.max_tokens, max_tokens);
        let messages = self.messages(request, &research.map);
        self.max_tokens = budgeted;
        let messages = messages?;
        self.last_prompt_tokens = messages_tokens(&EditorTokens(&*self.editor), &messages);
        let options = GenerateOptions {
            max_tokens,
            temperature: 0.0,
            stop: Vec::new(),
            grammar,
            cancel: cancel.clone(),
        };
        let completion = self.editor.complete(&messages, &options, on_text)?;
        Ok(PlanDocument::from_markdown(completion.text.trim()))
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.editor.count_tokens(text)
    }
}
