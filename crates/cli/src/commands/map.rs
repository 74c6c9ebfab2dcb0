//! `aidx map`: print the repository map the Researcher would send for a request.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aidx_repo_map::{
    DEFAULT_HISTORY_COMMITS, HistoryReader, MapOptions, Progress, RepoMap, Research,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Cold builds shorter than this show no progress bar.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// Arguments of `aidx map`.
#[derive(clap::Args, Debug)]
pub struct MapArgs {
    /// Directory to map (inside a git repository or not).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Token budget of the map: a hard cap, counted with cl100k_base [default: the configured map-tokens].
    #[arg(long, value_name = "N")]
    pub tokens: Option<usize>,

    /// Files in the chat: they steer the ranking and are left out of the map.
    #[arg(long, value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    pub focus: Vec<PathBuf>,

    /// Identifiers to rank up, as if the request mentioned them.
    #[arg(long, value_name = "IDENT", num_args = 1.., action = clap::ArgAction::Append)]
    pub mention: Vec<String>,

    /// The request text; identifiers and file names in it steer the ranking.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub request: String,

    /// Print one JSON object instead of the map: map, tokens, budget, files (those the map shows),
    /// ranked_files (the ranking, longer than the map, each with the signals behind it), refs, stats.
    #[arg(long)]
    pub json: bool,

    /// Print build statistics to stderr.
    #[arg(long)]
    pub stats: bool,

    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = aidx_repo_map::DEFAULT_MAX_FILE_BYTES)]
    pub max_file_bytes: u64,

    /// Neither read nor write the cache under PATH/.aidx/cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// Runs `aidx map`; `default_map_tokens` is the configured budget used when `--tokens` is absent.
pub fn run(args: MapArgs, default_map_tokens: usize) -> anyhow::Result<()> {
    let options = MapOptions {
        map_tokens: args.tokens.unwrap_or(default_map_tokens),
        max_file_bytes: args.max_file_bytes,
        use_disk_cache: !args.no_cache,
        ..MapOptions::default()
    };
    let bar = cold_build_progress_bar();
    let started = Instant::now();
    let map = RepoMap::new(&args.path, options)?.with_progress({
        let bar = bar.clone();
        move |p: Progress| {
            if bar.is_hidden()
                && started.elapsed() >= PROGRESS_AFTER
                && std::io::stderr().is_terminal()
            {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
        }
    });
    // The repository's recent history ranks recent and co-changed files up, and the user's
    // uncommitted files seed it, as in a session.
    match HistoryReader::open(&args.path).and_then(|mut r| {
        let history = r.history("HEAD", DEFAULT_HISTORY_COMMITS)?;
        Ok((history, r.working_files().unwrap_or_default()))
    }) {
        Ok((history, working)) => {
            map.set_history(Some(history));
            map.set_working_files(working);
        }
        Err(e) => tracing::debug!("mapping without history: {e}"),
    }
    let research = map.research(&args.request, &args.focus, &args.mention);
    bar.finish_and_clear();
    let research = research?;

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &json(&research, map.options().map_tokens))?;
        writeln!(out)?;
    } else {
        out.write_all(research.map.as_bytes())?;
    }
    out.flush()?;
    if args.stats {
        print_stats(&research, map.options().map_tokens);
    }
    Ok(())
}

fn cold_build_progress_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} parsing {pos}/{len} files [{elapsed}] {wide_bar}")
    {
        bar.set_style(style);
    }
    bar
}

fn json(research: &Research, budget: usize) -> serde_json::Value {
    serde_json::json!({
        "map": research.map,
        "tokens": research.tokens,
        "budget": budget,
        // What the map shows, in its order; the ranking behind it (longer than the map has
        // room for) is `ranked_files`, each with the signals that placed it.
        "files": research.shown,
        "ranked_files": research.files,
        "refs": research.refs,
        "stats": research.stats,
    })
}

fn print_stats(research: &Research, budget: usize) {
    let s = &research.stats;
    eprintln!(
        "files: {} seen, {} parsed, {} cached, {} skipped ({} timed out)\n\
         tags: {}\n\
         time: walk {} ms, parse {} ms, rank {} ms{}, render {} ms\n\
         map: {} of {} tokens, {} lines from {} files{}",
        s.files_seen,
        s.files_parsed,
        s.files_cached,
        s.files_skipped,
        s.files_timed_out,
        s.tags,
        s.walk_ms,
        s.parse_ms,
        s.rank_ms,
        if s.rank_cached { " (cached)" } else { "" },
        s.render_ms,
        research.tokens,
        budget,
        research.refs.len(),
        research
            .refs
            .iter()
            .map(|r| &r.path)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        if s.cache_rebuilt {
            "; a damaged cache was rebuilt"
        } else {
            ""
        },
    );
}
