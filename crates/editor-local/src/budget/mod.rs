//! The memory budget: weights + KV cache + overhead against the device, before anything loads.
//!
//! * **Weights** are the exact bytes of the GGUF tensors, or — for a model described rather than
//!   present, or a quantization the file is not stored in — the bytes of the tensor list the
//!   architecture implies under llama.cpp's type mix ([`crate::quantize::tensor_type`]).
//! * **KV cache** per token and layer is `kv_heads × (key_length + value_length)` elements of the
//!   KV dtype (f16, or q8_0/q4_0 blocks). Layers with a sliding window (Gemma 3) hold at most
//!   `window` tokens, so `kv_bytes(ctx) = Σ_layers bytes_per_token(layer) × min(ctx, window)`.
//! * **Overhead** is modelled in [`OverheadModel`] term by term from what mistralrs 0.8.1 allocates;
//!   see its docs for the sources of each term and which ones are measured.

use std::fmt::Write as _;
use std::path::Path;

use crate::gguf::{self, GgufHeader};
use crate::offload::{self, LayerLayout, OffloadPlan};
use crate::quantize::FileQuant;

pub(crate) mod overhead;
pub(crate) mod shape;

pub use overhead::{DeviceKind, LLAMA_CPP_UBATCH, Overhead, OverheadEngine, OverheadModel};
pub use shape::{
    KNOWN_MODELS, KvType, LayerAttention, ModelDescription, ModelShape, TensorShape, known_model,
};

/// What to budget for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetRequest {
    /// KV cache dtype.
    pub kv_type: KvType,
    /// The context gate: tokens the conversation may hold.
    pub context_tokens: u64,
    /// Memory of the device (GPU: its VRAM; CPU: available RAM).
    pub device_bytes: u64,
    /// Which device.
    pub device: DeviceKind,
    /// The overhead model.
    pub overhead: OverheadModel,
}

/// The budget of one model at one quantization. Field names are the `--json` keys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Budget {
    /// `general.architecture`.
    pub architecture: String,
    /// Quantization label (`Q4_K_M`, or the file's own mix `file`).
    pub quantization: String,
    /// Parameter count.
    pub parameters: u64,
    /// Bytes of the weights.
    pub weights_bytes: u64,
    /// KV dtype.
    pub kv_type: KvType,
    /// KV bytes per token, all layers.
    pub kv_bytes_per_token: u64,
    /// The context gate.
    pub context_tokens: u64,
    /// KV bytes at the gate.
    pub kv_bytes: u64,
    /// Overhead at the gate (sum of `overhead`).
    pub overhead_bytes: u64,
    /// The overhead by term.
    pub overhead: Overhead,
    /// weights + KV + overhead.
    pub total_bytes: u64,
    /// The device.
    pub device: DeviceKind,
    /// Memory of the device.
    pub device_bytes: u64,
    /// device − total (negative: does not fit).
    pub headroom_bytes: i64,
    /// Whether total ≤ device.
    pub fits: bool,
    /// The trained context of the model, when known.
    pub model_context_tokens: Option<u64>,
    /// The largest context that fits the device (capped at the trained context; 0 when even
    /// an empty context does not fit).
    pub max_context_tokens: u64,
    /// Aider's `max-chat-history-tokens` for the largest safe context.
    pub recommended_max_chat_history_tokens: u64,
    /// On a GPU the model does not fit whole: the layers llama.cpp can keep there at this
    /// context and what each side then holds (`None` on the CPU or when it fits).
    pub offload: Option<OffloadPlan>,
}

