//! Before any engine sees a model: the file is checked, its budget computed against the device's
//! memory, the context chosen, and where the model runs decided (CPU, GPU, or split between
//! them), or the load refused with what to change.

use std::path::Path;

use super::kind::EngineKind;
use super::options::{DEFAULT_CONTEXT_CAP, LoadOptions};
use super::types::EngineError;
use crate::budget::{self, Budget, BudgetRequest, DeviceKind, ModelShape, OverheadModel};
use crate::device::{self, DeviceMemory};
use crate::gguf::GgufHeader;
use crate::offload::{self, LayerLayout, OffloadPlan};

/// The smallest context worth loading a model for.
pub const MIN_USEFUL_CONTEXT: u64 = 512;

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

impl Preflight {
    /// What the model will hold on its device: the whole budget, or the GPU side of a split
    /// (its CPU side is in system RAM). Two models that share a device add these.
    pub fn device_bytes_used(&self) -> u64 {
        match &self.budget.offload {
            Some(plan) if self.gpu_layers > 0 && self.gpu_layers < plan.offloadable => {
                plan.gpu.total()
            }
            _ => self.budget.total_bytes,
        }
    }
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
    preflight_as(
        options,
        memory,
        budget::system_available_memory,
        device::GPU_BACKEND.is_some(),
    )
}

/// [`preflight_load`] against a given device memory, with system RAM read by `ram` when a split
/// needs it, decided as a build with (`gpu_build`) or without a GPU back-end would decide: the
/// tests give all three, so the GPU build's choices are tested on machines that cannot build it.
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
    // gpu.layers: 0 keeps the model off the GPU altogether (a GPU build only: a CPU build
    // never uses the GPU anyway).
    if gpu_build && options.gpu_layers == Some(0) && memory.kind() == DeviceKind::Gpu {
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
        EngineKind::LlamaCpp if !gpu_build => OverheadModel::for_engine(engine, DeviceKind::Cpu),
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
        .filter(|_| gpu_build && device == DeviceKind::Gpu);
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
    let whole = shape.offloadable_layers();
    // The split to run: the one gpu.layers asks for (checked against the device), or the
    // budget's own when the model does not fit whole.
    let split = match forced {
        Some(n) => asked_split(n, path, &shape, &result, &memory, kv_type)?,
        None => result.offload.filter(|plan| plan.gpu_layers >= 1),
    };
    let gpu_layers = match (device, split) {
        (DeviceKind::Cpu, _) => 0,
        (DeviceKind::Gpu, None) if result.fits => whole,
        // A split runs only where it can: llama.cpp, built with a GPU back-end.
        (DeviceKind::Gpu, Some(plan)) if engine == EngineKind::LlamaCpp && gpu_build => {
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
        return Err(does_not_fit(path, &result, &memory, gpu_build));
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

/// The split `gpu.layers: n` asks for, held to the device: `None` when it asks for every layer
/// and the model fits whole; an error naming the most layers that fit otherwise.
fn asked_split(
    n: u32,
    path: &Path,
    shape: &ModelShape,
    result: &Budget,
    memory: &DeviceMemory,
    kv_type: crate::budget::KvType,
) -> Result<Option<OffloadPlan>, EngineError> {
    let whole = shape.offloadable_layers();
    let device_bytes = memory.bytes();
    if n >= whole {
        if result.fits {
            return Ok(None);
        }
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
    let layout = LayerLayout::from_shape(shape, None);
    let most = offload::plan(shape, &layout, kv_type, result.context_tokens, device_bytes);
    let (gpu, cpu) = offload::split(shape, &layout, kv_type, result.context_tokens, n);
    if gpu.total() > device_bytes {
        return Err(EngineError::OverBudget {
            message: format!(
                "gpu.layers: {n} layers of {model} need {} on the GPU > {} of {}; at most {} fit (leave gpu.layers unset to use that)",
                budget::gib(gpu.total()),
                budget::gib(device_bytes),
                memory.describe(),
                most.gpu_layers,
                model = path.display(),
            ),
        });
    }
    Ok(Some(OffloadPlan {
        gpu_layers: n,
        gpu,
        cpu,
        ..most
    }))
}

/// The refusal of a model that fits neither whole nor split here: the budget's terms, what to
/// change, and the split llama.cpp could run where there is one.
fn does_not_fit(
    path: &Path,
    result: &Budget,
    memory: &DeviceMemory,
    gpu_build: bool,
) -> EngineError {
    let split = match &result.offload {
        Some(plan) if plan.gpu_layers >= 1 => format!(
            "; llama.cpp can run it split, {} of {} layers on the GPU ({} there, {} in RAM): {}",
            plan.gpu_layers,
            plan.offloadable,
            budget::gib(plan.gpu.total()),
            budget::gib(plan.cpu.total()),
            if gpu_build {
                "set `editor.engine: llama-cpp`"
            } else {
                "build aidx with `--features cuda` (README, \"On a GPU\")"
            }
        ),
        _ => String::new(),
    };
    EngineError::OverBudget {
        message: format!(
            "{model} does not fit: weights {weights} + KV cache {kv} ({context} tokens, {kv_type}) + overhead {overhead} = {total} > {device_bytes} of {device_name}; try a smaller quantization (`aidx model quantize … --type q4_k_m`), a shorter context (`editor.context` / max-chat-history-tokens), `editor.kv-type: q8_0`, or offloading to a server (`editor.provider: openai-compatible`){split}",
            model = path.display(),
            weights = budget::gib(result.weights_bytes),
            kv = budget::gib(result.kv_bytes),
            context = result.context_tokens,
            kv_type = result.kv_type,
            overhead = budget::gib(result.overhead_bytes),
            total = budget::gib(result.total_bytes),
            device_bytes = budget::gib(result.device_bytes),
            device_name = memory.describe(),
        ),
    }
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
