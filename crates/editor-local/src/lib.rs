//! The embedded local Editor (mistral.rs, GGUF) and the GGUF/VRAM budget.

pub mod budget;
pub mod engine;
pub mod gguf;
#[cfg(feature = "llama-cpp")]
mod llama_cpp;
pub mod models;
pub mod quantize;
pub mod stress;
pub mod synthetic;
mod xorshift;
