//! The load preflight against each source of device memory, on the real SmolLM2 header: a
//! configured gpu.vram, a GPU read at run time (its free memory), system RAM; and what a model
//! that does not fit the GPU whole gets told.

mod gguf_common;

use aidx_editor_local::budget::DeviceKind;
use aidx_editor_local::device::{self, DeviceMemory};
use aidx_editor_local::engine::{EngineError, EngineKind, LoadOptions, preflight_as};
use aidx_gpu::GpuDevice;
use gguf_common::{SMOLLM2, model};

fn card(free: u64) -> GpuDevice {
    GpuDevice {
        index: 0,
        name: "Test GPU".into(),
        uuid: "GPU-test".into(),
        driver: "550.54.15".into(),
        total_bytes: 2 << 30,
        free_bytes: free,
    }
}

fn opts(path: &std::path::Path, engine: EngineKind) -> LoadOptions {
    LoadOptions {
        context_tokens: Some(2048),
        engine,
        ..LoadOptions::cpu(path)
    }
}

fn no_ram() -> Result<u64, aidx_editor_local::budget::BudgetError> {
    panic!("system RAM read although no split was needed")
}

#[test]
fn system_ram_loads_with_no_gpu_layer() {
    let Some(path) = model(SMOLLM2) else { return };
    let memory = DeviceMemory::SystemRam {
        bytes: 8 << 30,
        no_gpu: None,
    };
    let p = preflight_as(
        &opts(&path, EngineKind::LlamaCpp),
        memory,
        no_ram,
        device::GPU_BACKEND.is_some(),
    )
    .unwrap();
    assert_eq!(p.gpu_layers, 0);
    assert_eq!(p.budget.device, DeviceKind::Cpu);
    assert!(p.budget.offload.is_none());
}

#[test]
fn a_model_that_fits_the_gpu_loads_every_layer_there() {
    let Some(path) = model(SMOLLM2) else { return };
    let memory = DeviceMemory::Detected {
        device: card(1 << 30),
    };
    let p = preflight_as(
        &opts(&path, EngineKind::LlamaCpp),
        memory,
        no_ram,
        device::GPU_BACKEND.is_some(),
    )
    .unwrap();
    // 30 blocks + the output layer.
    assert_eq!(p.gpu_layers, 31);
    assert_eq!(p.device_bytes_used(), p.budget.total_bytes);
    assert_eq!(
        p.budget.device_bytes,
        1 << 30,
        "free memory, not the 2 GiB total"
    );
    assert!(p.budget.offload.is_none());
}

#[test]
fn a_gpu_too_small_is_refused_with_the_split_and_the_free_memory_named() {
    let Some(path) = model(SMOLLM2) else { return };
    // Free memory for the CUDA floor and about half of the blocks (llama.cpp's GPU model).
    let memory = DeviceMemory::Detected {
        device: card(600 << 20),
    };
    let result = preflight_as(
        &opts(&path, EngineKind::MistralRs),
        memory,
        no_ram,
        device::GPU_BACKEND.is_some(),
    );
    let message = match result {
        Err(EngineError::OverBudget { message }) => message,
        Err(other) => panic!("expected a refusal over budget, got {other}"),
        Ok(p) => panic!("loaded with {} GPU layers", p.gpu_layers),
    };
    assert!(
        message.contains("free memory of GPU 0 (Test GPU, 0.59 GiB of 2.00 GiB free"),
        "{message}"
    );
    assert!(
        message.contains("llama.cpp can run it split, 12 of 31 layers on the GPU"),
        "{message}"
    );
    // What to do depends on the build: a CPU build cannot run the split at all.
    if device::GPU_BACKEND.is_none() {
        assert!(message.contains("--features cuda"), "{message}");
    } else {
        assert!(message.contains("editor.engine: llama-cpp"), "{message}");
    }
}

fn ram_8g() -> Result<u64, aidx_editor_local::budget::BudgetError> {
    Ok(8 << 30)
}

fn ram_1m() -> Result<u64, aidx_editor_local::budget::BudgetError> {
    Ok(1 << 20)
}

fn gpu(free: u64) -> DeviceMemory {
    DeviceMemory::Detected { device: card(free) }
}

fn refusal(result: Result<aidx_editor_local::engine::Preflight, EngineError>) -> String {
    match result {
        Err(EngineError::OverBudget { message }) => message,
        Err(other) => panic!("expected a refusal over budget, got {other}"),
        Ok(p) => panic!("loaded with {} GPU layers", p.gpu_layers),
    }
}

