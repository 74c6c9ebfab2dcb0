//! `aidx chat`: one prompt to a local GGUF model on the embedded engine, streamed, with speeds.

use std::io::Write;

use aidx_editor_local::budget::KvType;
use aidx_editor_local::engine::{
    EmbeddedModel, EngineKind, GenerateRequest, LoadOptions, Message, Role,
};
use aidx_editor_local::models;
use anyhow::Context as _;

use crate::context::{Context, GlobalArgs};

/// Arguments of `aidx chat`.
#[derive(clap::Args, Debug)]
pub struct ChatArgs {
    /// The prompt.
    pub prompt: String,
    /// A GGUF path or known model id (default: the configured editor model).
    #[arg(long)]
    pub model: Option<String>,
    /// Most new tokens.
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// An optional system prompt.
    #[arg(long)]
    pub system: Option<String>,
    /// Print one JSON object with the reply, token counts and speeds instead of streaming.
    #[arg(long)]
    pub json: bool,
}

/// Runs `aidx chat`.
pub fn run(args: ChatArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let model_arg = args
        .model
        .clone()
        .or_else(|| ctx.config.editor.model.clone())
        .context("no model given: pass --model FILE.gguf or set editor.model in .aidx.yml")?;
    let path = models::resolve_model(&model_arg, &ctx.config.models_dir);
    if !path.exists() && models::find_known(&model_arg).is_some() {
        anyhow::bail!(
            "{} is not in the cache yet ({}); run `aidx model pull {}` first",
            model_arg,
            path.display(),
            model_arg
        );
    }
    let kv_type: KvType = ctx
        .config
        .editor
        .kv_type
        .as_deref()
        .unwrap_or("f16")
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = LoadOptions {
        path: path.clone(),
        kv_type,
        context_tokens: ctx.config.editor.context,
        vram_bytes: ctx.config.gpu_vram_bytes,
        engine: EngineKind::from_setting(
            ctx.config.editor.engine.as_deref(),
            aidx_editor_local::device::gpu_in_use(ctx.config.gpu_vram_bytes),
        )
        .map_err(|e| anyhow::anyhow!("editor.engine: {e}"))?,
        engine_auto: EngineKind::is_auto(ctx.config.editor.engine.as_deref()),
        gpu_layers: ctx.config.gpu_layers,
        threads: ctx.config.editor.threads.map(|t| t as usize),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let model = EmbeddedModel::load(options).await?;
        if model.used_fallback_template() {
            eprintln!("note: {} has no chat template; using a ChatML fallback", path.display());
        }
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(Message { role: Role::System, content: system.clone() });
        }
        messages.push(Message { role: Role::User, content: args.prompt.clone() });
        let request = GenerateRequest {
            messages,
            max_new_tokens: args.max_tokens,
            temperature: Some(args.temperature),
            stop: Vec::new(),
            grammar: None,
        };
        let json = args.json;
        let mut stdout = std::io::stdout();
        let mut on_text = |delta: &str| {
            if !json {
                let _ = stdout.write_all(delta.as_bytes());
                let _ = stdout.flush();
            }
        };
        let generation = model.generate(&request, &mut on_text).await?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "model": path.display().to_string(),
                    "text": generation.text,
                    "prompt_tokens": generation.prompt_tokens,
                    "completion_tokens": generation.completion_tokens,
                    "finish": format!("{:?}", generation.finish),
                    "load_ms": model.load_time().as_millis() as u64,
                    "prompt_tok_per_sec": generation.prompt_tok_per_sec,
                    "decode_tok_per_sec": generation.decode_tok_per_sec,
                    "context_tokens": model.context_tokens(),
                }))?
            );
        } else {
            println!();
            eprintln!(
                "[{}] load {:.2} s · prompt {} tok at {:.1} tok/s · decode {} tok at {:.1} tok/s · finish {:?} · context {}",
                path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default(),
                model.load_time().as_secs_f64(),
                generation.prompt_tokens,
                generation.prompt_tok_per_sec,
                generation.completion_tokens,
                generation.decode_tok_per_sec,
                generation.finish,
                model.context_tokens(),
            );
        }
        anyhow::Ok(())
    })
}
