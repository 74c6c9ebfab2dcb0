//! [`Pipeline`]: Research → Plan → Hard reset → Edit → Review → Apply → Validate → Commit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::edit::{
    EditFormat, EditOutcome, FileChange, GrammarFile, GrammarLimits,
    search_replace_grammar_for_files,
};
use crate::gate::{
    ChatHistory, EditorBudget, EditorSummarizer, EditorTokens, GateError, HistoryGate,
    MESSAGE_OVERHEAD_TOKENS, PlannerTokens, Summarizer, TokenCounter, fit_editor_prompt,
};
use crate::git::{
    CommitIntent, CommitMessage, EditRepo, GitError, InterruptGuard, LandOptions, Landed,
    apply_selected, hunks_of, interrupt, new_run_id,
};

use super::cancel::CancelToken;
use super::checks::{CheckReport, run_checks};
use super::commit::commit_staged;
use super::edit_loop::EditStep;
use super::error::PipelineError;
use super::hard_reset::{EditorPromptInput, FileContent, PromptFile};
use super::hooks;
use super::intent::commit_intent;
use super::local_planner::LocalPlanner;
use super::metered::Metered;
use super::plan_doc::{PlanDocument, resolve_plan_path, write_plan_atomically};
use super::preflight::{PreflightVerdict, review_plan};
use super::report::{PromptCount, RoleModel, RunReport, RunStatus};
use super::review::{
    Event, HunkId, Observer, Phase, RejectedHunks, ReviewDecision, ReviewFile, ReviewRequest,
    Reviewer, Silent, Speaker,
};
use super::roles::TokenUsage;
use super::roles::{
    ChatMessage, ChatRole, Editor, GenerateOptions, Planner, Research, Researcher, RoleError,
};
use super::route::{Decider, Route, RouteChoice, RouteDecision, ask_router, heuristic};
use super::template::fill;
use super::verifier::{Verdict, VerdictKind, ask_verifier};

mod planning;

/// The request with the earlier conversation, for the planner.
const PLAN_CONVERSATION: &str = include_str!("../../prompts/plan_conversation.md");

/// Failed checks, sent to the Editor as a reflection.
const CHECKS_FEEDBACK: &str = include_str!("../../prompts/reflection_checks.md");

/// The reviewer's feedback, sent to the Editor as a reflection.
const REVIEW_FEEDBACK: &str = include_str!("../../prompts/reflection_review.md");

/// Choices the caller makes for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// This request's cancellation (make a fresh one per request): cancelling it stops the
    /// role in flight and ends the run before anything is written.
    pub cancel: CancelToken,
    /// Commit even when `lint-cmd` or `test-cmd` fails. Off by default: a failing check leaves
    /// the edits applied and staged, uncommitted, for the user to fix or discard.
    pub commit_on_failed_checks: bool,
    /// The `Aidx-Run:` id; a fresh one when `None`.
    pub run_id: Option<String>,
    /// Most tokens of plan the local model may write in fully local mode.
    pub local_plan_max_tokens: usize,
    /// Bounds of the per-request SEARCH/REPLACE grammar sent to Editors that support
    /// constrained decoding (paths are always limited to the files in play).
    pub grammar_limits: GrammarLimits,
    /// Write plan.md (`aidx run --dry-run` writes nothing at all, the plan included).
    pub write_plan: bool,
    /// The conversation before this request (interactive mode). The planner sees it, held
    /// under `max-chat-history-tokens` in its own tokens (oldest dropped first); the Editor
    /// never does (the hard reset).
    pub conversation: Vec<ChatMessage>,
    /// `--route`: where requests are planned (the router or heuristic decides under `auto`).
    pub route: RouteChoice,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            cancel: CancelToken::new(),
            commit_on_failed_checks: false,
            run_id: None,
            local_plan_max_tokens: 1024,
            grammar_limits: GrammarLimits::default(),
            conversation: Vec::new(),
            write_plan: true,
            route: RouteChoice::Auto,
        }
    }
}

/// One aidx run over a repository. Build it with [`Pipeline::new`] and the `with_*` methods,
/// then call [`run`](Pipeline::run) (`aidx run`) or [`edit_only`](Pipeline::edit_only)
/// (`aidx edit --plan`).
///
/// Outcomes — committed, staged, no change, rejected, edits failed, checks failed — are
/// reported in the [`RunReport`]; an `Err` means the run could not reach an outcome (a role or
/// git failed, a prompt did not fit, Ctrl-C before writing).
///
/// Interrupts: a run clears the interrupt flag when it starts, stops with
/// [`GitError::Interrupted`] when the flag is set between steps (a caller's Ctrl-C handler sets
/// it with [`interrupt::request`]), and defers SIGINT/SIGTERM while files are written, so every
/// file is either untouched or fully edited.
pub struct Pipeline<'a> {
    repo: &'a EditRepo,
    config: &'a Config,
    editor: &'a mut dyn Editor,
    reviewer: &'a mut dyn Reviewer,
    researcher: Option<&'a mut dyn Researcher>,
    planner: Option<&'a mut dyn Planner>,
    router: Option<&'a mut dyn Editor>,
    verifier: Option<&'a mut dyn Editor>,
    preflight: Option<&'a mut dyn Editor>,
    observer: &'a mut dyn Observer,
    options: RunOptions,
}

