//! Chat history under `max-chat-history-tokens`: trimmed oldest first, or summarized.

use crate::config::{Config, HistoryOverflow};
use crate::pipeline::template::fill;
use crate::pipeline::{ChatMessage, ChatRole, Editor, GenerateOptions, RoleError};

use super::{GateError, TokenCounter, message_tokens, messages_tokens};

const SUMMARIZE_SYSTEM: &str = include_str!("../../prompts/summarize_system.md");
const SUMMARIZE_USER: &str = include_str!("../../prompts/summarize_user.md");
const SUMMARY_MESSAGE: &str = include_str!("../../prompts/summary_message.md");

/// The history limit and what to do above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryGate {
    /// Most tokens of history sent to any role.
    pub max_tokens: usize,
    /// Trim or summarize above the limit.
    pub overflow: HistoryOverflow,
}

impl HistoryGate {
    /// The gate configured by `max-chat-history-tokens` and `history-overflow`.
    pub fn from_config(config: &Config) -> Self {
        HistoryGate {
            max_tokens: config.max_chat_history_tokens,
            overflow: config.history_overflow,
        }
    }

    /// Tokens reserved for a summary (a quarter of the gate).
    pub fn summary_budget(&self) -> usize {
        self.max_tokens / 4
    }
}

/// Condenses old turns into a short text (the role configured for summaries).
pub trait Summarizer {
    /// Summarizes `turns` in at most about `max_tokens` tokens.
    fn summarize(&mut self, turns: &[ChatMessage], max_tokens: usize) -> Result<String, RoleError>;
}

/// Summarizes with an [`Editor`] (the local model), greedy, with the prompt in
/// `prompts/summarize_*.md`. A prompt that would not fit the Editor's safe context is not sent:
/// the summary fails and the gate trims instead.
pub struct EditorSummarizer<'a> {
    editor: &'a mut dyn Editor,
    last_prompt_tokens: usize,
}

impl<'a> EditorSummarizer<'a> {
    /// Summarizes with `editor`.
    pub fn new(editor: &'a mut dyn Editor) -> Self {
        EditorSummarizer {
            editor,
            last_prompt_tokens: 0,
        }
    }

    /// Tokens of the last summarizing prompt (template overhead included).
    pub fn last_prompt_tokens(&self) -> usize {
        self.last_prompt_tokens
    }
}

impl Summarizer for EditorSummarizer<'_> {
    fn summarize(&mut self, turns: &[ChatMessage], max_tokens: usize) -> Result<String, RoleError> {
        let conversation: String = turns
            .iter()
            .map(|m| {
                let who = match m.role {
                    ChatRole::System => "SYSTEM",
                    ChatRole::User => "USER",
                    ChatRole::Assistant => "ASSISTANT",
                };
                format!("# {who}\n{}\n", m.content.trim_end())
            })
            .collect::<Vec<_>>()
            .join("\n");
        // Roughly 3 words per 4 tokens in English text.
        let max_words = (max_tokens * 3 / 4).max(1).to_string();
        let messages = [
            ChatMessage::system(fill(SUMMARIZE_SYSTEM, &[("max_words", &max_words)])),
            ChatMessage::user(fill(SUMMARIZE_USER, &[("conversation", &conversation)])),
        ];
        let options = GenerateOptions {
            max_tokens,
            temperature: 0.0,
            stop: Vec::new(),
            grammar: None,
            // A summary is short; the edit loop checks the request's token right after it.
            ..Default::default()
        };
        self.last_prompt_tokens =
            super::messages_tokens(&super::EditorTokens(&*self.editor), &messages);
        if let Some(safe) = self.editor.safe_context_tokens()
            && self.last_prompt_tokens + max_tokens > safe
        {
            return Err(RoleError::Failed {
                role: "summarizer".into(),
                reason: format!(
                    "the summarizing prompt needs {} tokens plus {max_tokens} for the summary, over the Editor's safe context of {safe}",
                    self.last_prompt_tokens
                ),
            });
        }
        let completion = self.editor.complete(&messages, &options, &mut |_| {})?;
        Ok(completion.text.trim().to_string())
    }
}

/// What [`ChatHistory::fit`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct GateReport {
    /// Tokens of the history after fitting (never above the gate).
    pub tokens: usize,
    /// Messages removed (trimmed or folded into the summary).
    pub dropped: usize,
    /// Whether a summary now stands for the removed messages.
    pub summarized: bool,
    /// Why summarizing was not possible and trimming was used instead.
    pub summary_failed: Option<String>,
}

impl GateReport {
    /// What the user reads when messages were removed: `what` names them (`earlier reflection`,
    /// `earlier conversation`). `None` when nothing was removed.
    pub fn note(&self, what: &str, limit: usize) -> Option<String> {
        (self.dropped > 0).then(|| {
            format!(
                "{} {what} message(s) {} to stay under {limit} tokens",
                self.dropped,
                if self.summarized {
                    "summarized"
                } else {
                    "trimmed"
                }
            )
        })
    }
}

/// A conversation's history (system prompts excluded), compacted in place to fit the gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatHistory {
    messages: Vec<ChatMessage>,
}

impl ChatHistory {
    /// An empty history.
    pub fn new() -> Self {
        ChatHistory::default()
    }

