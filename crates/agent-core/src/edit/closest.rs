//! The real lines of a file that come closest to a SEARCH section that did not match, so the
//! Editor (and the user) can see what the file actually says.

use super::matching::split_lines;

/// Files longer than this are compared line by line for equality only (fast), not by edit
/// distance.
const FUZZY_LINE_LIMIT: usize = 5_000;

/// A window of real file lines similar to a failed SEARCH section.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosestLines {
    /// 1-based number of the first line of the window.
    pub start_line: usize,
    /// The lines, each ending in `\n`.
    pub text: String,
    /// Mean per-line similarity in `0.0..=1.0` (1.0 = identical ignoring surrounding whitespace).
    pub similarity: f64,
}

/// Finds the window of `content` (as many lines as `search` has) most similar to `search`.
///
/// Returns `None` when the file or SEARCH is empty.
pub fn closest_lines(content: &str, search: &str) -> Option<ClosestLines> {
    let file: Vec<&str> = split_lines(content);
    let wanted: Vec<&str> = split_lines(search);
    if file.is_empty() || wanted.is_empty() {
        return None;
    }
    let width = wanted.len().min(file.len());
    let fuzzy = file.len() <= FUZZY_LINE_LIMIT;
    let mut best: Option<(usize, f64)> = None;
    for start in 0..=file.len() - width {
        let total: f64 = (0..width)
            .map(|k| line_similarity(file[start + k], wanted[k], fuzzy))
            .sum::<f64>();
        let score = total / wanted.len() as f64;
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((start, score));
        }
    }
    let (start, similarity) = best?;
    let mut text = String::new();
    for line in &file[start..start + width] {
        text.push_str(line);
        text.push('\n');
    }
    Some(ClosestLines {
        start_line: start + 1,
        text,
        similarity,
    })
}

fn line_similarity(a: &str, b: &str, fuzzy: bool) -> f64 {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        1.0
    } else if fuzzy {
        strsim::normalized_levenshtein(a, b)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearly_matching_window() {
        let content = "fn a() {}\nfn b() {\n    let x = 1;\n}\nfn c() {}\n";
        let found = closest_lines(content, "fn b() {\n    let x = 2;\n}\n").unwrap();
        assert_eq!(found.start_line, 2);
        assert_eq!(found.text, "fn b() {\n    let x = 1;\n}\n");
        assert!(
            found.similarity > 0.9 && found.similarity < 1.0,
            "{}",
            found.similarity
        );
    }
}
