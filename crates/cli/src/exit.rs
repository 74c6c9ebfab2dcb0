//! The process's exit statuses: one per way a command can end, so scripts can tell a refused
//! review from a failed edit from a broken configuration without parsing messages. README's
//! "Exit statuses" table lists the same numbers; keep them in step.

use std::fmt;
use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The command did what was asked (for `run`/`edit`: committed, staged, or nothing to change).
    Success,
    /// Any other error: I/O, git, a model or server that failed.
    Failure,
    /// The configuration or the command line is wrong (clap's usage errors also exit 2).
    Config,
    /// The reviewer refused the diff; nothing was written.
    Rejected,
    /// The Editor's edits still failed after the last reflection; nothing was written.
    EditFailed,
    /// The edits were applied and staged, but `lint-cmd` or `test-cmd` failed: not committed.
    ChecksFailed,
    /// The review needs a terminal and there is none, and neither `--yes` nor `--dry-run` was given.
    NoTerminal,
    /// Ctrl-C (or SIGTERM) stopped the command; no file was left half-written.
    Interrupted,
}

impl Status {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Config => 2,
            Status::Rejected => 3,
            Status::EditFailed => 4,
            Status::ChecksFailed => 5,
            Status::NoTerminal => 6,
            Status::Interrupted => 130,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error that ends the process with a given [`Status`] (everything else exits with
/// [`Status::Failure`]). Its message is printed as the error.
#[derive(Debug)]
pub struct Exit {
    /// The exit status.
    pub status: Status,
    /// What to print after `error: ` (may be empty when the report already said it all).
    pub message: String,
}

impl Exit {
    /// An error with this status and message.
    pub fn error(status: Status, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Exit {
            status,
            message: message.into(),
        })
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The status an error ends the process with.
pub fn status_of(error: &anyhow::Error) -> Status {
    error
        .chain()
        .find_map(|e| e.downcast_ref::<Exit>())
        .map_or(Status::Failure, |e| e.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_distinct_and_match_the_readme() {
        let all = [
            Status::Success,
            Status::Failure,
            Status::Config,
            Status::Rejected,
            Status::EditFailed,
            Status::ChecksFailed,
            Status::NoTerminal,
            Status::Interrupted,
        ];
        let mut codes: Vec<u8> = all.iter().map(|s| s.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        let readme = include_str!("../../../README.md");
        for status in all {
            let row = format!("| {} |", status.code());
            assert!(
                readme.contains(&row),
                "README's exit-status table has no row `{row}` for {status:?}"
            );
        }
    }

    #[test]
    fn a_wrapped_exit_keeps_its_status() {
        let e = Exit::error(Status::Config, "bad key").context("loading");
        assert_eq!(status_of(&e), Status::Config);
        assert_eq!(status_of(&anyhow::anyhow!("other")), Status::Failure);
    }
}
