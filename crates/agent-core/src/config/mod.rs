//! `.aidx.yml`: roles and limits, layered like aider's configuration.
//!
//! Layers, later wins: built-in defaults → `~/.aidx.yml` → `<git root>/.aidx.yml` → `AIDX_*`
//! environment variables → command-line flags. Every key is declared once in [`schema`]; unknown
//! keys, wrong types and bad sizes are errors naming the file, line and key with a suggestion.

mod error;
pub mod layers;
pub mod schema;
mod value;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{ConfigError, ConfigErrors};
pub use layers::{Entry, Origin};
pub use value::{ConfigValue, expand_home, parse_size};

/// The file name aidx reads in the home directory and at the git root.
pub const FILE_NAME: &str = ".aidx.yml";

/// Where to look for configuration, and the command-line settings that override it.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The user's home directory (`~/.aidx.yml`); `None` skips that layer.
    pub home: Option<PathBuf>,
    /// The repository root (`<root>/.aidx.yml`); `None` skips that layer.
    pub repo_root: Option<PathBuf>,
    /// `AIDX_*` variables to consider (normally `std::env::vars()`).
    pub env: Vec<(String, String)>,
    /// Command-line settings as `(key, value, flag as typed)`.
    pub flags: Vec<(String, String, String)>,
}

impl LoadOptions {
    /// Options for the current process: real home directory, the given repository root, the
    /// process environment and the given flags.
    pub fn from_process(repo_root: Option<PathBuf>, flags: Vec<(String, String, String)>) -> Self {
        LoadOptions {
            home: dirs::home_dir(),
            repo_root,
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("AIDX_"))
                .collect(),
            flags,
        }
    }
}

/// A merged setting and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The value in force.
    pub value: ConfigValue,
    /// The layer that set it.
    pub origin: Origin,
}

/// The merged configuration with the origin of each value.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: BTreeMap<String, Setting>,
    /// Files that were read, in layer order.
    pub files: Vec<PathBuf>,
}

impl Settings {
    /// Loads and merges all layers. Every layer is validated before anything is used; all
    /// problems are reported together.
    pub fn load(options: &LoadOptions) -> Result<Settings, ConfigErrors> {
        let mut settings = Settings::defaults();
        let mut errors = Vec::new();
        let mut layers: Vec<Vec<Entry>> = Vec::new();
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(home) = &options.home {
            candidates.push(home.join(FILE_NAME));
        }
        if let Some(root) = &options.repo_root {
            let path = root.join(FILE_NAME);
            if !candidates.contains(&path) {
                candidates.push(path);
            }
        }
        for path in candidates {
            if !path.is_file() {
                continue;
            }
            match layers::read_file(&path) {
                Ok(entries) => layers.push(entries),
                Err(e) => errors.extend(e.0),
            }
            settings.files.push(path);
        }
        match layers::read_env(options.env.iter().cloned()) {
            Ok(entries) => layers.push(entries),
            Err(e) => errors.extend(e.0),
        }
        match layers::read_flags(&options.flags) {
            Ok(entries) => layers.push(entries),
            Err(e) => errors.extend(e.0),
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        for entry in layers.into_iter().flatten() {
            settings.values.insert(
                entry.path,
                Setting {
                    value: entry.value,
                    origin: entry.origin,
                },
            );
        }
        Ok(settings)
    }

    /// Only the built-in defaults.
    pub fn defaults() -> Settings {
        let mut values = BTreeMap::new();
        for path in schema::all_paths() {
            let Some(spec) = schema::lookup(&path) else {
                continue;
            };
            let Some(default) = spec.default else {
                continue;
            };
            let yaml: serde_norway::Value = serde_norway::from_str(default)
                .unwrap_or(serde_norway::Value::String(default.into()));
            let value = match spec.kind {
                schema::Kind::Text | schema::Kind::Path => ConfigValue::Text(default.into()),
                kind => match value::parse_value(kind, &yaml) {
                    Ok(v) => v,
                    Err(e) => panic!("built-in default for {path} is invalid: {e}"),
                },
            };
            values.insert(
                path,
                Setting {
                    value,
                    origin: Origin::Default,
                },
            );
        }
        Settings {
            values,
            files: Vec::new(),
        }
    }

    /// The setting for a dotted key, if set.
    pub fn get(&self, path: &str) -> Option<&Setting> {
        self.values.get(path)
    }

    /// All set keys with their settings, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Setting)> {
        self.values.iter()
    }

