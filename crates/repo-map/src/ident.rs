//! Identifier handling: pulling identifiers out of a request and splitting camelCase/snake_case.

use std::collections::BTreeSet;

/// Words of a request that look like identifiers (`[A-Za-z_][A-Za-z0-9_]*`, at least two characters).
pub fn identifier_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if i - start >= 2 {
                out.push(&text[start..i]);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Splits an identifier into lowercase parts at `_`, `-` and camelCase boundaries:
/// `parseHTTPRequest_v2` → `["parse", "http", "request", "v2"]`.
pub fn split_identifier(ident: &str) -> Vec<String> {
    let chars: Vec<char> = ident.chars().collect();
    let mut parts = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' || !c.is_alphanumeric() {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower) {
                parts.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// What a request mentions, prepared for matching against identifiers.
#[derive(Debug, Default, Clone)]
pub struct Mentions {
    /// Identifier-looking words exactly as written, plus explicit `--mention` identifiers.
    pub exact: BTreeSet<String>,
    /// The same words normalised to `lower_snake` (so `parseConfig` matches `parse_config`).
    pub normalized: BTreeSet<String>,
    /// Every lowercase part of every word.
    pub parts: BTreeSet<String>,
}

impl Mentions {
    /// Collects the identifiers in `request` and the explicit `mentioned` ones.
    pub fn new(request: &str, mentioned: &[String]) -> Self {
        let mut m = Self::default();
        let words = identifier_words(request)
            .into_iter()
            .chain(mentioned.iter().map(String::as_str));
        for word in words {
            let parts = split_identifier(word);
            if parts.is_empty() {
                continue;
            }
            m.exact.insert(word.to_string());
            m.normalized.insert(parts.join("_"));
            m.parts.extend(parts);
        }
        m
    }

    /// Whether nothing was mentioned.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Whether `ident` is mentioned: by its exact name, by its normalised form, or (for identifiers of
    /// two or more parts of three letters or more) because every part of it appears in the request.
    pub fn matches(&self, ident: &str) -> bool {
        self.strength(ident).is_some()
    }

    /// How specifically `ident` is mentioned, or `None` when it is not. A name mentioned as written
    /// (or in another case style) scores its part count plus one; a name whose parts merely all
    /// occur among the mentioned words scores its part count. So mentioning
    /// `CloudStorageStreamWrapper` scores that name 5, and `CLOUD_STORAGE` or `StreamWrapper`
    /// (same words, less of them) 2.
    pub fn strength(&self, ident: &str) -> Option<u32> {
        let parts = split_identifier(ident);
        if self.exact.contains(ident) {
            return Some(parts.len() as u32 + 1);
        }
        if parts.is_empty() {
            return None;
        }
        if self.normalized.contains(&parts.join("_")) {
            return Some(parts.len() as u32 + 1);
        }
        (parts.len() >= 2 && parts.iter().all(|p| p.len() >= 3 && self.parts.contains(p)))
            .then_some(parts.len() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_camel_snake_and_acronyms() {
        assert_eq!(
            split_identifier("parseHTTPRequest_v2"),
            ["parse", "http", "request", "v2"]
        );
        assert_eq!(split_identifier("TokenCounter"), ["token", "counter"]);
        assert_eq!(split_identifier("__init__"), ["init"]);
        assert_eq!(split_identifier("MAX_FILE_BYTES"), ["max", "file", "bytes"]);
    }

    #[test]
    fn mentions_match_across_case_styles() {
        let m = Mentions::new("please fix parseConfig and the token counter", &[]);
        assert!(m.matches("parseConfig"));
        assert!(m.matches("parse_config"));
        assert!(m.matches("TokenCounter"));
        assert!(
            m.matches("Token"),
            "a single request word matches a one-part identifier"
        );
        assert!(!m.matches("TokenBudget"), "every part must be mentioned");
        assert!(!m.matches("render"));
    }

    #[test]
    fn a_name_mentioned_as_written_is_stronger_than_one_sharing_its_words() {
        let m = Mentions::new("", &["CloudStorageStreamWrapper".to_string()]);
        assert_eq!(m.strength("CloudStorageStreamWrapper"), Some(5));
        assert_eq!(m.strength("cloud_storage_stream_wrapper"), Some(5));
        assert_eq!(m.strength("CLOUD_STORAGE"), Some(2));
        assert_eq!(m.strength("StreamWrapper"), Some(2));
        assert_eq!(m.strength("Wrapper"), None);
        assert_eq!(m.strength("StorageBucket"), None);
    }
}
