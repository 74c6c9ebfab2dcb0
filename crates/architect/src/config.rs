//! Provider configuration: which wire protocol, where, which model, and how patient to be.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::retry::RetryPolicy;

/// The wire protocol a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// OpenAI Chat Completions (`{base_url}/chat/completions`): OpenAI, DeepSeek, OpenRouter, Gemini's OpenAI
    /// endpoint, llama.cpp server, vLLM, ollama, mistral.rs server.
    #[serde(alias = "openai", alias = "openai-compatible")]
    OpenAiCompatible,
    /// Anthropic Messages API (`{base_url}/v1/messages`).
    Anthropic,
    /// Google Gemini `generateContent` / `streamGenerateContent` (`{base_url}/models/{model}:...`).
    Gemini,
}

impl Provider {
    /// The base URL used when the config leaves it empty.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Provider::OpenAiCompatible => "https://api.openai.com/v1",
            Provider::Anthropic => "https://api.anthropic.com",
            Provider::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        }
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Provider::OpenAiCompatible => "openai-compatible",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
        }
    }
}

/// Network timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Time allowed to establish the TCP (and TLS) connection.
    pub connect: Duration,
    /// Longest silence allowed between two reads of the response; a stalled stream fails after this.
    pub read: Duration,
    /// Optional cap on one whole attempt, headers to last byte. `None` lets a long stream run as long as bytes flow.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(300),
            total: None,
        }
    }
}

/// Prices used to compute a cost when the provider does not report one, in currency units per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pricing {
    /// Price per million prompt (input) tokens.
    pub input_per_million: f64,
    /// Price per million completion (output) tokens.
    pub output_per_million: f64,
}

impl Pricing {
    /// The cost of `prompt_tokens` in and `completion_tokens` out.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_million
            + completion_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Everything needed to build a client for one provider. agent-core maps `.aidx.yml` onto this.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderConfig {
    /// Wire protocol.
    pub provider: Provider,
    /// Model name as the provider spells it (e.g. `gpt-4o`, `claude-sonnet-4-5`, `gemini-2.5-pro`).
    pub model: String,
    /// Base URL; `None` uses [`Provider::default_base_url`]. For OpenAI-compatible servers it includes `/v1`.
    pub base_url: Option<String>,
    /// Name of the environment variable that holds the API key; `None` sends no key (local servers).
    pub api_key_env: Option<String>,
    /// Network timeouts.
    pub timeouts: Timeouts,
    /// Retry and backoff policy.
    pub retry: RetryPolicy,
    /// Prices for computing a cost when the provider reports none.
    pub pricing: Option<Pricing>,
}

impl ProviderConfig {
    /// A config with default timeouts, retry policy and base URL.
    pub fn new(provider: Provider, model: impl Into<String>) -> Self {
        Self {
            provider,
            model: model.into(),
            base_url: None,
            api_key_env: None,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            pricing: None,
        }
    }

    /// Sets the base URL.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Sets the name of the environment variable holding the API key.
    pub fn with_api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }

    /// The base URL in effect, without a trailing slash.
    pub fn effective_base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or(self.provider.default_base_url())
            .trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_deserialize_with_aliases() {
        let parse = |text: &str| serde_json::from_str::<Provider>(text).unwrap();
        assert_eq!(parse("\"openai-compatible\""), Provider::OpenAiCompatible);
        assert_eq!(parse("\"openai\""), Provider::OpenAiCompatible);
        assert_eq!(parse("\"anthropic\""), Provider::Anthropic);
        assert_eq!(parse("\"gemini\""), Provider::Gemini);
        assert!(serde_json::from_str::<Provider>("\"claude\"").is_err());
    }

    #[test]
    fn base_url_defaults_and_trailing_slashes() {
        let config = ProviderConfig::new(Provider::Anthropic, "m");
        assert_eq!(config.effective_base_url(), "https://api.anthropic.com");
        let config = config.with_base_url("http://127.0.0.1:8080/v1/");
        assert_eq!(config.effective_base_url(), "http://127.0.0.1:8080/v1");
        let config = ProviderConfig::new(Provider::Gemini, "m").with_base_url("  ");
        assert_eq!(
            config.effective_base_url(),
            "https://generativelanguage.googleapis.com/v1beta"
        );
    }

    #[test]
    fn pricing_is_per_million_tokens() {
        let pricing = Pricing {
            input_per_million: 3.0,
            output_per_million: 15.0,
        };
        assert!((pricing.cost(2_000, 1_000) - 0.021).abs() < 1e-12);
    }
}
