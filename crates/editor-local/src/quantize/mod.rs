//! Requantizing a GGUF file (`aidx model quantize`) and the per-tensor type mix it uses.
//!
//! The per-tensor types come from `mix.rs` (llama.cpp's Q4_K_M mix); the budget uses the same
//! functions to size a model at a quantization it is not stored in.
//!
//! Requantizing dequantizes each tensor to f32 and quantizes it again with candle's quantizers
//! (candle-core 0.10.2, the version mistralrs 0.8.1 builds), streaming tensor by tensor into a
//! temporary file that is renamed over the output only when complete.

mod mix;

pub use mix::{FileQuant, MixContext, TypeChoice, choose_type, is_quantizable, tensor_type};

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};

use crate::gguf::{self, GgmlType, GgufError, GgufFile, GgufHeader, Value};

/// Errors from requantizing.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// The input could not be read as GGUF.
    #[error(transparent)]
    Gguf(#[from] GgufError),
    /// Reading the input or writing the output failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A tensor type candle cannot dequantize.
    #[error(
        "tensor `{tensor}` is {ggml_type}, which candle cannot dequantize; requantize from an \
         F16/BF16/F32 or Q*_0/Q*_1/K-quant file instead"
    )]
    UnsupportedSourceType {
        /// The tensor.
        tensor: String,
        /// Its type.
        ggml_type: GgmlType,
    },
    /// candle failed on a tensor.
    #[error("requantizing tensor `{tensor}` failed: {source}")]
    Candle {
        /// The tensor.
        tensor: String,
        /// candle's error.
        source: candle_core::Error,
    },
    /// The input and output are the same file.
    #[error("the output {0} is the input file; choose a different output path")]
    SameFile(PathBuf),
}

/// What `quantize_file` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuantizeReport {
    /// Where the output was written.
    pub output: PathBuf,
    /// The target quantization.
    pub quant: FileQuant,
    /// Bytes of tensor data in the input.
    pub input_weights_bytes: u64,
    /// Bytes of tensor data in the output.
    pub output_weights_bytes: u64,
    /// Output file size.
    pub output_file_bytes: u64,
    /// How many tensors of each type the output has, by type name.
    pub type_counts: std::collections::BTreeMap<String, u64>,
    /// Tensors whose rows forced a fallback type (name, type).
    pub fallbacks: Vec<(String, GgmlType)>,
}

fn candle_dtype(t: GgmlType) -> Option<GgmlDType> {
    Some(match t {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::F16 => GgmlDType::F16,
        GgmlType::BF16 => GgmlDType::BF16,
        GgmlType::Q4_0 => GgmlDType::Q4_0,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q5_1 => GgmlDType::Q5_1,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q8_1 => GgmlDType::Q8_1,
        GgmlType::Q2_K => GgmlDType::Q2K,
        GgmlType::Q3_K => GgmlDType::Q3K,
        GgmlType::Q4_K => GgmlDType::Q4K,
        GgmlType::Q5_K => GgmlDType::Q5K,
        GgmlType::Q6_K => GgmlDType::Q6K,
        GgmlType::Q8_K => GgmlDType::Q8K,
        _ => return None,
    })
}

/// The output plan: every tensor's new type, in input order.
pub fn plan(header: &GgufHeader, quant: FileQuant) -> gguf::Result<Vec<GgmlType>> {
    let n_layer = header.arch_u64("block_count")?;
    let ctx = MixContext::from_names(n_layer, header.tensors.iter().map(|t| t.name.as_str()));
    Ok(header
        .tensors
        .iter()
        .map(|t| tensor_type(&t.name, &t.dims, quant, &ctx).unwrap_or(t.ggml_type))
        .collect())
}

