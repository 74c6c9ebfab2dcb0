//! The Edit step: ask the Editor, parse, plan the edits in memory, and send failures back as
//! reflections — up to `max-reflections` times — keeping the blocks that already matched.
//!
//! The conversation is the hard-reset prompt followed by the reflection turns; the turns are
//! held under the history gate and, together with the prompt, under the Editor's safe context.

use crate::config::HistoryOverflow;
use crate::edit::{
    EditBlock, EditFormat, EditOutcome, SyntaxRegression, UnfinishedBlock, WholeFile,
    parse_search_replace, parse_search_replace_prefix, parse_whole_files, plan_edits,
    plan_whole_files, reflection_message, syntax_regressions,
};
use crate::gate::{
    ChatHistory, EditorSummarizer, EditorTokens, GateError, HistoryGate, Summarizer,
    messages_tokens,
};
use crate::git::EditRepo;

use super::report::{AttemptReport, FailedBlock, PromptCount};
use super::review::{Event, Observer, Phase, Speaker};
use super::roles::{ChatMessage, Editor, FinishReason, GenerateOptions, RoleError};
use super::template::fill;

const UNREADABLE: &str = include_str!("../../prompts/reflection_unreadable.md");
const CUT_OFF: &str = include_str!("../../prompts/reflection_cut_off.md");
const UNFINISHED: &str = include_str!("../../prompts/reflection_unfinished.md");
const SYNTAX: &str = include_str!("../../prompts/reflection_syntax.md");

/// Everything one Edit step needs.
pub(crate) struct EditStep<'a> {
    pub editor: &'a mut dyn Editor,
    pub repo: &'a EditRepo,
    pub format: EditFormat,
    /// The hard-reset conversation (system + user).
    pub base: Vec<ChatMessage>,
    /// Tokens of `base`.
    pub base_tokens: usize,
    /// Tokens available for the whole prompt (`None`: unlimited).
    pub available: Option<usize>,
    pub files_in_play: Vec<String>,
    pub options: GenerateOptions,
    pub max_reflections: u32,
    /// Send edits that add syntax errors back (`syntax-check`).
    pub syntax_check: bool,
    pub gate: HistoryGate,
    /// Turns that follow the hard-reset prompt from the start: the previous reply and the
    /// reviewer's feedback when the reviewer asked for changes.
    pub seed: Vec<ChatMessage>,
}

/// What the Edit step produced.
pub(crate) struct EditResult {
    /// The complete outcome, when every block applied.
    pub outcome: Option<EditOutcome>,
    pub attempts: Vec<AttemptReport>,
    pub prompts: Vec<PromptCount>,
    /// Blocks still failing: those of the last attempt that could be planned (a later
    /// unreadable reply leaves them unresolved).
    pub failures: Vec<FailedBlock>,
    /// Why the last reply could not be used at all (parse error, no block, gate).
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// The reply of the successful attempt.
    pub reply: Option<String>,
}

/// Blocks kept from earlier attempts, in the reply's format.
enum Kept {
    Blocks(Vec<EditBlock>),
    Whole(Vec<WholeFile>),
}

impl Kept {
    /// The kept edits, less those of `paths`.
    fn without_paths(self, paths: &[&str]) -> Kept {
        match self {
            Kept::Blocks(blocks) => Kept::Blocks(
                blocks
                    .into_iter()
                    .filter(|b| !paths.contains(&b.path.as_str()))
                    .collect(),
            ),
            Kept::Whole(files) => Kept::Whole(
                files
                    .into_iter()
                    .filter(|w| !paths.contains(&w.path.as_str()))
                    .collect(),
            ),
        }
    }
}

