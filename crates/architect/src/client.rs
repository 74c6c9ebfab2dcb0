//! The [`ChatClient`] trait and its HTTP implementation: transport, retries, streaming and cancellation.

use std::borrow::Cow;
use std::error::Error as _;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use rand::Rng;
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::config::ProviderConfig;
use crate::error::ChatError;
use crate::message::{ChatMessage, ChatRequest, ChatResponse, FinishReason};
use crate::providers::{Accumulated, Protocol, error_message, excerpt, parse_json};
use crate::retry::parse_retry_after;
use crate::secret::ApiKey;
use crate::sse::SseDecoder;

/// Receives streamed text deltas in order, as they arrive.
pub type DeltaSink<'a> = &'a mut (dyn FnMut(&str) + Send);

/// A chat model behind some API. Implemented by [`HttpChatClient`]; tests may supply their own.
pub trait ChatClient: Send + Sync {
    /// The configured model name.
    fn model(&self) -> &str;

    /// Sends `request`; streamed deltas go to `on_delta` (a non-streamed reply is delivered as one delta).
    /// Returns when the reply is complete, fails, or `cancel` fires ([`ChatError::Cancelled`]).
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_delta: DeltaSink<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ChatResponse, ChatError>>;

    /// Removes this client's secrets from `text` (for anything a model wrote that will be stored).
    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        Cow::Borrowed(text)
    }

    /// A streaming request for the configured model.
    fn request(&self, messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest::new(self.model(), messages)
    }
}

/// A [`ChatClient`] over HTTP for any [`crate::Provider`].
#[derive(Debug, Clone)]
pub struct HttpChatClient {
    config: ProviderConfig,
    key: Option<ApiKey>,
    base_url: String,
    protocol: Protocol,
    http: reqwest::Client,
}

