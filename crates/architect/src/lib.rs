//! Chat clients for the aidx Architect and the `plan.md` contract.
//!
//! * [`ChatClient`] is the provider-neutral interface; [`HttpChatClient`] implements it over three wire protocols
//!   (OpenAI-compatible Chat Completions, Anthropic Messages, Google Gemini `generateContent`) chosen by
//!   [`ProviderConfig::provider`]. Streaming (SSE) deltas go to a caller-supplied callback; retries with
//!   exponential backoff and jitter follow [`RetryPolicy`]; a [`CancellationToken`] aborts a request cleanly.
//! * [`plan`] holds the [`Plan`](plan::Plan) type, its fixed markdown rendering, a tolerant parser, validation,
//!   the atomic writer and the [`Architect`](plan::Architect) driver that asks the model for a plan.
//!
//! API keys are read from the environment variable named in the config and kept in an [`ApiKey`], which never
//! prints its value (Debug, Display, errors and logs show `[REDACTED]`).

mod cancel;
mod client;
mod config;
mod error;
pub mod local_server;
mod message;
pub mod plan;
mod providers;
mod retry;
mod secret;
mod sse;

pub use cancel::cancel_on_ctrl_c;
pub use client::{ChatClient, DeltaSink, HttpChatClient};
pub use config::{Pricing, Provider, ProviderConfig, Timeouts};
pub use error::ChatError;
pub use message::{
    ChatMessage, ChatRequest, ChatResponse, FinishReason, ResponseSchema, Role, Usage,
};
pub use retry::{RetryPolicy, parse_retry_after};
pub use secret::ApiKey;
/// The stream decoder, public for the fuzz targets (it reads bytes a server sends).
pub use sse::{InvalidUtf8, SseDecoder, SseEvent};
pub use tokio_util::sync::CancellationToken;
