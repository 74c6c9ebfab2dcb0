//! The worker thread with a test-only backend: jobs run in order, a review waits for the
//! answer the render loop sends, and a panic in a job becomes that job's error, not a dead
//! session.

use std::time::Duration;

use aidx_agent_core::edit::FileChange;
use aidx_agent_core::git::hunks_of;
use aidx_agent_core::pipeline::{
    CancelToken, ChatMessage, Observer, ReviewDecision, ReviewFile, ReviewRequest, Reviewer,
    RunReport,
};
use aidx_tui::{
    Backend, BackendError, ChatFiles, FromWorker, Job, Output, SessionStatus, TokenLine, Worker,
};

/// Test-only backend: `undo` panics, `run` asks for one review and reports the decision in
/// `last_diff`, everything else answers plainly.
#[derive(Default)]
struct Fake {
    decision: Option<ReviewDecision>,
}

fn not_here() -> BackendError {
    BackendError::new("not in this test")
}

impl Backend for Fake {
    fn status(&mut self) -> SessionStatus {
        SessionStatus::default()
    }
    fn prepare(&mut self, _observer: &mut dyn Observer) -> Result<(), BackendError> {
        Ok(())
    }
    fn run(
        &mut self,
        _request: &str,
        _files: &ChatFiles,
        _history: &[ChatMessage],
        _observer: &mut dyn Observer,
        reviewer: &mut dyn Reviewer,
        _cancel: &CancelToken,
    ) -> Result<RunReport, BackendError> {
        let change = FileChange {
            path: "a.txt".into(),
            before: Some("a\n".into()),
            after: "b\n".into(),
        };
        let files = vec![ReviewFile {
            path: "a.txt".into(),
            created: false,
            hunks: hunks_of(&change),
            after: change.after.clone(),
        }];
        let answer = reviewer.review(&ReviewRequest {
            diff: "diff",
            files: &files,
            commit_message: "fix: a",
            round: 1,
        });
        self.decision = Some(answer.decision);
        Err(not_here())
    }
    fn plan(
        &mut self,
        _request: &str,
        _files: &ChatFiles,
        _observer: &mut dyn Observer,
        _cancel: &CancelToken,
    ) -> Result<String, BackendError> {
        Err(not_here())
    }
    fn ask(
        &mut self,
        _question: &str,
        _files: &ChatFiles,
        _history: &[ChatMessage],
        _observer: &mut dyn Observer,
        _cancel: &CancelToken,
    ) -> Result<String, BackendError> {
        Err(not_here())
    }
    fn undo(&mut self) -> Result<String, BackendError> {
        panic!("undo exploded");
    }
    fn last_diff(&mut self) -> Result<String, BackendError> {
        Ok(format!("{:?}", self.decision))
    }
    fn commit(&mut self, _message: Option<&str>) -> Result<String, BackendError> {
        Err(not_here())
    }
    fn map(&mut self, _request: &str, _files: &ChatFiles) -> Result<String, BackendError> {
        Err(not_here())
    }
    fn budget(&mut self) -> Result<String, BackendError> {
        Err(not_here())
    }
    fn tokens(
        &mut self,
        _files: &ChatFiles,
        _history: &[ChatMessage],
    ) -> Result<Vec<TokenLine>, BackendError> {
        Err(not_here())
    }
    fn count_tokens(&mut self, text: &str) -> usize {
        text.len()
    }
    fn repo_files(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// The next `Done` (other messages are answered or skipped).
fn done(worker: &Worker) -> Result<Output, BackendError> {
    loop {
        match worker.events.recv_timeout(Duration::from_secs(10)).unwrap() {
            FromWorker::Done { result, .. } => return result,
            FromWorker::Review(pending) => {
                pending.reply.send(ReviewDecision::Abort.into()).unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn a_panicking_job_is_an_error_and_the_session_goes_on() {
    let worker = Worker::start(|| Ok(Box::new(Fake::default()) as Box<dyn Backend>)).unwrap();
    worker.submit(Job::Undo, CancelToken::new());
    let error = done(&worker).unwrap_err();
    assert!(error.0.contains("internal error"), "{error}");
    assert!(error.0.contains("undo exploded"), "{error}");
    worker.submit(Job::Count("four".into()), CancelToken::new());
    assert_eq!(done(&worker).unwrap(), Output::Count(4));
}

#[test]
fn a_review_waits_for_the_answer_from_the_render_loop() {
    let worker = Worker::start(|| Ok(Box::new(Fake::default()) as Box<dyn Backend>)).unwrap();
    worker.submit(
        Job::Run {
            request: "r".into(),
            files: ChatFiles::default(),
            history: Vec::new(),
        },
        CancelToken::new(),
    );
    assert!(
        done(&worker).is_err(),
        "the fake run reports an error after its review"
    );
    worker.submit(Job::Diff, CancelToken::new());
    assert_eq!(done(&worker).unwrap(), Output::Diff("Some(Abort)".into()));
}

#[test]
fn a_backend_that_cannot_start_answers_every_job_with_why() {
    let worker = Worker::start(|| Err(BackendError::new("no .aidx.yml here"))).unwrap();
    worker.submit(Job::Budget, CancelToken::new());
    assert_eq!(done(&worker).unwrap_err().0, "no .aidx.yml here");
}
