//! Synthetic llama-architecture GGUF files for throughput benchmarks.
//!
//! Decode and prefill speed depend on a model's shapes and tensor types, not on its weight
//! values, so a benchmark can build a model of any size without downloading one. The file gets
//! the k-quant mix of a real quantization (the same [`crate::quantize`] rules llama.cpp uses),
//! random quantized blocks whose scales are small finite numbers (so activations stay finite),
//! and a real tokenizer copied from another GGUF (both engines need one to run at all).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::gguf::{GgmlType, GgufHeader, Metadata, TensorInfo, Value};
use crate::quantize::{FileQuant, MixContext, tensor_type};

/// The dimensions of a synthetic llama model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlamaShape {
    /// Transformer layers.
    pub n_layer: u64,
    /// Hidden size (`embedding_length`); a multiple of 256 hits the k-quant code paths.
    pub n_embd: u64,
    /// Feed-forward size; a multiple of 256 too.
    pub n_ff: u64,
    /// Attention heads.
    pub n_head: u64,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_head_kv: u64,
    /// Trained context length written to the metadata.
    pub context_length: u64,
}

impl LlamaShape {
    /// A ~1.1B-parameter shape (TinyLlama's: 22 layers, 2048 wide, 5632 feed-forward, 32 heads,
    /// 4 KV heads), every row a whole number of 256-element k-quant blocks.
    pub const ONE_B: LlamaShape = LlamaShape {
        n_layer: 22,
        n_embd: 2048,
        n_ff: 5632,
        n_head: 32,
        n_head_kv: 4,
        context_length: 2048,
    };

    /// Per-head dimension.
    pub fn head_dim(&self) -> u64 {
        self.n_embd / self.n_head
    }

    /// The tensor table (names and ggml dims, row length first) for a vocabulary of `n_vocab`.
    pub fn tensors(&self, n_vocab: u64) -> Vec<(String, Vec<u64>)> {
        let e = self.n_embd;
        let kv = self.n_head_kv * self.head_dim();
        let mut t = vec![
            ("token_embd.weight".to_string(), vec![e, n_vocab]),
            ("output_norm.weight".to_string(), vec![e]),
            ("output.weight".to_string(), vec![e, n_vocab]),
        ];
        for i in 0..self.n_layer {
            let b = |n: &str| format!("blk.{i}.{n}.weight");
            t.push((b("attn_norm"), vec![e]));
            t.push((b("attn_q"), vec![e, e]));
            t.push((b("attn_k"), vec![e, kv]));
            t.push((b("attn_v"), vec![e, kv]));
            t.push((b("attn_output"), vec![e, e]));
            t.push((b("ffn_norm"), vec![e]));
            t.push((b("ffn_gate"), vec![e, self.n_ff]));
            t.push((b("ffn_up"), vec![e, self.n_ff]));
            t.push((b("ffn_down"), vec![self.n_ff, e]));
        }
        t
    }
}

/// Errors while building a synthetic model.
#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    /// The tokenizer source lacks the tokenizer metadata.
    #[error("{path} has no tokenizer.ggml.tokens; pass a GGUF with an embedded tokenizer")]
    NoTokenizer {
        /// The source file.
        path: PathBuf,
    },
    /// The mix chose a type this writer cannot fill with valid blocks.
    #[error("tensor {tensor}: no synthetic block layout for {ggml_type}")]
    UnsupportedType {
        /// The tensor.
        tensor: String,
        /// Its type.
        ggml_type: GgmlType,
    },
    /// Reading or writing failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone)]
pub struct SyntheticModel {
    /// The output file.
    pub path: PathBuf,
    /// Parameters (elements of all tensors).
    pub parameters: u64,
    /// Bytes of tensor data.
    pub weights_bytes: u64,
    /// Tensors per type, e.g. `Q4_K: 133`.
    pub type_counts: std::collections::BTreeMap<String, usize>,
}

/// Byte offsets of the f16 scale fields inside one block of `ty`, or `None` for types this
/// writer does not produce.
fn f16_fields(ty: GgmlType) -> Option<&'static [usize]> {
    Some(match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4_K | GgmlType::Q5_K => &[0, 2],
        GgmlType::Q2_K => &[80, 82],
        GgmlType::Q3_K => &[108],
        GgmlType::Q6_K => &[208],
        _ => return None,
    })
}

