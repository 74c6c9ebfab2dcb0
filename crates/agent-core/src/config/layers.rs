//! Reading one configuration layer (a YAML file, the environment, or command-line settings)
//! into validated entries that remember where they came from.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrors};
use super::schema::{self, ROLES};
use super::value::{ConfigValue, closest, describe, parse_value};

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A YAML file, at a 1-based line when it could be located.
    File { path: PathBuf, line: Option<usize> },
    /// An `AIDX_*` environment variable.
    Env { var: String },
    /// A command-line flag.
    Flag { flag: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File {
                path,
                line: Some(l),
            } => write!(f, "{}:{l}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Env { var } => write!(f, "env {var}"),
            Origin::Flag { flag } => write!(f, "flag {flag}"),
        }
    }
}

/// One validated setting from one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Dotted key path.
    pub path: String,
    /// The validated value.
    pub value: ConfigValue,
    /// Where it came from.
    pub origin: Origin,
}

/// Reads and validates a YAML configuration file. All problems in the file are reported together.
pub fn read_file(path: &Path) -> Result<Vec<Entry>, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors::one(ConfigError {
            source_name: path.display().to_string(),
            line: None,
            key: String::new(),
            message: format!("cannot read the file: {e}"),
            hint: None,
        })
    })?;
    parse_text(&text, path)
}

/// Validates YAML text as if it were the file at `path`.
pub fn parse_text(text: &str, path: &Path) -> Result<Vec<Entry>, ConfigErrors> {
    let file = path.display().to_string();
    let doc: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        ConfigErrors::one(ConfigError {
            source_name: file.clone(),
            line: e.location().map(|l| l.line()),
            key: String::new(),
            message: format!("this is not valid YAML: {e}"),
            hint: Some("check indentation and `key: value` pairs".into()),
        })
    })?;
    let mut walker = Walker {
        text,
        path,
        entries: Vec::new(),
        errors: Vec::new(),
    };
    match &doc {
        serde_norway::Value::Null => {}
        serde_norway::Value::Mapping(map) => walker.walk("", map),
        other => walker.errors.push(ConfigError {
            source_name: file,
            line: Some(1),
            key: String::new(),
            message: format!(
                "the file must be a mapping of keys, found {}",
                describe(other)
            ),
            hint: Some("start with a key such as `max-chat-history-tokens: 2048`".into()),
        }),
    }
    if walker.errors.is_empty() {
        Ok(walker.entries)
    } else {
        Err(ConfigErrors(walker.errors))
    }
}

struct Walker<'a> {
    text: &'a str,
    path: &'a Path,
    entries: Vec<Entry>,
    errors: Vec<ConfigError>,
}

impl Walker<'_> {
    fn walk(&mut self, group: &str, map: &serde_norway::Mapping) {
        let children = schema::children_of(group);
        for (key, value) in map {
            let Some(key) = key.as_str() else {
                self.error(
                    group,
                    format!("keys must be strings, found {}", describe(key)),
                    None,
                );
                continue;
            };
            let full = if group.is_empty() {
                key.to_string()
            } else {
                format!("{group}.{key}")
            };
            if !children.iter().any(|c| c == key) {
                let hint = unknown_key_hint(group, key, &children);
                self.error(&full, "unknown key".into(), hint);
                continue;
            }
            if schema::is_group(&full) {
                match value {
                    serde_norway::Value::Mapping(inner) => self.walk(&full, inner),
                    serde_norway::Value::Null => {}
                    other => {
                        let keys = schema::children_of(&full).join(", ");
                        self.error(
                            &full,
                            format!("expected a mapping, found {}", describe(other)),
                            Some(format!("write it as `{key}: {{ ... }}` with keys: {keys}")),
                        );
                    }
                }
                continue;
            }
            let Some(spec) = schema::lookup(&full) else {
                continue;
            };
            match parse_value(spec.kind, value) {
                Ok(value) => {
                    let line = find_key_line(self.text, &full);
                    self.entries.push(Entry {
                        path: full,
                        value,
                        origin: Origin::File {
                            path: self.path.to_path_buf(),
                            line,
                        },
                    })
                }
                Err(message) => self.error(&full, message, Some(spec.doc.to_string())),
            }
        }
    }

    fn error(&mut self, key: &str, message: String, hint: Option<String>) {
        self.errors.push(ConfigError {
            source_name: self.path.display().to_string(),
            line: find_key_line(self.text, key),
            key: key.to_string(),
            message,
            hint,
        });
    }
}