impl<'a> Pipeline<'a> {
    /// A pipeline editing `repo` with `editor`; `reviewer` approves or rejects each diff (use
    /// [`super::AutoApprove`] for `--yes`). Without a researcher the plan gets no repository
    /// map; without a planner the local model plans when `fully-local` allows it.
    pub fn new(
        repo: &'a EditRepo,
        config: &'a Config,
        editor: &'a mut dyn Editor,
        reviewer: &'a mut dyn Reviewer,
    ) -> Self {
        // `Silent` has no size, so leaking it allocates nothing.
        let silent: &'a mut Silent = Box::leak(Box::new(Silent));
        Pipeline {
            repo,
            config,
            editor,
            reviewer,
            researcher: None,
            planner: None,
            router: None,
            verifier: None,
            preflight: None,
            observer: silent,
            options: RunOptions::default(),
        }
    }

    /// Uses `researcher` for the Research step.
    pub fn with_researcher(mut self, researcher: &'a mut dyn Researcher) -> Self {
        self.researcher = Some(researcher);
        self
    }

    /// Uses `planner` (the Architect) for the Plan step.
    pub fn with_planner(mut self, planner: &'a mut dyn Planner) -> Self {
        self.planner = Some(planner);
        self
    }

    /// Uses `router` (the `researcher.router` model) to route each request (Hybrid Routing);
    /// without one the heuristic routes.
    pub fn with_router(mut self, router: &'a mut dyn Editor) -> Self {
        self.router = Some(router);
        self
    }

    /// Uses `verifier` (the `verifier` model) to check each draft that passes the rule layer
    /// against plan.md and `verifier.rules` before review (the Verifier Cascade).
    pub fn with_verifier(mut self, verifier: &'a mut dyn Editor) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Uses `reviewer` (the `preflight` model) to review plan.md before the Editor starts: it
    /// approves, or its corrected plan replaces the original when it passes the contract.
    pub fn with_preflight(mut self, reviewer: &'a mut dyn Editor) -> Self {
        self.preflight = Some(reviewer);
        self
    }

    /// Sends progress to `observer`.
    pub fn with_observer(mut self, observer: &'a mut dyn Observer) -> Self {
        self.observer = observer;
        self
    }

    /// Sets the run options.
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// `aidx run`: researches, plans (writing `plan-file` atomically), then edits, reviews,
    /// validates and lands. `files` are the files the user added (`--file`).
    pub fn run(&mut self, request: &str, files: &[PathBuf]) -> Result<RunReport, PipelineError> {
        let mut report = self.run_inner(request, files)?;
        tally_editor_attempts(&mut report);
        self.emit(Event::Finished(&report));
        Ok(report)
    }

    fn run_inner(&mut self, request: &str, files: &[PathBuf]) -> Result<RunReport, PipelineError> {
        let request = request.trim();
        if request.is_empty() {
            return Err(PipelineError::EmptyRequest);
        }
        interrupt::reset();
        let plan_abs = resolve_plan_path(self.repo.root(), &self.config.plan_file)?;
        let plan_rel = relative_display(self.repo.root(), &plan_abs);
        let run_id = self.options.run_id.clone().unwrap_or_else(new_run_id);
        let mut report = RunReport::new(request, &run_id, &plan_rel);
        report.models = self.models_in_play();
        let chat_files = self.chat_files(files);

        self.note_unused_roles(&mut report);
        self.emit(Event::Phase {
            phase: Phase::Research,
            detail: "mapping the repository",
        });
        let chat_paths: Vec<PathBuf> = chat_files.iter().map(PathBuf::from).collect();
        let research = match self.researcher.as_deref_mut() {
            Some(researcher) => {
                let research = researcher.research(request, &chat_paths)?;
                let files: Vec<String> = research
                    .files
                    .iter()
                    .take(8)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .collect();
                let text = format!(
                    "{} file(s) ranked, {} reference(s){}{}\n",
                    research.files.len(),
                    research.refs.len(),
                    if files.is_empty() { "" } else { ": " },
                    files.join(", ")
                );
                self.emit(Event::Text {
                    speaker: Speaker::Researcher,
                    text: &text,
                });
                research
            }
            None => {
                let text = "no researcher: the plan is written without a repository map";
                self.emit(Event::Notice(text));
                report.warnings.push(text.into());
                Research::default()
            }
        };

        // Files the user added are relevant by definition, even where the map leaves them out.
        let mut research = research;
        for file in &chat_files {
            let path = PathBuf::from(file);
            if !research.files.contains(&path) {
                research.files.push(path);
            }
        }

        self.stop_if_interrupted()?;
        let plan = self.plan(request, &research, &mut report);
        self.stop_if_interrupted()?;
        let plan = plan?;
        let plan = self.preflight(request, plan, &research, &mut report)?;
        self.stop_if_interrupted()?;
        let plan = with_fallback_files(plan, &chat_files, &plan_rel)?;
        if self.options.write_plan {
            write_plan_atomically(&plan_abs, &plan.markdown)?;
            tracing::info!(path = %plan_abs.display(), files = plan.files.len(), "plan written");
        }
        self.edit_and_land(request, &plan, &chat_files, &research.refs, report)
    }

    /// `aidx edit --plan`: runs the Editor alone on an existing plan file, then reviews,
    /// validates and lands. `request` defaults to the plan's goal.
    pub fn edit_only(
        &mut self,
        plan_path: &Path,
        request: Option<&str>,
        files: &[PathBuf],
    ) -> Result<RunReport, PipelineError> {
        let mut report = self.edit_only_inner(plan_path, request, files)?;
        tally_editor_attempts(&mut report);
        self.emit(Event::Finished(&report));
        Ok(report)
    }

    fn edit_only_inner(
        &mut self,
        plan_path: &Path,
        request: Option<&str>,
        files: &[PathBuf],
    ) -> Result<RunReport, PipelineError> {
        interrupt::reset();
        let plan_abs = if plan_path.is_absolute() {
            plan_path.to_path_buf()
        } else {
            self.repo.root().join(plan_path)
        };
        let text =
            std::fs::read_to_string(&plan_abs).map_err(|source| PipelineError::ReadPlan {
                path: plan_path.display().to_string(),
                source,
            })?;
        let plan_rel = relative_display(self.repo.root(), &plan_abs);
        let plan = PlanDocument::from_markdown(&text);
        let request = match request.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => r.to_string(),
            None if !plan.goal.trim().is_empty() => plan.goal.trim().to_string(),
            None => format!("Carry out the plan in {plan_rel}"),
        };
        let run_id = self.options.run_id.clone().unwrap_or_else(new_run_id);
        let mut report = RunReport::new(&request, &run_id, &plan_rel);
        report.models = self.models_in_play();
        let chat_files = self.chat_files(files);
        let plan = with_fallback_files(plan, &chat_files, &plan_rel)?;
        self.edit_and_land(&request, &plan, &chat_files, &[], report)
    }

