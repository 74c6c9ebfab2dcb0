//! Budget numbers against arithmetic done here, independently, from the models' metadata and
//! docs/MODELS.md.

mod gguf_common;

use aidx_editor_local::budget::{
    self, BudgetRequest, DeviceKind, KvType, ModelShape, ModelSource, OverheadModel,
};
use aidx_editor_local::gguf::{GgufHeader, Value};
use aidx_editor_local::quantize::FileQuant;
use gguf_common::{GEMMA3, QWEN7B_PART, SMOLLM2, model};

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn meta_u64(h: &GgufHeader, key: &str) -> u64 {
    match h.metadata.get(key) {
        Some(Value::U32(v)) => u64::from(*v),
        other => panic!("{key}: {other:?}"),
    }
}

/// Bytes per ggml block and elements per block, from ggml's type table (written out here, not
/// taken from the crate).
fn block(type_id: u32) -> (u64, u64) {
    match type_id {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        8 => (32, 34),
        12 => (256, 144),
        14 => (256, 210),
        other => panic!("type {other} not in the test's table"),
    }
}

fn tensor_bytes_by_hand(h: &GgufHeader) -> u64 {
    h.tensors
        .iter()
        .map(|t| {
            let (bs, ts) = block(t.ggml_type.id());
            t.dims.iter().product::<u64>() / bs * ts
        })
        .sum()
}

fn request(ctx: u64, kv: KvType, device_bytes: u64) -> BudgetRequest {
    BudgetRequest {
        kv_type: kv,
        context_tokens: ctx,
        device_bytes,
        device: DeviceKind::Gpu,
        overhead: OverheadModel::MISTRALRS_GPU,
    }
}

#[test]
fn smollm2_budget_equals_metadata_arithmetic() {
    let Some(path) = model(SMOLLM2) else { return };
    let h = GgufHeader::read(&path).unwrap();
    let layers = meta_u64(&h, "llama.block_count");
    let kv_heads = meta_u64(&h, "llama.attention.head_count_kv");
    let head_dim =
        meta_u64(&h, "llama.embedding_length") / meta_u64(&h, "llama.attention.head_count");
    let per_token = 2 * layers * kv_heads * head_dim * 2;
    assert_eq!(per_token, 23_040);

    let src = ModelSource::resolve(path.to_str().unwrap()).unwrap();
    let b = src.budget(&request(8192, KvType::F16, 12 * GIB)).unwrap();
    assert_eq!(b.architecture, "llama");
    assert_eq!(b.kv_bytes_per_token, per_token);
    assert_eq!(b.kv_bytes, per_token * 8192);
    // llama.cpp's load log for this file at 8,192 tokens: "KV self size = 180.00 MiB".
    assert_eq!(b.kv_bytes, 180 * MIB);
    assert_eq!(b.weights_bytes, tensor_bytes_by_hand(&h));
    assert_eq!(b.weights_bytes, 96_576_768);
    assert_eq!(b.parameters, 134_515_008);
    assert_eq!(
        b.total_bytes,
        b.weights_bytes + b.kv_bytes + b.overhead_bytes
    );
    assert_eq!(b.headroom_bytes, (12 * GIB) as i64 - b.total_bytes as i64);
    assert!(b.fits);
    // Plenty of room: the largest context is the trained one.
    assert_eq!(b.max_context_tokens, 8192);

    // q8_0 KV: 34 bytes per 32 values; each layer's K row is 3 × 64 = 192 values = 6 blocks.
    let q8 = src.budget(&request(8192, KvType::Q8_0, 12 * GIB)).unwrap();
    assert_eq!(q8.kv_bytes_per_token, layers * 2 * (192 / 32) * 34);
    let q4 = src.budget(&request(8192, KvType::Q4_0, 12 * GIB)).unwrap();
    assert_eq!(q4.kv_bytes_per_token, layers * 2 * (192 / 32) * 18);
}

#[test]
fn gemma3_budget_counts_sliding_window_layers() {
    let Some(path) = model(GEMMA3) else { return };
    let h = GgufHeader::read(&path).unwrap();
    let layers = meta_u64(&h, "gemma3.block_count");
    let kv_heads = meta_u64(&h, "gemma3.attention.head_count_kv");
    let k = meta_u64(&h, "gemma3.attention.key_length");
    let v = meta_u64(&h, "gemma3.attention.value_length");
    let window = meta_u64(&h, "gemma3.attention.sliding_window");
    let per_layer = kv_heads * (k + v) * 2;
    // Gemma 3: every 6th layer is global (llama.cpp swa pattern 6): 3 of 18.
    let global = layers / 6;
    let local = layers - global;

    let src = ModelSource::resolve(path.to_str().unwrap()).unwrap();
    for ctx in [100, 512, 8192, 32_768] {
        let b = src.budget(&request(ctx, KvType::F16, 12 * GIB)).unwrap();
        assert_eq!(b.kv_bytes_per_token, layers * per_layer);
        assert_eq!(
            b.kv_bytes,
            global * per_layer * ctx + local * per_layer * ctx.min(window),
            "ctx {ctx}"
        );
    }
    let b = src.budget(&request(8192, KvType::F16, 12 * GIB)).unwrap();
    assert_eq!(b.kv_bytes, 3 * 1024 * 8192 + 15 * 1024 * 512);
    assert_eq!(b.weights_bytes, tensor_bytes_by_hand(&h));
    assert_eq!(b.weights_bytes, 246_587_904);
}

