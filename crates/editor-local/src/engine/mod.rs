//! The embedded engine: a GGUF model loaded from a local file through mistral.rs, or through
//! llama.cpp ([`EngineKind::LlamaCpp`], the `llama-cpp` feature; see `llama_cpp.rs`).
//!
//! Everything that can go wrong is checked before mistral.rs sees the file: the header is read
//! with our own reader, the architecture must be one the engine's GGUF loader accepts (it panics
//! on others), and the file must hold all its tensor data. A panic inside the engine while
//! loading or generating becomes an [`EngineError`], never an abort of aidx.
//!
//! Grammar-constrained decoding goes through llguidance. When the grammar is complete, llguidance
//! allows only *its* end-of-sequence token, which it picks from the tokenizer by name
//! (`<|endoftext|>`, `</s>`, `<eos>`, …). The engine stops only on the GGUF's own EOS id, and
//! for ChatML models such as SmolLM2 the two differ (`<|im_end|>` = 2 vs `<|endoftext|>` = 0),
//! so the engine would keep sampling the forced token until `max_len`. We compute llguidance's
//! EOS id the same way and add it to the request's stop tokens, so generation ends when the
//! grammar accepts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use mistralrs::{
    Constraint, GgufModelBuilder, Model, RequestBuilder, Response, StopTokens, TextMessageRole,
    TokenSource,
};

use crate::budget::{self, Budget, BudgetRequest, DeviceKind, KvType, ModelShape, OverheadModel};
use crate::device::{self, DeviceMemory};
use crate::gguf::GgufHeader;
use crate::offload::{self, LayerLayout, OffloadPlan};

pub(crate) mod kind;
pub(crate) mod types;

pub use kind::EngineKind;
pub use types::{EngineError, FinishReason, GenerateRequest, Generation, Grammar, Message, Role};

/// The smallest context worth loading a model for.
pub const MIN_USEFUL_CONTEXT: u64 = 512;

/// The context used when neither the configuration nor the budget asks for less.
pub const DEFAULT_CONTEXT_CAP: u64 = 8192;

/// The fallback chat template (ChatML) for GGUF files that carry none.
pub const FALLBACK_CHAT_TEMPLATE: &str = include_str!("../../templates/chatml.jinja");

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The GGUF file.
    pub path: PathBuf,
    /// KV cache element type to budget for.
    pub kv_type: KvType,
    /// The context (prompt + generated tokens) to hold requests to; `None` = the largest safe one
    /// up to [`DEFAULT_CONTEXT_CAP`].
    pub context_tokens: Option<u64>,
    /// GPU memory for the budget; `None` = CPU (available system RAM).
    pub vram_bytes: Option<u64>,
    /// Which engine runs the model.
    pub engine: EngineKind,
    /// `gpu.layers`: how many layers (llama.cpp's count, blocks + the output layer) to keep on the
    /// GPU; `None` = as many as the budget allows. Only a GPU build reads it.
    pub gpu_layers: Option<u32>,
    /// `engine` came from `editor.engine: auto`: in a GPU build, llama.cpp takes over when
    /// mistral.rs cannot hold the model on the GPU whole ([`choose_and_preflight`]).
    pub engine_auto: bool,
    /// CPU threads; `None` = every core.
    pub threads: Option<usize>,
}

impl LoadOptions {
    /// CPU defaults for a file: f16 KV, automatic context.
    pub fn cpu(path: impl Into<PathBuf>) -> Self {
        LoadOptions {
            path: path.into(),
            kv_type: KvType::F16,
            context_tokens: None,
            vram_bytes: None,
            engine: EngineKind::MistralRs,
            engine_auto: false,
            gpu_layers: None,
            threads: None,
        }
    }
}

