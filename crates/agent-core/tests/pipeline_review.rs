//! Review through the pipeline's seams: hunk-by-hunk approval (discarding or keeping the
//! rejected hunks), changes asked for (back to the Editor as a reflection), an edited commit
//! message, typed events and per-request cancellation. Roles are the scripted, test-only ones of
//! `pipeline_support`.

mod git_support;
mod pipeline_support;

use std::collections::BTreeSet;

use aidx_agent_core::git::{EditRepo, GitError, is_aidx_commit};
use aidx_agent_core::pipeline::{
    CancelToken, ChatMessage, Completion, Editor, Event, GenerateOptions, HunkId, Observer,
    Pipeline, PipelineError, RejectedHunks, ReviewAnswer, ReviewDecision, RoleError, RunOptions,
    RunStatus,
};
use git_support::TestRepo;
use pipeline_support::{RecordingReviewer, ScriptedEditor, ScriptedPlanner, default_config};

/// Twenty numbered lines: edits to line 2 and line 18 are two hunks apart.
fn lines() -> String {
    (1..=20).map(|i| format!("x{i} = {i}\n")).collect()
}

const PLAN: &str = "# Plan\n\n## Goal\n\nRenumber.\n\n## Steps\n\n1. Change x2 and x18 in nums.py.\n\n## Files\n\n- `nums.py` — two values change\n";

/// One SEARCH/REPLACE block per hunk.
const REPLY: &str = "nums.py\n<<<<<<< SEARCH\nx2 = 2\n=======\nx2 = 200\n>>>>>>> REPLACE\n\nnums.py\n<<<<<<< SEARCH\nx18 = 18\n=======\nx18 = 1800\n>>>>>>> REPLACE\n";

fn options() -> RunOptions {
    RunOptions {
        run_id: Some("review-run".into()),
        ..RunOptions::default()
    }
}

fn run_with(
    t: &TestRepo,
    editor: &mut dyn Editor,
    reviewer: &mut RecordingReviewer,
    options: RunOptions,
) -> Result<aidx_agent_core::pipeline::RunReport, PipelineError> {
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut planner = ScriptedPlanner::plan(PLAN);
    Pipeline::new(&repo, &config, editor, reviewer)
        .with_planner(&mut planner)
        .with_options(options)
        .run("Renumber x2 and x18", &[])
}

/// Changed paths, less the plan aidx writes.
fn dirty(t: &TestRepo) -> Vec<String> {
    t.dirty()
        .into_iter()
        .filter(|p| !p.starts_with("artifacts/"))
        .collect()
}

fn first_hunk_only(rejected: RejectedHunks) -> ReviewAnswer {
    ReviewDecision::Partial {
        accepted: BTreeSet::from([HunkId { file: 0, hunk: 0 }]),
        rejected,
    }
    .into()
}

/// REPLY's two hunks reviewed: the first accepted, the second rejected as `rejected` says.
fn review_first_hunk_only(
    rejected: RejectedHunks,
) -> (
    TestRepo,
    RecordingReviewer,
    aidx_agent_core::pipeline::RunReport,
) {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    reviewer.queue.push_back(first_hunk_only(rejected));
    let report = run_with(&t, &mut editor, &mut reviewer, options()).unwrap();
    (t, reviewer, report)
}

#[test]
fn the_reviewer_sees_each_hunk_and_only_accepted_hunks_are_committed() {
    let (t, reviewer, report) = review_first_hunk_only(RejectedHunks::Discard);

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let files = &reviewer.files[0];
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].hunks.len(), 2, "two far-apart edits are two hunks");
    assert!(files[0].hunks[0].body.contains("+x2 = 200"));
    assert!(files[0].hunks[1].body.contains("+x18 = 1800"));

    let committed = t.head_file("nums.py").unwrap();
    assert!(committed.contains("x2 = 200\n"), "{committed}");
    assert!(
        committed.contains("x18 = 18\n"),
        "rejected hunk not committed"
    );
    assert_eq!(
        t.read("nums.py"),
        committed,
        "discarded: the tree is the commit"
    );
    assert!(dirty(&t).is_empty(), "{:?}", dirty(&t));
    assert!(report.diff.contains("+x2 = 200") && !report.diff.contains("x18 = 1800"));
    assert!(is_aidx_commit(t.head().message().unwrap()));
}

