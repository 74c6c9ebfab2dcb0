//! Rendering a [`Plan`] as the fixed `plan.md` layout.

use std::fmt::Write as _;

use super::{FileAction, NONE_ITEM, Plan};

impl Plan {
    /// Renders the plan as markdown: `# Plan`, then `## Goal`, `## Context`, `## Steps` (numbered),
    /// `## Files` (`(new)` marks files to create) and `## Checks`, always in this order.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Plan\n\n## Goal\n\n");
        let goal = one_line(&self.goal);
        if goal.is_empty() {
            out.push_str(NONE_ITEM);
        } else if super::parse::heading(&goal).is_some() || super::parse::list_item(&goal).is_some()
        {
            // A goal that reads as a heading (`**Files:** …`, `# …`) or a list item would read
            // back as another section or lose its marker; as a list item it reads back whole.
            out.push_str("- ");
            out.push_str(&goal);
        } else {
            out.push_str(&goal);
        }
        out.push_str("\n\n## Context\n\n");
        bullet_list(
            &mut out,
            self.context_refs
                .iter()
                .map(|id| format!("`{}`", one_line(id))),
        );
        out.push_str("\n## Steps\n\n");
        if self.steps.is_empty() {
            let _ = writeln!(out, "{NONE_ITEM}");
        }
        for (index, step) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", index + 1, one_line(step));
        }
        out.push_str("\n## Files\n\n");
        bullet_list(
            &mut out,
            self.files.iter().map(|file| {
                let mut line = format!("`{}`", file.path);
                if file.action == FileAction::Create {
                    line.push_str(" (new)");
                }
                let note = one_line(&file.note);
                if !note.is_empty() {
                    line.push_str(" — ");
                    line.push_str(&note);
                }
                line
            }),
        );
        out.push_str("\n## Checks\n\n");
        bullet_list(&mut out, self.checks.iter().map(|check| one_line(check)));
        out
    }
}

/// Each field is one line of plan.md: a line break inside it (a JSON plan's step can hold one)
/// would start a heading or an item of its own there, and the Editor would read a plan other than
/// the one that was validated.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
