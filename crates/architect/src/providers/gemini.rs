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
    if let Some(schema) = &request.response_schema {
        generation["responseMimeType"] = json!("application/json");
        generation["responseSchema"] = openapi_schema(&schema.schema);
    }
    let mut body = json!({ "contents": contents, "generationConfig": generation });
    if !system.is_empty() {
        body["systemInstruction"] = json!({ "parts": system });
    }
    body
}

/// Keywords of Gemini's `Schema` (a subset of the OpenAPI 3.0 schema object) that a JSON Schema may carry over.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "items",
    "minimum",
    "maximum",
];

/// Converts a JSON Schema to Gemini's `responseSchema` dialect: keywords outside its subset (`additionalProperties`,
/// `$schema`, `strict`-mode extras) are dropped, types are upper-cased (`STRING`, `OBJECT`, ...), and every object
/// gets a `propertyOrdering` in the order its properties were written (Gemini otherwise orders them alphabetically,
/// which would put `check` before `goal`).
pub(crate) fn openapi_schema(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in object {
        if !SCHEMA_KEYWORDS.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "type" => match value.as_str() {
                Some(name) => json!(name.to_ascii_uppercase()),
                None => value.clone(),
            },
            "properties" => Value::Object(
                value
                    .as_object()
                    .map(|properties| {
                        properties
                            .iter()
                            .map(|(name, property)| (name.clone(), openapi_schema(property)))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "items" => openapi_schema(value),
            "anyOf" => Value::Array(
                value
                    .as_array()
                    .map(|variants| variants.iter().map(openapi_schema).collect())
                    .unwrap_or_default(),
            ),
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        out.insert(
            "propertyOrdering".to_string(),
            json!(properties.keys().collect::<Vec<_>>()),
        );
    }
    Value::Object(out)
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
