//! Anthropic Messages API (`/v1/messages`), including its SSE event types.

use serde_json::{Value, json};

use super::{Accumulated, embedded_error, parse_json, u64_at};
use crate::error::ChatError;
use crate::message::{ChatRequest, FinishReason, Role};
use crate::sse::SseEvent;

const NAME: &str = "anthropic";

/// The `anthropic-version` header value.
pub(super) const API_VERSION: &str = "2023-06-01";

/// Anthropic requires `max_tokens`; this is sent when the request leaves it unset.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub(super) fn body(request: &ChatRequest) -> Value {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let messages: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({ "role": m.role, "content": m.content }))
        .collect();
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": request.stream,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if !request.stop.is_empty() {
        body["stop_sequences"] = json!(request.stop);
    }
    body
}

/// Prompt tokens from an Anthropic `usage` object: `input_tokens` counts only the uncached part, so the cache
/// reads and writes are added (llama.cpp's `/v1/messages` reports a reused prompt prefix the same way).
fn prompt_tokens(usage: &Value) -> Option<u64> {
    let input = u64_at(usage, "/input_tokens")?;
    let cached = u64_at(usage, "/cache_read_input_tokens").unwrap_or(0)
        + u64_at(usage, "/cache_creation_input_tokens").unwrap_or(0);
    Some(input + cached)
}

fn text_of(content: &Value) -> String {
    content
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn parse_response(json: &Value) -> Result<Accumulated, ChatError> {
    if let Some(error) = embedded_error(NAME, json) {
        return Err(error);
    }
    let content = json.get("content").ok_or_else(|| ChatError::Malformed {
        provider: NAME,
        detail: "response has no content".to_string(),
    })?;
    let mut acc = Accumulated {
        text: text_of(content),
        finish: Some(
            json.get("stop_reason")
                .and_then(Value::as_str)
                .map(FinishReason::from_provider)
                .unwrap_or(FinishReason::Other("unspecified".into())),
        ),
        model: json
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        done: true,
        ..Accumulated::default()
    };
    acc.usage.prompt_tokens = json.get("usage").and_then(prompt_tokens).unwrap_or(0);
    acc.usage.completion_tokens = u64_at(json, "/usage/output_tokens").unwrap_or(0);
    Ok(acc)
}

pub(super) fn on_event(event: &SseEvent, acc: &mut Accumulated) -> Result<String, ChatError> {
    let json = parse_json(NAME, &event.data)?;
    // The `type` inside the data is authoritative; the `event:` line repeats it.
    let kind = json
        .get("type")
        .and_then(Value::as_str)
        .or(event.event.as_deref())
        .unwrap_or("");
    match kind {
        "message_start" => {
            acc.model = json
                .pointer("/message/model")
                .and_then(Value::as_str)
                .map(str::to_string);
            acc.usage.prompt_tokens = json
                .pointer("/message/usage")
                .and_then(prompt_tokens)
                .unwrap_or(0);
            acc.usage.completion_tokens =
                u64_at(&json, "/message/usage/output_tokens").unwrap_or(0);
        }
        "content_block_delta"
            if json.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta") =>
        {
            return Ok(json
                .pointer("/delta/text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string());
        }
        "message_delta" => {
            if let Some(reason) = json.pointer("/delta/stop_reason").and_then(Value::as_str) {
                acc.finish = Some(FinishReason::from_provider(reason));
            }
            // Cumulative counts.
            if let Some(output) = u64_at(&json, "/usage/output_tokens") {
                acc.usage.completion_tokens = output;
            }
            if let Some(input) = json.get("usage").and_then(prompt_tokens).filter(|n| *n > 0) {
                acc.usage.prompt_tokens = input;
            }
        }
        "message_stop" => {
            acc.done = true;
            if acc.finish.is_none() {
                acc.finish = Some(FinishReason::Other("unspecified".into()));
            }
        }
        "error" => {
            return Err(embedded_error(NAME, &json).unwrap_or(ChatError::Provider {
                provider: NAME,
                message: super::excerpt(&event.data, 500),
                transient: false,
            }));
        }
        // ping, content_block_start, content_block_stop and future event types carry no text.
        _ => {}
    }
    Ok(String::new())
}
