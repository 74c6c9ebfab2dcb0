//! Parsing SEARCH/REPLACE blocks out of an Editor reply.
//!
//! The reply may contain prose, fences and several blocks. The parser tolerates the usual model
//! mistakes: blocks inside or outside ``` fences, markers with trailing whitespace or 5–9 marker
//! characters, a path line decorated with backticks, bold or `#`, and a missing path line when it
//! can be inferred (the previous block's path, or the only file in play).

use thiserror::Error;

use super::block::EditBlock;

/// How many lines above a `<<<<<<< SEARCH` marker are searched for the file path.
const PATH_LOOKBACK_LINES: usize = 3;

/// Why an Editor reply could not be parsed into blocks.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A block has no path line and none can be inferred.
    #[error(
        "block {block} (line {line}) has no file path: put the path alone on the line before `<<<<<<< SEARCH`"
    )]
    MissingPath {
        /// 1-based block number.
        block: usize,
        /// 1-based line of the `<<<<<<< SEARCH` marker.
        line: usize,
    },
    /// A block's SEARCH section is not closed by `=======`.
    #[error(
        "block {block} (line {line}) never reaches `=======`: end the SEARCH lines with a line `=======`"
    )]
    MissingDivider {
        /// 1-based block number.
        block: usize,
        /// 1-based line of the `<<<<<<< SEARCH` marker.
        line: usize,
    },
    /// A block's REPLACE section is not closed by `>>>>>>> REPLACE`.
    #[error(
        "block {block} (line {line}) never reaches `>>>>>>> REPLACE`: end the new lines with a line `>>>>>>> REPLACE`"
    )]
    MissingReplaceMarker {
        /// 1-based block number.
        block: usize,
        /// 1-based line of the `<<<<<<< SEARCH` marker.
        line: usize,
    },
    /// A whole-file reply opens a ``` fence that is never closed.
    #[error(
        "the ``` fence opened on line {line} is never closed: end the file content with a line ```"
    )]
    UnclosedFence {
        /// 1-based line of the opening fence.
        line: usize,
    },
}

/// Parses every SEARCH/REPLACE block in `reply`.
///
/// `files_in_play` are the repository-relative paths the Editor was shown; a block without a
/// path line gets the previous block's path, or the single file in play. A reply with no block at
/// all parses to an empty list (the caller decides whether that is an error).
pub fn parse_search_replace(
    reply: &str,
    files_in_play: &[&str],
) -> Result<Vec<EditBlock>, ParseError> {
    let normalized = reply.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.split_inclusive('\n').collect();
    parse_lines(&lines, files_in_play).map(|(blocks, _)| blocks)
}

/// The blocks in `lines`, and the index of the first line after the last block.
fn parse_lines(
    lines: &[&str],
    files_in_play: &[&str],
) -> Result<(Vec<EditBlock>, usize), ParseError> {
    let mut blocks = Vec::new();
    let mut consumed_up_to = 0; // lines before this index belong to earlier blocks
    let mut i = 0;
    while i < lines.len() {
        if !is_marker(lines[i], '<', "SEARCH") {
            i += 1;
            continue;
        }
        let block_no = blocks.len() + 1;
        let marker_line = i + 1;
        let path = find_path(&lines[consumed_up_to..i], files_in_play)
            .or_else(|| blocks.last().map(|b: &EditBlock| b.path.clone()))
            .or_else(|| (files_in_play.len() == 1).then(|| files_in_play[0].to_string()))
            .ok_or(ParseError::MissingPath {
                block: block_no,
                line: marker_line,
            })?;

        let mut search = String::new();
        i += 1;
        loop {
            let Some(line) = lines.get(i) else {
                return Err(ParseError::MissingDivider {
                    block: block_no,
                    line: marker_line,
                });
            };
            if is_divider(line) {
                break;
            }
            if is_marker(line, '>', "REPLACE") || is_marker(line, '<', "SEARCH") {
                return Err(ParseError::MissingDivider {
                    block: block_no,
                    line: marker_line,
                });
            }
            push_line(&mut search, line);
            i += 1;
        }

        let mut replace = String::new();
        i += 1;
        loop {
            let Some(line) = lines.get(i) else {
                return Err(ParseError::MissingReplaceMarker {
                    block: block_no,
                    line: marker_line,
                });
            };
            if is_marker(line, '>', "REPLACE") {
                break;
            }
            if is_marker(line, '<', "SEARCH") {
                return Err(ParseError::MissingReplaceMarker {
                    block: block_no,
                    line: marker_line,
                });
            }
            push_line(&mut replace, line);
            i += 1;
        }
        i += 1;
        consumed_up_to = i;
        blocks.push(EditBlock {
            path,
            search,
            replace,
        });
    }
    tracing::debug!(blocks = blocks.len(), "parsed SEARCH/REPLACE reply");
    Ok((blocks, consumed_up_to))
}

/// The block a reply cut off at the token limit ended inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedBlock {
    /// 1-based block number.
    pub number: usize,
    /// The file it was editing, when the reply says (or only one file is in play).
    pub path: Option<String>,
}

