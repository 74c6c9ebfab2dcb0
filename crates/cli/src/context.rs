//! Global flags, configuration loading and logging shared by every subcommand.

use aidx_agent_core::config::{self, Config, LoadOptions, Settings};
use aidx_agent_core::git::LandOptions;
use anyhow::Context as _;

use crate::exit::{Exit, Status};

/// Flags accepted by every subcommand. They form the last configuration layer.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Set any configuration key, e.g. `--set editor.kv-type=q8_0` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    pub set: Vec<String>,
    /// The context gate: most chat-history tokens sent to any role.
    #[arg(long, value_name = "TOKENS", global = true)]
    pub max_chat_history_tokens: Option<String>,
    /// Hard cap on the repo map's tokens.
    #[arg(long, value_name = "TOKENS", global = true)]
    pub map_tokens: Option<String>,
    /// Editor model: a GGUF path or known model id.
    #[arg(long, value_name = "MODEL", global = true)]
    pub editor_model: Option<String>,
    /// Architect model name.
    #[arg(long, value_name = "MODEL", global = true)]
    pub architect_model: Option<String>,
    /// Device memory for the budget, e.g. 12GiB.
    #[arg(long, value_name = "SIZE", global = true)]
    pub vram: Option<String>,
    /// More logging (-v info, -vv debug); AIDX_LOG / RUST_LOG filters override.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl GlobalArgs {
    /// The command-line configuration layer as `(key, value, flag)` triples.
    pub fn settings(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        let mut out = Vec::new();
        for item in &self.set {
            let (key, value) = item.split_once('=').with_context(|| {
                format!("--set {item}: expected KEY=VALUE, e.g. --set editor.kv-type=q8_0")
            })?;
            out.push((
                key.trim().to_string(),
                value.trim().to_string(),
                format!("--set {item}"),
            ));
        }
        let named = [
            (
                "max-chat-history-tokens",
                &self.max_chat_history_tokens,
                "--max-chat-history-tokens",
            ),
            ("map-tokens", &self.map_tokens, "--map-tokens"),
            ("editor.model", &self.editor_model, "--editor-model"),
            (
                "architect.model",
                &self.architect_model,
                "--architect-model",
            ),
            ("gpu.vram", &self.vram, "--vram"),
        ];
        for (key, value, flag) in named {
            if let Some(value) = value {
                out.push((key.to_string(), value.clone(), format!("{flag} {value}")));
            }
        }
        Ok(out)
    }
}

/// The loaded configuration and where aidx runs.
#[derive(Debug)]
pub struct Context {
    /// The merged settings with origins.
    pub settings: Settings,
    /// The typed configuration.
    pub config: Config,
}

impl Context {
    /// Loads the layered configuration for the current directory.
    pub fn load(global: &GlobalArgs) -> anyhow::Result<Context> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let repo_root = config::find_repo_root(&cwd);
        let layer = global
            .settings()
            .map_err(|e| Exit::error(Status::Config, format!("{e:#}")))?;
        let options = LoadOptions::from_process(repo_root, layer);
        let settings =
            Settings::load(&options).map_err(|e| Exit::error(Status::Config, e.to_string()))?;
        let config = settings.config();
        Ok(Context { settings, config })
    }

    /// Git landing options from the configuration.
    pub fn land_options(&self) -> LandOptions {
        LandOptions {
            dirty_commits: self.config.dirty_commits,
            auto_commits: self.config.auto_commits,
        }
    }
}

/// Logs go to stderr; `AIDX_LOG` (or `RUST_LOG`) filters, `-v` raises the default level.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = std::env::var("AIDX_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| {
            // The engine is chatty at info; keep it at warn unless asked.
            format!(
                "{default},mistralrs_core=error,mistralrs=error,mistralrs_quant=error,llama_cpp_2=error"
            )
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
