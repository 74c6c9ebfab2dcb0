//! The pipeline through the real `aidx` binary on temporary git repositories: `apply` (every
//! outcome the user sees), dirty files, path safety, `undo`, `diff`, and one real `aidx run` with
//! the embedded SmolLM2 as Editor under constrained decoding.

use aidx_agent_core::git::validate_commit_message;
use aidx_e2e::{TempRepo, texts};

const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";

fn head_message(repo: &TempRepo) -> String {
    let r = git2::Repository::open(&repo.root).unwrap();
    let head = r.head().unwrap().peel_to_commit().unwrap();
    head.message().unwrap().to_string()
}

fn commit_count(repo: &TempRepo) -> usize {
    let r = git2::Repository::open(&repo.root).unwrap();
    let mut walk = r.revwalk().unwrap();
    walk.push_head().unwrap();
    walk.count()
}

fn write_reply(repo: &TempRepo, reply: &str) -> String {
    let path = repo.root.join("../reply.txt");
    std::fs::write(&path, reply).unwrap();
    path.canonicalize().unwrap().display().to_string()
}

const MUL_REPLY: &str = "calc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n";

#[test]
fn apply_commits_exactly_the_reviewed_edit_with_a_valid_message() {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    let reply = write_reply(&repo, MUL_REPLY);
    let out = repo.run(&[
        "apply",
        &reply,
        "--type",
        "feat",
        "--subject",
        "add mul",
        "--refs",
        "rm:calc.py#L1:abcd1234",
    ]);
    assert!(out.status.success(), "{}", texts(&out).1);
    assert!(
        repo.read("calc.py")
            .contains("def mul(a, b):\n    return a * b\n")
    );
    let message = head_message(&repo);
    validate_commit_message(&message, Some(&["calc.py".to_string()]))
        .unwrap_or_else(|p| panic!("invalid aidx commit message {message:?}: {p:?}"));
    assert!(message.starts_with("feat"), "{message}");
    assert!(message.contains("`calc.py`"), "{message}");
    assert!(message.contains("Plan: artifacts/plan.md"), "{message}");
    assert!(
        message.contains("Refs: rm:calc.py#L1:abcd1234"),
        "{message}"
    );
    let opened = git2::Repository::open(&repo.root).unwrap();
    let status = opened.statuses(None).unwrap();
    assert!(
        status.iter().all(|s| s.status().is_ignored()),
        "tree is clean after the commit"
    );
    // aidx diff shows it, aidx undo restores the previous tree, and a second undo is refused.
    let diff = repo.run(&["diff", "--no-color"]);
    assert!(
        texts(&diff).0.contains("+def mul(a, b):"),
        "{}",
        texts(&diff).0
    );
    let undo = repo.run(&["undo"]);
    assert!(undo.status.success(), "{}", texts(&undo).1);
    assert_eq!(repo.read("calc.py"), CALC);
    assert_eq!(commit_count(&repo), 1);
    let again = repo.run(&["undo"]);
    assert!(
        !again.status.success(),
        "undo of a commit that is not aidx's must be refused"
    );
    assert_eq!(repo.read("calc.py"), CALC);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    let reply = write_reply(&repo, MUL_REPLY);
    let out = repo.run(&["apply", &reply, "--dry-run"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    assert!(texts(&out).0.contains("+def mul(a, b):"));
    assert_eq!(repo.read("calc.py"), CALC);
    assert_eq!(commit_count(&repo), 1);
}

#[test]
fn an_applied_edit_that_breaks_the_syntax_is_flagged() {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    let reply = write_reply(
        &repo,
        &MUL_REPLY.replace("    return a * b\n", "    return a * b\nThis adds mul.\n"),
    );
    let out = repo.run(&["apply", &reply]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: calc.py: line 11 does not parse: This adds mul."),
        "{stderr}"
    );
    let clean = write_reply(
        &repo,
        "calc.py\n<<<<<<< SEARCH\nThis adds mul.\n=======\n>>>>>>> REPLACE\n",
    );
    let out = repo.run(&["apply", &clean]);
    let (_, stderr) = texts(&out);
    assert!(
        out.status.success() && !stderr.contains("warning"),
        "{stderr}"
    );
}

#[test]
fn a_failing_block_writes_nothing_and_shows_the_closest_lines() {
    let repo = TempRepo::with_files(&[("calc.py", CALC), ("other.py", "x = 1\n")]);
    let reply = write_reply(
        &repo,
        "other.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n\ncalc.py\n<<<<<<< SEARCH\ndef sub(a, c):\n    return a - c\n=======\ndef sub(a, b):\n    return b - a\n>>>>>>> REPLACE\n",
    );
    let out = repo.run(&["apply", &reply]);
    assert!(!out.status.success());
    let (stdout, stderr) = texts(&out);
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("def sub(a, b):"),
        "the report shows the closest real lines:\n{all}"
    );
    assert_eq!(
        repo.read("other.py"),
        "x = 1\n",
        "a transaction: no block applied"
    );
    assert_eq!(repo.read("calc.py"), CALC);
    assert_eq!(commit_count(&repo), 1);
}

#[test]
fn the_users_uncommitted_work_is_committed_first_never_lost() {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    let dirty = CALC.replace("def add(a, b):\n", "# my own note\ndef add(a, b):\n");
    std::fs::write(repo.root.join("calc.py"), &dirty).unwrap();
    let reply = write_reply(&repo, MUL_REPLY);
    let out = repo.run(&["apply", &reply, "--type", "feat", "--subject", "add mul"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    let text = repo.read("calc.py");
    assert!(
        text.contains("# my own note") && text.contains("def mul"),
        "{text}"
    );
    assert_eq!(
        commit_count(&repo),
        3,
        "initial, the user's own commit, aidx's commit"
    );
    let r = git2::Repository::open(&repo.root).unwrap();
    let head = r.head().unwrap().peel_to_commit().unwrap();
    let users = head.parent(0).unwrap();
    let users_tree_text = users
        .tree()
        .unwrap()
        .get_path(std::path::Path::new("calc.py"))
        .unwrap()
        .to_object(&r)
        .unwrap()
        .peel_to_blob()
        .unwrap()
        .content()
        .to_vec();
    assert_eq!(String::from_utf8(users_tree_text).unwrap(), dirty);
}

#[test]
fn an_edit_outside_the_repository_is_refused() {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    let outside = repo.root.join("../evil.txt");
    let reply = write_reply(
        &repo,
        "../evil.txt\n<<<<<<< SEARCH\n=======\npwned\n>>>>>>> REPLACE\n",
    );
    let out = repo.run(&["apply", &reply]);
    assert!(!out.status.success());
    assert!(
        !outside.exists(),
        "nothing may be written outside the repository"
    );
    let reply = write_reply(
        &repo,
        "/tmp/aidx-evil-abs.txt\n<<<<<<< SEARCH\n=======\npwned\n>>>>>>> REPLACE\n",
    );
    let out = repo.run(&["apply", &reply]);
    assert!(!out.status.success());
    assert!(!std::path::Path::new("/tmp/aidx-evil-abs.txt").exists());
    assert_eq!(commit_count(&repo), 1);
}

#[test]
fn a_real_run_with_the_embedded_editor_ends_in_a_commit_or_a_clear_report() {
    let repo = TempRepo::with_files(&[("calc.py", CALC), ("README.md", "# calc\n")]);
    if !aidx_e2e::smollm2_cached(&repo) {
        return;
    }
    // Keep it short on 2 cores: the plan is given (`aidx edit --plan`, the Editor alone on an
    // existing plan), no reflection, small replies. Planning by the local model is covered by the
    // pipeline's library tests and the demo.
    std::fs::write(
        repo.root.join(".aidx.yml"),
        "max-reflections: 0\neditor: { max-tokens: 160, context: 2048 }\n",
    )
    .unwrap();
    std::fs::create_dir_all(repo.root.join("artifacts")).unwrap();
    std::fs::write(
        repo.root.join("artifacts/plan.md"),
        "# Plan\n\n## Goal\n\nAdd mul(a, b) to calc.py.\n\n## Steps\n\n1. In calc.py, after sub, add `def mul(a, b): return a * b`.\n\n## Files\n\n- `calc.py` — add mul\n\n## Checks\n\n- mul(2, 3) == 6\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = repo.run(&["edit", "--plan", "artifacts/plan.md", "--yes", "--json"]);
    eprintln!("aidx edit took {:.1} s", started.elapsed().as_secs_f64());
    let (stdout, stderr) = texts(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("aidx run --json must print a report ({e}):\nstdout: {stdout}\nstderr: {stderr}")
    });
    let status = report["status"].as_str().expect("report has a status");
    assert!(
        repo.root.join("artifacts/plan.md").is_file(),
        "plan.md was written"
    );
    match status {
        "committed" => {
            assert!(out.status.success());
            let message = head_message(&repo);
            let r = git2::Repository::open(&repo.root).unwrap();
            let head = r.head().unwrap().peel_to_commit().unwrap();
            let parent = head.parent(0).unwrap();
            let diff = r
                .diff_tree_to_tree(
                    Some(&parent.tree().unwrap()),
                    Some(&head.tree().unwrap()),
                    None,
                )
                .unwrap();
            let files: Vec<String> = diff
                .deltas()
                .map(|d| d.new_file().path().unwrap().display().to_string())
                .collect();
            validate_commit_message(&message, Some(&files)).unwrap();
        }
        "edit_failed" | "no_changes" => {
            assert!(!out.status.success() || status == "no_changes");
            assert_eq!(repo.read("calc.py"), CALC, "a failed run writes nothing");
            assert_eq!(commit_count(&repo), 1);
        }
        other => panic!("unexpected status {other}: {stdout}"),
    }
}
