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

use std::fmt::{self, Write as _};
use std::path::Path;
use std::str::FromStr;

use crate::gguf::{self, GgmlType, GgufHeader};
use crate::offload::{self, LayerLayout, OffloadPlan};
use crate::quantize::{self, FileQuant, MixContext};

/// The KV cache dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KvType {
    /// 16-bit floats (the default everywhere).
    #[default]
    F16,
    /// 8-bit blocks of 32 (34 bytes per 32 values).
    Q8_0,
    /// 4-bit blocks of 32 (18 bytes per 32 values).
    Q4_0,
}

impl KvType {
    /// The ggml type that stores the cache.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            Self::F16 => GgmlType::F16,
            Self::Q8_0 => GgmlType::Q8_0,
            Self::Q4_0 => GgmlType::Q4_0,
        }
    }

    /// Bytes for one row of `n` values (whole blocks; a partial block is stored whole).
    pub fn row_bytes(self, n: u64) -> u64 {
        let t = self.ggml_type();
        n.div_ceil(t.block_size()) * t.type_size()
    }

    /// The command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
            Self::Q4_0 => "q4_0",
        }
    }
}

impl FromStr for KvType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Self::F16),
            "q8_0" => Ok(Self::Q8_0),
            "q4_0" => Ok(Self::Q4_0),
            other => Err(format!(
                "unknown KV cache type `{other}`: expected f16, q8_0 or q4_0"
            )),
        }
    }
}

impl fmt::Display for KvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One layer's attention geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LayerAttention {
    /// KV heads (GQA: fewer than query heads).
    pub kv_heads: u64,
    /// Key length per head.
    pub key_length: u64,
    /// Value length per head.
    pub value_length: u64,
    /// The layer's attention window, when it only attends to the last `window` tokens.
    pub sliding_window: Option<u64>,
}

/// A tensor's name and shape (ggml order), with its stored type when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorShape {
    /// `blk.0.attn_q.weight`.
    pub name: String,
    /// ggml dims (`dims[0]` = row length).
    pub dims: Vec<u64>,
    /// The stored type, for a file; `None` for a description (1-D tensors are F32).
    pub stored: Option<GgmlType>,
}

impl TensorShape {
    fn n_elements(&self) -> u64 {
        self.dims.iter().fold(1, |acc, &d| acc.saturating_mul(d))
    }
}

/// Everything the budget needs about a model, from a GGUF header or a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelShape {
    /// `general.architecture`.
    pub architecture: String,
    /// Query heads (the largest over layers).
    pub head_count: u64,
    /// Hidden size.
    pub embedding_length: u64,
    /// FFN width (0 when unknown).
    pub feed_forward_length: u64,
    /// Vocabulary size.
    pub vocab_size: u64,
    /// The trained context, when known.
    pub context_length: Option<u64>,
    /// Per-layer attention geometry.
    pub layers: Vec<LayerAttention>,
    /// The tensor list.
    pub tensors: Vec<TensorShape>,
}

impl ModelShape {
    /// The shape of a GGUF file (only its header is needed).
    pub fn from_header(header: &GgufHeader) -> gguf::Result<Self> {
        let p = header.model_params()?;
        let layers = (0..p.block_count)
            .map(|i| LayerAttention {
                kv_heads: p.head_count_kv[i as usize],
                key_length: p.key_length,
                value_length: p.value_length,
                sliding_window: if p.is_sliding_layer(i) {
                    p.sliding_window
                } else {
                    None
                },
            })
            .collect();
        Ok(Self {
            architecture: p.architecture.clone(),
            head_count: p.head_count.iter().copied().max().unwrap_or(0),
            embedding_length: p.embedding_length,
            feed_forward_length: p.feed_forward_length.unwrap_or(0),
            vocab_size: p.vocab_size,
            context_length: p.context_length,
            layers,
            tensors: header
                .tensors
                .iter()
                .map(|t| TensorShape {
                    name: t.name.clone(),
                    dims: t.dims.clone(),
                    stored: Some(t.ggml_type),
                })
                .collect(),
        })
    }

    /// Total parameters (elements of all tensors).
    pub fn parameters(&self) -> u64 {
        self.tensors
            .iter()
            .map(TensorShape::n_elements)
            .fold(0, u64::saturating_add)
    }

    /// Bytes of the stored tensors (a file's exact weights; descriptions count 2-D weights as
    /// F16 and 1-D tensors as F32).
    pub fn stored_weights_bytes(&self) -> u64 {
        self.tensor_bytes(None)
            .map(|(_, bytes)| bytes)
            .fold(0, u64::saturating_add)
    }

