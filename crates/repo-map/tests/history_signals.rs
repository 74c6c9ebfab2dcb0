//! The history signals on a real git history built by each test (git2): a history stops at the
//! commit it is read at, files that change with the request's file rank up, and the user's
//! uncommitted files count as the newest change and seed co-change.

mod common;

use std::path::Path;

use aidx_repo_map::{HistoryReader, Research};
use common::{map_with, write};

/// Commits every change in the work tree; returns the commit id.
fn commit_all(repo: &git2::Repository, message: &str) -> git2::Oid {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
}

/// A hub every file uses; `src/parser.rs` (which the requests name) and `src/grammar_data.rs`,
/// which shares no word with the requests but always changes with the parser; a few unrelated
/// files that changed most recently.
fn repo() -> (tempfile::TempDir, git2::Repository) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = git2::Repository::init(root).unwrap();
    write(
        root,
        "src/core.rs",
        "pub struct Ctx {}\npub fn shared() -> Ctx { Ctx {} }\n",
    );
    for i in 0..6 {
        write(
            root,
            &format!("src/feature_{i}.rs"),
            &format!("pub fn feature_{i}() {{ let c = shared(); }}\n"),
        );
    }
    write(
        root,
        "src/parser.rs",
        "pub fn parse_input() { let c = shared(); }\n",
    );
    write(
        root,
        "src/grammar_data.rs",
        "pub const RULES: [u8; 3] = [1, 2, 3];\npub fn rules_len() -> usize { 3 }\n",
    );
    commit_all(&repo, "initial");
    for round in 0..3 {
        write(
            root,
            "src/parser.rs",
            &format!("pub fn parse_input() {{ let c = shared(); }}\n// round {round}\n"),
        );
        write(
            root,
            "src/grammar_data.rs",
            &format!(
                "pub const RULES: [u8; 3] = [1, 2, 3];\npub fn rules_len() -> usize {{ 3 }}\n// round {round}\n"
            ),
        );
        commit_all(&repo, &format!("parser round {round}"));
    }
    for i in 0..3 {
        write(
            root,
            &format!("src/feature_{i}.rs"),
            &format!("pub fn feature_{i}() {{ let c = shared(); }}\n// touched\n"),
        );
        if i == 2 {
            write(root, "src/late.rs", "pub fn late() {}\n");
        }
        commit_all(&repo, &format!("feature {i}"));
    }
    (dir, repo)
}

fn rank_of(r: &Research, path: &str) -> usize {
    r.files
        .iter()
        .position(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is not ranked: {:?}", r.files))
}

fn signals<'a>(r: &'a Research, path: &str) -> &'a aidx_repo_map::FileSignals {
    &r.files[rank_of(r, path)].signals
}

fn research(root: &Path, request: &str, history: bool, working: Vec<String>) -> Research {
    let map = map_with(root, 1024);
    if history {
        let mut reader = HistoryReader::open(root).unwrap();
        map.set_history(Some(reader.history("HEAD", 500).unwrap()));
    }
    map.set_working_files(working);
    map.research(request, &[], &[]).unwrap()
}

#[test]
fn a_history_read_at_a_commit_holds_nothing_after_it() {
    let (dir, repo) = repo();
    let first_round = repo
        .revparse_single("HEAD~5")
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .id();
    let mut reader = HistoryReader::open(dir.path()).unwrap();
    let early = reader.history(&first_round.to_string(), 500).unwrap();
    let late = reader.history("HEAD", 500).unwrap();
    // src/late.rs first appears in the newest commit.
    let paths = ["src/late.rs", "src/parser.rs"];
    let early_recency = early.recency(&paths);
    let late_recency = late.recency(&paths);
    assert_eq!(early_recency[0], 0.0, "{early_recency:?}");
    assert!(late_recency[0] > 0.0, "{late_recency:?}");
    assert!(
        early_recency[1] > 0.0,
        "the parser changed by then: {early_recency:?}"
    );
}

#[test]
fn a_file_that_always_changes_with_the_requests_file_ranks_up() {
    let (dir, _repo) = repo();
    let request = "make the parser accept empty input";
    let without = research(dir.path(), request, false, Vec::new());
    let with = research(dir.path(), request, true, Vec::new());
    assert_eq!(signals(&without, "src/grammar_data.rs").co_change, 0.0);
    assert!(
        signals(&with, "src/grammar_data.rs").co_change > 0.5,
        "{:?}",
        signals(&with, "src/grammar_data.rs")
    );
    assert!(
        rank_of(&with, "src/grammar_data.rs") < rank_of(&without, "src/grammar_data.rs"),
        "with history {:?}\nwithout {:?}",
        with.files,
        without.files
    );
    assert_eq!(rank_of(&with, "src/parser.rs"), 0, "{:?}", with.files);
}

#[test]
fn the_users_uncommitted_file_is_the_newest_change_and_seeds_co_change() {
    let (dir, repo) = repo();
    // The user is editing the parser; the request does not name it.
    write(
        dir.path(),
        "src/parser.rs",
        "pub fn parse_input() { let c = shared(); }\n// work in progress\n",
    );
    let reader = HistoryReader::open(dir.path()).unwrap();
    let working = reader.working_files().unwrap();
    assert_eq!(working, ["src/parser.rs"]);
    drop(repo);
    let request = "speed up the lookup";
    let plain = research(dir.path(), request, true, Vec::new());
    let seeded = research(dir.path(), request, true, working);
    assert_eq!(signals(&seeded, "src/parser.rs").recency, 1.0);
    assert!(
        signals(&seeded, "src/grammar_data.rs").co_change
            > signals(&plain, "src/grammar_data.rs").co_change,
        "{:?}",
        signals(&seeded, "src/grammar_data.rs")
    );
    let score = |r: &Research| r.files[rank_of(r, "src/grammar_data.rs")].rank;
    assert!(
        score(&seeded) > score(&plain) * 1.3,
        "seeded {:?}\nplain {:?}",
        seeded.files,
        plain.files
    );
}
