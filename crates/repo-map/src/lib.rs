//! A tree-sitter repository map for the aidx Researcher.
//!
//! [`RepoMap`] walks a directory (honouring `.gitignore`, `.ignore` and `.aidxignore`), extracts
//! definitions and references from every supported source file with tree-sitter and the queries in
//! `queries/<lang>-tags.scm`, caches them under `.aidx/cache/`, ranks files and definitions with a
//! personalized PageRank seeded by the chat files and the request, and renders the best-ranked
//! signature lines into a map that never exceeds its token budget.
//!
//! Languages (17): Rust, Python, JavaScript/JSX, TypeScript, TSX, Go, Java, C, C++, C#, Ruby, PHP,
//! Kotlin, Swift, Lua, Scala and shell scripts (bash) (see [`Lang`]). Each has its own `queries/<lang>-tags.scm`, written for
//! this crate.
//!
//! [`syntax_issues`] reports where a file does not parse, with the same grammars; the Editor's
//! edits are checked with it before they land.
//!
//! The token budget is a hard cap: the rendered map is counted with the same [`TokenCounter`] the
//! context gate uses ([`Cl100kCounter`] by default) and trimmed until it fits.
//!
//! ```no_run
//! use aidx_repo_map::{MapOptions, RepoMap};
//! let map = RepoMap::new(".", MapOptions { map_tokens: 2048, ..MapOptions::default() })?;
//! let research = map.research("where is parseConfig called?", &[], &[])?;
//! println!("{}", research.map);
//! # Ok::<(), aidx_repo_map::RepoMapError>(())
//! ```

mod cache;
mod error;
mod extract;
mod graph;
mod history;
mod ident;
mod lang;
mod lexical;
mod matcher;
mod render;
mod repomap;
mod syntax;
mod tag_kind;
mod tokens;
mod ts_alloc;
mod walk;

pub use error::RepoMapError;
pub use extract::{
    Definition, FileTags, SkipReason, TagKind, content_skip_reason, extract_tags,
    extract_tags_with_query_engine,
};
pub use history::{DEFAULT_HISTORY_COMMITS, History, HistoryReader};
pub use ident::{Mentions, identifier_words, split_identifier};
pub use lang::Lang;
pub use render::{ELISION, LINE_MARK};
pub use repomap::{
    ChunkRef, DEFAULT_MAP_TOKENS, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_LINES_PER_FILE,
    DEFAULT_MAX_RANKED_FILES, DEFAULT_PARSE_TIMEOUT, FileSignals, MapOptions, MapStats, Progress,
    RankedFile, RepoMap, Research,
};
pub use syntax::{SyntaxIssue, syntax_issues};
pub use tokens::{Cl100kCounter, TokenCounter};
pub use walk::AIDX_IGNORE_FILE;

/// Names of the cache files under the cache directory.
pub mod cache_files {
    pub use crate::cache::{RANKS_FILE, TAGS_FILE};
}
