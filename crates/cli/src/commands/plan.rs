//! `aidx plan -m "request"`: Research + Plan only; prints where plan.md went and the token usage.

use aidx_agent_core::adapters::cloud::CloudPlanner;
use aidx_agent_core::adapters::research::RepoMapResearcher;
use aidx_agent_core::git::EditRepo;
use aidx_agent_core::pipeline::{
    LocalPlanner, Planner, Researcher, resolve_plan_path, write_plan_atomically,
};
use anyhow::Context as _;

use crate::context::{Context, GlobalArgs};

/// Arguments of `aidx plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// The request, in one line.
    #[arg(short, long)]
    pub message: String,
    /// Files to add to the chat (they steer the repo map).
    #[arg(long = "file", value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
}

/// Runs `aidx plan`.
pub fn run(args: PlanArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let cwd = std::env::current_dir()?;
    let repo = EditRepo::discover(&cwd).context("aidx plan needs a git repository")?;
    let root = repo.root().to_path_buf();
    let mut researcher =
        RepoMapResearcher::new(&root, &ctx.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("[research] mapping the repository");
    let mut research = researcher
        .research(&args.message, &args.files)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Files the user added may be planned for even where the map leaves them out (as `aidx run` does).
    for file in &args.files {
        let rel = file.strip_prefix(&root).unwrap_or(file);
        let rel = std::path::PathBuf::from(
            rel.to_string_lossy()
                .replace('\\', "/")
                .trim_start_matches("./"),
        );
        if !research.files.contains(&rel) {
            research.files.push(rel);
        }
    }
    let mut stream = |text: &str| eprint!("{text}");
    let ctrl_c = crate::interrupt::CtrlC::install();
    let (plan, usage) = match &ctx.config.architect {
        Some(role) => {
            let mut planner =
                CloudPlanner::new(role, &ctx.config, &root).map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "[plan] asking the architect ({}, plan-format {})",
                role.model.as_deref().unwrap_or("?"),
                planner.format().name()
            );
            let plan = planner
                .plan(&args.message, &research, ctrl_c.token(), &mut stream)
                .map_err(|e| ctrl_c.or_interrupted(e, "no plan was written"))?;
            if let Some(attempts) = planner.last_attempts() {
                eprintln!("\n[plan] valid plan after {attempts} request(s)");
            }
            (plan, planner.last_usage())
        }
        None if ctx.config.fully_local => {
            eprintln!("[plan] no architect configured; the local model plans (fully-local)");
            let mut editor = crate::roles::editor(&ctx)?;
            let mut planner = LocalPlanner::new(editor.as_mut(), 1024);
            let plan = planner
                .plan(&args.message, &research, ctrl_c.token(), &mut stream)
                .map_err(|e| ctrl_c.or_interrupted(e, "no plan was written"))?;
            let prompt = planner.last_prompt_tokens() as u64;
            (plan, Some((prompt, 0)))
        }
        None => anyhow::bail!(
            "no architect is configured and fully-local is off: configure `architect:` in .aidx.yml"
        ),
    };
    eprintln!();
    if ctrl_c.interrupted() {
        return Err(crate::exit::Exit::error(
            crate::exit::Status::Interrupted,
            "interrupted: no plan was written",
        ));
    }
    drop(ctrl_c);
    let path =
        resolve_plan_path(&root, &ctx.config.plan_file).map_err(|e| anyhow::anyhow!("{e}"))?;
    write_plan_atomically(&path, &plan.markdown).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("plan written to {}", path.display());
    match usage {
        Some((prompt, completion)) => println!("tokens: prompt {prompt}, completion {completion}"),
        None => println!("tokens: not reported"),
    }
    Ok(())
}
