//! [`RunReport`]: what a run did, for people and for `--json`.

use serde::Serialize;

use crate::edit::BlockFailure;
use crate::gate::ElidedFile;

use super::checks::CheckReport;
use super::plan_doc::PlanFile;
use super::roles::FinishReason;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The edits landed and were committed.
    Committed,
    /// The edits landed and are staged (`auto-commits: false`), not committed.
    Staged,
    /// The Editor's edits changed nothing.
    NoChanges,
    /// The reviewer rejected the diff; nothing was written.
    Rejected,
    /// Edits still failed after the last reflection; nothing was written.
    EditFailed,
    /// The edits were applied and staged but a check failed, so they were not committed.
    ChecksFailed,
}

/// A role that took part in the run and the model behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleModel {
    /// `architect`, `editor`, `researcher.router`, `verifier`, `preflight`.
    pub role: String,
    /// `embedded`, `openai-compatible`, `anthropic`, `gemini`.
    pub provider: String,
    /// The configured model (a known id, a GGUF path, or a server's model name).
    pub model: Option<String>,
}

/// One prompt sent to a role, counted in that role's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptCount {
    /// `architect`, `local-planner`, `editor`.
    pub role: String,
    /// What the prompt was for.
    pub purpose: String,
    /// Tokens, template overhead included.
    pub tokens: usize,
    /// The limit it was held under, if any.
    pub limit: Option<usize>,
}

/// One Editor attempt (the first reply, then one per reflection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptReport {
    /// 1-based.
    pub attempt: u32,
    /// Prompt tokens as aidx counted them.
    pub prompt_tokens: usize,
    /// Prompt tokens as the engine reported them.
    pub engine_prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Why generation ended.
    pub finish: FinishReason,
    /// Blocks in the reply.
    pub blocks: usize,
    /// Blocks (kept ones included) that applied.
    pub applied: usize,
    /// Blocks that failed.
    pub failed: usize,
    /// Why the reply could not be parsed, if it could not.
    pub parse_error: Option<String>,
    /// Syntax errors the reply's edits would have added (`path: line N: …`), if any.
    pub syntax_errors: Vec<String>,
}

/// A block that still failed at the end, with the closest real lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedBlock {
    /// 1-based block number in the last attempt.
    pub number: usize,
    /// The file it targets.
    pub path: String,
    /// Why it failed.
    pub reason: String,
    /// The block as the Editor wrote it.
    pub block: String,
    /// The closest real lines of the file, if it exists.
    pub closest: Option<String>,
    /// 1-based first line of `closest`.
    pub closest_start_line: Option<usize>,
}

