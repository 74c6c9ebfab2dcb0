//! A model's shape: what the budget needs to know about it, from a GGUF header or from a
//! description of a model that is not on disk (its architecture's public figures).

use std::fmt;
use std::str::FromStr;

use crate::gguf::{self, GgmlType, GgufHeader};
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

    /// The layers llama.cpp can put on a GPU (`n_gpu_layers` for the whole model): every block
    /// plus the output layer.
    pub fn offloadable_layers(&self) -> u32 {
        self.layers.len() as u32 + 1
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
