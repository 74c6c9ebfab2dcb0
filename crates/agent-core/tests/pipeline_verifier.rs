//! The Verifier Cascade's model layer through the pipeline, with a scripted verifier: accept,
//! revise then accept, revise until `max-reflections`, an unreadable answer, the repository's
//! rules in its prompt, and a diff cut to the verifier's context.

mod git_support;
mod pipeline_support;

use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{AutoApprove, Pipeline, RunReport, RunStatus, VerdictKind};
use git_support::TestRepo;
use pipeline_support::{ScriptedEditor, ScriptedPlanner, default_config};

const GREET: &str = "def greet():\n    return 'hi'\n";
const GREETED: &str = "def greet(name):\n    return f'hi {name}'\n";

const PLAN: &str = "# Plan\n\n## Goal\n\nGreet by name.\n\n## Steps\n\n1. Add a name parameter to greet in src/greet.py.\n\n## Files\n\n- `src/greet.py` — greet takes a name\n\n## Checks\n\n- (none)\n";

/// A first draft that keeps the old greeting (the verifier should catch it), and a good one.
const LAZY_REPLY: &str =
    "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n=======\ndef greet(name):\n>>>>>>> REPLACE\n";
const GOOD_REPLY: &str = "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n    return 'hi'\n=======\ndef greet(name):\n    return f'hi {name}'\n>>>>>>> REPLACE\n";

const ACCEPT: &str = "{\"verdict\": \"accept\", \"reasons\": []}";
const REVISE: &str = "{\"verdict\": \"revise\", \"reasons\": [{\"file\": \"src/greet.py\", \"reason\": \"the greeting ignores name\"}]}";

fn run(
    t: &TestRepo,
    editor: &mut ScriptedEditor,
    verifier: &mut ScriptedEditor,
    rules: &[&str],
) -> RunReport {
    let repo = EditRepo::discover(t.root()).unwrap();
    let mut config = default_config();
    config.verifier_rules = rules.iter().map(|r| r.to_string()).collect();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut reviewer = AutoApprove;
    Pipeline::new(&repo, &config, editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_verifier(verifier)
        .run("Greet people by their name", &[])
        .unwrap()
}

#[test]
fn an_accepted_draft_is_committed_and_the_verdict_reported() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut verifier = ScriptedEditor::new(&[ACCEPT]);
    verifier.grammar = true;
    let report = run(&t, &mut editor, &mut verifier, &[]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(t.read("src/greet.py"), GREETED);
    assert_eq!(report.verdicts.len(), 1);
    assert_eq!(report.verdicts[0].verdict, VerdictKind::Accept);
    assert_eq!(report.verdicts[0].draft, 1);
    // It read plan.md and the diff, and nothing of the Architect's conversation.
    let asked = &verifier.received[0][1].content;
    assert!(asked.contains("## Goal\n\nGreet by name."), "{asked}");
    assert!(asked.contains("+def greet(name):"), "{asked}");
    assert!(!asked.contains("ARCHITECT-PRIVATE-REASONING"), "{asked}");
    let grammar = verifier.options[0].grammar.as_deref().expect("a grammar");
    assert!(grammar.contains("revise"), "{grammar}");
}

#[test]
fn a_revision_goes_back_to_the_editor_with_the_reasons() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let mut editor = ScriptedEditor::new(&[LAZY_REPLY, GOOD_REPLY]);
    let mut verifier = ScriptedEditor::new(&[REVISE, ACCEPT]);
    let report = run(&t, &mut editor, &mut verifier, &[]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(t.read("src/greet.py"), GREETED, "the second draft landed");
    let kinds: Vec<VerdictKind> = report.verdicts.iter().map(|v| v.verdict).collect();
    assert_eq!(kinds, [VerdictKind::Revise, VerdictKind::Accept]);
    assert_eq!(editor.received.len(), 2);
    // Each draft the verifier read freed the Editor first and the verifier after (no-ops for
    // models that stay loaded; models loaded in turn drop their memory).
    assert_eq!((editor.releases, verifier.releases), (2, 2));
    let reflection = &editor.received[1].last().unwrap().content;
    assert!(
        reflection.contains("src/greet.py: the greeting ignores name"),
        "{reflection}"
    );
}

#[test]
fn a_verifier_that_never_accepts_stops_the_run_with_nothing_written() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let head = t.head().id();
    let config = default_config();
    let drafts = config.max_reflections as usize + 1;
    let mut editor = ScriptedEditor::repeating(GOOD_REPLY, drafts);
    let mut verifier = ScriptedEditor::repeating(REVISE, drafts);
    let report = run(&t, &mut editor, &mut verifier, &[]);
    assert_eq!(report.status, RunStatus::EditFailed, "{report:#?}");
    assert_eq!(report.verdicts.len(), drafts);
    let error = report.edit_error.as_deref().unwrap();
    assert!(error.contains("the greeting ignores name"), "{error}");
    assert!(error.contains("without the verifier role"), "{error}");
    assert_eq!(t.read("src/greet.py"), GREET, "nothing written");
    assert_eq!(t.head().id(), head, "nothing committed");
}

#[test]
fn an_unreadable_verdict_goes_on_to_review_and_says_so() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut verifier = ScriptedEditor::new(&["Looks fine to me!"]);
    let report = run(&t, &mut editor, &mut verifier, &[]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert_eq!(report.verdicts[0].verdict, VerdictKind::Unreadable);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("no verdict") && w.contains("unverified")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn the_repository_rules_reach_the_verifier() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let mut editor = ScriptedEditor::new(&[GOOD_REPLY]);
    let mut verifier = ScriptedEditor::new(&[ACCEPT]);
    run(
        &t,
        &mut editor,
        &mut verifier,
        &["no TODO placeholders", "do not delete tests"],
    );
    let asked = &verifier.received[0][1].content;
    assert!(
        asked.contains("# Rules\n\n- no TODO placeholders\n- do not delete tests"),
        "{asked}"
    );
}

#[test]
fn a_diff_too_big_for_the_verifier_is_cut_and_the_cut_reported() {
    let body: String = (0..400).map(|i| format!("x{i} = {i}\n")).collect();
    let t = TestRepo::with_files(&[("src/greet.py", &format!("{GREET}{body}"))]);
    let edited: String = (0..400).map(|i| format!("x{i} = {}\n", i + 1)).collect();
    let reply = format!("src/greet.py\n<<<<<<< SEARCH\n{body}=======\n{edited}>>>>>>> REPLACE\n");
    let mut editor = ScriptedEditor::new(&[&reply]);
    let mut verifier = ScriptedEditor::new(&[ACCEPT]);
    // Words are tokens for the scripted models: room for the prompt and part of the diff.
    verifier.safe_context = Some(1200);
    let report = run(&t, &mut editor, &mut verifier, &[]);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let left_out = report.verdicts[0].diff_lines_left_out;
    assert!(left_out > 0, "the diff was cut");
    let asked = &verifier.received[0][1].content;
    assert!(
        asked.contains(&format!("… {left_out} more lines not shown")),
        "{asked}"
    );
}
