//! Temporary git repositories for the git integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use git2::{Repository, Signature};
use tempfile::TempDir;

/// A temporary repository with one commit holding `files`.
pub struct TestRepo {
    pub dir: TempDir,
    pub repo: Repository,
}

impl TestRepo {
    pub fn with_files(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("git init");
        {
            let mut config = repo.config().expect("config");
            config.set_str("user.name", "Test User").unwrap();
            config
                .set_str("user.email", "test@example.invalid")
                .unwrap();
        }
        let test = TestRepo { dir, repo };
        for (path, content) in files {
            test.write(path, content);
        }
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        test.commit_all(&paths, "chore: initial commit");
        test
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Stages `paths` and commits them like a user would.
    pub fn commit_all(&self, paths: &[&str], message: &str) -> git2::Oid {
        let mut index = self.repo.index().unwrap();
        for p in paths {
            index.add_path(Path::new(p)).unwrap();
        }
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("Test User", "test@example.invalid").unwrap();
        let parents: Vec<git2::Commit> = match self.repo.head() {
            Ok(h) => vec![h.peel_to_commit().unwrap()],
            Err(_) => vec![],
        };
        let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parent_refs)
            .unwrap()
    }

    pub fn head(&self) -> git2::Commit<'_> {
        self.repo.head().unwrap().peel_to_commit().unwrap()
    }

    pub fn head_file(&self, rel: &str) -> Option<String> {
        let tree = self.head().tree().unwrap();
        let entry = tree.get_path(Path::new(rel)).ok()?;
        let blob = self.repo.find_blob(entry.id()).unwrap();
        Some(String::from_utf8(blob.content().to_vec()).unwrap())
    }

    pub fn commit_count(&self) -> usize {
        let mut walk = self.repo.revwalk().unwrap();
        walk.push_head().unwrap();
        walk.count()
    }

    /// Paths whose status is not clean.
    pub fn dirty(&self) -> Vec<String> {
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true);
        self.repo
            .statuses(Some(&mut opts))
            .unwrap()
            .iter()
            .filter(|e| !e.status().is_empty())
            .map(|e| e.path().unwrap().to_string())
            .collect()
    }
}
