//! `aidx run` and `aidx edit`: the pipeline from the command line.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use aidx_agent_core::git::{self, EditRepo, GitError};
use aidx_agent_core::pipeline::{
    AutoApprove, Event, Observer, Phase, Pipeline, PipelineError, ReviewAnswer, ReviewDecision,
    ReviewRequest, Reviewer, RouteChoice, RunReport, RunStatus,
};
use anyhow::Context as _;

use crate::context::{Context, GlobalArgs};
use crate::exit::{Exit, Status};

/// Arguments of `aidx run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The request, in one line.
    #[arg(short, long, required_unless_present = "message_file")]
    pub message: Option<String>,
    /// Read the request from a file.
    #[arg(long, conflicts_with = "message")]
    pub message_file: Option<PathBuf>,
    /// Where the request is planned: `local` (the local model plans; no cloud call), `architect`
    /// (the cloud Architect plans), or `auto` (the researcher.router model decides, or a
    /// heuristic without one; the decision and its reason are printed).
    #[arg(long, default_value = "auto", value_parser = parse_route)]
    pub route: RouteChoice,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_route(text: &str) -> Result<RouteChoice, String> {
    RouteChoice::parse(text)
        .ok_or_else(|| format!("`{text}` is not a route: use local, architect or auto"))
}

/// Arguments of `aidx edit`.
#[derive(clap::Args, Debug)]
pub struct EditArgs {
    /// The plan to carry out.
    #[arg(long, default_value = "artifacts/plan.md")]
    pub plan: PathBuf,
    /// The request (default: the plan's goal).
    #[arg(short, long)]
    pub message: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags shared by `run` and `edit`.
#[derive(clap::Args, Debug)]
pub struct CommonArgs {
    /// Files to add to the chat (the Editor sees their current text).
    #[arg(long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Approve the diff without asking (non-interactive).
    #[arg(short, long, conflicts_with = "dry_run")]
    pub yes: bool,
    /// Research, plan and edit in memory, print the diff and the commit message, and write
    /// nothing: no file, no plan.md, no commit (non-interactive).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Commit even when lint-cmd or test-cmd fails.
    #[arg(long)]
    pub commit_on_failed_checks: bool,
}

/// Runs `aidx run`.
pub fn run(args: RunArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let request = match (&args.message, &args.message_file) {
        (Some(m), _) => m.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the request from {}", file.display()))?,
        (None, None) => anyhow::bail!("give the request with -m \"...\" or --message-file FILE"),
    };
    execute(global, &args.common, args.route, |pipeline| {
        pipeline.run(&request, &args.common.files)
    })
}

/// Runs `aidx edit --plan`.
pub fn edit(args: EditArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    execute(global, &args.common, RouteChoice::Auto, |pipeline| {
        pipeline.edit_only(&args.plan, args.message.as_deref(), &args.common.files)
    })
}

fn execute(
    global: &GlobalArgs,
    common: &CommonArgs,
    route: RouteChoice,
    go: impl FnOnce(&mut Pipeline<'_>) -> Result<RunReport, PipelineError>,
) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let cwd = std::env::current_dir()?;
    let repo = EditRepo::discover(&cwd).context("aidx run needs a git repository")?;
    // The review question needs a terminal. Without one, say so now, before a model is loaded or
    // a server is called, rather than after the work is done.
    if !common.yes && !common.dry_run && !std::io::stdin().is_terminal() {
        return Err(Exit::error(
            Status::NoTerminal,
            "no terminal to review the diff on (standard input is not a terminal). \
             Pass --yes to approve the diff without review, --dry-run to see it and write \
             nothing, or run aidx in a terminal; \
             `aidx plan -m \"…\"` writes the plan alone",
        ));
    }
    let mut observer = Printer {
        quiet: common.json,
        streaming: false,
    };
    observer.event(&Event::Phase {
        phase: Phase::Load,
        detail: "loading the editor model",
    });
    let mut notes = Vec::new();
    let (mut editor, _, mut side) = crate::roles::editor_and_side_models(&ctx, &mut notes)?;
    for note in notes {
        eprintln!("note: {note}");
    }
    let mut interactive = Interactive;
    let mut auto = AutoApprove;
    let mut dry = DryRun::default();
    let reviewer: &mut dyn Reviewer = if common.dry_run {
        &mut dry
    } else if common.yes {
        &mut auto
    } else {
        &mut interactive
    };
    let mut researcher = crate::roles::researcher(&ctx, repo.root());
    let mut planner = crate::roles::planner(&ctx, repo.root())?;
    let ctrl_c = crate::interrupt::CtrlC::install();
    let options = aidx_agent_core::pipeline::RunOptions {
        cancel: ctrl_c.token().clone(),
        commit_on_failed_checks: common.commit_on_failed_checks,
        write_plan: !common.dry_run,
        route,
        ..Default::default()
    };
    let mut pipeline = Pipeline::new(&repo, &ctx.config, editor.as_mut(), reviewer)
        .with_observer(&mut observer)
        .with_options(options);
    if let Some(r) = researcher.as_deref_mut() {
        pipeline = pipeline.with_researcher(r);
    }
    if let Some(p) = planner.as_deref_mut() {
        pipeline = pipeline.with_planner(p);
    }
    pipeline = side.attach(pipeline);
    let report = match go(&mut pipeline) {
        Ok(report) => report,
        Err(PipelineError::Git(GitError::Interrupted)) => {
            // Returned, not `process::exit`: the pipeline, the engine and the guard drop first.
            return Err(Exit::error(
                Status::Interrupted,
                "interrupted: no file was left half-written",
            ));
        }
        // Ctrl-C while a model was generating: the role reports its cancelled request as a
        // failure, but what happened is the interrupt.
        Err(_) if ctrl_c.interrupted() => {
            return Err(Exit::error(
                Status::Interrupted,
                "interrupted: no file was left half-written",
            ));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    // The last streamed reply may not end its line; the report starts on a fresh one.
    drop(pipeline);
    observer.end_stream();
    if common.dry_run && dry.seen {
        if common.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.diff);
            if let Some(message) = &report.commit_message {
                println!("--- commit message ---\n{message}");
            }
            println!("dry run: nothing was written (no file, no plan.md, no commit)");
        }
        return Ok(());
    }
    if common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.succeeded() {
        let status = match report.status {
            RunStatus::Rejected => Status::Rejected,
            RunStatus::EditFailed => Status::EditFailed,
            RunStatus::ChecksFailed => Status::ChecksFailed,
            _ => Status::Failure,
        };
        return Err(Exit::error(
            status,
            "the run did not complete (see the report above)",
        ));
    }
    Ok(())
}

/// Progress on stderr; streamed model text too, unless `--json`.
struct Printer {
    quiet: bool,
    streaming: bool,
}

impl Printer {
    fn end_stream(&mut self) {
        if self.streaming {
            eprintln!();
            self.streaming = false;
        }
    }
}

impl Observer for Printer {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Phase { phase, detail } => {
                self.end_stream();
                eprintln!("[{phase}] {detail}");
            }
            Event::Text { text, .. } => {
                if !self.quiet {
                    self.streaming = true;
                    eprint!("{text}");
                }
            }
            Event::Notice(text) => {
                self.end_stream();
                eprintln!("note: {text}");
            }
            Event::GateTrimmed {
                messages,
                limit,
                summarized,
            } => {
                self.end_stream();
                let how = if *summarized { "summarized" } else { "trimmed" };
                eprintln!("note: {messages} earlier message(s) {how} to stay under {limit} tokens");
            }
            Event::Check { name, passed } => {
                self.end_stream();
                eprintln!(
                    "[validate] {name}: {}",
                    if *passed { "passed" } else { "FAILED" }
                );
            }
            // The report printed at the end lists prompts, attempts and failed blocks.
            Event::Prompt(_)
            | Event::Attempt { .. }
            | Event::BlockFailed { .. }
            | Event::Reflection { .. }
            | Event::Finished(_) => {}
        }
    }
}

