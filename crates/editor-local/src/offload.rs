//! Layer offload: when a model does not fit the GPU whole, how many of its layers to keep there.
//!
//! This is llama.cpp's `n_gpu_layers`, computed instead of guessed. llama.cpp counts the model as
//! `n_layer` repeating blocks plus one output layer (`output.weight` and `output_norm`) and puts
//! the **last** `n_gpu_layers` of those `n_layer + 1` on the GPU (`llama-model.cpp`,
//! `i_gpu_start = n_layer + 1 - n_gpu_layers`): one layer means the output layer alone, `n_layer +
//! 1` means everything. The input layer (`token_embd`) always stays on the CPU; a model with tied
//! embeddings (no `output.weight`) gets a copy of `token_embd` on the output layer's device. Each
//! offloaded block's KV cache lives with it on the GPU (`offload_kqv`, llama.cpp's default).
//!
//! The GPU side is held against the device's memory: its blocks' weights and KV cache, the
//! output layer, the CUDA runtime floor and one compute buffer. The rest (input layer, the other
//! blocks and their KV, the CPU's own compute buffer) is what system RAM must hold.

use crate::budget::overhead::OverheadModel;
use crate::budget::shape::{KvType, ModelShape};
use crate::quantize::FileQuant;

/// A model's weights by where llama.cpp can place them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerLayout {
    /// `token_embd` and anything outside the blocks and the output layer: always on the CPU.
    pub input_bytes: u64,
    /// Each repeating block (`blk.N.*`), in order.
    pub block_bytes: Vec<u64>,
    /// The output layer's own tensors: `output.weight` (when present) and `output_norm`.
    pub output_bytes: u64,
    /// With tied embeddings (no `output.weight`), the copy of `token_embd` the output layer
    /// loads on its device; 0 otherwise.
    pub tied_copy_bytes: u64,
}

impl LayerLayout {
    /// The layout of `shape`, each tensor stored as in the file (`None`) or under `quant`'s mix.
    pub fn from_shape(shape: &ModelShape, quant: Option<FileQuant>) -> Self {
        let mut layout = LayerLayout {
            input_bytes: 0,
            block_bytes: vec![0; shape.layers.len()],
            output_bytes: 0,
            tied_copy_bytes: 0,
        };
        let (mut token_embd, mut has_output) = (0, false);
        for (name, bytes) in shape.tensor_bytes(quant) {
            if let Some(block) = block_index(name) {
                match layout.block_bytes.get_mut(block) {
                    Some(b) => *b = b.saturating_add(bytes),
                    // A block past `block_count` (a malformed header): count it on the CPU side
                    // rather than lose it.
                    None => layout.input_bytes = layout.input_bytes.saturating_add(bytes),
                }
            } else if name.starts_with("output.") || name.starts_with("output_norm.") {
                has_output |= name == "output.weight";
                layout.output_bytes = layout.output_bytes.saturating_add(bytes);
            } else {
                if name == "token_embd.weight" {
                    token_embd = bytes;
                }
                layout.input_bytes = layout.input_bytes.saturating_add(bytes);
            }
        }
        if !has_output {
            layout.tied_copy_bytes = token_embd;
        }
        layout
    }

    /// Every tensor of the file once (the tied copy is not in the file).
    pub fn file_bytes(&self) -> u64 {
        self.block_bytes
            .iter()
            .fold(self.input_bytes, |acc, &b| acc.saturating_add(b))
            .saturating_add(self.output_bytes)
    }

    /// The most layers llama.cpp can offload: every block plus the output layer.
    pub fn offloadable(&self) -> u32 {
        self.block_bytes.len() as u32 + 1
    }
}

/// `blk.12.attn_q.weight` → 12.
fn block_index(name: &str) -> Option<usize> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

