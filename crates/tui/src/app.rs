//! The interactive session's state and its answers to keys and worker messages.
//!
//! [`App`] draws nothing and touches no terminal: keys and worker messages go in, [`Action`]s
//! come out (jobs for the worker, `$EDITOR` to open, quit). That keeps every screen
//! reproducible in snapshot tests and the render loop small.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aidx_agent_core::pipeline::{
    CancelToken, ChatMessage, HunkId, Phase, RejectedHunks, ReviewAnswer, ReviewDecision,
    ReviewFile, RunReport, Speaker,
};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::backend::{ChatFiles, SessionStatus};
use crate::commands::{self, COMMANDS, Command};
pub use crate::entry::{Entry, Who};
use crate::history::{InputHistory, Transcript};
use crate::worker::{FromWorker, Job, Output, PendingReview, UiEvent};

/// Where the review of a change stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewStage {
    /// Stepping through hunks.
    Hunks,
    /// All hunks decided: confirm, choose what happens to rejected hunks, edit the message.
    Confirm,
    /// Typing feedback for the Editor.
    Feedback,
}

/// A change under review.
#[derive(Debug)]
pub struct ReviewState {
    /// Files and hunks.
    pub files: Vec<ReviewFile>,
    /// The proposed commit message (editable).
    pub commit_message: String,
    /// Review round (2+ after feedback).
    pub round: u32,
    /// Current file.
    pub file: usize,
    /// Current hunk in the file.
    pub hunk: usize,
    /// Decided hunks: true accepted.
    pub decisions: BTreeMap<HunkId, bool>,
    /// Stage.
    pub stage: ReviewStage,
    /// Keep rejected hunks unstaged (`true`) or discard them.
    pub keep_rejected: bool,
    /// Files rewritten in `$EDITOR`.
    pub edited: BTreeMap<usize, String>,
    /// Whether the message was edited.
    pub message_edited: bool,
    reply: Option<std::sync::mpsc::Sender<ReviewAnswer>>,
}

impl ReviewState {
    /// A review of `pending` (answered through its channel).
    pub fn new(pending: PendingReview) -> Self {
        ReviewState {
            files: pending.files,
            commit_message: pending.commit_message,
            round: pending.round,
            file: 0,
            hunk: 0,
            decisions: BTreeMap::new(),
            stage: ReviewStage::Hunks,
            keep_rejected: false,
            edited: BTreeMap::new(),
            message_edited: false,
            reply: Some(pending.reply),
        }
    }

    /// Total hunks.
    pub fn total(&self) -> usize {
        self.files.iter().map(|f| f.hunks.len()).sum()
    }

    /// Accepted hunks.
    pub fn accepted(&self) -> usize {
        self.decisions.values().filter(|a| **a).count()
    }

    /// The current hunk's id.
    pub fn current(&self) -> HunkId {
        HunkId {
            file: self.file,
            hunk: self.hunk,
        }
    }

    /// Decides the current hunk and moves on; past the last hunk, to [`ReviewStage::Confirm`].
    fn decide(&mut self, accept: bool) {
        self.decisions.insert(self.current(), accept);
        self.advance();
    }

    /// Decides the rest of the current file.
    fn decide_rest_of_file(&mut self, accept: bool) {
        let count = self.files.get(self.file).map_or(0, |f| f.hunks.len());
        for hunk in self.hunk..count {
            self.decisions.insert(
                HunkId {
                    file: self.file,
                    hunk,
                },
                accept,
            );
        }
        self.hunk = count.saturating_sub(1);
        self.advance();
    }

    fn advance(&mut self) {
        let count = self.files.get(self.file).map_or(0, |f| f.hunks.len());
        if self.hunk + 1 < count {
            self.hunk += 1;
            return;
        }
        let mut file = self.file + 1;
        while file < self.files.len() && self.files[file].hunks.is_empty() {
            file += 1;
        }
        if file < self.files.len() {
            self.file = file;
            self.hunk = 0;
        } else {
            self.stage = ReviewStage::Confirm;
        }
    }

    fn back(&mut self) {
        if self.hunk > 0 {
            self.hunk -= 1;
        } else if self.file > 0 {
            self.file -= 1;
            self.hunk = self.files[self.file].hunks.len().saturating_sub(1);
        }
    }