impl EditStep<'_> {
    pub(crate) fn run(mut self, observer: &mut dyn Observer) -> Result<EditResult, RoleError> {
        let mut result = EditResult {
            outcome: None,
            attempts: Vec::new(),
            prompts: Vec::new(),
            failures: Vec::new(),
            error: None,
            warnings: Vec::new(),
            reply: None,
        };
        let mut kept = match self.format {
            EditFormat::SearchReplace => Kept::Blocks(Vec::new()),
            EditFormat::Whole => Kept::Whole(Vec::new()),
        };
        let mut history = ChatHistory::new();
        for message in std::mem::take(&mut self.seed) {
            history.push(message);
        }
        if !history.messages().is_empty()
            && let Err(e) = self.fit_history(&mut history, &mut result, observer)
        {
            result.error = Some(self.explain_gate_error(e));
            return Ok(result);
        }
        let files_in_play = std::mem::take(&mut self.files_in_play);
        let files: Vec<&str> = files_in_play.iter().map(String::as_str).collect();
        for attempt in 1..=self.max_reflections + 1 {
            let mut messages = self.base.clone();
            messages.extend_from_slice(history.messages());
            let prompt_tokens = messages_tokens(&EditorTokens(&*self.editor), &messages);
            result.prompts.push(PromptCount {
                role: "editor".into(),
                purpose: if attempt == 1 {
                    "edit".into()
                } else {
                    format!("reflection {}", attempt - 1)
                },
                tokens: prompt_tokens,
                limit: self.available,
            });
            if self.options.cancel.is_cancelled() {
                return Err(RoleError::Failed {
                    role: "editor".into(),
                    reason: "cancelled".into(),
                });
            }
            let detail = format!("Editor attempt {attempt} ({prompt_tokens} prompt tokens)");
            observer.event(&Event::Phase {
                phase: Phase::Edit,
                detail: &detail,
            });
            observer.event(&Event::Attempt {
                attempt,
                max: self.max_reflections + 1,
            });
            if let Some(count) = result.prompts.last() {
                observer.event(&Event::Prompt(count));
            }
            let completion = self.editor.complete(&messages, &self.options, &mut |t| {
                observer.event(&Event::Text {
                    speaker: Speaker::Editor,
                    text: t,
                })
            })?;
            let mut report = AttemptReport {
                attempt,
                prompt_tokens,
                engine_prompt_tokens: completion.prompt_tokens,
                completion_tokens: completion.completion_tokens,
                finish: completion.finish,
                blocks: 0,
                applied: 0,
                failed: 0,
                parse_error: None,
                syntax_errors: Vec::new(),
            };
            let cut_off = if completion.finish == FinishReason::Length {
                CUT_OFF.trim_end()
            } else {
                ""
            };

            // A reply cut off at the token limit keeps the blocks it finished; the one it ended
            // inside is asked for again (a resent whole reply would be cut off at the same place).
            let mut unfinished: Option<UnfinishedBlock> = None;
            let planned = match &mut kept {
                Kept::Blocks(kept) => if completion.finish == FinishReason::Length {
                    parse_search_replace_prefix(&completion.text, &files).map(|(blocks, cut)| {
                        unfinished = cut;
                        blocks
                    })
                } else {
                    parse_search_replace(&completion.text, &files)
                }
                .map(|new| {
                    report.blocks = new.len();
                    let mut all = kept.clone();
                    all.extend(new.into_iter().filter(|b| !kept.contains(b)));
                    let fresh = all.len() - kept.len();
                    let outcome = plan_edits(&all, |p: &str| self.repo.read_for_edit(p));
                    let next: Vec<EditBlock> = outcome
                        .applied
                        .iter()
                        .map(|(i, _)| all[*i].clone())
                        .collect();
                    (outcome, all.len(), fresh, Kept::Blocks(next))
                }),
                Kept::Whole(kept) => parse_whole_files(&completion.text, &files).map(|new| {
                    report.blocks = new.len();
                    let mut all = kept.clone();
                    all.extend(new.into_iter().filter(|w| !kept.contains(w)));
                    let fresh = all.len() - kept.len();
                    let outcome = plan_whole_files(&all, |p: &str| self.repo.read_for_edit(p));
                    let next: Vec<WholeFile> = outcome
                        .applied
                        .iter()
                        .map(|(i, _)| all[*i].clone())
                        .collect();
                    (outcome, all.len(), fresh, Kept::Whole(next))
                }),
            };

            let reflection = match planned {
                Err(e) => {
                    let problem = e.to_string();
                    report.parse_error = Some(problem.clone());
                    result.error = Some(problem.clone());
                    fill(UNREADABLE, &[("problem", &problem), ("cut_off", cut_off)])
                }
                // No new edit: nothing to plan (and the blocks that failed must not be
                // dropped silently by committing only the kept ones).
                Ok((_, _, 0, _)) => {
                    let problem = if let Some(cut) = &unfinished {
                        format!(
                            "the reply was cut off inside block {}{} before any new block was complete",
                            cut.number,
                            describe_path(cut)
                        )
                    } else if report.blocks == 0 {
                        "the reply contains no edit".to_string()
                    } else {
                        "the reply only repeats edits that already matched; send corrected edits for the failed ones".to_string()
                    };
                    report.parse_error = Some(problem.clone());
                    result.error = Some(match &unfinished {
                        Some(cut) => self.cut_off_error(cut),
                        None => problem.clone(),
                    });
                    fill(UNREADABLE, &[("problem", &problem), ("cut_off", cut_off)])
                }
                Ok((outcome, total, _, next)) => {
                    report.applied = outcome.applied.len();
                    report.failed = outcome.failures.len();
                    let complete = outcome.is_complete() && unfinished.is_none();
                    let broken = if complete {
                        self.blocking_syntax_errors(&outcome, &mut result.warnings)
                    } else {
                        Vec::new()
                    };
                    if complete && broken.is_empty() {
                        result.attempts.push(report);
                        result.error = None;
                        result.failures.clear();
                        result.outcome = Some(outcome);
                        result.reply = Some(completion.text);
                        return Ok(result);
                    }
                    for failure in &outcome.failures {
                        let reason = failure.reason.to_string();
                        observer.event(&Event::BlockFailed {
                            path: &failure.block.path,
                            reason: &reason,
                        });
                    }
                    if broken.is_empty() {
                        result.error = unfinished.as_ref().map(|cut| self.cut_off_error(cut));
                        result.failures = outcome.failures.iter().map(FailedBlock::from).collect();
                        kept = next;
                        failure_reflection(&outcome, total, unfinished.as_ref(), cut_off)
                    } else {
                        // Every block matched, but the result does not parse: the blocks of
                        // the broken files are dropped and asked for again.
                        let paths: Vec<&str> = broken.iter().map(|b| b.path.as_str()).collect();
                        report.syntax_errors = broken
                            .iter()
                            .flat_map(|b| {
                                b.describe(3)
                                    .into_iter()
                                    .map(|d| format!("{}: {d}", b.path))
                            })
                            .collect();
                        result.error = Some(syntax_error(&broken));
                        result.failures.clear();
                        kept = next.without_paths(&paths);
                        syntax_reflection(&broken)
                    }
                }
            };
            result.attempts.push(report);
            if attempt > self.max_reflections {
                break;
            }
            tracing::info!(attempt, "edits failed; reflecting");
            observer.event(&Event::Reflection { attempt });
            history.push(ChatMessage::assistant(completion.text));
            history.push(ChatMessage::user(reflection));
            if let Err(e) = self.fit_history(&mut history, &mut result, observer) {
                result.error = Some(self.explain_gate_error(e));
                break;
            }
        }
        Ok(result)
    }

    /// The files `outcome` would leave with new syntax errors that block the edit (none with
    /// `syntax-check: false`). Advisory findings (C/C++) go to `warnings` once nothing blocks.
    fn blocking_syntax_errors(
        &self,
        outcome: &EditOutcome,
        warnings: &mut Vec<String>,
    ) -> Vec<SyntaxRegression> {
        if !self.syntax_check {
            return Vec::new();
        }
        let (blocking, advisory): (Vec<_>, Vec<_>) = syntax_regressions(&outcome.changes)
            .into_iter()
            .partition(|b| b.blocking);
        if blocking.is_empty() {
            for b in &advisory {
                for issue in b.describe(3) {
                    warnings.push(format!(
                        "{}: {issue} (tree-sitter's C/C++ grammars are not trusted to block an edit; lint-cmd decides)",
                        b.path
                    ));
                }
            }
        }
        blocking
    }

    /// What the user reads when the last reply was cut off inside a block.
    fn cut_off_error(&self, cut: &UnfinishedBlock) -> String {
        format!(
            "the Editor's reply was cut off at editor.max-tokens ({}) inside block {}{}, so nothing was applied: raise editor.max-tokens or ask for a smaller change",
            self.options.max_tokens,
            cut.number,
            describe_path(cut)
        )
    }

    /// The gate error in the words of the limit that was hit: the history gate, or the room
    /// the hard-reset prompt leaves in the Editor's safe context.
    fn explain_gate_error(&self, error: GateError) -> String {
        match error {
            GateError::MessageOverGate { tokens, gate } if gate < self.gate.max_tokens => format!(
                "the reflection needs {tokens} tokens but only {gate} fit the Editor's safe context after the {} tokens of the hard-reset prompt: give the Editor more context or lower editor.max-tokens",
                self.base_tokens
            ),
            other => other.to_string(),
        }
    }

    /// Holds the reflection turns under the history gate and, with the hard-reset prompt,
    /// under the Editor's safe context.
    fn fit_history(
        &mut self,
        history: &mut ChatHistory,
        result: &mut EditResult,
        observer: &mut dyn Observer,
    ) -> Result<(), GateError> {
        let room = self
            .available
            .map(|a| a.saturating_sub(self.base_tokens))
            .unwrap_or(usize::MAX);
        let gate = HistoryGate {
            max_tokens: self.gate.max_tokens.min(room),
            overflow: self.gate.overflow,
        };
        let mut summarized = 0;
        if gate.overflow == HistoryOverflow::Summarize
            && let Some(plan) = history.summary_plan(&gate, &EditorTokens(&*self.editor))
        {
            let old = history.messages()[..plan.replace].to_vec();
            let mut summarizer = EditorSummarizer::new(&mut *self.editor);
            let summary = summarizer.summarize(&old, plan.max_tokens);
            result.prompts.push(PromptCount {
                role: "editor".into(),
                purpose: "summarize reflections".into(),
                tokens: summarizer.last_prompt_tokens(),
                limit: self.available,
            });
            match summary {
                Ok(text) => {
                    summarized = history.apply_summary(&plan, &text, &EditorTokens(&*self.editor));
                }
                Err(e) => result.warnings.push(format!(
                    "summarizing the reflections failed ({e}); trimming instead"
                )),
            }
        }
        let mut report = history.fit(&gate, &EditorTokens(&*self.editor), None)?;
        if summarized > 0 {
            report.dropped += summarized;
            report.summarized = true;
        }
        if let Some(note) = report.note("earlier reflection", gate.max_tokens) {
            observer.event(&Event::GateTrimmed {
                messages: report.dropped,
                limit: gate.max_tokens,
                summarized: report.summarized,
            });
            result.warnings.push(note);
        }
        Ok(())
    }
}

