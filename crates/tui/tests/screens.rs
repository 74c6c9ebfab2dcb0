//! Snapshot tests of the main screens at 80×24 and 120×40 (ratatui's TestBackend, insta), and
//! the session's behaviour driven by keys: review answers, cancellation, quitting.

use std::collections::BTreeSet;
use std::sync::mpsc::channel;

use aidx_agent_core::edit::FileChange;
use aidx_agent_core::git::hunks_of;
use aidx_agent_core::pipeline::{
    HunkId, Phase, RejectedHunks, ReviewAnswer, ReviewDecision, ReviewFile, Speaker,
};
use aidx_tui::history::InputHistory;
use aidx_tui::{
    Action, App, BackendError, FromWorker, Job, Mode, PendingReview, SessionStatus, UiEvent, Usage,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn status() -> SessionStatus {
    SessionStatus {
        editor: "SmolLM2-360M-Instruct-Q4_K_M".into(),
        architect: None,
        history_limit: 8192,
        memory: Some(Usage {
            used: 0.6 * GIB,
            limit: 24.0 * GIB,
        }),
        branch: "main".into(),
        dirty: 1,
    }
}

fn app() -> App {
    let mut app = App::new(status(), InputHistory::in_memory(&[]));
    app.repo_files = vec!["src/lib.rs".into(), "src/main.rs".into()];
    app
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| aidx_tui::ui::draw(frame, app))
        .unwrap();
    terminal.backend().to_string()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl_c() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

fn type_line(app: &mut App, text: &str) -> Vec<Action> {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter))
}

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("x{i} = {i}\n")).collect()
}

/// A review of two hunks in one file and one new file.
fn review() -> (PendingReview, std::sync::mpsc::Receiver<ReviewAnswer>) {
    let before = numbered(20);
    let after = before
        .replace("x2 = 2\n", "x2 = 200\n")
        .replace("x18 = 18\n", "x18 = 1800\n");
    let nums = FileChange {
        path: "nums.py".into(),
        before: Some(before),
        after: after.clone(),
    };
    let created = FileChange {
        path: "NOTES.md".into(),
        before: None,
        after: "# Notes\n\nRenumbered.\n".into(),
    };
    let files = vec![
        ReviewFile {
            path: nums.path.clone(),
            created: false,
            hunks: hunks_of(&nums),
            after,
        },
        ReviewFile {
            path: created.path.clone(),
            created: true,
            hunks: hunks_of(&created),
            after: created.after.clone(),
        },
    ];
    let (tx, rx) = channel();
    (
        PendingReview {
            diff: aidx_agent_core::git::unified_diff(&[nums, created]),
            files,
            commit_message: "feat: renumber x2 and x18\n\n- Updated: `nums.py` — two values\n\nPlan: artifacts/plan.md\nRefs: none\nAidx-Run: 1-2\n".into(),
            round: 1,
            reply: tx,
        },
        rx,
    )
}

fn streaming_app() -> App {
    let mut app = app();
    let actions = type_line(&mut app, "/add src/lib.rs");
    assert!(actions.is_empty());
    let actions = type_line(&mut app, "Add a parse_config function to src/lib.rs");
    assert!(matches!(
        actions.as_slice(),
        [Action::Submit(Job::Run { .. }, _)]
    ));
    app.on_worker(FromWorker::Event(UiEvent::Phase(
        Phase::Research,
        "mapping".into(),
    )));
    app.on_worker(FromWorker::Event(UiEvent::Text(
        Speaker::Researcher,
        "2 file(s) ranked, 3 reference(s): src/lib.rs, src/main.rs\n".into(),
    )));
    app.on_worker(FromWorker::Event(UiEvent::Phase(
        Phase::Plan,
        "planning".into(),
    )));
    for chunk in [
        "# Plan\n\n## Goal\n\nParse the config file ",
        "into a Config struct.\n\n## Steps\n\n1. Add `parse_config` ",
        "to src/lib.rs.\n",
    ] {
        app.on_worker(FromWorker::Event(UiEvent::Text(
            Speaker::Architect,
            chunk.into(),
        )));
    }
    app.history_tokens = 1234;
    app.tick = 3;
    app
}

#[test]
fn empty_conversation() {
    let app = app();
    insta::assert_snapshot!("empty_80x24", render(&app, 80, 24));
    insta::assert_snapshot!("empty_120x40", render(&app, 120, 40));
}

#[test]
fn streaming_plan() {
    let app = streaming_app();
    let screen = render(&app, 80, 24);
    assert!(screen.contains("Architect"), "{screen}");
    insta::assert_snapshot!("streaming_80x24", screen);
    insta::assert_snapshot!("streaming_120x40", render(&app, 120, 40));
}

#[test]
fn hunk_review() {
    let mut app = streaming_app();
    let (pending, _rx) = review();
    app.on_worker(FromWorker::Review(pending));
    app.on_key(key(KeyCode::Char('y')));
    insta::assert_snapshot!("review_80x24", render(&app, 80, 24));
    insta::assert_snapshot!("review_120x40", render(&app, 120, 40));
}

