//! The per-tensor type mix of a whole-file quantization, after llama.cpp's
//! `llama_tensor_get_type` (src/llama-quant.cpp): which tensors are quantized at all, Q6_K for
//! the output (or the tied token embedding), Q6_K for `attn_v` and `ffn_down` in the layers
//! `use_more_bits` picks under Q4_K_M, Q5_K for a fused `attn_qkv`, and the fallback when a row
//! is not a whole number of blocks (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16).
//! Pure functions: the budget sizes models with them, the quantizer writes files with them.

use std::fmt;
use std::str::FromStr;

use crate::gguf::GgmlType;

/// A whole-file quantization, like llama.cpp's `llama_ftype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[allow(non_camel_case_types)]
pub enum FileQuant {
    /// 16-bit floats (not block-quantized: no mix).
    F16,
    /// 8-bit blocks of 32.
    Q8_0,
    /// llama.cpp's Q4_K_M mix: mostly Q4_K, Q6_K for the sensitive tensors.
    Q4_K_M,
    /// 4-bit blocks of 32.
    Q4_0,
}

impl FileQuant {
    /// The quantizations the budget's table lists, largest first.
    pub const TABLE: [FileQuant; 4] = [Self::F16, Self::Q8_0, Self::Q4_K_M, Self::Q4_0];

    /// `general.file_type` (llama_ftype) for a file of this quantization.
    pub fn file_type(self) -> u32 {
        match self {
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q8_0 => 7,
            Self::Q4_K_M => 15,
        }
    }

    /// The type most tensors get (llama.cpp's `default_type`).
    pub fn default_type(self) -> GgmlType {
        match self {
            Self::F16 => GgmlType::F16,
            Self::Q8_0 => GgmlType::Q8_0,
            Self::Q4_K_M => GgmlType::Q4_K,
            Self::Q4_0 => GgmlType::Q4_0,
        }
    }

    /// The lower-case name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
            Self::Q4_K_M => "q4_k_m",
            Self::Q4_0 => "q4_0",
        }
    }

    /// The name llama.cpp's file names use (`Q4_K_M`).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::F16 => "F16",
            Self::Q8_0 => "Q8_0",
            Self::Q4_K_M => "Q4_K_M",
            Self::Q4_0 => "Q4_0",
        }
    }
}

impl fmt::Display for FileQuant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for FileQuant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Self::F16),
            "q8_0" => Ok(Self::Q8_0),
            "q4_k_m" => Ok(Self::Q4_K_M),
            "q4_0" => Ok(Self::Q4_0),
            other => Err(format!(
                "unknown quantization `{other}`: expected one of f16, q8_0, q4_k_m, q4_0"
            )),
        }
    }
}

/// Model-level facts the mix depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixContext {
    /// Transformer layers (`{arch}.block_count`).
    pub n_layer: u64,
    /// Number of `attn_v`/`attn_qkv` tensors (one per attention layer).
    pub n_attention_wv: u64,
    /// Whether the model has a separate `output.weight` (false: tied to `token_embd`).
    pub has_output: bool,
}

impl MixContext {
    /// The context for a list of tensor names.
    pub fn from_names<'a>(n_layer: u64, names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut n_attention_wv = 0;
        let mut has_output = false;
        for name in names {
            if name.contains("attn_v.weight")
                || name.contains("attn_qkv.weight")
                || name.contains("attn_kv_b.weight")
            {
                n_attention_wv += 1;
            } else if name == "output.weight" {
                has_output = true;
            }
        }
        Self {
            n_layer,
            n_attention_wv,
            has_output,
        }
    }
}

/// Whether llama.cpp quantizes a tensor at all: 2-D+ weights that are not norms, embeddings of
/// positions/token types, MoE gates, or the small recurrent/conv weights it lists.
pub fn is_quantizable(name: &str, dims: &[u64]) -> bool {
    const KEEP: &[&str] = &[
        "_norm.weight",
        "ffn_gate_inp.weight",
        "altup",
        "laurel",
        "per_layer_model_proj",
        "ssm_conv1d.weight",
        "shortconv.conv.weight",
        "time_mix_",
        "attn_rel_b.weight",
    ];
    name.ends_with("weight")
        && dims.len() >= 2
        && !KEEP.iter().any(|k| name.contains(k))
        && name != "position_embd.weight"
        && name != "token_types.weight"
}

/// Layer index of a `blk.N.` tensor.
fn layer_index(name: &str) -> Option<u64> {
    name.strip_prefix("blk.")?.split('.').next()?.parse().ok()
}

/// llama.cpp's `use_more_bits`: the first and last eighth of the layers and every third between.
fn use_more_bits(i_layer: u64, n_layers: u64) -> bool {
    let (i, n) = (i_layer as i64, n_layers as i64);
    i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
}

/// The type a tensor gets in a file of quantization `quant`, or `None` when llama.cpp leaves it
/// as it is (norms, biases, 1-D tensors).
pub fn tensor_type(
    name: &str,
    dims: &[u64],
    quant: FileQuant,
    ctx: &MixContext,
) -> Option<GgmlType> {
    choose_type(name, dims, quant, ctx).map(|c| c.chosen)
}

/// A tensor's type choice: what the mix prefers and what the row length allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeChoice {
    /// The type the mix wants for this tensor.
    pub preferred: GgmlType,
    /// The type it gets (differs from `preferred` when the rows are not whole blocks of it).
    pub chosen: GgmlType,
}

/// Like [`tensor_type`], also saying whether a fallback was needed.
pub fn choose_type(
    name: &str,
    dims: &[u64],
    quant: FileQuant,
    ctx: &MixContext,
) -> Option<TypeChoice> {
    if !is_quantizable(name, dims) {
        return None;
    }
    let default = quant.default_type();
    if !default.is_quantized() {
        return Some(TypeChoice {
            preferred: default,
            chosen: default,
        });
    }
    let nx = dims[0];
    let mut new_type = default;
    let is_output = name == "output.weight" || (!ctx.has_output && name == "token_embd.weight");
    if is_output {
        if !nx.is_multiple_of(new_type.block_size()) {
            new_type = GgmlType::Q8_0;
        } else if new_type != GgmlType::Q8_0 {
            new_type = GgmlType::Q6_K;
        }
    } else if name.contains("attn_v.weight") {
        let i = layer_index(name).unwrap_or(0);
        if quant == FileQuant::Q4_K_M && use_more_bits(i, ctx.n_attention_wv) {
            new_type = GgmlType::Q6_K;
        }
    } else if name.contains("ffn_down") {
        let i = layer_index(name).unwrap_or(0);
        if quant == FileQuant::Q4_K_M && use_more_bits(i, ctx.n_layer) {
            new_type = GgmlType::Q6_K;
        }
    } else if name.contains("attn_qkv.weight") && quant == FileQuant::Q4_K_M {
        new_type = GgmlType::Q5_K;
    }
    let preferred = new_type;
    if !nx.is_multiple_of(new_type.block_size()) {
        new_type = match new_type {
            GgmlType::Q4_K => GgmlType::Q5_0,
            GgmlType::Q5_K => GgmlType::Q5_1,
            GgmlType::Q6_K => GgmlType::Q8_0,
            // Q4_0/Q8_0 have 32-wide blocks; a row that is not a multiple of 32 keeps F16.
            _ => GgmlType::F16,
        };
        if !nx.is_multiple_of(new_type.block_size()) {
            new_type = GgmlType::F16;
        }
    }
    Some(TypeChoice {
        preferred,
        chosen: new_type,
    })
}
