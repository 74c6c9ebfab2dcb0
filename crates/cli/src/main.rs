//! `aidx`: turns a request into a reviewed, committed change inside a git repository.
//!
//! This binary is thin: it parses arguments, loads the layered configuration, and calls the
//! library crates. Errors end here as `anyhow` reports with a non-zero exit status.

mod commands;
mod context;
mod exit;
mod interrupt;
mod roles;

use clap::{Parser, Subcommand};

use crate::context::GlobalArgs;

/// aidx — a local-first coding agent: research → plan → edit → review → commit.
#[derive(Parser, Debug)]
#[command(name = "aidx", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    /// Without a command, aidx opens interactive mode in the current repository.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the merged configuration and where each value came from.
    Config(commands::config::ConfigArgs),
    /// Fetch, list and requantize local models.
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    /// Chat once with a local GGUF model on the embedded engine (smoke test; prints speeds).
    Chat(commands::chat::ChatArgs),
    /// VRAM/RAM budget for a model: weights + KV cache + overhead, the largest context that fits.
    Budget(commands::budget::BudgetArgs),
    /// Check the set-up; `--stress` measures the memory budget against the real engine.
    Doctor(commands::doctor::DoctorArgs),
    /// Ranked repository map (tree-sitter tags + PageRank) within a hard token budget.
    Map(commands::map::MapArgs),
    /// Research + Plan only: write artifacts/plan.md and print the token usage.
    Plan(commands::plan::PlanArgs),
    /// Research → plan → hard reset → edit → review → validate → commit.
    Run(commands::run::RunArgs),
    /// Run the Editor alone on an existing plan (artifacts/plan.md).
    Edit(commands::run::EditArgs),
    /// Apply an edit reply (SEARCH/REPLACE blocks) from a file, transactionally.
    Apply(commands::apply::ApplyArgs),
    /// Revert the last aidx commit (only if it is aidx's and not pushed).
    Undo(commands::undo::UndoArgs),
    /// Show the last aidx change.
    Diff(commands::diff::DiffArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.command.as_ref().is_none_or(Command::may_run_the_engine) {
        ensure_passive_openmp_when_busy();
    }
    if cli.command.as_ref().is_some_and(Command::only_prints) {
        restore_default_sigpipe();
    }
    context::init_tracing(cli.global.verbose);
    match run(cli) {
        Ok(()) => exit::Status::Success.into(),
        Err(error) => {
            let text = format!("{error:#}");
            if !text.is_empty() {
                eprintln!("error: {text}");
            }
            exit::status_of(&error).into()
        }
    }
}

impl Command {
    /// Commands that may load the embedded engine (llama.cpp's OpenMP threads): only these
    /// are worth re-executing for the waiting policy.
    fn may_run_the_engine(&self) -> bool {
        matches!(
            self,
            Command::Chat(_)
                | Command::Doctor(_)
                | Command::Plan(_)
                | Command::Run(_)
                | Command::Edit(_)
        )
    }

    /// Commands that only read and print (no network, no child processes, no writes to the
    /// repository), where a closed stdout should simply end the process.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Config(_) | Command::Budget(_) | Command::Map(_) | Command::Diff(_)
        )
    }
}

/// The embedded llama.cpp engine runs its threads with OpenMP, which spins while it waits.
/// That is fastest on an idle machine and a collapse on a busy one: on this 2-core box, decode
/// measured ~165 tok/s spinning vs ~55 passive when idle, but 0.6–2.4 tok/s spinning vs 72–94
/// passive while builds ran (BENCHMARKS.md). libgomp reads `OMP_WAIT_POLICY` only when it is
/// loaded, before `main`, so when the variable is unset and the machine is already busy (1-minute
/// load average ≥ half the cores) aidx re-executes itself once with `PASSIVE`. A user's own
/// setting is always kept.
fn ensure_passive_openmp_when_busy() {
    #[cfg(unix)]
    if std::env::var_os("OMP_WAIT_POLICY").is_none() && machine_is_busy() {
        use std::os::unix::process::CommandExt as _;
        if let Ok(exe) = std::env::current_exe() {
            let mut args = std::env::args_os();
            let argv0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
            let error = std::process::Command::new(&exe)
                .arg0(argv0)
                .args(args)
                .env("OMP_WAIT_POLICY", "PASSIVE")
                .exec();
            // exec only returns on failure: carry on with the default policy.
            eprintln!("note: could not re-execute with OMP_WAIT_POLICY=PASSIVE: {error}");
        }
    }
}

/// Whether the 1-minute load average is at least half the number of cores.
fn machine_is_busy() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .is_some_and(|load| load >= cores as f64 / 2.0)
}

/// Rust ignores SIGPIPE, so `aidx budget | head` would panic on the closed pipe inside
/// `println!`. For print-only commands the default action (end quietly, as `cat` does) is
/// restored; the others keep it ignored so a closed socket or child pipe is an error, not death.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let global = cli.global;
    let Some(command) = cli.command else {
        return commands::interactive::run(&global);
    };
    match command {
        Command::Config(args) => commands::config::run(args, &global),
        Command::Model(cmd) => commands::model::run(cmd, &global),
        Command::Chat(args) => commands::chat::run(args, &global),
        Command::Budget(args) => commands::budget::run(args),
        Command::Doctor(args) => commands::doctor::run(args, &global),
        Command::Map(args) => {
            let ctx = context::Context::load(&global)?;
            commands::map::run(args, ctx.config.map_tokens)
        }
        Command::Plan(args) => commands::plan::run(args, &global),
        Command::Run(args) => commands::run::run(args, &global),
        Command::Edit(args) => commands::run::edit(args, &global),
        Command::Apply(args) => {
            let ctx = context::Context::load(&global)?;
            commands::apply::run(args, ctx.land_options())
        }
        Command::Undo(args) => commands::undo::run(args),
        Command::Diff(args) => commands::diff::run(args),
    }
}