#[test]
fn rejected_hunks_can_stay_unstaged_in_the_working_tree() {
    let (t, _, report) = review_first_hunk_only(RejectedHunks::KeepUnstaged);

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let committed = t.head_file("nums.py").unwrap();
    assert!(committed.contains("x2 = 200\n") && committed.contains("x18 = 18\n"));
    let tree = t.read("nums.py");
    assert!(
        tree.contains("x2 = 200\n") && tree.contains("x18 = 1800\n"),
        "{tree}"
    );
    assert_eq!(dirty(&t), vec!["nums.py".to_string()], "left unstaged");
    let index = t.repo.index().unwrap();
    let staged = index.get_path(std::path::Path::new("nums.py"), 0).unwrap();
    let blob = t.repo.find_blob(staged.id).unwrap();
    assert_eq!(
        std::str::from_utf8(blob.content()).unwrap(),
        committed,
        "the index holds the commit, not the kept hunk"
    );
    assert!(report.warnings.iter().any(|w| w.contains("unstaged")));
}

#[test]
fn accepting_no_hunk_writes_nothing() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let before = t.head().id();
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    reviewer.queue.push_back(
        ReviewDecision::Partial {
            accepted: BTreeSet::new(),
            rejected: RejectedHunks::Discard,
        }
        .into(),
    );
    let report = run_with(&t, &mut editor, &mut reviewer, options()).unwrap();
    assert_eq!(report.status, RunStatus::Rejected);
    assert_eq!(t.head().id(), before);
    assert_eq!(t.read("nums.py"), lines());
}

#[test]
fn feedback_goes_back_to_the_editor_and_the_new_edits_are_reviewed() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let second = "nums.py\n<<<<<<< SEARCH\nx2 = 2\n=======\nx2 = 222\n>>>>>>> REPLACE\n";
    let mut editor = ScriptedEditor::new(&[REPLY, second]);
    let mut reviewer = RecordingReviewer::approving();
    reviewer.queue.push_back(
        ReviewDecision::Revise {
            feedback: "leave x18 alone and make x2 222".into(),
        }
        .into(),
    );
    let report = run_with(&t, &mut editor, &mut reviewer, options()).unwrap();

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(reviewer.seen.len(), 2, "the new edits are reviewed again");
    let again = &editor.received[1];
    let last = again.last().unwrap();
    assert!(last.content.contains("leave x18 alone"), "{}", last.content);
    assert_eq!(again[again.len() - 2], ChatMessage::assistant(REPLY));
    let committed = t.head_file("nums.py").unwrap();
    assert!(committed.contains("x2 = 222\n") && committed.contains("x18 = 18\n"));
}

#[test]
fn asking_for_changes_is_bounded_by_max_reflections() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let mut editor = ScriptedEditor::repeating(REPLY, 10);
    let mut reviewer = RecordingReviewer::approving();
    reviewer.decision = ReviewDecision::Revise {
        feedback: "again".into(),
    };
    let report = run_with(&t, &mut editor, &mut reviewer, options()).unwrap();
    assert_eq!(report.status, RunStatus::Rejected);
    let max = default_config().max_reflections as usize;
    assert_eq!(reviewer.seen.len(), max + 1);
    assert_eq!(t.read("nums.py"), lines());
}

#[test]
fn an_edited_commit_message_is_kept_with_the_run_trailers() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    reviewer.queue.push_back(ReviewAnswer {
        decision: ReviewDecision::Approve,
        commit_message: Some("fix: renumber by hand\n\nWritten by the reviewer.".into()),
        edited: Vec::new(),
    });
    run_with(&t, &mut editor, &mut reviewer, options()).unwrap();
    let message = t.head().message().unwrap().to_string();
    assert!(
        message.starts_with("fix: renumber by hand\n\nWritten by the reviewer.\n\n"),
        "{message}"
    );
    assert!(message.contains("Aidx-Run: review-run\n"), "{message}");
    assert!(is_aidx_commit(&message));
}

/// An Editor that cancels the request's token mid-reply, as Ctrl-C would, and checks that the
/// token it was given is the request's.
struct CancelledMidReply;

impl Editor for CancelledMidReply {
    fn complete(
        &mut self,
        _messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        on_text("nums.py\n<<<<<<< SEARCH\n");
        options.cancel.cancel();
        Err(RoleError::Failed {
            role: "editor".into(),
            reason: "generation cancelled".into(),
        })
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
    fn safe_context_tokens(&self) -> Option<usize> {
        None
    }
}

#[test]
fn cancelling_the_request_stops_the_run_before_anything_is_written() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let before = t.head().id();
    let mut reviewer = RecordingReviewer::approving();
    let cancel = CancelToken::new();
    let options = RunOptions {
        cancel: cancel.clone(),
        ..options()
    };
    let result = run_with(&t, &mut CancelledMidReply, &mut reviewer, options);
    assert!(
        matches!(result, Err(PipelineError::Git(GitError::Interrupted))),
        "{result:?}"
    );
    assert!(cancel.is_cancelled());
    assert!(reviewer.seen.is_empty());
    assert_eq!(t.head().id(), before);
    assert_eq!(t.read("nums.py"), lines());

