//! Supported languages: file extensions, grammars and the bundled tags queries.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tree_sitter::Query;

use crate::RepoMapError;
use crate::matcher::Matcher;

/// A language the repo map can extract tags from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lang {
    /// Rust (`.rs`).
    Rust,
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript and JSX (`.js`, `.jsx`, `.mjs`, `.cjs`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TSX (`.tsx`).
    Tsx,
    /// Go (`.go`).
    Go,
    /// Java (`.java`).
    Java,
    /// C (`.c`, `.h`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.hpp`, `.hh`, `.hxx`).
    Cpp,
    /// C# (`.cs`).
    CSharp,
    /// Ruby (`.rb`).
    Ruby,
    /// PHP (`.php`).
    Php,
    /// Kotlin (`.kt`, `.kts`).
    Kotlin,
    /// Swift (`.swift`).
    Swift,
    /// Lua (`.lua`).
    Lua,
    /// Scala 2 and 3 (`.scala`, `.sc`).
    Scala,
    /// Shell scripts (`.sh`, `.bash`), with the bash grammar.
    Bash,
}

impl Lang {
    /// Every supported language.
    pub const ALL: [Lang; 17] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::C,
        Lang::Cpp,
        Lang::CSharp,
        Lang::Ruby,
        Lang::Php,
        Lang::Kotlin,
        Lang::Swift,
        Lang::Lua,
        Lang::Scala,
        Lang::Bash,
    ];

    /// The language of a file, from its extension.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        Some(match ext {
            "rs" => Lang::Rust,
            "py" | "pyi" => Lang::Python,
            "js" | "jsx" | "mjs" | "cjs" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            "c" | "h" => Lang::C,
            "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "h++" => Lang::Cpp,
            "cs" => Lang::CSharp,
            "rb" => Lang::Ruby,
            "php" => Lang::Php,
            "kt" | "kts" => Lang::Kotlin,
            "swift" => Lang::Swift,
            "lua" => Lang::Lua,
            "scala" | "sc" => Lang::Scala,
            "sh" | "bash" => Lang::Bash,
            _ => return None,
        })
    }

    /// Lowercase display name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::CSharp => "csharp",
            Lang::Ruby => "ruby",
            Lang::Php => "php",
            Lang::Kotlin => "kotlin",
            Lang::Swift => "swift",
            Lang::Lua => "lua",
            Lang::Scala => "scala",
            Lang::Bash => "bash",
        }
    }

    /// The tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        // Every parser and query is made from a grammar, so this is the point to route tree-sitter's
        // allocations before its first object exists.
        crate::ts_alloc::install();
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Lang::Php => tree_sitter_php::LANGUAGE_PHP.into(),
            Lang::Kotlin => tree_sitter_kotlin_ng::LANGUAGE.into(),
            Lang::Swift => tree_sitter_swift::LANGUAGE.into(),
            Lang::Lua => tree_sitter_lua::LANGUAGE.into(),
            Lang::Scala => tree_sitter_scala::LANGUAGE.into(),
            Lang::Bash => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// The bundled tags query source (`queries/<lang>-tags.scm`).
    pub fn tags_query_source(self) -> &'static str {
        match self {
            Lang::Rust => include_str!("../queries/rust-tags.scm"),
            Lang::Python => include_str!("../queries/python-tags.scm"),
            Lang::JavaScript => include_str!("../queries/javascript-tags.scm"),
            Lang::TypeScript | Lang::Tsx => include_str!("../queries/typescript-tags.scm"),
            Lang::Go => include_str!("../queries/go-tags.scm"),
            Lang::Java => include_str!("../queries/java-tags.scm"),
            Lang::C => include_str!("../queries/c-tags.scm"),
            Lang::Cpp => include_str!("../queries/cpp-tags.scm"),
            Lang::CSharp => include_str!("../queries/csharp-tags.scm"),
            Lang::Ruby => include_str!("../queries/ruby-tags.scm"),
            Lang::Php => include_str!("../queries/php-tags.scm"),
            Lang::Kotlin => include_str!("../queries/kotlin-tags.scm"),
            Lang::Swift => include_str!("../queries/swift-tags.scm"),
            Lang::Lua => include_str!("../queries/lua-tags.scm"),
            Lang::Scala => include_str!("../queries/scala-tags.scm"),
            Lang::Bash => include_str!("../queries/bash-tags.scm"),
        }
    }

    /// The compiled tags query, compiled once per process and shared by all threads.
    pub fn tags_query(self) -> Result<&'static Query, RepoMapError> {
        static QUERIES: [OnceLock<Result<Query, String>>; Lang::ALL.len()] =
            [const { OnceLock::new() }; Lang::ALL.len()];
        let slot = &QUERIES[self as usize];
        slot.get_or_init(|| {
            Query::new(&self.grammar(), self.tags_query_source()).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| RepoMapError::Query {
            language: self.name(),
            message: message.clone(),
        })
    }
}

impl Lang {
    /// The bundled tags query compiled for the direct matcher, or `None` where it uses more of the
    /// query language than the matcher supports (tree-sitter's engine runs it then).
    pub(crate) fn tags_matcher(self) -> Option<&'static Matcher> {
        static MATCHERS: [OnceLock<Option<Matcher>>; Lang::ALL.len()] =
            [const { OnceLock::new() }; Lang::ALL.len()];
        MATCHERS[self as usize]
            .get_or_init(|| Matcher::compile(&self.grammar(), self.tags_query_source()))
            .as_ref()
    }
}

/// A fingerprint of every bundled query, so a cache written with other queries is discarded.
pub(crate) fn queries_fingerprint() -> u64 {
    let mut all = String::new();
    for lang in Lang::ALL {
        all.push_str(lang.name());
        all.push_str(lang.tags_query_source());
    }
    xxhash_rust::xxh3::xxh3_64(all.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_query_runs_on_the_direct_matcher() {
        // A query outside the matcher's subset still works (through tree-sitter's engine) but
        // costs about twice the CPU on a cold map; keep the bundled ones inside it.
        for lang in Lang::ALL {
            assert!(
                lang.tags_matcher().is_some(),
                "{}-tags.scm uses more than the matcher supports",
                lang.name()
            );
        }
    }

    #[test]
    fn every_language_has_its_own_slot() {
        for (i, lang) in Lang::ALL.iter().enumerate() {
            assert_eq!(*lang as usize, i, "{lang:?} is out of order in Lang::ALL");
        }
    }
}
