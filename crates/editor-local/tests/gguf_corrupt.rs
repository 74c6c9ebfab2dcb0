//! Corrupt and truncated GGUF input gives clean errors that name the offset — never a panic or
//! an allocation sized by an untrusted count.

mod gguf_common;

use aidx_editor_local::budget::{
    self, BudgetRequest, DeviceKind, KvType, ModelShape, OverheadModel,
};
use aidx_editor_local::gguf::{GgufError, GgufHeader, Value, ValueType};
use gguf_common::{Bytes, small_valid_file};

fn err(bytes: &[u8]) -> GgufError {
    GgufHeader::from_bytes(bytes).expect_err("corrupt input must be an error")
}

#[test]
fn small_valid_file_parses_every_value_type() {
    let bytes = small_valid_file();
    let h = GgufHeader::from_bytes(&bytes).unwrap();
    assert_eq!(h.version, 3);
    assert_eq!(h.metadata.len(), 8);
    assert_eq!(h.metadata.get("x.f32"), Some(&Value::F32(1.5)));
    assert_eq!(h.metadata.get("x.bool"), Some(&Value::Bool(true)));
    assert_eq!(
        h.metadata.get("x.nested"),
        Some(&Value::Array(
            ValueType::Array,
            vec![
                Value::Array(ValueType::U8, vec![Value::U8(1), Value::U8(2)]),
                Value::Array(ValueType::U8, vec![Value::U8(3)]),
            ]
        ))
    );
    assert_eq!(h.tensors.len(), 2);
    assert_eq!(h.tensors[0].dims, vec![32, 4]);
    assert_eq!(h.tensors[1].offset, 512);
    assert_eq!(h.data_offset % 32, 0);
    assert_eq!(h.tensor_data_len(), 512 + 128);
    h.check_complete().unwrap();
    let p = h.model_params().unwrap();
    assert_eq!((p.block_count, p.key_length, p.head_count_kv[0]), (1, 8, 2));
}

#[test]
fn bad_magic_is_named() {
    let mut bytes = small_valid_file();
    bytes[..4].copy_from_slice(b"PK\x03\x04");
    let e = err(&bytes);
    assert!(matches!(e, GgufError::BadMagic { .. }), "{e}");
    assert!(e.to_string().contains("offset 0"), "{e}");
    assert!(e.to_string().contains("GGUF"), "{e}");
}

#[test]
fn unsupported_version_is_named() {
    let mut b = Bytes::default();
    b.header(1, 0, 0);
    let e = err(&b.0);
    assert!(
        matches!(e, GgufError::UnsupportedVersion { version: 1 }),
        "{e}"
    );
}

#[test]
fn every_truncation_of_the_header_is_a_clean_error() {
    let bytes = small_valid_file();
    let header_len = GgufHeader::from_bytes(&bytes).unwrap().data_offset as usize;
    // The last tensor info ends before the alignment padding; every shorter prefix must fail.
    for len in 0..header_len - 32 {
        match GgufHeader::from_bytes(&bytes[..len]) {
            Ok(h) => panic!("prefix of {len} bytes parsed: {h:?}"),
            Err(GgufError::UnexpectedEof { offset, needed, .. }) => {
                assert!(
                    offset <= len as u64 && offset + needed > len as u64,
                    "len {len}"
                );
            }
            Err(GgufError::Corrupt { what, .. }) => {
                // A count is rejected early when what is left cannot hold it.
                assert!(
                    what.contains("absurd") || what.contains("exceeds"),
                    "{what}"
                );
            }
            Err(other) => panic!("prefix of {len} bytes: unexpected error {other}"),
        }
    }
}

