//! Which embedded engine runs a model (`editor.engine`). Its own file so that the budget, which
//! models each engine's memory, does not depend on the engine that loads models.

/// The embedded engines aidx can run a GGUF model with (`editor.engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// mistral.rs (candle): the default.
    #[default]
    MistralRs,
    /// llama.cpp through llama-cpp-2 (cargo feature `llama-cpp`): faster on CPU here, see
    /// BENCHMARKS.md.
    LlamaCpp,
}

impl EngineKind {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::MistralRs => "mistralrs",
            EngineKind::LlamaCpp => "llama-cpp",
        }
    }
}

impl EngineKind {
    /// The engine for an `editor.engine` setting: `auto` (or unset) is llama.cpp on the CPU
    /// when it is built in (it measured faster there, see BENCHMARKS.md) and mistral.rs when a
    /// GPU is configured (`gpu_configured`) or llama.cpp is not built in.
    pub fn from_setting(setting: Option<&str>, gpu_configured: bool) -> Result<Self, String> {
        if Self::is_auto(setting) {
            return Ok(if gpu_configured || !cfg!(feature = "llama-cpp") {
                EngineKind::MistralRs
            } else {
                EngineKind::LlamaCpp
            });
        }
        setting.unwrap_or_default().parse()
    }

    /// Whether an `editor.engine` setting leaves the choice to aidx (unset or `auto`).
    pub fn is_auto(setting: Option<&str>) -> bool {
        matches!(setting, None | Some("auto"))
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mistralrs" | "mistral.rs" => Ok(EngineKind::MistralRs),
            "llama-cpp" | "llama.cpp" => Ok(EngineKind::LlamaCpp),
            other => Err(format!(
                "unknown engine `{other}`; use `mistralrs` or `llama-cpp`"
            )),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