    // The next request has its own token and runs normally.
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let report = run_with(&t, &mut editor, &mut reviewer, self::options()).unwrap();
    assert_eq!(report.status, RunStatus::Committed);
}

/// Records events as short strings.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Observer for Recorder {
    fn event(&mut self, event: &Event<'_>) {
        let line = match event {
            Event::Phase { phase, .. } => format!("phase {phase}"),
            Event::Text { speaker, .. } => format!("text {speaker}"),
            Event::Prompt(count) => format!("prompt {}", count.role),
            Event::Attempt { attempt, max } => format!("attempt {attempt}/{max}"),
            Event::BlockFailed { path, .. } => format!("failed {path}"),
            Event::Reflection { attempt } => format!("reflection {attempt}"),
            Event::GateTrimmed { .. } => "trimmed".into(),
            Event::Check { name, passed } => format!("check {name} {passed}"),
            Event::Notice(_) => "notice".into(),
            Event::Finished(report) => format!("finished {:?}", report.status),
        };
        if self.0.last() != Some(&line) {
            self.0.push(line);
        }
    }
}

#[test]
fn events_arrive_typed_and_in_order() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let bad = "nums.py\n<<<<<<< SEARCH\nx99 = 99\n=======\nx99 = 0\n>>>>>>> REPLACE\n";
    let mut editor = ScriptedEditor::new(&[bad, REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    let mut recorder = Recorder::default();
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut planner = ScriptedPlanner::plan(PLAN);
    Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_observer(&mut recorder)
        .with_options(options())
        .run("Renumber", &[])
        .unwrap();
    let expected = [
        "phase research",
        "notice",
        "phase plan",
        "prompt architect",
        "text Architect",
        "phase edit",
        "attempt 1/4",
        "prompt editor",
        "text Editor",
        "failed nums.py",
        "reflection 1",
        "phase edit",
        "attempt 2/4",
        "prompt editor",
        "text Editor",
        "phase review",
        "phase land",
        "finished Committed",
    ];
    let got: Vec<&str> = recorder.0.iter().map(String::as_str).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_file_rewritten_at_review_lands_as_written() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    let by_hand = lines().replace("x2 = 2\n", "x2 = 2  # kept by hand\n");
    reviewer.queue.push_back(ReviewAnswer {
        decision: ReviewDecision::Partial {
            accepted: BTreeSet::new(),
            rejected: RejectedHunks::Discard,
        },
        commit_message: None,
        edited: vec![(0, by_hand.clone())],
    });
    let report = run_with(&t, &mut editor, &mut reviewer, options()).unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(t.head_file("nums.py").unwrap(), by_hand);
    assert_eq!(t.read("nums.py"), by_hand);
}

/// Runs "Renumber x2 and x18" after `conversation`, approving; returns the report and what the
/// planner was asked.
fn plan_after(
    repo: &EditRepo,
    config: &aidx_agent_core::config::Config,
    editor: &mut ScriptedEditor,
    conversation: Vec<ChatMessage>,
) -> (aidx_agent_core::pipeline::RunReport, String) {
    let mut reviewer = RecordingReviewer::approving();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let report = Pipeline::new(repo, config, editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_options(RunOptions {
            conversation,
            ..options()
        })
        .run("Renumber x2 and x18", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    (report, planner.requests[0].clone())
}

#[test]
fn the_conversation_reaches_the_planner_under_the_gate_and_never_the_editor() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    // Word-counted: each message below is 5 words plus the template overhead.
    config.max_chat_history_tokens = 30;
    let mut editor = ScriptedEditor::new(&[REPLY]);
    let conversation = vec![
        ChatMessage::user("OLDEST what about x1 then"),
        ChatMessage::assistant("x1 stays as it is"),
        ChatMessage::user("NEWER please renumber x2 instead"),
        ChatMessage::assistant("NEWEST-ANSWER noted for the plan"),
    ];
    let (report, seen) = plan_after(&repo, &config, &mut editor, conversation);
    let seen = &seen;
    assert!(seen.starts_with("Renumber x2 and x18"), "{seen}");
    assert!(seen.contains("NEWEST-ANSWER"), "{seen}");
    assert!(!seen.contains("OLDEST"), "trimmed oldest first: {seen}");
    assert!(report.warnings.iter().any(|w| w.contains("trimmed")));
    for message in &editor.received[0] {
        assert!(!message.content.contains("NEWEST-ANSWER"), "hard reset");
    }
    let message = t.head().message().unwrap().to_string();
    assert!(
        message.starts_with("feat"),
        "the commit is named from the request: {message}"
    );
    assert!(!message.contains("NEWEST"), "{message}");
}

const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
const CALC_PLAN: &str = "# Plan\n\n## Goal\n\nAdd mul.\n\n## Steps\n\n1. After sub in calc.py, add mul(a, b).\n\n## Files\n\n- `calc.py` — add mul\n";
/// What SmolLM2 once committed in the demo: `add` deleted, `mul` defined twice.
const BROKEN: &str = "calc.py\n<<<<<<< SEARCH\ndef add(a, b):\n    return a + b\n=======\ndef mul(a, b):\n    return a * b\n\n\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n";
const FIXED: &str = "calc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n";

/// Runs "Add mul" on calc.py with `max_reflections` and, when given, a `test-cmd`.
fn run_calc(
    editor: &mut ScriptedEditor,
    max_reflections: u32,
    test_cmd: Option<&str>,
) -> (TestRepo, aidx_agent_core::pipeline::RunReport) {
    run_calc_with_hooks(editor, max_reflections, test_cmd, &[])
}

/// [`run_calc`] with git hooks installed first (name, script).
fn run_calc_with_hooks(
    editor: &mut ScriptedEditor,
    max_reflections: u32,
    test_cmd: Option<&str>,
    hooks: &[(&str, &str)],
) -> (TestRepo, aidx_agent_core::pipeline::RunReport) {
    let t = TestRepo::with_files(&[("calc.py", CALC)]);
    for (name, script) in hooks {
        install_hook(&t, name, script);
    }
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = max_reflections;
    config.test_cmd = test_cmd.map(str::to_string);
    let mut reviewer = RecordingReviewer::approving();
    let mut planner = ScriptedPlanner::plan(CALC_PLAN);
    let report = Pipeline::new(&repo, &config, editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_options(options())
        .run("Add mul", &[])
        .unwrap();
    (t, report)
}

#[test]
fn the_verifier_rules_send_a_deleted_and_duplicated_definition_back() {
    let mut editor = ScriptedEditor::new(&[BROKEN, FIXED]);
    let (t, report) = run_calc(&mut editor, 3, None);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let rules: Vec<_> = report.verifier.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        vec![
            aidx_agent_core::verify::Rule::DeletedDefinition,
            aidx_agent_core::verify::Rule::DuplicateDefinition
        ]
    );
    let again = editor.received[1].last().unwrap();
    assert!(again.content.contains("deletes `add`"), "{}", again.content);
    let committed = t.head_file("calc.py").unwrap();
    assert!(committed.contains("def add(a, b)") && committed.matches("def mul").count() == 1);
}

#[test]
fn when_the_rules_keep_failing_nothing_is_written() {
    let mut editor = ScriptedEditor::repeating(BROKEN, 5);
    let (t, report) = run_calc(&mut editor, 1, None);
    assert_eq!(report.status, RunStatus::EditFailed);
    assert!(
        report.edit_error.as_deref().unwrap().contains("verifier"),
        "{report:#?}"
    );
    assert_eq!(editor.received.len(), 2, "one reflection, then stop");
    assert_eq!(t.read("calc.py"), CALC);
}

/// A test-cmd that passes only when calc.py defines mul returning a product.
const CALC_TEST: &str =
    "grep -q 'return a \\* b' calc.py || { echo 'FAIL: test_mul: mul(2, 3) != 6'; exit 1; }";
const WRONG_MUL: &str = "calc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n>>>>>>> REPLACE\n";

#[test]
fn a_failing_test_goes_back_to_the_editor_and_the_fix_is_committed() {
    let mut editor = ScriptedEditor::new(&[WRONG_MUL, FIXED]);
    let (t, report) = run_calc(&mut editor, 2, Some(CALC_TEST));
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let again = editor.received[1].last().unwrap();
    assert!(
        again.content.contains("FAIL: test_mul"),
        "{}",
        again.content
    );
    assert!(again.content.contains("taken back"), "{}", again.content);
    // Both attempts' checks are in the report: the failed one, then the passing one.
    let passed: Vec<Vec<bool>> = report
        .check_attempts
        .iter()
        .map(|a| a.iter().map(|c| c.passed).collect())
        .collect();
    assert_eq!(
        passed,
        [vec![false], vec![true]],
        "{:?}",
        report.check_attempts
    );
    // The second attempt edited the original file: the wrong mul never reached a commit.
    let committed = t.head_file("calc.py").unwrap();
    assert!(committed.contains("return a * b") && !committed.contains("return a + b\n\n\ndef mul"));
    assert_eq!(
        t.commit_count(),
        2,
        "one aidx commit on top of the fixture's"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("test failed (attempt 1)"))
    );
}

#[test]
fn after_the_last_attempt_a_failing_test_leaves_the_edit_staged() {
    let mut editor = ScriptedEditor::repeating(WRONG_MUL, 4);
    let (t, report) = run_calc(&mut editor, 1, Some(CALC_TEST));
    assert_eq!(report.status, RunStatus::ChecksFailed, "{report:#?}");
    assert_eq!(editor.received.len(), 2, "one retry, then stop");
    assert!(report.checks[0].output.contains("FAIL: test_mul"));
    assert_eq!(t.commit_count(), 1, "nothing committed");
    assert!(
        t.read("calc.py").contains("return a + b\n"),
        "staged in the tree"
    );
}

/// Installs an executable hook in the test repository.
fn install_hook(t: &TestRepo, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = t.repo.path().join("hooks");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_failing_pre_commit_hook_goes_back_to_the_editor() {
    let mut editor = ScriptedEditor::new(&[WRONG_MUL, FIXED]);
    let hook = "#!/bin/sh\ngrep -q 'return a \\* b' calc.py || { echo 'pre-commit: mul must multiply'; exit 1; }\n";
    let (t, report) = run_calc_with_hooks(&mut editor, 3, None, &[("pre-commit", hook)]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let again = editor.received[1].last().unwrap();
    assert!(
        again.content.contains("pre-commit: mul must multiply"),
        "{}",
        again.content
    );
    assert!(t.head_file("calc.py").unwrap().contains("return a * b"));
}

#[test]
fn the_commit_msg_hook_may_rewrite_the_message_and_may_refuse_it() {
    let mut editor = ScriptedEditor::new(&[FIXED]);
    let sign = "#!/bin/sh\nprintf '\\nSigned-off-by: Hook <hook@localhost>\\n' >> \"$1\"\n";
    let (t, report) = run_calc_with_hooks(&mut editor, 3, None, &[("commit-msg", sign)]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let message = t.head().message().unwrap().to_string();
    assert!(message.contains("Signed-off-by: Hook"), "{message}");
    assert!(is_aidx_commit(&message), "{message}");

    let mut editor = ScriptedEditor::new(&[FIXED]);
    let refuse = "#!/bin/sh\necho 'commit-msg: needs a ticket number' >&2\nexit 1\n";
    let (t, report) = run_calc_with_hooks(&mut editor, 3, None, &[("commit-msg", refuse)]);
    assert_eq!(report.status, RunStatus::ChecksFailed, "{report:#?}");
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.output.contains("needs a ticket number"))
    );
    assert_eq!(t.commit_count(), 1, "nothing committed");
    assert!(
        t.read("calc.py").contains("def mul"),
        "the edits stay, staged"
    );
}

#[test]
fn with_summarize_the_editor_summarizes_the_conversation_for_the_planner() {
    let t = TestRepo::with_files(&[("nums.py", &lines())]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_chat_history_tokens = 160;
    config.history_overflow = aidx_agent_core::config::HistoryOverflow::Summarize;
    // The first reply is the summary, the second the edit.
    let mut editor = ScriptedEditor::new(&["SUMMARY: the user wants x2 renumbered", REPLY]);
    let mut conversation = vec![
        ChatMessage::user("OLDEST what about x1 then"),
        ChatMessage::assistant("x1 stays as it is"),
    ];
    for k in 3..15 {
        conversation.push(ChatMessage::user(format!(
            "and what about x{k} then please"
        )));
        conversation.push(ChatMessage::assistant(format!("x{k} stays as it is")));
    }
    conversation.push(ChatMessage::user("NEWER please renumber x2 instead"));
    conversation.push(ChatMessage::assistant("NEWEST-ANSWER noted for the plan"));
    let (report, seen) = plan_after(&repo, &config, &mut editor, conversation);
    let seen = &seen;
    assert!(
        seen.contains("SUMMARY: the user wants x2"),
        "{seen}\n{:?}",
        report.warnings
    );
    assert!(seen.contains("NEWEST-ANSWER"), "{seen}");
    assert!(!seen.contains("OLDEST"), "{seen}");
    assert!(
        report.warnings.iter().any(|w| w.contains("summarized")),
        "{:?}",
        report.warnings
    );
}