#[test]
fn qwen_coder_14b_description_matches_models_md() {
    let src = ModelSource::resolve("Qwen2.5-Coder-14B-Instruct").unwrap();
    let b = src.budget(&request(8192, KvType::F16, 12 * GIB)).unwrap();
    assert_eq!(b.architecture, "qwen2");
    assert_eq!(b.kv_bytes_per_token, 196_608);
    assert_eq!(b.kv_bytes, 3 * GIB / 2);
    let b2k = src.budget(&request(2048, KvType::F16, 12 * GIB)).unwrap();
    assert_eq!(b2k.kv_bytes, 384 * MIB);
    // The tensor list implied by the card's dimensions gives the card's 14.7B parameters.
    let card = 14.7e9;
    assert!(
        (b.parameters as f64 - card).abs() / card < 0.01,
        "{}",
        b.parameters
    );
    // Also by id with an org prefix, case-insensitively.
    assert!(ModelSource::resolve("Qwen/qwen2.5-coder-14b-instruct").is_ok());
}

#[test]
fn described_qwen_7b_matches_the_real_7b_header() {
    // DeepSeek-R1-Distill-Qwen-7B has Qwen2.5-7B's dimensions: the description's tensor list
    // must give the file's parameter count, and its Q4_K_M mix the file's exact weight bytes.
    let Some(path) = model(QWEN7B_PART) else {
        return;
    };
    let h = GgufHeader::read(&path).unwrap();
    let file_shape = ModelShape::from_header(&h).unwrap();
    let described = budget::known_model("Qwen2.5-Coder-7B-Instruct")
        .unwrap()
        .shape();
    assert_eq!(described.parameters(), file_shape.parameters());
    assert_eq!(
        described.weights_bytes_for(FileQuant::Q4_K_M),
        h.weights_bytes()
    );
    assert_eq!(
        file_shape.weights_bytes_for(FileQuant::Q4_K_M),
        h.weights_bytes()
    );
    // Budget from the truncated file works from its header alone.
    let src = ModelSource::resolve(path.to_str().unwrap()).unwrap();
    assert!(matches!(
        src,
        ModelSource::File {
            complete: false,
            ..
        }
    ));
    let b = src.budget(&request(8192, KvType::F16, 12 * GIB)).unwrap();
    assert_eq!(b.kv_bytes_per_token, 2 * 28 * 4 * 128 * 2);
    assert_eq!(b.weights_bytes, 4_677_120_000);
}

#[test]
fn max_context_is_the_largest_that_fits() {
    let src = ModelSource::resolve("Qwen2.5-Coder-14B-Instruct").unwrap();
    for device in [10 * GIB, 12 * GIB, 16 * GIB, 24 * GIB] {
        let b = src.budget(&request(8192, KvType::F16, device)).unwrap();
        let m = b.max_context_tokens;
        if m == 0 {
            let at0 = src.budget(&request(0, KvType::F16, device)).unwrap();
            assert!(!at0.fits);
            continue;
        }
        assert!(src.budget(&request(m, KvType::F16, device)).unwrap().fits);
        if m < 32_768 {
            assert!(
                !src.budget(&request(m + 1, KvType::F16, device))
                    .unwrap()
                    .fits
            );
        }
        assert_eq!(b.fits, m >= 8192, "device {device}");
        assert!(b.recommended_max_chat_history_tokens <= m / 2);
    }
    // A smaller KV type never shrinks the largest context.
    let f16 = src.budget(&request(8192, KvType::F16, 16 * GIB)).unwrap();
    let q8 = src.budget(&request(8192, KvType::Q8_0, 16 * GIB)).unwrap();
    assert!(q8.max_context_tokens >= f16.max_context_tokens);
}