    fn count(&self, path: &str) -> Option<u64> {
        match self.get(path)?.value {
            ConfigValue::Count(n) => Some(n),
            _ => None,
        }
    }

    fn flag(&self, path: &str) -> Option<bool> {
        match self.get(path)?.value {
            ConfigValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn text(&self, path: &str) -> Option<String> {
        Some(self.get(path)?.value.to_string())
    }

    fn size(&self, path: &str) -> Option<u64> {
        match self.get(path)?.value {
            ConfigValue::Size { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    fn float(&self, path: &str) -> Option<f64> {
        match self.get(path)?.value {
            ConfigValue::Float(x) => Some(x),
            _ => None,
        }
    }

    fn role(&self, name: &str) -> Option<RoleConfig> {
        let key = |field: &str| format!("{name}.{field}");
        let provider = match self.text(&key("provider")).as_deref() {
            Some("embedded") => Provider::Embedded,
            Some("openai-compatible") => Provider::OpenAiCompatible,
            Some("anthropic") => Provider::Anthropic,
            Some("gemini") => Provider::Gemini,
            _ => return None,
        };
        Some(RoleConfig {
            provider,
            model: self.text(&key("model")),
            base_url: self.text(&key("base-url")),
            api_key_env: self.text(&key("api-key-env")),
            max_tokens: self.count(&key("max-tokens")),
            temperature: self.float(&key("temperature")),
            timeout_secs: self.count(&key("timeout-secs")),
            kv_type: self.text(&key("kv-type")),
            context: self.count(&key("context")),
            engine: self.text(&key("engine")),
            threads: self.count(&key("threads")),
            edit_format: self.text(&key("edit-format")),
            plan_format: self.text(&key("plan-format")),
        })
    }

    /// The typed configuration the pipeline uses.
    pub fn config(&self) -> Config {
        let models_dir = expand_home(
            &self
                .text("models-dir")
                .unwrap_or_else(|| "~/.cache/aidx/models".into()),
        );
        Config {
            max_chat_history_tokens: self.count("max-chat-history-tokens").unwrap_or(2048) as usize,
            history_overflow: match self.text("history-overflow").as_deref() {
                Some("summarize") => HistoryOverflow::Summarize,
                _ => HistoryOverflow::Trim,
            },
            map_tokens: self.count("map-tokens").unwrap_or(1024) as usize,
            map_max_file_bytes: self.size("map-max-file-bytes").unwrap_or(1 << 20),
            gpu_vram_bytes: self.size("gpu.vram"),
            gpu_layers: self
                .count("gpu.layers")
                .map(|n| n.min(u32::MAX as u64) as u32),
            plan_file: PathBuf::from(
                self.text("plan-file")
                    .unwrap_or_else(|| "artifacts/plan.md".into()),
            ),
            max_reflections: self.count("max-reflections").unwrap_or(3) as u32,
            syntax_check: self.flag("syntax-check").unwrap_or(true),
            verify: crate::verify::RuleSet {
                deleted_definitions: self.flag("verify.deleted-definitions").unwrap_or(true),
                duplicate_definitions: self.flag("verify.duplicate-definitions").unwrap_or(true),
                signature_changes: self.flag("verify.signature-changes").unwrap_or(true),
            },
            fully_local: self.flag("fully-local").unwrap_or(true),
            auto_lint: self.flag("auto-lint").unwrap_or(true),
            auto_test: self.flag("auto-test").unwrap_or(true),
            auto_commits: self.flag("git.auto-commits").unwrap_or(true),
            dirty_commits: self.flag("git.dirty-commits").unwrap_or(true),
            lint_cmd: self.text("lint-cmd"),
            test_cmd: self.text("test-cmd"),
            models_dir,
            architect: self.role("architect"),
            editor: self
                .role("editor")
                .unwrap_or_else(RoleConfig::default_editor),
            router: self.role("researcher.router"),
            verifier: self.role("verifier"),
            preflight: self.role("preflight"),
            verifier_rules: match self.get("verifier.rules").map(|e| &e.value) {
                Some(ConfigValue::List(items)) => items.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// Which wire protocol or engine a role uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The embedded mistral.rs engine with a local GGUF file.
    Embedded,
    /// An OpenAI-compatible Chat Completions server.
    OpenAiCompatible,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google Gemini's generateContent API.
    Gemini,
}

impl Provider {
    /// The provider as `.aidx.yml` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Embedded => "embedded",
            Provider::OpenAiCompatible => "openai-compatible",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
        }
    }
}

/// One role's settings (architect, editor, router, verifier).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    /// The provider.
    pub provider: Provider,
    /// Model name, GGUF path or known model id.
    pub model: Option<String>,
    /// Server base URL for remote providers.
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Most tokens per reply.
    pub max_tokens: Option<u64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Read timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// KV cache type for the embedded engine.
    pub kv_type: Option<String>,
    /// Context window to run with.
    pub context: Option<u64>,
    /// Embedded engine: `auto`, `llama-cpp` or `mistralrs`.
    pub engine: Option<String>,
    /// CPU threads for the embedded engine.
    pub threads: Option<u64>,
    /// Edit format (`search-replace` or `whole`).
    pub edit_format: Option<String>,
    /// How the architect returns the plan (`auto`, `markdown` or `json-schema`).
    pub plan_format: Option<String>,
}

impl RoleConfig {
    /// The default Editor: embedded SmolLM2, greedy.
    pub fn default_editor() -> RoleConfig {
        RoleConfig {
            provider: Provider::Embedded,
            model: Some("smollm2-135m-instruct".into()),
            base_url: None,
            api_key_env: None,
            max_tokens: Some(512),
            temperature: Some(0.0),
            timeout_secs: None,
            kv_type: Some("f16".into()),
            context: None,
            engine: Some("auto".into()),
            threads: None,
            edit_format: Some("search-replace".into()),
            plan_format: None,
        }
    }
}

/// What to do when chat history exceeds the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryOverflow {
    /// Drop the oldest turns first.
    Trim,
    /// Summarize the oldest turns with a model.
    Summarize,
}

/// The typed, merged configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The context gate in tokens.
    pub max_chat_history_tokens: usize,
    /// What happens above the gate.
    pub history_overflow: HistoryOverflow,
    /// Repo map token cap.
    pub map_tokens: usize,
    /// Largest file the repo map reads.
    pub map_max_file_bytes: u64,
    /// Device memory for the VRAM budget; `None` means CPU (system RAM).
    pub gpu_vram_bytes: Option<u64>,
    /// `gpu.layers`: layers to keep on the GPU (a GPU build only); `None` = the budget decides.
    pub gpu_layers: Option<u32>,
    /// Where plan.md is written, relative to the git root.
    pub plan_file: PathBuf,
    /// How many times failed edits go back to the Editor.
    pub max_reflections: u32,
    /// Send edits that add syntax errors back to the Editor.
    pub syntax_check: bool,
    /// Send lint failures back to the Editor.
    pub auto_lint: bool,
    /// Send test failures back to the Editor.
    pub auto_test: bool,
    /// The deterministic verifier rules (`verify.*`).
    pub verify: crate::verify::RuleSet,
    /// Let the local model plan when no architect is available.
    pub fully_local: bool,
    /// Commit applied edits.
    pub auto_commits: bool,
    /// Commit the user's dirty files before editing them.
    pub dirty_commits: bool,
    /// Lint command.
    pub lint_cmd: Option<String>,
    /// Test command.
    pub test_cmd: Option<String>,
    /// Where GGUF models are cached.
    pub models_dir: PathBuf,
    /// The cloud Architect, if configured.
    pub architect: Option<RoleConfig>,
    /// The Editor.
    pub editor: RoleConfig,
    /// The Researcher's optional router model.
    pub router: Option<RoleConfig>,
    /// The optional verifier.
    pub verifier: Option<RoleConfig>,
    /// The optional pre-flight reviewer of plan.md.
    pub preflight: Option<RoleConfig>,
    /// `verifier.rules`: what the verifier model checks each change against, besides plan.md.
    pub verifier_rules: Vec<String>,
}

/// Finds the git root at or above `start`, if any.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}
