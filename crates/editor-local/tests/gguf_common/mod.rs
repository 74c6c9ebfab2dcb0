//! Shared helpers for the GGUF, budget and quantize tests: locating the real model files and
//! building small GGUF files byte by byte.
#![allow(dead_code)]

use std::path::PathBuf;

/// `AIDX_MODELS_DIR`, default `~/.cache/aidx/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("AIDX_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/aidx/models")
        })
}

/// The model file `name`, or `None` (with a note on stderr) when it is absent. With
/// `AIDX_REQUIRE_MODELS=1` or `AIDX_REQUIRE_REAL=1` (CI) an absent model fails the test instead.
pub fn model(name: &str) -> Option<PathBuf> {
    let path = models_dir().join(name);
    if path.exists() {
        return Some(path);
    }
    let required = |var: &str| std::env::var(var).as_deref() == Ok("1");
    if required("AIDX_REQUIRE_MODELS") || required("AIDX_REQUIRE_REAL") {
        panic!(
            "model {} is missing and a real model is required (AIDX_REQUIRE_MODELS / AIDX_REQUIRE_REAL)",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: model {} is missing; see docs/MODELS.md",
        path.display()
    );
    None
}

pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
pub const GEMMA3: &str = "gemma-3-270m-q4_k_m.gguf";
pub const QWEN7B_PART: &str = "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.part0000.gguf";

/// Writes GGUF structures little-endian into a byte buffer.
#[derive(Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    /// Header start: magic, version, tensor count, kv count.
    pub fn header(&mut self, version: u32, tensors: u64, kvs: u64) -> &mut Self {
        self.raw(b"GGUF").u32(version).u64(tensors).u64(kvs)
    }
    /// A key with a u32 value.
    pub fn kv_u32(&mut self, key: &str, v: u32) -> &mut Self {
        self.string(key).u32(4).u32(v)
    }
    /// A key with a string value.
    pub fn kv_str(&mut self, key: &str, v: &str) -> &mut Self {
        self.string(key).u32(8).string(v)
    }
    /// A tensor info.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ggml_type: u32, offset: u64) -> &mut Self {
        self.string(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(ggml_type).u64(offset)
    }
    /// Pads to `align` and appends `n` zero bytes of tensor data.
    pub fn data(&mut self, align: usize, n: usize) -> &mut Self {
        let pad = self.0.len().div_ceil(align) * align - self.0.len();
        self.0.extend(std::iter::repeat_n(0u8, pad + n));
        self
    }
}

/// A small valid llama-architecture file: two F32 tensors and every metadata value type,
/// including a nested array.
pub fn small_valid_file() -> Vec<u8> {
    let mut b = Bytes::default();
    b.header(3, 2, 8);
    b.kv_str("general.architecture", "llama");
    b.kv_u32("llama.block_count", 1);
    b.kv_u32("llama.embedding_length", 32);
    b.kv_u32("llama.attention.head_count", 4);
    b.kv_u32("llama.attention.head_count_kv", 2);
    // f32, bool, i64
    b.string("x.f32").u32(6).raw(&1.5f32.to_le_bytes());
    b.string("x.bool").u32(7).raw(&[1]);
    // array of arrays of u8: [[1,2],[3]]
    b.string("x.nested").u32(9).u32(9).u64(2);
    b.u32(0).u64(2).raw(&[1, 2]);
    b.u32(0).u64(1).raw(&[3]);
    b.tensor("token_embd.weight", &[32, 4], 0, 0);
    b.tensor("output_norm.weight", &[32], 0, 512);
    b.data(32, 512 + 128);
    b.0
}