#[test]
fn quantization_table_orders_by_size() {
    let src = ModelSource::resolve("Qwen2.5-Coder-14B-Instruct").unwrap();
    let shape = src.shape().unwrap();
    let rows = budget::quantization_table(&shape, &request(8192, KvType::F16, 12 * GIB));
    let names: Vec<_> = rows.iter().map(|r| r.quantization.display_name()).collect();
    assert_eq!(names, ["F16", "Q8_0", "Q4_K_M", "Q4_0"]);
    let w: Vec<u64> = rows.iter().map(|r| r.budget.weights_bytes).collect();
    assert!(w[0] > w[1] && w[1] > w[2] && w[2] > w[3], "{w:?}");
    // F16: every 2-D weight at 2 bytes, the 1-D norms/biases at 4.
    let params = shape.parameters();
    let one_d: u64 = shape
        .tensors
        .iter()
        .filter(|t| t.dims.len() == 1)
        .map(|t| t.dims[0])
        .sum();
    assert_eq!(w[0], (params - one_d) * 2 + one_d * 4);
    // Same KV and overhead on every row: only the weights differ.
    assert!(
        rows.iter()
            .all(|r| r.budget.kv_bytes == rows[0].budget.kv_bytes)
    );
}

#[test]
fn json_has_the_issue_keys() {
    let src = ModelSource::resolve("Qwen2.5-Coder-14B-Instruct").unwrap();
    let b = src.budget(&request(8192, KvType::F16, 12 * GIB)).unwrap();
    let v = serde_json::to_value(&b).unwrap();
    for key in [
        "architecture",
        "parameters",
        "weights_bytes",
        "kv_bytes_per_token",
        "context_tokens",
        "kv_bytes",
        "overhead_bytes",
        "total_bytes",
        "device_bytes",
        "headroom_bytes",
        "fits",
        "max_context_tokens",
        "recommended_max_chat_history_tokens",
    ] {
        let x = &v[key];
        assert!(
            x.is_u64() || x.is_i64() || x.is_boolean() || x.is_string(),
            "{key}: {x:?}"
        );
    }
    assert_eq!(v["kv_bytes"].as_u64(), Some(3 * GIB / 2));
}

#[test]
fn sizes_and_meminfo_parse() {
    assert_eq!(budget::parse_size("12GiB").unwrap(), 12 * GIB);
    assert_eq!(budget::parse_size("12 GB").unwrap(), 12_000_000_000);
    assert_eq!(budget::parse_size("512MiB").unwrap(), 512 * MIB);
    assert_eq!(budget::parse_size("1.5GiB").unwrap(), 3 * GIB / 2);
    assert_eq!(budget::parse_size("4096").unwrap(), 4096);
    for bad in ["", "GiB", "12 parsecs", "-1GiB", "1e999GB"] {
        assert!(budget::parse_size(bad).is_err(), "{bad}");
    }
    let text = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   20000000 kB\n";
    assert_eq!(
        budget::parse_meminfo_available(text),
        Some(20_000_000 * 1024)
    );
    assert_eq!(budget::parse_meminfo_available("MemTotal: 1 kB\n"), None);
    assert!(budget::system_available_memory().unwrap() > 0);
}

#[test]
fn an_unknown_model_lists_the_known_ids() {
    let e = ModelSource::resolve("not-a-model").unwrap_err().to_string();
    assert!(e.contains("Qwen2.5-Coder-14B-Instruct"), "{e}");
}

/// llama.cpp's overhead model against what llama.cpp itself logged (`llama-server -lv 4`, see
/// `OverheadModel::LLAMA_CPP_CPU`): compute buffers, and no second copy of any weight.
#[test]
fn llama_cpp_overhead_matches_llama_cpps_own_buffer_sizes() {
    use aidx_editor_local::synthetic::{LlamaShape, llama_header};
    let Some(path) = model(SMOLLM2) else {
        return;
    };
    let smollm2 = GgufHeader::read(&path).unwrap();
    let model_ = OverheadModel::LLAMA_CPP_CPU;
    let within = |got: u64, logged_mib: f64, tolerance: f64| {
        let logged = logged_mib * MIB as f64;
        let err = (got as f64 - logged) / logged;
        assert!(
            err.abs() <= tolerance,
            "{:.2} MiB vs llama.cpp's {logged_mib} MiB ({:+.1} %)",
            got as f64 / MIB as f64,
            err * 100.0
        );
    };
    let small = ModelShape::from_header(&smollm2).unwrap();
    let o = model_.overhead(&small, 1024);
    within(o.compute_bytes, 15.64, 0.03);
    assert_eq!(o.token_embedding_bytes, 0);
    within(model_.overhead(&small, 2048).compute_bytes, 16.64, 0.03);

    // The bench's synthetic 1.1B Q4_K_M model (same header, no weights needed).
    let big = llama_header(&smollm2, LlamaShape::ONE_B, FileQuant::Q4_K_M).unwrap();
    let big = ModelShape::from_header(&big).unwrap();
    within(model_.overhead(&big, 1024).compute_bytes, 54.02, 0.03);
    within(model_.overhead(&big, 2048).compute_bytes, 55.02, 0.03);
    // Weights are read, not mapped, so nothing is counted twice: weights + KV + compute + floor.
    let o = model_.overhead(&big, 1024);
    assert_eq!(o.total(), o.runtime_bytes + o.compute_bytes);
}
