//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aidx_architect::{ApiKey, HttpChatClient, Provider, ProviderConfig, RetryPolicy, Timeouts};

/// A retry policy with millisecond waits so tests stay fast.
pub fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        multiplier: 2.0,
        max_backoff: Duration::from_millis(50),
        jitter: 0.5,
        max_retry_after: Duration::from_secs(5),
    }
}

/// A config for `provider` at `base_url` with fast retries and short timeouts.
pub fn config(provider: Provider, base_url: &str) -> ProviderConfig {
    let mut config = ProviderConfig::new(provider, "test-model").with_base_url(base_url);
    config.retry = fast_retry(3);
    config.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_secs(5),
        total: None,
    };
    config
}

/// A client with an explicit key.
pub fn client(config: ProviderConfig, key: Option<&str>) -> HttpChatClient {
    HttpChatClient::with_api_key(config, key.map(ApiKey::new)).expect("client builds")
}

/// Collects streamed deltas.
#[derive(Clone, Default)]
pub struct Deltas(pub Arc<Mutex<Vec<String>>>);

impl Deltas {
    pub fn sink(&self) -> impl FnMut(&str) + Send + 'static {
        let store = self.0.clone();
        move |delta: &str| store.lock().unwrap().push(delta.to_string())
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn joined(&self) -> String {
        self.all().concat()
    }
}

/// Builds an SSE body from `data:` payloads (each followed by a blank line).
pub fn sse(events: &[&str]) -> String {
    events
        .iter()
        .map(|data| format!("data: {data}\n\n"))
        .collect()
}

/// Builds an SSE body from `(event, data)` pairs, Anthropic style.
pub fn named_sse(events: &[(&str, &str)]) -> String {
    events
        .iter()
        .map(|(event, data)| format!("event: {event}\ndata: {data}\n\n"))
        .collect()
}
