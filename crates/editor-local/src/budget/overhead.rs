//! The engines' memory beyond weights and KV cache, modelled term by term per engine and device.

use super::shape::ModelShape;
use crate::engine::kind::EngineKind;

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// System RAM.
    Cpu,
    /// A GPU's memory.
    Gpu,
}

/// The non-weight, non-KV memory of the embedded engine, modelled term by term.
///
/// Terms (all from reading mistralrs 0.8.1 / candle 0.10.2, for a prefill of the whole context,
/// which is the peak: the engine re-prefills a prompt of up to `ctx` tokens):
/// * `runtime_bytes`: the process/driver floor. CPU: 200 MiB, derived from the measurement in
///   docs/MODELS.md (SmolLM2 peak RSS ≈ 410 MB = 98 MB weights + 113 MB f32 token
///   embedding + this floor, for a 38-token prompt). GPU: 512 MiB, the seed's ~0.5 GB for the
///   CUDA context and cuBLAS workspace — not measured here (no GPU); `aidx doctor --stress`
///   checks it.
/// * token embedding: the quantized loaders (`quantized_llama.rs`, `quantized_qwen.rs`) call
///   `token_embd.dequantize(device)`, a full f32 copy: `vocab × hidden × 4` bytes.
/// * causal mask, live for the whole pass: `layers_masker.rs` builds a `(prompt, ctx)` mask in
///   the activation dtype.
/// * residual stream and its normed copy, live for the whole pass: `2 × prompt × hidden`.
/// * then the larger of the two per-layer phases (one layer is live at a time):
///   - attention: q, k, v and the output (`prompt × (2·q_dim + kv_dim)`), plus
///     - on the CPU, `attention/backends/cpu.rs` (a flash-style kernel, no score matrix) copies
///       the mask into an f32 buffer: `prompt × ctx × 4`;
///     - on CUDA without the flash-attn feature, naive SDPA chunked by `ATTENTION_CHUNK_SIZE`
///       = 1024 query rows (`attention/mod.rs`): `heads × min(prompt, 1024) × ctx` scores, twice
///       (scores and softmax output);
///   - FFN: gate, up and their product, `3 × prompt × ffn`.
/// * logits: the last position only, f32: `vocab × 4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OverheadModel {
    /// Process/driver floor.
    pub runtime_bytes: u64,
    /// Whether the engine keeps an f32 copy of the token embedding (mistralrs does).
    pub f32_token_embedding: bool,
    /// Bytes per activation element (f32 on CPU; bf16/f16 on GPU).
    pub activation_bytes: u64,
    /// Whether attention materializes the score matrix (naive SDPA).
    pub attention_scores: bool,
    /// Query rows per attention chunk when scores are materialized.
    pub attention_chunk: u64,
    /// Whether the attention kernel copies the mask to f32 (mistralrs's CPU kernel).
    pub mask_f32_copy: bool,
    /// Whose memory behaviour this is; llama.cpp's is modelled by [`Self::LLAMA_CPP_CPU`].
    pub engine: OverheadEngine,
}

/// The engine an [`OverheadModel`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OverheadEngine {
    /// mistral.rs 0.8.1 / candle 0.10.2.
    MistralRs,
    /// llama.cpp as built by llama-cpp-sys-2 0.1.161.
    LlamaCpp,
}

/// llama.cpp's prompt micro-batch (`n_ubatch`, its default): activations are sized for it, not
/// for the whole prompt.
pub const LLAMA_CPP_UBATCH: u64 = 512;

impl OverheadModel {
    /// mistralrs 0.8.1 on the CPU.
    pub const MISTRALRS_CPU: Self = Self {
        runtime_bytes: 200 << 20,
        f32_token_embedding: true,
        activation_bytes: 4,
        attention_scores: false,
        attention_chunk: 1024,
        mask_f32_copy: true,
        engine: OverheadEngine::MistralRs,
    };
    /// mistralrs 0.8.1 on a CUDA GPU (built without flash-attn).
    pub const MISTRALRS_GPU: Self = Self {
        runtime_bytes: 512 << 20,
        f32_token_embedding: true,
        activation_bytes: 2,
        attention_scores: true,
        attention_chunk: 1024,
        mask_f32_copy: false,
        engine: OverheadEngine::MistralRs,
    };
    /// llama.cpp on the CPU (`editor.engine: llama-cpp`). Terms, measured from llama.cpp's own
    /// load log (`-lv 4`: "CPU compute buffer size") on SmolLM2
    /// (576 wide, FFN 1536) and a 22-layer 2048-wide model (FFN 5632), at 1,024 and 2,048 tokens:
    /// * compute buffer, flash attention on (llama.cpp's default `auto` on CPU), fitted to those
    ///   four logs within 2 %: `u × 4 × (5.25 × hidden + 3 × ffn) + u × ctx × 2` with
    ///   `u = min(512, ctx)` — the f32 activations of one micro-batch plus its f16 mask row block;
    /// * weights once: aidx loads them with `use_mmap = false`. (With a mapping, the pages of
    ///   every matrix llama.cpp repacks for its x86 kernels — Q4_0/Q4_K/IQ4_NL, 455 MiB of the
    ///   bench's 1B model — stay resident next to the repacked copy.)
    /// * no f32 token-embedding copy; a 48 MiB process floor (measured 29 MiB for a bare engine
    ///   child; the rest covers aidx itself and the grammar engine's token tables).
    pub const LLAMA_CPP_CPU: Self = Self {
        runtime_bytes: 48 << 20,
        f32_token_embedding: false,
        activation_bytes: 4,
        attention_scores: false,
        attention_chunk: LLAMA_CPP_UBATCH,
        mask_f32_copy: false,
        engine: OverheadEngine::LlamaCpp,
    };