/// A loaded embedded model.
pub struct EmbeddedModel {
    backend: Backend,
    header: GgufHeader,
    path: PathBuf,
    load_time: Duration,
    context_tokens: usize,
    budget: Option<Budget>,
    grammar_eos: Option<u32>,
    used_fallback_template: bool,
    /// Layers on the GPU (llama.cpp's count: blocks + the output layer); 0 on the CPU.
    gpu_layers: u32,
}

/// The engine behind an [`EmbeddedModel`].
enum Backend {
    MistralRs(Model),
    #[cfg(feature = "llama-cpp")]
    LlamaCpp(crate::llama_cpp::LlamaCppEngine),
}

impl std::fmt::Debug for EmbeddedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedModel")
            .field("path", &self.path)
            .field("engine", &self.engine())
            .field("context_tokens", &self.context_tokens)
            .finish_non_exhaustive()
    }
}

/// The outcome of the load preflight: the header, the budget, and the context to run with.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The file's header.
    pub header: GgufHeader,
    /// The budget at `context_tokens`.
    pub budget: Budget,
    /// The context the engine will be held to.
    pub context_tokens: u64,
    /// The memory the budget was held against.
    pub memory: DeviceMemory,
    /// llama.cpp's `n_gpu_layers` to load with: 0 on the CPU, every layer when the model fits
    /// the GPU whole, the budget's split otherwise.
    pub gpu_layers: u32,
}

/// Checks a file and computes its budget before loading; refuses when it cannot fit.
///
/// The device is `options.vram_bytes` of GPU memory when given; otherwise, in a build with a GPU
/// back-end, the first GPU's free memory; otherwise the system's available RAM
/// ([`device::resolve`]). With no `options.context_tokens`, the context is the model's trained
/// context capped at [`DEFAULT_CONTEXT_CAP`], lowered to the largest that fits. On a GPU that
/// cannot hold the model whole even then, llama.cpp (in a GPU build) runs it split: the layers
/// that fit stay on the GPU and system RAM must hold the rest. `options.gpu_layers` (gpu.layers)
/// sets that split instead, checked the same way.
pub fn preflight_load(options: &LoadOptions) -> Result<Preflight, EngineError> {
    let memory = device::resolve(options.vram_bytes)?;
    preflight_on(options, memory, budget::system_available_memory)
}

/// [`preflight_load`] against a given device memory, with system RAM read by `ram` when a split
/// needs it (tests give both).
pub fn preflight_on(
    options: &LoadOptions,
    memory: DeviceMemory,
    ram: fn() -> Result<u64, budget::BudgetError>,
) -> Result<Preflight, EngineError> {
    preflight_as(options, memory, ram, device::GPU_BACKEND.is_some())
}

