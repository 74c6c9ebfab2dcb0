//! What an interactive session shows and does about the repository itself: the branch, the
//! files with uncommitted changes, the tracked files (for completion), and committing the
//! user's own changes (`/commit`).

use std::path::Path;

use super::error::GitError;
use super::repo::EditRepo;

/// The branch and how many paths have uncommitted changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoStatus {
    /// The current branch's short name, or `HEAD` when detached, `(no commits)` when unborn.
    pub branch: String,
    /// Paths whose work tree or index differs from HEAD (untracked included, ignored not).
    pub dirty: Vec<String>,
}

impl EditRepo {
    /// The branch and the dirty paths.
    pub fn status(&self) -> Result<RepoStatus, GitError> {
        let repo = self.repository();
        let branch = match repo.head() {
            Ok(head) if head.is_branch() => head.shorthand().unwrap_or("HEAD").to_string(),
            Ok(_) => "HEAD".to_string(),
            Err(_) => "(no commits)".to_string(),
        };
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(false);
        let dirty = repo
            .statuses(Some(&mut options))?
            .iter()
            .filter(|e| !e.status().is_empty() && !e.status().contains(git2::Status::IGNORED))
            .filter_map(|e| e.path().ok().map(str::to_string))
            .collect();
        Ok(RepoStatus { branch, dirty })
    }

    /// The paths in the index, sorted.
    pub fn tracked_files(&self) -> Result<Vec<String>, GitError> {
        let index = self.repository().index()?;
        let mut files: Vec<String> = index
            .iter()
            .filter_map(|e| String::from_utf8(e.path).ok())
            .collect();
        files.sort();
        Ok(files)
    }

    /// Commits every change to tracked files (modified, deleted, or staged) under the user's
    /// identity, as `git commit -a` would; untracked files stay out. `None` when nothing changed.
    pub fn commit_tracked_changes(
        &self,
        message: Option<&str>,
    ) -> Result<Option<git2::Oid>, GitError> {
        let repo = self.repository();
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false);
        let changed: Vec<String> = repo
            .statuses(Some(&mut options))?
            .iter()
            .filter(|e| !e.status().is_empty())
            .filter_map(|e| e.path().ok().map(str::to_string))
            .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        let mut index = repo.index()?;
        for path in &changed {
            if self.root().join(path).exists() {
                index.add_path(Path::new(path))?;
            } else if index.get_path(Path::new(path), 0).is_some() {
                index.remove_path(Path::new(path))?;
            }
        }
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let signature = match repo.signature() {
            Ok(sig) => sig,
            Err(_) => git2::Signature::now("aidx user", "aidx-user@localhost")?,
        };
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let default = format!(
            "chore: commit uncommitted changes\n\n{}",
            changed
                .iter()
                .map(|p| format!("- {p}\n"))
                .collect::<String>()
        );
        let message = message
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .unwrap_or(default);
        let oid = repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            &message,
            &tree,
            &parents,
        )?;
        Ok(Some(oid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_commit_of_tracked_changes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("a.txt")).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@localhost").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[])
            .unwrap();
        let edit = EditRepo::discover(dir.path()).unwrap();
        assert!(edit.status().unwrap().dirty.is_empty());
        assert_eq!(edit.tracked_files().unwrap(), vec!["a.txt".to_string()]);

        std::fs::write(dir.path().join("a.txt"), "b\n").unwrap();
        std::fs::write(dir.path().join("new.txt"), "n\n").unwrap();
        let status = edit.status().unwrap();
        assert_eq!(status.dirty.len(), 2);
        let oid = edit.commit_tracked_changes(None).unwrap().unwrap();
        let commit = edit.repository().find_commit(oid).unwrap();
        assert!(
            commit
                .message()
                .unwrap()
                .starts_with("chore: commit uncommitted")
        );
        assert_eq!(edit.status().unwrap().dirty, vec!["new.txt".to_string()]);
        assert_eq!(edit.commit_tracked_changes(None).unwrap(), None);
    }
}
