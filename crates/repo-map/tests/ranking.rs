//! Ranking: mentioned identifiers and chat files steer the map; results are deterministic.

mod common;

use std::path::PathBuf;

use common::{files_in_map, map_with, write};

/// A repository with a hub file everyone uses and a few leaves.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/util.rs",
        "pub fn log_line(s: &str) {}\npub struct Logger {}\n",
    );
    for i in 0..12 {
        write(
            root,
            &format!("src/feature_{i}.rs"),
            &format!(
                "pub fn feature_{i}(l: Logger) {{\n    log_line(\"x\");\n    log_line(\"y\");\n}}\n"
            ),
        );
    }
    write(
        root,
        "src/config/loader.rs",
        "pub struct ConfigLoader {}\npub fn parse_config_file(p: &str) -> ConfigLoader {\n    log_line(p);\n    ConfigLoader {}\n}\n",
    );
    write(
        root,
        "src/app.py",
        "class Application:\n    def start(self):\n        parse_config_file('a')\n",
    );
    dir
}

#[test]
fn without_a_request_the_most_referenced_file_comes_first() {
    let dir = repo();
    let r = map_with(dir.path(), 4096).research("", &[], &[]).unwrap();
    assert_eq!(r.files[0].path, "src/util.rs", "{:?}", r.files);
    assert_eq!(files_in_map(&r.map)[0], "src/util.rs");
}

#[test]
fn the_file_defining_a_mentioned_identifier_comes_first() {
    let dir = repo();
    let map = map_with(dir.path(), 4096);
    // camelCase in the request matches the snake_case definition.
    for request in [
        "why does parseConfigFile fail?",
        "fix parse_config_file",
        "the ConfigLoader struct",
    ] {
        let r = map.research(request, &[], &[]).unwrap();
        assert_eq!(
            r.files[0].path, "src/config/loader.rs",
            "{request}: {:?}",
            r.files
        );
        assert_eq!(
            files_in_map(&r.map)[0],
            "src/config/loader.rs",
            "{request}:\n{}",
            r.map
        );
    }
    // Explicit --mention works the same way.
    let r = map.research("", &[], &["feature_7".to_string()]).unwrap();
    assert_eq!(r.files[0].path, "src/feature_7.rs", "{:?}", r.files);
}

#[test]
fn chat_files_seed_the_ranking_and_are_left_out_of_the_map() {
    let dir = repo();
    let map = map_with(dir.path(), 4096);
    let chat = [PathBuf::from("src/app.py")];
    let r = map.research("", &chat, &[]).unwrap();
    assert!(r.files.iter().all(|f| f.path != "src/app.py"));
    assert!(!r.map.contains("src/app.py"));
    // app.py calls parse_config_file, so its definer outranks the twelve features.
    assert_eq!(r.files[0].path, "src/config/loader.rs", "{:?}", r.files);
    // Absolute chat paths work too.
    let abs = [dir.path().join("src/app.py")];
    assert_eq!(map.research("", &abs, &[]).unwrap().files, r.files);
}

#[test]
fn ranking_is_deterministic() {
    let dir = repo();
    let a = map_with(dir.path(), 700)
        .research("logger config", &[], &[])
        .unwrap();
    for threads in [1, 2, 4] {
        let opts = aidx_repo_map::MapOptions {
            map_tokens: 700,
            threads,
            use_disk_cache: false,
            ..Default::default()
        };
        let b = aidx_repo_map::RepoMap::new(dir.path(), opts)
            .unwrap()
            .research("logger config", &[], &[])
            .unwrap();
        assert_eq!(a.map, b.map);
        assert_eq!(a.files, b.files);
        assert_eq!(a.refs, b.refs);
    }
}

