//! The model layer of the Verifier Cascade: after the rule layer (`crate::verify`) passes, the
//! `verifier` role reads the Editor's draft — the diff of the edits applied in memory — against
//! plan.md and the repository's `verifier.rules`, and answers a schema-checked verdict: `accept`,
//! or `revise` with a reason per file, which goes back to the Editor within `max-reflections`.
//!
//! The verifier sees plan.md, the rules and the diff: never the Architect's conversation, like
//! the Editor (the hard reset).

use serde::{Deserialize, Serialize};

use super::cancel::CancelToken;
use super::roles::{ChatMessage, Editor, GenerateOptions, RoleError};

/// The verifier's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The draft goes on to review.
    Accept,
    /// The draft goes back to the Editor with the reasons.
    Revise,
    /// The answer could not be read; the draft goes on to review, and the report says so.
    Unreadable,
}

/// One reason for a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictReason {
    /// The file, as the diff names it.
    pub file: String,
    /// What is wrong and what to do.
    pub reason: String,
}

/// A verdict on one draft, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Which draft (1 for the Editor's first).
    pub draft: u32,
    /// The decision.
    pub verdict: VerdictKind,
    /// Why, per file (empty on accept).
    pub reasons: Vec<VerdictReason>,
    /// Lines of the diff left out to fit the verifier's context (0 when it saw all of it).
    pub diff_lines_left_out: usize,
}

impl Verdict {
    /// The reasons as one line: `file: reason; file: reason`.
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| format!("{}: {}", r.file, r.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Most tokens the verifier may write: two reasons at their longest fit at one token a character
/// (about 150 tokens each, with the JSON around them).
const VERIFIER_MAX_TOKENS: usize = 384;

/// The verifier's instructions.
const VERIFIER_PROMPT: &str = include_str!("prompts/verifier.md");

/// The answer, constrained: accept with no reasons, or revise with one or two, each naming one
/// of the diff's files (`files`; any path-like text when none can be written as a literal). Each
/// field is short enough that the whole object fits in [`VERIFIER_MAX_TOKENS`] even at one token
/// per character, so a constrained answer is never cut off.
fn verdict_grammar(files: &[String]) -> String {
    let plain = |f: &String| {
        !f.is_empty()
            && f.len() <= 60
            && f.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
    };
    let path = if !files.is_empty() && files.iter().all(plain) {
        files
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(" | ")
    } else {
        "/[A-Za-z0-9_.\\/-]{1,60}/".to_string()
    };
    format!(
        "start: accept | revise\n\
         accept: \"{{\\\"verdict\\\": \\\"accept\\\", \\\"reasons\\\": []}}\"\n\
         revise: \"{{\\\"verdict\\\": \\\"revise\\\", \\\"reasons\\\": [\" reasons \"]}}\"\n\
         reasons: reason | reason \", \" reason\n\
         reason: \"{{\\\"file\\\": \\\"\" PATH \"\\\", \\\"reason\\\": \\\"\" TEXT \"\\\"}}\"\n\
         PATH: {path}\n\
         TEXT: /[A-Za-z0-9 ,.;:()'-]{{1,80}}/\n"
    )
}

/// The files a unified diff changes (its `+++ b/…` lines; a deleted file by its `--- a/…`).
fn diff_files(diff: &str) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    let mut old: Option<&str> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("--- a/") {
            old = Some(path.trim_end());
        } else if let Some(rest) = line.strip_prefix("+++ ") {
            let path = match rest.trim_end().strip_prefix("b/") {
                Some(path) => Some(path),
                None => old,
            };
            if let Some(path) = path
                && !files.iter().any(|f| f == path)
            {
                files.push(path.to_string());
            }
            old = None;
        }
    }
    files
}

#[derive(Deserialize)]
struct Answer {
    verdict: String,
    #[serde(default)]
    reasons: Vec<VerdictReason>,
}

/// Reads the verifier's JSON answer (a server without a grammar may wrap it in prose or a fence).
fn parse_verdict(text: &str) -> Option<(VerdictKind, Vec<VerdictReason>)> {
    let answer: Answer = super::answer::json_answer(text)?;
    let reasons: Vec<VerdictReason> = answer
        .reasons
        .into_iter()
        .filter(|r| !r.reason.trim().is_empty())
        .collect();
    match answer.verdict.as_str() {
        "accept" => Some((VerdictKind::Accept, Vec::new())),
        // A revision without a reason gives the Editor nothing to act on.
        "revise" if !reasons.is_empty() => Some((VerdictKind::Revise, reasons)),
        _ => None,
    }
}

