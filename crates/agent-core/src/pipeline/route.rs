//! Hybrid Routing: before any cloud call, decide whether the local model can plan a request
//! itself (`local`: no cloud call at all) or the cloud Architect should (`architect`).
//!
//! Three deciders, in order: the user's `--route`; the `researcher.router` role, a small model
//! answering a grammar-constrained JSON object `{"route": …, "reason": …}`; and a transparent
//! heuristic over the request and the map, used when no router is configured or its answer cannot
//! be read. Without a reachable Architect every request is local (when `fully-local` allows). The
//! decision and its reason are printed and go into the run report.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::cancel::CancelToken;
use super::roles::{ChatMessage, Editor, GenerateOptions, Research, RoleError};

/// Where a request is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    /// The local model plans and edits; no cloud call.
    Local,
    /// The cloud Architect plans; the local model edits.
    Architect,
}

impl Route {
    /// `local` or `architect`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Local => "local",
            Route::Architect => "architect",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the user asked for with `--route`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouteChoice {
    /// The router decides (or the heuristic, without one).
    #[default]
    Auto,
    /// Always this route.
    Force(Route),
}

impl RouteChoice {
    /// Parses `local`, `architect` or `auto`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(RouteChoice::Auto),
            "local" => Some(RouteChoice::Force(Route::Local)),
            "architect" => Some(RouteChoice::Force(Route::Architect)),
            _ => None,
        }
    }
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decider {
    /// `--route local|architect`.
    Override,
    /// The `researcher.router` model.
    Router,
    /// The built-in heuristic ([`heuristic`]).
    Heuristic,
    /// No Architect is configured or reachable, so only the local model can plan.
    NoArchitect,
}

/// A routing decision with its reason, for the user and the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteDecision {
    /// Where the request is planned.
    pub route: Route,
    /// Who decided.
    pub by: Decider,
    /// Why, in a sentence.
    pub reason: String,
}

impl fmt::Display for RouteDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.by {
            Decider::Override => "--route",
            Decider::Router => "router",
            Decider::Heuristic => "heuristic",
            Decider::NoArchitect => "no architect",
        };
        write!(f, "route: {} ({by}: {})", self.route, self.reason)
    }
}

/// Words that ask for a change across the code rather than at one place.
const BROAD: &str = include_str!("prompts/route-broad.txt");

/// Words of a change at one place.
const NARROW: &str = include_str!("prompts/route-narrow.txt");