/// [`preflight_on`] as a build with (`gpu_build`) or without a GPU back-end would decide, so that
/// the GPU build's choices are tested on machines that cannot build it.
pub fn preflight_as(
    options: &LoadOptions,
    memory: DeviceMemory,
    ram: fn() -> Result<u64, budget::BudgetError>,
    gpu_build: bool,
) -> Result<Preflight, EngineError> {
    let (path, kv_type, engine) = (options.path.as_path(), options.kv_type, options.engine);
    let requested_context = options.context_tokens;
    let header = preflight_file(path)?;
    let shape = ModelShape::from_header(&header)?;
    let on_gpu_build = gpu_build;
    // gpu.layers: 0 keeps the model off the GPU altogether (a GPU build only: a CPU build
    // never uses the GPU anyway).
    if on_gpu_build && options.gpu_layers == Some(0) && memory.kind() == DeviceKind::Gpu {
        let cpu = DeviceMemory::SystemRam {
            bytes: ram()?,
            no_gpu: Some("gpu.layers is 0".into()),
        };
        return preflight_as(options, cpu, ram, gpu_build);
    }
    let (device, device_bytes) = (memory.kind(), memory.bytes());
    let model_context = shape.context_length.unwrap_or(DEFAULT_CONTEXT_CAP);
    let wanted = requested_context.unwrap_or_else(|| model_context.min(DEFAULT_CONTEXT_CAP));
    // llama.cpp in a build without a GPU back-end runs on the CPU whatever gpu.vram says, so its
    // memory behaves like the CPU's (mistral.rs keeps its GPU model there, as it always has).
    let overhead = match engine {
        EngineKind::LlamaCpp if !on_gpu_build => OverheadModel::for_engine(engine, DeviceKind::Cpu),
        _ => OverheadModel::for_engine(engine, device),
    };
    let request = |context_tokens| BudgetRequest {
        kv_type,
        context_tokens,
        device_bytes,
        device,
        overhead,
    };
    let label = budget::file_quant_label(&header);
    let mut result = budget::compute(&shape, &label, header.weights_bytes(), &request(wanted));
    let forced = options
        .gpu_layers
        .filter(|_| on_gpu_build && device == DeviceKind::Gpu);
    if !result.fits
        && forced.is_none()
        && requested_context.is_none()
        && result.max_context_tokens >= MIN_USEFUL_CONTEXT
    {
        result = budget::compute(
            &shape,
            &label,
            header.weights_bytes(),
            &request(result.max_context_tokens),
        );
    }
    let whole = shape.layers.len() as u32 + 1;
    // The split to run: the one gpu.layers asks for (checked against the device), or the
    // budget's own when the model does not fit whole.
    let split = match forced {
        Some(n) if n < whole => {
            let layout = LayerLayout::from_shape(&shape, None);
            let plan = offload::plan(
                &shape,
                &layout,
                kv_type,
                result.context_tokens,
                device_bytes,
            );
            let (gpu, cpu) = offload::split(&shape, &layout, kv_type, result.context_tokens, n);
            if gpu.total() > device_bytes {
                return Err(EngineError::OverBudget {
                    message: format!(
                        "gpu.layers: {n} layers of {model} need {} on the GPU > {} of {}; at most {} fit (leave gpu.layers unset to use that)",
                        budget::gib(gpu.total()),
                        budget::gib(device_bytes),
                        memory.describe(),
                        plan.gpu_layers,
                        model = path.display(),
                    ),
                });
            }
            Some(OffloadPlan {
                gpu_layers: n,
                gpu,
                cpu,
                ..plan
            })
        }
        Some(n) if !result.fits => {
            return Err(EngineError::OverBudget {
                message: format!(
                    "gpu.layers: {n} asks for the whole of {model} on the GPU, but it needs {} > {} of {}; {}",
                    budget::gib(result.total_bytes),
                    budget::gib(device_bytes),
                    memory.describe(),
                    match &result.offload {
                        Some(p) if p.gpu_layers > 0 => format!(
                            "at most {} of {whole} layers fit (leave gpu.layers unset to use that)",
                            p.gpu_layers
                        ),
                        _ => "set gpu.layers: 0 to run it on the CPU".to_string(),
                    },
                    model = path.display(),
                ),
            });
        }
        Some(_) => None,
        None => result.offload.filter(|plan| plan.gpu_layers >= 1),
    };
    let gpu_layers = match (device, split) {
        (DeviceKind::Cpu, _) => 0,
        (DeviceKind::Gpu, None) if result.fits => whole,
        // A split runs only where it can: llama.cpp, built with a GPU back-end.
        (DeviceKind::Gpu, Some(plan)) if engine == EngineKind::LlamaCpp && on_gpu_build => {
            let ram = ram()?;
            if plan.cpu.total() > ram {
                return Err(EngineError::OverBudget {
                    message: format!(
                        "{model} split ({} of {} layers on the GPU) needs {} on the CPU side > {} of available system RAM; try a smaller quantization (`aidx model quantize … --type q4_k_m`), a shorter context (`editor.context`), or `editor.kv-type: q8_0`",
                        plan.gpu_layers,
                        plan.offloadable,
                        budget::gib(plan.cpu.total()),
                        budget::gib(ram),
                        model = path.display(),
                    ),
                });
            }
            tracing::info!(
                "{} split: {} of {} layers on the GPU",
                path.display(),
                plan.gpu_layers,
                plan.offloadable
            );
            result.offload = Some(plan);
            plan.gpu_layers
        }
        (DeviceKind::Gpu, Some(plan)) if forced.is_some() => {
            return Err(EngineError::OverBudget {
                message: format!(
                    "gpu.layers: {} splits {model} between GPU and CPU, which only llama.cpp does; set `editor.engine: llama-cpp`",
                    plan.gpu_layers,
                    model = path.display(),
                ),
            });
        }
        (DeviceKind::Gpu, _) => 0,
    };
    if !result.fits && gpu_layers == 0 {
        let split = match &result.offload {
            Some(plan) if plan.gpu_layers >= 1 => format!(
                "; llama.cpp can run it split, {} of {} layers on the GPU ({} there, {} in RAM): {}",
                plan.gpu_layers,
                plan.offloadable,
                budget::gib(plan.gpu.total()),
                budget::gib(plan.cpu.total()),
                if on_gpu_build {
                    "set `editor.engine: llama-cpp`"
                } else {
                    "build aidx with `--features cuda` (README, \"On a GPU\")"
                }
            ),
            _ => String::new(),
        };
        return Err(EngineError::OverBudget {
            message: format!(
                "{model} does not fit: weights {weights} + KV cache {kv} ({context} tokens, {kv_type}) + overhead {overhead} = {total} > {device_bytes} of {device_name}; try a smaller quantization (`aidx model quantize … --type q4_k_m`), a shorter context (`editor.context` / max-chat-history-tokens), `editor.kv-type: q8_0`, or offloading to a server (`editor.provider: openai-compatible`){split}",
                model = path.display(),
                weights = budget::gib(result.weights_bytes),
                kv = budget::gib(result.kv_bytes),
                context = result.context_tokens,
                overhead = budget::gib(result.overhead_bytes),
                total = budget::gib(result.total_bytes),
                device_bytes = budget::gib(result.device_bytes),
                device_name = memory.describe(),
            ),
        });
    }
    let context_tokens = result.context_tokens;
    Ok(Preflight {
        header,
        budget: result,
        context_tokens,
        memory,
        gpu_layers,
    })
}