    /// Appends a message.
    pub fn push(&mut self, message: ChatMessage) {
        self.messages.push(message);
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// Compacts the history until it fits `gate.max_tokens`, counted with `counter`: oldest
    /// messages first are dropped (`trim`), or folded into one summary message (`summarize`,
    /// which falls back to trimming when no summarizer is given or it fails). A leading
    /// assistant message left without its question is dropped too.
    ///
    /// The result is a hard limit: on `Ok`, [`messages`](Self::messages) count at most
    /// `gate.max_tokens`. When the newest message alone is over the gate the history is left
    /// unchanged and [`GateError::MessageOverGate`] is returned.
    pub fn fit(
        &mut self,
        gate: &HistoryGate,
        counter: &dyn TokenCounter,
        summarizer: Option<&mut dyn Summarizer>,
    ) -> Result<GateReport, GateError> {
        let total = messages_tokens(counter, &self.messages);
        if total <= gate.max_tokens {
            return Ok(GateReport {
                tokens: total,
                ..GateReport::default()
            });
        }
        if let Some(last) = self.messages.last() {
            let tokens = message_tokens(counter, last);
            if tokens > gate.max_tokens {
                return Err(GateError::MessageOverGate {
                    tokens,
                    gate: gate.max_tokens,
                });
            }
        }
        let mut report = GateReport::default();
        if gate.overflow == HistoryOverflow::Summarize {
            match summarizer {
                Some(summarizer) => match self.summarize(gate, counter, summarizer) {
                    Ok(dropped) => {
                        report.dropped = dropped;
                        report.summarized = dropped > 0;
                    }
                    Err(why) => {
                        tracing::warn!(%why, "summarizing history failed; trimming instead");
                        report.summary_failed = Some(why);
                    }
                },
                None => {
                    report.summary_failed = Some("no summarizer role is available".to_string());
                }
            }
        }
        report.dropped += self.trim_to(gate.max_tokens, counter);
        report.tokens = messages_tokens(counter, &self.messages);
        debug_assert!(report.tokens <= gate.max_tokens);
        tracing::debug!(
            ?report,
            gate = gate.max_tokens,
            "history fitted to the gate"
        );
        Ok(report)
    }

    /// Drops oldest messages until the rest fits `limit`; returns how many were dropped.
    fn trim_to(&mut self, limit: usize, counter: &dyn TokenCounter) -> usize {
        let keep_from = self.first_kept(limit, counter);
        let mut start = keep_from;
        while start + 1 < self.messages.len() && self.messages[start].role == ChatRole::Assistant {
            start += 1;
        }
        self.messages.drain(..start);
        start
    }

    /// The index of the oldest message that can be kept so the suffix fits `limit`.
    fn first_kept(&self, limit: usize, counter: &dyn TokenCounter) -> usize {
        let mut used = 0;
        let mut start = self.messages.len();
        while start > 0 {
            let tokens = message_tokens(counter, &self.messages[start - 1]);
            if used + tokens > limit {
                break;
            }
            used += tokens;
            start -= 1;
        }
        start
    }

    /// Which messages a summary would replace and how many tokens it may take, when the
    /// history is over `gate` and a summary can help. `None`: nothing to summarize, or no room.
    pub fn summary_plan(
        &self,
        gate: &HistoryGate,
        counter: &dyn TokenCounter,
    ) -> Option<SummaryPlan> {
        if messages_tokens(counter, &self.messages) <= gate.max_tokens {
            return None;
        }
        let wrapper = message_tokens(counter, &summary_message(""));
        let budget = gate.summary_budget();
        if budget <= wrapper {
            return None;
        }
        let replace = self.first_kept(gate.max_tokens - budget, counter);
        (replace > 0).then_some(SummaryPlan {
            replace,
            max_tokens: budget - wrapper,
        })
    }

    /// Replaces the messages `plan` names with one summary message holding `text`, cut to the
    /// plan's token budget. Returns how many messages it replaced (0 when `text` is empty).
    pub fn apply_summary(
        &mut self,
        plan: &SummaryPlan,
        text: &str,
        counter: &dyn TokenCounter,
    ) -> usize {
        let text = truncate_to_tokens(text.trim(), plan.max_tokens, counter);
        if text.trim().is_empty() || plan.replace > self.messages.len() {
            return 0;
        }
        self.messages
            .splice(..plan.replace, [summary_message(&text)]);
        plan.replace
    }

    /// Summarizes with `summarizer` along [`summary_plan`](Self::summary_plan). Err: why not
    /// (the caller trims instead).
    fn summarize(
        &mut self,
        gate: &HistoryGate,
        counter: &dyn TokenCounter,
        summarizer: &mut dyn Summarizer,
    ) -> Result<usize, String> {
        let Some(plan) = self.summary_plan(gate, counter) else {
            return Err(format!(
                "the gate of {} tokens leaves no room for a summary",
                gate.max_tokens
            ));
        };
        let text = summarizer
            .summarize(&self.messages[..plan.replace], plan.max_tokens)
            .map_err(|e| e.to_string())?;
        match self.apply_summary(&plan, &text, counter) {
            0 => Err("the summary was empty".to_string()),
            n => Ok(n),
        }
    }
}

/// What a summary would replace: see [`ChatHistory::summary_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryPlan {
    /// The number of oldest messages it replaces.
    pub replace: usize,
    /// Most tokens of summary text.
    pub max_tokens: usize,
}

fn summary_message(text: &str) -> ChatMessage {
    ChatMessage::user(fill(SUMMARY_MESSAGE, &[("summary", text)]))
}

/// The longest prefix of `text`, cut at a word boundary, that counts at most `limit` tokens.
fn truncate_to_tokens(text: &str, limit: usize, counter: &dyn TokenCounter) -> String {
    if counter.count_tokens(text) <= limit {
        return text.to_string();
    }
    let words: Vec<&str> = text.split_inclusive(char::is_whitespace).collect();
    let (mut lo, mut hi) = (0, words.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if counter.count_tokens(&words[..mid].concat()) <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    words[..lo].concat()
}
