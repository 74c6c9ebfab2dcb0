//! Paths aidx refuses to edit.

mod git_support;

use aidx_agent_core::edit::{EditBlock, FailureReason, FileChange, plan_edits};
use aidx_agent_core::git::{CommitIntent, CommitType, EditRepo, GitError, LandOptions, PathError};
use git_support::TestRepo;

#[test]
fn traversal_absolute_and_git_dir_are_refused() {
    let t = TestRepo::with_files(&[("a.txt", "a\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    assert!(matches!(
        repo.check_path("../outside.txt"),
        Err(PathError::ParentTraversal(_))
    ));
    assert!(matches!(
        repo.check_path("src/../../outside.txt"),
        Err(PathError::ParentTraversal(_))
    ));
    let absolute = t.root().parent().unwrap().join("outside.txt");
    assert!(matches!(
        repo.check_path(absolute.to_str().unwrap()),
        Err(PathError::Absolute(_))
    ));
    assert!(matches!(
        repo.check_path(".git/config"),
        Err(PathError::GitDir(_))
    ));
    assert_eq!(repo.check_path("./a.txt").unwrap(), "a.txt");
}

#[test]
fn an_edit_outside_the_repo_is_refused_and_nothing_is_written() {
    let t = TestRepo::with_files(&[("a.txt", "a\n")]);
    let outside = t
        .root()
        .parent()
        .unwrap()
        .join(format!("aidx-outside-{}.txt", std::process::id()));
    let repo = EditRepo::discover(t.root()).unwrap();
    let rel = format!("../{}", outside.file_name().unwrap().to_str().unwrap());
    let blocks = [
        EditBlock::new("a.txt", "a\n", "b\n"),
        EditBlock::new(&rel, "", "pwned\n"),
    ];
    let outcome = plan_edits(&blocks, |p: &str| repo.read_for_edit(p));
    assert!(!outcome.is_complete());
    assert!(
        matches!(&outcome.failures[0].reason, FailureReason::Unreadable(why) if why.contains("contains `..`"))
    );
    // Even a change built by hand is stopped by the path check when landing.
    let forged = [FileChange {
        path: rel.clone(),
        before: None,
        after: "pwned\n".into(),
    }];
    assert!(matches!(
        repo.preview(&forged),
        Err(GitError::Path(PathError::ParentTraversal(_)))
    ));
    let err = repo.land(
        &forged,
        &CommitIntent::new(CommitType::Fix, "x"),
        "run",
        &LandOptions::default(),
    );
    assert!(matches!(
        err,
        Err(GitError::Path(PathError::ParentTraversal(_)))
    ));
    assert!(!outside.exists());
    assert_eq!(t.read("a.txt"), "a\n");
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused() {
    let t = TestRepo::with_files(&[("a.txt", "a\n")]);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), t.path("escape")).unwrap();
    std::os::unix::fs::symlink(t.path("a.txt"), t.path("link.txt")).unwrap();
    let repo = EditRepo::discover(t.root()).unwrap();
    assert!(matches!(
        repo.check_path("escape/x.txt"),
        Err(PathError::Symlink { escapes: true, .. })
    ));
    assert!(matches!(
        repo.check_path("link.txt"),
        Err(PathError::Symlink { escapes: false, .. })
    ));
    assert!(repo.read_for_edit("escape/x.txt").is_err());
}

#[test]
fn gitignored_and_aidxignored_paths_are_refused() {
    let t = TestRepo::with_files(&[
        (".gitignore", "target/\n*.log\n"),
        (".aidxignore", "secrets/\nvendor/**\n"),
        ("tracked.log", "kept\n"),
        ("secrets/key.txt", "k\n"),
    ]);
    let repo = EditRepo::discover(t.root()).unwrap();
    assert!(matches!(
        repo.check_path("target/out.txt"),
        Err(PathError::GitIgnored(_))
    ));
    assert!(matches!(
        repo.check_path("new.log"),
        Err(PathError::GitIgnored(_))
    ));
    assert_eq!(
        repo.check_path("tracked.log").unwrap(),
        "tracked.log",
        "tracked files stay editable"
    );
    assert!(matches!(
        repo.check_path("secrets/key.txt"),
        Err(PathError::AidxIgnored(_))
    ));
    assert!(matches!(
        repo.check_path("vendor/lib/x.c"),
        Err(PathError::AidxIgnored(_))
    ));
    assert!(repo.check_path("src/ok.rs").is_ok());
}
