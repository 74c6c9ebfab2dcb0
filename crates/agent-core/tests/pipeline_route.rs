//! Hybrid Routing through the pipeline: each decider (heuristic, router model, `--route`, no
//! architect) and what it means for who plans: `local` never calls the Architect.

mod git_support;
mod pipeline_support;

use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{
    AutoApprove, Decider, Pipeline, Route, RouteChoice, RunOptions, RunReport, RunStatus,
};
use git_support::TestRepo;
use pipeline_support::{ScriptedEditor, ScriptedPlanner, ScriptedResearcher, default_config};

const GREET: &str = "def greet():\n    return 'hi'\n";

const PLAN: &str = "# Plan\n\n## Goal\n\nRename greet.\n\n## Steps\n\n1. Rename greet to hello in src/greet.py.\n\n## Files\n\n- `src/greet.py` — greet becomes hello\n\n## Checks\n\n- (none)\n";

const REPLY: &str =
    "src/greet.py\n<<<<<<< SEARCH\ndef greet():\n=======\ndef hello():\n>>>>>>> REPLACE\n";

const NARROW: &str = "Rename greet to hello";
const BROAD: &str = "Refactor the greeting into a package with a plugin for every language";

struct Outcome {
    report: RunReport,
    architect_calls: usize,
    editor: ScriptedEditor,
}

/// Runs `request` with an Architect available, the editor scripted to plan (when it must) and
/// edit, and optionally a router and a `--route` choice.
fn run(request: &str, route: RouteChoice, router: Option<&mut ScriptedEditor>) -> Outcome {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    let mut editor = ScriptedEditor::new(&[PLAN, REPLY]);
    let mut planner = ScriptedPlanner::plan(PLAN);
    let mut researcher = ScriptedResearcher::new("src/greet.py:\n  def greet()", &["R1"]);
    let mut reviewer = AutoApprove;
    let options = RunOptions {
        route,
        ..RunOptions::default()
    };
    let mut pipeline = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .with_planner(&mut planner)
        .with_researcher(&mut researcher)
        .with_options(options);
    if let Some(router) = router {
        pipeline = pipeline.with_router(router);
    }
    let report = pipeline.run(request, &[]).unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    Outcome {
        report,
        architect_calls: planner.calls,
        editor,
    }
}

#[test]
fn the_heuristic_keeps_a_change_at_one_place_local_and_never_calls_the_architect() {
    let o = run(NARROW, RouteChoice::Auto, None);
    let route = o.report.route.as_ref().expect("a route in the report");
    assert_eq!((route.route, route.by), (Route::Local, Decider::Heuristic));
    assert!(route.reason.contains("rename"), "{}", route.reason);
    assert_eq!(o.architect_calls, 0, "a local route makes no cloud call");
    assert_eq!(o.report.planner.as_deref(), Some("local"));
    assert_eq!(
        o.editor.received.len(),
        2,
        "the local model planned, then edited"
    );
}

#[test]
fn the_heuristic_sends_a_broad_change_to_the_architect() {
    let o = run(BROAD, RouteChoice::Auto, None);
    let route = o.report.route.as_ref().unwrap();
    assert_eq!(
        (route.route, route.by),
        (Route::Architect, Decider::Heuristic)
    );
    assert!(route.reason.contains("refactor"), "{}", route.reason);
    assert_eq!(o.architect_calls, 1);
    assert_eq!(o.report.planner.as_deref(), Some("architect"));
    let used = o.report.tokens["architect"];
    assert_eq!(
        (used.calls, used.prompt_tokens, used.completion_tokens),
        (1, 100, 40),
        "the Architect's usage as its server reported it"
    );
}

#[test]
fn when_unsure_the_heuristic_sends_the_request_to_the_architect() {
    let o = run("Greet people by their name", RouteChoice::Auto, None);
    let route = o.report.route.as_ref().unwrap();
    assert_eq!(route.route, Route::Architect, "{}", route.reason);
    assert_eq!(o.architect_calls, 1);
}

#[test]
fn route_overrides_both_ways() {
    let o = run(NARROW, RouteChoice::Force(Route::Architect), None);
    let route = o.report.route.as_ref().unwrap();
    assert_eq!(
        (route.route, route.by),
        (Route::Architect, Decider::Override)
    );
    assert_eq!(route.reason, "--route architect");
    assert_eq!(o.architect_calls, 1);

    let mut router = ScriptedEditor::new(&["{\"route\": \"architect\", \"reason\": \"big\"}"]);
    let o = run(BROAD, RouteChoice::Force(Route::Local), Some(&mut router));
    let route = o.report.route.as_ref().unwrap();
    assert_eq!((route.route, route.by), (Route::Local, Decider::Override));
    assert_eq!(o.architect_calls, 0);
    assert!(router.received.is_empty(), "an override asks no router");
}

#[test]
fn the_router_model_decides_with_a_grammar_and_its_reason_is_reported() {
    let mut router = ScriptedEditor::new(&["{\"route\": \"local\", \"reason\": \"one function\"}"]);
    router.grammar = true;
    let o = run(BROAD, RouteChoice::Auto, Some(&mut router));
    let route = o.report.route.as_ref().unwrap();
    assert_eq!((route.route, route.by), (Route::Local, Decider::Router));
    assert_eq!(route.reason, "one function");
    assert_eq!(o.architect_calls, 0);
    assert_eq!(router.received.len(), 1);
    let used = o.report.tokens["researcher.router"];
    assert_eq!(used.calls, 1);
    assert!(used.completion_tokens > 0, "{used:?}");
    assert_eq!(o.report.tokens["local-planner"].calls, 1);
    assert_eq!(o.report.tokens["editor"].calls, 1);
    let asked = &router.received[0][1].content;
    assert!(asked.contains(BROAD), "{asked}");
    assert!(
        asked.contains("src/greet.py") || asked.contains("Symbols"),
        "{asked}"
    );
    let grammar = router.options[0].grammar.as_deref().expect("a grammar");
    assert!(grammar.contains("\"local\" | \"architect\""), "{grammar}");
}

#[test]
fn an_unreadable_router_answer_falls_back_to_the_heuristic_and_says_so() {
    let mut router = ScriptedEditor::new(&["I think this is complicated"]);
    let o = run(NARROW, RouteChoice::Auto, Some(&mut router));
    let route = o.report.route.as_ref().unwrap();
    assert_eq!((route.route, route.by), (Route::Local, Decider::Heuristic));
    assert!(
        route.reason.contains("the router's answer was not a route"),
        "{}",
        route.reason
    );
}

#[test]
fn without_an_architect_the_local_model_plans_and_the_report_says_why() {
    let t = TestRepo::with_files(&[("src/greet.py", GREET)]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let config = default_config();
    assert!(config.fully_local);
    let mut editor = ScriptedEditor::new(&[PLAN, REPLY]);
    let mut reviewer = AutoApprove;
    let report = Pipeline::new(&repo, &config, &mut editor, &mut reviewer)
        .run(BROAD, &[])
        .unwrap();
    assert_eq!(report.status, RunStatus::Committed, "{report:#?}");
    let route = report.route.as_ref().unwrap();
    assert_eq!(
        (route.route, route.by),
        (Route::Local, Decider::NoArchitect)
    );
    assert_eq!(report.planner.as_deref(), Some("local"));
}