/// ` (for path)` when the unfinished block's file is known.
fn describe_path(cut: &UnfinishedBlock) -> String {
    cut.path
        .as_deref()
        .map(|p| format!(" (for {p})"))
        .unwrap_or_default()
}

/// The reflection for blocks that failed to match and/or a reply cut off inside a block.
fn failure_reflection(
    outcome: &EditOutcome,
    total: usize,
    unfinished: Option<&UnfinishedBlock>,
    cut_off: &str,
) -> String {
    let mut text = reflection_message(outcome, total).unwrap_or_default();
    let note = match unfinished {
        Some(cut) => fill(
            UNFINISHED,
            &[
                ("number", &cut.number.to_string()),
                ("path", &describe_path(cut)),
                ("kept", &outcome.applied.len().to_string()),
            ],
        ),
        None => cut_off.to_string(),
    };
    let note = note.trim_end();
    if !note.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(note);
    }
    text
}

/// The reflection for edits that matched but leave files that do not parse.
fn syntax_reflection(broken: &[SyntaxRegression]) -> String {
    broken
        .iter()
        .map(|b| {
            let issues = b
                .describe(3)
                .into_iter()
                .map(|d| format!("- {d}"))
                .collect::<Vec<_>>()
                .join("\n");
            fill(SYNTAX, &[("path", &b.path), ("issues", &issues)])
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// What the user reads when the last edit left a file that does not parse.
fn syntax_error(broken: &[SyntaxRegression]) -> String {
    let places: Vec<String> = broken
        .iter()
        .map(|b| format!("{} ({})", b.path, b.describe(1).join("")))
        .collect();
    format!(
        "the edit leaves syntax errors in {}, so nothing was applied: retry, ask for a smaller change, or set syntax-check: false to land such edits and let lint-cmd judge them",
        places.join(", ")
    )
}
