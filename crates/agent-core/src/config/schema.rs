//! The one table of every `.aidx.yml` key: its type, default and meaning.
//!
//! Validation, defaults, environment-variable names, `aidx config` output and the shipped,
//! commented `.aidx.yml` are all checked against this table, so a key exists in exactly one place.

/// The type a configuration value must have.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A non-negative integer.
    Count,
    /// `true` or `false`.
    Bool,
    /// Any string (commands, model names, URLs).
    Text,
    /// A filesystem path; a leading `~/` is expanded to the home directory.
    Path,
    /// A byte size such as `12GiB`, `512MiB`, `8GB` or a plain number of bytes.
    Size,
    /// A float between the given bounds.
    Float { min: f64, max: f64 },
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A role's provider.
    Provider,
    /// A list of non-empty strings (a single string is a list of one).
    TextList,
}

/// The providers a role may use.
pub const PROVIDERS: &[&str] = &["embedded", "openai-compatible", "anthropic", "gemini"];

/// KV cache element types the embedded engine and the budget understand.
pub const KV_TYPES: &[&str] = &["f16", "q8_0", "q4_0"];

/// Embedded engines (`editor.engine`).
pub const ENGINES: &[&str] = &["auto", "llama-cpp", "mistralrs"];

/// Edit formats the Editor can be asked for.
pub const EDIT_FORMATS: &[&str] = &["search-replace", "whole"];

/// How the Architect asks for the plan.
pub const PLAN_FORMATS: &[&str] = &["auto", "markdown", "json-schema"];

/// What happens when chat history exceeds the gate.
pub const OVERFLOW_POLICIES: &[&str] = &["trim", "summarize"];

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Dotted path, kebab-case segments, e.g. `editor.kv-type`.
    pub path: &'static str,
    /// The value's type.
    pub kind: Kind,
    /// Default as YAML text, or `None` when unset by default.
    pub default: Option<&'static str>,
    /// One line that explains the key.
    pub doc: &'static str,
}

/// The key groups that are roles; each accepts the [`ROLE_FIELDS`].
pub const ROLES: &[&str] = &[
    "architect",
    "editor",
    "researcher.router",
    "verifier",
    "preflight",
];

/// Fields every role accepts, with their kinds and docs (defaults are per role, in [`KEYS`]).
pub const ROLE_FIELDS: &[(&str, Kind, &str)] = &[
    (
        "provider",
        Kind::Provider,
        "embedded | openai-compatible | anthropic | gemini",
    ),
    (
        "model",
        Kind::Text,
        "model name for a server, or a GGUF path / known model id for embedded",
    ),
    (
        "base-url",
        Kind::Text,
        "server URL for openai-compatible/anthropic/gemini (e.g. http://127.0.0.1:8080/v1)",
    ),
    (
        "api-key-env",
        Kind::Text,
        "NAME of the environment variable that holds the API key (never the key itself)",
    ),
    (
        "max-tokens",
        Kind::Count,
        "most tokens the role may generate per reply",
    ),
    (
        "temperature",
        Kind::Float { min: 0.0, max: 2.0 },
        "sampling temperature; 0 is greedy",
    ),
    (
        "timeout-secs",
        Kind::Count,
        "read timeout for a remote provider, seconds",
    ),
    (
        "kv-type",
        Kind::OneOf(KV_TYPES),
        "KV cache element type for the embedded engine: f16 | q8_0 | q4_0",
    ),
    (
        "context",
        Kind::Count,
        "context window to run the model with (tokens); default: the largest the budget allows",
    ),
    (
        "engine",
        Kind::OneOf(ENGINES),
        "embedded engine: auto (llama-cpp on the CPU; on a GPU mistralrs, or llama-cpp when mistralrs cannot hold the model whole) | llama-cpp | mistralrs",
    ),
    (
        "threads",
        Kind::Count,
        "CPU threads for the embedded engine; default: every core",
    ),
    (
        "edit-format",
        Kind::OneOf(EDIT_FORMATS),
        "search-replace (default) or whole (fallback for weak models)",
    ),
    (
        "plan-format",
        Kind::OneOf(PLAN_FORMATS),
        "how the architect returns the plan: json-schema (structured output the server enforces) | markdown | \
         auto (json-schema for openai-compatible and gemini, markdown for anthropic)",
    ),
];

