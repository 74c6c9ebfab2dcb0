//! Typed configuration values and their parsing from YAML scalars.

use std::fmt;

use super::schema::{Kind, PROVIDERS};

/// A validated configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A non-negative integer.
    Count(u64),
    /// A boolean.
    Bool(bool),
    /// Free text.
    Text(String),
    /// A path as written (use [`expand_home`] to resolve `~`).
    Path(String),
    /// A size in bytes, with the text it was written as.
    Size { bytes: u64, written: String },
    /// A float.
    Float(f64),
    /// One word out of a fixed set.
    Word(String),
    /// A list of strings.
    List(Vec<String>),
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Count(n) => write!(f, "{n}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Text(s) | ConfigValue::Path(s) | ConfigValue::Word(s) => {
                write!(f, "{s}")
            }
            ConfigValue::Size { written, .. } => write!(f, "{written}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::List(items) => write!(f, "[{}]", items.join("; ")),
        }
    }
}

impl ConfigValue {
    /// The value as JSON for `aidx config --json`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ConfigValue::Count(n) => (*n).into(),
            ConfigValue::Bool(b) => (*b).into(),
            ConfigValue::Size { bytes, .. } => (*bytes).into(),
            ConfigValue::Float(x) => serde_json::Number::from_f64(*x)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            ConfigValue::List(items) => items.clone().into(),
            other => other.to_string().into(),
        }
    }
}

/// Checks a YAML scalar against `kind`; the error says what was expected.
pub fn parse_value(kind: Kind, value: &serde_norway::Value) -> Result<ConfigValue, String> {
    use serde_norway::Value as Y;
    let shown = describe(value);
    match kind {
        Kind::Count => match value {
            Y::Number(n) if n.as_u64().is_some() => Ok(ConfigValue::Count(n.as_u64().unwrap_or(0))),
            _ => Err(format!(
                "expected a whole number of tokens/items (e.g. 2048), found {shown}"
            )),
        },
        Kind::Bool => match value {
            Y::Bool(b) => Ok(ConfigValue::Bool(*b)),
            _ => Err(format!("expected true or false, found {shown}")),
        },
        Kind::Text => match value {
            Y::String(s) if !s.trim().is_empty() => Ok(ConfigValue::Text(s.clone())),
            Y::Number(n) => Ok(ConfigValue::Text(n.to_string())),
            _ => Err(format!("expected a non-empty string, found {shown}")),
        },
        Kind::Path => match value {
            Y::String(s) if !s.trim().is_empty() => Ok(ConfigValue::Path(s.clone())),
            _ => Err(format!("expected a path, found {shown}")),
        },
        Kind::Size => {
            let written = match value {
                Y::Number(n) => n.to_string(),
                Y::String(s) => s.clone(),
                _ => return Err(format!("expected a size such as 12GiB, found {shown}")),
            };
            parse_size(&written).map(|bytes| ConfigValue::Size { bytes, written })
        }
        Kind::Float { min, max } => {
            let x = match value {
                Y::Number(n) => n.as_f64(),
                _ => None,
            };
            match x {
                Some(x) if (min..=max).contains(&x) => Ok(ConfigValue::Float(x)),
                Some(x) => Err(format!(
                    "{x} is out of range; use a number from {min} to {max}"
                )),
                None => Err(format!(
                    "expected a number from {min} to {max}, found {shown}"
                )),
            }
        }
        Kind::OneOf(words) => word(value, words, &shown),
        Kind::Provider => word(value, PROVIDERS, &shown),
        Kind::TextList => {
            let items: Option<Vec<String>> = match value {
                Y::String(s) => Some(vec![s.clone()]),
                Y::Sequence(items) => items
                    .iter()
                    .map(|item| match item {
                        Y::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            match items {
                Some(items) if items.iter().all(|i| !i.trim().is_empty()) => {
                    Ok(ConfigValue::List(items))
                }
                _ => Err(format!(
                    "expected a list of non-empty strings (e.g. [\"no TODO placeholders\"]), found {shown}"
                )),
            }
        }
    }
}

fn word(value: &serde_norway::Value, words: &[&str], shown: &str) -> Result<ConfigValue, String> {
    if let serde_norway::Value::String(s) = value {
        if words.contains(&s.as_str()) {
            return Ok(ConfigValue::Word(s.clone()));
        }
        let mut msg = format!("`{s}` is not one of {}", words.join(", "));
        if let Some(best) = closest(s, words.iter().copied()) {
            msg.push_str(&format!("; did you mean `{best}`?"));
        }
        return Err(msg);
    }
    Err(format!(
        "expected one of {}, found {shown}",
        words.join(", ")
    ))
}

/// A short description of a YAML value for error messages.
pub fn describe(value: &serde_norway::Value) -> String {
    use serde_norway::Value as Y;
    match value {
        Y::Null => "nothing (null)".into(),
        Y::Bool(b) => format!("the boolean {b}"),
        Y::Number(n) => format!("the number {n}"),
        Y::String(s) => format!("the string \"{s}\""),
        Y::Sequence(_) => "a list".into(),
        Y::Mapping(_) => "a mapping".into(),
        Y::Tagged(_) => "a tagged value".into(),
    }
}

/// Parses a byte size: `12GiB`, `12 GiB`, `1.5GiB`, `8GB` (decimal), `512MiB`, `4096` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size; write a number and a unit, e.g. 12GiB or 512MiB")
    })?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        "t" | "tib" => 1024.0f64.powi(4),
        "tb" => 1e12,
        other => {
            return Err(format!(
                "`{other}` is not a size unit in `{text}`; use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)"
            ));
        }
    };
    let bytes = number * multiplier;
    if !bytes.is_finite() || bytes <= 0.0 || bytes > 1e18 {
        return Err(format!(
            "`{text}` is not a usable size; give a positive size such as 12GiB"
        ));
    }
    Ok(bytes.round() as u64)
}

/// The candidate closest to `wanted`, if it is close enough to be a likely typo.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wanted, c), c))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Expands a leading `~/` to the user's home directory.
pub fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("12GiB").unwrap(), 12 * 1024 * 1024 * 1024);
        assert_eq!(parse_size("12 GiB").unwrap(), 12 * 1024 * 1024 * 1024);
        assert_eq!(parse_size("8GB").unwrap(), 8_000_000_000);
        assert_eq!(parse_size("1.5GiB").unwrap(), 1_610_612_736);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(
            parse_size("12 parsecs")
                .unwrap_err()
                .contains("not a size unit")
        );
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("0GiB").is_err());
    }

    #[test]
    fn closest_suggests_only_near_names() {
        assert_eq!(closest("edtor", ["editor", "architect"]), Some("editor"));
        assert_eq!(closest("zzz", ["editor", "architect"]), None);
    }
}
