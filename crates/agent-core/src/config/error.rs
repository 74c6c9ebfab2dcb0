//! Configuration errors that name the file, the line and the key, and say what to do.

use std::fmt;

/// One problem in one configuration source.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file path, or a description such as `environment variable AIDX_MAP_TOKENS`.
    pub source_name: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The dotted key the problem is about (empty for whole-file problems).
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it (a suggestion such as "did you mean `editor`?").
    pub hint: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found while loading the configuration; nothing is used when this is returned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single error.
    pub fn one(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}
