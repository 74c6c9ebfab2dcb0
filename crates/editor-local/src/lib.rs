//! The embedded local Editor (mistral.rs, GGUF) and the GGUF/VRAM budget.

pub mod budget;
pub mod gguf;
