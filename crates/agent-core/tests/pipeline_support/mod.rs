//! Deterministic test implementations of the pipeline's roles, declared as such: a scripted
//! Editor, Planner and Researcher, and a word-counting token counter. None of them is a model;
//! they replay what each test scripts and record what they were sent.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::PathBuf;

use aidx_agent_core::config::{Config, Settings};
use aidx_agent_core::gate::TokenCounter;
use aidx_agent_core::pipeline::CancelToken;
use aidx_agent_core::pipeline::{
    ChatMessage, Completion, Editor, FinishReason, GenerateOptions, PlanDocument, Planner,
    Research, Researcher, ReviewAnswer, ReviewDecision, ReviewFile, ReviewRequest, Reviewer,
    RoleError, TokenUsage,
};

/// Test-only token counter: one token per whitespace-separated word. Deterministic, not a
/// model tokenizer.
pub struct WordCounter;

impl TokenCounter for WordCounter {
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

/// Test-only Editor: replies with scripted texts in order and records every conversation and
/// option set it receives. Tokens are counted as words ([`WordCounter`]).
pub struct ScriptedEditor {
    replies: VecDeque<String>,
    /// Every conversation received, in order.
    pub received: Vec<Vec<ChatMessage>>,
    /// The options of each call.
    pub options: Vec<GenerateOptions>,
    /// What `safe_context_tokens` reports.
    pub safe_context: Option<usize>,
    /// What `supports_grammar` reports.
    pub grammar: bool,
    /// How each reply ends, in order (`Stop` once used up).
    pub finishes: VecDeque<FinishReason>,
    /// How many times `release` was called.
    pub releases: usize,
}

impl ScriptedEditor {
    pub fn new(replies: &[&str]) -> Self {
        ScriptedEditor {
            replies: replies.iter().map(|r| r.to_string()).collect(),
            received: Vec::new(),
            options: Vec::new(),
            safe_context: None,
            grammar: false,
            finishes: VecDeque::new(),
            releases: 0,
        }
    }

    /// Ends the replies with `finishes` in order (e.g. `Length` for one cut off at the limit).
    pub fn with_finishes(mut self, finishes: &[FinishReason]) -> Self {
        self.finishes = finishes.iter().copied().collect();
        self
    }

    /// Replies `reply` to every call once the script is used up.
    pub fn repeating(reply: &str, times: usize) -> Self {
        Self::new(&vec![reply; times])
    }
}

impl Editor for ScriptedEditor {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        self.received.push(messages.to_vec());
        self.options.push(options.clone());
        let text = self.replies.pop_front().ok_or_else(|| RoleError::Failed {
            role: "scripted editor".into(),
            reason: "the script has no more replies".into(),
        })?;
        on_text(&text);
        Ok(Completion {
            prompt_tokens: messages
                .iter()
                .map(|m| WordCounter.count_tokens(&m.content))
                .sum(),
            completion_tokens: WordCounter.count_tokens(&text),
            text,
            finish: self.finishes.pop_front().unwrap_or(FinishReason::Stop),
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        WordCounter.count_tokens(text)
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        self.safe_context
    }

    fn supports_grammar(&self) -> bool {
        self.grammar
    }

    fn release(&mut self) {
        self.releases += 1;
    }
}

/// Test-only Planner: returns a fixed plan (or a fixed error) and streams some text of its own
/// conversation, which must never reach the Editor.
pub struct ScriptedPlanner {
    pub result: Result<String, RoleError>,
    pub streamed: String,
    pub calls: usize,
    /// The requests it was given, in order.
    pub requests: Vec<String>,
}

impl ScriptedPlanner {
    pub fn plan(markdown: &str) -> Self {
        ScriptedPlanner {
            result: Ok(markdown.to_string()),
            streamed: "ARCHITECT-PRIVATE-REASONING: I considered three designs.".into(),
            calls: 0,
            requests: Vec::new(),
        }
    }

    pub fn unavailable() -> Self {
        ScriptedPlanner {
            result: Err(RoleError::Unavailable {
                role: "architect".into(),
                reason: "connection refused at http://127.0.0.1:9".into(),
            }),
            streamed: String::new(),
            calls: 0,
            requests: Vec::new(),
        }
    }
}

impl Planner for ScriptedPlanner {
    fn name(&self) -> &str {
        "architect"
    }

    fn plan(
        &mut self,
        request: &str,
        _research: &Research,
        _cancel: &CancelToken,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<PlanDocument, RoleError> {
        self.calls += 1;
        self.requests.push(request.to_string());
        on_text(&self.streamed);
        self.result
            .clone()
            .map(|md| PlanDocument::from_markdown(&md))
    }

    fn last_plan_usage(&self) -> Option<TokenUsage> {
        // What a server would report for one plan: fixed, so a test can check the tally.
        (self.calls > 0 && self.result.is_ok()).then_some(TokenUsage {
            calls: 1,
            prompt_tokens: 100,
            completion_tokens: 40,
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        WordCounter.count_tokens(text)
    }
}

/// Test-only Researcher: returns a fixed map and refs, and records the chat files it was given.
pub struct ScriptedResearcher {
    pub research: Research,
    pub chat_files: Vec<PathBuf>,
}

impl ScriptedResearcher {
    pub fn new(map: &str, refs: &[&str]) -> Self {
        ScriptedResearcher {
            research: Research {
                map: map.to_string(),
                files: Vec::new(),
                refs: refs.iter().map(|r| r.to_string()).collect(),
            },
            chat_files: Vec::new(),
        }
    }
}

impl Researcher for ScriptedResearcher {
    fn research(&mut self, _request: &str, chat_files: &[PathBuf]) -> Result<Research, RoleError> {
        self.chat_files = chat_files.to_vec();
        Ok(self.research.clone())
    }
}

/// Test-only reviewer: records the diffs it saw and answers with the queued answers, then with
/// a fixed decision.
pub struct RecordingReviewer {
    pub decision: ReviewDecision,
    pub queue: VecDeque<ReviewAnswer>,
    pub seen: Vec<(String, String)>,
    /// The files and hunks of each review.
    pub files: Vec<Vec<ReviewFile>>,
}

impl RecordingReviewer {
    pub fn approving() -> Self {
        RecordingReviewer {
            decision: ReviewDecision::Approve,
            queue: VecDeque::new(),
            seen: Vec::new(),
            files: Vec::new(),
        }
    }

    pub fn rejecting(reason: &str) -> Self {
        RecordingReviewer {
            decision: ReviewDecision::Reject {
                reason: reason.into(),
            },
            queue: VecDeque::new(),
            seen: Vec::new(),
            files: Vec::new(),
        }
    }
}

impl Reviewer for RecordingReviewer {
    fn review(&mut self, request: &ReviewRequest<'_>) -> ReviewAnswer {
        self.seen
            .push((request.diff.to_string(), request.commit_message.to_string()));
        self.files.push(request.files.to_vec());
        self.queue
            .pop_front()
            .unwrap_or_else(|| self.decision.clone().into())
    }
}

/// The built-in configuration.
pub fn default_config() -> Config {
    Settings::defaults().config()
}
