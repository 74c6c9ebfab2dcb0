//! The Researcher: the tree-sitter repo map behind the pipeline's [`Researcher`] trait.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aidx_repo_map::{Cl100kCounter, DEFAULT_HISTORY_COMMITS, HistoryReader, MapOptions, RepoMap};

use crate::config::Config;
use crate::pipeline::{Research, Researcher, RoleError};

/// The repo map of one repository, kept across requests (its cache makes later calls cheap).
pub struct RepoMapResearcher {
    map: RepoMap,
    /// The repository's history (recent and co-changed files rank up); `None` outside git.
    history: Option<HistoryReader>,
}

impl RepoMapResearcher {
    /// A repo map over `root` with the configured token cap and file-size limit.
    pub fn new(root: &Path, config: &Config) -> Result<RepoMapResearcher, RoleError> {
        let options = MapOptions {
            map_tokens: config.map_tokens,
            max_file_bytes: config.map_max_file_bytes,
            counter: Arc::new(Cl100kCounter),
            ..MapOptions::default()
        };
        let map = RepoMap::new(root, options).map_err(|e| RoleError::Unavailable {
            role: "researcher".into(),
            reason: e.to_string(),
        })?;
        let history = HistoryReader::open(root).ok();
        Ok(RepoMapResearcher { map, history })
    }
}

impl Researcher for RepoMapResearcher {
    fn research(&mut self, request: &str, chat_files: &[PathBuf]) -> Result<Research, RoleError> {
        // Up to HEAD as it is now (it moves as the session commits); each commit is diffed once.
        // A repository without commits ranks without history.
        if let Some(reader) = &mut self.history {
            match reader.history("HEAD", DEFAULT_HISTORY_COMMITS) {
                Ok(history) => self.map.set_history(Some(history)),
                Err(e) => {
                    tracing::debug!("ranking without history: {e}");
                    self.map.set_history(None);
                }
            }
            // The user's uncommitted work seeds the ranking (what changes with it ranks up).
            self.map
                .set_working_files(reader.working_files().unwrap_or_default());
        }
        let found = self
            .map
            .research(request, chat_files, &[])
            .map_err(|e| RoleError::Failed {
                role: "researcher".into(),
                reason: e.to_string(),
            })?;
        Ok(Research {
            map: found.map,
            files: found
                .files
                .into_iter()
                .map(|f| PathBuf::from(f.path))
                .collect(),
            refs: found.refs.into_iter().map(|r| r.id).collect(),
        })
    }
}
