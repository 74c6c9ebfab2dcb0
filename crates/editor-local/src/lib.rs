//! The embedded local Editor (mistral.rs, GGUF) and the GGUF/VRAM budget.

pub mod budget;
pub mod engine;
pub mod gguf;
pub mod models;
pub mod quantize;
pub mod stress;
