//! `aidx --help`, `aidx config` on good and broken configurations.

use aidx_e2e::{TempRepo, texts};

#[test]
fn help_lists_the_subcommands() {
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    let out = repo.run(&["--help"]);
    assert!(out.status.success());
    let (stdout, _) = texts(&out);
    for sub in ["config", "model", "chat", "budget", "apply", "undo", "diff"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "`aidx --help` does not list `{sub}`:\n{stdout}"
        );
    }
}

#[test]
fn config_prints_each_value_with_its_origin() {
    let repo =
        TempRepo::with_files(&[(".aidx.yml", "map-tokens: 777\neditor:\n  kv-type: q8_0\n")]);
    std::fs::write(
        repo.home.join(".aidx.yml"),
        "max-chat-history-tokens: 999\n",
    )
    .unwrap();
    let out = aidx_e2e::aidx(&repo.root, &repo.home)
        .env("AIDX_EDITOR_MAX_TOKENS", "42")
        .args(["config", "--set", "git.auto-commits=false"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
            .to_string()
    };
    assert!(line("map-tokens").contains("777") && line("map-tokens").contains(".aidx.yml:1"));
    assert!(
        line("editor.kv-type").contains("q8_0") && line("editor.kv-type").contains(".aidx.yml:3")
    );
    assert!(
        line("max-chat-history-tokens").contains("999")
            && line("max-chat-history-tokens").contains("home")
    );
    assert!(
        line("editor.max-tokens").contains("42")
            && line("editor.max-tokens").contains("env AIDX_EDITOR_MAX_TOKENS")
    );
    assert!(
        line("git.auto-commits").contains("false")
            && line("git.auto-commits").contains("flag --set")
    );
    assert!(line("git.dirty-commits").contains("# default"));

    let json = aidx_e2e::aidx(&repo.root, &repo.home)
        .args(["config", "--json"])
        .output()
        .unwrap();
    let value: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("config --json is JSON");
    assert_eq!(value["settings"]["map-tokens"]["value"], 777);
}

#[test]
fn a_broken_config_fails_with_file_line_key_and_suggestion_and_changes_nothing() {
    let broken = "map-tokens: 512\neditor:\n  provider: embedded\n  modle: x.gguf\ngpu: { vram: 12 parsecs }\n";
    let repo = TempRepo::with_files(&[(".aidx.yml", broken), ("src/lib.rs", "fn main() {}\n")]);
    let before = snapshot(&repo.root);
    let out = repo.run(&["config"]);
    assert!(!out.status.success(), "a broken config must exit non-zero");
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains(".aidx.yml:4: editor.modle: unknown key"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `editor.model`?"), "{stderr}");
    assert!(stderr.contains(".aidx.yml:5: gpu.vram"), "{stderr}");
    assert!(stderr.contains("not a size unit"), "{stderr}");
    assert_eq!(snapshot(&repo.root), before, "aidx config changed files");
    // Other commands refuse to run on a broken configuration too.
    let out = repo.run(&["chat", "hello"]);
    assert!(!out.status.success());
    assert!(texts(&out).1.contains("editor.modle"));
}

fn snapshot(root: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_closed_stdout_ends_a_printing_command_quietly() {
    // `aidx budget … | head -0`: the reader is gone before aidx prints anything, so its first
    // write meets a closed pipe.
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = aidx_e2e::aidx(&repo.root, &repo.home)
        .args([
            "budget",
            "--model",
            "Qwen2.5-Coder-14B-Instruct",
            "--vram",
            "12GiB",
        ])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "aidx panicked on a closed pipe:\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

#[test]
fn an_unknown_route_is_refused_with_the_routes_to_choose_from() {
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    let out = repo.run(&["run", "-m", "rename a", "--route", "cloud", "--yes"]);
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("`cloud` is not a route: use local, architect or auto"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.root.join("a.txt")).unwrap(),
        "a\n"
    );
}