    /// Bytes of the weights if stored with `quant`'s mix (llama.cpp's); tensors the mix leaves
    /// alone keep their stored type (descriptions: F32).
    pub fn weights_bytes_for(&self, quant: FileQuant) -> u64 {
        self.tensor_bytes(Some(quant))
            .map(|(_, bytes)| bytes)
            .fold(0, u64::saturating_add)
    }

    /// Each tensor's name and bytes, stored (`None`) or under `quant`'s mix.
    pub fn tensor_bytes(&self, quant: Option<FileQuant>) -> impl Iterator<Item = (&str, u64)> {
        let ctx = quant.map(|_| {
            MixContext::from_names(
                self.layers.len() as u64,
                self.tensors.iter().map(|t| t.name.as_str()),
            )
        });
        self.tensors.iter().map(move |t| {
            let stored = t.stored.unwrap_or(if t.dims.len() >= 2 && quant.is_none() {
                GgmlType::F16
            } else {
                GgmlType::F32
            });
            let ty = match (quant, &ctx) {
                (Some(q), Some(ctx)) => {
                    quantize::tensor_type(&t.name, &t.dims, q, ctx).unwrap_or(stored)
                }
                _ => stored,
            };
            (t.name.as_str(), ty.bytes_for(t.n_elements()).unwrap_or(0))
        })
    }

    /// KV bytes one token adds in every layer (the rate while the context is within every
    /// sliding window).
    pub fn kv_bytes_per_token(&self, kv: KvType) -> u64 {
        self.layers
            .iter()
            .map(|l| layer_kv_bytes(l, kv))
            .fold(0, u64::saturating_add)
    }

    /// KV bytes for a context of `ctx` tokens (sliding-window layers hold at most their window).
    pub fn kv_bytes(&self, kv: KvType, ctx: u64) -> u64 {
        self.layer_kv_bytes(kv, ctx).fold(0, u64::saturating_add)
    }

    /// Each layer's KV bytes for a context of `ctx` tokens, in layer order.
    pub fn layer_kv_bytes(&self, kv: KvType, ctx: u64) -> impl Iterator<Item = u64> + '_ {
        self.layers.iter().map(move |l| {
            layer_kv_bytes(l, kv).saturating_mul(l.sliding_window.map_or(ctx, |w| ctx.min(w)))
        })
    }
}

fn layer_kv_bytes(l: &LayerAttention, kv: KvType) -> u64 {
    kv.row_bytes(l.kv_heads * l.key_length) + kv.row_bytes(l.kv_heads * l.value_length)
}

/// A model described by its architecture rather than a local file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelDescription {
    /// The id users type (`Qwen2.5-Coder-14B-Instruct`).
    pub id: &'static str,
    /// GGUF architecture name.
    pub architecture: &'static str,
    /// Transformer layers.
    pub block_count: u64,
    /// Hidden size.
    pub embedding_length: u64,
    /// FFN width.
    pub feed_forward_length: u64,
    /// Query heads.
    pub head_count: u64,
    /// KV heads.
    pub head_count_kv: u64,
    /// Head dimension (keys and values).
    pub head_dim: u64,
    /// Vocabulary size.
    pub vocab_size: u64,
    /// Trained context.
    pub context_length: u64,
    /// Whether the output projection is the token embedding.
    pub tied_embeddings: bool,
    /// Whether q/k/v projections have biases (Qwen2).
    pub qkv_bias: bool,
    /// Parameter count from the model card, to check the tensor list against.
    pub card_parameters: u64,
}

