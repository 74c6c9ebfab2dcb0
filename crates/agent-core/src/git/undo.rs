//! `aidx undo` and `aidx diff`: finding, showing and reverting aidx's own commits.

use std::path::Path;

use git2::{DiffFormat, Oid};

use super::RUN_TRAILER;
use super::error::GitError;
use super::repo::EditRepo;
use super::write::write_atomic;

/// How far back `last_change` looks for an aidx commit.
const HISTORY_SEARCH_LIMIT: usize = 1_000;

/// What `undo_last` reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    /// The aidx commit that was undone.
    pub commit: Oid,
    /// Its summary line.
    pub summary: String,
    /// The commit HEAD points to now.
    pub head: Oid,
    /// The files restored.
    pub paths: Vec<String>,
}

/// The most recent aidx commit and its diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    /// The commit.
    pub commit: Oid,
    /// Its full message.
    pub message: String,
    /// Its patch against its first parent.
    pub diff: String,
}

/// True when `message` carries the `Aidx-Run:` trailer.
pub fn is_aidx_commit(message: &str) -> bool {
    match git2::message_trailers_strs(message) {
        Ok(trailers) => trailers.iter().any(|(key, _)| key == RUN_TRAILER),
        Err(_) => false,
    }
}

impl EditRepo {
    /// Reverts HEAD if it is an aidx commit that no remote-tracking branch contains: restores
    /// its files to the parent's content (work tree and index) and moves the branch back.
    /// Refuses when those files changed since the commit, so nothing of the user's is lost.
    pub fn undo_last(&self) -> Result<Undone, GitError> {
        let head = self
            .repo
            .head()
            .map_err(|_| GitError::NoCommits)?
            .peel_to_commit()?;
        let message = head.message().unwrap_or_default().to_string();
        let summary = head
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        if !is_aidx_commit(&message) {
            return Err(GitError::NotAidxCommit { summary });
        }
        if head.parent_count() != 1 {
            return Err(GitError::UnsupportedParents {
                parents: head.parent_count(),
            });
        }
        if let Some(remote_ref) = self.remote_containing(head.id())? {
            return Err(GitError::AlreadyPushed { remote_ref });
        }
        let parent = head.parent(0)?;
        let parent_tree = parent.tree()?;
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&parent_tree), Some(&head.tree()?), None)?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(p) = file.path().and_then(Path::to_str)
                    && !paths.iter().any(|q: &String| q == p)
                {
                    paths.push(p.to_string());
                }
            }
        }
        let changed = self.dirty_paths(&paths)?;
        if !changed.is_empty() {
            return Err(GitError::ChangedSinceCommit { paths: changed });
        }

        let mut index = self.repo.index()?;
        for path in &paths {
            match parent_tree.get_path(Path::new(path)) {
                Ok(entry) => {
                    let blob = self.repo.find_blob(entry.id())?;
                    write_atomic(
                        &self.absolute(path),
                        blob.content(),
                        entry.filemode() == 0o100755,
                    )?;
                    index.add_path(Path::new(path))?;
                }
                Err(_) => self.remove_tracked(&mut index, path)?,
            }
        }
        index.write()?;
        let reflog = format!("aidx undo: {summary}");
        let head_ref = self.repo.head()?;
        if head_ref.is_branch() {
            let mut reference = head_ref;
            reference.set_target(parent.id(), &reflog)?;
        } else {
            self.repo.set_head_detached(parent.id())?;
        }
        tracing::info!(undone = %head.id(), head = %parent.id(), "undid the last aidx commit");
        Ok(Undone {
            commit: head.id(),
            summary,
            head: parent.id(),
            paths,
        })
    }

    /// The most recent aidx commit on the first-parent history of HEAD, with its diff.
    pub fn last_change(&self) -> Result<Option<LastChange>, GitError> {
        let Ok(head) = self.repo.head() else {
            return Ok(None);
        };
        let mut commit = head.peel_to_commit()?;
        for _ in 0..HISTORY_SEARCH_LIMIT {
            let message = commit.message().unwrap_or_default().to_string();
            if is_aidx_commit(&message) {
                let diff = self.commit_patch(&commit)?;
                return Ok(Some(LastChange {
                    commit: commit.id(),
                    message,
                    diff,
                }));
            }
            match commit.parent(0) {
                Ok(parent) => commit = parent,
                Err(_) => break,
            }
        }
        Ok(None)
    }

    fn commit_patch(&self, commit: &git2::Commit<'_>) -> Result<String, GitError> {
        let parent_tree = match commit.parent(0) {
            Ok(parent) => Some(parent.tree()?),
            Err(_) => None,
        };
        let diff =
            self.repo
                .diff_tree_to_tree(parent_tree.as_ref(), Some(&commit.tree()?), None)?;
        let mut out = Vec::new();
        diff.print(DiffFormat::Patch, |_, _, line| {
            if matches!(line.origin(), '+' | '-' | ' ') {
                out.push(line.origin() as u8);
            }
            out.extend_from_slice(line.content());
            true
        })?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// A remote-tracking reference that contains `commit`, if any.
    fn remote_containing(&self, commit: Oid) -> Result<Option<String>, GitError> {
        for reference in self.repo.references_glob("refs/remotes/*")? {
            let reference = reference?;
            let Some(target) = reference.resolve().ok().and_then(|r| r.target()) else {
                continue;
            };
            if target == commit || self.repo.graph_descendant_of(target, commit)? {
                return Ok(Some(
                    reference.name().unwrap_or("a remote branch").to_string(),
                ));
            }
        }
        Ok(None)
    }
}