/// The words of a word list: one a line, `#` starts a comment line.
fn word_list(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Requests longer than this many words are treated as complex.
const LONG_REQUEST_WORDS: usize = 30;

/// The transparent rule used without a router: `local` only when the request asks for a change
/// at one place (rename, typo, docstring, constant … in `prompts/route-narrow.txt`), names at
/// most one of the repository's files, is short, and asks for nothing broad (refactor, feature,
/// command, "all", "every" … in `prompts/route-broad.txt`); `architect` otherwise.
pub fn heuristic(request: &str, research: &Research) -> RouteDecision {
    let lower = request.to_lowercase();
    let words: BTreeSet<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let named_files: Vec<String> = research
        .files
        .iter()
        .filter_map(|p| {
            let path = p.to_string_lossy().replace('\\', "/");
            let name = path.rsplit('/').next().unwrap_or(&path).to_lowercase();
            (lower.contains(&path.to_lowercase()) || (name.contains('.') && lower.contains(&name)))
                .then_some(path)
        })
        .collect();
    let broad: Vec<&str> = word_list(BROAD).filter(|w| words.contains(w)).collect();
    let narrow: Vec<&str> = word_list(NARROW).filter(|w| words.contains(w)).collect();
    let count = lower.split_whitespace().count();
    let decide = |route: Route, reason: String| RouteDecision {
        route,
        by: Decider::Heuristic,
        reason,
    };
    if named_files.len() >= 2 {
        return decide(
            Route::Architect,
            format!(
                "it names {} files ({})",
                named_files.len(),
                named_files.join(", ")
            ),
        );
    }
    if count > LONG_REQUEST_WORDS {
        return decide(Route::Architect, format!("it is long ({count} words)"));
    }
    if !broad.is_empty() {
        return decide(
            Route::Architect,
            format!("it asks for a broad change ({})", broad.join(", ")),
        );
    }
    if narrow.is_empty() {
        // When unsure, the stronger model plans: a wrong `architect` costs cloud tokens, a wrong
        // `local` costs the change.
        return decide(
            Route::Architect,
            "nothing marks it as a change at one place (when unsure, the architect plans)".into(),
        );
    }
    decide(
        Route::Local,
        format!("it asks for a change at one place ({})", narrow.join(", ")),
    )
}

/// Most tokens the router may write (the JSON object with a short reason).
const ROUTER_MAX_TOKENS: usize = 128;

/// The router's instructions.
const ROUTER_PROMPT: &str = include_str!("prompts/router.md");

/// The router's answer, constrained: `{"route": "local"|"architect", "reason": "…"}`. The reason
/// is short enough that the whole object fits in [`ROUTER_MAX_TOKENS`] even at one token per
/// character, so a constrained answer is never cut off unreadable.
fn router_grammar() -> String {
    "start: \"{\\\"route\\\": \\\"\" ROUTE \"\\\", \\\"reason\\\": \\\"\" REASON \"\\\"}\"\n\
     ROUTE: \"local\" | \"architect\"\n\
     REASON: /[A-Za-z0-9 ,.;:()'-]{1,80}/\n"
        .to_string()
}

/// Reads the router's JSON answer.
fn parse_router_reply(text: &str) -> Option<(Route, String)> {
    let value: serde_json::Value = super::answer::json_answer(text)?;
    let route = match value.get("route")?.as_str()? {
        "local" => Route::Local,
        "architect" => Route::Architect,
        _ => return None,
    };
    let reason = value
        .get("reason")
        .and_then(|r| r.as_str())
        .unwrap_or("")
        .trim()
        .to_string();
    Some((route, reason))
}

/// Asks the router model. An unreadable answer falls back to the heuristic, and says so; a
/// router that fails to run is an error (a configured role is never skipped silently).
pub fn ask_router(
    router: &mut dyn Editor,
    request: &str,
    research: &Research,
    cancel: &CancelToken,
) -> Result<RouteDecision, RoleError> {
    let files: Vec<String> = research
        .files
        .iter()
        .take(5)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    let facts = format!(
        "Request: {request}\nFiles the repository map ranks first: {}\nSymbols the map shows: {}\n",
        if files.is_empty() {
            "(none)".to_string()
        } else {
            files.join(", ")
        },
        research.refs.len(),
    );
    let messages = [ChatMessage::system(ROUTER_PROMPT), ChatMessage::user(facts)];
    let options = GenerateOptions {
        max_tokens: ROUTER_MAX_TOKENS,
        temperature: 0.0,
        stop: Vec::new(),
        grammar: router.supports_grammar().then(router_grammar),
        cancel: cancel.clone(),
    };
    let completion = router.complete(&messages, &options, &mut |_| {})?;
    Ok(match parse_router_reply(&completion.text) {
        Some((route, reason)) => RouteDecision {
            route,
            by: Decider::Router,
            reason: if reason.is_empty() {
                "no reason given".into()
            } else {
                reason
            },
        },
        None => {
            let mut decision = heuristic(request, research);
            decision.reason = format!(
                "{}; the router's answer was not a route ({:?})",
                decision.reason,
                completion.text.chars().take(60).collect::<String>()
            );
            decision
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn research(files: &[&str]) -> Research {
        Research {
            files: files.iter().map(PathBuf::from).collect(),
            ..Research::default()
        }
    }

    #[test]
    fn narrow_requests_stay_local_and_broad_ones_go_to_the_architect() {
        let r = research(&["calc.py", "cli.py"]);
        assert_eq!(
            heuristic("Rename add to plus in calc.py", &r).route,
            Route::Local
        );
        assert_eq!(
            heuristic("fix the typo in the docstring of sub", &r).route,
            Route::Local
        );
        let d = heuristic("Refactor the calculator into a class", &r);
        assert_eq!((d.route, d.by), (Route::Architect, Decider::Heuristic));
        assert!(d.reason.contains("refactor"), "{}", d.reason);
        let d = heuristic("make cli.py print what calc.py returns", &r);
        assert_eq!(d.route, Route::Architect);
        assert!(d.reason.contains("2 files"), "{}", d.reason);
    }

    #[test]
    fn the_router_grammar_admits_exactly_the_answer_parse_reads() {
        let g = router_grammar();
        assert!(g.contains("\"local\" | \"architect\""), "{g}");
        assert_eq!(
            parse_router_reply("{\"route\": \"local\", \"reason\": \"one function\"}"),
            Some((Route::Local, "one function".into()))
        );
        assert_eq!(parse_router_reply("{\"route\": \"cloud\"}"), None);
        assert_eq!(parse_router_reply("local"), None);
        assert_eq!(
            RouteChoice::parse("architect"),
            Some(RouteChoice::Force(Route::Architect))
        );
        assert_eq!(RouteChoice::parse("cloud"), None);
    }
}