    /// The answer for the decisions made (undecided hunks count as rejected).
    fn answer(&self) -> ReviewAnswer {
        let total = self.total();
        let accepted: std::collections::BTreeSet<HunkId> = self
            .decisions
            .iter()
            .filter(|(_, a)| **a)
            .map(|(id, _)| *id)
            .collect();
        let decision = if accepted.len() == total && total > 0 && self.edited.is_empty() {
            ReviewDecision::Approve
        } else {
            ReviewDecision::Partial {
                accepted,
                rejected: if self.keep_rejected {
                    RejectedHunks::KeepUnstaged
                } else {
                    RejectedHunks::Discard
                },
            }
        };
        ReviewAnswer {
            decision,
            commit_message: self.message_edited.then(|| self.commit_message.clone()),
            edited: self.edited.iter().map(|(f, t)| (*f, t.clone())).collect(),
        }
    }

    fn send(&mut self, answer: ReviewAnswer) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(answer);
        }
    }
}

impl Drop for ReviewState {
    fn drop(&mut self) {
        // A review closed without an answer (quit, panic) writes nothing.
        self.send(ReviewDecision::Abort.into());
    }
}

/// What the screen shows besides the conversation.
#[derive(Debug)]
pub enum Mode {
    /// The conversation and the input line.
    Chat,
    /// `/help`.
    Help,
    /// An error panel; any key closes it.
    Error(String),
    /// Reviewing a change.
    Review(ReviewState),
}

/// Something the render loop must do.
#[derive(Debug)]
pub enum Action {
    /// Send a job to the worker.
    Submit(Job, CancelToken),
    /// Open `$EDITOR` on the current review file's proposed content.
    EditFile {
        /// Review file index.
        file: usize,
        /// The content to start from.
        content: String,
        /// Its path, for the temporary file's extension.
        path: String,
    },
    /// Open `$EDITOR` on the commit message.
    EditMessage(String),
    /// Leave.
    Quit,
}

/// A job in flight.
#[derive(Debug, Clone)]
pub struct Busy {
    /// The job's label.
    pub label: &'static str,
    /// The pipeline's phase, once reported.
    pub phase: Option<Phase>,
    /// The phase's detail.
    pub detail: String,
    /// Cancelled by the user.
    pub cancelling: bool,
}

/// The session.
pub struct App {
    /// The conversation pane.
    pub entries: Vec<Entry>,
    /// The conversation as the roles see it (requests and answers), held under the gate by
    /// the backend.
    pub history: Vec<ChatMessage>,
    /// Tokens of `history` in the Editor's tokenizer.
    pub history_tokens: usize,
    /// plan.md as last written.
    pub plan: String,
    /// Files in play.
    pub files: ChatFiles,
    /// The diff pane.
    pub diff: String,
    /// The input line.
    pub input: String,
    /// Cursor position in `input`, in chars.
    pub cursor: usize,
    /// Input history.
    pub input_history: InputHistory,
    /// The mode.
    pub mode: Mode,
    /// The job in flight.
    pub busy: Option<Busy>,
    /// Status-bar facts.
    pub status: SessionStatus,
    /// Spinner frame.
    pub tick: usize,
    /// Conversation lines scrolled up from the bottom.
    pub scroll: usize,
    /// A one-line hint under the input (Ctrl-C again to quit, completion candidates).
    pub hint: Option<String>,
    /// Colours off (`NO_COLOR`).
    pub no_color: bool,
    /// The repository's files, for completion.
    pub repo_files: Vec<String>,
    cancel: Option<CancelToken>,
    /// Foreground jobs queued or running (the worker runs them in order).
    in_flight: usize,
    last_ctrl_c: Option<Instant>,
    transcript: Option<Transcript>,
    written: usize,
    open_stream: Option<Speaker>,
}

/// Two Ctrl-C within this long quit.
const DOUBLE_CTRL_C: Duration = Duration::from_secs(2);

impl App {
    /// An empty session.
    pub fn new(status: SessionStatus, input_history: InputHistory) -> Self {
        App {
            entries: Vec::new(),
            history: Vec::new(),
            history_tokens: 0,
            plan: String::new(),
            files: ChatFiles::default(),
            diff: String::new(),
            input: String::new(),
            cursor: 0,
            input_history,
            mode: Mode::Chat,
            busy: None,
            status,
            tick: 0,
            scroll: 0,
            hint: None,
            no_color: false,
            repo_files: Vec::new(),
            cancel: None,
            in_flight: 0,
            last_ctrl_c: None,
            transcript: None,
            written: 0,
            open_stream: None,
        }
    }

