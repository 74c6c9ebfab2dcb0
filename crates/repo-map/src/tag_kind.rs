//! What a definition defines. Its own file: tag extraction reports it and the query matcher
//! produces it from a capture's name, and neither of those depends on the other for it.

use serde::{Deserialize, Serialize};

/// What a definition defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagKind {
    /// A free function.
    Function,
    /// A function inside a type, impl, class or interface.
    Method,
    /// A struct, class, enum, union, record or type alias.
    Type,
    /// A trait or interface.
    Trait,
    /// A constant, static or module-level variable.
    Constant,
    /// A module or namespace.
    Module,
    /// A macro.
    Macro,
}

impl TagKind {
    pub(crate) fn from_capture(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "function" => TagKind::Function,
            "method" => TagKind::Method,
            "type" => TagKind::Type,
            "trait" => TagKind::Trait,
            "constant" => TagKind::Constant,
            "module" => TagKind::Module,
            "macro" => TagKind::Macro,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Function => "function",
            TagKind::Method => "method",
            TagKind::Type => "type",
            TagKind::Trait => "trait",
            TagKind::Constant => "constant",
            TagKind::Module => "module",
            TagKind::Macro => "macro",
        }
    }
}
