//! The Q4_K_M type mix reproduces real llama.cpp Q4_K_M files tensor by tensor.

mod gguf_common;

use aidx_editor_local::gguf::{GgmlType, GgufHeader};
use aidx_editor_local::quantize::{self, FileQuant, MixContext};
use gguf_common::{GEMMA3, QWEN7B_PART, model};

fn assert_mix_matches(path: &std::path::Path) {
    let h = GgufHeader::read(path).unwrap();
    assert_eq!(
        h.opt_u64("general.file_type").unwrap(),
        Some(15),
        "a Q4_K_M file"
    );
    let planned = quantize::plan(&h, FileQuant::Q4_K_M).unwrap();
    let mismatches: Vec<String> = h
        .tensors
        .iter()
        .zip(&planned)
        .filter(|(t, p)| t.ggml_type != **p)
        .map(|(t, p)| format!("{} {:?}: file {} mix {}", t.name, t.dims, t.ggml_type, p))
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn mix_matches_real_qwen2_7b_q4_k_m() {
    // 339 tensors: Q6_K for output and the use_more_bits attn_v/ffn_down layers, Q4_K elsewhere.
    let Some(path) = model(QWEN7B_PART) else {
        return;
    };
    assert_mix_matches(&path);
}

#[test]
fn mix_matches_real_gemma3_q4_k_m() {
    // 640-wide rows force the fallbacks: Q4_K -> Q5_0, Q6_K -> Q8_0.
    let Some(path) = model(GEMMA3) else { return };
    assert_mix_matches(&path);
}

#[test]
fn mix_rules_on_synthetic_shapes() {
    let ctx = MixContext {
        n_layer: 32,
        n_attention_wv: 32,
        has_output: true,
    };
    let t = |name: &str, dims: &[u64], q| quantize::tensor_type(name, dims, q, &ctx);
    // Norms and 1-D tensors are left alone.
    assert_eq!(
        t("blk.0.attn_norm.weight", &[4096], FileQuant::Q4_K_M),
        None
    );
    assert_eq!(t("blk.0.attn_q.bias", &[4096], FileQuant::Q4_K_M), None);
    // Output: Q6_K under Q4_K_M and Q4_0; Q8_0 stays Q8_0.
    assert_eq!(
        t("output.weight", &[4096, 1000], FileQuant::Q4_K_M),
        Some(GgmlType::Q6_K)
    );
    assert_eq!(
        t("output.weight", &[4096, 1000], FileQuant::Q4_0),
        Some(GgmlType::Q6_K)
    );
    assert_eq!(
        t("output.weight", &[4096, 1000], FileQuant::Q8_0),
        Some(GgmlType::Q8_0)
    );
    // Untied: the token embedding takes the default type.
    assert_eq!(
        t("token_embd.weight", &[4096, 1000], FileQuant::Q4_K_M),
        Some(GgmlType::Q4_K)
    );
    // use_more_bits(i, 32): i < 4, i >= 28, (i - 4) % 3 == 2.
    let v = |i: u64| {
        t(
            &format!("blk.{i}.attn_v.weight"),
            &[4096, 1024],
            FileQuant::Q4_K_M,
        )
    };
    let six: Vec<u64> = (0..32).filter(|&i| v(i) == Some(GgmlType::Q6_K)).collect();
    assert_eq!(
        six,
        vec![0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
    );
    // Fused qkv gets Q5_K under Q4_K_M.
    assert_eq!(
        t("blk.3.attn_qkv.weight", &[3072, 9216], FileQuant::Q4_K_M),
        Some(GgmlType::Q5_K)
    );
    // Row of 96: not a multiple of 256 (Q4_K) — falls back to Q5_0 (block 32).
    assert_eq!(
        t("blk.5.ffn_up.weight", &[96, 64], FileQuant::Q4_K_M),
        Some(GgmlType::Q5_0)
    );
    // Row of 48: not a multiple of 32 either — F16.
    assert_eq!(
        t("blk.5.ffn_up.weight", &[48, 64], FileQuant::Q4_K_M),
        Some(GgmlType::F16)
    );
    assert_eq!(
        t("blk.5.ffn_up.weight", &[48, 64], FileQuant::Q4_0),
        Some(GgmlType::F16)
    );
    // F16 has no mix.
    assert_eq!(
        t("output.weight", &[4096, 1000], FileQuant::F16),
        Some(GgmlType::F16)
    );
}
