//! Pre-flight verification through the pipeline, with a scripted reviewer: it approves, it
//! corrects the plan (the correction is what plan.md holds and the Editor gets), and it answers a
//! correction that breaks the plan.md contract (refused: the original plan goes on).

mod git_support;
mod pipeline_support;

use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{AutoApprove, Pipeline, PreflightVerdict, RunReport, RunStatus};
use git_support::TestRepo;
use pipeline_support::{ScriptedEditor, ScriptedPlanner, default_config};

const GREET: &str = "def greet():\n    return 'hi'\n";
const UTIL: &str = "X = 1\n";

/// The Architect's plan forgets util.py.
const PLAN: &str = "# Plan\n\n## Goal\n\nGreet by name.\n\n## Steps\n\n1. Add a name parameter to greet in src/greet.py.\n\n## Files\n\n- `src/greet.py` — greet takes a name\n\n## Checks\n\n- (none)\n";

const CORRECTED: &str = "# Plan\n\n## Goal\n\nGreet by name and count greetings.\n\n## Context\n\n- (none)\n\n## Steps\n\n1. Add a name parameter to greet in src/greet.py.\n2. Set X to 2 in src/util.py.\n\n## Files\n\n- `src/greet.py` — greet takes a name\n- `src/util.py` — X becomes 2\n\n## Checks\n\n- (none)\n";

/// A "correction" that edits a file outside the repository.
const OUTSIDE: &str = "# Plan\n\n## Goal\n\ng\n\n## Steps\n\n1. s\n\n## Files\n\n- `../etc/passwd` — no\n\n## Checks\n\n- (none)\n";

const GREET_REPLY: &str =
    "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n=======\ndef greet(name):\n>>>>>>> REPLACE\n";
const BOTH_REPLY: &str = "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n=======\ndef greet(name):\n>>>>>>> REPLACE\n\nsrc/util.py\n<<<<<<< SEARCH\nX = 1\n=======\nX = 2\n>>>>>>> REPLACE\n";

fn run(t: &TestRepo, editor: &mut ScriptedEditor, reviewer: &mut ScriptedEditor) -> RunReport {
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut approve = AutoApprove;
    Pipeline::new(&repo, &config, editor, &mut approve)
        .with_planner(&mut planner)
        .with_preflight(reviewer)
        .run("Greet people by their name", &[])
        .unwrap()
}

#[test]
fn an_approved_plan_goes_to_the_editor_as_it_was() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", UTIL)]);
    let mut editor = ScriptedEditor::new(&[GREET_REPLY]);
    let mut reviewer = ScriptedEditor::new(&["APPROVE"]);
    let report = run(&t, &mut editor, &mut reviewer);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let outcome = report.preflight.as_ref().expect("a pre-flight outcome");
    assert_eq!(outcome.verdict, PreflightVerdict::Approved);
    assert_eq!(t.read("artifacts/plan.md"), PLAN);
    // The report names the roles in play (a preflight role is not configured here, so only
    // those with a configuration show).
    let roles: Vec<&str> = report.models.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["editor"], "{:?}", report.models);
    assert_eq!(report.models[0].provider, "embedded");
    let asked = &reviewer.received[0][1].content;
    assert!(
        asked.contains("Greet people by their name") && asked.contains("src/greet.py"),
        "{asked}"
    );
    assert!(!asked.contains("ARCHITECT-PRIVATE-REASONING"), "{asked}");
}

#[test]
fn a_corrected_plan_replaces_the_original_for_the_editor_and_in_plan_md() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", UTIL)]);
    let mut editor = ScriptedEditor::new(&[BOTH_REPLY]);
    let mut reviewer = ScriptedEditor::new(&[CORRECTED]);
    let report = run(&t, &mut editor, &mut reviewer);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let outcome = report.preflight.as_ref().unwrap();
    assert_eq!(outcome.verdict, PreflightVerdict::Corrected);
    assert!(
        outcome
            .detail
            .contains("src/greet.py → src/greet.py, src/util.py"),
        "{}",
        outcome.detail
    );
    let written = t.read("artifacts/plan.md");
    assert!(written.contains("`src/util.py` — X becomes 2"), "{written}");
    assert_eq!(t.read("src/util.py"), "X = 2\n");
    // The Editor was given the corrected plan and both files.
    let prompt = &editor.received[0][1].content;
    assert!(prompt.contains("Set X to 2 in src/util.py"), "{prompt}");
}

#[test]
fn a_correction_that_breaks_the_contract_is_refused_and_the_original_plan_goes_on() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET), ("src/util.py", UTIL)]);
    let mut editor = ScriptedEditor::new(&[GREET_REPLY]);
    let mut reviewer = ScriptedEditor::new(&[OUTSIDE]);
    let report = run(&t, &mut editor, &mut reviewer);
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let outcome = report.preflight.as_ref().unwrap();
    assert_eq!(outcome.verdict, PreflightVerdict::CorrectionRefused);
    assert!(
        outcome.detail.contains("../etc/passwd"),
        "{}",
        outcome.detail
    );
    assert!(
        report.warnings.iter().any(|w| w.contains("pre-flight")),
        "{:?}",
        report.warnings
    );
    assert_eq!(t.read("artifacts/plan.md"), PLAN);
    assert_eq!(
        t.read("src/util.py"),
        UTIL,
        "the refused plan's files untouched"
    );
}

#[test]
fn without_a_reviewer_there_is_no_preflight() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut editor = ScriptedEditor::new(&[GREET_REPLY]);
    let mut approve = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut approve)
        .with_planner(&mut planner)
        .run("Greet people by their name", &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    assert!(report.preflight.is_none());
}
