//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use aidx_repo_map::{MapOptions, RepoMap};

/// Writes `contents` to `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
}

/// A map over `root` with a large budget and the cache in its default place.
pub fn map_with(root: &Path, tokens: usize) -> RepoMap {
    RepoMap::new(
        root,
        MapOptions {
            map_tokens: tokens,
            ..MapOptions::default()
        },
    )
    .expect("root exists")
}

/// Paths of the files shown in a rendered map (lines ending with `:` that are not source lines).
pub fn files_in_map(map: &str) -> Vec<String> {
    map.lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(aidx_repo_map::LINE_MARK))
        .map(|l| l.trim_end_matches(':').to_string())
        .collect()
}
