//! Reading a model's reply into a [`Plan`], tolerating the drift small and large models produce:
//! other heading levels or `**Goal:**` headings, synonyms ("Objective", "Files to change", "Verification"),
//! `*`/`+`/`1)` list markers, wrapped items, backticks or none, `<think>` blocks, and a code fence around it all.

use super::{FileAction, NONE_ITEM, Plan, PlannedFile};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Section {
    Goal,
    Context,
    Steps,
    Files,
    Checks,
}

/// Markers that flag a file as new (matched case-insensitively).
const NEW_MARKERS: &[&str] = &[
    "(new file)",
    "(new)",
    "[new]",
    "(create)",
    "(created)",
    "**new**",
    "new file:",
    "new:",
    "create:",
];
/// Markers that flag a file as changed; removed from the note.
const CHANGE_MARKERS: &[&str] = &[
    "(change)",
    "(changed)",
    "(modify)",
    "(modified)",
    "(edit)",
    "(existing)",
    "modify:",
    "change:",
    "edit:",
];

impl Plan {
    /// Reads a plan from a model's reply. Never fails: sections that cannot be found stay empty, and
    /// [`Plan::validate`] reports them.
    pub fn parse(reply: &str) -> Plan {
        let text = unwrap_fence(strip_think(reply));
        let mut sections: Vec<(Section, Vec<&str>)> = Vec::new();
        let mut current: Option<usize> = None;
        for line in text.lines() {
            if let Some((section, inline)) = heading(line) {
                current = section.map(|section| {
                    sections.push((section, Vec::new()));
                    sections.len() - 1
                });
                if let (Some(index), false) = (current, inline.trim().is_empty()) {
                    sections[index].1.push(inline);
                }
                continue;
            }
            if let Some(index) = current {
                sections[index].1.push(line);
            }
        }

        let mut plan = Plan::default();
        for (section, lines) in &sections {
            match section {
                Section::Goal => {
                    let goal: Vec<String> = items(lines, false);
                    let goal = goal.join(" ");
                    if !goal.is_empty() {
                        if !plan.goal.is_empty() {
                            plan.goal.push(' ');
                        }
                        plan.goal.push_str(&goal);
                    }
                }
                Section::Context => plan
                    .context_refs
                    .extend(items(lines, false).iter().filter_map(|i| reference_id(i))),
                Section::Steps => plan
                    .steps
                    .extend(items(lines, false).iter().map(|i| strip_step_label(i))),
                Section::Files => {
                    for file in items(lines, false).iter().filter_map(|i| planned_file(i)) {
                        // A file listed twice is one entry, as in a JSON plan (and as the Editor
                        // reads plan.md).
                        if !plan
                            .files
                            .iter()
                            .any(|seen| seen.path == file.path && seen.action == file.action)
                        {
                            plan.files.push(file);
                        }
                    }
                }
                Section::Checks => plan.checks.extend(items(lines, true)),
            }
        }
        plan
    }
}

/// Drops `<think>…</think>` blocks (reasoning models); an unclosed block swallows the rest.
pub(super) fn strip_think(reply: &str) -> String {
    let mut out = String::new();
    let mut rest = reply;
    while let Some(start) = rest.find("<think>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Removes one code fence wrapped around the whole reply (```` ```markdown … ``` ````).
fn unwrap_fence(text: String) -> String {
    let trimmed = text.trim();
    let Some(first_line_end) = trimmed.find('\n') else {
        return text;
    };
    let opening = trimmed[..first_line_end].trim();
    let language = opening.strip_prefix("```").map(str::trim);
    if matches!(language, Some("" | "md" | "markdown"))
        && trimmed.ends_with("```")
        && trimmed.len() > first_line_end + 3
    {
        return trimmed[first_line_end + 1..trimmed.len() - 3].to_string();
    }
    text
}

/// Which section a heading title names.
fn classify(title: &str) -> Option<Section> {
    let title: String = title
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| title.contains(n));
    if has(&["file"]) {
        Some(Section::Files)
    } else if has(&["check", "verif", "validat", "test"]) {
        Some(Section::Checks)
    } else if has(&["step", "implementation", "approach"]) {
        Some(Section::Steps)
    } else if has(&["context", "reference", "research"]) {
        Some(Section::Context)
    } else if has(&["goal", "objective"]) {
        Some(Section::Goal)
    } else {
        None
    }
}

/// Titles accepted in the plain `Title: text` form (exact, so a step like "Test: run it" stays a step).
const PLAIN_TITLES: &[&str] = &[
    "goal",
    "objective",
    "context",
    "references",
    "steps",
    "files",
    "files to change",
    "files to change or create",
    "checks",
    "verification",
    "how to check",
];

/// Recognises a heading line: `## Title`, `**Title**` / `**Title:** text`, or `Title: text` for the exact
/// [`PLAIN_TITLES`]. Returns the section (`None` for an unknown heading, which ends the current section) and any
/// text on the same line after the title.
pub(super) fn heading(line: &str) -> Option<(Option<Section>, &str)> {
    let trimmed = line.trim();
    if trimmed.starts_with('#') {
        return Some((classify(trimmed.trim_start_matches('#')), ""));
    }
    if let Some(inner) = trimmed.strip_prefix("**") {
        let end = inner.find("**")?;
        let title = inner[..end].trim().trim_end_matches(':');
        let rest = inner[end + 2..].trim_start().trim_start_matches(':');
        return classify(title).map(|section| (Some(section), rest));
    }
    let (title, rest) = trimmed.split_once(':')?;
    let title = title.trim().to_lowercase();
    PLAIN_TITLES
        .contains(&title.as_str())
        .then(|| (classify(&title), rest))
}

/// The content of a list item line, without its marker (`-`, `*`, `+`, `1.`, `1)`, and a `[ ]` checkbox).
pub(super) fn list_item(trimmed: &str) -> Option<&str> {
    let content = if let Some(rest) = trimmed.strip_prefix(['-', '*', '+']) {
        rest.strip_prefix([' ', '\t'])?
    } else {
        let digits = trimmed.len()
            - trimmed
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        if digits == 0 {
            return None;
        }
        let rest = trimmed[digits..].strip_prefix(['.', ')'])?;
        if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
            return None;
        }
        rest
    };
    let content = content.trim();
    Some(
        content
            .strip_prefix("[ ]")
            .or_else(|| content.strip_prefix("[x]"))
            .map(str::trim_start)
            .unwrap_or(content),
    )
}

