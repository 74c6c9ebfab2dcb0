//! Provider-neutral request and response types.

use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model.
    System,
    /// The person (or aidx) asking.
    User,
    /// The model's earlier replies.
    Assistant,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat completion request.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// Model name; the client's configured model when built with [`ChatRequest::new`] through
    /// [`ChatClient::request`](crate::ChatClient::request).
    pub model: String,
    /// The conversation, oldest first. System messages may appear anywhere; providers that take a single system
    /// field get them joined in order.
    pub messages: Vec<ChatMessage>,
    /// Upper bound on generated tokens (`None`: the provider default; Anthropic requires one, 4096 is sent).
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Stream the reply (SSE) and deliver deltas as they arrive. Default `true`.
    pub stream: bool,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Constrain the reply to JSON matching this schema (structured output), where the protocol allows it:
    /// OpenAI-compatible `response_format: json_schema`, Gemini `responseSchema`. Anthropic has no such field, and a
    /// request carrying one fails with [`ChatError::InvalidConfig`](crate::ChatError::InvalidConfig).
    pub response_schema: Option<ResponseSchema>,
}

/// A JSON Schema the reply must match (structured output).
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseSchema {
    /// A short name for the schema (OpenAI's `json_schema.name`: letters, digits, `_` and `-`).
    pub name: String,
    /// The schema, in the JSON Schema subset that OpenAI strict mode and llama.cpp's grammar conversion share;
    /// the Gemini protocol converts it to its OpenAPI subset.
    pub schema: serde_json::Value,
}

impl ChatRequest {
    /// A streaming request with provider defaults for everything else.
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        Self {
            model: model.into(),
            messages,
            max_tokens: None,
            temperature: None,
            stream: true,
            stop: Vec::new(),
            response_schema: None,
        }
    }

    /// Sets `max_tokens`.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Turns streaming on or off.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// Constrains the reply to JSON matching `schema`.
    pub fn with_response_schema(mut self, schema: ResponseSchema) -> Self {
        self.response_schema = Some(schema);
        self
    }
}

/// Token counts reported by the provider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// Why generation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The model finished (end of turn or a stop sequence).
    Stop,
    /// `max_tokens` (or the context) ran out: the text is cut short.
    Length,
    /// The provider filtered the output.
    ContentFilter,
    /// The model asked for a tool call.
    ToolCalls,
    /// Anything else, as the provider spelled it.
    Other(String),
}

impl FinishReason {
    /// Maps a provider's spelling (OpenAI `finish_reason`, Anthropic `stop_reason`, Gemini `finishReason`).
    pub fn from_provider(raw: &str) -> Self {
        match raw.to_ascii_lowercase().as_str() {
            "stop" | "end_turn" | "stop_sequence" | "eos" => FinishReason::Stop,
            "length" | "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
            "content_filter" | "safety" | "recitation" | "blocklist" | "prohibited_content"
            | "spii" | "refusal" => FinishReason::ContentFilter,
            "tool_calls" | "tool_use" | "function_call" => FinishReason::ToolCalls,
            _ => FinishReason::Other(raw.to_string()),
        }
    }
}

/// A complete reply.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// The generated text (all deltas joined, for a streamed reply).
    pub text: String,
    /// Token counts (zeros when the provider reported none).
    pub usage: Usage,
    /// Cost as reported by the provider (OpenRouter `usage.cost`) or computed from [`crate::Pricing`].
    pub cost: Option<f64>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// The model that answered, when the provider says.
    pub model: Option<String>,
}
