//! Requantizing the real SmolLM2 file and reading the result back with our reader.

mod gguf_common;

use std::borrow::Cow;

use aidx_editor_local::gguf::{GgmlType, GgufFile, GgufHeader, TensorInfo, Value};
use aidx_editor_local::quantize::{self, FileQuant};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use gguf_common::{QWEN7B_PART, SMOLLM2, model};

fn candle_type(t: GgmlType) -> GgmlDType {
    match t {
        GgmlType::F32 => GgmlDType::F32,
        GgmlType::Q4_1 => GgmlDType::Q4_1,
        GgmlType::Q5_0 => GgmlDType::Q5_0,
        GgmlType::Q8_0 => GgmlDType::Q8_0,
        GgmlType::Q6_K => GgmlDType::Q6K,
        GgmlType::Q4_K => GgmlDType::Q4K,
        other => panic!("{other} not expected here"),
    }
}

/// Dequantizes one tensor of a file with candle, independently of the quantizer's code path.
fn dequantize(path: &std::path::Path, h: &GgufHeader, t: &TensorInfo) -> Vec<f32> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(h.data_offset + t.offset)).unwrap();
    let mut raw = vec![0u8; t.byte_size() as usize];
    f.read_exact(&mut raw).unwrap();
    let shape: Vec<usize> = t.dims.iter().rev().map(|&d| d as usize).collect();
    let storage =
        QStorage::from_data(Cow::Borrowed(&raw), &Device::Cpu, candle_type(t.ggml_type)).unwrap();
    let q = QTensor::new(storage, shape).unwrap();
    let x: Tensor = q.dequantize(&Device::Cpu).unwrap();
    x.flatten_all().unwrap().to_vec1().unwrap()
}

/// Relative RMS error of `b` against `a`.
fn rel_rms(a: &[f32], b: &[f32]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let den: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum();
    (num / den).sqrt()
}

fn check(quant: FileQuant, expected_types: &[(GgmlType, usize)], max_rel_err: f64) {
    let Some(input) = model(SMOLLM2) else { return };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join(format!("smollm2-{}.gguf", quant.as_str()));
    let report = quantize::quantize_file(&input, &output, quant).unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    let src = GgufFile::open(&input).unwrap().header;
    let out = GgufFile::open(&output)
        .expect("the output is a complete GGUF")
        .header;
    assert_eq!(report.output_file_bytes, out.file_len);
    assert_eq!(report.output_weights_bytes, out.weights_bytes());

    // Same tensors, same shapes, in the same order; types as planned.
    assert_eq!(out.tensors.len(), src.tensors.len());
    for (a, b) in src.tensors.iter().zip(&out.tensors) {
        assert_eq!((&a.name, &a.dims), (&b.name, &b.dims));
    }
    let plan = quantize::plan(&src, quant).unwrap();
    let got: Vec<GgmlType> = out.tensors.iter().map(|t| t.ggml_type).collect();
    assert_eq!(got, plan);
    for &(ty, n) in expected_types {
        assert_eq!(got.iter().filter(|&&t| t == ty).count(), n, "{ty}");
    }

    // Metadata copied; file type updated as llama.cpp does.
    assert_eq!(
        out.metadata.get("general.file_type"),
        Some(&Value::U32(quant.file_type()))
    );
    for key in [
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.merges",
        "tokenizer.chat_template",
        "llama.block_count",
    ] {
        assert_eq!(out.metadata.get(key), src.metadata.get(key), "{key}");
    }
    assert_eq!(out.model_params().unwrap().block_count, 30);

    // candle's own GGUF reader (the one mistralrs loads models with) agrees.
    let mut f = std::fs::File::open(&output).unwrap();
    let content = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
    assert_eq!(content.tensor_infos.len(), out.tensors.len());
    assert_eq!(content.tensor_data_offset, out.data_offset);
    for t in &out.tensors {
        let info = &content.tensor_infos[&t.name];
        let dims: Vec<u64> = info.shape.dims().iter().rev().map(|&d| d as u64).collect();
        assert_eq!(dims, t.dims, "{}", t.name);
        assert_eq!(info.offset, t.offset, "{}", t.name);
    }
    let q = content
        .tensor(&mut f, "blk.3.ffn_down.weight", &Device::Cpu)
        .unwrap();
    assert_eq!(
        q.dtype(),
        candle_type(out.tensor("blk.3.ffn_down.weight").unwrap().ggml_type)
    );

    // Requantized weights stay close to the originals.
    for name in [
        "blk.0.attn_q.weight",
        "blk.0.ffn_down.weight",
        "blk.29.attn_v.weight",
    ] {
        let a = dequantize(&input, &src, src.tensor(name).unwrap());
        let b = dequantize(&output, &out, out.tensor(name).unwrap());
        let e = rel_rms(&a, &b);
        assert!(e < max_rel_err, "{name}: relative RMS error {e}");
        eprintln!("{} {name}: relative RMS error {e:.4}", quant.as_str());
    }
}

#[test]
fn smollm2_to_q4_k_m() {
    // 576-wide rows are not a multiple of 256: Q4_K falls back to Q5_0 and Q6_K to Q8_0, as in
    // llama.cpp. Only ffn_down (1536-wide rows) takes K-quants: Q6_K in the 14 layers
    // use_more_bits(i, 30) picks (0, 1, 2, 5, 8, …, 23, 26, 27, 28, 29), Q4_K in the other 16;
    // attn_v in those layers wants Q6_K and gets Q8_0. The tied token embedding stays Q8_0.
    check(
        FileQuant::Q4_K_M,
        &[
            (GgmlType::Q6_K, 14),
            (GgmlType::Q4_K, 16),
            (GgmlType::Q8_0, 1 + 14),
            (GgmlType::Q5_0, 30 * 5 + 16),
            (GgmlType::F32, 61),
        ],
        0.08,
    );
}

#[test]
fn smollm2_to_q8_0() {
    check(
        FileQuant::Q8_0,
        &[(GgmlType::Q8_0, 211), (GgmlType::F32, 61)],
        0.01,
    );
}

#[test]
fn truncated_input_is_refused_and_writes_nothing() {
    let Some(input) = model(QWEN7B_PART) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.gguf");
    let e = quantize::quantize_file(&input, &output, FileQuant::Q4_0).unwrap_err();
    assert!(e.to_string().starts_with("truncated"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn quantizing_onto_the_input_is_refused() {
    let Some(input) = model(SMOLLM2) else { return };
    let e = quantize::quantize_file(&input, &input, FileQuant::Q8_0).unwrap_err();
    assert!(e.to_string().contains("is the input file"), "{e}");
}
