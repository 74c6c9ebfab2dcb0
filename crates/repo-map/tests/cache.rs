//! The on-disk cache: hits, misses, invalidation on edit/delete/rename, and corrupt files.

mod common;

use aidx_repo_map::cache_files::{RANKS_FILE, TAGS_FILE};
use common::{files_in_map, map_with, write};

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/config.rs",
        "pub struct Config {}\npub fn parse_config() -> Config { Config {} }\n",
    );
    write(
        root,
        "src/main.rs",
        "fn main() {\n    let c = parse_config();\n    run(c);\n}\n",
    );
    write(
        root,
        "src/run.rs",
        "pub fn run(c: Config) {\n    helper();\n}\n",
    );
    write(root, "src/helper.py", "def helper():\n    return 1\n");
    dir
}

#[test]
fn warm_run_reuses_every_file_and_the_ranking() {
    let dir = repo();
    let cold = map_with(dir.path(), 2048)
        .research("parse config", &[], &[])
        .unwrap();
    assert_eq!(
        (cold.stats.files_parsed, cold.stats.files_cached),
        (4, 0),
        "{:?}",
        cold.stats
    );
    assert!(!cold.stats.rank_cached);

    // A new RepoMap is a new process as far as the cache is concerned.
    let warm = map_with(dir.path(), 2048)
        .research("parse config", &[], &[])
        .unwrap();
    assert_eq!(
        (warm.stats.files_parsed, warm.stats.files_cached),
        (0, 4),
        "{:?}",
        warm.stats
    );
    assert!(
        warm.stats.rank_cached,
        "identical request on an unchanged repo reuses the ranking"
    );
    assert_eq!(warm.map, cold.map);
    assert_eq!(warm.refs, cold.refs, "chunk ids are stable across runs");

    // Same process, another request: tags reused, ranking recomputed.
    let map = map_with(dir.path(), 2048);
    map.research("parse config", &[], &[]).unwrap();
    let other = map.research("helper", &[], &[]).unwrap();
    assert_eq!(other.stats.files_parsed, 0);
    assert!(!other.stats.rank_cached);
}

#[test]
fn edit_delete_and_rename_are_picked_up() {
    let dir = repo();
    let root = dir.path();
    map_with(root, 2048).research("", &[], &[]).unwrap();

    // Edit keeping the size identical, so only the content hash can tell.
    let before = std::fs::read_to_string(root.join("src/run.rs")).unwrap();
    let after = before.replace("pub fn run(", "pub fn ran(");
    assert_eq!(before.len(), after.len());
    std::fs::write(root.join("src/run.rs"), after).unwrap();
    let r = map_with(root, 2048).research("", &[], &[]).unwrap();
    assert_eq!(r.stats.files_parsed, 1, "{:?}", r.stats);
    assert!(r.map.contains("pub fn ran("), "{}", r.map);
    assert!(!r.map.contains("pub fn run("), "{}", r.map);

    std::fs::remove_file(root.join("src/helper.py")).unwrap();
    let r = map_with(root, 2048).research("", &[], &[]).unwrap();
    assert_eq!(
        (r.stats.files_parsed, r.stats.files_seen),
        (0, 3),
        "{:?}",
        r.stats
    );
    assert!(
        !files_in_map(&r.map).contains(&"src/helper.py".to_string()),
        "{}",
        r.map
    );

    std::fs::rename(root.join("src/config.rs"), root.join("src/settings.rs")).unwrap();
    let r = map_with(root, 2048).research("", &[], &[]).unwrap();
    assert_eq!(r.stats.files_parsed, 1, "{:?}", r.stats);
    let files = files_in_map(&r.map);
    assert!(files.contains(&"src/settings.rs".to_string()), "{}", r.map);
    assert!(!files.contains(&"src/config.rs".to_string()), "{}", r.map);
    assert!(r.refs.iter().all(|c| c.path != "src/config.rs"));
}

#[test]
fn corrupt_or_foreign_cache_files_are_rebuilt_not_trusted() {
    let dir = repo();
    let root = dir.path();
    let reference = map_with(root, 2048).research("config", &[], &[]).unwrap();
    let tags = root.join(".aidx/cache").join(TAGS_FILE);
    let ranks = root.join(".aidx/cache").join(RANKS_FILE);
    let good = std::fs::read(&tags).unwrap();

    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    let truncated = good[..good.len() / 2].to_vec();
    let garbage = b"definitely not a cache".to_vec();
    let mut other_version = good.clone();
    other_version[8] = other_version[8].wrapping_add(1);

    for (what, bytes) in [
        ("flipped byte", flipped),
        ("truncated", truncated),
        ("garbage", garbage),
        ("other version", other_version),
    ] {
        std::fs::write(&tags, &bytes).unwrap();
        std::fs::write(&ranks, b"junk").unwrap();
        let r = map_with(root, 2048).research("config", &[], &[]).unwrap();
        assert!(r.stats.cache_rebuilt, "{what}: corruption not detected");
        assert_eq!(r.stats.files_parsed, 4, "{what}: {:?}", r.stats);
        assert!(!r.stats.rank_cached, "{what}");
        assert_eq!(r.map, reference.map, "{what}");
        let again = map_with(root, 2048).research("config", &[], &[]).unwrap();
        assert!(
            !again.stats.cache_rebuilt && again.stats.files_parsed == 0,
            "{what}: not rewritten"
        );
    }
}

#[test]
fn cache_dir_is_configurable_and_can_be_disabled() {
    let dir = repo();
    let elsewhere = tempfile::tempdir().unwrap();
    let opts = aidx_repo_map::MapOptions {
        cache_dir: Some(elsewhere.path().to_path_buf()),
        ..Default::default()
    };
    aidx_repo_map::RepoMap::new(dir.path(), opts)
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    assert!(elsewhere.path().join(TAGS_FILE).is_file());
    assert!(!dir.path().join(".aidx").exists());

    let opts = aidx_repo_map::MapOptions {
        use_disk_cache: false,
        ..Default::default()
    };
    let r = aidx_repo_map::RepoMap::new(dir.path(), opts)
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    assert_eq!(r.stats.files_parsed, 4);
    assert!(!dir.path().join(".aidx").exists());
}