fn unknown_key_hint(group: &str, key: &str, children: &[String]) -> Option<String> {
    if key == "api-key" && ROLES.contains(&group) {
        return Some(
            "never put an API key in the config; export it and name the variable with `api-key-env: MY_KEY_VAR`".into(),
        );
    }
    let qualify = |name: &str| {
        if group.is_empty() {
            name.to_string()
        } else {
            format!("{group}.{name}")
        }
    };
    if let Some(best) = closest(key, children.iter().map(String::as_str)) {
        return Some(format!("did you mean `{}`?", qualify(best)));
    }
    // The key may belong to another group (`vram` at the top level means `gpu.vram`).
    let elsewhere = schema::all_paths()
        .into_iter()
        .find(|p| p.rsplit('.').next() == Some(key));
    if let Some(path) = elsewhere {
        return Some(format!("did you mean `{path}`?"));
    }
    Some(format!("valid keys here: {}", children.join(", ")))
}

/// Finds the 1-based line where the dotted `path` is written, following its parents in order.
/// Works for block and flow style (`gpu: { vram: 12GiB }`).
pub fn find_key_line(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut found = None;
    for segment in path.split('.') {
        let hit = (start..lines.len()).find(|&i| line_has_key(lines[i], segment))?;
        found = Some(hit + 1);
        start = hit;
    }
    found
}

fn line_has_key(line: &str, key: &str) -> bool {
    // An empty segment (`.model`, `editor..model`) matches nowhere; searching for it would find
    // it at every position without moving on.
    if key.is_empty() {
        return false;
    }
    let code = line.split(" #").next().unwrap_or(line);
    let mut from = 0;
    while let Some(pos) = code[from..].find(key) {
        let at = from + pos;
        let before_ok = code[..at]
            .chars()
            .last()
            .is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '-' && at == 0);
        let after = code[at + key.len()..].trim_start();
        let quoted_before = code[..at].ends_with('"') || code[..at].ends_with('\'');
        if (before_ok || quoted_before) && (after.starts_with(':') || after.starts_with("\":")) {
            return true;
        }
        from = at + key.len();
    }
    false
}

/// Reads `AIDX_*` variables that name configuration keys (e.g. `AIDX_EDITOR_MODEL` → `editor.model`).
pub fn read_env(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Entry>, ConfigErrors> {
    let by_var: Vec<(String, String)> = schema::all_paths()
        .into_iter()
        .map(|p| (env_name(&p), p))
        .collect();
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (var, raw) in vars {
        let Some((_, path)) = by_var.iter().find(|(v, _)| *v == var) else {
            continue;
        };
        match scalar_setting(path, &raw) {
            Ok(value) => entries.push(Entry {
                path: path.clone(),
                value,
                origin: Origin::Env { var: var.clone() },
            }),
            Err((message, hint)) => errors.push(ConfigError {
                source_name: format!("environment variable {var}"),
                line: None,
                key: path.clone(),
                message,
                hint,
            }),
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The environment variable for a dotted key path.
pub fn env_name(path: &str) -> String {
    let mut name = String::from("AIDX_");
    for ch in path.chars() {
        name.push(match ch {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        });
    }
    name
}

/// Reads command-line settings: `(key, value, flag)` triples such as
/// `("editor.model", "x.gguf", "--set editor.model=x.gguf")`.
pub fn read_flags(settings: &[(String, String, String)]) -> Result<Vec<Entry>, ConfigErrors> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (key, raw, flag) in settings {
        match scalar_setting(key, raw) {
            Ok(value) => entries.push(Entry {
                path: key.clone(),
                value,
                origin: Origin::Flag { flag: flag.clone() },
            }),
            Err((message, hint)) => errors.push(ConfigError {
                source_name: format!("command line ({flag})"),
                line: None,
                key: key.clone(),
                message,
                hint,
            }),
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Validates one `key = text` setting, parsing the text as a YAML scalar where the key is typed.
fn scalar_setting(path: &str, raw: &str) -> Result<ConfigValue, (String, Option<String>)> {
    let Some(spec) = schema::lookup(path) else {
        let all = schema::all_paths();
        let hint = closest(path, all.iter().map(String::as_str))
            .map(|b| format!("did you mean `{b}`?"))
            .or_else(|| Some("run `aidx config` to list the keys".into()));
        return Err(("unknown key".into(), hint));
    };
    let value = match spec.kind {
        schema::Kind::Text | schema::Kind::Path => serde_norway::Value::String(raw.to_string()),
        _ => serde_norway::from_str(raw).unwrap_or(serde_norway::Value::String(raw.to_string())),
    };
    parse_value(spec.kind, &value).map_err(|m| (m, Some(spec.doc.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_follow_parents_in_block_and_flow_style() {
        let text =
            "map-tokens: 1\neditor:\n  provider: embedded\n  model: x\narchitect: { model: y }\n";
        assert_eq!(find_key_line(text, "map-tokens"), Some(1));
        assert_eq!(find_key_line(text, "editor.model"), Some(4));
        assert_eq!(find_key_line(text, "architect.model"), Some(5));
        assert_eq!(find_key_line(text, "gpu.vram"), None);
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("editor.kv-type"), "AIDX_EDITOR_KV_TYPE");
        assert_eq!(
            env_name("max-chat-history-tokens"),
            "AIDX_MAX_CHAT_HISTORY_TOKENS"
        );
    }
}