/// The engine that will run `options`' model, with its preflight. Under `editor.engine: auto`
/// in a GPU build, a model that mistral.rs cannot hold on the GPU whole goes to llama.cpp, which
/// keeps the token embedding quantized (mistral.rs copies it to f32 on the device: 2.90 GiB for a
/// 14B Qwen, BENCHMARKS.md) and can split the model between GPU and CPU.
pub fn choose_and_preflight(options: &LoadOptions) -> Result<(EngineKind, Preflight), EngineError> {
    let first = preflight_load(options);
    let fallback = options.engine_auto
        && options.engine == EngineKind::MistralRs
        && cfg!(feature = "llama-cpp")
        && device::GPU_BACKEND.is_some();
    match first {
        Err(EngineError::OverBudget { message }) if fallback => {
            let preflight = preflight_load(&LoadOptions {
                engine: EngineKind::LlamaCpp,
                ..options.clone()
            })
            .map_err(|second| EngineError::OverBudget {
                message: format!("{message}; llama.cpp cannot run it either: {second}"),
            })?;
            tracing::info!(
                "mistral.rs cannot hold {} on the GPU; llama.cpp runs it",
                options.path.display()
            );
            Ok((EngineKind::LlamaCpp, preflight))
        }
        other => other.map(|p| (options.engine, p)),
    }
}

/// Checks a GGUF file before any engine sees it: present, readable, complete, supported.
pub fn preflight_file(path: &Path) -> Result<GgufHeader, EngineError> {
    if !path.is_file() {
        return Err(EngineError::MissingFile(path.to_path_buf()));
    }
    let header = GgufHeader::read(path)?;
    header.check_supported()?;
    header.check_complete()?;
    Ok(header)
}