/// The diff, cut to at most `budget` tokens of the verifier's counting, whole lines from the
/// start; returns the text and how many lines were left out.
fn fit_diff(verifier: &dyn Editor, diff: &str, budget: usize) -> (String, usize) {
    if verifier.count_tokens(diff) <= budget {
        return (diff.to_string(), 0);
    }
    let lines: Vec<&str> = diff.lines().collect();
    let (mut low, mut high) = (0, lines.len());
    // The longest prefix of whole lines that fits (binary search: counting is the cost).
    while low < high {
        let mid = (low + high).div_ceil(2);
        if verifier.count_tokens(&lines[..mid].join("\n")) <= budget {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    (lines[..low].join("\n"), lines.len() - low)
}

/// Asks the verifier about one draft. A verifier that fails to run is an error (a configured
/// role is never skipped silently); an answer that cannot be read is an `Unreadable` verdict.
pub fn ask_verifier(
    verifier: &mut dyn Editor,
    plan_md: &str,
    rules: &[String],
    diff: &str,
    draft: u32,
    cancel: &CancelToken,
) -> Result<Verdict, RoleError> {
    let rules_text = if rules.is_empty() {
        "(none besides the plan)".to_string()
    } else {
        rules
            .iter()
            .map(|r| format!("- {r}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let head = format!("# plan.md\n\n{plan_md}\n\n# Rules\n\n{rules_text}\n\n# The change\n\n");
    let fixed = verifier.count_tokens(VERIFIER_PROMPT) + verifier.count_tokens(&head) + 32;
    let room = verifier
        .safe_context_tokens()
        .map(|c| c.saturating_sub(fixed + VERIFIER_MAX_TOKENS))
        .unwrap_or(usize::MAX);
    let (diff, left_out) = fit_diff(verifier, diff, room);
    let mut user = head;
    user.push_str("```diff\n");
    user.push_str(&diff);
    if left_out > 0 {
        user.push_str(&format!("\n… {left_out} more lines not shown"));
    }
    user.push_str("\n```\n");
    let messages = [
        ChatMessage::system(VERIFIER_PROMPT),
        ChatMessage::user(user),
    ];
    let options = GenerateOptions {
        max_tokens: VERIFIER_MAX_TOKENS,
        temperature: 0.0,
        stop: Vec::new(),
        grammar: verifier
            .supports_grammar()
            .then(|| verdict_grammar(&diff_files(&diff))),
        cancel: cancel.clone(),
    };
    let completion = verifier.complete(&messages, &options, &mut |_| {})?;
    let (verdict, reasons) = match parse_verdict(&completion.text) {
        Some(read) => read,
        None => (
            VerdictKind::Unreadable,
            vec![VerdictReason {
                file: String::new(),
                reason: format!(
                    "the verifier's answer was not a verdict: {:?}",
                    completion.text.chars().take(80).collect::<String>()
                ),
            }],
        ),
    };
    Ok(Verdict {
        draft,
        verdict,
        reasons,
        diff_lines_left_out: left_out,
    })
}

/// What the Editor is told when the verifier asks for a revision.
pub fn reflection(verdict: &Verdict) -> String {
    let mut text = String::from(
        "Your edits apply, but a reviewer of the change asked for a revision. Send corrected edits for the original files (none of your edits was applied):\n",
    );
    for r in &verdict.reasons {
        text.push_str(&format!("- {}: {}\n", r.file, r.reason));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_and_a_revision_needs_a_reason() {
        assert_eq!(
            parse_verdict("{\"verdict\": \"accept\", \"reasons\": []}"),
            Some((VerdictKind::Accept, vec![]))
        );
        let read = parse_verdict(
            "Sure: {\"verdict\": \"revise\", \"reasons\": [{\"file\": \"a.py\", \"reason\": \"add was deleted\"}]}",
        );
        assert_eq!(
            read,
            Some((
                VerdictKind::Revise,
                vec![VerdictReason {
                    file: "a.py".into(),
                    reason: "add was deleted".into()
                }]
            ))
        );
        assert_eq!(
            parse_verdict("{\"verdict\": \"revise\", \"reasons\": []}"),
            None
        );
        assert_eq!(parse_verdict("{\"verdict\": \"maybe\"}"), None);
        assert_eq!(parse_verdict("looks good"), None);
    }

    #[test]
    fn the_grammar_names_the_diffs_files_and_bounds_the_reasons() {
        let diff = "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/src/new.py\n@@ -0,0 +1 @@\n+x\n--- a/gone.py\n+++ /dev/null\n";
        assert_eq!(diff_files(diff), ["calc.py", "src/new.py", "gone.py"]);
        let g = verdict_grammar(&diff_files(diff));
        assert!(g.contains("accept") && g.contains("revise"), "{g}");
        assert!(
            g.contains("PATH: \"calc.py\" | \"src/new.py\" | \"gone.py\""),
            "{g}"
        );
        assert!(g.contains("{1,80}"), "{g}");
        assert!(
            g.contains("\"{\\\"verdict\\\": \\\"accept\\\", \\\"reasons\\\": []}\""),
            "{g}"
        );
        // A name that cannot be a literal falls back to any path-like text.
        let g = verdict_grammar(&["odd \"name\".py".to_string()]);
        assert!(g.contains("PATH: /[A-Za-z0-9_."), "{g}");
    }
}
