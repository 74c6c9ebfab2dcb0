//! `aidx budget`: will this model fit, and how much context can it hold?

use aidx_editor_local::budget::{
    self, BudgetRequest, DeviceKind, KvType, ModelSource, OverheadModel,
};
use aidx_editor_local::device;
use aidx_editor_local::engine::EngineKind;
use anyhow::Context as _;

/// Arguments of `aidx budget`.
#[derive(clap::Args, Debug)]
pub struct BudgetArgs {
    /// A GGUF file (only its header is read, so a partial download works) or a known model id
    /// such as Qwen2.5-Coder-14B-Instruct (sized at Q4_K_M).
    #[arg(long)]
    pub model: String,
    /// GPU memory to budget against, e.g. 12GiB or 24GB. Without it: in a build with a GPU
    /// back-end, the free memory of the first GPU; otherwise the CPU, with MemAvailable from
    /// /proc/meminfo.
    #[arg(long)]
    pub vram: Option<String>,
    /// The context gate in tokens (KV cache and prefill are sized for it).
    #[arg(long, default_value_t = 8192)]
    pub ctx: u64,
    /// KV cache type: f16, q8_0 or q4_0.
    #[arg(long, default_value = "f16")]
    pub kv_type: KvType,
    /// Engine whose memory behaviour to budget for: auto (llama-cpp on the CPU, mistralrs with
    /// --vram), llama-cpp or mistralrs.
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `aidx budget`.
pub fn run(args: BudgetArgs) -> anyhow::Result<()> {
    let configured = args.vram.as_deref().map(budget::parse_size).transpose()?;
    // --vram, else (a GPU build) the first GPU's free memory, else MemAvailable.
    let memory = device::resolve(configured)?;
    let (device, device_bytes) = (memory.kind(), memory.bytes());
    if let device::DeviceMemory::Detected { .. } = &memory {
        println!("budgeting against the {}", memory.describe());
    }
    let request = BudgetRequest {
        kv_type: args.kv_type,
        context_tokens: args.ctx,
        device_bytes,
        device,
        overhead: OverheadModel::for_engine(
            EngineKind::from_setting(Some(&args.engine), device == DeviceKind::Gpu)
                .map_err(anyhow::Error::msg)?,
            device,
        ),
    };
    let source = ModelSource::resolve(&args.model)
        .with_context(|| format!("cannot budget `{}`", args.model))?;
    let budget = source.budget(&request)?;
    let table = budget::quantization_table(&source.shape()?, &request);
    let complete = match &source {
        ModelSource::File { complete, .. } => Some(*complete),
        ModelSource::Known(_) => None,
    };

    if args.json {
        let mut value = serde_json::to_value(&budget)?;
        value["file_complete"] = serde_json::to_value(complete)?;
        value["quantization_table"] = table
            .iter()
            .map(|row| {
                serde_json::json!({
                    "quantization": row.quantization.display_name(),
                    "weights_bytes": row.budget.weights_bytes,
                    "total_bytes": row.budget.total_bytes,
                    "headroom_bytes": row.budget.headroom_bytes,
                    "fits": row.budget.fits,
                    "max_context_tokens": row.budget.max_context_tokens,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }

    print!("{}", budget::render(&budget));
    if complete == Some(false) {
        println!("note: the file is truncated (header only); it cannot be loaded as it is");
    }
    println!(
        "\nacross quantizations (same context, KV type and device; weights from llama.cpp's mix):"
    );
    print!("{}", budget::render_table(&table));
    Ok(())
}
