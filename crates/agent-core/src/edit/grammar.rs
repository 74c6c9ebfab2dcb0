//! Grammars for constrained decoding, built per request.
//!
//! [`SEARCH_REPLACE_LARK`](super::SEARCH_REPLACE_LARK) describes the format in general. For a
//! real request we can say more, and a weak local model needs it: the path must be one of the
//! files in play (or a new file the plan names), and the bodies are bounded so the reply always
//! finishes well inside the Editor's token budget instead of being cut off mid-block. Since every
//! emitted character costs at least one token, a reply the grammar allows is never longer than
//! [`GrammarLimits::max_chars`] tokens.

/// Bounds on what the constrained Editor may emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrammarLimits {
    /// Most SEARCH/REPLACE blocks in one reply.
    pub max_blocks: usize,
    /// Most lines in one SEARCH or REPLACE body.
    pub max_body_lines: usize,
    /// Most characters on one body line.
    pub max_line_chars: usize,
}

impl Default for GrammarLimits {
    fn default() -> Self {
        GrammarLimits {
            max_blocks: 2,
            max_body_lines: 12,
            max_line_chars: 120,
        }
    }
}

impl GrammarLimits {
    /// An upper bound on the characters (so tokens) a grammar with these limits lets through,
    /// for paths up to `max_path_chars` long.
    pub fn max_chars(&self, max_path_chars: usize) -> usize {
        let markers = "<<<<<<< SEARCH\n=======\n>>>>>>> REPLACE\n\n```\n```\n".len();
        let body = 2 * self.max_body_lines * (self.max_line_chars + 1);
        self.max_blocks * (max_path_chars + 1 + markers + body + 16)
    }
}

fn lark_string(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Lark grammar for SEARCH/REPLACE replies that may only edit `paths`, within `limits`.
/// Every reply it allows is accepted by [`parse_search_replace`](super::parse_search_replace).
///
/// # Panics
/// Panics if `paths` is empty (there is nothing to edit).
pub fn search_replace_grammar(paths: &[&str], limits: GrammarLimits) -> String {
    assert!(
        !paths.is_empty(),
        "a constrained edit needs at least one path"
    );
    let path_alternatives = paths
        .iter()
        .map(|p| lark_string(p))
        .collect::<Vec<_>>()
        .join(" | ");
    let line = format!("[^\\n]{{0,{}}}\\n", limits.max_line_chars);
    let n = limits.max_body_lines;
    let extra_blocks = limits.max_blocks.saturating_sub(1);
    format!(
        "// Built by aidx for one request: paths limited to the files in play, bodies bounded.\n\
         start: block (\"\\n\" block){{0,{extra_blocks}}}\n\
         block: path \"\\n<<<<<<< SEARCH\\n\" search_body replace_body\n\
         path: {path_alternatives}\n\
         search_body[lazy]: /({line}){{0,{n}}}=======\\n/\n\
         replace_body[lazy]: /({line}){{0,{n}}}>>>>>>> REPLACE/\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_and_escaped() {
        let g = search_replace_grammar(&["src/a \"b\".rs", "c.py"], GrammarLimits::default());
        assert!(g.contains(r#"path: "src/a \"b\".rs" | "c.py""#), "{g}");
        assert!(g.contains("{0,12}"));
        assert!(g.contains("{0,1}"), "two blocks at most: {g}");
    }

    #[test]
    fn the_character_bound_grows_with_the_limits() {
        let small = GrammarLimits {
            max_blocks: 1,
            max_body_lines: 2,
            max_line_chars: 10,
        };
        let big = GrammarLimits::default();
        assert!(small.max_chars(20) < big.max_chars(20));
        assert!(small.max_chars(20) >= 20 + 2 * 2 * 11);
    }
}
