//! The worker thread: the pipeline and every repository command run here, never on the render
//! loop (as gitui keeps git work off its UI thread), and the two sides talk over channels.
//!
//! The pipeline's roles are synchronous and block inside their own runtimes, so a plain thread
//! is what they need; the render loop stays free to draw and to read keys (Ctrl-C cancels the
//! request's [`CancelToken`], which the roles poll).

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use aidx_agent_core::pipeline::{
    CancelToken, ChatMessage, Event, Observer, Phase, ReviewAnswer, ReviewDecision, ReviewFile,
    ReviewRequest, Reviewer, RunReport, Speaker,
};

use crate::backend::{Backend, BackendError, ChatFiles, SessionStatus, TokenLine};

/// Work for the worker.
#[derive(Debug, Clone)]
pub enum Job {
    /// Load the model (at start).
    Prepare,
    /// A request through the pipeline.
    Run {
        /// The request.
        request: String,
        /// Files in play.
        files: ChatFiles,
        /// The conversation so far, under the gate.
        history: Vec<ChatMessage>,
    },
    /// `/plan`.
    Plan {
        /// The request.
        request: String,
        /// Files in play.
        files: ChatFiles,
    },
    /// `/ask`.
    Ask {
        /// The question.
        question: String,
        /// Files in play.
        files: ChatFiles,
        /// The conversation so far, under the gate.
        history: Vec<ChatMessage>,
    },
    /// `/undo`.
    Undo,
    /// `/diff`.
    Diff,
    /// `/commit`.
    Commit(Option<String>),
    /// `/map`.
    Map {
        /// What the map is ranked for.
        request: String,
        /// Files in play.
        files: ChatFiles,
    },
    /// `/budget`.
    Budget,
    /// `/tokens`.
    Tokens {
        /// Files in play.
        files: ChatFiles,
        /// The conversation so far.
        history: Vec<ChatMessage>,
    },
    /// Count the tokens of a text (the conversation gauge).
    Count(String),
    /// List the repository's files (completion).
    ListFiles,
}

impl Job {
    /// A short label for the progress line.
    pub fn label(&self) -> &'static str {
        match self {
            Job::Prepare => "loading the model",
            Job::Run { .. } => "running the request",
            Job::Plan { .. } => "planning",
            Job::Ask { .. } => "answering",
            Job::Undo => "undoing",
            Job::Diff => "reading the last change",
            Job::Commit(_) => "committing",
            Job::Map { .. } => "mapping the repository",
            Job::Budget => "sizing the budget",
            Job::Tokens { .. } => "counting tokens",
            Job::Count(_) => "counting tokens",
            Job::ListFiles => "listing files",
        }
    }

    /// Jobs the user waits for (the others run quietly in between).
    pub fn is_foreground(&self) -> bool {
        !matches!(self, Job::Count(_) | Job::ListFiles)
    }
}

/// An owned copy of a pipeline [`Event`], sent to the render loop.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// A phase begins.
    Phase(Phase, String),
    /// Streamed text.
    Text(Speaker, String),
    /// A prompt's size.
    Prompt {
        /// Role.
        role: String,
        /// Purpose.
        purpose: String,
        /// Tokens.
        tokens: usize,
        /// Limit held.
        limit: Option<usize>,
    },
    /// An Editor attempt.
    Attempt(u32, u32),
    /// A failed block.
    BlockFailed(String, String),
    /// A reflection was sent.
    Reflection(u32),
    /// The gate trimmed history.
    GateTrimmed(usize, usize, bool),
    /// A check finished.
    Check(String, bool),
    /// A notice.
    Notice(String),
}