/// `--dry-run`: notes that a change reached review, and writes nothing.
#[derive(Default)]
struct DryRun {
    seen: bool,
}

impl Reviewer for DryRun {
    fn review(&mut self, _request: &ReviewRequest<'_>) -> ReviewAnswer {
        self.seen = true;
        ReviewDecision::Reject {
            reason: "dry run".into(),
        }
        .into()
    }
}

/// Shows the coloured diff and asks on the terminal; without a terminal, rejects and says how
/// to approve non-interactively.
struct Interactive;

impl Reviewer for Interactive {
    fn review(&mut self, request: &ReviewRequest<'_>) -> ReviewAnswer {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return ReviewDecision::Reject {
                reason:
                    "no terminal to review the diff on; pass --yes to approve non-interactively"
                        .into(),
            }
            .into();
        }
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let shown = if colour {
            git::render_colored(request.diff)
        } else {
            request.diff.to_string()
        };
        eprintln!("{shown}");
        eprintln!("--- commit message ---\n{}", request.commit_message);
        eprint!(
            "Apply these changes to {} file(s)? [y/N] ",
            request.files.len()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = stdin.lock().read_line(&mut answer);
        if matches!(answer.trim(), "y" | "Y" | "yes") {
            ReviewDecision::Approve.into()
        } else {
            ReviewDecision::Reject {
                reason: "rejected at review".into(),
            }
            .into()
        }
    }
}
