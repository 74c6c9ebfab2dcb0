//! A redacting wrapper for API keys.

use std::borrow::Cow;
use std::fmt;

/// Text shown wherever a secret would otherwise be printed.
pub const REDACTED: &str = "[REDACTED]";

/// An API key. Its value is reachable only through [`ApiKey::expose`]; `Debug` and `Display` print
/// `[REDACTED]`, so the key cannot leak through `{:?}` on a config, an error or a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key itself, for the one place that needs it: the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the key in `text` with `[REDACTED]` (for provider error bodies that echo it).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // Very short keys would redact ordinary words; real keys are long.
        if self.0.len() >= 8 && text.contains(&self.0) {
            Cow::Owned(text.replace(&self.0, REDACTED))
        } else {
            Cow::Borrowed(text)
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({REDACTED})")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let key = ApiKey::new("sk-very-secret-value");
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert_eq!(key.to_string(), "[REDACTED]");
        assert_eq!(key.expose(), "sk-very-secret-value");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let key = ApiKey::new("sk-very-secret-value");
        let text = "bad key sk-very-secret-value (sk-very-secret-value)";
        assert_eq!(key.redact(text), "bad key [REDACTED] ([REDACTED])");
        assert_eq!(key.redact("nothing here"), "nothing here");
    }
}
