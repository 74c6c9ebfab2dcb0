//! The message sent back to the Editor when blocks fail (a "reflection").
//!
//! The text lives in `prompts/reflection*.md`; this module only fills in the placeholders.

use super::apply::{BlockFailure, EditOutcome};
use crate::pipeline::template::fill;

const MESSAGE: &str = include_str!("prompts/reflection.md");
const FAILURE: &str = include_str!("prompts/reflection_failure.md");
const CLOSEST: &str = include_str!("prompts/reflection_closest.md");
const APPLIED: &str = include_str!("prompts/reflection_applied.md");

/// Builds the reflection for a failed outcome: each failed block with its reason and the
/// closest real lines, and which blocks matched.
///
/// Nothing was written, so the caller keeps the blocks that matched and adds the Editor's
/// corrected blocks to them for the next attempt. `total_blocks` is the number of blocks in the
/// reply. Returns `None` when nothing failed.
pub fn reflection_message(outcome: &EditOutcome, total_blocks: usize) -> Option<String> {
    if outcome.is_complete() {
        return None;
    }
    let failures: String = outcome
        .failures
        .iter()
        .map(describe_failure)
        .collect::<Vec<_>>()
        .join("\n");
    let applied = if outcome.applied.is_empty() {
        String::new()
    } else {
        let numbers: Vec<String> = outcome
            .applied
            .iter()
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        fill(APPLIED, &[("blocks", &numbers.join(", "))])
    };
    Some(fill(
        MESSAGE,
        &[
            ("failed_count", &outcome.failures.len().to_string()),
            ("total_count", &total_blocks.to_string()),
            ("failures", &failures),
            ("applied", &applied),
        ],
    ))
}

fn describe_failure(failure: &BlockFailure) -> String {
    let closest = match &failure.closest {
        Some(c) => {
            let line_count = c.text.lines().count().max(1);
            fill(
                CLOSEST,
                &[
                    ("start", &c.start_line.to_string()),
                    ("end", &(c.start_line + line_count - 1).to_string()),
                    ("percent", &format!("{:.0}", c.similarity * 100.0)),
                    ("lines", &c.text),
                ],
            )
        }
        None => String::new(),
    };
    fill(
        FAILURE,
        &[
            ("number", &(failure.index + 1).to_string()),
            ("path", &failure.block.path),
            ("reason", &failure.reason.to_string()),
            ("block", &failure.block.to_markdown()),
            ("closest", &closest),
        ],
    )
}