    /// Files the user added, as repository-relative `/` paths.
    fn chat_files(&self, files: &[PathBuf]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for file in files {
            let rel = if file.is_absolute() {
                let canonical = file
                    .parent()
                    .and_then(|p| p.canonicalize().ok())
                    .and_then(|p| file.file_name().map(|n| p.join(n)))
                    .unwrap_or_else(|| file.clone());
                relative_display(self.repo.root(), &canonical)
            } else {
                file.to_string_lossy().replace('\\', "/")
            };
            let rel = rel.trim_start_matches("./").to_string();
            if !out.contains(&rel) {
                out.push(rel);
            }
        }
        out
    }

    /// Hard reset → Edit → Review → Land → Validate → Commit, as named steps. A reviewer who
    /// asks for changes sends the run back to Edit with the feedback as a reflection.
    fn edit_and_land(
        &mut self,
        request: &str,
        plan: &PlanDocument,
        chat_files: &[String],
        research_refs: &[String],
        mut report: RunReport,
    ) -> Result<RunReport, PipelineError> {
        report.plan_files = plan.files.clone();
        report.refs = if plan.refs.is_empty() {
            research_refs.to_vec()
        } else {
            plan.refs.clone()
        };
        let prepared = self.hard_reset(request, plan, chat_files, &mut report)?;
        let mut seed: Vec<ChatMessage> = Vec::new();
        // Rounds sent back to the Editor by the verifier's rules or the reviewer, together held
        // to `max-reflections`.
        let mut revisions = 0u32;
        let mut round = 0u32;
        // Drafts the verifier model has read.
        let mut drafts = 0u32;
        loop {
            let Some((outcome, reply)) = self.edit(&prepared, seed, &mut report)? else {
                return Ok(report);
            };
            let findings =
                crate::verify::check(&outcome.changes, &plan.markdown, self.config.verify);
            if !findings.is_empty() {
                for finding in &findings {
                    let text = format!("verifier: {}: {}", finding.path, finding.message);
                    self.emit(Event::Notice(&text));
                }
                report.verifier.extend(findings.iter().cloned());
                if revisions >= self.config.max_reflections {
                    report.status = RunStatus::EditFailed;
                    report.edit_error = Some(format!(
                        "the verifier's rules still fail after {} attempt(s), so nothing was written: {}. Ask for a smaller change, name the definitions in the request, or switch the rule off (verify.* in .aidx.yml)",
                        revisions + 1,
                        findings
                            .iter()
                            .map(|f| format!("{}: {}", f.path, f.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    return Ok(report);
                }
                revisions += 1;
                seed = vec![
                    ChatMessage::assistant(reply),
                    ChatMessage::user(crate::verify::reflection(&findings)),
                ];
                continue;
            }
            if let Some(verdict) =
                self.ask_the_verifier(plan, &outcome.changes, drafts + 1, &mut report)?
            {
                drafts += 1;
                match verdict.verdict {
                    VerdictKind::Accept | VerdictKind::Unreadable => {}
                    VerdictKind::Revise => {
                        if revisions >= self.config.max_reflections {
                            report.status = RunStatus::EditFailed;
                            report.edit_error = Some(format!(
                                "the verifier model still asks for a revision after {} draft(s), so nothing was written: {}. Review its reasons, make the request narrower, or run without the verifier role",
                                revisions + 1,
                                verdict.reasons_text()
                            ));
                            return Ok(report);
                        }
                        revisions += 1;
                        seed = vec![
                            ChatMessage::assistant(reply),
                            ChatMessage::user(super::verifier::reflection(&verdict)),
                        ];
                        continue;
                    }
                }
            }
            round += 1;
            let intent = commit_intent(
                request,
                plan,
                &report.plan_path,
                research_refs,
                &outcome.changes,
            );
            let message = CommitMessage::build(&intent, &outcome.changes, &report.run_id).render();
            let diff = self.repo.preview(&outcome.changes)?;
            report.diff = diff.clone();
            report.files = outcome.changes.iter().map(|c| c.path.clone()).collect();
            report.commit_message = Some(message.clone());
            let review_files: Vec<ReviewFile> = outcome
                .changes
                .iter()
                .map(|c| ReviewFile {
                    path: c.path.clone(),
                    created: c.before.is_none(),
                    hunks: hunks_of(c),
                    after: c.after.clone(),
                })
                .collect();

            self.emit(Event::Phase {
                phase: Phase::Review,
                detail: "reviewing the diff",
            });
            let answer = self.reviewer.review(&ReviewRequest {
                diff: &diff,
                files: &review_files,
                commit_message: &message,
                round,
            });
            self.stop_if_interrupted()?;
            let own_message = answer.commit_message.as_deref();
            let mut changes = outcome.changes;
            let mut edited_files = BTreeSet::new();
            for (file, content) in answer.edited {
                if let Some(change) = changes.get_mut(file) {
                    change.after = content;
                    edited_files.insert(file);
                }
            }
            let (landing, leftovers) = match answer.decision {
                ReviewDecision::Approve => (changes, Vec::new()),
                ReviewDecision::Partial {
                    mut accepted,
                    rejected,
                } => {
                    // A file rewritten by hand lands as written: all of it is accepted.
                    for &file in &edited_files {
                        for hunk in 0..hunks_of(&changes[file]).len() {
                            accepted.insert(HunkId { file, hunk });
                        }
                    }
                    let (landing, leftovers) = select_hunks(&changes, &accepted);
                    let leftovers = match rejected {
                        RejectedHunks::Discard => Vec::new(),
                        RejectedHunks::KeepUnstaged => leftovers,
                    };
                    if landing.is_empty() {
                        self.keep_unstaged(&leftovers, &mut report)?;
                        report.status = RunStatus::Rejected;
                        report.rejection = Some(if leftovers.is_empty() {
                            "no hunk was accepted".into()
                        } else {
                            "no hunk was accepted; the edits are left unstaged in the working tree"
                                .into()
                        });
                        return Ok(report);
                    }
                    (landing, leftovers)
                }
                ReviewDecision::Reject { reason } => {
                    report.status = RunStatus::Rejected;
                    report.rejection = Some(reason);
                    return Ok(report);
                }
                ReviewDecision::Abort => {
                    report.status = RunStatus::Rejected;
                    report.rejection = Some("aborted at review".into());
                    return Ok(report);
                }
                ReviewDecision::Revise { feedback } => {
                    if revisions >= self.config.max_reflections {
                        report.status = RunStatus::Rejected;
                        report.rejection = Some(format!(
                            "changes were asked for {round} time(s), more than max-reflections ({}) allows: {feedback}",
                            self.config.max_reflections
                        ));
                        return Ok(report);
                    }
                    revisions += 1;
                    let text = fill(REVIEW_FEEDBACK, &[("feedback", feedback.trim())]);
                    seed = vec![
                        ChatMessage::assistant(reply),
                        ChatMessage::user(text.trim_end()),
                    ];
                    continue;
                }
            };
            let intent = if leftovers.is_empty() && landing.len() == report.files.len() {
                intent
            } else {
                commit_intent(request, plan, &report.plan_path, research_refs, &landing)
            };
            let (landed_report, landed, has_checks) =
                self.land(&landing, &intent, own_message, report)?;
            report = landed_report;
            if has_checks {
                report.checks = self.run_the_checks();
                report.check_attempts.push(report.checks.clone());
                let fed_back: Vec<&CheckReport> = report
                    .checks
                    .iter()
                    .filter(|c| !c.passed && self.feeds_back(&c.name))
                    .collect();
                if !fed_back.is_empty() && revisions < self.config.max_reflections {
                    let names: Vec<&str> = fed_back.iter().map(|c| c.name.as_str()).collect();
                    let output: String = fed_back
                        .iter()
                        .map(|c| format!("$ {}\n{}", c.command, tail_lines(&c.output, 40)))
                        .collect::<Vec<_>>()
                        .join("\n");
                    let reflection = fill(
                        CHECKS_FEEDBACK,
                        &[
                            ("checks", &names.join(" and ")),
                            ("output", output.trim_end()),
                        ],
                    );
                    let text = format!(
                        "{} failed (attempt {}): the edits are taken back and the output goes to the Editor",
                        names.join(" and "),
                        revisions + 1
                    );
                    self.emit(Event::Notice(&text));
                    report.warnings.push(text);
                    {
                        let _guard = InterruptGuard::install();
                        self.repo.unland(&landing)?;
                    }
                    self.stop_if_interrupted()?;
                    revisions += 1;
                    seed = vec![
                        ChatMessage::assistant(reply),
                        ChatMessage::user(reflection.trim_end()),
                    ];
                    continue;
                }
            }
            let mut report = self.validate_and_commit((report, landed, has_checks))?;
            self.keep_unstaged(&leftovers, &mut report)?;
            return Ok(report);
        }
    }

    /// The Verifier Cascade's model layer on one draft: frees the Editor (models loaded in
    /// turn), asks the verifier, frees it, and records the verdict, its tokens and a notice.
    /// `None` without a verifier.
    fn ask_the_verifier(
        &mut self,
        plan: &PlanDocument,
        changes: &[FileChange],
        draft: u32,
        report: &mut RunReport,
    ) -> Result<Option<Verdict>, PipelineError> {
        let Some(verifier) = self.verifier.as_deref_mut() else {
            return Ok(None);
        };
        self.observer.event(&Event::Phase {
            phase: Phase::Review,
            detail: "the verifier is checking the draft",
        });
        let diff = self.repo.preview(changes)?;
        // Both no-ops for models that stay loaded.
        self.editor.release();
        let mut metered = Metered::new(verifier);
        let verdict = ask_verifier(
            &mut metered,
            &plan.markdown,
            &self.config.verifier_rules,
            &diff,
            draft,
            &self.options.cancel,
        );
        metered.release();
        report.add_tokens("verifier", metered.used);
        let verdict = verdict?;
        self.stop_if_interrupted()?;
        let text = match verdict.verdict {
            VerdictKind::Accept => "verifier model: accept".to_string(),
            VerdictKind::Revise => format!("verifier model: revise ({})", verdict.reasons_text()),
            VerdictKind::Unreadable => format!(
                "verifier model: no verdict ({}); the draft goes on to review unverified",
                verdict.reasons_text()
            ),
        };
        self.emit(Event::Notice(&text));
        if verdict.verdict == VerdictKind::Unreadable {
            report.warnings.push(text);
        }
        report.verdicts.push(verdict.clone());
        Ok(Some(verdict))
    }

    /// The hard reset: the Editor's prompt from the plan, the current files and the request,
    /// nothing else, fitted to its safe context; and the grammar that bounds its reply.
    fn hard_reset(
        &mut self,
        request: &str,
        plan: &PlanDocument,
        chat_files: &[String],
        report: &mut RunReport,
    ) -> Result<PreparedEdit, PipelineError> {
        let mut prompt_files: Vec<PromptFile> = Vec::new();
        let named = plan.files.iter().map(|f| (f.path.as_str(), true));
        let added = chat_files.iter().map(|p| (p.as_str(), false));
        for (path, named_by_plan) in named.chain(added) {
            if prompt_files.iter().any(|f| f.path == path) {
                continue;
            }
            let content = match self.repo.read_for_edit(path) {
                Ok(Some(text)) => FileContent::Full { text },
                Ok(None) => FileContent::New,
                Err(e) => {
                    report
                        .warnings
                        .push(format!("{path} is not shown to the Editor: {e}"));
                    continue;
                }
            };
            prompt_files.push(PromptFile {
                path: path.to_string(),
                content,
                named_by_plan,
            });
        }
        let format = self
            .config
            .editor
            .edit_format
            .as_deref()
            .and_then(EditFormat::parse)
            .unwrap_or_default();
        let max_new_tokens = self.config.editor.max_tokens.unwrap_or(512) as usize;
        let budget = EditorBudget {
            safe_context: self.editor.safe_context_tokens(),
            max_new_tokens,
        };
        let input = EditorPromptInput {
            format,
            plan: plan.markdown.clone(),
            files: prompt_files,
            request: request.to_string(),
        };
        let fitted = fit_editor_prompt(input, &EditorTokens(&*self.editor), &budget)?;
        for elided in &fitted.elided {
            let text = format!(
                "{} was shortened ({:?}) to fit the Editor's context of {} tokens",
                elided.path,
                elided.how,
                fitted.available.unwrap_or(0)
            );
            self.emit(Event::Notice(&text));
            report.warnings.push(text);
        }
        report.elided = fitted.elided.clone();

        let files_in_play: Vec<String> =
            fitted.input.files.iter().map(|f| f.path.clone()).collect();
        // The grammar limits SEARCH lines to each file's real current lines (read through the
        // repository's path policy, in full: an excerpt in the prompt still allows any real line).
        let current: Vec<Option<String>> = files_in_play
            .iter()
            .map(|p| self.repo.read_for_edit(p).ok().flatten())
            .collect();
        let grammar_files: Vec<GrammarFile<'_>> = files_in_play
            .iter()
            .zip(&current)
            .map(|(path, text)| GrammarFile {
                path,
                text: text.as_deref(),
            })
            .collect();
        let grammar = (format == EditFormat::SearchReplace
            && self.editor.supports_grammar()
            && !grammar_files.is_empty())
        .then(|| search_replace_grammar_for_files(&grammar_files, self.options.grammar_limits));
        Ok(PreparedEdit {
            format,
            base_tokens: fitted.tokens,
            base: fitted.messages,
            available: fitted.available,
            files_in_play,
            options: GenerateOptions {
                max_tokens: max_new_tokens,
                temperature: self.config.editor.temperature.unwrap_or(0.0),
                stop: Vec::new(),
                grammar,
                cancel: self.options.cancel.clone(),
            },
        })
    }

    /// The Edit step: the Editor's reply, parsed and applied in memory, with reflections. `None`
    /// when there is nothing to review (edits failed, or no change): `report` says which.
    fn edit(
        &mut self,
        prepared: &PreparedEdit,
        seed: Vec<ChatMessage>,
        report: &mut RunReport,
    ) -> Result<Option<(EditOutcome, String)>, PipelineError> {
        let step = EditStep {
            editor: &mut *self.editor,
            repo: self.repo,
            format: prepared.format,
            base_tokens: prepared.base_tokens,
            base: prepared.base.clone(),
            available: prepared.available,
            files_in_play: prepared.files_in_play.clone(),
            options: prepared.options.clone(),
            max_reflections: self.config.max_reflections,
            syntax_check: self.config.syntax_check,
            gate: HistoryGate::from_config(self.config),
            seed,
        };
        let result = step.run(&mut *self.observer);
        self.stop_if_interrupted()?;
        let result = result?;
        report.attempts.extend(result.attempts);
        report.prompts.extend(result.prompts);
        report.warnings.extend(result.warnings);
        let Some(outcome) = result.outcome else {
            report.status = RunStatus::EditFailed;
            report.failures = result.failures;
            report.edit_error = result.error;
            return Ok(None);
        };
        if outcome.changes.is_empty() {
            report.status = RunStatus::NoChanges;
            return Ok(None);
        }
        Ok(Some((outcome, result.reply.unwrap_or_default())))
    }

    /// Writes the reviewed changes and commits them unless checks run first.
    fn land(
        &mut self,
        changes: &[FileChange],
        intent: &CommitIntent,
        own_message: Option<&str>,
        mut report: RunReport,
    ) -> Result<(RunReport, Landed, bool), PipelineError> {
        // The repository's pre-commit and commit-msg hooks run between landing and committing,
        // like lint-cmd and test-cmd.
        let has_checks = [&self.config.lint_cmd, &self.config.test_cmd]
            .iter()
            .any(|c| c.as_deref().is_some_and(|c| !c.trim().is_empty()))
            || hooks::hook(self.repo, "pre-commit").is_some()
            || hooks::hook(self.repo, "commit-msg").is_some();
        self.emit(Event::Phase {
            phase: Phase::Land,
            detail: "writing the edits",
        });
        let landed = {
            let _guard = InterruptGuard::install();
            self.repo.land_with_message(
                changes,
                intent,
                &report.run_id,
                &LandOptions {
                    dirty_commits: self.config.dirty_commits,
                    auto_commits: self.config.auto_commits && !has_checks,
                },
                own_message,
            )?
        };
        report.diff = landed.diff.clone();
        report.files = landed.paths.clone();
        report.user_commit = landed.user_commit.map(|oid| oid.to_string());
        if let Some(message) = &landed.message {
            report.commit_message = Some(message.clone());
        }
        Ok((report, landed, has_checks))
    }

    /// Runs `lint-cmd` and `test-cmd` when configured, then commits (or leaves staged).
    fn validate_and_commit(
        &mut self,
        (mut report, landed, has_checks): (RunReport, Landed, bool),
    ) -> Result<RunReport, PipelineError> {
        if !has_checks {
            report.commit = landed.commit.map(|oid| oid.to_string());
            report.status = if report.commit.is_some() {
                RunStatus::Committed
            } else {
                RunStatus::Staged
            };
            return Ok(report);
        }
        let passed = report.checks.iter().all(|c| c.passed);
        if !passed {
            let failed: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name.as_str())
                .collect();
            let text = format!(
                "{} failed: the edits are applied and staged{}",
                failed.join(" and "),
                if self.options.commit_on_failed_checks {
                    ", and committed as asked"
                } else {
                    " but not committed"
                }
            );
            self.observer.event(&Event::Notice(&text));
            report.warnings.push(text);
            if !self.options.commit_on_failed_checks {
                report.status = RunStatus::ChecksFailed;
                return Ok(report);
            }
        }
        if self.config.auto_commits
            && let Some(message) = &landed.message
        {
            let message = match hooks::commit_msg(self.repo, message) {
                None => message.clone(),
                Some((check, edited)) => {
                    let passed = check.passed;
                    self.observer.event(&Event::Check {
                        name: &check.name,
                        passed,
                    });
                    report.checks.push(check);
                    if !passed {
                        let text = "the commit-msg hook refused the message: the edits are applied and staged but not committed";
                        self.emit(Event::Notice(text));
                        report.warnings.push(text.into());
                        report.status = RunStatus::ChecksFailed;
                        return Ok(report);
                    }
                    // The hook may rewrite the message; the run's trailer stays, for `aidx undo`.
                    if crate::git::is_aidx_commit(&edited) {
                        edited
                    } else {
                        format!(
                            "{}\n\n{}: {}\n",
                            edited.trim_end(),
                            crate::git::RUN_TRAILER,
                            report.run_id
                        )
                    }
                }
            };
            report.commit_message = Some(message.clone());
            let oid = commit_staged(self.repo, &landed.paths, &message)?;
            report.commit = Some(oid.to_string());
            report.status = RunStatus::Committed;
        } else {
            report.status = RunStatus::Staged;
        }
        Ok(report)
    }

    /// Roles `.aidx.yml` accepts but the run does not use yet are said so, never skipped
    /// silently.
    fn note_unused_roles(&mut self, report: &mut RunReport) {
        let mut unused = Vec::new();
        if self.config.router.is_some() && self.router.is_none() {
            unused.push(
                "researcher.router is configured but this run has no router model: the heuristic routes",
            );
        }
        if self.config.verifier.is_some() && self.verifier.is_none() {
            unused.push(
                "verifier is configured but this run has no verifier model: only the rule layer (verify.* in .aidx.yml) checks the edits",
            );
        }
        for text in unused {
            self.emit(Event::Notice(text));
            report.warnings.push(text.to_string());
        }
    }

    /// Runs `lint-cmd` and `test-cmd` on the landed edits, reporting each.
    fn run_the_checks(&mut self) -> Vec<CheckReport> {
        self.emit(Event::Phase {
            phase: Phase::Validate,
            detail: "running lint and test commands",
        });
        let mut checks = run_checks(
            self.repo.root(),
            self.config.lint_cmd.as_deref(),
            self.config.test_cmd.as_deref(),
        );
        checks.extend(hooks::pre_commit(self.repo));
        for check in &checks {
            self.observer.event(&Event::Check {
                name: &check.name,
                passed: check.passed,
            });
        }
        checks
    }

    /// Whether a failure of the check `name` goes back to the Editor (`auto-lint`, `auto-test`).
    fn feeds_back(&self, name: &str) -> bool {
        match name {
            "lint" | "pre-commit" => self.config.auto_lint,
            "test" => self.config.auto_test,
            _ => false,
        }
    }

    /// Writes the hunks the reviewer rejected but kept to the working tree, unstaged.
    fn keep_unstaged(
        &mut self,
        leftovers: &[FileChange],
        report: &mut RunReport,
    ) -> Result<(), PipelineError> {
        if leftovers.is_empty() {
            return Ok(());
        }
        let _guard = InterruptGuard::install();
        for change in leftovers {
            self.repo.write_unstaged(&change.path, &change.after)?;
        }
        let paths: Vec<&str> = leftovers.iter().map(|c| c.path.as_str()).collect();
        let text = format!(
            "rejected hunks are left unstaged in the working tree: {}",
            paths.join(", ")
        );
        self.emit(Event::Notice(&text));
        report.warnings.push(text);
        Ok(())
    }

    fn emit(&mut self, event: Event<'_>) {
        self.observer.event(&event);
    }

    /// The request's token or Ctrl-C (between steps) ends the run before anything is written.
    fn stop_if_interrupted(&self) -> Result<(), PipelineError> {
        if interrupt::interrupted() || self.options.cancel.is_cancelled() {
            return Err(PipelineError::Git(GitError::Interrupted));
        }
        Ok(())
    }
}

/// The Editor's prompt and options after the hard reset, reused by every review round.
struct PreparedEdit {
    format: EditFormat,
    base: Vec<ChatMessage>,
    base_tokens: usize,
    available: Option<usize>,
    files_in_play: Vec<String>,
    options: GenerateOptions,
}

/// The last `n` lines of `text` (test output ends with what matters).
fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("[… {skip} earlier line(s)]\n"));
    }
    for line in &lines[skip..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `request` followed by the conversation before it, held under the history gate in `counter`'s
/// tokens; the request alone when there is no conversation.
fn with_conversation(
    request: &str,
    conversation: &[ChatMessage],
    counter: &dyn TokenCounter,
    summarizer: Option<&mut dyn Summarizer>,
    config: &Config,
    observer: &mut dyn Observer,
    report: &mut RunReport,
) -> Result<String, PipelineError> {
    if conversation.is_empty() {
        return Ok(request.to_string());
    }
    let mut history = ChatHistory::new();
    for message in conversation {
        history.push(message.clone());
    }
    let gate = HistoryGate::from_config(config);
    let fitted = history.fit(&gate, counter, summarizer);
    let fitted = match fitted {
        Ok(fitted) => fitted,
        // Even the newest earlier message is over the gate: plan from the request alone.
        Err(GateError::MessageOverGate { .. }) => {
            let text = "the conversation is over max-chat-history-tokens; the planner sees the request alone";
            observer.event(&Event::Notice(text));
            report.warnings.push(text.into());
            return Ok(request.to_string());
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(why) = &fitted.summary_failed {
        let text = format!("summarizing the conversation failed ({why}); trimming instead");
        observer.event(&Event::Notice(&text));
        report.warnings.push(text);
    }
    if let Some(note) = fitted.note("earlier conversation", gate.max_tokens) {
        observer.event(&Event::GateTrimmed {
            messages: fitted.dropped,
            limit: gate.max_tokens,
            summarized: fitted.summarized,
        });
        report.warnings.push(note);
    }
    let conversation: String = history
        .messages()
        .iter()
        .map(|m| {
            let who = match m.role {
                ChatRole::User => "user",
                ChatRole::Assistant => "aidx",
                ChatRole::System => "system",
            };
            format!("{who}: {}\n", m.content.trim())
        })
        .collect();
    Ok(fill(
        PLAN_CONVERSATION,
        &[
            ("request", request),
            ("conversation", conversation.trim_end()),
        ],
    )
    .trim_end()
    .to_string())
}

/// Splits `changes` by the accepted hunks: what lands (files with at least one accepted hunk,
/// holding only those hunks) and what the working tree would hold with every hunk (files with
/// a rejected hunk, to keep unstaged when the reviewer chose so).
fn select_hunks(
    changes: &[FileChange],
    accepted: &BTreeSet<HunkId>,
) -> (Vec<FileChange>, Vec<FileChange>) {
    let mut landing = Vec::new();
    let mut leftovers = Vec::new();
    for (file, change) in changes.iter().enumerate() {
        let count = hunks_of(change).len();
        let keep = |hunk: usize| accepted.contains(&HunkId { file, hunk });
        let kept = (0..count).filter(|h| keep(*h)).count();
        if kept > 0 {
            let after = if kept == count {
                change.after.clone()
            } else {
                apply_selected(change, keep)
            };
            landing.push(FileChange {
                path: change.path.clone(),
                before: change.before.clone(),
                after,
            });
        }
        if kept < count {
            leftovers.push(change.clone());
        }
    }
    (landing, leftovers)
}

/// The Editor's attempts, summed into the report's tokens per role.
fn tally_editor_attempts(report: &mut RunReport) {
    let mut used = TokenUsage::default();
    for a in &report.attempts {
        used.add(a.engine_prompt_tokens, a.completion_tokens);
    }
    if used.calls > 0 {
        report.add_tokens("editor", used);
    }
}

/// `path` relative to `root` with `/` separators, or as given when outside it.
fn relative_display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A plan that names no file gets the user's files (and a Files section saying so); with no
/// files at all the run stops.
fn with_fallback_files(
    plan: PlanDocument,
    chat_files: &[String],
    plan_rel: &str,
) -> Result<PlanDocument, PipelineError> {
    if !plan.files.is_empty() {
        return Ok(plan);
    }
    if chat_files.is_empty() {
        return Err(PipelineError::PlanNamesNoFiles {
            plan_path: plan_rel.to_string(),
        });
    }
    let mut markdown = plan.markdown.trim_end().to_string();
    markdown.push_str("\n\n## Files\n\n");
    for file in chat_files {
        markdown.push_str(&format!("- `{file}` — added by the user\n"));
    }
    tracing::warn!("the plan names no file; using the files the user added");
    Ok(PlanDocument::from_markdown(&markdown))
}
