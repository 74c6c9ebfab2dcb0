//! Each exit status of `aidx run`/`aidx edit` through the binary (README's "Exit statuses"), with
//! a scripted OpenAI-compatible Editor server so the outcome is known in advance.

use std::process::{Command, Stdio};
use std::time::Duration;

use aidx_e2e::{ScriptedServer, TempRepo, texts};

const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
const PLAN: &str = "# Plan\n\n## Goal\n\nAdd mul(a, b) to calc.py.\n\n## Steps\n\n1. In calc.py, after sub, add `def mul(a, b): return a * b`.\n\n## Files\n\n- `calc.py` — add mul\n\n## Checks\n\n- mul(2, 3) == 6\n";
const GOOD: &str = "calc.py\n<<<<<<< SEARCH\ndef sub(a, b):\n    return a - b\n=======\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n";
const BAD: &str = "calc.py\n<<<<<<< SEARCH\ndef div(a, b):\n    return a / b\n=======\ndef mul(a, b):\n    return a * b\n>>>>>>> REPLACE\n";

/// A repository whose Editor is the scripted server, with a plan ready for `aidx edit`.
fn repo_with_editor(server: &ScriptedServer, extra: &str) -> TempRepo {
    let repo = TempRepo::with_files(&[("calc.py", CALC)]);
    std::fs::write(
        repo.root.join(".aidx.yml"),
        format!(
            "max-reflections: 0\neditor:\n  provider: openai-compatible\n  model: scripted\n  base-url: \"{}\"\n  timeout-secs: 30\n{extra}",
            server.base_url
        ),
    )
    .unwrap();
    std::fs::create_dir_all(repo.root.join("artifacts")).unwrap();
    std::fs::write(repo.root.join("artifacts/plan.md"), PLAN).unwrap();
    repo
}

fn edit(repo: &TempRepo, extra_args: &[&str]) -> std::process::Output {
    let mut args = vec!["edit", "--plan", "artifacts/plan.md"];
    args.extend_from_slice(extra_args);
    repo.run(&args)
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited normally")
}

#[test]
fn success_is_0() {
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "");
    let out = edit(&repo, &["--yes"]);
    assert_eq!(code(&out), 0, "{}", texts(&out).1);
    assert!(repo.read("calc.py").contains("def mul(a, b):"));
}

#[test]
fn a_configuration_error_is_2_and_names_the_key() {
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "max-reflection: 2\n");
    let out = edit(&repo, &["--yes"]);
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), 2, "{stderr}");
    assert!(stderr.contains("max-reflection"), "{stderr}");
    assert_eq!(
        server.requests(),
        0,
        "nothing may run on a broken configuration"
    );
}

#[test]
fn a_failed_edit_is_4_and_writes_nothing() {
    let server = ScriptedServer::start(vec![BAD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "");
    let out = edit(&repo, &["--yes"]);
    assert_eq!(code(&out), 4, "{}", texts(&out).1);
    assert_eq!(repo.read("calc.py"), CALC);
}

#[test]
fn failed_checks_are_5_and_nothing_is_committed() {
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "test-cmd: \"false\"\n");
    let out = edit(&repo, &["--yes"]);
    assert_eq!(code(&out), 5, "{}", texts(&out).1);
    let r = git2::Repository::open(&repo.root).unwrap();
    let head = r.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.message().unwrap(), "chore: initial");
}

#[test]
fn no_terminal_and_no_yes_is_6_before_any_model_is_asked() {
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "");
    let out = edit(&repo, &[]);
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), 6, "{stderr}");
    assert!(
        stderr.contains("--yes"),
        "the message names the flag: {stderr}"
    );
    assert!(!stderr.contains("interrupted"), "{stderr}");
    assert_eq!(server.requests(), 0, "it stops before calling the Editor");
    assert_eq!(repo.read("calc.py"), CALC);
}

#[test]
fn a_dry_run_prints_the_change_and_writes_nothing() {
    // `aidx run` with the scripted server planning (fully local) and editing, no terminal.
    let server = ScriptedServer::start(vec![PLAN.into(), GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "");
    std::fs::remove_file(repo.root.join("artifacts/plan.md")).unwrap();
    let before = git2::Repository::open(&repo.root)
        .unwrap()
        .head()
        .unwrap()
        .target();
    let out = repo.run(&["run", "-m", "Add mul(a, b) to calc.py", "--dry-run"]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 0, "{stderr}");
    assert!(stdout.contains("+def mul(a, b):"), "{stdout}");
    assert!(stdout.contains("nothing was written"), "{stdout}");
    assert_eq!(repo.read("calc.py"), CALC);
    assert!(
        !repo.root.join("artifacts/plan.md").exists(),
        "no plan.md either"
    );
    let after = git2::Repository::open(&repo.root)
        .unwrap()
        .head()
        .unwrap()
        .target();
    assert_eq!(before, after);
}

/// Whether util-linux's `script` (a pseudo-terminal for the child) is here.
fn have_script() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_refused_review_is_3_and_writes_nothing() {
    if !have_script() {
        assert!(
            !aidx_e2e::require_real(),
            "util-linux `script` is needed for the terminal"
        );
        eprintln!("SKIPPED: no `script` command for a pseudo-terminal");
        return;
    }
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::ZERO);
    let repo = repo_with_editor(&server, "");
    // `script` gives aidx a terminal; the answer "n" arrives on it. `-e` returns the child's status.
    let command = format!(
        "{} edit --plan artifacts/plan.md",
        aidx_e2e::aidx_bin().display()
    );
    let base = aidx_e2e::aidx(&repo.root, &repo.home);
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(&repo.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in base.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let mut running = script.spawn().unwrap();
    {
        use std::io::Write as _;
        let stdin = running.stdin.as_mut().unwrap();
        // The question comes after the Editor's reply; the terminal keeps the answer until then.
        stdin.write_all(b"n\n").unwrap();
    }
    let out = running.wait_with_output().unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(code(&out), 3, "{stdout}\n{stderr}");
    assert_eq!(repo.read("calc.py"), CALC);
}

#[test]
fn an_interrupt_is_130_and_leaves_the_files_as_they_were() {
    let server = ScriptedServer::start(vec![GOOD.into()], Duration::from_secs(20));
    let repo = repo_with_editor(&server, "");
    let mut child = aidx_e2e::aidx(&repo.root, &repo.home)
        .args(["edit", "--plan", "artifacts/plan.md", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the request is in flight, then Ctrl-C.
    let started = std::time::Instant::now();
    while server.requests() == 0 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.requests(), 1, "the Editor was never asked");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let waited = std::time::Instant::now();
    let out = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            waited.elapsed() < Duration::from_secs(15),
            "aidx did not stop within 15 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (_, stderr) = texts(&out);
    assert_eq!(code(&out), 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(repo.read("calc.py"), CALC);
}