/// The token id llguidance treats as end-of-sequence for this vocabulary: the last special-looking
/// token named like an EOS, as toktrie's tokenizer bridge picks it; 0 when none is found.
pub fn grammar_eos_token(tokens: &[&str]) -> u32 {
    let mut eos = 0;
    for (id, token) in tokens.iter().enumerate() {
        if matches!(
            *token,
            "</s>" | "<|endoftext|>" | "<|end_of_text|>" | "<｜end▁of▁sentence｜>" | "<eos>"
        ) {
            eos = id as u32;
        }
    }
    eos
}

fn vocabulary(header: &GgufHeader) -> Vec<&str> {
    header
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.as_array())
        .map(|tokens| tokens.iter().map(|t| t.as_str().unwrap_or("")).collect())
        .unwrap_or_default()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

impl EmbeddedModel {
    /// Loads a GGUF model from a local file on the CPU, with the tokenizer and chat template from
    /// the file (a ChatML fallback when it has none). Never contacts a model hub.
    pub async fn load(options: LoadOptions) -> Result<EmbeddedModel, EngineError> {
        let (engine, preflight) = choose_and_preflight(&options)?;
        let context_tokens = preflight.context_tokens as usize;
        match engine {
            EngineKind::MistralRs => {
                if let Some(threads) = options.threads {
                    // candle and mistral.rs size rayon's global pool from this on first use.
                    // SAFETY: set before the engine starts any thread; read only by rayon.
                    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
                }
                // mistral.rs picks the GPU itself unless forced onto the CPU; it runs a model
                // whole or not at all here (splits are llama.cpp's, see `preflight_load`).
                let on_gpu = preflight.gpu_layers > 0 && device::GPU_BACKEND.is_some();
                Self::start(
                    &options.path,
                    preflight.header,
                    Some(preflight.budget),
                    context_tokens,
                    on_gpu,
                )
                .await
            }
            EngineKind::LlamaCpp => Self::start_llama_cpp(
                &options,
                preflight.header,
                preflight.budget,
                context_tokens,
                preflight.gpu_layers,
            ),
        }
    }

    #[cfg(feature = "llama-cpp")]
    fn start_llama_cpp(
        options: &LoadOptions,
        header: GgufHeader,
        budget: Budget,
        context_tokens: usize,
        gpu_layers: u32,
    ) -> Result<EmbeddedModel, EngineError> {
        let threads = options.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let started = Instant::now();
        let engine = std::panic::catch_unwind(|| {
            crate::llama_cpp::LlamaCppEngine::load(
                &options.path,
                threads,
                options.kv_type,
                context_tokens,
                gpu_layers,
            )
        })
        .map_err(|payload| EngineError::Panic {
            during: "loading the model",
            message: panic_message(payload),
        })??;
        Ok(EmbeddedModel {
            backend: Backend::LlamaCpp(engine),
            header,
            path: options.path.clone(),
            load_time: started.elapsed(),
            context_tokens,
            budget: Some(budget),
            grammar_eos: None,
            used_fallback_template: false,
            gpu_layers: if device::GPU_BACKEND.is_some() {
                gpu_layers
            } else {
                0
            },
        })
    }

    #[cfg(not(feature = "llama-cpp"))]
    fn start_llama_cpp(
        _: &LoadOptions,
        _: GgufHeader,
        _: Budget,
        _: usize,
        _: u32,
    ) -> Result<EmbeddedModel, EngineError> {
        Err(EngineError::Load {
            path: Default::default(),
            detail: "this aidx was built without the `llama-cpp` feature; set `editor.engine: mistralrs` or rebuild with `--features llama-cpp`".into(),
        })
    }