/// Public model-card figures for models aidx knows by id (checked against
/// docs/MODELS.md for Qwen2.5-Coder-14B-Instruct and against the real GGUF headers for
/// SmolLM2-135M-Instruct and DeepSeek-R1-Distill-Qwen-7B).
pub const KNOWN_MODELS: &[ModelDescription] = &[
    ModelDescription {
        id: "Qwen2.5-Coder-14B-Instruct",
        architecture: "qwen2",
        block_count: 48,
        embedding_length: 5120,
        feed_forward_length: 13824,
        head_count: 40,
        head_count_kv: 8,
        head_dim: 128,
        vocab_size: 152_064,
        context_length: 32_768,
        tied_embeddings: false,
        qkv_bias: true,
        card_parameters: 14_700_000_000,
    },
    ModelDescription {
        id: "Qwen2.5-Coder-7B-Instruct",
        architecture: "qwen2",
        block_count: 28,
        embedding_length: 3584,
        feed_forward_length: 18944,
        head_count: 28,
        head_count_kv: 4,
        head_dim: 128,
        vocab_size: 152_064,
        context_length: 32_768,
        tied_embeddings: false,
        qkv_bias: true,
        card_parameters: 7_610_000_000,
    },
    ModelDescription {
        id: "Qwen2.5-Coder-32B-Instruct",
        architecture: "qwen2",
        block_count: 64,
        embedding_length: 5120,
        feed_forward_length: 27648,
        head_count: 40,
        head_count_kv: 8,
        head_dim: 128,
        vocab_size: 152_064,
        context_length: 32_768,
        tied_embeddings: false,
        qkv_bias: true,
        card_parameters: 32_500_000_000,
    },
    ModelDescription {
        id: "Llama-3.1-8B-Instruct",
        architecture: "llama",
        block_count: 32,
        embedding_length: 4096,
        feed_forward_length: 14336,
        head_count: 32,
        head_count_kv: 8,
        head_dim: 128,
        vocab_size: 128_256,
        context_length: 131_072,
        tied_embeddings: false,
        qkv_bias: false,
        card_parameters: 8_030_000_000,
    },
    ModelDescription {
        id: "SmolLM2-135M-Instruct",
        architecture: "llama",
        block_count: 30,
        embedding_length: 576,
        feed_forward_length: 1536,
        head_count: 9,
        head_count_kv: 3,
        head_dim: 64,
        vocab_size: 49_152,
        context_length: 8192,
        tied_embeddings: true,
        qkv_bias: false,
        card_parameters: 134_515_008,
    },
];

/// The known model whose id matches `id` (case-insensitive; an `org/` prefix is ignored).
pub fn known_model(id: &str) -> Option<&'static ModelDescription> {
    let id = id.rsplit('/').next().unwrap_or(id);
    KNOWN_MODELS.iter().find(|m| m.id.eq_ignore_ascii_case(id))
}

impl ModelDescription {
    /// The tensor list of a llama/qwen2-style decoder with these dimensions, named as in GGUF.
    pub fn shape(&self) -> ModelShape {
        let (h, f, v) = (
            self.embedding_length,
            self.feed_forward_length,
            self.vocab_size,
        );
        let q = self.head_count * self.head_dim;
        let kv = self.head_count_kv * self.head_dim;
        let t = |name: String, dims: &[u64]| TensorShape {
            name,
            dims: dims.to_vec(),
            stored: None,
        };
        let mut tensors = vec![t("token_embd.weight".into(), &[h, v])];
        for i in 0..self.block_count {
            let p = format!("blk.{i}");
            tensors.push(t(format!("{p}.attn_norm.weight"), &[h]));
            tensors.push(t(format!("{p}.attn_q.weight"), &[h, q]));
            tensors.push(t(format!("{p}.attn_k.weight"), &[h, kv]));
            tensors.push(t(format!("{p}.attn_v.weight"), &[h, kv]));
            if self.qkv_bias {
                tensors.push(t(format!("{p}.attn_q.bias"), &[q]));
                tensors.push(t(format!("{p}.attn_k.bias"), &[kv]));
                tensors.push(t(format!("{p}.attn_v.bias"), &[kv]));
            }
            tensors.push(t(format!("{p}.attn_output.weight"), &[q, h]));
            tensors.push(t(format!("{p}.ffn_norm.weight"), &[h]));
            tensors.push(t(format!("{p}.ffn_gate.weight"), &[h, f]));
            tensors.push(t(format!("{p}.ffn_up.weight"), &[h, f]));
            tensors.push(t(format!("{p}.ffn_down.weight"), &[f, h]));
        }
        tensors.push(t("output_norm.weight".into(), &[h]));
        if !self.tied_embeddings {
            tensors.push(t("output.weight".into(), &[h, v]));
        }
        ModelShape {
            architecture: self.architecture.to_owned(),
            head_count: self.head_count,
            embedding_length: h,
            feed_forward_length: f,
            vocab_size: v,
            context_length: Some(self.context_length),
            layers: (0..self.block_count)
                .map(|_| LayerAttention {
                    kv_heads: self.head_count_kv,
                    key_length: self.head_dim,
                    value_length: self.head_dim,
                    sliding_window: None,
                })
                .collect(),
            tensors,
        }
    }
}

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
    pub fn for_engine(engine: crate::engine::EngineKind, device: DeviceKind) -> Self {
        match (engine, device) {
            (crate::engine::EngineKind::MistralRs, _) => Self::for_device(device),
            (crate::engine::EngineKind::LlamaCpp, DeviceKind::Gpu) => Self::LLAMA_CPP_GPU,
            (crate::engine::EngineKind::LlamaCpp, DeviceKind::Cpu) => Self::LLAMA_CPP_CPU,
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
