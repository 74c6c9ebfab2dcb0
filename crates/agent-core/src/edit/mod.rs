//! The edit format: what the Editor emits and how it lands in memory.
//!
//! - [`parse_search_replace`] reads SEARCH/REPLACE blocks (the main format) and
//!   [`parse_whole_files`] reads whole-file replies (the fallback for weak models).
//! - [`plan_edits`] applies blocks to file contents in memory, transactionally: it computes
//!   every new file content first and reports each failed block with the closest real lines.
//!   Nothing here touches the disk; [`crate::git`] writes what a complete plan produced.
//! - [`reflection_message`] turns a failed plan into the message sent back to the Editor.
//! - [`syntax_regressions`] finds planned changes that leave a file with new syntax errors.
//! - [`SEARCH_REPLACE_LARK`] is the grammar the local Editor is constrained with.

mod apply;
mod block;
mod closest;
mod grammar;
mod matching;
mod parse;
mod reflection;
mod strategy;
mod syntax;
mod whole;

pub use apply::{
    BlockFailure, EditOutcome, FailureReason, FileChange, plan_edits, plan_whole_files,
};
pub use block::EditBlock;
pub use closest::{ClosestLines, closest_lines};
pub(crate) use grammar::lark_string;
pub use grammar::{
    GrammarFile, GrammarLimits, MAX_GRAMMAR_LINES, search_replace_grammar,
    search_replace_grammar_for_files,
};
pub use matching::{MatchError, apply_block_to_text};
pub use parse::{ParseError, UnfinishedBlock, parse_search_replace, parse_search_replace_prefix};
pub use reflection::reflection_message;
pub use strategy::MatchStrategy;
pub use syntax::{SyntaxRegression, syntax_regressions};
pub use whole::{WholeFile, parse_whole_files};

/// The llguidance Lark grammar for SEARCH/REPLACE blocks.
///
/// Everything this grammar generates is accepted by [`parse_search_replace`] (tested), so a
/// constrained Editor always produces parseable edits.
pub const SEARCH_REPLACE_LARK: &str = include_str!("search_replace.lark");

/// The format an Editor replies in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EditFormat {
    /// SEARCH/REPLACE blocks (the default).
    #[default]
    SearchReplace,
    /// Whole files: a path line, then the complete new content in a ``` fence.
    Whole,
}

impl EditFormat {
    /// Parses a configuration value: `search-replace` (also `diff`, `search_replace`) or
    /// `whole`. Returns `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "search-replace" | "search_replace" | "diff" => Some(EditFormat::SearchReplace),
            "whole" => Some(EditFormat::Whole),
            _ => None,
        }
    }
}
