//! The run on temporary git repositories, with the scripted (deterministic, test-only) roles of
//! `pipeline_support`: commits, reflections, failures, review, checks and fallbacks.

mod git_support;
mod pipeline_support;

use std::path::PathBuf;

use aidx_agent_core::config::Config;
use aidx_agent_core::edit::{GrammarFile, GrammarLimits, search_replace_grammar_for_files};
use aidx_agent_core::git::{EditRepo, validate_commit_message};
use aidx_agent_core::pipeline::{
    AutoApprove, FinishReason, Pipeline, PipelineError, Route, RouteChoice, RunOptions, RunReport,
    RunStatus,
};
use git_support::TestRepo;
use pipeline_support::{
    RecordingReviewer, ScriptedEditor, ScriptedPlanner, ScriptedResearcher, default_config,
};

const GREET: &str = "def greet():\n    return 'hi'\n";
const GREETED: &str = "def greet(name):\n    return f'hi {name}'\n";

const PLAN: &str = "# Plan\n\n## Goal\n\nGreet by name.\n\n## Context\n\n- `src/greet.py#greet`\n\n## Steps\n\n1. Add a name parameter to greet in src/greet.py.\n\n## Files\n\n- `src/greet.py` — greet takes a name\n\n## Checks\n\n- (none)\n";

const GOOD_REPLY: &str = "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n    return 'hi'\n=======\ndef greet(name):\n    return f'hi {name}'\n>>>>>>> REPLACE\n";

const BAD_REPLY: &str = "src/greet.py\n<<<<<<< SEARCH\ndef greet_everyone():\n    return 'hello'\n=======\ndef greet(name):\n    return f'hi {name}'\n>>>>>>> REPLACE\n";

fn options() -> RunOptions {
    RunOptions {
        run_id: Some("test-run".into()),
        ..RunOptions::default()
    }
}

/// Runs "Greet by name" with `plan`, approving the diff.
fn greet_by_name(
    repo: &EditRepo,
    config: &Config,
    editor: &mut ScriptedEditor,
    plan: &str,
) -> RunReport {
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(plan);
    Pipeline::new(repo, config, editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_options(options())
        .run("Greet by name", &[])
        .unwrap()
}

#[test]
fn happy_path_writes_the_plan_and_commits_a_valid_message() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("README.md", "# x\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = RecordingReviewer::approving();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut researcher =
        ScriptedResearcher::new("src/greet.py:\n  def greet()", &["src/greet.py#greet"]);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_researcher(&mut researcher)
        .with_planner(&mut planner)
        .with_options(options())
        .run("Greet by name", &[])
        .unwrap();

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(report.succeeded());
    assert_eq!(report.planner.as_deref(), Some("architect"));
    assert_eq!(t.read("src/greet.py"), GREETED);
    assert_eq!(
        t.read("artifacts/plan.md"),
        PLAN,
        "plan.md holds the planner's plan"
    );
    assert_eq!(t.head_file("src/greet.py").unwrap(), GREETED);
    assert_eq!(
        t.head_file("artifacts/plan.md"),
        None,
        "only edited files are committed"
    );

    let head = t.head();
    assert_eq!(report.commit, Some(head.id().to_string()));
    let message = head.message().unwrap();
    validate_commit_message(message, Some(&["src/greet.py".to_string()])).unwrap();
    assert_eq!(
        message,
        "feat(greet): greet by name\n\n- Updated: `src/greet.py` — greet takes a name\n\nPlan: artifacts/plan.md\nRefs: src/greet.py#greet\nAidx-Run: test-run\n"
    );
    assert_eq!(reviewer.seen.len(), 1);
    assert_eq!(
        reviewer.seen[0].0, report.diff,
        "the reviewed diff is what landed"
    );
    assert!(report.diff.contains("+def greet(name):"));

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "committed");
    assert_eq!(json["attempts"][0]["applied"], 1);
    assert!(
        json["prompts"].as_array().unwrap().len() >= 2,
        "planner and editor prompts counted"
    );
}

