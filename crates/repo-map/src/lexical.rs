//! Lexical signals that PageRank does not see: the request's words in the files' paths, and paths
//! that hold build output rather than sources.
//!
//! PageRank over definitions and references finds the files that matter to the code the request
//! names, but a request often names a part of the repository instead (`ignore/types: add a type`,
//! `fix(fetch): …`): its words are in a path, not in an identifier. And the graph's hubs (files that
//! define what everything references) lead the ranking whatever the request says. Matching the
//! request's words against path words, weighted by how rare each word is among the paths (a word
//! in every path, like `src`, says nothing), seeds the ranking with the files the request names.

use std::collections::{BTreeSet, HashMap};

use crate::cache::{Interner, StoredTags};
use crate::ident::split_identifier;

/// Words too common in requests to name a part of a repository.
const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "when",
    "from",
    "into",
    "that",
    "this",
    "not",
    "are",
    "was",
    "use",
    "add",
    "fix",
    "make",
    "don",
    "should",
    "can",
    "all",
    "its",
    "out",
    "new",
    "more",
    "some",
    "also",
    "now",
    "but",
    "only",
    "instead",
    "than",
    "via",
    "per",
    "support",
    "allow",
    "remove",
    "update",
    "improve",
    "handle",
    "avoid",
    "change",
    "feat",
    "refactor",
    "perf",
    "bug",
    "issue",
    "case",
    "correct",
    "properly",
    "better",
    "don't",
    "doesn",
    "isn",
    "set",
    "get",
    "work",
    "way",
    "like",
    "there",
    "which",
    "will",
    "would",
    "could",
    "been",
    "being",
    "have",
    "has",
    "had",
    "any",
    "each",
    "other",
    "them",
    "they",
    "their",
    "then",
    "what",
    "where",
    "why",
    "how",
    "too",
    "very",
    "just",
    "able",
    "possible",
    "potential",
    "used",
    "using",
    "fixed",
    "added",
    "removed",
    "updated",
];

/// A word's canonical form: lowercase, a plural `s`/`es` dropped.
fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    if let Some(s) = w.strip_suffix("ies").filter(|s| s.len() >= 3) {
        return format!("{s}y");
    }
    if let Some(s) = w
        .strip_suffix("es")
        .filter(|s| s.len() >= 3 && s.ends_with(['s', 'x', 'h']))
    {
        return s.to_string();
    }
    match w.strip_suffix('s') {
        Some(s) if s.len() >= 3 && !s.ends_with('s') => s.to_string(),
        _ => w,
    }
}

/// The words of a request or a path, split the way code names things (`/`, `.`, `_`, `-`,
/// camelCase), stemmed, without stop words and words shorter than three letters.
pub(crate) fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .flat_map(split_identifier)
        .filter(|w| w.len() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Whether `text` contains one of `words` (lowercase), ignoring ASCII case; no allocation, so it
/// can rule out most paths and identifiers before they are split. (A stem is a prefix of the words
/// it stands for, but for `y` ← `ies`: that `y` is left out of the test.)
fn holds_any<'a>(text: &str, words: impl IntoIterator<Item = &'a String>) -> bool {
    let text = text.as_bytes();
    words.into_iter().any(|w| {
        let w = w.strip_suffix('y').unwrap_or(w).as_bytes();
        w.len() <= text.len() && text.windows(w.len()).any(|win| win.eq_ignore_ascii_case(w))
    })
}

/// The words of a path, without its extension.
fn path_words(path: &str) -> BTreeSet<String> {
    let without_ext = match path.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => stem,
        _ => path,
    };
    words(without_ext)
}