impl UiEvent {
    /// The owned form of `event` (`None` for the final report, which comes with the job's
    /// result).
    pub fn from_event(event: &Event<'_>) -> Option<Self> {
        Some(match *event {
            Event::Phase { phase, detail } => UiEvent::Phase(phase, detail.to_string()),
            Event::Text { speaker, text } => UiEvent::Text(speaker, text.to_string()),
            Event::Prompt(count) => UiEvent::Prompt {
                role: count.role.clone(),
                purpose: count.purpose.clone(),
                tokens: count.tokens,
                limit: count.limit,
            },
            Event::Attempt { attempt, max } => UiEvent::Attempt(attempt, max),
            Event::BlockFailed { path, reason } => {
                UiEvent::BlockFailed(path.to_string(), reason.to_string())
            }
            Event::Reflection { attempt } => UiEvent::Reflection(attempt),
            Event::GateTrimmed {
                messages,
                limit,
                summarized,
            } => UiEvent::GateTrimmed(messages, limit, summarized),
            Event::Check { name, passed } => UiEvent::Check(name.to_string(), passed),
            Event::Notice(text) => UiEvent::Notice(text.to_string()),
            Event::Finished(_) => return None,
        })
    }
}

/// An owned review request, answered through `reply`.
#[derive(Debug)]
pub struct PendingReview {
    /// The whole diff.
    pub diff: String,
    /// Files and hunks.
    pub files: Vec<ReviewFile>,
    /// The proposed commit message.
    pub commit_message: String,
    /// Review round.
    pub round: u32,
    /// Where the answer goes (the pipeline waits on it).
    pub reply: Sender<ReviewAnswer>,
}

/// What a finished job produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Nothing to show beyond the events.
    None,
    /// A run's report.
    Report(Box<RunReport>),
    /// A plan's markdown.
    Plan(String),
    /// An answer to `/ask`.
    Answer(String),
    /// Text to show as a system message.
    Text(String),
    /// A diff to show in the diff pane.
    Diff(String),
    /// `/tokens`.
    Tokens(Vec<TokenLine>),
    /// A token count.
    Count(usize),
    /// Repository files.
    Files(Vec<String>),
}

/// Messages from the worker to the render loop.
#[derive(Debug)]
pub enum FromWorker {
    /// Progress.
    Event(UiEvent),
    /// The pipeline waits for a review.
    Review(PendingReview),
    /// A job ended.
    Done {
        /// Its label.
        label: &'static str,
        /// Whether the user was waiting for it.
        foreground: bool,
        /// Its result.
        result: Result<Output, BackendError>,
    },
    /// Fresh status-bar facts (after every job).
    Status(SessionStatus),
}

/// The render loop's end of the worker.
pub struct Worker {
    jobs: Option<Sender<(Job, CancelToken)>>,
    /// Messages from the worker.
    pub events: Receiver<FromWorker>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker thread; it builds its backend with `make` first. When that fails,
    /// every job answers with the failure, so the session can still show it and quit.
    pub fn start(
        make: impl FnOnce() -> Result<Box<dyn Backend>, BackendError> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (job_tx, job_rx) = channel::<(Job, CancelToken)>();
        let (out_tx, out_rx) = channel::<FromWorker>();
        let thread = std::thread::Builder::new()
            .name(WORKER_THREAD.into())
            .spawn(move || {
                let mut backend = make();
                if let Ok(backend) = &mut backend {
                    let _ = out_tx.send(FromWorker::Status(backend.status()));
                }
                while let Ok((job, cancel)) = job_rx.recv() {
                    let label = job.label();
                    let foreground = job.is_foreground();
                    let result = match &mut backend {
                        // A panic in a job becomes that job's error panel; the session goes on.
                        Ok(backend) => {
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                execute(backend.as_mut(), job, &cancel, &out_tx)
                            }))
                            .unwrap_or_else(|payload| Err(panicked(payload)))
                        }
                        Err(e) => Err(e.clone()),
                    };
                    if out_tx
                        .send(FromWorker::Done {
                            label,
                            foreground,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                    // Background jobs (token counts, file lists) change nothing the status bar
                    // shows: no `git status` walk after them.
                    if foreground && let Ok(backend) = &mut backend {
                        let _ = out_tx.send(FromWorker::Status(backend.status()));
                    }
                }
            })?;
        Ok(Worker {
            jobs: Some(job_tx),
            events: out_rx,
            thread: Some(thread),
        })
    }

    /// Queues `job` with its cancellation token.
    pub fn submit(&self, job: Job, cancel: CancelToken) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((job, cancel));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the job in flight; the caller has cancelled
        // that job's token, so the wait is short.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The name of the worker thread (the panic hooks leave the screen alone for its panics, which
