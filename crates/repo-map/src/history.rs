//! The repository's own history as a ranking signal: which files changed recently and often, and
//! which change together with the files a request is about. aider's map does not use it.
//!
//! [`HistoryReader`] walks commits with git2 and remembers each commit's changed paths, so moving
//! to a nearby commit (after a commit in a session, or case after case in the replay benchmark)
//! diffs only the commits it has not seen. A [`History`] covers the last commits reachable from one
//! commit and nothing after it: the replay benchmark builds it at each case's parent, so the commit
//! being replayed never reaches the ranking.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use git2::{DiffOptions, Oid, Repository};

/// How many commits a history covers by default.
pub const DEFAULT_HISTORY_COMMITS: usize = 500;

/// Commits that change more files than this (mass renames, formatting, vendoring) say nothing
/// about which files belong together, and are left out.
const MAX_FILES_PER_COMMIT: usize = 30;

/// Reads commits' changed paths from a repository, remembering each commit it has diffed.
pub struct HistoryReader {
    repo: Repository,
    changed: HashMap<Oid, Arc<Vec<String>>>,
}

impl HistoryReader {
    /// Opens the repository at (or above) `path`; bare repositories work too.
    pub fn open(path: &Path) -> Result<Self, git2::Error> {
        Ok(Self {
            repo: Repository::discover(path)?,
            changed: HashMap::new(),
        })
    }

    /// The last `max_commits` non-merge commits reachable from `start` (a revision such as `HEAD`
    /// or a commit id), newest first, with the files each changed.
    pub fn history(&mut self, start: &str, max_commits: usize) -> Result<History, git2::Error> {
        let start = self.repo.revparse_single(start)?.peel_to_commit()?.id();
        let mut walk = self.repo.revwalk()?;
        walk.push(start)?;
        walk.simplify_first_parent()?;
        let mut commits = Vec::new();
        for oid in walk {
            if commits.len() == max_commits {
                break;
            }
            let oid = oid?;
            let paths = match self.changed.get(&oid) {
                Some(paths) => paths.clone(),
                None => {
                    let paths = Arc::new(self.changed_paths(oid)?);
                    self.changed.insert(oid, paths.clone());
                    paths
                }
            };
            if !paths.is_empty() && paths.len() <= MAX_FILES_PER_COMMIT {
                commits.push(paths);
            }
        }
        Ok(History::from_commits(commits))
    }

    /// The tracked files with uncommitted changes (staged or not, new files added to the index
    /// included; untracked and ignored files left out), relative to the work tree. Empty for a
    /// bare repository.
    pub fn working_files(&self) -> Result<Vec<String>, git2::Error> {
        if self.repo.is_bare() {
            return Ok(Vec::new());
        }
        let mut options = git2::StatusOptions::new();
        options.include_untracked(false).include_ignored(false);
        let changed = git2::Status::INDEX_NEW
            | git2::Status::INDEX_MODIFIED
            | git2::Status::INDEX_RENAMED
            | git2::Status::INDEX_TYPECHANGE
            | git2::Status::WT_MODIFIED
            | git2::Status::WT_RENAMED
            | git2::Status::WT_TYPECHANGE;
        let statuses = self.repo.statuses(Some(&mut options))?;
        let mut files: Vec<String> = statuses
            .iter()
            .filter(|e| e.status().intersects(changed))
            .filter_map(|e| e.path().ok().map(str::to_string))
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// The paths a commit changed against its first parent (none for merges).
    fn changed_paths(&self, oid: Oid) -> Result<Vec<String>, git2::Error> {
        let commit = self.repo.find_commit(oid)?;
        if commit.parent_count() > 1 {
            return Ok(Vec::new());
        }
        let tree = commit.tree()?;
        let parent = match commit.parent(0) {
            Ok(p) => Some(p.tree()?),
            Err(_) => None,
        };
        let mut options = DiffOptions::new();
        options.skip_binary_check(true);
        let diff = self
            .repo
            .diff_tree_to_tree(parent.as_ref(), Some(&tree), Some(&mut options))?;
        Ok(diff
            .deltas()
            .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()))
            .filter_map(|p| p.to_str().map(str::to_string))
            .collect())
    }
}