    /// Appends the conversation to `transcript` as it goes.
    pub fn with_transcript(mut self, transcript: Transcript) -> Self {
        self.transcript = Some(transcript);
        self
    }

    /// Adds an entry.
    pub fn push(&mut self, who: Who, text: impl Into<String>) {
        self.open_stream = None;
        self.entries.push(Entry {
            who,
            text: text.into(),
        });
        self.scroll = 0;
    }

    /// The first actions of a session: load the model and list files.
    pub fn start(&mut self) -> Vec<Action> {
        let mut actions = vec![Action::Submit(Job::ListFiles, CancelToken::new())];
        actions.extend(self.submit(Job::Prepare));
        actions
    }

    fn submit(&mut self, job: Job) -> Vec<Action> {
        let token = CancelToken::new();
        if job.is_foreground() {
            self.in_flight += 1;
            self.busy = Some(Busy {
                label: job.label(),
                phase: None,
                detail: String::new(),
                cancelling: false,
            });
            self.cancel = Some(token.clone());
        }
        vec![Action::Submit(job, token)]
    }

    /// Advances the spinner (called on each idle poll).
    pub fn on_tick(&mut self) {
        self.tick = self.tick.wrapping_add(1);
    }

    /// A message from the worker.
    pub fn on_worker(&mut self, message: FromWorker) -> Vec<Action> {
        match message {
            FromWorker::Event(event) => self.on_event(event),
            FromWorker::Review(pending) => {
                self.diff = pending.diff.clone();
                self.open_stream = None;
                let mut review = ReviewState::new(pending);
                if review.total() == 0 {
                    review.stage = ReviewStage::Confirm;
                }
                self.mode = Mode::Review(review);
            }
            FromWorker::Status(status) => self.status = status,
            FromWorker::Done {
                label,
                foreground,
                result,
            } => {
                let cancelled = self.busy.as_ref().is_some_and(|b| b.cancelling);
                if foreground {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    if self.in_flight == 0 {
                        self.busy = None;
                        self.cancel = None;
                    }
                }
                if matches!(self.mode, Mode::Review(_)) {
                    self.mode = Mode::Chat;
                }
                match result {
                    Ok(output) => return self.on_output(output),
                    // A cancel the user asked for is news, not an error.
                    Err(e) if foreground && cancelled => {
                        self.push(Who::System, format!("{label}: {}", e.0));
                    }
                    Err(e) if foreground => {
                        let text = e.0;
                        self.push(Who::Error, format!("{label}: {text}"));
                        self.mode = Mode::Error(text);
                    }
                    Err(e) => tracing::debug!(label, error = %e, "background job failed"),
                }
                self.flush_transcript();
            }
        }
        Vec::new()
    }

