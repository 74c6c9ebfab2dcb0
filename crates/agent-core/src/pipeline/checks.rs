//! The Validate step: `lint-cmd` and `test-cmd` run in the repository root after the edits are
//! applied, with their output captured for the report.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

/// Most bytes of a check's output kept in the report (the end, where failures are printed).
pub const MAX_CHECK_OUTPUT_BYTES: usize = 16 * 1024;

/// The result of one check command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// `lint` or `test`.
    pub name: String,
    /// The command line, run with `sh -c`.
    pub command: String,
    /// Exit status (`None`: killed by a signal or could not start).
    pub exit_code: Option<i32>,
    /// Whether it exited with status 0.
    pub passed: bool,
    /// Standard output then standard error, the last [`MAX_CHECK_OUTPUT_BYTES`] bytes.
    pub output: String,
}

/// Runs the configured checks in order (`lint` then `test`), all of them even after a failure.
pub fn run_checks(root: &Path, lint_cmd: Option<&str>, test_cmd: Option<&str>) -> Vec<CheckReport> {
    [("lint", lint_cmd), ("test", test_cmd)]
        .into_iter()
        .filter_map(|(name, cmd)| {
            let cmd = cmd?.trim();
            (!cmd.is_empty()).then(|| run_check(root, name, cmd))
        })
        .collect()
}

fn run_check(root: &Path, name: &str, command: &str) -> CheckReport {
    tracing::info!(name, command, "running check");
    let result = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(root)
        .stdin(Stdio::null())
        .output();
    report(name, command, result, || {
        format!("could not start `sh -c {command}`")
    })
}

/// The report of a finished command (or of one that could not start: `why` says what).
pub(crate) fn report(
    name: &str,
    command: &str,
    result: std::io::Result<std::process::Output>,
    why: impl FnOnce() -> String,
) -> CheckReport {
    match result {
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            CheckReport {
                name: name.to_string(),
                command: command.to_string(),
                exit_code: output.status.code(),
                passed: output.status.success(),
                output: tail(&text, MAX_CHECK_OUTPUT_BYTES),
            }
        }
        Err(e) => CheckReport {
            name: name.to_string(),
            command: command.to_string(),
            exit_code: None,
            passed: false,
            output: format!("{}: {e}", why()),
        },
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[… {start} bytes cut …]\n{}", &text[start..])
}