#[test]
fn a_failed_block_is_reflected_and_the_matched_block_is_kept() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", "X = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let plan = PLAN.replace(
        "- `src/greet.py` — greet takes a name\n",
        "- `src/greet.py` — greet takes a name\n- `src/util.py` — X becomes 2\n",
    );
    let first = format!(
        "src/util.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n\n{BAD_REPLY}"
    );
    let mut editor = ScriptedEditor::new(&[&first, GOOD_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, &plan);

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(report.attempts.len(), 2);
    assert_eq!(
        (report.attempts[0].applied, report.attempts[0].failed),
        (1, 1)
    );
    assert_eq!(
        (report.attempts[1].applied, report.attempts[1].failed),
        (2, 0)
    );
    assert_eq!(t.read("src/util.py"), "X = 2\n");
    assert_eq!(t.read("src/greet.py"), GREETED);

    // The reflection conversation: hard-reset prompt, the failed reply, the reflection.
    let second = &editor.received[1];
    assert_eq!(second.len(), 4);
    assert_eq!(second[..2], editor.received[0][..]);
    assert_eq!(second[2].content, first);
    let reflection = &second[3].content;
    assert!(
        reflection.contains("1 of 2 SEARCH/REPLACE blocks failed"),
        "{reflection}"
    );
    assert!(
        reflection.contains("## Block 2 failed in src/greet.py"),
        "{reflection}"
    );
    assert!(
        reflection.contains("def greet():"),
        "closest real lines shown: {reflection}"
    );
    assert!(
        reflection.contains("These blocks matched and will be kept; do not send them again: 1.")
    );

    let message = t.head().message().unwrap().to_string();
    validate_commit_message(
        &message,
        Some(&["src/greet.py".to_string(), "src/util.py".to_string()]),
    )
    .unwrap();
}

#[test]
fn exhausted_reflections_fail_clearly_and_write_nothing() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = 2;
    let mut editor = ScriptedEditor::repeating(BAD_REPLY, 10);
    let mut reviewer = RecordingReviewer::approving();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let head = t.head().id();
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_options(options())
        .run("Greet by name", &[])
        .unwrap();

    assert_eq!(report.status, RunStatus::EditFailed);
    assert!(!report.succeeded());
    assert_eq!(editor.received.len(), 3, "one attempt plus two reflections");
    assert_eq!(report.attempts.len(), 3);
    assert_eq!(report.failures.len(), 1);
    let failure = &report.failures[0];
    assert_eq!(failure.path, "src/greet.py");
    assert!(
        failure.reason.contains("not found") || failure.reason.contains("SEARCH"),
        "{}",
        failure.reason
    );
    assert_eq!(failure.closest.as_deref(), Some(GREET));
    assert_eq!(failure.closest_start_line, Some(1));
    assert!(reviewer.seen.is_empty(), "nothing to review");
    assert_eq!(t.read("src/greet.py"), GREET);
    assert_eq!(t.head().id(), head);
    assert_eq!(
        t.dirty(),
        vec!["artifacts/".to_string()],
        "only the plan was written"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "edit_failed");
    let text = report.to_string();
    assert!(
        text.starts_with("the edits still failed after 3 attempt(s); nothing was written\n"),
        "{text}"
    );
    assert!(text.contains("  block 1 in src/greet.py: "), "{text}");
    assert!(
        text.contains("    closest real lines (from line 1):\n    | def greet():\n"),
        "{text}"
    );
}

#[test]
fn unparseable_replies_are_reflected_with_the_parse_error() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/b.py", "B\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let plan = PLAN.replace("## Checks", "- `src/b.py` — unchanged\n\n## Checks");
    let broken = "<<<<<<< SEARCH\ndef greet():\n=======\n";
    let mut editor = ScriptedEditor::new(&["I would change greet.", broken, GOOD_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, &plan);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(
        report.attempts[0].parse_error.as_deref(),
        Some("the reply contains no edit")
    );
    assert!(
        report.attempts[1]
            .parse_error
            .as_deref()
            .unwrap()
            .contains("has no file path")
    );
    assert!(
        editor.received[1][3]
            .content
            .contains("the reply contains no edit")
    );
}

