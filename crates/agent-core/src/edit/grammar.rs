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

/// `text` as a Lark string literal.
pub(crate) fn lark_string(text: &str) -> String {
    let mut out = String::from("\"");
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
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
    let start = start_rule(limits.max_blocks);
    format!(
        "// Built by aidx for one request: paths limited to the files in play, bodies bounded.\n\
         {start}\
         block: path \"\\n<<<<<<< SEARCH\\n\" search_body replace_body\n\
         path: {path_alternatives}\n\
         search_body[lazy]: /({line}){{0,{n}}}=======\\n/\n\
         replace_body[lazy]: /({line}){{0,{n}}}>>>>>>> REPLACE/\n"
    )
}

/// The `start` rule for at most `max_blocks` blocks (llguidance rejects a `{0,0}` range).
fn start_rule(max_blocks: usize) -> String {
    match max_blocks.saturating_sub(1) {
        0 => "start: block\n".to_string(),
        extra => format!("start: block (\"\\n\" block){{0,{extra}}}\n"),
    }
}

/// Files with more distinct lines than this get a free-form SEARCH body instead of one limited
/// to their real lines (the grammar would grow too large to be worth it).
pub const MAX_GRAMMAR_LINES: usize = 2000;

/// One file the Editor may edit, for [`search_replace_grammar_for_files`].
#[derive(Debug, Clone, Copy)]
pub struct GrammarFile<'a> {
    /// Repository-relative path.
    pub path: &'a str,
    /// The file's current text; `None` for a file the plan creates.
    pub text: Option<&'a str>,
}

/// Like [`search_replace_grammar`], but each SEARCH body must be a run of consecutive lines
/// that really are in that file, in the file's order, starting at a non-blank line (and a new
/// file's SEARCH is empty). A weak model then cannot invent, reorder or repeat lines: every
/// SEARCH it can write is found in the file. Files longer than [`MAX_GRAMMAR_LINES`] lines get a
/// bounded free-form SEARCH instead. In source files (anything but Markdown, reStructuredText,
/// plain text and the like) no REPLACE line may start with a ``` fence.
pub fn search_replace_grammar_for_files(
    files: &[GrammarFile<'_>],
    limits: GrammarLimits,
) -> String {
    assert!(
        !files.is_empty(),
        "a constrained edit needs at least one path"
    );
    let line = format!("[^\\n]{{0,{}}}\\n", limits.max_line_chars);
    let code_line = code_line_regex(limits.max_line_chars);
    let n = limits.max_body_lines;
    let start = start_rule(limits.max_blocks);
    let mut rules = String::new();
    let mut blocks = Vec::new();
    for (i, file) in files.iter().enumerate() {
        blocks.push(format!("block_{i}"));
        let head = format!("{} \"\\n<<<<<<< SEARCH\\n\"", lark_string(file.path));
        let replace_body = if is_prose(file.path) {
            "replace_body"
        } else {
            "replace_code"
        };
        match file.text {
            None => rules.push_str(&format!(
                "block_{i}: {head} \"=======\\n\" {replace_body}\n"
            )),
            Some(text) => {
                let lines: Vec<&str> = text.lines().collect();
                if !lines.iter().any(|l| !l.trim().is_empty()) || lines.len() > MAX_GRAMMAR_LINES {
                    rules.push_str(&format!("block_{i}: {head} search_body {replace_body}\n"));
                } else {
                    // run_{i}_{j}: line j, then optionally the run from line j + 1.
                    let last = lines.len() - 1;
                    for (j, l) in lines.iter().enumerate() {
                        let literal = lark_string(&format!("{l}\n"));
                        if j == last {
                            rules.push_str(&format!("run_{i}_{j}: {literal}\n"));
                        } else {
                            rules.push_str(&format!("run_{i}_{j}: {literal} run_{i}_{}?\n", j + 1));
                        }
                    }
                    let starts = lines
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| !l.trim().is_empty())
                        .map(|(j, _)| format!("run_{i}_{j}"))
                        .collect::<Vec<_>>()
                        .join(" | ");
                    rules.push_str(&format!(
                        "block_{i}: {head} lines_{i} \"=======\\n\" {replace_body}\n\
                         lines_{i}: {starts}\n"
                    ));
                }
            }
        }
    }
    format!(
        "// Built by aidx for one request: SEARCH is a run of a file's real lines, bodies bounded.\n\
         {start}\
         block: {}\n\
         {rules}\
         search_body[lazy]: /({line}){{0,{n}}}=======\\n/\n\
         replace_body[lazy]: /({line}){{0,{n}}}>>>>>>> REPLACE/\n\
         replace_code[lazy]: /({code_line}){{0,{n}}}>>>>>>> REPLACE/\n",
        blocks.join(" | ")
    )
}

/// Files whose text may hold Markdown fences (```), unlike source code.
fn is_prose(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        None | Some("md" | "markdown" | "mdx" | "rst" | "txt" | "adoc" | "org")
    )
}

/// A REPLACE line for a source file: anything but a line starting with a ``` fence, which a weak
/// model writes when it slides from code into a Markdown explanation.
fn code_line_regex(max_chars: usize) -> String {
    let rest = |taken: usize| format!("[^`\\n][^\\n]{{0,{}}}", max_chars.saturating_sub(taken + 1));
    format!("(({})|(`({})?)|(``({})?))?\\n", rest(0), rest(1), rest(2))
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
    fn search_lines_are_limited_to_the_files_lines() {
        let g = search_replace_grammar_for_files(
            &[
                GrammarFile {
                    path: "calc.py",
                    text: Some("def add(a, b):\n    return a + b\n\n"),
                },
                GrammarFile {
                    path: "new.py",
                    text: None,
                },
            ],
            GrammarLimits::default(),
        );
        assert!(
            g.contains(r#"run_0_0: "def add(a, b):\n" run_0_1?"#)
                && g.contains(r#"run_0_1: "    return a + b\n" run_0_2?"#)
                && g.contains(r#"run_0_2: "\n""#),
            "{g}"
        );
        assert!(
            g.contains("lines_0: run_0_0 | run_0_1\n"),
            "runs start at non-blank lines: {g}"
        );
        assert!(
            g.contains(r#"block_1: "new.py" "\n<<<<<<< SEARCH\n" "=======\n" replace_code"#),
            "{g}"
        );
        assert!(g.contains("block: block_0 | block_1"), "{g}");
    }

    #[test]
    fn fences_are_refused_in_code_but_not_in_prose_files() {
        let files = [
            GrammarFile {
                path: "src/calc.py",
                text: None,
            },
            GrammarFile {
                path: "docs/README.md",
                text: None,
            },
        ];
        let g = search_replace_grammar_for_files(&files, GrammarLimits::default());
        assert!(g.contains(r#""=======\n" replace_code"#), "{g}");
        assert!(g.contains(r#""=======\n" replace_body"#), "{g}");
        // A code line may start with one or two backticks, never three.
        let line = code_line_regex(120);
        assert_eq!(
            line,
            "(([^`\\n][^\\n]{0,119})|(`([^`\\n][^\\n]{0,118})?)|(``([^`\\n][^\\n]{0,117})?))?\\n"
        );
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