/// Recent commits' changed files, newest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Each commit's changed paths.
    commits: Vec<Arc<Vec<String>>>,
    /// Per path, the commits (indices into `commits`) that changed it.
    by_path: HashMap<String, Vec<usize>>,
}

impl History {
    /// A history from commits' changed paths, newest first (for tests and callers with their own
    /// source of history).
    pub fn from_commits(commits: Vec<Arc<Vec<String>>>) -> Self {
        let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, paths) in commits.iter().enumerate() {
            for p in paths.iter() {
                by_path.entry(p.clone()).or_default().push(i);
            }
        }
        Self { commits, by_path }
    }

    /// Whether the history holds no commit.
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// How recently and how often each path changed, in `[0, 1]` (1 for the most): each commit
    /// that changed it counts `1 / (1 + age / 50)`, age in commits from the newest.
    pub fn recency(&self, paths: &[&str]) -> Vec<f64> {
        let mut scores: Vec<f64> = paths
            .iter()
            .map(|p| {
                self.by_path.get(*p).map_or(0.0, |commits| {
                    commits
                        .iter()
                        .map(|&age| 1.0 / (1.0 + age as f64 / 50.0))
                        .fold(0.0, |a, b| a + b)
                })
            })
            .collect();
        normalize(&mut scores);
        scores
    }

    /// How strongly each path changes together with the `seeds` (weighted paths), in `[0, 1]`:
    /// each commit that changed the path and a seed adds the seed's weight divided by the
    /// commit's size. A seed itself scores nothing from this.
    pub fn co_change(&self, paths: &[&str], seeds: &[(&str, f64)]) -> Vec<f64> {
        let mut by_commit: HashMap<usize, f64> = HashMap::new();
        for &(seed, weight) in seeds {
            if let Some(commits) = self.by_path.get(seed) {
                for &c in commits {
                    *by_commit.entry(c).or_default() += weight / self.commits[c].len() as f64;
                }
            }
        }
        let mut scores: Vec<f64> = paths
            .iter()
            .map(|p| {
                if seeds.iter().any(|(s, _)| s == p) {
                    return 0.0;
                }
                self.by_path.get(*p).map_or(0.0, |commits| {
                    commits
                        .iter()
                        .filter_map(|c| by_commit.get(c))
                        .fold(0.0, |a, b| a + b)
                })
            })
            .collect();
        normalize(&mut scores);
        scores
    }
}

fn normalize(scores: &mut [f64]) {
    let best = scores.iter().copied().fold(0.0, f64::max);
    if best > 0.0 {
        scores.iter_mut().for_each(|s| *s /= best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(commits: &[&[&str]]) -> History {
        History::from_commits(
            commits
                .iter()
                .map(|c| Arc::new(c.iter().map(|p| p.to_string()).collect()))
                .collect(),
        )
    }

    #[test]
    fn recent_and_frequent_changes_score_highest() {
        let h = history(&[&["a.rs"], &["a.rs", "b.rs"], &["c.rs"]]);
        let s = h.recency(&["a.rs", "b.rs", "c.rs", "d.rs"]);
        assert_eq!(s[0], 1.0);
        assert!(s[1] > s[2], "newer beats older: {s:?}");
        assert_eq!(s[3], 0.0);
    }

    #[test]
    fn files_that_change_with_the_seeds_score() {
        let h = history(&[
            &["api.rs", "api_types.rs"],
            &["api.rs", "api_types.rs"],
            &["other.rs", "api.rs", "x.rs", "y.rs"],
        ]);
        let s = h.co_change(
            &["api.rs", "api_types.rs", "other.rs", "z.rs"],
            &[("api.rs", 1.0)],
        );
        assert_eq!(s[0], 0.0, "the seed itself");
        assert_eq!(s[1], 1.0);
        assert!(s[2] > 0.0 && s[2] < 0.5, "{s:?}");
        assert_eq!(s[3], 0.0);
    }
}