    /// llama.cpp on a CUDA GPU: the same compute-buffer terms as on the CPU (f32 activations of
    /// one micro-batch and its f16 mask; CUDA's flash attention is on by default too) and the
    /// CUDA context and cuBLAS workspace as the floor, taken as 512 MiB like mistral.rs's — not
    /// measured here (no GPU); `aidx doctor --stress` on a GPU checks it.
    pub const LLAMA_CPP_GPU: Self = Self {
        runtime_bytes: 512 << 20,
        ..Self::LLAMA_CPP_CPU
    };

    /// The model for an engine on a device (what `aidx budget --vram` plans with, whatever
    /// this build can run).
    pub fn for_engine(engine: EngineKind, device: DeviceKind) -> Self {
        match (engine, device) {
            (EngineKind::MistralRs, _) => Self::for_device(device),
            (EngineKind::LlamaCpp, DeviceKind::Gpu) => Self::LLAMA_CPP_GPU,
            (EngineKind::LlamaCpp, DeviceKind::Cpu) => Self::LLAMA_CPP_CPU,
        }
    }

    /// The model for a device.
    pub fn for_device(device: DeviceKind) -> Self {
        match device {
            DeviceKind::Cpu => Self::MISTRALRS_CPU,
            DeviceKind::Gpu => Self::MISTRALRS_GPU,
        }
    }

    /// Overhead for a context of `ctx` tokens, all prefilled at once.
    pub fn overhead(&self, shape: &ModelShape, ctx: u64) -> Overhead {
        if self.engine == OverheadEngine::LlamaCpp {
            return self.llama_cpp_overhead(shape, ctx);
        }
        // Saturating u128 products: a hostile header or an absurd --ctx cannot overflow.
        let w = u128::from;
        let mul = |xs: &[u128]| xs.iter().fold(1u128, |acc, &x| acc.saturating_mul(x));
        let a = w(self.activation_bytes);
        let (p, c) = (w(ctx), w(ctx));
        let kv_dim = shape
            .layers
            .iter()
            .map(|l| mul(&[w(l.kv_heads), w(l.key_length) + w(l.value_length)]))
            .max()
            .unwrap_or(0);
        let key_length = shape.layers.first().map_or(0, |l| w(l.key_length));
        let q_dim = mul(&[w(shape.head_count), key_length]);
        // Live for the whole forward pass: the mask and the residual stream (+ its normed copy).
        let mask = mul(&[p, c, a]);
        let residual = mul(&[2, p, w(shape.embedding_length), a]);
        // One layer at a time, attention and FFN phases not at once: the larger of the two.
        let mut attention = mul(&[p, q_dim.saturating_mul(2).saturating_add(kv_dim), a]);
        if self.attention_scores {
            let chunk = p.min(w(self.attention_chunk));
            attention = attention.saturating_add(mul(&[2, w(shape.head_count), chunk, c, a]));
        }
        if self.mask_f32_copy {
            attention = attention.saturating_add(mul(&[p, c, 4]));
        }
        let ffn = mul(&[3, p, w(shape.feed_forward_length), a]);
        let logits = mul(&[w(shape.vocab_size), 4]);
        let compute = [mask, residual, attention.max(ffn), logits]
            .into_iter()
            .fold(0u128, u128::saturating_add);
        let clamp = |x: u128| u64::try_from(x).unwrap_or(u64::MAX);
        Overhead {
            runtime_bytes: self.runtime_bytes,
            token_embedding_bytes: if self.f32_token_embedding {
                clamp(mul(&[w(shape.vocab_size), w(shape.embedding_length), 4]))
            } else {
                0
            },
            compute_bytes: clamp(compute),
        }
    }

    fn llama_cpp_overhead(&self, shape: &ModelShape, ctx: u64) -> Overhead {
        let w = u128::from;
        let u = w(ctx.min(LLAMA_CPP_UBATCH));
        let per_row = (w(shape.embedding_length) * 21 / 4)
            .saturating_add(w(shape.feed_forward_length).saturating_mul(3));
        let compute = u
            .saturating_mul(w(self.activation_bytes))
            .saturating_mul(per_row)
            .saturating_add(u.saturating_mul(w(ctx)).saturating_mul(2));
        Overhead {
            runtime_bytes: self.runtime_bytes,
            token_embedding_bytes: 0,
            compute_bytes: u64::try_from(compute).unwrap_or(u64::MAX),
        }
    }
}

/// The overhead, by term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Overhead {
    /// Process/driver floor.
    pub runtime_bytes: u64,
    /// The engine's f32 copy of the token embedding.
    pub token_embedding_bytes: u64,
    /// Peak activations of a full-context prefill.
    pub compute_bytes: u64,
}

impl Overhead {
    /// All terms.
    pub fn total(&self) -> u64 {
        self.runtime_bytes
            .saturating_add(self.token_embedding_bytes)
            .saturating_add(self.compute_bytes)
    }
}
