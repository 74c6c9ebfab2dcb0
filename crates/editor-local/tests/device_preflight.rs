//! The load preflight against each source of device memory, on the real SmolLM2 header: a
//! configured gpu.vram, a GPU read at run time (its free memory), system RAM; and what a model
//! that does not fit the GPU whole gets told.

mod gguf_common;

use aidx_editor_local::budget::{DeviceKind, KvType};
use aidx_editor_local::device::{self, DeviceMemory};
use aidx_editor_local::engine::{EngineError, EngineKind, preflight_on};
use aidx_gpu::GpuDevice;
use gguf_common::{SMOLLM2, model};

fn card(free: u64) -> GpuDevice {
    GpuDevice {
        index: 0,
        name: "Test GPU".into(),
        driver: "550.54.15".into(),
        total_bytes: 2 << 30,
        free_bytes: free,
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
    let p = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        memory,
        EngineKind::LlamaCpp,
        no_ram,
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
    let p = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        memory,
        EngineKind::LlamaCpp,
        no_ram,
    )
    .unwrap();
    // 30 blocks + the output layer.
    assert_eq!(p.gpu_layers, 31);
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
    let result = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        memory,
        EngineKind::MistralRs,
        no_ram,
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

/// In a build with a GPU back-end, llama.cpp runs the split when system RAM holds the CPU side,
/// and refuses (naming both sides) when it does not.
#[cfg(feature = "cuda")]
#[test]
fn a_gpu_build_runs_the_split_when_ram_holds_the_rest() {
    let Some(path) = model(SMOLLM2) else { return };
    let small = || DeviceMemory::Detected {
        device: card(600 << 20),
    };
    let p = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        small(),
        EngineKind::LlamaCpp,
        || Ok(8 << 30),
    )
    .unwrap();
    assert_eq!(p.gpu_layers, 12);
    let err = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        small(),
        EngineKind::LlamaCpp,
        || Ok(1 << 20),
    )
    .unwrap_err();
    assert!(err.to_string().contains("its CPU side needs"), "{err}");
}

/// Without a GPU back-end, gpu.vram is a planning figure: the model runs on the CPU, and a split
/// is never attempted, even where llama.cpp's GPU model finds one.
#[cfg(not(any(feature = "cuda", feature = "metal")))]
#[test]
fn a_cpu_build_never_splits() {
    let Some(path) = model(SMOLLM2) else { return };
    let result = preflight_on(
        &path,
        KvType::F16,
        Some(2048),
        DeviceMemory::Configured { bytes: 150 << 20 },
        EngineKind::LlamaCpp,
        no_ram,
    );
    match result {
        Err(EngineError::OverBudget { message }) => {
            assert!(message.contains("GPU memory (gpu.vram)"), "{message}")
        }
        Err(other) => panic!("expected a refusal over budget, got {other}"),
        Ok(p) => panic!("loaded with {} GPU layers", p.gpu_layers),
    }
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
