//! `aidx apply FILE [--dry-run]`: apply a saved Editor reply to the repository, like aider's
//! `--apply`. Transactional: if any block fails, no file is written and each failure is shown
//! with the closest real lines; the command succeeds only when every block applied. Edits that
//! leave a file with new syntax errors are applied with a warning naming the lines.

use std::io::IsTerminal;
use std::path::PathBuf;

use aidx_agent_core::edit::{self, EditFormat, EditOutcome};
use aidx_agent_core::git::{self, CommitIntent, CommitType, EditRepo, InterruptGuard, LandOptions};
use anyhow::{Context, bail};

/// The reply format accepted on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum ReplyFormat {
    /// SEARCH/REPLACE blocks.
    #[default]
    SearchReplace,
    /// Whole files in fences.
    Whole,
}

/// Arguments of `aidx apply`.
#[derive(clap::Args, Debug)]
pub struct ApplyArgs {
    /// File holding the edit reply (the format the Editor emits).
    pub file: PathBuf,
    /// Print the diff and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Format of the reply.
    #[arg(long, value_enum, default_value_t = ReplyFormat::SearchReplace)]
    pub format: ReplyFormat,
    /// Conventional Commits type of the commit.
    #[arg(long = "type", default_value = "chore")]
    pub commit_type: String,
    /// Commit subject (default: "apply edits from FILE").
    #[arg(long)]
    pub subject: Option<String>,
    /// Commit scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// Plan file named in the `Plan:` trailer.
    #[arg(long, default_value = "artifacts/plan.md")]
    pub plan: String,
    /// Research reference ids for the `Refs:` trailer (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub refs: Vec<String>,
}

/// Runs `aidx apply` in the repository containing the current directory. `options` come from
/// the configuration (`dirty-commits`, `auto-commits`).
pub fn run(args: ApplyArgs, options: LandOptions) -> anyhow::Result<()> {
    let reply = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading the edit reply {}", args.file.display()))?;
    let cwd = std::env::current_dir().context("finding the current directory")?;
    let repo = EditRepo::discover(&cwd)?;

    let format = match args.format {
        ReplyFormat::SearchReplace => EditFormat::SearchReplace,
        ReplyFormat::Whole => EditFormat::Whole,
    };
    let (outcome, total) = match format {
        EditFormat::SearchReplace => {
            let blocks = edit::parse_search_replace(&reply, &[])?;
            (
                edit::plan_edits(&blocks, |p: &str| repo.read_for_edit(p)),
                blocks.len(),
            )
        }
        EditFormat::Whole => {
            let files = edit::parse_whole_files(&reply, &[])?;
            (
                edit::plan_whole_files(&files, |p: &str| repo.read_for_edit(p)),
                files.len(),
            )
        }
    };
    if total == 0 {
        bail!(
            "{} contains no edit blocks; nothing to apply",
            args.file.display()
        );
    }
    if !outcome.is_complete() {
        print_failures(&outcome, total);
        bail!(
            "{} of {total} blocks failed; no file was changed",
            outcome.failures.len()
        );
    }

    // The reply is the user's own choice, so new syntax errors are shown, not refused.
    for broken in edit::syntax_regressions(&outcome.changes) {
        for issue in broken.describe(3) {
            eprintln!("warning: {}: {issue}", broken.path);
        }
    }

    let colour = std::io::stdout().is_terminal();
    let show = |diff: &str| {
        if colour {
            git::render_colored(diff)
        } else {
            diff.to_string()
        }
    };
    if args.dry_run {
        print!("{}", show(&repo.preview(&outcome.changes)?));
        eprintln!(
            "dry run: {total} blocks would apply to {} files; nothing written",
            outcome.changes.len()
        );
        return Ok(());
    }

    let commit_type = CommitType::parse(&args.commit_type).with_context(|| {
        format!(
            "`{}` is not a Conventional Commits type (feat, fix, docs, refactor, perf, chore, …)",
            args.commit_type
        )
    })?;
    let subject = args
        .subject
        .clone()
        .unwrap_or_else(|| format!("apply edits from {}", file_label(&args.file)));
    let mut intent = CommitIntent::new(commit_type, subject);
    intent.scope = args.scope.clone();
    intent.plan_path = args.plan.clone();
    intent.refs = args.refs.clone();

    let _guard = InterruptGuard::install();
    let landed = repo.land(&outcome.changes, &intent, &git::new_run_id(), &options)?;
    print!("{}", show(&landed.diff));
    if let Some(user) = landed.user_commit {
        eprintln!(
            "committed your uncommitted changes first as {}",
            short(user)
        );
    }
    match landed.commit {
        Some(commit) => eprintln!(
            "applied {total} blocks to {} files; committed {}",
            landed.paths.len(),
            short(commit)
        ),
        None => eprintln!(
            "applied {total} blocks to {} files; left staged (auto-commits is off)",
            landed.paths.len()
        ),
    }
    if git::interrupt::interrupted() {
        bail!("interrupted after the edits landed; the repository is consistent");
    }
    Ok(())
}

fn print_failures(outcome: &EditOutcome, total: usize) {
    for failure in &outcome.failures {
        eprintln!(
            "block {} ({}) failed: {}",
            failure.index + 1,
            failure.block.path,
            failure.reason
        );
        if let Some(closest) = &failure.closest {
            eprintln!(
                "  closest lines {}.. ({:.0}% similar):",
                closest.start_line,
                closest.similarity * 100.0
            );
            for line in closest.text.lines() {
                eprintln!("  | {line}");
            }
        }
    }
    let applied: Vec<String> = outcome
        .applied
        .iter()
        .map(|(i, s)| format!("{} ({s})", i + 1))
        .collect();
    if !applied.is_empty() {
        eprintln!(
            "blocks that matched ({} of {total}): {}",
            applied.len(),
            applied.join(", ")
        );
    }
}

fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn short(oid: git::Oid) -> String {
    oid.to_string()[..10].to_string()
}
