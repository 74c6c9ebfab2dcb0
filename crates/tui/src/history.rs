//! What interactive mode keeps in the repository's `.aidx/` folder: the input history (one line
//! per entry, newest last) and a markdown transcript of the conversation.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::entry::{Entry, Who};

/// Most input lines kept.
const MAX_HISTORY: usize = 1000;

/// Input lines, walked with up/down, persisted per repository.
#[derive(Debug, Default)]
pub struct InputHistory {
    entries: Vec<String>,
    /// Position while walking (`None`: at the fresh line).
    pos: Option<usize>,
    /// The line being typed before walking started.
    draft: String,
    path: Option<PathBuf>,
}

impl InputHistory {
    /// An in-memory history (tests).
    pub fn in_memory(entries: &[&str]) -> Self {
        InputHistory {
            entries: entries.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// The history stored at `path` (missing or unreadable: empty, and saved there from now on).
    pub fn load(path: &Path) -> Self {
        let entries = std::fs::read_to_string(path)
            .map(|text| {
                text.lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| l.replace("\\n", "\n").replace("\\\\", "\\"))
                    .collect()
            })
            .unwrap_or_default();
        InputHistory {
            entries,
            path: Some(path.to_path_buf()),
            ..Default::default()
        }
    }

    /// Adds `line` (not twice in a row) and appends it to the file.
    pub fn push(&mut self, line: &str) {
        self.pos = None;
        self.draft.clear();
        if line.is_empty() || self.entries.last().is_some_and(|l| l == line) {
            return;
        }
        self.entries.push(line.to_string());
        if self.entries.len() > MAX_HISTORY {
            self.entries.remove(0);
        }
        if let Some(path) = &self.path {
            let escaped = line.replace('\\', "\\\\").replace('\n', "\\n");
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(file, "{escaped}");
            }
        }
    }

    /// The previous (older) entry; `current` is kept to come back to.
    pub fn older(&mut self, current: &str) -> Option<String> {
        let next = match self.pos {
            None => {
                self.draft = current.to_string();
                self.entries.len().checked_sub(1)?
            }
            Some(0) => return None,
            Some(p) => p - 1,
        };
        self.pos = Some(next);
        self.entries.get(next).cloned()
    }

    /// The next (newer) entry, or the draft past the newest.
    pub fn newer(&mut self) -> Option<String> {
        let p = self.pos?;
        if p + 1 < self.entries.len() {
            self.pos = Some(p + 1);
            self.entries.get(p + 1).cloned()
        } else {
            self.pos = None;
            Some(std::mem::take(&mut self.draft))
        }
    }
}

/// The conversation, appended to a markdown file as it happens.
#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
}

impl Transcript {
    /// A transcript at `path`, opened with a session heading stamped `when`.
    pub fn open(path: &Path, when: &str) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(file, "\n# aidx session {when}\n")?;
        Ok(Transcript {
            path: path.to_path_buf(),
        })
    }

    /// Appends one entry.
    pub fn append(&mut self, entry: &Entry) {
        let heading = match entry.who {
            Who::User => "#### you".to_string(),
            Who::Role(speaker) => format!("#### {speaker}"),
            Who::System => "#### aidx".to_string(),
            Who::Error => "#### error".to_string(),
        };
        if let Ok(mut file) = OpenOptions::new().append(true).open(&self.path) {
            let _ = writeln!(file, "{heading}\n\n{}\n", entry.text.trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_back_and_forth_and_keeps_the_draft() {
        let mut h = InputHistory::in_memory(&["one", "two"]);
        assert_eq!(h.older("dra").as_deref(), Some("two"));
        assert_eq!(h.older("two").as_deref(), Some("one"));
        assert_eq!(h.older("one"), None);
        assert_eq!(h.newer().as_deref(), Some("two"));
        assert_eq!(h.newer().as_deref(), Some("dra"));
        assert_eq!(h.newer(), None);
    }

    #[test]
    fn persists_per_file_with_newlines_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".aidx/history");
        let mut h = InputHistory::load(&path);
        h.push("first");
        h.push("multi\nline \\ back");
        h.push("multi\nline \\ back");
        let mut again = InputHistory::load(&path);
        assert_eq!(again.older("").as_deref(), Some("multi\nline \\ back"));
        assert_eq!(again.older("").as_deref(), Some("first"));
    }
}