#[test]
fn a_dirty_user_file_is_committed_first_and_kept() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let dirty = format!("# user's comment\n{GREET}");
    t.write("src/greet.py", &dirty);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, PLAN);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let expected = format!("# user's comment\n{GREETED}");
    assert_eq!(
        t.read("src/greet.py"),
        expected,
        "the user's change survives the edit"
    );
    let head = t.head();
    let parent = head.parent(0).unwrap();
    assert_eq!(report.user_commit, Some(parent.id().to_string()));
    assert!(
        parent
            .message()
            .unwrap()
            .starts_with("chore: save uncommitted changes")
    );
    let tree = parent.tree().unwrap();
    let blob = tree.get_path(std::path::Path::new("src/greet.py")).unwrap();
    let content = t.repo.find_blob(blob.id()).unwrap().content().to_vec();
    assert_eq!(
        String::from_utf8(content).unwrap(),
        dirty,
        "the user's commit holds their text"
    );
}

#[test]
fn dirty_files_stop_the_run_when_dirty_commits_is_off() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let dirty = format!("# mine\n{GREET}");
    t.write("src/greet.py", &dirty);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.dirty_commits = false;
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let err = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap_err();
    assert!(err.to_string().contains("uncommitted changes"), "{err}");
    assert_eq!(t.read("src/greet.py"), dirty);
}

#[test]
fn an_edit_outside_the_repository_is_refused() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let outside = t.root().parent().unwrap().join("aidx-outside-test.txt");
    let _ = std::fs::remove_file(&outside);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = 1;
    let escape = "../aidx-outside-test.txt\n<<<<<<< SEARCH\n=======\npwned\n>>>>>>> REPLACE\n";
    let mut editor = ScriptedEditor::repeating(escape, 2);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::EditFailed);
    assert!(
        report.failures[0].reason.contains("cannot be edited"),
        "{:?}",
        report.failures
    );
    assert!(!outside.exists());
    assert_eq!(t.read("src/greet.py"), GREET);
}

#[test]
fn a_rejected_diff_writes_nothing() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = RecordingReviewer::rejecting("not like this");
    let mut planner = ScriptedPlanner::plan(PLAN);
    let head = t.head().id();
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Rejected);
    assert_eq!(report.rejection.as_deref(), Some("not like this"));
    assert_eq!(reviewer.seen[0].0, report.diff);
    assert!(
        reviewer.seen[0]
            .1
            .starts_with("feat(greet): greet by name\n")
    );
    assert_eq!(t.read("src/greet.py"), GREET);
    assert_eq!(t.head().id(), head);
}

#[test]
fn a_failing_check_leaves_the_edit_staged_but_uncommitted() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.lint_cmd = Some("grep -q 'name' src/greet.py".into());
    config.test_cmd = Some("echo 'FAILED test_greet'; exit 3".into());
    // No second try: the failure stops the run (the retry loop is in pipeline_review.rs).
    config.auto_test = false;
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let head = t.head().id();
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::ChecksFailed, "{report:#?}");
    assert!(!report.succeeded());
    assert_eq!(report.checks.len(), 2);
    assert!(report.checks[0].passed, "lint ran on the edited file");
    assert_eq!(report.checks[1].exit_code, Some(3));
    assert!(report.checks[1].output.contains("FAILED test_greet"));
    assert_eq!(t.head().id(), head, "not committed");
    assert_eq!(t.read("src/greet.py"), GREETED, "applied");
    let mut index = t.repo.index().unwrap();
    index.read(true).unwrap();
    let staged = index
        .get_path(std::path::Path::new("src/greet.py"), 0)
        .unwrap();
    assert_eq!(
        t.repo.find_blob(staged.id).unwrap().content(),
        GREETED.as_bytes(),
        "staged"
    );
}