#[test]
fn truncated_header_message_names_offset_and_expectation() {
    let bytes = small_valid_file();
    let e = err(&bytes[..10]);
    let msg = e.to_string();
    assert!(msg.contains("offset 8"), "{msg}");
    assert!(msg.contains("tensor count"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn absurd_counts_are_rejected_before_allocating() {
    for (tensors, kvs, what) in [
        (u64::MAX, 0, "tensor count"),
        (1 << 40, 0, "tensor count"),
        (0, u64::MAX, "metadata key/value count"),
        (0, 1 << 50, "metadata key/value count"),
    ] {
        let mut b = Bytes::default();
        b.header(3, tensors, kvs).raw(&[0; 64]);
        let e = err(&b.0);
        let msg = e.to_string();
        assert!(matches!(e, GgufError::Corrupt { .. }), "{msg}");
        assert!(msg.contains(what) && msg.contains("absurd"), "{msg}");
    }
}

#[test]
fn absurd_string_and_array_lengths_are_rejected() {
    // A key whose length claims 2^62 bytes.
    let mut b = Bytes::default();
    b.header(3, 0, 1).u64(1 << 62).raw(&[0; 16]);
    let msg = err(&b.0).to_string();
    assert!(
        msg.contains("offset 24") && msg.contains("exceeds"),
        "{msg}"
    );

    // An array of 2^61 u64 values.
    let mut b = Bytes::default();
    b.header(3, 0, 1)
        .string("k")
        .u32(9)
        .u32(10)
        .u64(1 << 61)
        .raw(&[0; 16]);
    let msg = err(&b.0).to_string();
    assert!(
        msg.contains("array length") && msg.contains("absurd"),
        "{msg}"
    );
    assert!(msg.contains("offset 41"), "{msg}");

    // An array of 2^40 strings (each needs at least 8 bytes).
    let mut b = Bytes::default();
    b.header(3, 0, 1).string("k").u32(9).u32(8).u64(1 << 40);
    assert!(err(&b.0).to_string().contains("absurd"));
}

#[test]
fn deeply_nested_arrays_are_rejected() {
    let mut b = Bytes::default();
    b.header(3, 0, 1).string("k").u32(9);
    for _ in 0..20 {
        b.u32(9).u64(1);
    }
    b.u32(0).u64(0);
    let msg = err(&b.0).to_string();
    assert!(msg.contains("nested"), "{msg}");
}

#[test]
fn bad_type_ids_and_shapes_are_rejected() {
    // Unknown metadata value type.
    let mut b = Bytes::default();
    b.header(3, 0, 1).string("k").u32(77).u32(0);
    let msg = err(&b.0).to_string();
    assert!(
        msg.contains("metadata value type 77") && msg.contains("offset 33"),
        "{msg}"
    );

    // Bad bool byte.
    let mut b = Bytes::default();
    b.header(3, 0, 1).string("k").u32(7).raw(&[2]);
    assert!(err(&b.0).to_string().contains("bool value 2"));

    let tensor_file = |name: &str, dims: &[u64], ty: u32, offset: u64| {
        let mut b = Bytes::default();
        b.header(3, 1, 0)
            .tensor(name, dims, ty, offset)
            .data(32, 64);
        b.0
    };
    let cases: [(Vec<u8>, &str); 6] = [
        (tensor_file("t", &[], 0, 0), "0 dimensions"),
        (tensor_file("t", &[1, 1, 1, 1, 1], 0, 0), "5 dimensions"),
        (tensor_file("t", &[32], 99, 0), "unknown ggml type id 99"),
        (
            tensor_file("t", &[33], 2, 0),
            "multiple of the Q4_0 block size 32",
        ),
        (
            tensor_file("t", &[32], 0, 7),
            "not a multiple of the alignment",
        ),
        (
            tensor_file("t", &[1 << 32, 1 << 32, 1 << 8], 0, 0),
            "overflow",
        ),
    ];
    for (bytes, expected) in cases {
        let msg = err(&bytes).to_string();
        assert!(msg.contains(expected), "expected `{expected}` in: {msg}");
        assert!(msg.contains("offset"), "{msg}");
    }
}

#[test]
fn duplicate_keys_and_tensors_are_rejected() {
    let mut b = Bytes::default();
    b.header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2);
    assert!(err(&b.0).to_string().contains("duplicate metadata key `a`"));

    let mut b = Bytes::default();
    b.header(3, 2, 0)
        .tensor("t", &[8], 0, 0)
        .tensor("t", &[8], 0, 32)
        .data(32, 64);
    assert!(err(&b.0).to_string().contains("duplicate tensor name `t`"));
}

#[test]
fn missing_tensor_data_is_truncated_but_header_reads() {
    let bytes = small_valid_file();
    let full = GgufHeader::from_bytes(&bytes).unwrap();
    let cut = &bytes[..bytes.len() - 100];
    let h = GgufHeader::from_bytes(cut).expect("the header is complete");
    assert_eq!(h.tensors, full.tensors);
    let msg = h.check_complete().unwrap_err().to_string();
    assert!(
        msg.starts_with("truncated: expected 640 bytes of tensor data"),
        "{msg}"
    );
    assert!(msg.contains("file has 540"), "{msg}");
}

/// A deterministic mutation fuzz: flipping bytes of a valid file never panics, and parsing is
/// bounded (no allocation larger than the input is possible by construction; this checks it
/// returns).
#[test]
fn byte_flips_never_panic() {
    let bytes = small_valid_file();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for _ in 0..20_000 {
        let mut m = bytes.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % m.len();
            m[i] = next() as u8;
        }
        let len = if next() % 4 == 0 {
            (next() as usize) % m.len()
        } else {
            m.len()
        };
        if let Ok(h) = GgufHeader::from_bytes(&m[..len]) {
            let _ = h.check_complete();
            // Whatever the header says, the budget arithmetic must not overflow or panic.
            if let Ok(shape) = ModelShape::from_header(&h) {
                let req = BudgetRequest {
                    kv_type: KvType::Q8_0,
                    context_tokens: u64::MAX / 2,
                    device_bytes: 1 << 30,
                    device: DeviceKind::Cpu,
                    overhead: OverheadModel::MISTRALRS_CPU,
                };
                let _ = budget::compute(&shape, "x", h.weights_bytes(), &req);
                let _ = budget::quantization_table(&shape, &req);
            }
        } else {
            errors += 1;
        }
    }
    assert!(
        errors > 1000,
        "mutations should mostly be caught ({errors})"
    );
}