/// Requantizes `input` to `quant` and writes `output` atomically (temporary file in the same
/// directory, renamed when complete). Metadata is copied; `general.file_type` and
/// `general.quantization_version` are set as llama.cpp sets them.
pub fn quantize_file(
    input: &Path,
    output: &Path,
    quant: FileQuant,
) -> Result<QuantizeReport, QuantizeError> {
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize())
        && a == b
    {
        return Err(QuantizeError::SameFile(output.to_owned()));
    }
    let file = GgufFile::open(input)?;
    let header = &file.header;
    let types = plan(header, quant)?;
    let n_layer = header.arch_u64("block_count")?;
    let ctx = MixContext::from_names(n_layer, header.tensors.iter().map(|t| t.name.as_str()));

    let mut metadata = header.metadata.clone();
    metadata.set("general.quantization_version", Value::U32(2));
    metadata.set("general.file_type", Value::U32(quant.file_type()));
    let alignment = header.alignment;

    let out_dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let io_out = |action, source| QuantizeError::Io {
        action,
        path: output.to_owned(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".aidx-quantize-").suffix(".gguf.part");
    // A model file is not a secret: the usual rw-r--r-- rather than the temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let tmp = builder
        .tempfile_in(&out_dir)
        .map_err(|e| io_out("cannot create a temporary file next to", e))?;
    let mut w = BufWriter::with_capacity(
        1 << 20,
        tmp.as_file()
            .try_clone()
            .map_err(|e| io_out("cannot write", e))?,
    );

    // Header: the new tensor table is known before any data is converted.
    let mut offsets = Vec::with_capacity(types.len());
    let mut offset = 0u64;
    for (t, ty) in header.tensors.iter().zip(&types) {
        offsets.push(offset);
        let size = ty.bytes_for(t.n_elements()).unwrap_or(0);
        offset += size.div_ceil(alignment) * alignment;
    }
    let mut head = Vec::new();
    write_header(&mut head, &metadata, header, &types, &offsets)
        .map_err(|e| io_out("cannot write", e))?;
    let padded = (head.len() as u64).div_ceil(alignment) * alignment;
    head.resize(padded as usize, 0);
    w.write_all(&head).map_err(|e| io_out("cannot write", e))?;

    let mut input_file = File::open(input).map_err(|source| QuantizeError::Io {
        action: "cannot read",
        path: input.to_owned(),
        source,
    })?;
    let mut report = QuantizeReport {
        output: output.to_owned(),
        quant,
        input_weights_bytes: header.weights_bytes(),
        output_weights_bytes: 0,
        output_file_bytes: 0,
        type_counts: Default::default(),
        fallbacks: Vec::new(),
    };
    for (t, &new_type) in header.tensors.iter().zip(&types) {
        let mut raw = vec![0u8; t.byte_size() as usize];
        input_file
            .seek(SeekFrom::Start(header.data_offset + t.offset))
            .and_then(|_| input_file.read_exact(&mut raw))
            .map_err(|source| QuantizeError::Io {
                action: "cannot read tensor data from",
                path: input.to_owned(),
                source,
            })?;
        let data = if new_type == t.ggml_type {
            raw
        } else {
            requantize(t, &raw, new_type)?
        };
        let size = data.len() as u64;
        debug_assert_eq!(Some(size), new_type.bytes_for(t.n_elements()));
        w.write_all(&data).map_err(|e| io_out("cannot write", e))?;
        let pad = size.div_ceil(alignment) * alignment - size;
        w.write_all(&vec![0u8; pad as usize])
            .map_err(|e| io_out("cannot write", e))?;
        report.output_weights_bytes += size;
        *report
            .type_counts
            .entry(new_type.name().to_owned())
            .or_default() += 1;
        if let Some(choice) = choose_type(&t.name, &t.dims, quant, &ctx)
            && choice.preferred != choice.chosen
        {
            report.fallbacks.push((t.name.clone(), choice.chosen));
        }
        tracing::debug!(tensor = %t.name, from = %t.ggml_type, to = %new_type, "requantized");
    }
    w.flush().map_err(|e| io_out("cannot write", e))?;
    drop(w);
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_out("cannot sync", e))?;
    let persisted = tmp
        .persist(output)
        .map_err(|e| io_out("cannot move the finished file to", e.error))?;
    report.output_file_bytes = persisted
        .metadata()
        .map_err(|e| io_out("cannot stat", e))?
        .len();
    Ok(report)
}

fn requantize(
    t: &gguf::TensorInfo,
    raw: &[u8],
    new_type: GgmlType,
) -> Result<Vec<u8>, QuantizeError> {
    let candle_err = |source| QuantizeError::Candle {
        tensor: t.name.clone(),
        source,
    };
    let unsupported = |ggml_type| QuantizeError::UnsupportedSourceType {
        tensor: t.name.clone(),
        ggml_type,
    };
    let src_type = candle_dtype(t.ggml_type).ok_or_else(|| unsupported(t.ggml_type))?;
    let dst_type = candle_dtype(new_type).ok_or_else(|| unsupported(new_type))?;
    // candle's shapes are row-major with the row length last: the reverse of ggml's `ne`.
    let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
    // Borrowed, not Owned: candle 0.10.2's `as_t_slice` takes the Cow by value and returns a
    // slice into it, so an Owned buffer is freed before it is copied (a use-after-free that
    // showed up here as NaNs). candle also asserts the block alignment (≤ 4); heap buffers of
    // this size come from malloc, which aligns to 16 on the platforms aidx supports.
    let storage =
        QStorage::from_data(Cow::Borrowed(raw), &Device::Cpu, src_type).map_err(candle_err)?;
    let source = QTensor::new(storage, shape).map_err(candle_err)?;
    let f32: Tensor = source.dequantize(&Device::Cpu).map_err(candle_err)?;
    let quantized = QTensor::quantize(&f32, dst_type).map_err(candle_err)?;
    let bytes = quantized.data().map_err(candle_err)?.into_owned();
    Ok(bytes)
}

pub(crate) fn write_header<W: Write>(
    w: &mut W,
    metadata: &gguf::Metadata,
    header: &GgufHeader,
    types: &[GgmlType],
    offsets: &[u64],
) -> io::Result<()> {
    w.write_all(&gguf::GGUF_MAGIC)?;
    w.write_all(&3u32.to_le_bytes())?;
    w.write_all(&(header.tensors.len() as u64).to_le_bytes())?;
    w.write_all(&(metadata.len() as u64).to_le_bytes())?;
    for (key, value) in metadata.entries() {
        gguf::write_string(w, key)?;
        w.write_all(&value.value_type().id().to_le_bytes())?;
        value.write_to(w)?;
    }
    for ((t, ty), offset) in header.tensors.iter().zip(types).zip(offsets) {
        gguf::write_string(w, &t.name)?;
        w.write_all(&(t.dims.len() as u32).to_le_bytes())?;
        for d in &t.dims {
            w.write_all(&d.to_le_bytes())?;
        }
        w.write_all(&ty.id().to_le_bytes())?;
        w.write_all(&offset.to_le_bytes())?;
    }
    Ok(())
}
