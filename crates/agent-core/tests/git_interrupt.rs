//! Ctrl-C while landing: a real SIGINT is deferred to a flag, and a landing that sees the flag
//! writes nothing.

#![cfg(unix)]

mod git_support;

use std::os::raw::c_int;

use aidx_agent_core::edit::{EditBlock, plan_edits};
use aidx_agent_core::git::{
    CommitIntent, CommitType, EditRepo, GitError, InterruptGuard, LandOptions, interrupt,
};
use git_support::TestRepo;

unsafe extern "C" {
    fn raise(sig: c_int) -> c_int;
}
const SIGINT: c_int = 2;

#[test]
fn sigint_is_deferred_and_landing_writes_nothing() {
    let t = TestRepo::with_files(&[("a.txt", "1\n"), ("b.txt", "2\n")]);
    let repo = EditRepo::discover(t.root()).unwrap();
    let outcome = plan_edits(
        &[
            EditBlock::new("a.txt", "1\n", "one\n"),
            EditBlock::new("b.txt", "2\n", "two\n"),
        ],
        |p: &str| repo.read_for_edit(p),
    );
    let head = t.head().id();

    let guard = InterruptGuard::install();
    // SAFETY: raising SIGINT in this process; the guard's handler only sets a flag.
    assert_eq!(unsafe { raise(SIGINT) }, 0);
    assert!(
        interrupt::interrupted(),
        "the signal set the flag and did not kill the test process"
    );

    let err = repo
        .land(
            &outcome.changes,
            &CommitIntent::new(CommitType::Fix, "x"),
            "run-i",
            &LandOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, GitError::Interrupted), "{err}");
    assert_eq!(t.read("a.txt"), "1\n");
    assert_eq!(t.read("b.txt"), "2\n");
    assert_eq!(t.head().id(), head);
    assert!(t.dirty().is_empty());

    interrupt::reset();
    let landed = repo
        .land(
            &outcome.changes,
            &CommitIntent::new(CommitType::Fix, "x"),
            "run-i",
            &LandOptions::default(),
        )
        .unwrap();
    assert!(landed.commit.is_some());
    assert_eq!(t.read("a.txt"), "one\n");
    assert_eq!(t.read("b.txt"), "two\n");
    drop(guard);
}

unsafe extern "C" {
    fn kill(pid: c_int, sig: c_int) -> c_int;
}

/// Environment variable that turns [`interrupt_child_helper`] into the child process.
const CHILD_REPO_ENV: &str = "AIDX_TEST_INTERRUPT_CHILD_REPO";

/// Run as a child process by the test below; does nothing in a normal test run.
#[test]
fn interrupt_child_helper() {
    use std::io::Write;
    let Ok(root) = std::env::var(CHILD_REPO_ENV) else {
        return;
    };
    let _guard = InterruptGuard::install();
    let repo = EditRepo::discover(std::path::Path::new(&root)).unwrap();
    let outcome = plan_edits(
        &[
            EditBlock::new("a.txt", "1\n", "one\n"),
            EditBlock::new("b.txt", "2\n", "two\n"),
        ],
        |p: &str| repo.read_for_edit(p),
    );
    assert!(outcome.is_complete());
    println!("AIDX-CHILD-READY");
    std::io::stdout().flush().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !interrupt::interrupted() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let intent = CommitIntent::new(CommitType::Fix, "x");
    match repo.land(
        &outcome.changes,
        &intent,
        "run-child",
        &LandOptions::default(),
    ) {
        Err(GitError::Interrupted) => std::process::exit(130),
        other => {
            eprintln!("child: expected an interrupted landing, got {other:?}");
            std::process::exit(1)
        }
    }
}

#[test]
fn a_real_sigint_to_a_child_process_leaves_the_repository_untouched() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let t = TestRepo::with_files(&[("a.txt", "1\n"), ("b.txt", "2\n")]);
    let head = t.head().id();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "interrupt_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_REPO_ENV, t.root())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    assert!(
        lines.any(|l| l.unwrap().contains("AIDX-CHILD-READY")),
        "the child never got ready"
    );

    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { kill(child.id() as c_int, SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "the child saw the signal as a flag and stopped cleanly"
    );
    assert_eq!(t.read("a.txt"), "1\n");
    assert_eq!(t.read("b.txt"), "2\n");
    assert_eq!(t.head().id(), head);
    assert!(t.dirty().is_empty(), "{:?}", t.dirty());
}
