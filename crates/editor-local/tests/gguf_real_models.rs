//! The reader on the real model files of docs/MODELS.md.

mod gguf_common;

use aidx_editor_local::gguf::{GgmlType, GgufError, GgufFile, GgufHeader};
use gguf_common::{GEMMA3, QWEN7B_PART, SMOLLM2, model};

#[test]
fn smollm2_header_and_params() {
    let Some(path) = model(SMOLLM2) else { return };
    let file = GgufFile::open(&path).unwrap();
    let h = &file.header;
    assert_eq!(h.file_len, 98_362_432);
    assert_eq!(h.architecture().unwrap(), "llama");
    h.check_supported().unwrap();
    assert_eq!(h.tensors.len(), 272);
    let p = h.model_params().unwrap();
    assert_eq!(p.block_count, 30);
    assert_eq!(p.embedding_length, 576);
    assert_eq!(p.head_count, vec![9; 30]);
    assert_eq!(p.head_count_kv, vec![3; 30]);
    assert_eq!((p.key_length, p.value_length), (64, 64));
    assert_eq!(p.vocab_size, 49_152);
    assert_eq!(p.context_length, Some(8192));
    assert_eq!(p.tokenizer_model.as_deref(), Some("gpt2"));
    assert_eq!((p.bos_token_id, p.eos_token_id), (Some(1), Some(2)));
    assert!(p.has_chat_template);
    let types = |t: GgmlType| h.tensors.iter().filter(|x| x.ggml_type == t).count();
    assert_eq!(
        (
            types(GgmlType::Q4_1),
            types(GgmlType::Q8_0),
            types(GgmlType::F32)
        ),
        (210, 1, 61)
    );
    assert_eq!(
        h.tensor("token_embd.weight").unwrap().ggml_type,
        GgmlType::Q8_0
    );
    // The tensor data ends exactly at the end of the file.
    assert_eq!(h.data_offset + h.tensor_data_len(), h.file_len);
}

#[test]
fn gemma3_is_read_but_not_supported_by_the_engine() {
    let Some(path) = model(GEMMA3) else { return };
    let file = GgufFile::open(&path).unwrap();
    let h = &file.header;
    let p = h.model_params().unwrap();
    assert_eq!(p.architecture, "gemma3");
    assert_eq!((p.block_count, p.embedding_length), (18, 640));
    assert_eq!((p.key_length, p.value_length), (256, 256));
    assert_eq!(p.head_count_kv, vec![1; 18]);
    assert_eq!(p.sliding_window, Some(512));
    assert_eq!(p.sliding_window_pattern, Some(6));
    assert_eq!(p.vocab_size, 262_144);
    assert!(!p.has_chat_template);
    // Layers 5, 11, 17 are global; the rest slide.
    let global: Vec<u64> = (0..18).filter(|&i| !p.is_sliding_layer(i)).collect();
    assert_eq!(global, vec![5, 11, 17]);
    let e = h.check_supported().unwrap_err();
    assert!(matches!(e, GgufError::UnsupportedArchitecture { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("`gemma3`") && msg.contains("llama") && msg.contains("qwen2"),
        "{msg}"
    );
}

#[test]
fn truncated_7b_fails_open_but_its_header_reads() {
    let Some(path) = model(QWEN7B_PART) else {
        return;
    };
    let e = GgufFile::open(&path).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, GgufError::Truncated { .. }), "{msg}");
    assert!(
        msg.starts_with("truncated: expected 4677120000 bytes of tensor data"),
        "{msg}"
    );

    let h = GgufHeader::read(&path).unwrap();
    assert_eq!(h.architecture().unwrap(), "qwen2");
    h.check_supported().unwrap();
    assert_eq!(h.tensors.len(), 339);
    let p = h.model_params().unwrap();
    assert_eq!((p.block_count, p.embedding_length), (28, 3584));
    assert_eq!((p.head_count[0], p.head_count_kv[0]), (28, 4));
    assert_eq!(p.vocab_size, 152_064);
    assert_eq!(p.file_type, Some(15));
}

#[test]
fn a_missing_file_names_the_path() {
    let e = GgufFile::open("/nonexistent/model.gguf").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/model.gguf"), "{e}");
}
