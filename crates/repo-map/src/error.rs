//! Errors returned by the repository map.

use std::path::PathBuf;

/// Everything that can stop a repository map from being built.
///
/// Problems with single files (unreadable, binary, too slow to parse) are not errors: such files are
/// skipped and counted in [`crate::MapStats`]. A corrupt cache is not an error either: it is rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum RepoMapError {
    /// The directory to map does not exist or is not a directory.
    #[error("cannot map {path}: not a readable directory ({source}); pass an existing directory")]
    Root {
        /// The directory that was given.
        path: PathBuf,
        /// Why it could not be opened.
        source: std::io::Error,
    },
    /// The cache directory could not be created or written.
    #[error(
        "cannot write the repo-map cache at {path}: {source}; check permissions or set another cache_dir"
    )]
    CacheWrite {
        /// The cache file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The worker threads for parsing could not be started.
    #[error("cannot start {threads} parser threads: {message}; lower `threads` or free resources")]
    Threads {
        /// How many threads were asked for.
        threads: usize,
        /// Why they could not be started.
        message: String,
    },
    /// A bundled tree-sitter query does not compile against its grammar (a bug in this crate).
    #[error(
        "the bundled {language} tags query does not compile: {message}; this is a bug in aidx-repo-map"
    )]
    Query {
        /// Language whose query failed.
        language: &'static str,
        /// Tree-sitter's description of the problem.
        message: String,
    },
}
