//! Landing planned changes: dirty-file handling, the reviewed diff applied through libgit2,
//! atomic work-tree writes, and a commit of exactly the edited files.
//!
//! Order of operations, chosen so that nothing is half-done:
//!
//! 1. every path is checked and every file re-read: it must still hold what was planned on;
//! 2. files with uncommitted user changes are committed as the user's own commit, or the
//!    landing stops (`dirty-commits: false`) — they are never overwritten;
//! 3. the unified diff (what the user reviews) is parsed by libgit2 and applied to HEAD's tree
//!    in memory; each result must equal the planned content;
//! 4. the commit message is built and validated (fixed before committing, never after);
//! 5. only now, unless Ctrl-C arrived (see [`super::interrupt`]), each file is written
//!    atomically from the blob libgit2 produced, and the same diff is applied to the index
//!    with `Repository::apply(…, ApplyLocation::Index)`;
//! 6. the edited files — and only they — are committed (`auto-commits`), or left staged.
//!
//! libgit2's own work-tree apply (`ApplyLocation::Both`) is not used because its checkout
//! rewrites files in place (`O_TRUNC`), which an interrupt or crash could leave half-written.

use std::path::Path;

use git2::{ApplyLocation, Diff, Oid, Signature};

use super::diff::unified_diff_with_modes;
use super::error::GitError;
use super::interrupt;
use super::message::{CommitIntent, CommitMessage, validate_commit_message};
use super::repo::EditRepo;
use super::write::{remove_file, write_atomic};
use crate::edit::FileChange;

/// How landing treats dirty files and commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LandOptions {
    /// Commit the user's uncommitted changes to files about to be edited first (`true`), or
    /// stop with [`GitError::DirtyFiles`] (`false`).
    pub dirty_commits: bool,
    /// Commit the edits (`true`) or leave them staged for review (`false`).
    pub auto_commits: bool,
}

impl Default for LandOptions {
    fn default() -> Self {
        LandOptions {
            dirty_commits: true,
            auto_commits: true,
        }
    }
}

/// What landing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    /// The unified diff that was applied (empty when nothing changed).
    pub diff: String,
    /// The edited paths.
    pub paths: Vec<String>,
    /// The commit holding the user's previously uncommitted changes, if one was needed.
    pub user_commit: Option<Oid>,
    /// The aidx commit (`None` with `auto-commits: false` or when nothing changed).
    pub commit: Option<Oid>,
    /// The aidx commit message (also when the change is left staged).
    pub message: Option<String>,
}

impl EditRepo {
    /// The diff `changes` would land as, after checking every path (nothing is written).
    pub fn preview(&self, changes: &[FileChange]) -> Result<String, GitError> {
        let changes = self.normalize(changes)?;
        self.diff_of(&changes)
    }

    /// The unified diff of `changes` with HEAD's file modes.
    fn diff_of(&self, changes: &[FileChange]) -> Result<String, GitError> {
        let head = self.head_tree()?;
        Ok(unified_diff_with_modes(changes, |path| {
            head.get_path(Path::new(path))
                .ok()
                .map(|entry| entry.filemode() as u32)
        }))
    }

    /// Lands `changes` (from a complete [`crate::edit::EditOutcome`]) as described in the
    /// module docs. `intent` and `run_id` build the commit message.
    pub fn land(
        &self,
        changes: &[FileChange],
        intent: &CommitIntent,
        run_id: &str,
        options: &LandOptions,
    ) -> Result<Landed, GitError> {
        self.land_with_message(changes, intent, run_id, options, None)
    }

