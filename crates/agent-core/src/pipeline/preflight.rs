//! Pre-flight verification (the article's Thinking tier): an optional `preflight` model reviews
//! plan.md before the Editor starts. It approves, or answers a corrected plan, which replaces the
//! original only when it passes the same plan.md contract (`aidx_architect::plan::Plan::validate`)
//! against the repository and the research's references.

use std::path::Path;

use aidx_architect::plan::Plan;
use serde::Serialize;

use super::cancel::CancelToken;
use super::plan_doc::PlanDocument;
use super::roles::{ChatMessage, Editor, GenerateOptions, RoleError};

/// How the pre-flight review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreflightVerdict {
    /// The plan goes to the Editor as it was.
    Approved,
    /// The reviewer's corrected plan replaced it.
    Corrected,
    /// The reviewer answered a plan that breaks the contract (or no plan at all): the original
    /// plan goes to the Editor, and the report says why.
    CorrectionRefused,
}

/// The pre-flight outcome, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightOutcome {
    /// How it ended.
    pub verdict: PreflightVerdict,
    /// What changed, or why a correction was refused.
    pub detail: String,
}

/// The reviewer's instructions.
const PREFLIGHT_PROMPT: &str = include_str!("prompts/preflight.md");

/// Most tokens the reviewer may write (a corrected plan).
const PREFLIGHT_MAX_TOKENS: usize = 1024;

/// Asks the reviewer about `plan`. Returns the plan the Editor gets and the outcome.
pub fn review_plan(
    reviewer: &mut dyn Editor,
    request: &str,
    plan: PlanDocument,
    repo_root: &Path,
    refs: &[String],
    cancel: &CancelToken,
) -> Result<(PlanDocument, PreflightOutcome), RoleError> {
    let user = format!(
        "# Request\n\n{request}\n\n# The plan\n\n{}\n",
        plan.markdown.trim_end()
    );
    let messages = [
        ChatMessage::system(PREFLIGHT_PROMPT),
        ChatMessage::user(user),
    ];
    let options = GenerateOptions {
        max_tokens: PREFLIGHT_MAX_TOKENS,
        temperature: 0.0,
        stop: Vec::new(),
        grammar: None,
        cancel: cancel.clone(),
    };
    let reply = reviewer.complete(&messages, &options, &mut |_| {})?.text;
    let trimmed = reply.trim();
    let first_word = trimmed
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    if first_word.eq_ignore_ascii_case("approve") || first_word.eq_ignore_ascii_case("approved") {
        return Ok((
            plan,
            PreflightOutcome {
                verdict: PreflightVerdict::Approved,
                detail: "the plan was approved as it was".into(),
            },
        ));
    }
    let corrected = Plan::parse(trimmed);
    let mut problems: Vec<String> = corrected
        .validate(repo_root, refs)
        .iter()
        .map(|p| p.to_string())
        .collect();
    if corrected.files.is_empty() {
        problems.push("it names no file".into());
    }
    if !problems.is_empty() {
        return Ok((
            plan,
            PreflightOutcome {
                verdict: PreflightVerdict::CorrectionRefused,
                detail: format!(
                    "the pre-flight reviewer's answer is neither APPROVE nor a valid plan ({}); the original plan is used",
                    problems.join("; ")
                ),
            },
        ));
    }
    let before: Vec<String> = plan.files.iter().map(|f| f.path.clone()).collect();
    let after: Vec<String> = corrected.files.iter().map(|f| f.path.clone()).collect();
    let detail = if before == after {
        format!(
            "the plan was corrected (same files: {}; {} steps)",
            after.join(", "),
            corrected.steps.len()
        )
    } else {
        format!(
            "the plan was corrected: files {} → {}",
            before.join(", "),
            after.join(", ")
        )
    };
    Ok((
        PlanDocument::from_markdown(&corrected.to_markdown()),
        PreflightOutcome {
            verdict: PreflightVerdict::Corrected,
            detail,
        },
    ))
}