/// Every key that is not a role field.
pub const KEYS: &[KeySpec] = &[
    KeySpec {
        path: "max-chat-history-tokens",
        kind: Kind::Count,
        default: Some("2048"),
        doc: "the context gate: chat history sent to any role never exceeds this many tokens",
    },
    KeySpec {
        path: "history-overflow",
        kind: Kind::OneOf(OVERFLOW_POLICIES),
        default: Some("trim"),
        doc: "what to do above the gate: trim (oldest first) or summarize (with the editor role)",
    },
    KeySpec {
        path: "map-tokens",
        kind: Kind::Count,
        default: Some("1024"),
        doc: "hard cap on the repo map's size in tokens",
    },
    KeySpec {
        path: "map-max-file-bytes",
        kind: Kind::Size,
        default: Some("1MiB"),
        doc: "files larger than this are left out of the repo map",
    },
    KeySpec {
        path: "gpu.vram",
        kind: Kind::Size,
        default: None,
        doc: "device memory for the VRAM budget, e.g. 12GiB; unset = the GPU's free memory in a GPU build, system RAM otherwise",
    },
    KeySpec {
        path: "gpu.layers",
        kind: Kind::Count,
        default: None,
        doc: "layers to keep on the GPU (llama.cpp's n_gpu_layers: blocks + the output layer; 0 = CPU); unset = as many as the budget allows. A `--features cuda`/`metal` build only",
    },
    KeySpec {
        path: "plan-file",
        kind: Kind::Path,
        default: Some("artifacts/plan.md"),
        doc: "where the Architect's plan is written, relative to the git root",
    },
    KeySpec {
        path: "max-reflections",
        kind: Kind::Count,
        default: Some("3"),
        doc: "how many times failed edits go back to the Editor",
    },
    KeySpec {
        path: "verifier.rules",
        kind: Kind::TextList,
        default: None,
        doc: "rules the verifier model checks each change against, e.g. [\"no TODO placeholders\", \"do not delete tests\"]",
    },
    KeySpec {
        path: "syntax-check",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "send an edit back to the Editor when it adds tree-sitter syntax errors to a file (C/C++: report only; false: land it and let lint-cmd judge)",
    },
    KeySpec {
        path: "verify.deleted-definitions",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "send an edit back to the Editor when it deletes a definition plan.md does not name (tree-sitter tags, no model)",
    },
    KeySpec {
        path: "verify.duplicate-definitions",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "send an edit back when it defines a name more times than the file did (methods excluded)",
    },
    KeySpec {
        path: "verify.signature-changes",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "send an edit back when it changes a public definition's signature that plan.md does not name",
    },
    KeySpec {
        path: "auto-lint",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "when lint-cmd fails, take the edits back and send the output to the Editor (within max-reflections)",
    },
    KeySpec {
        path: "auto-test",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "when test-cmd fails, take the edits back and send the output to the Editor (within max-reflections)",
    },
    KeySpec {
        path: "fully-local",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "when no architect is configured or reachable, let the local editor model plan",
    },
    KeySpec {
        path: "git.auto-commits",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "commit applied edits; false leaves them staged for review",
    },
    KeySpec {
        path: "git.dirty-commits",
        kind: Kind::Bool,
        default: Some("true"),
        doc: "commit your own uncommitted changes to a file before aidx edits it (false: stop instead)",
    },
    KeySpec {
        path: "lint-cmd",
        kind: Kind::Text,
        default: None,
        doc: "command run after edits are applied (e.g. cargo clippy)",
    },
    KeySpec {
        path: "test-cmd",
        kind: Kind::Text,
        default: None,
        doc: "test command run after edits are applied (e.g. cargo test)",
    },
    KeySpec {
        path: "models-dir",
        kind: Kind::Path,
        default: Some("~/.cache/aidx/models"),
        doc: "where `aidx model pull` keeps GGUF files",
    },
];

/// Default values of role fields, per role (anything not listed is unset).
pub const ROLE_DEFAULTS: &[(&str, &str)] = &[
    ("editor.provider", "embedded"),
    ("editor.model", "smollm2-135m-instruct"),
    ("editor.kv-type", "f16"),
    ("editor.engine", "auto"),
    ("editor.temperature", "0"),
    ("editor.max-tokens", "512"),
    ("editor.edit-format", "search-replace"),
    ("architect.max-tokens", "2048"),
    ("architect.temperature", "0.2"),
    ("architect.timeout-secs", "120"),
    ("architect.plan-format", "auto"),
];

/// A key as found in the table: either a plain key or a role field.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    /// The full dotted path.
    pub path: String,
    /// Its type.
    pub kind: Kind,
    /// Its documentation line.
    pub doc: &'static str,
    /// Its default, if any.
    pub default: Option<&'static str>,
}

/// Looks a dotted path up in the table.
pub fn lookup(path: &str) -> Option<ResolvedKey> {
    if let Some(spec) = KEYS.iter().find(|k| k.path == path) {
        return Some(ResolvedKey {
            path: path.to_string(),
            kind: spec.kind,
            doc: spec.doc,
            default: spec.default,
        });
    }
    let (role, field) = path.rsplit_once('.')?;
    if !ROLES.contains(&role) {
        return None;
    }
    let (_, kind, doc) = ROLE_FIELDS.iter().find(|(name, _, _)| *name == field)?;
    let default = ROLE_DEFAULTS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, v)| *v);
    Some(ResolvedKey {
        path: path.to_string(),
        kind: *kind,
        doc,
        default,
    })
}

/// Every leaf key path, in table order (plain keys, then role fields).
pub fn all_paths() -> Vec<String> {
    let mut paths: Vec<String> = KEYS.iter().map(|k| k.path.to_string()).collect();
    for role in ROLES {
        for (field, _, _) in ROLE_FIELDS {
            paths.push(format!("{role}.{field}"));
        }
    }
    paths
}

/// Whether `path` names a group of keys (a mapping in YAML) rather than a leaf.
pub fn is_group(path: &str) -> bool {
    let prefix = format!("{path}.");
    all_paths().iter().any(|p| p.starts_with(&prefix))
}

/// Valid child names directly under a group (`""` for the top level).
pub fn children_of(group: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for path in all_paths() {
        let rest = if group.is_empty() {
            Some(path.as_str())
        } else {
            path.strip_prefix(group).and_then(|r| r.strip_prefix('.'))
        };
        if let Some(rest) = rest {
            let child = rest.split('.').next().unwrap_or(rest).to_string();
            if !out.contains(&child) {
                out.push(child);
            }
        }
    }
    out
}
