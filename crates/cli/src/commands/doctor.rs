//! `aidx doctor`: check the set-up; `--stress` measures the memory budget against reality.

use aidx_editor_local::budget::{self, DeviceKind, KvType};
use aidx_editor_local::device;
use aidx_editor_local::engine::{EmbeddedModel, EngineKind, LoadOptions, choose_and_preflight};
use aidx_editor_local::models::{self, KNOWN_MODELS};
use aidx_editor_local::stress::{self, MAX_PREDICTION_ERROR};
use anyhow::Context as _;

use crate::context::{Context, GlobalArgs};

/// Arguments of `aidx doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Fill the context to the gate and to the computed maximum, generate, and compare the
    /// measured peak memory with the budget's prediction (exit 1 when off by more than 15 %).
    #[arg(long)]
    pub stress: bool,
    /// Model to check (default: the configured editor model).
    #[arg(long)]
    pub model: Option<String>,
    /// Contexts to stress instead of the gate and the maximum, e.g. `--contexts 512,2048`.
    #[arg(long, value_delimiter = ',')]
    pub contexts: Vec<u64>,
    /// Tokens to generate at each point.
    #[arg(long, default_value_t = 16)]
    pub new_tokens: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `aidx doctor`.
pub fn run(args: DoctorArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let ctx = Context::load(global)?;
    let config = &ctx.config;
    let model_arg = args
        .model
        .clone()
        .or_else(|| config.editor.model.clone())
        .context("no editor model configured: set editor.model or pass --model")?;
    let path = models::resolve_model(&model_arg, &config.models_dir);
    let kv_type: KvType = config
        .editor
        .kv_type
        .as_deref()
        .unwrap_or("f16")
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let engine = EngineKind::from_setting(
        config.editor.engine.as_deref(),
        device::gpu_in_use(config.gpu_vram_bytes),
    )
    .map_err(|e| anyhow::anyhow!("editor.engine: {e}"))?;
    let options = LoadOptions {
        path: path.clone(),
        kv_type,
        context_tokens: config.editor.context,
        vram_bytes: config.gpu_vram_bytes,
        engine,
        engine_auto: EngineKind::is_auto(config.editor.engine.as_deref()),
        gpu_layers: config.gpu_layers,
        threads: config.editor.threads.map(|t| t as usize),
    };
    if !args.stress {
        println!(
            "configuration: ok ({} file(s) read)",
            ctx.settings.files.len()
        );
        println!("models directory: {}", config.models_dir.display());
        for m in KNOWN_MODELS {
            let state = if models::is_present(m, &config.models_dir) {
                "present"
            } else {
                "absent"
            };
            println!("  {state:<8} {}", m.id);
        }
        match budget::system_available_memory() {
            Ok(bytes) => println!("available RAM: {}", budget::gib(bytes)),
            Err(e) => println!("available RAM: unknown ({e})"),
        }
        print!("{}", gpu_report(config.gpu_vram_bytes, config.gpu_layers));
        println!("editor model: {} → {}", model_arg, path.display());
        match choose_and_preflight(&options) {
            Ok((engine, p)) => {
                let place = match (p.memory.kind(), device::GPU_BACKEND) {
                    (DeviceKind::Gpu, Some(_)) if p.budget.offload.is_some() => format!(
                        "split, {} of {} layers on the GPU",
                        p.gpu_layers,
                        p.budget.offload.as_ref().map_or(0, |o| o.offloadable)
                    ),
                    (DeviceKind::Gpu, Some(_)) => "on the GPU".to_string(),
                    (DeviceKind::Gpu, None) => {
                        "on the CPU (budgeted against gpu.vram; this build has no GPU back-end)"
                            .to_string()
                    }
                    (DeviceKind::Cpu, _) => "on the CPU".to_string(),
                };
                println!(
                    "editor preflight: ok — {engine} will run {place} with a context of {} tokens, budgeted against {}",
                    p.context_tokens,
                    p.memory.describe()
                );
                print!("{}", budget::render(&p.budget));
            }
            Err(e) => println!("editor preflight: REFUSED — {e}"),
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let gate = config.max_chat_history_tokens as u64;
    // On a GPU the budget's GPU side is compared with the device's own figures: the sampler
    // takes its baseline before the model loads.
    let sampler = if device::GPU_BACKEND.is_some() && device::gpu_in_use(config.gpu_vram_bytes) {
        match stress::GpuSampler::start(std::time::Duration::from_millis(5)) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "stress: cannot read the GPU's memory ({e}); measuring the process on the CPU side only"
                );
                None
            }
        }
    } else {
        None
    };
    let points = runtime.block_on(async {
        let model = EmbeddedModel::load(options).await?;
        let max = model.context_tokens() as u64;
        let mut contexts = if args.contexts.is_empty() {
            vec![gate.min(max), max]
        } else {
            args.contexts.clone()
        };
        contexts.sort_unstable();
        contexts.dedup();
        let mut points = Vec::new();
        for c in contexts {
            eprintln!(
                "stress: filling {c} tokens and generating {} …",
                args.new_tokens
            );
            points.push(
                stress::run_point(&model, c, args.new_tokens, kv_type, sampler.as_ref()).await?,
            );
        }
        anyhow::Ok(points)
    })?;
    let worst = points
        .iter()
        .map(|p| p.relative_error.abs())
        .fold(0.0, f64::max);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "model": path.display().to_string(),
                "points": points,
                "worst_relative_error": worst,
                "limit": MAX_PREDICTION_ERROR,
            }))?
        );
    } else {
        println!(
            "{:>8} {:>8} {:>6} {:>12} {:>12} {:>8} {:>10}",
            "context", "prompt", "on", "predicted", "measured", "error", "prefill"
        );
        for p in &points {
            println!(
                "{:>8} {:>8} {:>6} {:>12} {:>12} {:>7.1}% {:>7.1} t/s",
                p.context_tokens,
                p.prompt_tokens,
                match p.device {
                    DeviceKind::Cpu => "CPU",
                    DeviceKind::Gpu => "GPU",
                },
                budget::gib(p.predicted_bytes),
                budget::gib(p.measured_peak_bytes),
                p.relative_error * 100.0,
                p.prompt_tok_per_sec
            );
        }
    }
    if worst > MAX_PREDICTION_ERROR {
        anyhow::bail!(
            "the budget's prediction was off by {:.1}% (limit {:.0}%): the overhead model needs recalibrating",
            worst * 100.0,
            MAX_PREDICTION_ERROR * 100.0
        );
    }
    Ok(())
}

