//! [`EditRepo`]: a git work tree opened for editing.

use std::path::{Path, PathBuf};

use git2::Repository;

use super::error::GitError;
use super::paths::{PathError, PathGuard};

/// A git repository with a work tree, opened for aidx edits.
pub struct EditRepo {
    pub(crate) repo: Repository,
    pub(crate) guard: PathGuard,
}

impl EditRepo {
    /// Opens the repository containing `start` (searching parent directories).
    pub fn discover(start: &Path) -> Result<Self, GitError> {
        let repo = Repository::discover(start).map_err(|_| GitError::NotARepository {
            path: start.display().to_string(),
        })?;
        Self::from_repository(repo)
    }

    /// Wraps an opened repository.
    pub fn from_repository(repo: Repository) -> Result<Self, GitError> {
        let workdir = repo
            .workdir()
            .ok_or(GitError::BareRepository)?
            .to_path_buf();
        let guard = PathGuard::new(&workdir);
        Ok(EditRepo { repo, guard })
    }

    /// The underlying git2 repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The work tree root (canonical).
    pub fn root(&self) -> &Path {
        self.guard.root()
    }

    /// Checks that `path` may be edited and returns its normalized repository-relative form.
    pub fn check_path(&self, path: &str) -> Result<String, PathError> {
        self.guard.check(&self.repo, path)
    }

    /// The absolute location of a checked relative path.
    pub(crate) fn absolute(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// Reads a file for editing: `Ok(None)` when it does not exist, an error of kind
    /// `PermissionDenied` when the path is refused (see [`check_path`](Self::check_path)).
    /// Suitable as the reader of [`crate::edit::plan_edits`].
    pub fn read_for_edit(&self, path: &str) -> std::io::Result<Option<String>> {
        let relative = self.check_path(path).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string())
        })?;
        match std::fs::read(self.absolute(&relative)) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{relative} is not UTF-8 text"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Paths among `paths` whose work tree or index differs from HEAD (untracked files
    /// included), i.e. that hold changes the user has not committed.
    pub fn dirty_paths(&self, paths: &[String]) -> Result<Vec<String>, GitError> {
        let mut dirty = Vec::new();
        for path in paths {
            let status = match self.repo.status_file(Path::new(path)) {
                Ok(status) => status,
                Err(e) if e.code() == git2::ErrorCode::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if !status.is_empty() && !status.contains(git2::Status::IGNORED) {
                dirty.push(path.clone());
            }
        }
        Ok(dirty)
    }
}
