//! Git application of edits via git2.
