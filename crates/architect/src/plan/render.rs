//! Rendering a [`Plan`] as the fixed `plan.md` layout.

use std::fmt::Write as _;

use super::{FileAction, Plan};

/// What an empty list section shows.
pub(super) const NONE_ITEM: &str = "(none)";

impl Plan {
    /// Renders the plan as markdown: `# Plan`, then `## Goal`, `## Context`, `## Steps` (numbered),
    /// `## Files` (`(new)` marks files to create) and `## Checks`, always in this order.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Plan\n\n## Goal\n\n");
        out.push_str(if self.goal.trim().is_empty() {
            NONE_ITEM
        } else {
            self.goal.trim()
        });
        out.push_str("\n\n## Context\n\n");
        bullet_list(
            &mut out,
            self.context_refs.iter().map(|id| format!("`{id}`")),
        );
        out.push_str("\n## Steps\n\n");
        if self.steps.is_empty() {
            let _ = writeln!(out, "{NONE_ITEM}");
        }
        for (index, step) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", index + 1, step.trim());
        }
        out.push_str("\n## Files\n\n");
        bullet_list(
            &mut out,
            self.files.iter().map(|file| {
                let mut line = format!("`{}`", file.path);
                if file.action == FileAction::Create {
                    line.push_str(" (new)");
                }
                if !file.note.trim().is_empty() {
                    line.push_str(" — ");
                    line.push_str(file.note.trim());
                }
                line
            }),
        );
        out.push_str("\n## Checks\n\n");
        bullet_list(
            &mut out,
            self.checks.iter().map(|check| check.trim().to_string()),
        );
        out
    }
}

fn bullet_list(out: &mut String, items: impl Iterator<Item = String>) {
    let mut any = false;
    for item in items {
        any = true;
        let _ = writeln!(out, "- {item}");
    }
    if !any {
        let _ = writeln!(out, "- {NONE_ITEM}");
    }
}
