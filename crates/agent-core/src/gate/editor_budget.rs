//! Holding the hard-reset Editor prompt under the Editor's safe context.
//!
//! The prompt (system + plan + files + request) must fit `safe_context_tokens()` minus the
//! tokens reserved for the reply. When it does not, the least relevant content goes first:
//! files the user added that the plan does not name are cut to the lines relevant to the plan,
//! then left out; then the plan's own files are cut to their relevant lines. If the prompt still
//! does not fit, [`fit_editor_prompt`] refuses with the token numbers.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::pipeline::ChatMessage;
use crate::pipeline::hard_reset::{
    EditorPromptInput, FileContent, build_editor_messages, editor_system_prompt, one_line_request,
    render_file,
};

use super::{GateError, TokenCounter, messages_tokens};

/// Context radii tried, widest first, when a file is cut to its relevant lines.
const EXCERPT_RADII: [usize; 3] = [3, 1, 0];

/// The Editor's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditorBudget {
    /// The Editor's safe context (prompt + reply); `None`: no known limit.
    pub safe_context: Option<usize>,
    /// Tokens reserved for the reply.
    pub max_new_tokens: usize,
}

impl EditorBudget {
    /// Tokens available for the prompt, or `None` when unlimited.
    pub fn available(&self) -> Option<usize> {
        self.safe_context
            .map(|safe| safe.saturating_sub(self.max_new_tokens))
    }
}

/// How a file was shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Elision {
    /// Cut to the lines relevant to the plan.
    Excerpt,
    /// Left out entirely.
    Omitted,
}

/// A file shortened to fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElidedFile {
    /// Repository-relative path.
    pub path: String,
    /// How.
    pub how: Elision,
}

/// The Editor prompt that fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FittedPrompt {
    /// The conversation to send.
    pub messages: Vec<ChatMessage>,
    /// The input it was built from (with elisions applied).
    pub input: EditorPromptInput,
    /// Its tokens, template overhead included.
    pub tokens: usize,
    /// Tokens available for the prompt (`None`: unlimited).
    pub available: Option<usize>,
    /// Files that were shortened, in order.
    pub elided: Vec<ElidedFile>,
}

/// Builds the Editor prompt from `input` and holds it under `budget` (see the module docs).
pub fn fit_editor_prompt(
    input: EditorPromptInput,
    counter: &dyn TokenCounter,
    budget: &EditorBudget,
) -> Result<FittedPrompt, GateError> {
    let available = budget.available();
    let mut input = input;
    let mut elided = Vec::new();
    let count = |input: &EditorPromptInput| messages_tokens(counter, &build_editor_messages(input));
    let mut tokens = count(&input);
    let fits = |tokens: usize| available.is_none_or(|a| tokens <= a);
    if let Some(safe) = budget.safe_context
        && available == Some(0)
    {
        return Err(GateError::NoRoomForPrompt {
            safe_context: safe,
            max_new_tokens: budget.max_new_tokens,
        });
    }
    if !fits(tokens) {
        let keywords = keywords(&format!("{}\n{}", input.plan, input.request));
        // Least relevant first: files the plan does not name, latest added first; then the
        // plan's files, last named first.
        let mut order: Vec<usize> = (0..input.files.len())
            .rev()
            .filter(|&i| !input.files[i].named_by_plan)
            .collect();
        let extras = order.len();
        order.extend(
            (0..input.files.len())
                .rev()
                .filter(|&i| input.files[i].named_by_plan),
        );
        'files: for (rank, &i) in order.iter().enumerate() {
            let FileContent::Full { text } = input.files[i].content.clone() else {
                continue;
            };
            for radius in EXCERPT_RADII {
                let Some(excerpt) = excerpt(&text, &keywords, radius) else {
                    break;
                };
                input.files[i].content = excerpt;
                tokens = count(&input);
                if fits(tokens) {
                    record(&mut elided, &input.files[i].path, Elision::Excerpt);
                    break 'files;
                }
            }
            if rank < extras {
                input.files[i].content = FileContent::Omitted {
                    tokens: counter.count_tokens(&text),
                };
                record(&mut elided, &input.files[i].path, Elision::Omitted);
                tokens = count(&input);
                if fits(tokens) {
                    break;
                }
            } else if !matches!(input.files[i].content, FileContent::Full { .. }) {
                record(&mut elided, &input.files[i].path, Elision::Excerpt);
            }
        }
    }
    if let Some(available) = available
        && tokens > available
    {
        let system = counter.count_tokens(editor_system_prompt(input.format));
        let plan = counter.count_tokens(&input.plan);
        let files: usize = input
            .files
            .iter()
            .map(|f| counter.count_tokens(&render_file(f)))
            .sum();
        let request = counter.count_tokens(&one_line_request(&input.request));
        return Err(GateError::EditorPromptTooLarge {
            needed: tokens,
            system,
            plan,
            files,
            request,
            overhead: tokens.saturating_sub(system + plan + files + request),
            available,
            safe_context: budget.safe_context.unwrap_or(0),
            max_new_tokens: budget.max_new_tokens,
        });
    }
    for e in &elided {
        tracing::info!(path = %e.path, how = ?e.how, "file shortened to fit the Editor's context");
    }
    Ok(FittedPrompt {
        messages: build_editor_messages(&input),
        input,
        tokens,
        available,
        elided,
    })
}

fn record(elided: &mut Vec<ElidedFile>, path: &str, how: Elision) {
    elided.retain(|e| e.path != path);
    elided.push(ElidedFile {
        path: path.to_string(),
        how,
    });
}

/// Identifiers of three or more characters in `text`, lowercased.
fn keywords(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

/// The lines of `text` that mention a keyword, with `radius` lines around them and `⋮` for each
/// gap; `None` when that would leave nothing out, or nothing in.
fn excerpt(text: &str, wanted: &BTreeSet<String>, radius: usize) -> Option<FileContent> {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = vec![false; lines.len()];
    for (n, line) in lines.iter().enumerate() {
        let hit = keywords(line).iter().any(|w| wanted.contains(w));
        if hit {
            let from = n.saturating_sub(radius);
            let to = (n + radius).min(lines.len().saturating_sub(1));
            keep[from..=to].iter_mut().for_each(|k| *k = true);
        }
    }
    let kept = keep.iter().filter(|k| **k).count();
    if kept == lines.len() || kept == 0 {
        return None;
    }
    let mut out = String::new();
    let mut in_gap = false;
    for (line, keep) in lines.iter().zip(&keep) {
        if *keep {
            out.push_str(line);
            out.push('\n');
            in_gap = false;
        } else if !in_gap {
            out.push_str("⋮\n");
            in_gap = true;
        }
    }
    Some(FileContent::Excerpt {
        text: out,
        total_lines: lines.len(),
        omitted_lines: lines.len() - kept,
    })
}