/// f16 bits of 2⁻¹⁰ ≈ 0.001: a scale small enough that 22 layers of random weights keep the
/// residual stream finite, large enough to be a normal number.
const SMALL_F16_SCALE: u16 = 0x1400;
/// f32 1.0, the value of every norm weight.
const ONE_F32: [u8; 4] = 1.0f32.to_le_bytes();

/// The header of a synthetic llama model of `shape` quantized with the `quant` mix, with the
/// tokenizer metadata of `tokenizer` (a real model's header). Tensor offsets are laid out at
/// the default alignment; nothing is written.
pub fn llama_header(
    tokenizer: &GgufHeader,
    shape: LlamaShape,
    quant: FileQuant,
) -> Result<GgufHeader, SyntheticError> {
    let n_vocab = tokenizer
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(Value::as_array)
        .map(|t| t.len() as u64)
        .ok_or(SyntheticError::NoTokenizer {
            path: PathBuf::new(),
        })?;
    let mut metadata = Metadata::default();
    let u32v = |v: u64| Value::U32(v as u32);
    metadata.set("general.architecture", Value::String("llama".into()));
    metadata.set(
        "general.name",
        Value::String(format!(
            "aidx synthetic llama {}L-{}",
            shape.n_layer, shape.n_embd
        )),
    );
    metadata.set("general.file_type", Value::U32(quant.file_type()));
    metadata.set("general.quantization_version", Value::U32(2));
    metadata.set("llama.context_length", u32v(shape.context_length));
    metadata.set("llama.embedding_length", u32v(shape.n_embd));
    metadata.set("llama.block_count", u32v(shape.n_layer));
    metadata.set("llama.feed_forward_length", u32v(shape.n_ff));
    metadata.set("llama.attention.head_count", u32v(shape.n_head));
    metadata.set("llama.attention.head_count_kv", u32v(shape.n_head_kv));
    metadata.set("llama.rope.dimension_count", u32v(shape.head_dim()));
    metadata.set("llama.rope.freq_base", Value::F32(10_000.0));
    metadata.set("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
    metadata.set("llama.vocab_size", u32v(n_vocab));
    for (key, value) in tokenizer.metadata.entries() {
        if key.starts_with("tokenizer.") {
            metadata.set(key, value.clone());
        }
    }

    let table = shape.tensors(n_vocab);
    let ctx = MixContext::from_names(shape.n_layer, table.iter().map(|(n, _)| n.as_str()));
    let alignment = crate::gguf::DEFAULT_ALIGNMENT;
    let mut tensors = Vec::with_capacity(table.len());
    let mut offset = 0u64;
    for (name, dims) in table {
        let ggml_type = tensor_type(&name, &dims, quant, &ctx).unwrap_or(GgmlType::F32);
        if ggml_type != GgmlType::F32 && f16_fields(ggml_type).is_none() {
            return Err(SyntheticError::UnsupportedType {
                tensor: name,
                ggml_type,
            });
        }
        let info = TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
        };
        offset += info.byte_size().div_ceil(alignment) * alignment;
        tensors.push(info);
    }
    Ok(GgufHeader {
        version: 3,
        metadata,
        tensors,
        alignment,
        data_offset: 0,
        file_len: 0,
    })
}

