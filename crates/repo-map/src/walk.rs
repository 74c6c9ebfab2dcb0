//! Finding the source files of a repository, honouring ignore files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::{WalkBuilder, WalkState};

use crate::lang::Lang;

/// Name of the aidx-specific ignore file (gitignore syntax).
pub const AIDX_IGNORE_FILE: &str = ".aidxignore";

/// A source file in a supported language, with the metadata the cache is keyed on.
#[derive(Clone, Debug)]
pub struct WalkedFile {
    /// Path relative to the root, `/`-separated.
    pub rel: String,
    /// Absolute path.
    pub abs: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: i64,
    /// Its language.
    pub lang: Lang,
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Walk {
    /// Source files small enough to parse, sorted by path.
    pub files: Vec<WalkedFile>,
    /// Source files over the size limit, sorted by path.
    pub too_large: Vec<String>,
}

/// Walks `root` in parallel: honours `.gitignore` (inside a git repository or not), `.ignore` and
/// `.aidxignore`, skips hidden directories (so `.git/` and `.aidx/`), and never follows symlinks, so
/// nothing outside the root is read. Only files in a [`Lang`] are returned.
pub fn walk(root: &Path, max_file_bytes: u64, threads: usize) -> Walk {
    let found = Mutex::new(Walk::default());
    WalkBuilder::new(root)
        .hidden(true)
        .follow_links(false)
        .require_git(false)
        .git_global(false)
        .add_custom_ignore_filename(AIDX_IGNORE_FILE)
        .threads(threads)
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let Some(lang) = Lang::from_path(entry.path()) else {
                    return WalkState::Continue;
                };
                let Ok(meta) = entry.metadata() else {
                    return WalkState::Continue;
                };
                let Ok(rel) = entry.path().strip_prefix(root) else {
                    return WalkState::Continue;
                };
                let rel = rel_string(rel);
                let mut found = found.lock().unwrap_or_else(|e| e.into_inner());
                if meta.len() > max_file_bytes {
                    found.too_large.push(rel);
                } else {
                    let mtime_ns = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos() as i64);
                    found.files.push(WalkedFile {
                        rel,
                        abs: entry.into_path(),
                        size: meta.len(),
                        mtime_ns,
                        lang,
                    });
                }
                WalkState::Continue
            })
        });
    let mut walk = found.into_inner().unwrap_or_else(|e| e.into_inner());
    walk.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    walk.too_large.sort();
    walk
}

/// A relative path as a `/`-separated string.
pub fn rel_string(rel: &Path) -> String {
    let mut out = String::new();
    for (i, part) in rel.components().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    out
}