    /// Like [`land`](Self::land), with the commit message the reviewer wrote instead of the
    /// generated one. The reviewer's words are kept as written; only the generated trailers it
    /// lacks (`Plan:`, `Refs:`, `Aidx-Run:`) are appended, so `aidx undo` still knows the commit.
    /// An empty message means the generated one.
    pub fn land_with_message(
        &self,
        changes: &[FileChange],
        intent: &CommitIntent,
        run_id: &str,
        options: &LandOptions,
        message: Option<&str>,
    ) -> Result<Landed, GitError> {
        let changes = self.normalize(changes)?;
        let paths: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
        for change in &changes {
            let now = self
                .read_for_edit(&change.path)
                .map_err(|e| GitError::io(format!("reading {}", change.path), e))?;
            if now != change.before {
                return Err(GitError::StaleContent {
                    path: change.path.clone(),
                });
            }
        }

        let dirty = self.dirty_paths(&paths)?;
        let user_commit = if dirty.is_empty() {
            None
        } else if options.dirty_commits {
            Some(self.commit_user_changes(&dirty)?)
        } else {
            return Err(GitError::DirtyFiles { paths: dirty });
        };

        let diff_text = self.diff_of(&changes)?;
        if diff_text.is_empty() {
            return Ok(Landed {
                diff: diff_text,
                paths: Vec::new(),
                user_commit,
                commit: None,
                message: None,
            });
        }
        let diff = Diff::from_buffer(diff_text.as_bytes())?;
        let base = self.head_tree()?;
        let result = self.repo.apply_to_tree(&base, &diff, None)?;
        let mut outputs = Vec::with_capacity(changes.len());
        for change in &changes {
            let entry = result.get_path(Path::new(&change.path), 0).ok_or_else(|| {
                GitError::DiffMismatch {
                    path: change.path.clone(),
                }
            })?;
            let blob = self.repo.find_blob(entry.id)?;
            if blob.content() != change.after.as_bytes() {
                return Err(GitError::DiffMismatch {
                    path: change.path.clone(),
                });
            }
            outputs.push((
                change.path.clone(),
                blob.content().to_vec(),
                entry.mode == 0o100755,
            ));
        }

        let generated = CommitMessage::build(intent, &changes, run_id).render();
        let message = match message.map(str::trim).filter(|m| !m.is_empty()) {
            Some(own) => with_trailers_of(own, &generated),
            None => {
                validate_commit_message(&generated, Some(&paths))
                    .map_err(GitError::InvalidMessage)?;
                generated
            }
        };

        if interrupt::interrupted() {
            return Err(GitError::Interrupted);
        }
        for (path, content, executable) in &outputs {
            write_atomic(&self.absolute(path), content, *executable)?;
        }
        self.repo.apply(&diff, ApplyLocation::Index, None)?;
        tracing::info!(
            files = paths.len(),
            "edits applied to the work tree and index"
        );

        let commit = if options.auto_commits {
            let signature = aidx_signature(&self.repo)?;
            Some(self.commit_paths(&paths, &message, &signature)?)
        } else {
            None
        };
        Ok(Landed {
            diff: diff_text,
            paths,
            user_commit,
            commit,
            message: Some(message),
        })
    }

    /// Takes back landed but uncommitted `changes` (checks failed and the Editor gets another
    /// try): each file gets its `before` content again (removed when it was created), written
    /// atomically, and its index entry HEAD's again. Refuses, like landing, when a file no longer
    /// holds what was landed, so nothing typed since is lost.
    pub fn unland(&self, changes: &[FileChange]) -> Result<(), GitError> {
        let changes = self.normalize(changes)?;
        for change in &changes {
            let now = self
                .read_for_edit(&change.path)
                .map_err(|e| GitError::io(format!("reading {}", change.path), e))?;
            if now.as_deref() != Some(change.after.as_str()) {
                return Err(GitError::StaleContent {
                    path: change.path.clone(),
                });
            }
        }
        for change in &changes {
            let absolute = self.absolute(&change.path);
            match &change.before {
                Some(text) => {
                    let executable = executable_on_disk(&absolute);
                    write_atomic(&absolute, text.as_bytes(), executable)?;
                }
                None => remove_file(&absolute)?,
            }
        }
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        match self.head_commit()? {
            Some(head) => self
                .repo
                .reset_default(Some(head.as_object()), paths.iter())?,
            None => {
                let mut index = self.repo.index()?;
                for path in &paths {
                    if index.get_path(Path::new(path), 0).is_some() {
                        index.remove_path(Path::new(path))?;
                    }
                }
                index.write()?;
            }
        }
        Ok(())
    }

    /// Writes `content` to the work tree only (atomically, keeping the executable bit), leaving
    /// the index and HEAD as they are: how hunks the reviewer rejected but chose to keep stay
    /// in the working tree, unstaged, after the accepted ones are committed.
    pub fn write_unstaged(&self, path: &str, content: &str) -> Result<(), GitError> {
        let path = self.check_path(path)?;
        let absolute = self.absolute(&path);
        let executable = executable_on_disk(&absolute);
        write_atomic(&absolute, content.as_bytes(), executable)
    }

    /// Checks and normalizes every path; merges nothing (paths must be distinct).
    fn normalize(&self, changes: &[FileChange]) -> Result<Vec<FileChange>, GitError> {
        changes
            .iter()
            .map(|c| {
                Ok(FileChange {
                    path: self.check_path(&c.path)?,
                    before: c.before.clone(),
                    after: c.after.clone(),
                })
            })
            .collect()
    }