/// it catches and reports).
pub const WORKER_THREAD: &str = "aidx-worker";

/// A caught panic as an error the user can read.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> BackendError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    BackendError(format!(
        "internal error (a bug in aidx; nothing was written by the step that failed): {message}. \
         Details are in .aidx/aidx.log; please report it"
    ))
}

/// Sends events to the render loop.
struct ChannelObserver<'a>(&'a Sender<FromWorker>);

impl Observer for ChannelObserver<'_> {
    fn event(&mut self, event: &Event<'_>) {
        if let Some(e) = UiEvent::from_event(event) {
            let _ = self.0.send(FromWorker::Event(e));
        }
    }
}

/// Sends the review to the render loop and waits for the user's answer; a closed channel or a
/// cancelled request is an abort, so nothing is written.
struct ChannelReviewer<'a> {
    out: &'a Sender<FromWorker>,
    cancel: &'a CancelToken,
}

impl Reviewer for ChannelReviewer<'_> {
    fn review(&mut self, request: &ReviewRequest<'_>) -> ReviewAnswer {
        let (tx, rx) = channel();
        let pending = PendingReview {
            diff: request.diff.to_string(),
            files: request.files.to_vec(),
            commit_message: request.commit_message.to_string(),
            round: request.round,
            reply: tx,
        };
        if self.out.send(FromWorker::Review(pending)).is_err() {
            return ReviewDecision::Abort.into();
        }
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(50)) {
                Ok(answer) => return answer,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if self.cancel.is_cancelled() {
                        return ReviewDecision::Abort.into();
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return ReviewDecision::Abort.into();
                }
            }
        }
    }
}

fn execute(
    backend: &mut dyn Backend,
    job: Job,
    cancel: &CancelToken,
    out: &Sender<FromWorker>,
) -> Result<Output, BackendError> {
    let mut observer = ChannelObserver(out);
    match job {
        Job::Prepare => backend.prepare(&mut observer).map(|()| Output::None),
        Job::Run {
            request,
            files,
            history,
        } => {
            backend.prepare(&mut observer)?;
            let mut reviewer = ChannelReviewer { out, cancel };
            backend
                .run(
                    &request,
                    &files,
                    &history,
                    &mut observer,
                    &mut reviewer,
                    cancel,
                )
                .map(|r| Output::Report(Box::new(r)))
        }
        Job::Plan { request, files } => {
            // The local model may plan (fully-local): load it first, as for a request.
            backend.prepare(&mut observer)?;
            backend
                .plan(&request, &files, &mut observer, cancel)
                .map(Output::Plan)
        }
        Job::Ask {
            question,
            files,
            history,
        } => {
            backend.prepare(&mut observer)?;
            backend
                .ask(&question, &files, &history, &mut observer, cancel)
                .map(Output::Answer)
        }
        Job::Undo => backend.undo().map(Output::Text),
        Job::Diff => backend.last_diff().map(Output::Diff),
        Job::Commit(message) => backend.commit(message.as_deref()).map(Output::Text),
        Job::Map { request, files } => backend.map(&request, &files).map(Output::Text),
        Job::Budget => backend.budget().map(Output::Text),
        Job::Tokens { files, history } => {
            backend.prepare(&mut observer)?;
            backend.tokens(&files, &history).map(Output::Tokens)
        }
        Job::Count(text) => Ok(Output::Count(backend.count_tokens(&text))),
        Job::ListFiles => Ok(Output::Files(backend.repo_files())),
    }
}
