//! Committing edits that were landed staged (the Validate step runs between landing and
//! committing).

use std::path::Path;

use git2::{Oid, Signature};

use crate::git::{EditRepo, GitError};

/// Commits HEAD's tree plus the index entries of `paths` with `message`, under the user's
/// identity (or `aidx`). Other staged changes stay staged and out of the commit, as in
/// [`EditRepo::land`].
pub fn commit_staged(repo: &EditRepo, paths: &[String], message: &str) -> Result<Oid, GitError> {
    let git = repo.repository();
    let index = git.index()?;
    let parent = match git.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(e)
            if e.code() == git2::ErrorCode::UnbornBranch
                || e.code() == git2::ErrorCode::NotFound =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };
    let mut tree_index = git2::Index::new()?;
    if let Some(parent) = &parent {
        tree_index.read_tree(&parent.tree()?)?;
    }
    for path in paths {
        match index.get_path(Path::new(path), 0) {
            Some(entry) => tree_index.add(&entry)?,
            None => {
                if tree_index.get_path(Path::new(path), 0).is_some() {
                    tree_index.remove_path(Path::new(path))?;
                }
            }
        }
    }
    let tree = git.find_tree(tree_index.write_tree_to(git)?)?;
    let signature = match git.signature() {
        Ok(sig) => sig,
        Err(_) => Signature::now("aidx", "aidx@localhost")?,
    };
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    Ok(git.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &parents,
    )?)
}
