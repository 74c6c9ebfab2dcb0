//! The repository's own git hooks. libgit2 runs none, so an aidx commit would skip the checks a
//! team put in `pre-commit` and `commit-msg`; they are run here as git runs them: from the work
//! tree's root, found in `core.hooksPath` or `.git/hooks`, executable files only, `commit-msg`
//! given the path of a file holding the message (which it may rewrite).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::git::EditRepo;

use super::checks::{CheckReport, report};

/// The hook `name`'s file when it exists and is executable.
pub fn hook(repo: &EditRepo, name: &str) -> Option<PathBuf> {
    let git = repo.repository();
    let dir = match git
        .config()
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok())
    {
        Some(path) if path.is_absolute() => path,
        Some(path) => repo.root().join(path),
        None => git.path().join("hooks"),
    };
    let path = dir.join(name);
    executable(&path).then_some(path)
}

fn executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Runs `pre-commit` on the staged edits; `None` when the repository has none.
pub fn pre_commit(repo: &EditRepo) -> Option<CheckReport> {
    let path = hook(repo, "pre-commit")?;
    Some(run(repo, "pre-commit", &path, &[]))
}

/// Runs `commit-msg` on `message`. Returns the check and the message as the hook left it;
/// `None` when the repository has no such hook.
pub fn commit_msg(repo: &EditRepo, message: &str) -> Option<(CheckReport, String)> {
    let path = hook(repo, "commit-msg")?;
    let file = repo.repository().path().join("COMMIT_EDITMSG");
    if let Err(e) = std::fs::write(&file, message) {
        return Some((
            failed(
                "commit-msg",
                &path,
                format!("cannot write {}: {e}", file.display()),
            ),
            message.to_string(),
        ));
    }
    let report = run(repo, "commit-msg", &path, &[file.as_os_str()]);
    let edited = std::fs::read_to_string(&file).unwrap_or_else(|_| message.to_string());
    Some((report, edited))
}

fn failed(name: &str, path: &Path, output: String) -> CheckReport {
    CheckReport {
        name: name.to_string(),
        command: path.display().to_string(),
        exit_code: None,
        passed: false,
        output,
    }
}

fn run(repo: &EditRepo, name: &str, path: &Path, args: &[&std::ffi::OsStr]) -> CheckReport {
    tracing::info!(hook = name, "running the repository's hook");
    let git_dir = repo.repository().path().to_path_buf();
    let result = Command::new(path)
        .args(args)
        .current_dir(repo.root())
        .env("GIT_DIR", &git_dir)
        .env("GIT_INDEX_FILE", git_dir.join("index"))
        .env("GIT_EDITOR", ":")
        .stdin(Stdio::null())
        .output();
    report(name, &path.display().to_string(), result, || {
        "could not run the hook".to_string()
    })
}
