//! Errors from chat clients. Messages say what to fix; none of them contains an API key.

use std::time::Duration;

/// What went wrong with a chat request.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The environment variable named by `api_key_env` is unset or empty.
    #[error(
        "environment variable {var} is not set or empty; export it with your {provider} API key \
         (api_key_env in .aidx.yml names it)"
    )]
    MissingApiKey {
        /// Variable name.
        var: String,
        /// Provider name.
        provider: &'static str,
    },

    /// The configuration cannot produce a working client.
    #[error("invalid {provider} configuration: {detail}")]
    InvalidConfig {
        /// Provider name.
        provider: &'static str,
        /// What is wrong and how to fix it.
        detail: String,
    },

    /// 401/403: the key was refused. Not retried.
    #[error("{provider} refused the credentials (HTTP {status}): {message}; {hint}")]
    Unauthorized {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// The provider's message (key redacted).
        message: String,
        /// Which setting to fix.
        hint: String,
    },

    /// A 4xx that cannot succeed on retry (400, 404, 413, 422, ...). Not retried.
    #[error("{provider} rejected the request (HTTP {status}): {message}; {hint}")]
    Rejected {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// The provider's message (key redacted).
        message: String,
        /// Which setting to check.
        hint: &'static str,
    },

    /// 429 or 5xx (retried while the policy allows).
    #[error("{provider} answered HTTP {status}: {message}")]
    Server {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// The provider's message (key redacted).
        message: String,
        /// The `Retry-After` the server asked for, if any.
        retry_after: Option<Duration>,
    },

    /// The server asked to wait longer than the policy allows.
    #[error(
        "{provider} is rate limiting (HTTP {status}) and asked to retry after {}s, longer than the \
         {}s this client waits; try again later or raise retry.max_retry_after", retry_after.as_secs(), limit.as_secs()
    )]
    RateLimited {
        /// Provider name.
        provider: &'static str,
        /// HTTP status.
        status: u16,
        /// Requested wait.
        retry_after: Duration,
        /// The policy's cap.
        limit: Duration,
    },

    /// Could not connect, or the connection broke before the reply started.
    #[error("cannot reach {provider} at {base_url}: {detail}; check base_url and the network")]
    Connect {
        /// Provider name.
        provider: &'static str,
        /// Base URL (never contains the key).
        base_url: String,
        /// Transport detail.
        detail: String,
    },

    /// A connect, read or total timeout fired.
    #[error("{provider} timed out ({what} after {}s); raise the timeout or check the server", after.as_secs_f32())]
    Timeout {
        /// Provider name.
        provider: &'static str,
        /// Which timeout.
        what: &'static str,
        /// Its length.
        after: Duration,
    },

    /// The stream ended (or the connection dropped) before the provider signalled completion.
    #[error(
        "{provider} stream ended before completion ({detail}) after {received_chars} characters; \
         the reply is incomplete and was discarded"
    )]
    StreamTruncated {
        /// Provider name.
        provider: &'static str,
        /// What was missing.
        detail: String,
        /// Characters of text received before the cut.
        received_chars: usize,
    },

    /// The body or an event is not what the protocol says.
    #[error("malformed {provider} response: {detail}")]
    Malformed {
        /// Provider name.
        provider: &'static str,
        /// What could not be parsed (a short excerpt).
        detail: String,
    },

    /// The provider reported an error inside a 200 response or stream.
    #[error("{provider} reported an error: {message}")]
    Provider {
        /// Provider name.
        provider: &'static str,
        /// The provider's message (key redacted).
        message: String,
        /// Whether the provider marks it as transient (overloaded, rate limited).
        transient: bool,
    },

    /// Every attempt failed; `last` is the final failure.
    #[error("giving up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: Box<ChatError>,
    },

    /// The caller cancelled (Ctrl-C).
    #[error("request cancelled")]
    Cancelled,
}

impl ChatError {
    /// Whether trying again may succeed (429, 5xx, connection failures and resets, transient provider errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            // A stream that broke is retried only while no text reached the caller (see HttpChatClient::send).
            ChatError::Server { .. }
            | ChatError::Connect { .. }
            | ChatError::StreamTruncated { .. } => true,
            ChatError::Timeout { what, .. } => *what != "total",
            ChatError::Provider { transient, .. } => *transient,
            _ => false,
        }
    }

    /// The `Retry-After` delay the server asked for, if this error carries one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ChatError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