/// Like [`parse_search_replace`], for a reply that was cut off at the token limit: when a block
/// does not finish, the complete blocks before it are returned with that block's number and path,
/// so they can be kept while the Editor is asked for the rest. Text after the last complete block
/// counts as an unfinished block when it is the start of one — a line beginning with `<<<`, or a
/// last line that is (the start of) a file in play — and as prose otherwise. Other parse errors
/// stay errors.
pub fn parse_search_replace_prefix(
    reply: &str,
    files_in_play: &[&str],
) -> Result<(Vec<EditBlock>, Option<UnfinishedBlock>), ParseError> {
    let normalized = reply.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.split_inclusive('\n').collect();
    let (complete, number, before) = match parse_lines(&lines, files_in_play) {
        Ok((blocks, end)) => {
            if !starts_a_block(&lines[end..], files_in_play) {
                return Ok((blocks, None));
            }
            let number = blocks.len() + 1;
            (blocks, number, &lines[..])
        }
        Err(
            ParseError::MissingDivider { block, line }
            | ParseError::MissingReplaceMarker { block, line },
        ) => {
            let before = &lines[..line - 1];
            let (complete, _) = parse_lines(before, files_in_play)?;
            (complete, block, before)
        }
        Err(other) => return Err(other),
    };
    let path = find_path(before, files_in_play)
        .or_else(|| complete.last().map(|b| b.path.clone()))
        .or_else(|| (files_in_play.len() == 1).then(|| files_in_play[0].to_string()));
    Ok((complete, Some(UnfinishedBlock { number, path })))
}

/// Whether the text after the last complete block is the beginning of another block.
fn starts_a_block(rest: &[&str], files_in_play: &[&str]) -> bool {
    if rest.iter().any(|line| line.trim_start().starts_with("<<<")) {
        return true;
    }
    let Some(last) = rest.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty()) else {
        return false;
    };
    let last = last.trim_matches(|c| c == '`' || c == '*');
    !last.is_empty() && files_in_play.iter().any(|f| f.starts_with(last))
}

/// Appends one line, always ending it with `\n`.
fn push_line(out: &mut String, line: &str) {
    out.push_str(line.strip_suffix('\n').unwrap_or(line));
    out.push('\n');
}

/// `<<<<<<< SEARCH` / `>>>>>>> REPLACE` with 5 to 9 marker characters and trailing whitespace.
fn is_marker(line: &str, marker: char, word: &str) -> bool {
    let line = line.trim_end();
    let run = line.chars().take_while(|&c| c == marker).count();
    (5..=9).contains(&run) && line[run..].trim() == word && line[run..].starts_with(' ')
}

/// `=======` with 5 to 9 characters and trailing whitespace.
fn is_divider(line: &str) -> bool {
    let line = line.trim_end();
    (5..=9).contains(&line.len()) && line.chars().all(|c| c == '=')
}

fn is_fence(line: &str) -> bool {
    let line = line.trim();
    line.starts_with("```") || line.starts_with("~~~")
}

/// Finds the path among the last few non-blank, non-fence lines of `before`.
fn find_path(before: &[&str], files_in_play: &[&str]) -> Option<String> {
    let lines: Vec<&str> = before
        .iter()
        .rev()
        .take(PATH_LOOKBACK_LINES)
        .filter(|line| !line.trim().is_empty() && !is_fence(line))
        .copied()
        .collect();
    let candidates: Vec<String> = lines
        .iter()
        .filter_map(|line| clean_path_line(line))
        .collect();
    if let Some(known) = candidates
        .iter()
        .find(|c| files_in_play.contains(&c.as_str()))
    {
        return Some(known.clone());
    }
    if let Some(nearest) = candidates.first()
        && !lines[0].trim_end().ends_with(':')
        && looks_like_spaced_path(nearest)
    {
        return Some(nearest.clone());
    }
    candidates.into_iter().find(|c| looks_like_path(c))
}

/// The line right above a block may name a file with spaces (`docs/user guide.md`) when its
/// last word ends in a file extension; prose such as `See src/main.rs for details` does not.
fn looks_like_spaced_path(candidate: &str) -> bool {
    let last = candidate.rsplit('/').next().unwrap_or(candidate);
    match last.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && !ext.is_empty()
                && ext.len() <= 10
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// Removes the decorations models put around a path: `#`, bold, backticks, a trailing colon,
/// a `File:` label.
pub(crate) fn clean_path_line(line: &str) -> Option<String> {
    let mut s = line.trim();
    s = s.trim_start_matches('#').trim();
    for label in ["File:", "file:", "Path:", "path:", "Filename:", "filename:"] {
        if let Some(rest) = s.strip_prefix(label) {
            s = rest.trim();
        }
    }
    loop {
        let before = s;
        s = s
            .trim_matches(|c| c == '*' || c == '`' || c == '"' || c == '\'')
            .trim();
        s = s.strip_suffix(':').unwrap_or(s).trim();
        if s == before {
            break;
        }
    }
    (!s.is_empty()).then(|| s.to_string())
}

/// A bare word is taken as a path only when it has a directory or an extension, so prose such
/// as `Change:` is never mistaken for a file.
fn looks_like_path(candidate: &str) -> bool {
    !candidate.contains(char::is_whitespace)
        && (candidate.contains('/') || candidate.contains('.'))
        && !candidate.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_tolerate_length_and_trailing_whitespace() {
        assert!(is_marker("<<<<<<< SEARCH  \n", '<', "SEARCH"));
        assert!(is_marker("<<<<< SEARCH\n", '<', "SEARCH"));
        assert!(!is_marker("<<<<<<<SEARCH\n", '<', "SEARCH"));
        assert!(!is_marker("<< SEARCH\n", '<', "SEARCH"));
        assert!(is_divider("=======\t\n"));
        assert!(!is_divider("== =====\n"));
    }

    #[test]
    fn path_decorations_are_removed() {
        assert_eq!(
            clean_path_line("**`src/lib.rs`**:\n").as_deref(),
            Some("src/lib.rs")
        );
        assert_eq!(
            clean_path_line("### File: src/a.py\n").as_deref(),
            Some("src/a.py")
        );
        assert!(!looks_like_path("Change"));
        assert!(!looks_like_path("Here is the fix"));
        assert!(looks_like_spaced_path("docs/user guide.md"));
        assert!(!looks_like_spaced_path("See src/main.rs for details"));
        assert!(!looks_like_spaced_path("Here is the fix."));
    }
}