impl From<&BlockFailure> for FailedBlock {
    fn from(failure: &BlockFailure) -> Self {
        FailedBlock {
            number: failure.index + 1,
            path: failure.block.path.clone(),
            reason: failure.reason.to_string(),
            block: failure.block.to_markdown(),
            closest: failure.closest.as_ref().map(|c| c.text.clone()),
            closest_start_line: failure.closest.as_ref().map(|c| c.start_line),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// How it ended.
    pub status: RunStatus,
    /// The request.
    pub request: String,
    /// The `Aidx-Run:` id.
    pub run_id: String,
    /// Who planned (`architect`, `local`), `None` for `edit --plan`.
    pub planner: Option<String>,
    /// The roles in play and their models.
    pub models: Vec<RoleModel>,
    /// Where the request was routed and why (Hybrid Routing), `None` for `edit --plan`.
    pub route: Option<super::route::RouteDecision>,
    /// What the pre-flight reviewer made of plan.md, `None` when none is configured.
    pub preflight: Option<super::preflight::PreflightOutcome>,
    /// The plan file, relative to the repository root.
    pub plan_path: String,
    /// The files the plan names.
    pub plan_files: Vec<PlanFile>,
    /// Reference ids (the `Refs:` trailer).
    pub refs: Vec<String>,
    /// What each role's model calls cost (`editor`, `local-planner`, `researcher.router`,
    /// `verifier`, `preflight`), as the engines and servers reported it.
    pub tokens: std::collections::BTreeMap<String, super::roles::TokenUsage>,
    /// Every prompt sent, counted.
    pub prompts: Vec<PromptCount>,
    /// Files shortened to fit the Editor's context.
    pub elided: Vec<ElidedFile>,
    /// Editor attempts.
    pub attempts: Vec<AttemptReport>,
    /// Blocks still failing at the end, with the closest real lines (status `edit_failed`).
    pub failures: Vec<FailedBlock>,
    /// Why the edit failed when no block could be read (status `edit_failed`).
    pub edit_error: Option<String>,
    /// What the verifier's rules found, every round (an edit sent back shows here even when a
    /// later one passed).
    pub verifier: Vec<crate::verify::Finding>,
    /// The verifier model's verdict on each draft it read (the Verifier Cascade's second layer).
    pub verdicts: Vec<super::verifier::Verdict>,
    /// The unified diff (previewed, reviewed and landed).
    pub diff: String,
    /// The changed files.
    pub files: Vec<String>,
    /// Lint and test results.
    pub checks: Vec<CheckReport>,
    /// Every attempt's checks in order, failed ones that went back to the Editor included (the
    /// last is `checks`).
    pub check_attempts: Vec<Vec<CheckReport>>,
    /// The aidx commit id.
    pub commit: Option<String>,
    /// The commit that saved the user's uncommitted changes first.
    pub user_commit: Option<String>,
    /// The commit message (also when staged or checks failed).
    pub commit_message: Option<String>,
    /// The reviewer's reason for a rejection.
    pub rejection: Option<String>,
    /// Fallbacks and other things the user should know.
    pub warnings: Vec<String>,
}

impl RunReport {
    /// Adds what a role's calls cost to its tally in [`RunReport::tokens`].
    pub(crate) fn add_tokens(&mut self, role: &str, used: super::roles::TokenUsage) {
        self.tokens.entry(role.to_string()).or_default().merge(used);
    }

    pub(crate) fn new(request: &str, run_id: &str, plan_path: &str) -> Self {
        RunReport {
            status: RunStatus::NoChanges,
            request: request.to_string(),
            run_id: run_id.to_string(),
            planner: None,
            models: Vec::new(),
            route: None,
            preflight: None,
            plan_path: plan_path.to_string(),
            plan_files: Vec::new(),
            refs: Vec::new(),
            tokens: Default::default(),
            prompts: Vec::new(),
            elided: Vec::new(),
            attempts: Vec::new(),
            failures: Vec::new(),
            edit_error: None,
            verifier: Vec::new(),
            verdicts: Vec::new(),
            diff: String::new(),
            files: Vec::new(),
            checks: Vec::new(),
            check_attempts: Vec::new(),
            commit: None,
            user_commit: None,
            commit_message: None,
            rejection: None,
            warnings: Vec::new(),
        }
    }

    /// True when the run did what was asked: committed, staged, or nothing needed changing.
    /// The CLI exits with status 0 exactly then.
    pub fn succeeded(&self) -> bool {
        matches!(
            self.status,
            RunStatus::Committed | RunStatus::Staged | RunStatus::NoChanges
        )
    }
}

impl std::fmt::Display for RunReport {
    /// A plain-text account for the terminal: the outcome, then what the user needs to act on
    /// (failed blocks with the closest real lines, failed checks, warnings). The diff is not
    /// included; print it with [`crate::git::render_colored`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files = self.files.join(", ");
        match self.status {
            RunStatus::Committed => writeln!(
                f,
                "committed {} ({files})",
                self.commit.as_deref().map_or("", |c| &c[..c.len().min(10)])
            )?,
            RunStatus::Staged => writeln!(f, "edits applied and staged, not committed ({files})")?,
            RunStatus::NoChanges => writeln!(f, "the Editor's edits change nothing")?,
            RunStatus::Rejected => writeln!(
                f,
                "diff rejected, nothing written: {}",
                self.rejection.as_deref().unwrap_or("no reason given")
            )?,
            RunStatus::EditFailed => writeln!(
                f,
                "the edits still failed after {} attempt(s); nothing was written",
                self.attempts.len()
            )?,
            RunStatus::ChecksFailed => writeln!(
                f,
                "checks failed: the edits are applied and staged but not committed ({files})"
            )?,
        }
        if let Some(error) = &self.edit_error {
            writeln!(f, "  last reply: {error}")?;
        }
        for failure in &self.failures {
            writeln!(
                f,
                "  block {} in {}: {}",
                failure.number, failure.path, failure.reason
            )?;
            if let (Some(lines), Some(start)) = (&failure.closest, failure.closest_start_line) {
                writeln!(f, "    closest real lines (from line {start}):")?;
                for line in lines.lines() {
                    writeln!(f, "    | {line}")?;
                }
            }
        }
        for check in self.checks.iter().filter(|c| !c.passed) {
            let status = check
                .exit_code
                .map_or("killed".to_string(), |c| format!("exit {c}"));
            writeln!(f, "  {} `{}` failed ({status}):", check.name, check.command)?;
            for line in check
                .output
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                writeln!(f, "    {line}")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "  note: {warning}")?;
        }
        Ok(())
    }
}
