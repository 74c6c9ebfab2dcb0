//! The whole-file format, the fallback for models that cannot produce SEARCH/REPLACE blocks:
//! the path alone on a line, then the file's complete new content in a ``` fence.

use super::parse::{ParseError, clean_path_line};

/// One file's complete new content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WholeFile {
    /// Repository-relative path.
    pub path: String,
    /// The complete new content (ends with `\n` unless empty).
    pub content: String,
}

/// Parses a whole-file reply.
///
/// Every fenced block is a file. Its path is the line just above the fence, or a path after
/// the fence's language tag (```` ```rust src/main.rs ````), or the only file in play. Fences
/// nested inside the content must carry a language tag to be told apart from the closing fence.
pub fn parse_whole_files(
    reply: &str,
    files_in_play: &[&str],
) -> Result<Vec<WholeFile>, ParseError> {
    let normalized = reply.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.lines().collect();
    let mut files = Vec::new();
    let mut i = 0;
    let mut prose_start = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_end().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let open_line = i + 1;
        let from_info = info
            .split_whitespace()
            .filter_map(clean_path_line)
            .find(|w| w.contains('.') || w.contains('/'));
        let from_above = lines[prose_start..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| clean_path_line(l))
            .filter(|p| {
                files_in_play.contains(&p.as_str())
                    || (!p.contains(' ') && (p.contains('.') || p.contains('/')))
            });
        let path = from_info
            .or(from_above)
            .or_else(|| (files_in_play.len() == 1).then(|| files_in_play[0].to_string()))
            .ok_or(ParseError::MissingPath {
                block: files.len() + 1,
                line: open_line,
            })?;

        let mut depth = 0usize;
        let mut content = String::new();
        i += 1;
        loop {
            let Some(line) = lines.get(i) else {
                return Err(ParseError::UnclosedFence { line: open_line });
            };
            let trimmed = line.trim_end();
            if trimmed == "```" {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            } else if trimmed.starts_with("```") {
                depth += 1;
            }
            content.push_str(line);
            content.push('\n');
            i += 1;
        }
        i += 1;
        prose_start = i;
        files.push(WholeFile { path, content });
    }
    Ok(files)
}