    /// Teacher-forced scoring of `text` (llama.cpp engine only): the number of predicted tokens
    /// and their mean negative log-likelihood in nats; perplexity is `exp` of the latter. Used to
    /// compare a requantized model with its source.
    pub fn score_text(&self, text: &str) -> Result<(usize, f64), EngineError> {
        let _ = text; // read only by the llama.cpp engine
        match &self.backend {
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => engine.score(text),
            Backend::MistralRs(_) => Err(EngineError::Generate(
                "scoring text needs the llama-cpp engine".into(),
            )),
        }
    }

    /// Which engine runs the model.
    pub fn engine(&self) -> EngineKind {
        match self.backend {
            Backend::MistralRs(_) => EngineKind::MistralRs,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(_) => EngineKind::LlamaCpp,
        }
    }

    /// Loads without the architecture, completeness and budget checks. Only for tests that prove
    /// an engine panic becomes an error; never use it to load a model for real.
    #[doc(hidden)]
    pub async fn load_without_preflight(path: &Path) -> Result<EmbeddedModel, EngineError> {
        let header = GgufHeader::read(path)?;
        Self::start(path, header, None, DEFAULT_CONTEXT_CAP as usize, false).await
    }

    async fn start(
        path: &Path,
        header: GgufHeader,
        budget: Option<Budget>,
        context_tokens: usize,
        on_gpu: bool,
    ) -> Result<EmbeddedModel, EngineError> {
        let path = path.to_path_buf();
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let has_template = header.metadata.get("tokenizer.chat_template").is_some();
        let fallback_file = if has_template {
            None
        } else {
            let file = tempfile::Builder::new()
                .prefix("aidx-chat-template-")
                .suffix(".jinja")
                .tempfile()
                .map_err(|e| EngineError::Load {
                    path: path.clone(),
                    detail: format!("cannot write the fallback chat template: {e}"),
                })?;
            std::fs::write(file.path(), FALLBACK_CHAT_TEMPLATE).map_err(|e| EngineError::Load {
                path: path.clone(),
                detail: format!("cannot write the fallback chat template: {e}"),
            })?;
            tracing::warn!(
                "{} has no chat template; using the ChatML fallback",
                path.display()
            );
            Some(file)
        };
        let grammar_eos = {
            let vocab = vocabulary(&header);
            (!vocab.is_empty()).then(|| grammar_eos_token(&vocab))
        };
        // SAFETY of intent: HF_HUB_OFFLINE keeps the engine from trying a hub for anything.
        // SAFETY: set before the engine starts its threads; aidx reads no such variable elsewhere.
        unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
        let mut builder = GgufModelBuilder::new(dir.to_string_lossy(), vec![file_name])
            .with_token_source(TokenSource::None)
            .with_max_num_seqs(1)
            .with_prefix_cache_n(None);
        if !on_gpu {
            builder = builder.with_force_cpu();
        }
        if let Some(file) = &fallback_file {
            builder = builder.with_chat_template(file.path().to_string_lossy());
        }
        let started = Instant::now();
        let built = tokio::spawn(async move {
            std::panic::AssertUnwindSafe(builder.build())
                .catch_unwind()
                .await
        })
        .await;
        let model = match built {
            Ok(Ok(Ok(model))) => model,
            Ok(Ok(Err(e))) => {
                return Err(EngineError::Load {
                    path,
                    detail: format!("{e:#}"),
                });
            }
            Ok(Err(payload)) => {
                return Err(EngineError::Panic {
                    during: "loading the model",
                    message: panic_message(payload),
                });
            }
            Err(join) => {
                return Err(EngineError::Panic {
                    during: "loading the model",
                    message: join.to_string(),
                });
            }
        };
        let gpu_layers = if on_gpu {
            header
                .model_params()
                .map_or(0, |p| p.block_count as u32 + 1)
        } else {
            0
        };
        Ok(EmbeddedModel {
            gpu_layers,
            backend: Backend::MistralRs(model),
            header,
            path,
            load_time: started.elapsed(),
            context_tokens,
            budget,
            grammar_eos,
            used_fallback_template: fallback_file.is_some(),
        })
    }

