//! The embedded local Editor (mistral.rs, GGUF) and the GGUF/VRAM budget.

pub mod budget;
pub mod device;
pub mod engine;
/// The GGUF reader lives in its own crate (`aidx-gguf`); re-exported here so the engine's paths stay.
pub use aidx_gguf as gguf;
#[cfg(feature = "llama-cpp")]
mod llama_cpp;
pub mod models;
pub mod offload;
pub mod quantize;
pub mod stress;
pub mod synthetic;
mod xorshift;