impl HttpChatClient {
    /// Builds a client, reading the API key from the environment variable named by `config.api_key_env`.
    /// A named variable that is unset or empty is [`ChatError::MissingApiKey`].
    pub fn new(config: ProviderConfig) -> Result<Self, ChatError> {
        let key = match config.api_key_env.as_deref() {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(value) if !value.trim().is_empty() => Some(ApiKey::new(value.trim())),
                _ => {
                    return Err(ChatError::MissingApiKey {
                        var: var.to_string(),
                        provider: config.provider.name(),
                    });
                }
            },
        };
        Self::with_api_key(config, key)
    }

    /// Builds a client with an explicit key (or none), ignoring `api_key_env` for lookup.
    pub fn with_api_key(config: ProviderConfig, key: Option<ApiKey>) -> Result<Self, ChatError> {
        let protocol = Protocol(config.provider);
        let base_url = config.effective_base_url().to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ChatError::InvalidConfig {
                provider: protocol.name(),
                detail: format!("base_url {base_url:?} must start with http:// or https://"),
            });
        }
        // Fail now, not on the first request, when the key cannot go into a header.
        protocol.headers(key.as_ref())?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeouts.connect)
            .read_timeout(config.timeouts.read)
            .user_agent(concat!("aidx/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ChatError::InvalidConfig {
                provider: protocol.name(),
                detail: format!("cannot build the HTTP client: {err}"),
            })?;
        Ok(Self {
            config,
            key,
            base_url,
            protocol,
            http,
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Sends the request with retries, as [`ChatClient::chat`] describes.
    pub async fn send(
        &self,
        request: &ChatRequest,
        on_delta: DeltaSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ChatResponse, ChatError> {
        if request.response_schema.is_some() && !self.protocol.supports_response_schema() {
            return Err(ChatError::InvalidConfig {
                provider: self.protocol.name(),
                detail: "this protocol has no structured-output field for a JSON Schema; ask for markdown \
                         instead (architect.plan-format: markdown in .aidx.yml)"
                    .to_string(),
            });
        }
        let policy = &self.config.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut delivered = false;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let outcome = tokio::select! {
                biased;
                _ = cancel.cancelled() => Err(ChatError::Cancelled),
                outcome = self.attempt(request, &mut *on_delta, &mut delivered) => outcome,
            };
            let error = match outcome {
                Ok(response) => {
                    debug!(
                        provider = self.protocol.name(),
                        attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        prompt_tokens = response.usage.prompt_tokens,
                        completion_tokens = response.usage.completion_tokens,
                        "chat reply complete"
                    );
                    return Ok(response);
                }
                Err(error) => error,
            };
            // Text already handed to the caller cannot be taken back, so a failure after it is final.
            if !error.is_retryable() || delivered {
                return Err(error);
            }
            if attempt >= max_attempts {
                return Err(if attempt == 1 {
                    error
                } else {
                    ChatError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(error),
                    }
                });
            }
            if let Some(asked) = error
                .retry_after()
                .filter(|asked| *asked > policy.max_retry_after)
            {
                let status = match &error {
                    ChatError::Server { status, .. } => *status,
                    _ => 0,
                };
                return Err(ChatError::RateLimited {
                    provider: self.protocol.name(),
                    status,
                    retry_after: asked,
                    limit: policy.max_retry_after,
                });
            }
            let delay = policy.delay(attempt, rand::rng().random::<f64>(), error.retry_after());
            warn!(
                provider = self.protocol.name(),
                attempt,
                max_attempts,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "chat request failed; retrying"
            );
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(ChatError::Cancelled),
                _ = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: &ChatRequest,
        on_delta: DeltaSink<'_>,
        delivered: &mut bool,
    ) -> Result<ChatResponse, ChatError> {
        match self.config.timeouts.total {
            None => self.attempt_inner(request, on_delta, delivered).await,
            Some(limit) => {
                tokio::time::timeout(limit, self.attempt_inner(request, on_delta, delivered))
                    .await
                    .unwrap_or(Err(ChatError::Timeout {
                        provider: self.protocol.name(),
                        what: "total",
                        after: limit,
                    }))
            }
        }
    }

    async fn attempt_inner(
        &self,
        request: &ChatRequest,
        on_delta: DeltaSink<'_>,
        delivered: &mut bool,
    ) -> Result<ChatResponse, ChatError> {
        let url = self.protocol.url(&self.base_url, request);
        debug!(provider = self.protocol.name(), %url, model = %request.model, stream = request.stream, "sending chat request");
        let response = self
            .http
            .post(&url)
            .headers(self.protocol.headers(self.key.as_ref())?)
            .json(&self.protocol.body(request))
            .send()
            .await
            .map_err(|err| self.transport_error(&err, 0))?;

        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            let body = response.text().await.unwrap_or_default();
            let mut error = self.status_error(status, &body, retry_after);
            if let ChatError::Rejected {
                status: 400 | 422,
                hint,
                ..
            } = &mut error
                && request.response_schema.is_some()
                && mentions_the_schema(&body)
            {
                *hint = "the server may not accept the JSON Schema sent for structured output \
                         (response_format / responseSchema); set architect.plan-format: markdown in .aidx.yml";
            }
            return Err(error);
        }

        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let acc = if request.stream && is_event_stream {
            self.read_stream(response, on_delta, delivered).await?
        } else {
            // Non-streamed, or a server that ignored `stream: true` and sent one JSON body.
            let body = response
                .bytes()
                .await
                .map_err(|err| self.transport_error(&err, 0))?;
            let text = String::from_utf8_lossy(&body);
            let json = parse_json(self.protocol.name(), &text)?;
            let acc = self.protocol.parse_response(&json)?;
            if !acc.text.is_empty() {
                *delivered = true;
                on_delta(&acc.text);
            }
            acc
        };
        Ok(self.finish(acc))
    }

    async fn read_stream(
        &self,
        response: reqwest::Response,
        on_delta: DeltaSink<'_>,
        delivered: &mut bool,
    ) -> Result<Accumulated, ChatError> {
        let provider = self.protocol.name();
        let mut decoder = SseDecoder::new();
        let mut acc = Accumulated::default();
        let mut body = response.bytes_stream();
        'read: while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|err| self.transport_error(&err, acc.text.chars().count()))?;
            let events = decoder.feed(&chunk).map_err(|err| ChatError::Malformed {
                provider,
                detail: err.to_string(),
            })?;
            for event in events {
                let delta = self.protocol.on_event(&event, &mut acc)?;
                if !delta.is_empty() {
                    *delivered = true;
                    on_delta(&delta);
                    acc.text.push_str(&delta);
                }
                if acc.done {
                    break 'read;
                }
            }
        }
        if !self.protocol.stream_complete(&acc) {
            let detail = if decoder.has_partial_event() {
                format!("cut mid-event, {}", self.protocol.end_marker())
            } else {
                self.protocol.end_marker().to_string()
            };
            return Err(ChatError::StreamTruncated {
                provider,
                detail,
                received_chars: acc.text.chars().count(),
            });
        }
        Ok(acc)
    }

    fn finish(&self, acc: Accumulated) -> ChatResponse {
        let cost = acc.cost.or_else(|| {
            self.config
                .pricing
                .map(|p| p.cost(acc.usage.prompt_tokens, acc.usage.completion_tokens))
        });
        ChatResponse {
            text: acc.text,
            usage: acc.usage,
            cost,
            finish_reason: acc
                .finish
                .unwrap_or(FinishReason::Other("unspecified".into())),
            model: acc.model,
        }
    }

    fn redacted(&self, text: &str) -> String {
        match &self.key {
            Some(key) => key.redact(text).into_owned(),
            None => text.to_string(),
        }
    }

    fn status_error(
        &self,
        status: StatusCode,
        body: &str,
        retry_after: Option<Duration>,
    ) -> ChatError {
        let provider = self.protocol.name();
        let message = self.redacted(&error_message(body));
        let code = status.as_u16();
        match code {
            401 | 403 => ChatError::Unauthorized {
                provider,
                status: code,
                message,
                hint: match &self.config.api_key_env {
                    Some(var) => format!(
                        "check the API key in ${var} (named by api_key_env in .aidx.yml) and that it is valid for {}",
                        self.base_url
                    ),
                    None => "this endpoint needs an API key: set api_key_env in .aidx.yml to the name of the \
                             environment variable that holds it"
                        .to_string(),
                },
            },
            408 | 409 | 425 | 429 | 500..=599 => ChatError::Server { provider, status: code, message, retry_after },
            404 => ChatError::Rejected { provider, status: code, message, hint: "check base_url and model in .aidx.yml" },
            413 => ChatError::Rejected {
                provider,
                status: code,
                message,
                hint: "the request is too large for this provider; use a smaller repo map or a model with a larger context",
            },
            _ => ChatError::Rejected {
                provider,
                status: code,
                message,
                hint: "check model, max_tokens and temperature in .aidx.yml against the provider's limits",
            },
        }
    }

    fn transport_error(&self, err: &reqwest::Error, received_chars: usize) -> ChatError {
        let provider = self.protocol.name();
        let detail = self.redacted(&error_chain(err));
        if err.is_timeout() {
            let (what, after) = if err.is_connect() {
                ("connect", self.config.timeouts.connect)
            } else {
                ("read", self.config.timeouts.read)
            };
            return ChatError::Timeout {
                provider,
                what,
                after,
            };
        }
        if err.is_body() || err.is_decode() {
            return ChatError::StreamTruncated {
                provider,
                detail: excerpt(&detail, 300),
                received_chars,
            };
        }
        ChatError::Connect {
            provider,
            base_url: self.base_url.clone(),
            detail,
        }
    }
}

/// Whether an error body is about the structured-output schema (not, say, the context size).
fn mentions_the_schema(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    ["schema", "response_format", "grammar", "structured"]
        .iter()
        .any(|word| lower.contains(word))
}

/// `err` and its sources, joined (reqwest's own message alone hides the cause, e.g. "connection refused").
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl ChatClient for HttpChatClient {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
        on_delta: DeltaSink<'a>,
        cancel: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<ChatResponse, ChatError>> {
        Box::pin(self.send(request, on_delta, cancel))
    }

    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.key {
            Some(key) => key.redact(text),
            None => Cow::Borrowed(text),
        }
    }
}