    /// Layers on the GPU (blocks + the output layer, llama.cpp's count): 0 when the model runs
    /// on the CPU, all of them when it runs there whole.
    pub fn gpu_layers(&self) -> u32 {
        self.gpu_layers
    }

    /// How long loading took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The GGUF header of the loaded file.
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Largest context (prompt + new tokens) a request may use.
    pub fn context_tokens(&self) -> usize {
        self.context_tokens
    }

    /// The budget computed before loading (absent only for [`Self::load_without_preflight`]).
    pub fn budget(&self) -> Option<&Budget> {
        self.budget.as_ref()
    }

    /// Whether the ChatML fallback template is in use.
    pub fn used_fallback_template(&self) -> bool {
        self.used_fallback_template
    }

    /// Token count of plain text with the model's own tokenizer.
    pub async fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        let model = match &self.backend {
            Backend::MistralRs(model) => model,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => return Ok(engine.count_tokens(text)),
        };
        model
            .tokenize(
                either::Either::Right(text.to_string()),
                None,
                false,
                false,
                None,
            )
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Generate(e.to_string()))
    }

    /// Token count of a conversation with the chat template applied (what the engine will see).
    pub async fn count_prompt_tokens(&self, messages: &[Message]) -> Result<usize, EngineError> {
        let model = match &self.backend {
            Backend::MistralRs(model) => model,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => return engine.count_prompt_tokens(messages),
        };
        let mut text = mistralrs::TextMessages::new();
        for m in messages {
            text = text.add_message(role(m.role), &m.content);
        }
        model
            .tokenize(either::Either::Left(text), None, true, true, None)
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Generate(e.to_string()))
    }

    /// Generates a reply, streaming text to `on_text`. The prompt is counted first and refused
    /// when prompt + `max_new_tokens` exceeds the safe context: nothing overflowing is sent.
    pub async fn generate(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        self.generate_cancellable(request, None, on_text).await
    }

    /// [`generate`](Self::generate), stopping with [`EngineError::Cancelled`] soon after
    /// `cancel` is set: llama.cpp checks it before each token, mistral.rs between stream chunks
    /// and every 20 ms while it waits for one (the stream is dropped, which ends the request).
    pub async fn generate_cancellable(
        &self,
        request: &GenerateRequest,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        #[cfg(feature = "llama-cpp")]
        if let Backend::LlamaCpp(engine) = &self.backend {
            // It tokenizes once and refuses an overflowing prompt itself.
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.generate(request, cancel, on_text)
            }))
            .map_err(|payload| EngineError::Panic {
                during: "generating",
                message: panic_message(payload),
            })?;
        }
        let prompt_tokens = self.count_prompt_tokens(&request.messages).await?;
        if prompt_tokens + request.max_new_tokens > self.context_tokens {
            return Err(EngineError::ContextOverflow {
                prompt_tokens,
                max_new_tokens: request.max_new_tokens,
                context_tokens: self.context_tokens,
            });
        }
        let mut builder = RequestBuilder::new();
        for m in &request.messages {
            builder = builder.add_message(role(m.role), &m.content);
        }
        match request.temperature {
            None => builder = builder.set_deterministic_sampler(),
            Some(t) if t <= 0.0 => builder = builder.set_deterministic_sampler(),
            Some(t) => builder = builder.set_sampler_temperature(t),
        }
        let mut stop_ids: Vec<u32> = Vec::new();
        if let Some(grammar) = &request.grammar {
            builder = builder.set_constraint(match grammar {
                Grammar::Lark(text) => Constraint::Lark(text.clone()),
                Grammar::Regex(text) => Constraint::Regex(text.clone()),
            });
            stop_ids.extend(self.grammar_eos);
        }
        if !request.stop.is_empty() {
            builder = builder.set_sampler_stop_toks(StopTokens::Seqs(request.stop.clone()));
        }
        if !stop_ids.is_empty() {
            if !request.stop.is_empty() {
                // mistral.rs takes one kind of stop token per request; stop strings are then
                // enforced on our side below.
                tracing::debug!("grammar stop id takes precedence over stop strings in the engine");
            }
            builder = builder.set_sampler_stop_toks(StopTokens::Ids(stop_ids));
        }
        // Last: `set_deterministic_sampler` replaces all sampling parameters, max_len included.
        builder = builder.set_sampler_max_len(request.max_new_tokens);
        let started = Instant::now();
        let streamed =
            std::panic::AssertUnwindSafe(self.stream(builder, cancel, on_text, &request.stop))
                .catch_unwind()
                .await;
        let mut generation = match streamed {
            Ok(result) => result?,
            Err(payload) => {
                return Err(EngineError::Panic {
                    during: "generating",
                    message: panic_message(payload),
                });
            }
        };
        generation.elapsed = started.elapsed();
        Ok(generation)
    }

    async fn stream(
        &self,
        builder: RequestBuilder,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
        stop: &[String],
    ) -> Result<Generation, EngineError> {
        #[allow(irrefutable_let_patterns)] // one variant in a build without llama.cpp
        let Backend::MistralRs(model) = &self.backend else {
            return Err(EngineError::Generate("not a mistral.rs model".into()));
        };
        let mut stream = model
            .stream_chat_request(builder)
            .await
            .map_err(|e| EngineError::Generate(e.to_string()))?;
        let mut text = String::new();
        let mut finish = FinishReason::Other("stream ended without a finish reason".into());
        let mut usage = None;
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            let response = tokio::select! {
                next = stream.next() => match next {
                    Some(response) => response,
                    None => break,
                },
                _ = tick.tick() => {
                    if cancelled() {
                        return Err(EngineError::Cancelled);
                    }
                    continue;
                }
            };
            if cancelled() {
                return Err(EngineError::Cancelled);
            }
            match response {
                Response::Chunk(chunk) => {
                    if let Some(u) = chunk.usage {
                        usage = Some(u);
                    }
                    for choice in chunk.choices {
                        if let Some(delta) = choice.delta.content {
                            text.push_str(&delta);
                            on_text(&delta);
                        }
                        if let Some(reason) = choice.finish_reason {
                            finish = match reason.as_str() {
                                "stop" | "eos" => FinishReason::Stop,
                                "length" => FinishReason::Length,
                                other => FinishReason::Other(other.to_string()),
                            };
                        }
                    }
                }
                Response::Done(done) => {
                    usage = Some(done.usage);
                }
                Response::ModelError(message, _) | Response::CompletionModelError(message, _) => {
                    return Err(EngineError::Generate(message));
                }
                Response::InternalError(e) | Response::ValidationError(e) => {
                    return Err(EngineError::Generate(e.to_string()));
                }
                _ => {}
            }
        }
        if let Some(pos) = stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            text.truncate(pos);
            finish = FinishReason::Stop;
        }
        let usage = usage
            .ok_or_else(|| EngineError::Generate("the engine reported no token usage".into()))?;
        Ok(Generation {
            text,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            finish,
            prompt_tok_per_sec: usage.avg_prompt_tok_per_sec as f64,
            decode_tok_per_sec: usage.avg_compl_tok_per_sec as f64,
            elapsed: Duration::ZERO,
        })
    }
}

fn role(role: Role) -> TextMessageRole {
    match role {
        Role::System => TextMessageRole::System,
        Role::User => TextMessageRole::User,
        Role::Assistant => TextMessageRole::Assistant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_eos_follows_toktries_naming_rule() {
        // SmolLM2's first tokens: the grammar's EOS is <|endoftext|> (0), not <|im_end|> (2).
        assert_eq!(
            grammar_eos_token(&["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a"]),
            0
        );
        assert_eq!(grammar_eos_token(&["<unk>", "<s>", "</s>"]), 2);
        assert_eq!(grammar_eos_token(&["a", "b"]), 0);
    }
}