/// Computes the budget of `shape` with `weights_bytes` of weights.
pub fn compute(
    shape: &ModelShape,
    quantization: &str,
    weights_bytes: u64,
    req: &BudgetRequest,
) -> Budget {
    let total_at = |ctx: u64| {
        weights_bytes
            .saturating_add(shape.kv_bytes(req.kv_type, ctx))
            .saturating_add(req.overhead.overhead(shape, ctx).total())
    };
    let overhead = req.overhead.overhead(shape, req.context_tokens);
    let kv_bytes = shape.kv_bytes(req.kv_type, req.context_tokens);
    let total_bytes = weights_bytes
        .saturating_add(kv_bytes)
        .saturating_add(overhead.total());
    let cap = shape.context_length.unwrap_or(1 << 20);
    let max_context_tokens = largest_fitting(cap, req.device_bytes, total_at);
    Budget {
        architecture: shape.architecture.clone(),
        quantization: quantization.to_owned(),
        parameters: shape.parameters(),
        weights_bytes,
        kv_type: req.kv_type,
        kv_bytes_per_token: shape.kv_bytes_per_token(req.kv_type),
        context_tokens: req.context_tokens,
        kv_bytes,
        overhead_bytes: overhead.total(),
        overhead,
        total_bytes,
        device: req.device,
        device_bytes: req.device_bytes,
        headroom_bytes: signed(req.device_bytes).saturating_sub(signed(total_bytes)),
        fits: total_bytes <= req.device_bytes,
        model_context_tokens: shape.context_length,
        max_context_tokens,
        recommended_max_chat_history_tokens: recommended_chat_history(max_context_tokens),
        offload: (req.device == DeviceKind::Gpu && total_bytes > req.device_bytes).then(|| {
            let layout = layout_for(shape, weights_bytes, quantization);
            offload::plan(
                shape,
                &layout,
                req.kv_type,
                req.context_tokens,
                req.device_bytes,
            )
        }),
    }
}

/// The per-layer weights behind `weights_bytes`: the stored tensors when they add up to it,
/// otherwise the mix named by `quantization` (a description, or a table row of another type).
fn layout_for(shape: &ModelShape, weights_bytes: u64, quantization: &str) -> LayerLayout {
    let stored = LayerLayout::from_shape(shape, None);
    if stored.file_bytes() == weights_bytes {
        return stored;
    }
    match quantization.parse::<FileQuant>() {
        Ok(quant) => LayerLayout::from_shape(shape, Some(quant)),
        Err(_) => stored,
    }
}

fn signed(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// The largest `ctx ≤ cap` with `total(ctx) ≤ device` (total grows with ctx), or 0.
fn largest_fitting(cap: u64, device: u64, total: impl Fn(u64) -> u64) -> u64 {
    if total(0) > device {
        return 0;
    }
    let (mut lo, mut hi) = (0u64, cap);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if total(mid) <= device {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Aider sets `max_chat_history_tokens = min(max(max_input_tokens / 16, 1024), 8192)`
/// (aider/models.py). aidx applies it to the largest safe context and never recommends more than
/// half of that context, so the history leaves room for the repo map, files and the reply.
pub fn recommended_chat_history(max_context_tokens: u64) -> u64 {
    (max_context_tokens / 16)
        .clamp(1024, 8192)
        .min(max_context_tokens / 2)
}

/// One row of the table across quantizations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuantRow {
    /// The quantization.
    pub quantization: FileQuant,
    /// The full budget at that quantization.
    pub budget: Budget,
}

/// The budget at each of F16, Q8_0, Q4_K_M and Q4_0, from the same arithmetic.
pub fn quantization_table(shape: &ModelShape, req: &BudgetRequest) -> Vec<QuantRow> {
    FileQuant::TABLE
        .into_iter()
        .map(|q| QuantRow {
            quantization: q,
            budget: compute(shape, q.display_name(), shape.weights_bytes_for(q), req),
        })
        .collect()
}

/// Errors of the budget's inputs.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// A size like `12GiB` could not be parsed.
    #[error(
        "cannot parse size `{0}`: expected a number with an optional unit B, KB, MB, GB, KiB, MiB \
         or GiB (e.g. 12GiB)"
    )]
    BadSize(String),
    /// `/proc/meminfo` could not be read.
    #[error(
        "cannot read available memory from /proc/meminfo ({0}); pass the device size with --vram"
    )]
    MemInfo(String),
    /// Neither a file nor a known model id.
    #[error(
        "`{0}` is neither a GGUF file nor a known model id; known ids: {known}",
        known = KNOWN_MODELS.iter().map(|m| m.id).collect::<Vec<_>>().join(", ")
    )]
    UnknownModel(String),
    /// The GGUF header could not be read.
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),
}

