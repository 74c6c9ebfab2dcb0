//! OpenAI Chat Completions (and every server that copies it).

use serde_json::{Value, json};

use super::{Accumulated, embedded_error, parse_json, u64_at};
use crate::error::ChatError;
use crate::message::{ChatRequest, FinishReason, Usage};
use crate::sse::SseEvent;

const NAME: &str = "openai-compatible";

pub(super) fn body(request: &ChatRequest) -> Value {
    let mut body = json!({
        "model": request.model,
        "messages": request.messages,
        "stream": request.stream,
    });
    if request.stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if !request.stop.is_empty() {
        body["stop"] = json!(request.stop);
    }
    if let Some(schema) = &request.response_schema {
        // Structured output: OpenAI, llama.cpp's llama-server (which turns the schema into a grammar), vLLM and
        // ollama all accept this shape.
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": { "name": schema.name, "strict": true, "schema": schema.schema },
        });
    }
    body
}

fn read_usage(json: &Value, acc: &mut Accumulated) {
    let Some(usage) = json.get("usage").filter(|u| u.is_object()) else {
        return;
    };
    acc.usage = Usage {
        prompt_tokens: u64_at(usage, "/prompt_tokens").unwrap_or(0),
        completion_tokens: u64_at(usage, "/completion_tokens").unwrap_or(0),
    };
    // OpenRouter reports the charge in `usage.cost`.
    if let Some(cost) = usage.get("cost").and_then(Value::as_f64) {
        acc.cost = Some(cost);
    }
}

pub(super) fn parse_response(json: &Value) -> Result<Accumulated, ChatError> {
    if let Some(error) = embedded_error(NAME, json) {
        return Err(error);
    }
    let choice = json
        .pointer("/choices/0")
        .ok_or_else(|| ChatError::Malformed {
            provider: NAME,
            detail: "response has no choices[0]".to_string(),
        })?;
    let mut acc = Accumulated {
        text: choice
            .pointer("/message/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        finish: Some(
            choice
                .get("finish_reason")
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
    read_usage(json, &mut acc);
    Ok(acc)
}

pub(super) fn on_event(event: &SseEvent, acc: &mut Accumulated) -> Result<String, ChatError> {
    let data = event.data.trim();
    if data == "[DONE]" {
        acc.done = true;
        return Ok(String::new());
    }
    let json = parse_json(NAME, data)?;
    if let Some(error) = embedded_error(NAME, &json) {
        return Err(error);
    }
    if acc.model.is_none() {
        acc.model = json
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    read_usage(&json, acc);
    let mut delta = String::new();
    if let Some(choice) = json.pointer("/choices/0") {
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str) {
            delta.push_str(text);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            acc.finish = Some(FinishReason::from_provider(reason));
        }
    }
    Ok(delta)
}