/// Memory on one side of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SideBytes {
    /// Weights held there.
    pub weights_bytes: u64,
    /// KV cache of the blocks held there.
    pub kv_bytes: u64,
    /// Runtime floor and compute buffer.
    pub overhead_bytes: u64,
}

impl SideBytes {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.weights_bytes
            .saturating_add(self.kv_bytes)
            .saturating_add(self.overhead_bytes)
    }
}

/// How a model is split between the GPU and the CPU. Field names are the `--json` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OffloadPlan {
    /// llama.cpp's `n_gpu_layers`: how many of the last `offloadable` layers are on the GPU.
    pub gpu_layers: u32,
    /// Blocks + the output layer.
    pub offloadable: u32,
    /// What the GPU holds.
    pub gpu: SideBytes,
    /// What system RAM holds.
    pub cpu: SideBytes,
    /// The GPU memory the GPU side was held against.
    pub device_bytes: u64,
}

impl OffloadPlan {
    /// Everything is on the GPU.
    pub fn is_whole(&self) -> bool {
        self.gpu_layers == self.offloadable
    }
}

/// Memory of each side when the last `gpu_layers` layers are on the GPU, at `ctx` tokens.
pub fn split(
    shape: &ModelShape,
    layout: &LayerLayout,
    kv: KvType,
    ctx: u64,
    gpu_layers: u32,
) -> (SideBytes, SideBytes) {
    let n_blocks = layout.block_bytes.len() as u32;
    let gpu_layers = gpu_layers.min(n_blocks + 1);
    // Layers n_blocks + 1 - gpu_layers ..= n_blocks are on the GPU (index n_blocks = output).
    let first_gpu_block = (n_blocks + 1 - gpu_layers) as usize;
    let mut gpu = SideBytes::default();
    let mut cpu = SideBytes {
        weights_bytes: layout.input_bytes,
        ..SideBytes::default()
    };
    for (i, (weights, kv_bytes)) in layout
        .block_bytes
        .iter()
        .zip(shape.layer_kv_bytes(kv, ctx))
        .enumerate()
    {
        let side = if i >= first_gpu_block {
            &mut gpu
        } else {
            &mut cpu
        };
        side.weights_bytes = side.weights_bytes.saturating_add(*weights);
        side.kv_bytes = side.kv_bytes.saturating_add(kv_bytes);
    }
    if gpu_layers >= 1 {
        gpu.weights_bytes = gpu
            .weights_bytes
            .saturating_add(layout.output_bytes)
            .saturating_add(layout.tied_copy_bytes);
        gpu.overhead_bytes = OverheadModel::LLAMA_CPP_GPU.overhead(shape, ctx).total();
    } else {
        cpu.weights_bytes = cpu.weights_bytes.saturating_add(layout.output_bytes);
    }
    // The CPU always runs the input layer, so it always has its own floor and compute buffer.
    cpu.overhead_bytes = OverheadModel::LLAMA_CPP_CPU.overhead(shape, ctx).total();
    (gpu, cpu)
}

/// The most layers whose GPU side fits `device_bytes` (0 when not even the output layer does).
pub fn plan(
    shape: &ModelShape,
    layout: &LayerLayout,
    kv: KvType,
    ctx: u64,
    device_bytes: u64,
) -> OffloadPlan {
    // The GPU side grows with every layer added, so the first that does not fit ends the search.
    let gpu_layers = (1..=layout.offloadable())
        .take_while(|&n| split(shape, layout, kv, ctx, n).0.total() <= device_bytes)
        .last()
        .unwrap_or(0);
    let (gpu, cpu) = split(shape, layout, kv, ctx, gpu_layers);
    OffloadPlan {
        gpu_layers,
        offloadable: layout.offloadable(),
        gpu,
        cpu,
        device_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_names() {
        assert_eq!(block_index("blk.12.attn_q.weight"), Some(12));
        assert_eq!(block_index("blk.x.attn_q.weight"), None);
        assert_eq!(block_index("token_embd.weight"), None);
    }
}
