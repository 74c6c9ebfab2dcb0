//! The three wire protocols: request bodies, response parsing and stream event handling.
//!
//! Each protocol module exposes the same free functions; [`Protocol`] dispatches on [`Provider`].

mod anthropic;
mod gemini;
mod openai;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::config::Provider;
use crate::error::ChatError;
use crate::message::{ChatRequest, FinishReason, Usage};
use crate::secret::ApiKey;
use crate::sse::SseEvent;

/// What a reply has produced so far.
#[derive(Debug, Default)]
pub(crate) struct Accumulated {
    pub text: String,
    pub usage: Usage,
    pub cost: Option<f64>,
    pub finish: Option<FinishReason>,
    pub model: Option<String>,
    /// The protocol's end-of-stream marker arrived (`[DONE]`, `message_stop`, a final Gemini chunk).
    pub done: bool,
}

/// Protocol dispatch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Protocol(pub Provider);

impl Protocol {
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn url(self, base_url: &str, request: &ChatRequest) -> String {
        match self.0 {
            Provider::OpenAiCompatible => format!("{base_url}/chat/completions"),
            Provider::Anthropic => format!("{base_url}/v1/messages"),
            Provider::Gemini => gemini::url(base_url, request),
        }
    }

    pub fn headers(self, key: Option<&ApiKey>) -> Result<HeaderMap, ChatError> {
        let mut headers = HeaderMap::new();
        let invalid = |_| {
            ChatError::InvalidConfig {
            provider: self.name(),
            detail: "the API key contains characters not allowed in an HTTP header; check the variable's value"
                .to_string(),
        }
        };
        match self.0 {
            Provider::OpenAiCompatible => {
                if let Some(key) = key {
                    let mut value: reqwest::header::HeaderValue =
                        format!("Bearer {}", key.expose())
                            .parse()
                            .map_err(invalid)?;
                    value.set_sensitive(true);
                    headers.insert(reqwest::header::AUTHORIZATION, value);
                }
            }
            Provider::Anthropic => {
                headers.insert(
                    "anthropic-version",
                    anthropic::API_VERSION.parse().expect("static header"),
                );
                if let Some(key) = key {
                    let mut value: reqwest::header::HeaderValue =
                        key.expose().parse().map_err(invalid)?;
                    value.set_sensitive(true);
                    headers.insert("x-api-key", value);
                }
            }
            Provider::Gemini => {
                // A header, not the `?key=` query parameter, so the key never appears in a URL.
                if let Some(key) = key {
                    let mut value: reqwest::header::HeaderValue =
                        key.expose().parse().map_err(invalid)?;
                    value.set_sensitive(true);
                    headers.insert("x-goog-api-key", value);
                }
            }
        }
        Ok(headers)
    }

    pub fn body(self, request: &ChatRequest) -> Value {
        match self.0 {
            Provider::OpenAiCompatible => openai::body(request),
            Provider::Anthropic => anthropic::body(request),
            Provider::Gemini => gemini::body(request),
        }
    }

    /// Whether requests can carry a JSON Schema for structured output ([`ChatRequest::response_schema`]).
    pub fn supports_response_schema(self) -> bool {
        match self.0 {
            Provider::OpenAiCompatible | Provider::Gemini => true,
            Provider::Anthropic => false,
        }
    }

    /// Parses a non-streamed reply.
    pub fn parse_response(self, json: &Value) -> Result<Accumulated, ChatError> {
        match self.0 {
            Provider::OpenAiCompatible => openai::parse_response(json),
            Provider::Anthropic => anthropic::parse_response(json),
            Provider::Gemini => gemini::parse_response(json),
        }
    }

    /// Applies one stream event; returns the text delta it carried (possibly empty).
    pub fn on_event(self, event: &SseEvent, acc: &mut Accumulated) -> Result<String, ChatError> {
        match self.0 {
            Provider::OpenAiCompatible => openai::on_event(event, acc),
            Provider::Anthropic => anthropic::on_event(event, acc),
            Provider::Gemini => gemini::on_event(event, acc),
        }
    }

    /// Whether a stream that has ended holds a complete reply.
    pub fn stream_complete(self, acc: &Accumulated) -> bool {
        match self.0 {
            // `[DONE]` or a finish_reason: the text is complete even if a trailing usage chunk was lost.
            Provider::OpenAiCompatible => acc.done || acc.finish.is_some(),
            Provider::Anthropic => acc.done,
            Provider::Gemini => acc.finish.is_some(),
        }
    }

    /// What a complete stream of this protocol ends with, for truncation messages.
    pub fn end_marker(self) -> &'static str {
        match self.0 {
            Provider::OpenAiCompatible => "no finish_reason and no [DONE]",
            Provider::Anthropic => "no message_stop event",
            Provider::Gemini => "no chunk with a finishReason",
        }
    }
}

/// Parses event data as JSON, or fails with a short excerpt.
pub(crate) fn parse_json(provider: &'static str, data: &str) -> Result<Value, ChatError> {
    serde_json::from_str(data).map_err(|err| ChatError::Malformed {
        provider,
        detail: format!("{err} in {}", excerpt(data, 200)),
    })
}

/// The provider's error text from an error body (`{"error":{"message":..}}` and its variants), else an excerpt.
pub(crate) fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|json| {
        let error = json.get("error").unwrap_or(&json);
        error
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| error.as_str())
            .or_else(|| json.get("message").and_then(Value::as_str))
            .map(str::to_string)
    });
    match from_json {
        Some(message) => excerpt(&message, 500),
        None if body.trim().is_empty() => "(empty body)".to_string(),
        None => excerpt(body.trim(), 500),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn u64_at(json: &Value, pointer: &str) -> Option<u64> {
    json.pointer(pointer).and_then(Value::as_u64)
}

/// A `{"error": ...}` object inside a 200 body or stream event, as a provider error.
fn embedded_error(provider: &'static str, json: &Value) -> Option<ChatError> {
    let error = json.get("error")?;
    if error.is_null() {
        return None;
    }
    let message = error_message(&json.to_string());
    let kind = error
        .get("type")
        .or_else(|| error.get("status"))
        .or_else(|| error.get("code"))
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .unwrap_or_default()
        .to_ascii_lowercase();
    let transient = [
        "overloaded",
        "rate_limit",
        "resource_exhausted",
        "unavailable",
        "api_error",
        "429",
        "500",
        "503",
    ]
    .iter()
    .any(|needle| kind.contains(needle));
    Some(ChatError::Provider {
        provider,
        message,
        transient,
    })
}