#[test]
fn error_panel() {
    let mut app = streaming_app();
    app.on_worker(FromWorker::Done {
        label: "running the request",
        foreground: true,
        result: Err(BackendError(
            "no plan can be written: architect: connection refused at http://127.0.0.1:9. Configure `architect` in .aidx.yml, or set `fully-local: true` to let the local model plan".into(),
        )),
    });
    assert!(matches!(app.mode, Mode::Error(_)));
    insta::assert_snapshot!("error_80x24", render(&app, 80, 24));
    insta::assert_snapshot!("error_120x40", render(&app, 120, 40));
    app.on_key(key(KeyCode::Char('x')));
    assert!(matches!(app.mode, Mode::Chat), "any key closes the panel");
}

#[test]
fn help_screen() {
    let mut app = app();
    type_line(&mut app, "/help");
    assert!(matches!(app.mode, Mode::Help));
    insta::assert_snapshot!("help_80x24", render(&app, 80, 24));
    insta::assert_snapshot!("help_120x40", render(&app, 120, 40));
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut app = streaming_app();
    let (pending, _rx) = review();
    app.on_worker(FromWorker::Review(pending));
    for (w, h) in [
        (1, 1),
        (10, 3),
        (20, 6),
        (45, 12),
        (80, 24),
        (300, 100),
        (81, 7),
    ] {
        render(&app, w, h);
    }
}

#[test]
fn accepting_one_hunk_and_keeping_the_rest_unstaged_answers_partial() {
    let mut app = app();
    let (pending, rx) = review();
    app.on_worker(FromWorker::Review(pending));
    app.on_key(key(KeyCode::Char('y'))); // nums.py hunk 1
    app.on_key(key(KeyCode::Char('n'))); // nums.py hunk 2
    app.on_key(key(KeyCode::Char('n'))); // NOTES.md
    app.on_key(key(KeyCode::Char('u'))); // keep rejected hunks unstaged
    app.on_key(key(KeyCode::Enter));
    let answer = rx.try_recv().unwrap();
    assert_eq!(
        answer.decision,
        ReviewDecision::Partial {
            accepted: BTreeSet::from([HunkId { file: 0, hunk: 0 }]),
            rejected: RejectedHunks::KeepUnstaged,
        }
    );
    assert_eq!(answer.commit_message, None);
}

#[test]
fn accepting_everything_approves_and_feedback_revises() {
    let mut app = app();
    let (pending, rx) = review();
    app.on_worker(FromWorker::Review(pending));
    app.on_key(key(KeyCode::Char('a'))); // rest of nums.py
    app.on_key(key(KeyCode::Char('y'))); // NOTES.md
    app.on_key(key(KeyCode::Enter));
    assert_eq!(rx.try_recv().unwrap().decision, ReviewDecision::Approve);

    let (pending, rx) = review();
    app.on_worker(FromWorker::Review(pending));
    app.on_key(key(KeyCode::Char('q')));
    app.on_key(key(KeyCode::Char('f')));
    type_line(&mut app, "keep x18");
    assert_eq!(
        rx.try_recv().unwrap().decision,
        ReviewDecision::Revise {
            feedback: "keep x18".into()
        }
    );
}

#[test]
fn ctrl_c_cancels_the_running_step_then_quits() {
    let mut app = app();
    let actions = type_line(&mut app, "do something");
    let [Action::Submit(Job::Run { .. }, token)] = actions.as_slice() else {
        panic!("{actions:?}");
    };
    assert!(!token.is_cancelled());
    assert!(app.on_key(ctrl_c()).is_empty());
    assert!(token.is_cancelled(), "the first Ctrl-C cancels the request");
    assert!(app.busy.as_ref().unwrap().cancelling);
    let actions = app.on_key(ctrl_c());
    assert!(matches!(actions.as_slice(), [Action::Quit]));
}

#[test]
fn ctrl_c_during_review_aborts_it() {
    let mut app = app();
    let (pending, rx) = review();
    app.on_worker(FromWorker::Review(pending));
    app.on_key(ctrl_c());
    assert_eq!(rx.try_recv().unwrap().decision, ReviewDecision::Abort);
    assert!(matches!(app.mode, Mode::Chat));
}

#[test]
fn a_second_request_waits_for_the_first() {
    let mut app = app();
    type_line(&mut app, "first");
    let actions = type_line(&mut app, "second");
    assert!(actions.is_empty());
    let last = app.entries.last().unwrap();
    assert!(last.text.contains("busy"), "{}", last.text);
}

#[test]
fn up_walks_the_input_history() {
    let mut app = App::new(status(), InputHistory::in_memory(&["/ls", "fix it"]));
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input, "fix it");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.input, "/ls");
    app.on_key(key(KeyCode::Down));
    assert_eq!(app.input, "fix it");
}

#[test]
fn tab_completes_a_path_after_add() {
    let mut app = app();
    for c in "/add src/l".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert_eq!(app.input, "/add src/lib.rs ");
}