/// Splits section lines into items: list items, with wrapped and indented lines joined to the item above, and
/// free paragraphs as items of their own. Lines inside a code fence become items when `fenced_lines_are_items`
/// (a block of check commands), else they join the current item.
fn items(lines: &[&str], fenced_lines_are_items: bool) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    let mut after_blank = false;
    let mut in_fence = false;
    for line in lines {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence && fenced_lines_are_items {
            if !trimmed.is_empty() {
                items.extend(current.take());
                items.push(trimmed.to_string());
            }
            continue;
        }
        if trimmed.is_empty() {
            after_blank = true;
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if let Some(content) = list_item(trimmed) {
            items.extend(current.take());
            current = Some(content.to_string());
        } else if let Some(item) = current
            .as_mut()
            .filter(|_| indented || !after_blank || in_fence)
        {
            item.push(' ');
            item.push_str(trimmed);
        } else {
            items.extend(current.take());
            current = Some(trimmed.to_string());
        }
        after_blank = false;
    }
    items.extend(current);
    items.retain(|item| {
        let lower = item.trim().to_lowercase();
        !(lower.is_empty()
            || lower == NONE_ITEM
            || lower == "none"
            || lower == "n/a"
            || lower == "none.")
    });
    items
}

/// Drops a leading "Step 3:" / "**Step 3.**" label.
fn strip_step_label(item: &str) -> String {
    let unbold = item.trim_start_matches("**");
    let lower = unbold.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("step ") {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            let after = &unbold["step ".len() + digits..];
            let after = after
                .trim_start_matches([':', '.', ')', '-', '*'])
                .trim_start_matches("**");
            let after = after.trim_start_matches([':', ' ']);
            if !after.is_empty() {
                return after.to_string();
            }
        }
    }
    item.to_string()
}

/// The first backticked span of `text`, with its byte range.
fn first_code_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find('`')?;
    let len = text[start + 1..].find('`')?;
    Some((start, start + 1 + len + 1))
}

fn reference_id(item: &str) -> Option<String> {
    let id = match first_code_span(item) {
        Some((start, end)) => item[start + 1..end - 1].trim().to_string(),
        None => item
            .split_whitespace()
            .next()?
            .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '*' | '"' | '\''))
            .to_string(),
    };
    (!id.is_empty()).then_some(id)
}

/// Removes every marker in `markers` from `text` (ASCII case-insensitive); returns whether any was present.
fn remove_markers(text: &mut String, markers: &[&str]) -> bool {
    let mut found = false;
    for marker in markers {
        while let Some(at) = text.to_ascii_lowercase().find(marker) {
            text.replace_range(at..at + marker.len(), " ");
            found = true;
        }
    }
    found
}

fn planned_file(item: &str) -> Option<PlannedFile> {
    let mut text = item.trim().to_string();
    let is_new = remove_markers(&mut text, NEW_MARKERS);
    remove_markers(&mut text, CHANGE_MARKERS);
    let text = text.trim();
    let (raw_path, rest) = match first_code_span(text) {
        Some((start, end)) => (
            &text[start + 1..end - 1],
            format!("{} {}", &text[..start], &text[end..]),
        ),
        None => {
            let token = text.split_whitespace().next()?;
            let start = text.find(token)?;
            (token, text[start + token.len()..].to_string())
        }
    };
    let path = raw_path
        .trim()
        .trim_matches(|c: char| matches!(c, '*' | '"' | '\'' | ',' | ';' | ':'))
        .trim_end_matches('.')
        .replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path).to_string();
    if path.is_empty() {
        return None;
    }
    // One space between words, as plan.md renders it (removing a marker leaves a gap).
    let note = rest
        .trim()
        .trim_start_matches(|c: char| matches!(c, '—' | '–' | '-' | ':' | ',') || c.is_whitespace())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(PlannedFile {
        path,
        action: if is_new {
            FileAction::Create
        } else {
            FileAction::Change
        },
        note,
    })
}
