//! Transactional application of edits in memory.
//!
//! [`plan_edits`] applies every block to an in-memory copy of its file, in order, and keeps
//! going after a failure so that the report says which blocks failed *and* which would have
//! applied. Only an outcome with no failure may be written (see [`EditOutcome::is_complete`]);
//! writing is the git layer's job.

use std::fmt;

use super::block::EditBlock;
use super::closest::{ClosestLines, closest_lines};
use super::matching::{MatchError, apply_block_to_text};
use super::strategy::MatchStrategy;
use super::whole::WholeFile;

/// Why a block failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The SEARCH lines were not found, or found more than once.
    Match(MatchError),
    /// SEARCH is not empty but the file does not exist.
    FileMissing,
    /// SEARCH is empty but the file already has content; nothing says where the lines go.
    EmptySearchOnExistingFile,
    /// The file could not be read (or may not be touched); the message says why.
    Unreadable(String),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Match(e) => write!(f, "{e}"),
            FailureReason::FileMissing => {
                f.write_str("the file does not exist: use an empty SEARCH section to create it")
            }
            FailureReason::EmptySearchOnExistingFile => f.write_str(
                "SEARCH is empty but the file already exists: copy the lines to change into SEARCH",
            ),
            FailureReason::Unreadable(why) => write!(f, "the file cannot be edited: {why}"),
        }
    }
}

/// A block that did not apply.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockFailure {
    /// 0-based position of the block in the reply.
    pub index: usize,
    /// The block itself.
    pub block: EditBlock,
    /// Why it failed.
    pub reason: FailureReason,
    /// The real lines of the file closest to SEARCH, when the file exists.
    pub closest: Option<ClosestLines>,
}

/// One file's content before and after the edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Repository-relative path.
    pub path: String,
    /// Content before (`None`: the file is created).
    pub before: Option<String>,
    /// Content after.
    pub after: String,
}

/// The result of applying a reply in memory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditOutcome {
    /// Files whose content changed, in the order the reply first touched them.
    pub changes: Vec<FileChange>,
    /// Blocks that applied, with the strategy that placed each.
    pub applied: Vec<(usize, MatchStrategy)>,
    /// Blocks that failed.
    pub failures: Vec<BlockFailure>,
}

impl EditOutcome {
    /// True when every block applied, i.e. the changes may be written.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The in-memory state of one file during planning.
struct WorkingFile {
    path: String,
    before: Option<String>,
    current: Option<String>,
}

struct Workspace<R> {
    files: Vec<WorkingFile>,
    read: R,
}

impl<R> Workspace<R>
where
    R: FnMut(&str) -> std::io::Result<Option<String>>,
{
    /// The working copy of `path`, read on first use.
    fn file(&mut self, path: &str) -> Result<&mut WorkingFile, String> {
        if let Some(pos) = self.files.iter().position(|f| f.path == path) {
            return Ok(&mut self.files[pos]);
        }
        let before = (self.read)(path).map_err(|e| e.to_string())?;
        self.files.push(WorkingFile {
            path: path.to_string(),
            current: before.clone(),
            before,
        });
        Ok(self.files.last_mut().expect("just pushed"))
    }

    fn into_changes(self) -> Vec<FileChange> {
        self.files
            .into_iter()
            .filter_map(|f| match f.current {
                Some(after) if f.before.as_ref() != Some(&after) => Some(FileChange {
                    path: f.path,
                    before: f.before,
                    after,
                }),
                _ => None,
            })
            .collect()
    }
}

/// Applies `blocks` in order to in-memory copies of their files.
///
/// `read` returns a file's current content (`Ok(None)` when it does not exist); an `Err` marks
/// the block as failed with that message (the git layer uses this to refuse unsafe paths).
/// Nothing is written: the caller writes [`EditOutcome::changes`] only when the outcome
/// [`is_complete`](EditOutcome::is_complete).
pub fn plan_edits<R>(blocks: &[EditBlock], read: R) -> EditOutcome
where
    R: FnMut(&str) -> std::io::Result<Option<String>>,
{
    let mut workspace = Workspace {
        files: Vec::new(),
        read,
    };
    let mut applied = Vec::new();
    let mut failures = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let fail = |reason, closest| BlockFailure {
            index,
            block: block.clone(),
            reason,
            closest,
        };
        let repeats_an_applied_block = blocks[..index]
            .iter()
            .enumerate()
            .any(|(earlier, b)| b == block && applied.iter().any(|(i, _)| *i == earlier));
        if repeats_an_applied_block {
            applied.push((index, MatchStrategy::Duplicate));
            continue;
        }
        let file = match workspace.file(&block.path) {
            Ok(file) => file,
            Err(why) => {
                failures.push(fail(FailureReason::Unreadable(why), None));
                continue;
            }
        };
        if block.search.trim().is_empty() {
            match &file.current {
                Some(text) if !text.trim().is_empty() => {
                    failures.push(fail(FailureReason::EmptySearchOnExistingFile, None));
                }
                _ => {
                    file.current = Some(block.replace.clone());
                    applied.push((index, MatchStrategy::CreateFile));
                }
            }
            continue;
        }
        let Some(current) = &file.current else {
            failures.push(fail(FailureReason::FileMissing, None));
            continue;
        };
        match apply_block_to_text(current, &block.search, &block.replace) {
            Ok((text, strategy)) => {
                file.current = Some(text);
                applied.push((index, strategy));
            }
            Err(e) => {
                let closest = closest_lines(current, &block.search);
                failures.push(fail(FailureReason::Match(e), closest));
            }
        }
    }
    let outcome = EditOutcome {
        changes: workspace.into_changes(),
        applied,
        failures,
    };
    tracing::debug!(
        applied = outcome.applied.len(),
        failed = outcome.failures.len(),
        files = outcome.changes.len(),
        "planned edits"
    );
    outcome
}

/// Plans whole-file replies: each file's content is replaced by the reply's.
///
/// A file that cannot be read is reported as a failure (with the content as the block's
/// REPLACE part and an empty SEARCH).
pub fn plan_whole_files<R>(files: &[WholeFile], read: R) -> EditOutcome
where
    R: FnMut(&str) -> std::io::Result<Option<String>>,
{
    let mut workspace = Workspace {
        files: Vec::new(),
        read,
    };
    let mut applied = Vec::new();
    let mut failures = Vec::new();
    for (index, whole) in files.iter().enumerate() {
        match workspace.file(&whole.path) {
            Ok(file) => {
                file.current = Some(whole.content.clone());
                applied.push((index, MatchStrategy::WholeFile));
            }
            Err(why) => failures.push(BlockFailure {
                index,
                block: EditBlock::new(&whole.path, "", &whole.content),
                reason: FailureReason::Unreadable(why),
                closest: None,
            }),
        }
    }
    EditOutcome {
        changes: workspace.into_changes(),
        applied,
        failures,
    }
}
