//! What a caller asks for when it loads a model: the file, the KV type, the context, the device's
//! memory, the engine and the GPU split. Read by the preflight and by the loader.

use std::path::PathBuf;

use super::kind::EngineKind;
use crate::budget::KvType;

/// The context used when neither the configuration nor the budget asks for less.
pub const DEFAULT_CONTEXT_CAP: u64 = 8192;

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
    /// mistral.rs cannot hold the model on the GPU whole ([`super::choose_and_preflight`]).
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
