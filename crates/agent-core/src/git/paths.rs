//! Which paths aidx may edit.
//!
//! A path must be relative, stay inside the work tree without `..`, not go through a symlink,
//! not be inside `.git`, and not be ignored by `.gitignore` (unless already tracked) or by
//! `.aidxignore` (always).

use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use thiserror::Error;

/// The per-repository file listing paths aidx must never edit (gitignore syntax).
pub const AIDXIGNORE: &str = ".aidxignore";

/// Why a path is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Empty path.
    #[error("an empty path cannot be edited")]
    Empty,
    /// Absolute path.
    #[error("`{0}` is absolute: edits take paths relative to the repository root")]
    Absolute(String),
    /// `..` component.
    #[error("`{0}` contains `..`: edits must stay inside the repository")]
    ParentTraversal(String),
    /// Inside `.git`.
    #[error("`{0}` is inside .git: aidx never edits git's own files")]
    GitDir(String),
    /// Goes through a symlink.
    #[error("`{path}` goes through the symlink `{link}`{}: edit the real file instead", escape_note(.escapes))]
    Symlink {
        /// The requested path.
        path: String,
        /// The symlink on the way.
        link: String,
        /// Whether the link resolves outside the work tree.
        escapes: bool,
    },
    /// Ignored by .gitignore and untracked.
    #[error("`{0}` is ignored by .gitignore: aidx does not create or edit ignored files")]
    GitIgnored(String),
    /// Ignored by .aidxignore.
    #[error("`{0}` is listed in .aidxignore: remove it there to let aidx edit it")]
    AidxIgnored(String),
}

/// The paths rules for one work tree.
pub(crate) struct PathGuard {
    root: PathBuf,
    aidxignore: Gitignore,
}

impl PathGuard {
    /// Reads `.aidxignore` at the root of `workdir` (a missing file ignores nothing).
    pub(crate) fn new(workdir: &Path) -> Self {
        let root = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        let mut builder = GitignoreBuilder::new(&root);
        let file = root.join(AIDXIGNORE);
        if file.exists()
            && let Some(err) = builder.add(&file)
        {
            tracing::warn!(error = %err, "part of .aidxignore could not be read");
        }
        let aidxignore = builder.build().unwrap_or_else(|err| {
            tracing::warn!(error = %err, ".aidxignore is invalid; ignoring it");
            Gitignore::empty()
        });
        PathGuard { root, aidxignore }
    }

    /// The canonical work tree root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Checks `path` and returns its normalized relative form (forward slashes, no `./`).
    pub(crate) fn check(&self, repo: &git2::Repository, path: &str) -> Result<String, PathError> {
        let relative = lexical_check(path)?;
        self.check_symlinks(path, &relative)?;
        if self
            .aidxignore
            .matched_path_or_any_parents(&relative, false)
            .is_ignore()
        {
            return Err(PathError::AidxIgnored(relative));
        }
        let tracked = repo
            .index()
            .ok()
            .and_then(|index| index.get_path(Path::new(&relative), 0))
            .is_some();
        if !tracked && repo.is_path_ignored(&relative).unwrap_or(false) {
            return Err(PathError::GitIgnored(relative));
        }
        Ok(relative)
    }

    /// Refuses a path if any existing component (the file included) is a symlink.
    fn check_symlinks(&self, original: &str, relative: &str) -> Result<(), PathError> {
        let mut current = self.root.clone();
        for part in relative.split('/') {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let escapes = match current.canonicalize() {
                        Ok(target) => !target.starts_with(&self.root),
                        Err(_) => true,
                    };
                    let link = current
                        .strip_prefix(&self.root)
                        .unwrap_or(&current)
                        .to_string_lossy()
                        .into_owned();
                    return Err(PathError::Symlink {
                        path: original.to_string(),
                        link,
                        escapes,
                    });
                }
                Ok(_) => {}
                Err(_) => break, // the rest does not exist yet
            }
        }
        Ok(())
    }
}

/// Checks the path text alone and normalizes it.
fn lexical_check(path: &str) -> Result<String, PathError> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err(PathError::Empty);
    }
    let unified = trimmed.replace('\\', "/");
    let as_path = Path::new(&unified);
    if as_path.is_absolute() || unified.starts_with('/') || has_drive_prefix(&unified) {
        return Err(PathError::Absolute(path.to_string()));
    }
    let mut parts = Vec::new();
    for component in as_path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err(PathError::ParentTraversal(path.to_string())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(PathError::Absolute(path.to_string()));
            }
        }
    }
    if parts.is_empty() {
        return Err(PathError::Empty);
    }
    if parts[0] == ".git" {
        return Err(PathError::GitDir(path.to_string()));
    }
    Ok(parts.join("/"))
}

fn escape_note(escapes: &bool) -> &'static str {
    if *escapes {
        " that points outside the repository"
    } else {
        ""
    }
}

fn has_drive_prefix(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_rules() {
        assert_eq!(lexical_check("./src//a.rs").unwrap(), "src/a.rs");
        assert!(matches!(
            lexical_check("../x"),
            Err(PathError::ParentTraversal(_))
        ));
        assert!(matches!(
            lexical_check("src/../../x"),
            Err(PathError::ParentTraversal(_))
        ));
        assert!(matches!(
            lexical_check("/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            lexical_check("C:\\x"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            lexical_check(".git/config"),
            Err(PathError::GitDir(_))
        ));
        assert!(matches!(lexical_check("  "), Err(PathError::Empty)));
    }
}