#[test]
fn passing_checks_commit() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.test_cmd = Some("grep -q 'def greet(name)' src/greet.py".into());
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, PLAN);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(report.checks[0].passed);
    let head = t.head();
    assert_eq!(report.commit, Some(head.id().to_string()));
    assert_eq!(t.head_file("src/greet.py").unwrap(), GREETED);
    validate_commit_message(head.message().unwrap(), Some(&["src/greet.py".to_string()])).unwrap();
    assert!(
        t.dirty().iter().all(|p| p.starts_with("artifacts")),
        "{:?}",
        t.dirty()
    );
}

#[test]
fn auto_commits_off_leaves_the_edit_staged() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.auto_commits = false;
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let head = t.head().id();
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Staged);
    assert!(report.commit.is_none() && report.commit_message.is_some());
    assert_eq!(t.head().id(), head);
    assert_eq!(t.read("src/greet.py"), GREETED);
}

#[test]
fn an_unreachable_architect_falls_back_to_the_local_model() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    assert!(config.fully_local);
    // The local model first writes the plan, then (hard reset) the edit.
    let mut editor = ScriptedEditor::new(&[PLAN, GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::unavailable();
    let mut researcher = ScriptedResearcher::new("src/greet.py:\n  def greet()", &["R1"]);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_researcher(&mut researcher)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(report.planner.as_deref(), Some("local"));
    assert!(
        report.warnings[0].contains("connection refused"),
        "{:?}",
        report.warnings
    );
    assert!(
        editor.received[0][1]
            .content
            .contains("src/greet.py:\n  def greet()"),
        "map given to the local planner"
    );
    assert_eq!(
        editor.received[1].len(),
        2,
        "the Editor starts from a hard reset"
    );
    assert!(!editor.received[1][1].content.contains("# Repository map"));
    assert!(
        report
            .prompts
            .iter()
            .any(|p| p.role == "local-planner" && p.tokens > 0)
    );
}

#[test]
fn without_fully_local_a_missing_architect_is_an_error() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.fully_local = false;
    let mut editor = ScriptedEditor::new(&[]);
    let mut reviewer = AutoApprove;
    let err = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .run("Greet by name", &[])
        .unwrap_err();
    assert!(matches!(err, PipelineError::NoPlanner { .. }), "{err}");
    assert!(
        err.to_string().contains("no architect is configured"),
        "{err}"
    );
    assert!(err.to_string().contains("fully-local: true"), "{err}");
}

#[test]
fn edit_only_runs_the_editor_on_an_existing_plan() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    t.write("docs/my-plan.md", PLAN);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_options(options())
        .edit_only(std::path::Path::new("docs/my-plan.md"), None, &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(
        report.request, "Greet by name.",
        "the plan's goal is the request"
    );
    assert_eq!(report.planner, None);
    let message = t.head().message().unwrap().to_string();
    assert!(message.contains("\nPlan: docs/my-plan.md\n"), "{message}");
    assert!(
        message.contains("\nRefs: src/greet.py#greet\n"),
        "{message}"
    );
}

#[test]
fn grammar_is_requested_only_from_editors_that_support_it() {
    for supports in [true, false] {
        let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
        let repo = EditRepo::discover(t.root()).unwrap();
        let config = default_config();
        let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
        editor.grammar = supports;
        let mut reviewer = AutoApprove;
        let mut planner = ScriptedPlanner::plan(PLAN);
        Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
            .with_planner(&mut planner)
            .run("Greet by name", &[])
            .unwrap();
        let options = &editor.options[0];
        assert_eq!(options.grammar.is_some(), supports);
        if supports {
            // SEARCH lines are limited to the file's real lines (read from disk at edit time).
            let expected = search_replace_grammar_for_files(
                &[GrammarFile {
                    path: "src/greet.py",
                    text: Some(GREET),
                }],
                GrammarLimits::default(),
            );
            assert_eq!(options.grammar.as_deref(), Some(expected.as_str()));
        }
        assert_eq!(options.max_tokens, 512);
        assert_eq!(options.temperature, 0.0);
    }
}

