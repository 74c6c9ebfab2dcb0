//! The hard reset: the Editor's conversation is built from nothing.
//!
//! [`build_editor_messages`] is a pure function of its input: the system prompt for the edit
//! format (a data file), the plan text, the current text of the files the plan names and the
//! files the user added, and the one-line request. Nothing of the planner's conversation can
//! reach the Editor, because nothing else is an input.

use serde::Serialize;

use crate::edit::EditFormat;

use super::roles::ChatMessage;
use super::template::fill;

const SYSTEM_SEARCH_REPLACE: &str = include_str!("../../prompts/editor_system_search_replace.md");
const SYSTEM_WHOLE: &str = include_str!("../../prompts/editor_system_whole.md");
const USER: &str = include_str!("../../prompts/editor_user.md");
const FILE: &str = include_str!("../../prompts/editor_file.md");
const FILE_NEW: &str = include_str!("../../prompts/editor_file_new.md");
const FILE_EXCERPT: &str = include_str!("../../prompts/editor_file_excerpt.md");
const FILE_OMITTED: &str = include_str!("../../prompts/editor_file_omitted.md");

/// The Editor's system prompt for `format`.
pub fn editor_system_prompt(format: EditFormat) -> &'static str {
    match format {
        EditFormat::SearchReplace => SYSTEM_SEARCH_REPLACE,
        EditFormat::Whole => SYSTEM_WHOLE,
    }
}

/// What the Editor is shown of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileContent {
    /// The complete current text.
    Full {
        /// The text.
        text: String,
    },
    /// Only the lines relevant to the plan; `⋮` lines stand for the rest.
    Excerpt {
        /// The excerpt with `⋮` markers.
        text: String,
        /// Lines of the whole file.
        total_lines: usize,
        /// Lines left out.
        omitted_lines: usize,
    },
    /// The file does not exist yet.
    New,
    /// Left out to fit the context.
    Omitted {
        /// Tokens the full text would have taken.
        tokens: usize,
    },
}

/// One file in the Editor prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptFile {
    /// Repository-relative path.
    pub path: String,
    /// What is shown.
    pub content: FileContent,
    /// Whether the plan names it (files the plan names are the most relevant).
    pub named_by_plan: bool,
}

/// Everything the Editor's conversation is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditorPromptInput {
    /// The reply format (selects the system prompt).
    pub format: EditFormat,
    /// The plan's markdown.
    pub plan: String,
    /// The files, plan files first, then files the user added.
    pub files: Vec<PromptFile>,
    /// The one-line request.
    pub request: String,
}

/// Renders one file as the Editor sees it.
pub fn render_file(file: &PromptFile) -> String {
    match &file.content {
        FileContent::Full { text } => fill(
            FILE,
            &[("path", &file.path), ("content", &with_final_newline(text))],
        ),
        FileContent::Excerpt {
            text,
            total_lines,
            omitted_lines,
        } => fill(
            FILE_EXCERPT,
            &[
                ("path", &file.path),
                ("content", &with_final_newline(text)),
                ("total", &total_lines.to_string()),
                ("omitted", &omitted_lines.to_string()),
            ],
        ),
        FileContent::New => fill(FILE_NEW, &[("path", &file.path)]),
        FileContent::Omitted { tokens } => fill(
            FILE_OMITTED,
            &[("path", &file.path), ("tokens", &tokens.to_string())],
        ),
    }
}

fn with_final_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// The request reduced to one line (whitespace collapsed).
pub fn one_line_request(request: &str) -> String {
    request.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Builds the Editor's conversation: exactly a system message and one user message holding the
/// plan, the files and the request.
pub fn build_editor_messages(input: &EditorPromptInput) -> Vec<ChatMessage> {
    let files = if input.files.is_empty() {
        "(no files)\n".to_string()
    } else {
        input
            .files
            .iter()
            .map(render_file)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let user = fill(
        USER,
        &[
            ("plan", input.plan.trim()),
            ("files", files.trim_end()),
            ("request", &one_line_request(&input.request)),
        ],
    );
    vec![
        ChatMessage::system(editor_system_prompt(input.format).trim_end()),
        ChatMessage::user(user.trim_end()),
    ]
}