/// Parses `12GiB`, `12 GB`, `512MiB`, `1000000` (bytes). Decimal units are powers of 1000.
pub fn parse_size(s: &str) -> Result<u64, BudgetError> {
    let bad = || BudgetError::BadSize(s.to_owned());
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    let bytes = num * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

/// `MemAvailable` from `/proc/meminfo`, in bytes: the CPU "device".
pub fn system_available_memory() -> Result<u64, BudgetError> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| BudgetError::MemInfo(e.to_string()))?;
    parse_meminfo_available(&text)
        .ok_or_else(|| BudgetError::MemInfo("no MemAvailable line".to_owned()))
}

/// `MemAvailable` from the text of `/proc/meminfo`.
pub fn parse_meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut parts = line.split_whitespace().skip(1);
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(value * 1024),
        None => Some(value),
        _ => None,
    }
}

/// The model a `--model` argument names: a GGUF file's header or a known id.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// A local GGUF file (possibly truncated: only its header is read).
    File {
        /// Its header.
        header: Box<GgufHeader>,
        /// Whether all tensor data is present.
        complete: bool,
    },
    /// A known model id.
    Known(&'static ModelDescription),
}

impl ModelSource {
    /// Resolves `arg`: an existing path is read as GGUF, otherwise it must be a known id.
    pub fn resolve(arg: &str) -> Result<Self, BudgetError> {
        let path = Path::new(arg);
        if path.exists() {
            let header = GgufHeader::read(path)?;
            let complete = header.check_complete().is_ok();
            return Ok(Self::File {
                header: Box::new(header),
                complete,
            });
        }
        known_model(arg)
            .map(Self::Known)
            .ok_or_else(|| BudgetError::UnknownModel(arg.to_owned()))
    }

    /// The model's shape.
    pub fn shape(&self) -> Result<ModelShape, BudgetError> {
        match self {
            Self::File { header, .. } => Ok(ModelShape::from_header(header)?),
            Self::Known(d) => Ok(d.shape()),
        }
    }

    /// The budget of the model as it is (a file's own weights; a description at Q4_K_M).
    pub fn budget(&self, req: &BudgetRequest) -> Result<Budget, BudgetError> {
        let shape = self.shape()?;
        Ok(match self {
            Self::File { header, .. } => {
                let label = file_quant_label(header);
                compute(&shape, &label, header.weights_bytes(), req)
            }
            Self::Known(_) => compute(
                &shape,
                FileQuant::Q4_K_M.display_name(),
                shape.weights_bytes_for(FileQuant::Q4_K_M),
                req,
            ),
        })
    }
}

/// A label for a file's quantization from `general.file_type` (llama_ftype).
pub fn file_quant_label(header: &GgufHeader) -> String {
    let names = [
        (0, "F32"),
        (1, "F16"),
        (2, "Q4_0"),
        (3, "Q4_1"),
        (7, "Q8_0"),
        (8, "Q5_0"),
        (9, "Q5_1"),
        (10, "Q2_K"),
        (11, "Q3_K_S"),
        (12, "Q3_K_M"),
        (13, "Q3_K_L"),
        (14, "Q4_K_S"),
        (15, "Q4_K_M"),
        (16, "Q5_K_S"),
        (17, "Q5_K_M"),
        (18, "Q6_K"),
        (32, "BF16"),
    ];
    match header.opt_u64("general.file_type") {
        Ok(Some(ft)) => names
            .iter()
            .find(|(id, _)| *id == ft)
            .map_or_else(|| format!("file_type {ft}"), |(_, n)| (*n).to_owned()),
        _ => "unknown".to_owned(),
    }
}