#[test]
fn a_plan_without_files_uses_the_users_files_or_stops() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let vague = "# Plan\n\n## Goal\n\nGreet by name.\n";
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(vague);
    let err = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::PlanNamesNoFiles { .. }),
        "{err}"
    );

    let mut planner = ScriptedPlanner::plan(vague);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[PathBuf::from("src/greet.py")])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(
        t.read("artifacts/plan.md")
            .contains("- `src/greet.py` — added by the user")
    );
}

#[test]
fn an_empty_request_is_refused() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[]);
    let mut reviewer = AutoApprove;
    let err = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .run("  \n", &[])
        .unwrap_err();
    assert!(matches!(err, PipelineError::EmptyRequest));
}

#[test]
fn the_whole_file_format_is_used_when_configured() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.editor.edit_format = Some("whole".into());
    let reply = format!("src/greet.py\n```python\n{GREETED}```\n");
    let mut editor = ScriptedEditor::new(&[&reply]);
    editor.grammar = true;
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(t.read("src/greet.py"), GREETED);
    assert!(
        editor.received[0][0]
            .content
            .contains("rewriting whole files")
    );
    assert_eq!(
        editor.options[0].grammar, None,
        "the SEARCH/REPLACE grammar is not used"
    );
}

#[test]
fn repeating_only_the_matched_blocks_does_not_drop_the_failed_one() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", "X = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = 1;
    let util = "src/util.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n";
    let first = format!("{util}\n{BAD_REPLY}");
    let mut editor = ScriptedEditor::new(&[&first, util]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .run("Greet by name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::EditFailed, "{report:#?}");
    assert!(
        report
            .edit_error
            .as_deref()
            .unwrap()
            .contains("only repeats edits that already matched"),
        "{report:#?}"
    );
    assert_eq!(
        report.failures.len(),
        1,
        "the unresolved block is still reported"
    );
    assert_eq!(report.failures[0].path, "src/greet.py");
    assert_eq!(t.read("src/util.py"), "X = 1\n", "nothing written");
}

#[test]
fn a_refactor_commit_carries_an_arch_tag() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut reviewer = AutoApprove;
    let mut planner = ScriptedPlanner::plan(PLAN);
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_options(RunOptions {
            // A rename is a change at one place: the heuristic would plan it locally.
            route: RouteChoice::Force(Route::Architect),
            ..options()
        })
        .run("Rename the greeting parameter", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let message = t.head().message().unwrap().to_string();
    validate_commit_message(&message, Some(&["src/greet.py".to_string()])).unwrap();
    assert!(
        message.starts_with(
            "refactor(greet): rename the greeting parameter\n\nArchTag:TECHDEBT-PAYMENT\n- Refactored: `src/greet.py` — greet takes a name\n"
        ),
        "{message}"
    );
}

/// A reply cut off at the token limit: the util.py block is complete, greet.py's is not.
fn cut_off_reply() -> String {
    "src/util.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n\nsrc/greet.py\n<<<<<<< SEARCH\ndef greet():\n    return 'hi'\n=======\ndef greet(name):\n".to_string()
}

fn two_file_plan() -> String {
    PLAN.replace(
        "- `src/greet.py` — greet takes a name\n",
        "- `src/greet.py` — greet takes a name\n- `src/util.py` — X becomes 2\n",
    )
}

#[test]
fn a_reply_cut_off_at_the_limit_keeps_its_complete_blocks_and_asks_for_the_rest() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", "X = 1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let first = cut_off_reply();
    let mut editor =
        ScriptedEditor::new(&[&first, GOOD_REPLY]).with_finishes(&[FinishReason::Length]);
    let report = greet_by_name(&repo, &config, &mut editor, &two_file_plan());

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(report.attempts.len(), 2);
    assert_eq!(report.attempts[0].finish, FinishReason::Length);
    assert_eq!(
        (report.attempts[0].blocks, report.attempts[0].applied),
        (1, 1),
        "the complete block is parsed and kept"
    );
    assert_eq!(t.read("src/util.py"), "X = 2\n");
    assert_eq!(t.read("src/greet.py"), GREETED);
    let reflection = &editor.received[1][3].content;
    assert!(
        reflection.contains("cut off at the token limit inside block 2 (for src/greet.py)"),
        "{reflection}"
    );
    assert!(
        reflection.contains("do not send them again"),
        "{reflection}"
    );
}

#[test]
fn a_reply_cut_off_every_time_fails_without_committing_its_complete_blocks() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", "X = 1\n")]);
    let head = t.head().id();
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = 1;
    let first = cut_off_reply();
    let mut editor = ScriptedEditor::repeating(&first, 2)
        .with_finishes(&[FinishReason::Length, FinishReason::Length]);
    let report = greet_by_name(&repo, &config, &mut editor, &two_file_plan());

    assert_eq!(report.status, RunStatus::EditFailed, "{report:#?}");
    let error = report.edit_error.as_deref().unwrap_or_default();
    assert!(error.contains("cut off"), "{error}");
    assert_eq!(
        t.read("src/util.py"),
        "X = 1\n",
        "a partial edit is never landed"
    );
    assert_eq!(t.read("src/greet.py"), GREET);
    assert_eq!(t.head().id(), head);
}