#[test]
fn chunk_ids_name_path_line_and_content() {
    let dir = repo();
    let r = map_with(dir.path(), 4096)
        .research("parse_config_file", &[], &[])
        .unwrap();
    let c = r
        .refs
        .iter()
        .find(|c| c.name == "parse_config_file")
        .expect("shown");
    assert_eq!(
        (c.path.as_str(), c.line, c.kind),
        ("src/config/loader.rs", 2, "function")
    );
    let prefix = "rm:src/config/loader.rs#L2:";
    assert!(
        c.id.starts_with(prefix) && c.id.len() == prefix.len() + 8,
        "{}",
        c.id
    );
    // Changing the definition's text changes its id.
    write(
        dir.path(),
        "src/config/loader.rs",
        "pub struct ConfigLoader {}\npub fn parse_config_file(p: &String) -> ConfigLoader {\n    ConfigLoader {}\n}\n",
    );
    let r2 = map_with(dir.path(), 4096)
        .research("parse_config_file", &[], &[])
        .unwrap();
    let c2 = r2
        .refs
        .iter()
        .find(|c| c.name == "parse_config_file")
        .unwrap();
    assert_ne!(c.id, c2.id);
}

#[test]
fn re_ranking_after_an_edit_matches_a_fresh_ranking() {
    // After an edit that changes the graph, a long-lived map ranks again starting from its previous
    // ranking; it must land where a fresh map does (same order, ranks within the tolerance).
    let dir = repo();
    let opts = || aidx_repo_map::MapOptions {
        map_tokens: 700,
        use_disk_cache: false,
        ..Default::default()
    };
    let session = aidx_repo_map::RepoMap::new(dir.path(), opts()).unwrap();
    session.research("", &[], &[]).unwrap();
    write(
        dir.path(),
        "src/feature_3.rs",
        "pub fn feature_3(l: Logger) {\n    parse_config_file(\"x\");\n    parse_config_file(\"y\");\n}\n\
         pub fn extra(c: ConfigLoader) {\n    parse_config_file(\"z\");\n}\n",
    );
    let again = session.research("", &[], &[]).unwrap();
    assert!(!again.stats.rank_cached);
    let fresh = aidx_repo_map::RepoMap::new(dir.path(), opts())
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    let paths = |r: &aidx_repo_map::Research| -> Vec<String> {
        r.files.iter().map(|f| f.path.clone()).collect()
    };
    assert_eq!(paths(&again), paths(&fresh));
    for (a, b) in again.files.iter().zip(&fresh.files) {
        assert!(
            (a.rank - b.rank).abs() <= 1e-4 * b.rank.max(1e-9),
            "{a:?} vs {b:?}"
        );
    }
    assert_eq!(again.map, fresh.map);
}

#[test]
fn an_exact_mention_outranks_names_that_only_share_its_words() {
    // `CloudStorageStreamWrapper` is mentioned; a busy hub defines `CLOUD_STORAGE` and
    // `StreamWrapper`, whose words are all in the mention. The exact definer must still lead.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut hub = String::from("pub const CLOUD_STORAGE: u32 = 2;\npub struct StreamWrapper {}\n");
    for i in 0..30 {
        hub.push_str(&format!("pub fn service_call_{i}() {{}}\n"));
    }
    write(root, "src/proto/service.rs", &hub);
    for i in 0..10 {
        write(
            root,
            &format!("src/user_{i}.rs"),
            &format!(
                "pub fn user_{i}(w: StreamWrapper) {{\n    service_call_{i}();\n    let k = CLOUD_STORAGE;\n}}\n"
            ),
        );
    }
    write(
        root,
        "src/storage/wrapper.rs",
        "pub struct CloudStorageStreamWrapper {}\n",
    );
    let map = map_with(root, 4096);
    for (request, mentioned) in [
        ("", vec!["CloudStorageStreamWrapper".to_string()]),
        ("rename CloudStorageStreamWrapper", vec![]),
    ] {
        let r = map.research(request, &[], &mentioned).unwrap();
        assert_eq!(
            r.files[0].path, "src/storage/wrapper.rs",
            "{request:?} {mentioned:?}: {:?}",
            r.files
        );
    }
}