/// Bytes as GiB with two decimals.
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// The seed's table for one budget, as text.
pub fn render(b: &Budget) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model: {} ({} parameters, {})",
        b.architecture,
        human_count(b.parameters),
        b.quantization
    );
    let device = match b.device {
        DeviceKind::Cpu => "system RAM (MemAvailable)",
        DeviceKind::Gpu => "GPU VRAM",
    };
    let rows = [
        ("weights".to_owned(), b.weights_bytes as i64),
        (
            format!(
                "KV cache ({} tokens, {}, {} B/token)",
                b.context_tokens, b.kv_type, b.kv_bytes_per_token
            ),
            b.kv_bytes as i64,
        ),
        (
            "overhead: runtime".to_owned(),
            b.overhead.runtime_bytes as i64,
        ),
        (
            "overhead: f32 token embedding".to_owned(),
            b.overhead.token_embedding_bytes as i64,
        ),
        (
            "overhead: compute (prefill activations)".to_owned(),
            b.overhead.compute_bytes as i64,
        ),
        ("total".to_owned(), b.total_bytes as i64),
        (format!("device: {device}"), b.device_bytes as i64),
        ("headroom".to_owned(), b.headroom_bytes),
    ];
    // The f32 embedding copy is mistral.rs's; it is shown only for the engine that has it.
    let engine_specific = |label: &str| label.starts_with("overhead: f32");
    for (label, bytes) in rows
        .into_iter()
        .filter(|(label, bytes)| !(engine_specific(label) && *bytes == 0))
    {
        let _ = writeln!(
            out,
            "  {label:<48} {:>12}",
            format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
        );
    }
    let _ = writeln!(
        out,
        "fits: {}   largest context that fits: {} tokens   recommended max-chat-history-tokens: {}",
        if b.fits { "yes" } else { "NO" },
        b.max_context_tokens,
        b.recommended_max_chat_history_tokens
    );
    if !b.fits {
        let _ = writeln!(
            out,
            "does not fit: use a smaller quantization, a shorter context (--ctx {}), \
             --kv-type q8_0, or offload layers",
            b.max_context_tokens
        );
    }
    if let Some(plan) = &b.offload {
        out.push_str(&render_offload(plan));
    }
    out
}

/// The split, as text.
pub fn render_offload(plan: &OffloadPlan) -> String {
    let mut out = String::new();
    if plan.is_whole() {
        let _ = writeln!(
            out,
            "offload: llama.cpp would hold it whole on the GPU (n_gpu_layers = {}): {} of {}",
            plan.gpu_layers,
            gib(plan.gpu.total()),
            gib(plan.device_bytes)
        );
        return out;
    }
    if plan.gpu_layers == 0 {
        let _ = writeln!(
            out,
            "offload: not even the output layer fits in {} of GPU memory ({} needed); the model would run on the CPU",
            gib(plan.device_bytes),
            gib(plan.gpu.total()),
        );
        return out;
    }
    let _ = writeln!(
        out,
        "offload: keep {} of {} layers on the GPU (llama.cpp n_gpu_layers = {}), the rest on the CPU:",
        plan.gpu_layers, plan.offloadable, plan.gpu_layers
    );
    for (side, bytes) in [("GPU", &plan.gpu), ("CPU", &plan.cpu)] {
        let _ = writeln!(
            out,
            "  {side}: weights {} + KV cache {} + overhead {} = {}",
            gib(bytes.weights_bytes),
            gib(bytes.kv_bytes),
            gib(bytes.overhead_bytes),
            gib(bytes.total()),
        );
    }
    let _ = writeln!(
        out,
        "  GPU side against {}: headroom {}",
        gib(plan.device_bytes),
        gib(plan.device_bytes.saturating_sub(plan.gpu.total()))
    );
    out
}

/// The table across quantizations, as text.
pub fn render_table(rows: &[QuantRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<8} {:>11} {:>11} {:>11} {:>11} {:>11}  {:<4} {:>9}",
        "quant", "weights", "KV", "overhead", "total", "headroom", "fits", "max ctx"
    );
    for r in rows {
        let b = &r.budget;
        let g = |x: i64| format!("{:.2} GiB", x as f64 / (1u64 << 30) as f64);
        let _ = writeln!(
            out,
            "  {:<8} {:>11} {:>11} {:>11} {:>11} {:>11}  {:<4} {:>9}",
            r.quantization.display_name(),
            g(b.weights_bytes as i64),
            g(b.kv_bytes as i64),
            g(b.overhead_bytes as i64),
            g(b.total_bytes as i64),
            g(b.headroom_bytes),
            if b.fits { "yes" } else { "no" },
            b.max_context_tokens
        );
    }
    out
}

fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n => n.to_string(),
    }
}
