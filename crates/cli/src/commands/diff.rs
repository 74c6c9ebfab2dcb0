//! `aidx diff`: show the last change aidx committed.

use std::io::IsTerminal;

use aidx_agent_core::git::{self, EditRepo};
use anyhow::Context;

/// Arguments of `aidx diff`.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// Never colour the output (default: colour when stdout is a terminal).
    #[arg(long)]
    pub no_color: bool,
}

/// Runs `aidx diff` in the repository containing the current directory.
pub fn run(args: DiffArgs) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let repo = EditRepo::discover(&cwd)?;
    let Some(change) = repo.last_change()? else {
        println!("no aidx commit found in this branch's history");
        return Ok(());
    };
    let colour = !args.no_color && std::io::stdout().is_terminal();
    println!("commit {}", change.commit);
    for line in change.message.lines() {
        println!("    {line}");
    }
    println!();
    if colour {
        print!("{}", git::render_colored(&change.diff));
    } else {
        print!("{}", change.diff);
    }
    Ok(())
}