/// How well each path matches the request's words, in `[0, 1]`: the share of the request's
/// information that the path's words carry. Each request word found in some path weighs its
/// rarity among the paths (`ln(1 + N / paths with the word)`); words in no path do not count, so
/// a request that names a part of the repository by one rare word matches it fully, and a path
/// that only shares a common word matches a little. Test paths count half, so that a source and
/// its test named alike are not tied.
pub(crate) fn path_scores(request: &str, paths: &[&str]) -> Vec<f64> {
    let wanted = words(request);
    let mut scores = vec![0.0; paths.len()];
    if wanted.is_empty() || paths.is_empty() {
        return scores;
    }
    // Most paths hold no request word even as a substring; only the others are split.
    let per_path: Vec<BTreeSet<String>> = paths
        .iter()
        .map(|p| {
            if holds_any(p, &wanted) {
                path_words(p)
            } else {
                BTreeSet::new()
            }
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for ws in &per_path {
        for w in ws.iter().filter(|w| wanted.contains(*w)) {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let n = paths.len() as f64;
    let weight = |d: usize| (1.0 + n / d as f64).ln();
    // Folded from +0.0: an empty `sum()` of floats is -0.0.
    let total = df.values().map(|&d| weight(d)).fold(0.0, |a, b| a + b);
    if total == 0.0 {
        return scores;
    }
    for ((score, ws), path) in scores.iter_mut().zip(&per_path).zip(paths) {
        let covered = ws
            .iter()
            .filter_map(|w| df.get(w.as_str()))
            .map(|&d| weight(d))
            .fold(0.0, |a, b| a + b);
        *score = covered / total;
        if is_test_path(path) {
            *score *= 0.5;
        }
    }
    scores
}

/// BM25 over the words of the identifiers each file defines and uses, in `[0, 1]` (1 for the best
/// file; all 0 when no identifier holds a request word). This reaches the files that *use* what a
/// request names (`fix lookup error handling` → the adapter that calls `lookup`), where the graph
/// seeds only the files that define it.
pub(crate) fn content_scores(request: &str, idents: &Interner, files: &[&StoredTags]) -> Vec<f64> {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let wanted: Vec<String> = words(request).into_iter().take(32).collect();
    let mut scores = vec![0.0; files.len()];
    if wanted.is_empty() || files.is_empty() {
        return scores;
    }
    // Which request words each identifier holds, as a bit set; most identifiers hold none, and a
    // substring test rules them out before any splitting.
    let mut holds = vec![0u32; idents.len()];
    for (id, mask) in holds.iter_mut().enumerate() {
        let name = idents.get(id as u32);
        if !holds_any(name, wanted.iter()) {
            continue;
        }
        let parts = words(name);
        for (bit, w) in wanted.iter().enumerate() {
            if parts.contains(w) {
                *mask |= 1 << bit;
            }
        }
    }
    let mut tf = vec![[0u32; 32]; 0];
    tf.resize(files.len(), [0u32; 32]);
    let mut lengths = vec![0f64; files.len()];
    for (f, tags) in files.iter().enumerate() {
        let occurrences = tags
            .refs
            .iter()
            .map(|&(id, n)| (id, n))
            .chain(tags.defs.iter().map(|d| (d.ident, 1)));
        for (id, n) in occurrences {
            lengths[f] += f64::from(n);
            let mut mask = holds[id as usize];
            while mask != 0 {
                let bit = mask.trailing_zeros() as usize;
                tf[f][bit] += n;
                mask &= mask - 1;
            }
        }
    }
    let n = files.len() as f64;
    let average = (lengths.iter().sum::<f64>() / n).max(1.0);
    for bit in 0..wanted.len() {
        let df = tf.iter().filter(|t| t[bit] > 0).count() as f64;
        if df == 0.0 {
            continue;
        }
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        for (f, score) in scores.iter_mut().enumerate() {
            let t = f64::from(tf[f][bit]);
            if t > 0.0 {
                *score += idf * t * (K1 + 1.0) / (t + K1 * (1.0 - B + B * lengths[f] / average));
            }
        }
    }
    let best = scores.iter().copied().fold(0.0, f64::max);
    if best > 0.0 {
        scores.iter_mut().for_each(|s| *s /= best);
    }
    scores
}

/// Whether a path is test code (a test directory or a test file name).
pub(crate) fn is_test_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut parts = lower.split('/');
    let name = parts.next_back().unwrap_or("");
    let stem = name.split('.').next().unwrap_or(name);
    parts.any(|d| {
        matches!(
            d,
            "test" | "tests" | "testing" | "testdata" | "spec" | "specs" | "__tests__"
        )
    }) || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || name.contains(".test.")
        || name.contains(".spec.")
}

/// Whether a path holds build output or vendored code (`dist/`, `build/`, `vendor/`, minified or
/// bundled files): tracked copies of the sources that define everything the sources do, and so
/// would lead the ranking without being where a change is made.
pub(crate) fn is_build_output(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut parts = lower.split('/');
    let name = parts.next_back().unwrap_or("");
    parts.any(|d| {
        matches!(
            d,
            "dist" | "build" | "out" | "vendor" | "vendored" | "third_party" | "node_modules"
        )
    }) || name.contains(".min.")
        || name.contains(".bundle.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_stem_and_drop_stop_words() {
        let w = words("ignore/types: add `PKGBUILD` type for parseConfigFiles");
        for expected in ["ignore", "type", "pkgbuild", "parse", "config", "file"] {
            assert!(w.contains(expected), "{expected} in {w:?}");
        }
        assert!(!w.contains("add") && !w.contains("for"));
        assert_eq!(stem("libraries"), "library");
        assert_eq!(stem("matches"), "match");
        assert_eq!(stem("class"), "class");
    }

    #[test]
    fn rare_path_words_outweigh_common_ones() {
        let paths = [
            "crates/ignore/src/default_types.rs",
            "crates/ignore/src/walk.rs",
            "crates/ignore/src/dir.rs",
            "crates/core/flags/defs.rs",
        ];
        let s = path_scores("ignore/types: add Mojo type", &paths);
        assert_eq!(s[0], 1.0);
        assert!(s[1] > 0.0 && s[1] < 0.5, "{s:?}");
        assert_eq!(s[3], 0.0);
        let with_test = ["lib/adapters/fetch.js", "test/unit/adapters/fetch.js"];
        let s = path_scores("fix(fetch): treat TypeError as a network error", &with_test);
        assert_eq!(s, vec![1.0, 0.5]);
        let s = path_scores("load the libraries", &["src/libraries.rs", "src/other.rs"]);
        assert_eq!(s, vec![1.0, 0.0]);
        assert!(
            path_scores("nothing matches here", &paths)
                .iter()
                .all(|&x| x == 0.0)
        );
    }

    #[test]
    fn build_output_is_recognised_by_directory_and_name() {
        assert!(is_build_output("dist/node/axios.cjs"));
        assert!(is_build_output("static/js/app.min.js"));
        assert!(is_build_output("third_party/zlib/inflate.c"));
        assert!(!is_build_output("lib/core/Axios.js"));
        assert!(!is_build_output("src/builder.rs"));
    }
}