    /// HEAD's tree, or the empty tree in a repository without commits.
    pub(crate) fn head_tree(&self) -> Result<git2::Tree<'_>, GitError> {
        match self.repo.head() {
            Ok(head) => Ok(head.peel_to_tree()?),
            Err(e)
                if e.code() == git2::ErrorCode::UnbornBranch
                    || e.code() == git2::ErrorCode::NotFound =>
            {
                let empty = self.repo.treebuilder(None)?.write()?;
                Ok(self.repo.find_tree(empty)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn head_commit(&self) -> Result<Option<git2::Commit<'_>>, GitError> {
        match self.repo.head() {
            Ok(head) => Ok(Some(head.peel_to_commit()?)),
            Err(e)
                if e.code() == git2::ErrorCode::UnbornBranch
                    || e.code() == git2::ErrorCode::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Commits the user's current content of `paths` under the user's identity, so the edits
    /// that follow never overwrite uncommitted work.
    fn commit_user_changes(&self, paths: &[String]) -> Result<Oid, GitError> {
        let mut index = self.repo.index()?;
        let head_tree = self.head_tree()?;
        let mut bullets = String::new();
        for path in paths {
            let on_disk = self.absolute(path).exists();
            let in_head = head_tree.get_path(Path::new(path)).is_ok();
            let verb = match (in_head, on_disk) {
                (false, _) => "Created",
                (true, false) => "Deleted",
                (true, true) => "Updated",
            };
            if on_disk {
                index.add_path(Path::new(path))?;
            } else {
                index.remove_path(Path::new(path))?;
            }
            bullets.push_str(&format!(
                "- {verb}: `{path}` — uncommitted changes saved before aidx edits this file\n"
            ));
        }
        index.write()?;
        let message = format!("chore: save uncommitted changes before aidx edits\n\n{bullets}");
        let signature = user_signature(&self.repo)?;
        let oid = self.commit_paths(paths, &message, &signature)?;
        tracing::info!(%oid, files = paths.len(), "committed the user's uncommitted changes first");
        Ok(oid)
    }

    /// Commits HEAD's tree plus the index entries of `paths` only; other staged changes stay
    /// staged and out of the commit.
    fn commit_paths(
        &self,
        paths: &[String],
        message: &str,
        signature: &Signature<'_>,
    ) -> Result<Oid, GitError> {
        let repo_index = self.repo.index()?;
        let parent = self.head_commit()?;
        let mut tree_index = git2::Index::new()?;
        if let Some(parent) = &parent {
            tree_index.read_tree(&parent.tree()?)?;
        }
        for path in paths {
            match repo_index.get_path(Path::new(path), 0) {
                Some(entry) => tree_index.add(&entry)?,
                None => {
                    if tree_index.get_path(Path::new(path), 0).is_some() {
                        tree_index.remove_path(Path::new(path))?;
                    }
                }
            }
        }
        let tree = self.repo.find_tree(tree_index.write_tree_to(&self.repo)?)?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        Ok(self
            .repo
            .commit(Some("HEAD"), signature, signature, message, &tree, &parents)?)
    }

    /// Removes a file from the work tree and index (used by undo).
    pub(crate) fn remove_tracked(
        &self,
        index: &mut git2::Index,
        path: &str,
    ) -> Result<(), GitError> {
        remove_file(&self.absolute(path))?;
        if index.get_path(Path::new(path), 0).is_some() {
            index.remove_path(Path::new(path))?;
        }
        Ok(())
    }
}

/// The user's identity from git config, or a placeholder when none is configured.
fn user_signature(repo: &git2::Repository) -> Result<Signature<'static>, GitError> {
    match repo.signature() {
        Ok(sig) => Ok(sig),
        Err(_) => Ok(Signature::now("aidx user", "aidx-user@localhost")?),
    }
}

/// aidx commits keep the user as author (it is their repository) and fall back to `aidx`.
fn aidx_signature(repo: &git2::Repository) -> Result<Signature<'static>, GitError> {
    match repo.signature() {
        Ok(sig) => Ok(sig),
        Err(_) => Ok(Signature::now("aidx", "aidx@localhost")?),
    }
}

/// Whether the file at `path` has an executable bit (false when absent or not on Unix).
fn executable_on_disk(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// `own` followed by the trailers of `generated` that `own` does not already carry.
fn with_trailers_of(own: &str, generated: &str) -> String {
    let own_trailers = git2::message_trailers_strs(own).ok();
    let has = |key: &str| {
        own_trailers
            .as_ref()
            .is_some_and(|t| t.iter().any(|(k, _)| k == key))
    };
    let mut missing = String::new();
    if let Ok(trailers) = git2::message_trailers_strs(generated) {
        for (key, value) in trailers.iter() {
            if !has(key) {
                missing.push_str(&format!("{key}: {value}\n"));
            }
        }
    }
    let mut out = own.trim_end().to_string();
    out.push('\n');
    if !missing.is_empty() {
        // Appended to the reviewer's own trailer block when it has one, else as a new paragraph.
        if own_trailers.as_ref().is_none_or(|t| t.len() == 0) {
            out.push('\n');
        }
        out.push_str(&missing);
    }
    out
}
