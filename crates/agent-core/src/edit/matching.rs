//! Finding a SEARCH section in a file and replacing it, with increasingly tolerant strategies.
//!
//! Strategies run in order — exact, indentation-tolerant, blank-line-tolerant, then `...`
//! elision — and the first one that finds anything decides: one match is applied, several
//! matches are an error ([`MatchError::Ambiguous`]), never a guess.

use thiserror::Error;

use super::strategy::MatchStrategy;

/// Why a block could not be applied to a file's text.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MatchError {
    /// No strategy found the SEARCH lines.
    #[error("the SEARCH lines were not found in the file")]
    NotFound,
    /// The SEARCH lines occur more than once.
    #[error(
        "the SEARCH lines match {} places (lines {}): add surrounding lines to make SEARCH unique",
        .lines.len(),
        join_numbers(.lines)
    )]
    Ambiguous {
        /// 1-based first line of each match.
        lines: Vec<usize>,
    },
    /// The `...` lines of SEARCH and REPLACE do not pair up.
    #[error(
        "SEARCH and REPLACE must contain the same `...` lines, and text between them must have SEARCH lines to anchor it"
    )]
    ElisionMismatch,
}

fn join_numbers(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies one SEARCH/REPLACE pair to `content`, returning the new text and the strategy that
/// matched. `search` must not be empty (file creation is handled by the caller).
pub fn apply_block_to_text(
    content: &str,
    search: &str,
    replace: &str,
) -> Result<(String, MatchStrategy), MatchError> {
    match apply_plain(content, search, replace)? {
        Some(done) => Ok(done),
        None if has_elision(search) => {
            apply_elided(content, search, replace).map(|text| (text, MatchStrategy::Elision))
        }
        None => Err(MatchError::NotFound),
    }
}

/// The file's text as lines without terminators, remembering how to put it back together.
struct Lines<'a> {
    lines: Vec<&'a str>,
    eol: &'static str,
    trailing_newline: bool,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let lines = split_lines(text);
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        Lines {
            lines,
            eol,
            trailing_newline: text.is_empty() || text.ends_with('\n'),
        }
    }

    fn splice(&self, span: &Span, new_lines: &[String]) -> String {
        let mut out: Vec<&str> = Vec::with_capacity(self.lines.len() + new_lines.len());
        out.extend(&self.lines[..span.start]);
        out.extend(new_lines.iter().map(String::as_str));
        out.extend(&self.lines[span.end..]);
        if out.is_empty() {
            return String::new();
        }
        let mut text = out.join(self.eol);
        if self.trailing_newline {
            text.push_str(self.eol);
        }
        text
    }
}

/// Lines without their `\n` / `\r\n` terminators.
pub(crate) fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n')
        .map(|l| {
            let l = l.strip_suffix('\n').unwrap_or(l);
            l.strip_suffix('\r').unwrap_or(l)
        })
        .collect()
}

/// Where a SEARCH section matched: content lines `start..end`, and the indentation the content
/// has in addition to the (dedented) SEARCH lines.
#[derive(Debug, Clone)]
struct Span {
    start: usize,
    end: usize,
    prefix: String,
}

#[derive(Clone, Copy)]
enum Mode {
    Exact,
    Indentation,
    BlankLines,
}

fn apply_plain(
    content: &str,
    search: &str,
    replace: &str,
) -> Result<Option<(String, MatchStrategy)>, MatchError> {
    let file = Lines::new(content);
    let search_lines = split_lines(search);
    let replace_lines = split_lines(replace);
    let dedent = common_indent(search_lines.iter().chain(replace_lines.iter()).copied());
    let search_dedented: Vec<&str> = search_lines
        .iter()
        .map(|l| strip_indent(l, dedent))
        .collect();

    for (mode, strategy) in [
        (Mode::Exact, MatchStrategy::Exact),
        (Mode::Indentation, MatchStrategy::IndentationTolerant),
        (Mode::BlankLines, MatchStrategy::BlankLineTolerant),
    ] {
        let spans = match mode {
            Mode::Exact => find_exact(&file.lines, &search_lines),
            Mode::Indentation => find_indented(&file.lines, &search_dedented),
            Mode::BlankLines => find_ignoring_blank_lines(&file.lines, &search_dedented),
        };
        match spans.as_slice() {
            [] => continue,
            [span] => {
                let new_lines: Vec<String> = match mode {
                    Mode::Exact => replace_lines.iter().map(|l| l.to_string()).collect(),
                    Mode::Indentation | Mode::BlankLines => replace_lines
                        .iter()
                        .map(|l| {
                            if l.trim().is_empty() {
                                String::new()
                            } else {
                                format!("{}{}", span.prefix, strip_indent(l, dedent))
                            }
                        })
                        .collect(),
                };
                tracing::trace!(?strategy, start = span.start + 1, "SEARCH matched");
                return Ok(Some((file.splice(span, &new_lines), strategy)));
            }
            many => {
                return Err(MatchError::Ambiguous {
                    lines: many.iter().map(|s| s.start + 1).collect(),
                });
            }
        }
    }
    Ok(None)
}