/// A reply whose block matches but whose REPLACE carries prose into the code.
const PROSE_REPLY: &str = "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n    return 'hi'\n=======\ndef greet(name):\n    return f'hi {name}'\n\nThis function now greets by name.\n>>>>>>> REPLACE\n";

#[test]
fn an_edit_that_breaks_the_syntax_goes_back_to_the_editor() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    assert!(config.syntax_check, "on by default");
    let mut editor = ScriptedEditor::new(&[PROSE_REPLY, GOOD_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, PLAN);

    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(report.attempts.len(), 2);
    assert!(
        report.attempts[0].syntax_errors[0]
            .starts_with("src/greet.py: line 4 does not parse: This function"),
        "{:?}",
        report.attempts[0].syntax_errors
    );
    assert_eq!(
        t.read("src/greet.py"),
        GREETED,
        "the clean second reply landed"
    );
    let reflection = &editor.received[1][3].content;
    assert!(
        reflection.contains("leave src/greet.py with syntax errors")
            && reflection.contains("This function now greets by name."),
        "{reflection}"
    );
}

#[test]
fn syntax_errors_fail_the_run_or_land_with_the_check_off() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let head = t.head().id();
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.max_reflections = 1;
    let mut editor = ScriptedEditor::repeating(PROSE_REPLY, 2);
    let report = greet_by_name(&repo, &config, &mut editor, PLAN);
    assert_eq!(report.status, RunStatus::EditFailed, "{report:#?}");
    let error = report.edit_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("syntax errors in src/greet.py") && error.contains("syntax-check: false"),
        "{error}"
    );
    assert_eq!(t.read("src/greet.py"), GREET);
    assert_eq!(t.head().id(), head);

    config.syntax_check = false;
    let mut editor = ScriptedEditor::new(&[PROSE_REPLY]);
    let report = greet_by_name(&repo, &config, &mut editor, PLAN);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(
        t.read("src/greet.py")
            .contains("This function now greets by name.")
    );
}

#[test]
fn syntax_findings_in_c_are_reported_but_do_not_block() {
    let t = TestRepo::with_files(&[("src/calc.c", "int add(int a, int b) { return a + b; }\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let plan = PLAN.replace("src/greet.py", "src/calc.c");
    let reply = "src/calc.c\n<<<<<<< SEARCH\nint add(int a, int b) { return a + b; }\n=======\nint add(int a, int b) { return a + b; }\nint mul(int a, int b { return a * b; }\n>>>>>>> REPLACE\n";
    let mut editor = ScriptedEditor::new(&[reply]);
    let report = greet_by_name(&repo, &config, &mut editor, &plan);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("src/calc.c: line 2") && w.contains("lint-cmd decides")),
        "{:?}",
        report.warnings
    );
}
