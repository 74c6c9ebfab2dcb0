//! Google Gemini `generateContent` / `streamGenerateContent?alt=sse`.

use serde_json::{Value, json};

use super::{Accumulated, embedded_error, parse_json, u64_at};
use crate::error::ChatError;
use crate::message::{ChatRequest, FinishReason, Role};
use crate::sse::SseEvent;

const NAME: &str = "gemini";

pub(super) fn url(base_url: &str, request: &ChatRequest) -> String {
    let model = request
        .model
        .strip_prefix("models/")
        .unwrap_or(&request.model);
    if request.stream {
        format!("{base_url}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base_url}/models/{model}:generateContent")
    }
}

pub(super) fn body(request: &ChatRequest) -> Value {
    let system: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| json!({ "text": m.content }))
        .collect();
    let contents: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let role = if m.role == Role::Assistant {
                "model"
            } else {
                "user"
            };
            json!({ "role": role, "parts": [{ "text": m.content }] })
        })
        .collect();
    let mut generation = json!({});
    if let Some(max_tokens) = request.max_tokens {
        generation["maxOutputTokens"] = json!(max_tokens);
    }
    if let Some(temperature) = request.temperature {
        generation["temperature"] = json!(temperature);
    }
    if !request.stop.is_empty() {
        generation["stopSequences"] = json!(request.stop);
    }
    let mut body = json!({ "contents": contents, "generationConfig": generation });
    if !system.is_empty() {
        body["systemInstruction"] = json!({ "parts": system });
    }
    body
}

/// Applies one `GenerateContentResponse` (a whole reply, or one stream chunk); returns its text.
fn apply_chunk(json: &Value, acc: &mut Accumulated) -> Result<String, ChatError> {
    if let Some(error) = embedded_error(NAME, json) {
        return Err(error);
    }
    if let Some(usage) = json.get("usageMetadata") {
        // Cumulative in every chunk; the last one wins.
        acc.usage.prompt_tokens =
            u64_at(usage, "/promptTokenCount").unwrap_or(acc.usage.prompt_tokens);
        acc.usage.completion_tokens =
            u64_at(usage, "/candidatesTokenCount").unwrap_or(acc.usage.completion_tokens);
    }
    if let Some(version) = json.get("modelVersion").and_then(Value::as_str) {
        acc.model = Some(version.to_string());
    }
    if let Some(reason) = json
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)
    {
        acc.finish = Some(FinishReason::from_provider(reason));
        acc.done = true;
        return Ok(String::new());
    }
    let mut text = String::new();
    if let Some(candidate) = json.pointer("/candidates/0") {
        if let Some(parts) = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
        {
            for part in parts {
                // Thought summaries are not part of the answer.
                if part.get("thought").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let Some(piece) = part.get("text").and_then(Value::as_str) {
                    text.push_str(piece);
                }
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            acc.finish = Some(FinishReason::from_provider(reason));
            acc.done = true;
        }
    }
    Ok(text)
}

pub(super) fn parse_response(json: &Value) -> Result<Accumulated, ChatError> {
    if json.get("candidates").is_none()
        && json.get("promptFeedback").is_none()
        && json.get("error").is_none()
    {
        return Err(ChatError::Malformed {
            provider: NAME,
            detail: "response has no candidates".to_string(),
        });
    }
    let mut acc = Accumulated::default();
    acc.text = apply_chunk(json, &mut acc)?;
    if acc.finish.is_none() {
        acc.finish = Some(FinishReason::Other("unspecified".into()));
    }
    acc.done = true;
    Ok(acc)
}

pub(super) fn on_event(event: &SseEvent, acc: &mut Accumulated) -> Result<String, ChatError> {
    let json = parse_json(NAME, &event.data)?;
    apply_chunk(&json, acc)
}
