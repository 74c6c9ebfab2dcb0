//! `aidx undo`: revert the last commit if aidx made it and it is not pushed.

use aidx_agent_core::git::{EditRepo, InterruptGuard};
use anyhow::Context;

/// Arguments of `aidx undo` (none yet).
#[derive(clap::Args, Debug)]
pub struct UndoArgs {}

/// Runs `aidx undo` in the repository containing the current directory.
pub fn run(_args: UndoArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let repo = EditRepo::discover(&cwd)?;
    let _guard = InterruptGuard::install();
    let undone = repo.undo_last()?;
    let short = |oid: aidx_agent_core::git::Oid| oid.to_string()[..10].to_string();
    println!(
        "undid {} \"{}\"; HEAD is now {}; restored {}",
        short(undone.commit),
        undone.summary,
        short(undone.head),
        undone.paths.join(", ")
    );
    Ok(())
}