/// The GPU as the driver reports it, the back-end this build has, and what the budget will use.
fn gpu_report(configured_vram: Option<u64>, gpu_layers: Option<u32>) -> String {
    let backend = device::GPU_BACKEND.unwrap_or("none (CPU build)");
    let mut out = format!("GPU back-end in this build: {backend}\n");
    match aidx_gpu::probe() {
        Ok(devices) => {
            let used = aidx_gpu::select_first(devices.clone());
            for d in &devices {
                let mark = match &used {
                    Ok(u) if u.index == d.index && devices.len() > 1 => " ← the one aidx budgets",
                    _ => "",
                };
                out.push_str(&format!("GPU: {d}{mark}\n"));
            }
            if let Err(e) = &used {
                out.push_str(&format!("  {e}\n"));
            }
            if device::GPU_BACKEND.is_none() {
                out.push_str(
                    "  this aidx cannot use it: build with `cargo install --path crates/cli --features cuda` (README, \"On a GPU\")\n",
                );
            }
        }
        Err(e) => out.push_str(&format!("GPU: none read — {e}\n")),
    }
    if configured_vram.is_some() {
        out.push_str("  budgets use gpu.vram, not the figure read from the device\n");
    }
    match (gpu_layers, device::GPU_BACKEND) {
        (Some(n), Some(_)) => out.push_str(&format!("  gpu.layers: {n} (checked below)\n")),
        (Some(_), None) => {
            out.push_str("  gpu.layers is ignored: this build has no GPU back-end\n")
        }
        (None, _) => {}
    }
    out
}
