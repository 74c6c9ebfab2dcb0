//! One SEARCH/REPLACE block as parsed from an Editor reply.

/// A single edit: replace `search` with `replace` in the file at `path`.
///
/// `search` and `replace` hold whole lines, each ending in `\n` (an empty string means no lines).
/// An empty `search` on a path that does not exist yet creates that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditBlock {
    /// Repository-relative path as written by the Editor (decorations removed).
    pub path: String,
    /// The lines to find.
    pub search: String,
    /// The lines to put in their place.
    pub replace: String,
}

impl EditBlock {
    /// Builds a block; convenient in tests and for programmatic edits.
    pub fn new(
        path: impl Into<String>,
        search: impl Into<String>,
        replace: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            search: search.into(),
            replace: replace.into(),
        }
    }

    /// Renders the block back in the canonical SEARCH/REPLACE form (no fence).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.path);
        out.push('\n');
        out.push_str("<<<<<<< SEARCH\n");
        push_lines(&mut out, &self.search);
        out.push_str("=======\n");
        push_lines(&mut out, &self.replace);
        out.push_str(">>>>>>> REPLACE\n");
        out
    }
}

fn push_lines(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}
