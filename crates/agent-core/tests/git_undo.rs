//! `undo` and `diff`: only aidx's own, unpushed commits are undone, and the tree comes back.

mod git_support;

use aidx_agent_core::edit::{EditBlock, plan_edits};
use aidx_agent_core::git::{CommitIntent, CommitType, EditRepo, GitError, LandOptions};
use git_support::TestRepo;

fn land(repo: &EditRepo, blocks: &[EditBlock]) -> git2::Oid {
    let outcome = plan_edits(blocks, |p: &str| repo.read_for_edit(p));
    assert!(outcome.is_complete());
    let intent = CommitIntent::new(CommitType::Fix, "correct the value");
    repo.land(&outcome.changes, &intent, "run-u", &LandOptions::default())
        .unwrap()
        .commit
        .unwrap()
}

#[test]
fn undo_restores_the_previous_tree() {
    let t = TestRepo::with_files(&[("a.txt", "1\n"), ("b.txt", "b\n")]);
    let before = t.head();
    let before_tree = before.tree().unwrap().id();
    let repo = EditRepo::discover(t.root()).unwrap();
    land(
        &repo,
        &[
            EditBlock::new("a.txt", "1\n", "2\n"),
            EditBlock::new("c.txt", "", "new\n"),
        ],
    );
    assert_eq!(t.read("a.txt"), "2\n");

    let last = repo.last_change().unwrap().expect("an aidx change");
    assert!(last.diff.contains("-1\n+2\n"), "{}", last.diff);
    assert!(last.diff.contains("+++ b/c.txt"), "{}", last.diff);

    let undone = repo.undo_last().unwrap();
    assert_eq!(undone.head, before.id());
    assert_eq!(t.head().id(), before.id());
    assert_eq!(t.head().tree().unwrap().id(), before_tree);
    assert_eq!(t.read("a.txt"), "1\n");
    assert!(!t.path("c.txt").exists());
    assert!(
        t.dirty().is_empty(),
        "work tree and index match HEAD: {:?}",
        t.dirty()
    );
}

#[test]
fn undo_refuses_a_commit_that_is_not_aidx() {
    let t = TestRepo::with_files(&[("a.txt", "1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let err = repo.undo_last().unwrap_err();
    assert!(matches!(err, GitError::NotAidxCommit { .. }), "{err}");
    assert_eq!(repo.last_change().unwrap(), None);
}

#[test]
fn undo_refuses_a_pushed_commit() {
    let t = TestRepo::with_files(&[("a.txt", "1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let commit = land(&repo, &[EditBlock::new("a.txt", "1\n", "2\n")]);
    t.repo
        .reference("refs/remotes/origin/main", commit, true, "simulate a push")
        .unwrap();
    let err = repo.undo_last().unwrap_err();
    assert!(
        matches!(&err, GitError::AlreadyPushed { remote_ref } if remote_ref == "refs/remotes/origin/main"),
        "{err}"
    );
    assert_eq!(t.head().id(), commit);
}

#[test]
fn undo_refuses_when_the_files_changed_since() {
    let t = TestRepo::with_files(&[("a.txt", "1\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let commit = land(&repo, &[EditBlock::new("a.txt", "1\n", "2\n")]);
    t.write("a.txt", "2\nuser edit\n");
    let err = repo.undo_last().unwrap_err();
    assert!(matches!(err, GitError::ChangedSinceCommit { .. }), "{err}");
    assert_eq!(t.read("a.txt"), "2\nuser edit\n");
    assert_eq!(t.head().id(), commit);
}