    fn on_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::Phase(phase, detail) => {
                if let Some(busy) = &mut self.busy {
                    busy.phase = Some(phase);
                    busy.detail = detail;
                }
                self.open_stream = None;
            }
            UiEvent::Text(speaker, text) => {
                let continues = self.open_stream == Some(speaker);
                if speaker == Speaker::Architect {
                    // The plan pane follows the Architect's stream: a new stream starts it over.
                    if !continues {
                        self.plan.clear();
                    }
                    self.plan.push_str(&text);
                }
                match self.entries.last_mut() {
                    Some(last)
                        if self.open_stream == Some(speaker) && last.who == Who::Role(speaker) =>
                    {
                        last.text.push_str(&text)
                    }
                    _ => {
                        self.push(Who::Role(speaker), text);
                        self.open_stream = Some(speaker);
                    }
                }
            }
            UiEvent::Prompt {
                role,
                purpose,
                tokens,
                limit,
            } => {
                let limit = limit.map(|l| format!(" of {l}")).unwrap_or_default();
                self.push(
                    Who::System,
                    format!("{role}: {purpose}, {tokens} tokens{limit}"),
                );
            }
            UiEvent::Attempt(attempt, max) if attempt > 1 => {
                self.push(Who::System, format!("Editor attempt {attempt} of {max}"));
            }
            UiEvent::Attempt(..) => {}
            UiEvent::BlockFailed(path, reason) => {
                self.push(Who::System, format!("a block for {path} failed: {reason}"));
            }
            UiEvent::Reflection(attempt) => {
                self.push(
                    Who::System,
                    format!("attempt {attempt} failed; the failures go back to the Editor"),
                );
            }
            UiEvent::GateTrimmed(messages, limit, summarized) => {
                let how = if summarized { "summarized" } else { "trimmed" };
                self.push(
                    Who::System,
                    format!("{messages} earlier message(s) {how} to stay under {limit} tokens"),
                );
            }
            UiEvent::Check(name, passed) => {
                let result = if passed { "passed" } else { "FAILED" };
                self.push(Who::System, format!("{name}: {result}"));
            }
            UiEvent::Notice(text) => self.push(Who::System, format!("note: {text}")),
        }
    }

    fn on_output(&mut self, output: Output) -> Vec<Action> {
        match output {
            Output::None => {}
            Output::Report(report) => {
                self.on_report(&report);
                self.flush_transcript();
                return self.recount();
            }
            Output::Plan(markdown) => {
                self.plan = markdown;
                self.push(Who::System, "plan.md written (see the plan pane)");
            }
            Output::Answer(text) => {
                if self.open_stream != Some(Speaker::Editor) {
                    self.push(Who::Role(Speaker::Editor), text.clone());
                }
                self.history.push(ChatMessage::assistant(text));
                self.flush_transcript();
                return self.recount();
            }
            Output::Text(text) => self.push(Who::System, text),
            Output::Diff(diff) => {
                self.push(
                    Who::System,
                    if diff.is_empty() {
                        "no aidx change to show".to_string()
                    } else {
                        "the last aidx change is in the diff pane".to_string()
                    },
                );
                self.diff = diff;
            }
            Output::Tokens(lines) => {
                let mut text = String::from("the next request's prompts, by part:\n");
                for line in &lines {
                    text.push_str(&format!("{:>8}  {}\n", line.tokens, line.part));
                }
                text.push_str(&format!(
                    "conversation history is held to {} tokens per role",
                    self.status.history_limit
                ));
                self.push(Who::System, text);
            }
            Output::Count(n) => self.history_tokens = n,
            Output::Files(files) => self.repo_files = files,
        }
        self.flush_transcript();
        Vec::new()
    }

    fn on_report(&mut self, report: &RunReport) {
        self.diff = report.diff.clone();
        let summary = report.to_string();
        let first = summary.lines().take(12).collect::<Vec<_>>().join("\n");
        self.push(Who::System, first);
        self.history.push(ChatMessage::assistant(format!(
            "[aidx] {:?}: {}",
            report.status,
            report.files.join(", ")
        )));
    }

    fn recount(&mut self) -> Vec<Action> {
        let text: String = self
            .history
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        vec![Action::Submit(Job::Count(text), CancelToken::new())]
    }

    fn flush_transcript(&mut self) {
        if let Some(t) = &mut self.transcript {
            for entry in &self.entries[self.written..] {
                t.append(entry);
            }
        }
        self.written = self.entries.len();
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.on_ctrl_c();
        }
        self.hint = None;
        match &mut self.mode {
            Mode::Help => {
                self.mode = Mode::Chat;
                Vec::new()
            }
            Mode::Error(_) => {
                self.mode = Mode::Chat;
                Vec::new()
            }
            Mode::Review(_) => self.on_review_key(key),
            Mode::Chat => self.on_chat_key(key),
        }
    }

    fn on_ctrl_c(&mut self) -> Vec<Action> {
        let now = Instant::now();
        let double = self
            .last_ctrl_c
            .is_some_and(|t| now.duration_since(t) < DOUBLE_CTRL_C);
        self.last_ctrl_c = Some(now);
        if double {
            if let Some(token) = &self.cancel {
                token.cancel();
            }
            return vec![Action::Quit];
        }
        if let Some(token) = &self.cancel {
            token.cancel();
            if let Some(busy) = &mut self.busy {
                busy.cancelling = true;
            }
            self.hint = Some("cancelling… (Ctrl-C again to quit)".into());
            return Vec::new();
        }
        if let Mode::Review(review) = &mut self.mode {
            review.send(ReviewDecision::Abort.into());
            self.mode = Mode::Chat;
            return Vec::new();
        }
        if !self.input.is_empty() {
            self.input.clear();
            self.cursor = 0;
            return Vec::new();
        }
        self.hint = Some("press Ctrl-C again to quit".into());
        Vec::new()
    }

    fn on_review_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let Mode::Review(review) = &mut self.mode else {
            return Vec::new();
        };
        match review.stage {
            ReviewStage::Hunks => match key.code {
                KeyCode::Char('y') => review.decide(true),
                KeyCode::Char('n') => review.decide(false),
                KeyCode::Char('a') => review.decide_rest_of_file(true),
                KeyCode::Char('d') => review.decide_rest_of_file(false),
                KeyCode::Char('q') => review.stage = ReviewStage::Confirm,
                KeyCode::Char('k') | KeyCode::Up | KeyCode::Left => review.back(),
                KeyCode::Char('j') | KeyCode::Down | KeyCode::Right => review.advance(),
                KeyCode::Char('e') => {
                    let file = review.file;
                    if let Some(f) = review.files.get(file) {
                        let content = review
                            .edited
                            .get(&file)
                            .cloned()
                            .unwrap_or_else(|| f.after.clone());
                        return vec![Action::EditFile {
                            file,
                            content,
                            path: f.path.clone(),
                        }];
                    }
                }
                _ => {}
            },
            ReviewStage::Confirm => match key.code {
                KeyCode::Enter | KeyCode::Char('c') => {
                    let answer = review.answer();
                    review.send(answer);
                }
                KeyCode::Char('u') => review.keep_rejected = !review.keep_rejected,
                KeyCode::Char('m') => {
                    return vec![Action::EditMessage(review.commit_message.clone())];
                }
                KeyCode::Char('f') => {
                    review.stage = ReviewStage::Feedback;
                    self.input.clear();
                    self.cursor = 0;
                }
                KeyCode::Char('r') | KeyCode::Esc => {
                    review.stage = ReviewStage::Hunks;
                    review.file = 0;
                    review.hunk = 0;
                }
                KeyCode::Char('q') => {
                    review.send(ReviewDecision::Abort.into());
                }
                _ => {}
            },
            ReviewStage::Feedback => match key.code {
                KeyCode::Enter => {
                    let feedback = std::mem::take(&mut self.input);
                    self.cursor = 0;
                    if feedback.trim().is_empty() {
                        review.stage = ReviewStage::Confirm;
                    } else {
                        review.send(
                            ReviewDecision::Revise {
                                feedback: feedback.clone(),
                            }
                            .into(),
                        );
                        self.push(Who::User, format!("(review feedback) {feedback}"));
                        self.history.push(ChatMessage::user(feedback));
                        self.mode = Mode::Chat;
                    }
                }
                KeyCode::Esc => {
                    review.stage = ReviewStage::Confirm;
                }
                _ => self.edit_input(key),
            },
        }
        Vec::new()
    }

    /// The user saved a file in `$EDITOR` during review.
    pub fn file_edited(&mut self, file: usize, content: String) {
        if let Mode::Review(review) = &mut self.mode {
            review.edited.insert(file, content);
            let count = review.files.get(file).map_or(0, |f| f.hunks.len());
            for hunk in 0..count {
                review.decisions.insert(HunkId { file, hunk }, true);
            }
            review.hunk = count.saturating_sub(1);
            review.file = file;
            review.advance();
        }
    }

    /// The user saved the commit message in `$EDITOR`.
    pub fn message_edited(&mut self, message: String) {
        if let Mode::Review(review) = &mut self.mode
            && message.trim() != review.commit_message.trim()
            && !message.trim().is_empty()
        {
            review.commit_message = message;
            review.message_edited = true;
        }
    }

    fn edit_input(&mut self, key: KeyEvent) {
        let at = byte_index(&self.input, self.cursor);
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Char('a') => self.cursor = 0,
            KeyCode::Char('e') => self.cursor = self.input.chars().count(),
            KeyCode::Char('u') => {
                self.input.drain(..at);
                self.cursor = 0;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let prev = byte_index(&self.input, self.cursor - 1);
                self.input.replace_range(prev..at, "");
                self.cursor -= 1;
            }
            KeyCode::Delete if at < self.input.len() => {
                let next = byte_index(&self.input, self.cursor + 1);
                self.input.replace_range(at..next, "");
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.input.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.input.chars().count(),
            _ => {}
        }
    }

    fn set_input(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.input = text;
    }

    fn on_chat_key(&mut self, key: KeyEvent) -> Vec<Action> {
        match key.code {
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.input);
                self.cursor = 0;
                self.on_line(&line)
            }
            KeyCode::Tab => {
                match commands::complete(&self.input, &self.repo_files) {
                    Some(done) => self.set_input(done),
                    None => {
                        let word = self.input.rsplit(' ').next().unwrap_or("");
                        let options: Vec<&str> =
                            if self.input.starts_with('/') && !self.input.contains(' ') {
                                COMMANDS
                                    .iter()
                                    .map(|(c, _)| *c)
                                    .filter(|c| c.starts_with(word))
                                    .collect()
                            } else {
                                self.repo_files
                                    .iter()
                                    .map(String::as_str)
                                    .filter(|f| !word.is_empty() && f.starts_with(word))
                                    .take(8)
                                    .collect()
                            };
                        if options.len() > 1 {
                            self.hint = Some(options.join("  "));
                        }
                    }
                }
                Vec::new()
            }
            KeyCode::Up => {
                if let Some(text) = self.input_history.older(&self.input) {
                    self.set_input(text);
                }
                Vec::new()
            }
            KeyCode::Down => {
                if let Some(text) = self.input_history.newer() {
                    self.set_input(text);
                }
                Vec::new()
            }
            KeyCode::PageUp => {
                self.scroll = self.scroll.saturating_add(10);
                Vec::new()
            }
            KeyCode::PageDown => {
                self.scroll = self.scroll.saturating_sub(10);
                Vec::new()
            }
            KeyCode::Esc => {
                self.input.clear();
                self.cursor = 0;
                Vec::new()
            }
            _ => {
                self.edit_input(key);
                Vec::new()
            }
        }
    }

    /// Runs one input line.
    pub fn on_line(&mut self, line: &str) -> Vec<Action> {
        let command = match commands::parse(line) {
            Ok(c) => c,
            Err(e) => {
                self.push(Who::Error, e.0);
                return Vec::new();
            }
        };
        if !matches!(command, Command::Nothing) {
            self.input_history.push(line.trim());
        }
        let busy_needed = matches!(
            command,
            Command::Run(_)
                | Command::Plan(_)
                | Command::Ask(_)
                | Command::Undo
                | Command::Diff
                | Command::Commit(_)
                | Command::Map
                | Command::Budget
                | Command::Tokens
        );
        // Loading the model is the only job a request may queue behind: the worker runs jobs in
        // order, so the request starts as soon as the model is in.
        if busy_needed
            && let Some(busy) = &self.busy
            && busy.label != Job::Prepare.label()
        {
            self.push(
                Who::Error,
                format!(
                    "aidx is busy {}; wait, or press Ctrl-C to cancel it",
                    busy.label
                ),
            );
            return Vec::new();
        }
        match command {
            Command::Nothing => Vec::new(),
            Command::Quit => vec![Action::Quit],
            Command::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Command::Run(request) => {
                self.push(Who::User, request.clone());
                let history = self.history.clone();
                self.history.push(ChatMessage::user(request.clone()));
                self.flush_transcript();
                self.submit(Job::Run {
                    request,
                    files: self.files.clone(),
                    history,
                })
            }
            Command::Ask(question) => {
                self.push(Who::User, format!("/ask {question}"));
                let history = self.history.clone();
                self.history.push(ChatMessage::user(question.clone()));
                self.flush_transcript();
                self.submit(Job::Ask {
                    question,
                    files: self.files.clone(),
                    history,
                })
            }
            Command::Plan(request) => {
                self.push(Who::User, format!("/plan {request}"));
                self.submit(Job::Plan {
                    request,
                    files: self.files.clone(),
                })
            }
            Command::Add(paths) => {
                self.add_files(paths, false);
                Vec::new()
            }
            Command::ReadOnly(paths) => {
                self.add_files(paths, true);
                Vec::new()
            }
            Command::Drop(paths) => {
                if paths.is_empty() {
                    self.files = ChatFiles::default();
                    self.push(Who::System, "dropped all files from the chat");
                } else {
                    for p in &paths {
                        let p = PathBuf::from(p);
                        self.files.editable.retain(|f| *f != p);
                        self.files.read_only.retain(|f| *f != p);
                    }
                    self.push(Who::System, format!("dropped {}", paths.join(", ")));
                }
                Vec::new()
            }
            Command::Ls => {
                self.push(Who::System, self.files_listing());
                Vec::new()
            }
            Command::Map => {
                let request = self
                    .history
                    .iter()
                    .rev()
                    .find(|m| m.role == aidx_agent_core::pipeline::ChatRole::User)
                    .map(|m| m.content.clone())
                    .unwrap_or_default();
                self.submit(Job::Map {
                    request,
                    files: self.files.clone(),
                })
            }
            Command::Undo => self.submit(Job::Undo),
            Command::Diff => self.submit(Job::Diff),
            Command::Commit(message) => self.submit(Job::Commit(message)),
            Command::Budget => self.submit(Job::Budget),
            Command::Tokens => self.submit(Job::Tokens {
                files: self.files.clone(),
                history: self.history.clone(),
            }),
            Command::Model => {
                let architect = self
                    .status
                    .architect
                    .clone()
                    .unwrap_or_else(|| "none (the local model plans when fully-local)".into());
                self.push(
                    Who::System,
                    format!(
                        "editor: {}\narchitect: {architect}\nchange models in .aidx.yml (editor.model, architect.model)",
                        self.status.editor
                    ),
                );
                Vec::new()
            }
            Command::Clear => {
                self.history.clear();
                self.entries.clear();
                self.written = 0;
                self.history_tokens = 0;
                self.push(Who::System, "conversation history cleared");
                Vec::new()
            }
            Command::Reset => {
                self.history.clear();
                self.entries.clear();
                self.written = 0;
                self.history_tokens = 0;
                self.files = ChatFiles::default();
                self.push(Who::System, "history cleared and all files dropped");
                Vec::new()
            }
        }
    }

    fn add_files(&mut self, paths: Vec<String>, read_only: bool) {
        let mut added = Vec::new();
        let mut unknown = Vec::new();
        for p in paths {
            let known = self.repo_files.is_empty() || self.repo_files.contains(&p);
            if !known {
                unknown.push(p.clone());
            }
            let path = PathBuf::from(&p);
            self.files.editable.retain(|f| *f != path);
            self.files.read_only.retain(|f| *f != path);
            if read_only {
                self.files.read_only.push(path);
            } else {
                self.files.editable.push(path);
            }
            added.push(p);
        }
        let kind = if read_only { "read-only" } else { "editable" };
        let mut text = format!("added {} ({kind})", added.join(", "));
        if !unknown.is_empty() {
            text.push_str(&format!(
                "\nnote: not in the repository yet: {} (the Editor may create it)",
                unknown.join(", ")
            ));
        }
        self.push(Who::System, text);
    }

    fn files_listing(&self) -> String {
        if self.files.editable.is_empty() && self.files.read_only.is_empty() {
            return "no files in the chat: /add FILE (the repository map finds the rest)".into();
        }
        let mut text = String::from("files in the chat:\n");
        for f in &self.files.editable {
            text.push_str(&format!("  {} (editable)\n", f.display()));
        }
        for f in &self.files.read_only {
            text.push_str(&format!("  {} (read-only)\n", f.display()));
        }
        text.trim_end().to_string()
    }

    /// The help screen's lines.
    pub fn help_lines() -> Vec<(String, String)> {
        let mut lines: Vec<(String, String)> = COMMANDS
            .iter()
            .map(|(c, h)| (c.to_string(), h.to_string()))
            .collect();
        for (k, h) in [
            ("Enter", "send the line (a plain line is a request)"),
            ("Tab", "complete a command or a file path"),
            ("Up/Down", "walk the input history"),
            ("PgUp/PgDn", "scroll the conversation"),
            ("Ctrl-C", "cancel the running step; twice to quit"),
            (
                "review",
                "y accept · n reject · a accept rest of file · d reject rest",
            ),
            ("", "e edit the file in $EDITOR · q finish · j/k move"),
            (
                "confirm",
                "Enter commit · u keep/discard rejected · m edit message",
            ),
            ("", "f feedback to the Editor · r review again · q abort"),
        ] {
            lines.push((k.to_string(), h.to_string()));
        }
        lines
    }
}

/// The byte index of char `chars` in `s`.
fn byte_index(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}