fn find_exact(content: &[&str], search: &[&str]) -> Vec<Span> {
    if search.is_empty() || search.len() > content.len() {
        return Vec::new();
    }
    (0..=content.len() - search.len())
        .filter(|&start| content[start..start + search.len()] == *search)
        .map(|start| Span {
            start,
            end: start + search.len(),
            prefix: String::new(),
        })
        .collect()
}

fn find_indented(content: &[&str], search: &[&str]) -> Vec<Span> {
    if search.iter().all(|l| l.trim().is_empty()) || search.len() > content.len() {
        return Vec::new();
    }
    (0..=content.len() - search.len())
        .filter_map(|start| {
            let pairs = content[start..start + search.len()]
                .iter()
                .zip(search.iter());
            common_prefix(pairs).map(|prefix| Span {
                start,
                end: start + search.len(),
                prefix,
            })
        })
        .collect()
}

fn find_ignoring_blank_lines(content: &[&str], search: &[&str]) -> Vec<Span> {
    let search: Vec<&str> = search
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let kept: Vec<usize> = (0..content.len())
        .filter(|&i| !content[i].trim().is_empty())
        .collect();
    if search.is_empty() || search.len() > kept.len() {
        return Vec::new();
    }
    (0..=kept.len() - search.len())
        .filter_map(|k| {
            let window = &kept[k..k + search.len()];
            let pairs = window.iter().map(|&i| &content[i]).zip(search.iter());
            common_prefix(pairs).map(|prefix| Span {
                start: window[0],
                end: window[search.len() - 1] + 1,
                prefix,
            })
        })
        .collect()
}

/// If every content line equals its SEARCH line plus one shared whitespace prefix (ignoring
/// trailing whitespace), returns that prefix.
fn common_prefix<'a>(pairs: impl Iterator<Item = (&'a &'a str, &'a &'a str)>) -> Option<String> {
    let mut prefix: Option<&str> = None;
    for (content_line, search_line) in pairs {
        if search_line.trim().is_empty() {
            if !content_line.trim().is_empty() {
                return None;
            }
            continue;
        }
        let c = content_line.trim_end();
        let s = search_line.trim_end();
        let head = c.strip_suffix(s)?;
        if !head.chars().all(char::is_whitespace) {
            return None;
        }
        match prefix {
            None => prefix = Some(head),
            Some(p) if p == head => {}
            Some(_) => return None,
        }
    }
    Some(prefix.unwrap_or("").to_string())
}

/// The smallest leading-whitespace width (in characters) over the non-blank lines.
fn common_indent<'a>(lines: impl Iterator<Item = &'a str>) -> usize {
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.chars().take_while(|c| c.is_whitespace()).count())
        .min()
        .unwrap_or(0)
}

fn strip_indent(line: &str, width: usize) -> &str {
    let cut = line
        .char_indices()
        .take(width)
        .take_while(|(_, c)| c.is_whitespace())
        .map(|(i, c)| i + c.len_utf8())
        .last();
    match cut {
        Some(end) => &line[end..],
        None => line,
    }
}

fn is_elision(line: &str) -> bool {
    line.trim() == "..."
}

fn has_elision(search: &str) -> bool {
    split_lines(search).iter().any(|l| is_elision(l))
}

/// `...` lines in SEARCH stand for unchanged lines; the pieces between them are applied one by
/// one, each with the plain strategies, and must pair with the pieces of REPLACE.
fn apply_elided(content: &str, search: &str, replace: &str) -> Result<String, MatchError> {
    let search_pieces = split_on_elision(search);
    let replace_pieces = split_on_elision(replace);
    if search_pieces.len() != replace_pieces.len() {
        return Err(MatchError::ElisionMismatch);
    }
    let mut text = content.to_string();
    for (s, r) in search_pieces.iter().zip(replace_pieces.iter()) {
        if s.trim().is_empty() {
            if r.trim().is_empty() {
                continue;
            }
            return Err(MatchError::ElisionMismatch);
        }
        match apply_plain(&text, s, r)? {
            Some((next, _)) => text = next,
            None => return Err(MatchError::NotFound),
        }
    }
    Ok(text)
}

fn split_on_elision(text: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    for line in split_lines(text) {
        if is_elision(line) {
            pieces.push(String::new());
        } else if let Some(last) = pieces.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_indent_stops_at_text() {
        assert_eq!(strip_indent("    x", 2), "  x");
        assert_eq!(strip_indent(" x", 4), "x");
        assert_eq!(strip_indent("x", 4), "x");
    }

    #[test]
    fn crlf_files_keep_their_line_endings() {
        let (out, _) = apply_block_to_text("a\r\nb\r\n", "b\n", "c\n").unwrap();
        assert_eq!(out, "a\r\nc\r\n");
    }

    #[test]
    fn missing_final_newline_is_preserved() {
        let (out, strategy) = apply_block_to_text("a\nb", "b\n", "c\n").unwrap();
        assert_eq!(out, "a\nc");
        assert_eq!(strategy, MatchStrategy::Exact);
    }
}