/// As a build with a GPU back-end decides: llama.cpp runs the split when system RAM holds the
/// CPU side, and refuses (naming both sides) when it does not.
#[test]
fn a_gpu_build_runs_the_split_when_ram_holds_the_rest() {
    let Some(path) = model(SMOLLM2) else { return };
    let llama = opts(&path, EngineKind::LlamaCpp);
    let p = preflight_as(&llama, gpu(600 << 20), ram_8g, true).unwrap();
    assert_eq!(p.gpu_layers, 12);
    let plan = p.budget.offload.expect("the split is in the budget");
    assert_eq!(plan.gpu_layers, 12);
    // On the device it holds only the split's GPU side.
    assert_eq!(p.device_bytes_used(), plan.gpu.total());
    assert!(p.device_bytes_used() < p.budget.total_bytes);
    let message = refusal(preflight_as(&llama, gpu(600 << 20), ram_1m, true));
    assert!(message.contains("on the CPU side > "), "{message}");
    // aidx runs mistral.rs whole or not at all: refused, with the setting that splits it.
    let message = refusal(preflight_as(
        &opts(&path, EngineKind::MistralRs),
        gpu(600 << 20),
        ram_8g,
        true,
    ));
    assert!(
        message.contains("set `editor.engine: llama-cpp`"),
        "{message}"
    );
}

/// gpu.layers, as a GPU build reads it: fewer layers than fit, 0 for the CPU, more than fit
/// refused with the most that does, every layer refused when the whole does not fit, and a
/// split asked of mistral.rs refused.
#[test]
fn gpu_layers_sets_the_split_and_is_held_to_the_device() {
    let Some(path) = model(SMOLLM2) else { return };
    let with = |n: u32, engine| LoadOptions {
        gpu_layers: Some(n),
        ..opts(&path, engine)
    };
    let p = preflight_as(&with(5, EngineKind::LlamaCpp), gpu(1 << 30), ram_8g, true).unwrap();
    assert_eq!(p.gpu_layers, 5);
    let plan = p.budget.offload.expect("the split is in the budget");
    assert_eq!((plan.gpu_layers, plan.offloadable), (5, 31));
    let p = preflight_as(&with(0, EngineKind::LlamaCpp), gpu(1 << 30), ram_8g, true).unwrap();
    assert_eq!((p.gpu_layers, p.memory.kind()), (0, DeviceKind::Cpu));
    let message = refusal(preflight_as(
        &with(20, EngineKind::LlamaCpp),
        gpu(600 << 20),
        ram_8g,
        true,
    ));
    assert!(message.contains("gpu.layers: 20 layers"), "{message}");
    assert!(message.contains("at most 12 fit"), "{message}");
    let message = refusal(preflight_as(
        &with(31, EngineKind::LlamaCpp),
        gpu(600 << 20),
        ram_8g,
        true,
    ));
    assert!(message.contains("asks for the whole"), "{message}");
    assert!(message.contains("at most 12 of 31 layers fit"), "{message}");
    let message = refusal(preflight_as(
        &with(5, EngineKind::MistralRs),
        gpu(1 << 30),
        ram_8g,
        true,
    ));
    assert!(message.contains("only llama.cpp does"), "{message}");
    // A CPU build reads no gpu.layers: nothing of it runs on a GPU.
    let p = preflight_as(&with(5, EngineKind::LlamaCpp), gpu(1 << 30), no_ram, false).unwrap();
    assert_eq!(p.gpu_layers, 31);
    assert!(p.budget.offload.is_none());
}

/// `editor.engine: auto` on a GPU: mistral.rs cannot hold SmolLM2 in 700 MiB (its f32 copy of the
/// token embedding and the CUDA floor), llama.cpp can. A GPU build hands the model to llama.cpp;
/// a CPU build keeps its old behaviour (the budget's refusal).
#[test]
fn auto_hands_a_model_mistral_rs_cannot_hold_to_llama_cpp_only_in_a_gpu_build() {
    let Some(path) = model(SMOLLM2) else { return };
    let options = aidx_editor_local::engine::LoadOptions {
        context_tokens: Some(2048),
        vram_bytes: Some(700 << 20),
        engine: EngineKind::MistralRs,
        engine_auto: true,
        ..aidx_editor_local::engine::LoadOptions::cpu(&path)
    };
    let chosen = aidx_editor_local::engine::choose_and_preflight(&options);
    if device::GPU_BACKEND.is_some() && cfg!(feature = "llama-cpp") {
        let (engine, p) = chosen.expect("llama.cpp holds it");
        assert_eq!(engine, EngineKind::LlamaCpp);
        assert_eq!(p.gpu_layers, 31);
    } else {
        assert!(
            matches!(chosen, Err(EngineError::OverBudget { .. })),
            "a CPU build changed behaviour"
        );
    }
    // Not under auto: the configured engine is kept, whatever the build.
    let fixed = aidx_editor_local::engine::LoadOptions {
        engine_auto: false,
        ..options
    };
    assert!(matches!(
        aidx_editor_local::engine::choose_and_preflight(&fixed),
        Err(EngineError::OverBudget { .. })
    ));
}

/// Without a GPU back-end, gpu.vram is a planning figure: the model runs on the CPU, and a split
/// is never attempted, even where llama.cpp's GPU model finds one.
#[test]
fn a_cpu_build_never_splits() {
    let Some(path) = model(SMOLLM2) else { return };
    let message = refusal(preflight_as(
        &opts(&path, EngineKind::LlamaCpp),
        DeviceMemory::Configured { bytes: 150 << 20 },
        no_ram,
        false,
    ));
    assert!(message.contains("GPU memory (gpu.vram)"), "{message}");
}
