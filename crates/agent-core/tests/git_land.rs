//! Landing edits in real temporary repositories: the diff that lands, the commit, dirty files.

mod git_support;

use aidx_agent_core::edit::{EditBlock, plan_edits};
use aidx_agent_core::git::{
    CommitIntent, CommitType, EditRepo, GitError, LandOptions, validate_commit_message,
};
use git_support::TestRepo;

fn plan(repo: &EditRepo, blocks: &[EditBlock]) -> Vec<aidx_agent_core::edit::FileChange> {
    let outcome = plan_edits(blocks, |p: &str| repo.read_for_edit(p));
    assert!(outcome.is_complete(), "{:?}", outcome.failures);
    outcome.changes
}

fn intent() -> CommitIntent {
    let mut intent = CommitIntent::new(CommitType::Feat, "greet by name");
    intent.scope = Some("Greeter".into());
    intent.refs = vec!["R1".into(), "R2".into()];
    intent
}

#[test]
fn edits_land_as_one_commit_of_only_the_edited_files() {
    let t = TestRepo::with_files(&[
        ("src/greet.py", "def greet():\n    return 'hi'\n"),
        ("other.txt", "x\n"),
    ]);
    // An unrelated staged change must stay staged and out of the aidx commit.
    t.write("staged.txt", "staged\n");
    let mut index = t.repo.index().unwrap();
    index.add_path(std::path::Path::new("staged.txt")).unwrap();
    index.write().unwrap();

    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(
        &repo,
        &[
            EditBlock::new(
                "src/greet.py",
                "def greet():\n    return 'hi'\n",
                "def greet(name):\n    return f'hi {name}'\n",
            ),
            EditBlock::new("src/new.py", "", "X = 1\n"),
        ],
    );
    let preview = repo.preview(&changes).unwrap();
    let landed = repo
        .land(&changes, &intent(), "run-1", &LandOptions::default())
        .unwrap();
    assert_eq!(landed.diff, preview, "what lands is what was previewed");
    assert!(
        landed.diff.contains(
            "diff --git a/src/new.py b/src/new.py\nnew file mode 100644\n--- /dev/null\n"
        )
    );

    assert_eq!(
        t.read("src/greet.py"),
        "def greet(name):\n    return f'hi {name}'\n"
    );
    assert_eq!(t.read("src/new.py"), "X = 1\n");
    let head = t.head();
    assert_eq!(Some(head.id()), landed.commit);
    assert_eq!(t.head_file("src/greet.py").unwrap(), t.read("src/greet.py"));
    assert_eq!(t.head_file("src/new.py").unwrap(), "X = 1\n");
    assert_eq!(
        t.head_file("staged.txt"),
        None,
        "unrelated staged file is not committed"
    );
    assert_eq!(
        t.dirty(),
        vec!["staged.txt".to_string()],
        "only the unrelated staged file differs"
    );

    let message = head.message().unwrap();
    assert!(
        message.starts_with(
            "feat(greeter): greet by name\n\n\
             - Updated: `src/greet.py` — greet by name (+2 −2 lines)\n\
             - Created: `src/new.py` — greet by name (new file, 1 line)\n\n"
        ),
        "{message}"
    );
    assert!(
        message.contains("\nPlan: artifacts/plan.md\nRefs: R1, R2\nAidx-Run: run-1\n"),
        "{message}"
    );
    let files = vec!["src/greet.py".to_string(), "src/new.py".to_string()];
    validate_commit_message(message, Some(&files)).unwrap();
    assert_eq!(landed.user_commit, None);
}