/// Writes a synthetic llama GGUF of `shape` quantized with the `quant` mix to `output`
/// (atomically), with the tokenizer metadata of `tokenizer_source`.
pub fn write_llama(
    tokenizer_source: &Path,
    shape: LlamaShape,
    quant: FileQuant,
    output: &Path,
) -> Result<SyntheticModel, SyntheticError> {
    let io_err = |action, path: &Path| {
        let path = path.to_owned();
        move |source| SyntheticError::Io {
            action,
            path,
            source,
        }
    };
    let source = GgufHeader::read(tokenizer_source).map_err(|e| SyntheticError::Io {
        action: "cannot read the tokenizer source",
        path: tokenizer_source.to_owned(),
        source: io::Error::other(e.to_string()),
    })?;
    let header = llama_header(&source, shape, quant).map_err(|e| match e {
        SyntheticError::NoTokenizer { .. } => SyntheticError::NoTokenizer {
            path: tokenizer_source.to_owned(),
        },
        other => other,
    })?;
    let alignment = header.alignment;
    let types: Vec<GgmlType> = header.tensors.iter().map(|t| t.ggml_type).collect();
    let offsets: Vec<u64> = header.tensors.iter().map(|t| t.offset).collect();

    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".aidx-synthetic-")
        .suffix(".gguf.part")
        .tempfile_in(&dir)
        .map_err(io_err("cannot create a temporary file in", &dir))?;
    let file: File = tmp
        .as_file()
        .try_clone()
        .map_err(io_err("cannot write", output))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut head = Vec::new();
    crate::quantize::write_header(&mut head, &header.metadata, &header, &types, &offsets)
        .map_err(io_err("cannot write", output))?;
    head.resize(
        (head.len() as u64).div_ceil(alignment) as usize * alignment as usize,
        0,
    );
    w.write_all(&head).map_err(io_err("cannot write", output))?;

    let mut rng = crate::xorshift::XorShift64Star::new(0x9E37_79B9_7F4A_7C15);
    let mut report = SyntheticModel {
        path: output.to_owned(),
        parameters: 0,
        weights_bytes: 0,
        type_counts: Default::default(),
    };
    for t in &header.tensors {
        let size = t.byte_size() as usize;
        let mut data = vec![0u8; size];
        if t.ggml_type == GgmlType::F32 {
            for v in data.chunks_mut(4) {
                v.copy_from_slice(&ONE_F32);
            }
        } else {
            rng.fill(&mut data);
            let block = t.ggml_type.type_size() as usize;
            let fields = f16_fields(t.ggml_type).unwrap_or(&[]);
            for b in data.chunks_mut(block) {
                for &at in fields {
                    b[at..at + 2].copy_from_slice(&SMALL_F16_SCALE.to_le_bytes());
                }
            }
        }
        w.write_all(&data).map_err(io_err("cannot write", output))?;
        let padded = (size as u64).div_ceil(alignment) * alignment;
        w.write_all(&vec![0u8; (padded - size as u64) as usize])
            .map_err(io_err("cannot write", output))?;
        report.parameters += t.n_elements();
        report.weights_bytes += size as u64;
        *report
            .type_counts
            .entry(t.ggml_type.name().to_owned())
            .or_default() += 1;
    }
    w.flush().map_err(io_err("cannot write", output))?;
    drop(w);
    tmp.persist(output).map_err(|e| SyntheticError::Io {
        action: "cannot move the finished file to",
        path: output.to_owned(),
        source: e.error,
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_b_shape_has_about_a_billion_parameters_in_whole_k_blocks() {
        let shape = LlamaShape::ONE_B;
        let table = shape.tensors(49_152);
        let params: u64 = table.iter().map(|(_, d)| d.iter().product::<u64>()).sum();
        assert!((1_000_000_000..1_300_000_000).contains(&params), "{params}");
        assert!(
            table
                .iter()
                .filter(|(_, d)| d.len() == 2)
                .all(|(_, d)| d[0] % 256 == 0)
        );
        assert_eq!(table.len(), 3 + 9 * 22);
    }

    #[test]
    fn scale_fields_lie_inside_their_blocks() {
        for ty in [
            GgmlType::Q4_0,
            GgmlType::Q4_1,
            GgmlType::Q5_0,
            GgmlType::Q5_1,
            GgmlType::Q8_0,
            GgmlType::Q2_K,
            GgmlType::Q3_K,
            GgmlType::Q4_K,
            GgmlType::Q5_K,
            GgmlType::Q6_K,
        ] {
            for &at in f16_fields(ty).unwrap() {
                assert!(at + 2 <= ty.type_size() as usize, "{ty:?}");
            }
        }
        assert!(half_to_f32(SMALL_F16_SCALE) > 0.0009);
    }

    /// Minimal f16 → f32 for the test (normal numbers only).
    fn half_to_f32(bits: u16) -> f32 {
        let exp = ((bits >> 10) & 0x1f) as i32 - 15;
        let mant = (bits & 0x3ff) as f32 / 1024.0;
        (1.0 + mant) * 2f32.powi(exp)
    }
}
