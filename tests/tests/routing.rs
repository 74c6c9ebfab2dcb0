//! Hybrid Routing measured on a labelled set of requests over the sample repository
//! (`tests/data/routing-requests.jsonl`: 24 simple requests labelled `local`, 24 broader ones
//! labelled `architect`). Prints each decider's accuracy and the cloud tokens each would have
//! saved (the Architect prompts of the requests it routes locally); BENCHMARKS.md quotes the output
//! of `cargo test -p aidx-e2e --test routing -- --nocapture --test-threads 1`.

use std::path::Path;

use aidx_agent_core::adapters::embedded::EmbeddedEditor;
use aidx_agent_core::adapters::research::RepoMapResearcher;
use aidx_agent_core::config::{Config, Settings};
use aidx_agent_core::pipeline::{
    CancelToken, Decider, Research, Researcher, Route, RouteDecision, ask_router, heuristic,
};
use aidx_architect::HttpChatClient;
use aidx_architect::plan::{Architect, PlanFormat, PlanInput};
use aidx_repo_map::{Cl100kCounter, TokenCounter};

struct Labelled {
    request: String,
    label: Route,
}

fn labelled() -> Vec<Labelled> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/routing-requests.jsonl");
    std::fs::read_to_string(&path)
        .expect("the labelled requests")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object a line");
            Labelled {
                request: v["request"].as_str().expect("request").to_string(),
                label: match v["label"].as_str() {
                    Some("local") => Route::Local,
                    Some("architect") => Route::Architect,
                    other => panic!("label {other:?}"),
                },
            }
        })
        .collect()
}

/// The sample repository, copied (the map writes its cache under the root).
fn sample_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sample-repo");
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

fn config() -> Config {
    Settings::defaults().config()
}

/// The Architect's prompt for a request, in cloud tokens (cl100k): what a `local` route saves.
/// The prompt only: the plan it writes back costs more cloud tokens on top.
fn architect_tokens(request: &str, research: &Research) -> usize {
    let files: Vec<String> = research
        .files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let messages = Architect::<HttpChatClient>::initial_messages_for(
        &PlanInput {
            request,
            repo_map: &research.map,
            reference_ids: &research.refs,
            files: &files,
        },
        PlanFormat::Markdown,
    );
    let counter = Cl100kCounter;
    messages.iter().map(|m| counter.count(&m.content) + 4).sum()
}

struct Tally {
    name: &'static str,
    correct: usize,
    total: usize,
    local_as_architect: usize,
    architect_as_local: usize,
    saved: usize,
    saved_wrongly: usize,
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            correct: 0,
            total: 0,
            local_as_architect: 0,
            architect_as_local: 0,
            saved: 0,
            saved_wrongly: 0,
        }
    }

    fn add(&mut self, label: Route, decision: &RouteDecision, tokens: usize) {
        self.total += 1;
        match (label, decision.route) {
            (a, b) if a == b => self.correct += 1,
            (Route::Local, Route::Architect) => self.local_as_architect += 1,
            _ => self.architect_as_local += 1,
        }
        if decision.route == Route::Local {
            self.saved += tokens;
            if label == Route::Architect {
                self.saved_wrongly += tokens;
            }
        }
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.total as f64
    }

    fn print(&self, all_tokens: usize) {
        println!(
            "{}: accuracy {:.2} ({}/{}); simple sent to the architect {}, complex kept local {}; \
             cloud tokens saved {} of {} ({:.0} %), of which on complex requests {}",
            self.name,
            self.accuracy(),
            self.correct,
            self.total,
            self.local_as_architect,
            self.architect_as_local,
            self.saved,
            all_tokens,
            100.0 * self.saved as f64 / all_tokens.max(1) as f64,
            self.saved_wrongly,
        );
    }
}

fn researched(requests: &[Labelled]) -> (tempfile::TempDir, Vec<Research>) {
    let repo = sample_repo();
    let mut researcher = RepoMapResearcher::new(repo.path(), &config()).unwrap();
    let research = requests
        .iter()
        .map(|l| researcher.research(&l.request, &[]).unwrap())
        .collect();
    (repo, research)
}

#[test]
fn the_heuristic_routes_the_labelled_requests() {
    let requests = labelled();
    assert!(
        requests.len() >= 40,
        "the set has {} requests",
        requests.len()
    );
    let (_repo, research) = researched(&requests);
    let mut tally = Tally::new("heuristic");
    let mut all = 0;
    for (l, r) in requests.iter().zip(&research) {
        let decision = heuristic(&l.request, r);
        assert_eq!(decision.by, Decider::Heuristic);
        assert!(!decision.reason.is_empty());
        let tokens = architect_tokens(&l.request, r);
        all += tokens;
        tally.add(l.label, &decision, tokens);
        if decision.route != l.label {
            println!(
                "  heuristic: {:?} → {} ({})",
                l.request, decision.route, decision.reason
            );
        }
    }
    tally.print(all);
    // Measured 0.71 (34/48) with no complex request kept local, the rule's purpose ("when unsure,
    // the architect plans"). The floors guard against a regression, not a figure it beats.
    assert!(
        tally.accuracy() >= 0.70,
        "heuristic accuracy {:.2}",
        tally.accuracy()
    );
    assert!(
        tally.architect_as_local <= 2,
        "{} complex requests kept local",
        tally.architect_as_local
    );
}

#[test]
fn the_router_model_routes_the_labelled_requests() {
    let config = config();
    let Some(role) = aidx_e2e::smollm2_role(&config) else {
        return;
    };
    let mut router = EmbeddedEditor::load(&role, &config).expect("the router model loads");
    let requests = labelled();
    let (_repo, research) = researched(&requests);
    let mut tally = Tally::new("router (SmolLM2-135M, grammar-constrained)");
    let mut all = 0;
    let cancel = CancelToken::new();
    let mut unreadable = 0;
    for (l, r) in requests.iter().zip(&research) {
        let decision = ask_router(&mut router, &l.request, r, &cancel).expect("the router runs");
        if decision.by != Decider::Router {
            unreadable += 1;
        }
        let tokens = architect_tokens(&l.request, r);
        all += tokens;
        tally.add(l.label, &decision, tokens);
    }
    tally.print(all);
    assert_eq!(unreadable, 0, "the grammar admits only readable answers");
}
