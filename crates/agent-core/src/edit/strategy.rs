//! How an edit block found its place in a file: reported per block by application, decided by
//! the matchers. Its own file so that application and matching both depend on it, not on each
//! other.

use std::fmt;

/// How a block found its place in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStrategy {
    /// SEARCH matched character for character (line endings aside).
    Exact,
    /// SEARCH matched once a uniform indentation difference and trailing whitespace were ignored.
    IndentationTolerant,
    /// SEARCH matched once blank lines (and indentation) were ignored.
    BlankLineTolerant,
    /// SEARCH used `...` lines for unchanged code; each piece matched on its own.
    Elision,
    /// Empty SEARCH on a new (or empty) file: the file is created with the REPLACE lines.
    CreateFile,
    /// A whole-file reply replaced the file's content.
    WholeFile,
    /// The block repeats an earlier block of the same reply exactly (weak models often emit
    /// the same edit twice); it is not applied a second time.
    Duplicate,
}

impl fmt::Display for MatchStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchStrategy::Exact => "exact",
            MatchStrategy::IndentationTolerant => "indentation-tolerant",
            MatchStrategy::BlankLineTolerant => "blank-line-tolerant",
            MatchStrategy::Elision => "`...` elision",
            MatchStrategy::CreateFile => "new file",
            MatchStrategy::Duplicate => "duplicate of an earlier block (skipped)",
            MatchStrategy::WholeFile => "whole file",
        })
    }
}