#[test]
fn auto_commits_off_leaves_the_change_staged() {
    let t = TestRepo::with_files(&[("a.txt", "one\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let before = t.head().id();
    let changes = plan(&repo, &[EditBlock::new("a.txt", "one\n", "two\n")]);
    let options = LandOptions {
        auto_commits: false,
        ..LandOptions::default()
    };
    let landed = repo.land(&changes, &intent(), "run-2", &options).unwrap();
    assert_eq!(landed.commit, None);
    assert_eq!(t.head().id(), before);
    assert_eq!(t.read("a.txt"), "two\n");
    let status = t.repo.status_file(std::path::Path::new("a.txt")).unwrap();
    assert_eq!(
        status,
        git2::Status::INDEX_MODIFIED,
        "staged, and the work tree matches the index"
    );
}

#[test]
fn dirty_file_is_committed_first_as_the_users_own_commit() {
    let t = TestRepo::with_files(&[("a.txt", "one\ntwo\n")]);
    t.write("a.txt", "one\ntwo\nuser line\n"); // uncommitted user work
    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(&repo, &[EditBlock::new("a.txt", "one\n", "ONE\n")]);
    let landed = repo
        .land(&changes, &intent(), "run-3", &LandOptions::default())
        .unwrap();

    let user = t
        .repo
        .find_commit(landed.user_commit.expect("user commit"))
        .unwrap();
    assert!(
        !user.message().unwrap().contains("Aidx-Run"),
        "the user's commit is not marked as aidx's"
    );
    let user_tree = user.tree().unwrap();
    let blob = t
        .repo
        .find_blob(
            user_tree
                .get_path(std::path::Path::new("a.txt"))
                .unwrap()
                .id(),
        )
        .unwrap();
    assert_eq!(
        blob.content(),
        b"one\ntwo\nuser line\n",
        "the user's work is preserved in its own commit"
    );
    assert_eq!(
        t.read("a.txt"),
        "ONE\ntwo\nuser line\n",
        "the edit applies on top of the user's work"
    );
    assert_eq!(t.head().parent_id(0).unwrap(), user.id());
    assert_eq!(t.commit_count(), 3);
}

#[test]
fn dirty_file_with_dirty_commits_off_stops_without_touching_anything() {
    let t = TestRepo::with_files(&[("a.txt", "one\n")]);
    t.write("a.txt", "one\nmine\n");
    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(&repo, &[EditBlock::new("a.txt", "one\n", "ONE\n")]);
    let options = LandOptions {
        dirty_commits: false,
        ..LandOptions::default()
    };
    let err = repo
        .land(&changes, &intent(), "run-4", &options)
        .unwrap_err();
    assert!(
        matches!(&err, GitError::DirtyFiles { paths } if paths == &vec!["a.txt".to_string()]),
        "{err}"
    );
    assert!(err.to_string().contains("enable `dirty-commits`"));
    assert_eq!(
        t.read("a.txt"),
        "one\nmine\n",
        "the user's work is untouched"
    );
    assert_eq!(t.commit_count(), 1);
}

#[test]
fn stale_content_is_refused() {
    let t = TestRepo::with_files(&[("a.txt", "one\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(&repo, &[EditBlock::new("a.txt", "one\n", "ONE\n")]);
    t.write("a.txt", "changed meanwhile\n");
    let err = repo
        .land(&changes, &intent(), "run-5", &LandOptions::default())
        .unwrap_err();
    assert!(matches!(err, GitError::StaleContent { .. }), "{err}");
    assert_eq!(t.read("a.txt"), "changed meanwhile\n");
}

#[test]
fn refactor_commits_get_an_arch_tag() {
    let t = TestRepo::with_files(&[("lib.rs", "fn a() {}\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(
        &repo,
        &[EditBlock::new("lib.rs", "fn a() {}\n", "fn b() {}\n")],
    );
    let intent = CommitIntent::new(CommitType::Refactor, "rename a to b.");
    repo.land(&changes, &intent, "run-6", &LandOptions::default())
        .unwrap();
    let message = t.head().message().unwrap().to_string();
    assert!(
        message.starts_with(
            "refactor: rename a to b\n\nArchTag:TECHDEBT-PAYMENT\n- Refactored: `lib.rs` — "
        ),
        "{message}"
    );
    validate_commit_message(&message, Some(&["lib.rs".to_string()])).unwrap();
}

#[test]
fn files_without_final_newline_and_executables_round_trip() {
    let t = TestRepo::with_files(&[("run.sh", "#!/bin/sh\necho a")]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(t.path("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        t.commit_all(&["run.sh"], "chore: make run.sh executable");
    }
    let repo = EditRepo::discover(t.root()).unwrap();
    let changes = plan(&repo, &[EditBlock::new("run.sh", "echo a\n", "echo b\n")]);
    repo.land(&changes, &intent(), "run-7", &LandOptions::default())
        .unwrap();
    assert_eq!(t.read("run.sh"), "#!/bin/sh\necho b");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "still executable");
    }
    assert!(t.dirty().is_empty(), "{:?}", t.dirty());
}

#[test]
fn works_in_a_repository_without_commits() {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let repo = EditRepo::discover(dir.path()).unwrap();
    let changes = plan(&repo, &[EditBlock::new("hello.txt", "", "hello\n")]);
    let landed = repo
        .land(&changes, &intent(), "run-8", &LandOptions::default())
        .unwrap();
    assert!(landed.commit.is_some());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("hello.txt")).unwrap(),
        "hello\n"
    );
}
