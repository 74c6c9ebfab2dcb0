//! Tag extraction: one file's definitions and references, from tree-sitter and the bundled queries.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tree_sitter::{ParseOptions, Parser, QueryCursor, QueryCursorOptions, StreamingIterator};

use crate::lang::Lang;

/// Longest signature line kept, in characters; longer lines are cut and end with `…`.
const MAX_SIGNATURE_CHARS: usize = 200;

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
    fn from_capture(suffix: &str) -> Option<Self> {
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

/// A definition found in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// The defined name.
    pub name: String,
    /// What it is.
    pub kind: TagKind,
    /// 1-based line of the definition's first line.
    pub line: u32,
    /// That first line, trimmed at the end (cut at 200 characters).
    pub signature: String,
}

/// The tags of one file: its definitions, and how often it references each name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileTags {
    /// Definitions in line order.
    pub definitions: Vec<Definition>,
    /// Referenced names with their number of occurrences, sorted by name.
    pub references: Vec<(String, u32)>,
}

impl FileTags {
    /// Number of tags: definitions plus reference occurrences.
    pub fn tag_count(&self) -> usize {
        self.definitions.len()
            + self
                .references
                .iter()
                .map(|(_, n)| *n as usize)
                .sum::<usize>()
    }

    /// A content hash of the tags, used to tell whether the graph must change.
    pub fn fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for d in &self.definitions {
            h.update(d.name.as_bytes());
            h.update(&[0, d.kind as u8]);
            h.update(&d.line.to_le_bytes());
            h.update(d.signature.as_bytes());
            h.update(&[0xff]);
        }
        for (name, n) in &self.references {
            h.update(name.as_bytes());
            h.update(&n.to_le_bytes());
        }
        h.digest()
    }
}

/// Why a file yielded no tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Larger than the configured size limit.
    TooLarge,
    /// Contains NUL bytes or is not UTF-8.
    Binary,
    /// Looks minified (very long lines).
    Minified,
    /// Marked as generated (`@generated`, `DO NOT EDIT`, …).
    Generated,
    /// Tree-sitter did not finish within the per-file time limit.
    TimedOut,
    /// The file could not be read.
    Unreadable,
}

impl SkipReason {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "too_large",
            SkipReason::Binary => "binary",
            SkipReason::Minified => "minified",
            SkipReason::Generated => "generated",
            SkipReason::TimedOut => "timed_out",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

/// Decides from the content whether a source file should be skipped (binary, minified, generated).
pub fn content_skip_reason(bytes: &[u8]) -> Option<SkipReason> {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) || std::str::from_utf8(bytes).is_err() {
        return Some(SkipReason::Binary);
    }
    let mut lines = 0usize;
    let mut longest = 0usize;
    for line in bytes.split(|&b| b == b'\n') {
        lines += 1;
        longest = longest.max(line.len());
    }
    let average = bytes.len() / lines.max(1);
    if longest > 10_000 || (bytes.len() > 2048 && average > 300) {
        return Some(SkipReason::Minified);
    }
    // Generated-file markers live in the first few lines.
    let first: Vec<&[u8]> = bytes.split(|&b| b == b'\n').take(5).collect();
    let markers: [&[u8]; 4] = [
        b"@generated",
        b"DO NOT EDIT",
        b"Code generated",
        b"autogenerated",
    ];
    for line in first {
        if markers
            .iter()
            .any(|m| line.windows(m.len()).any(|w| w == *m))
        {
            return Some(SkipReason::Generated);
        }
    }
    None
}

/// Extracts the tags of `source`, giving up (with [`SkipReason::TimedOut`]) once parsing and querying
/// together take more than `limit` of CPU time (or twenty times `limit` of wall-clock time).
pub fn extract_tags(lang: Lang, source: &str, limit: Duration) -> Result<FileTags, SkipReason> {
    thread_local! {
        static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
    }
    let query = match lang.tags_query() {
        Ok(q) => q,
        Err(e) => {
            tracing::error!("{e}");
            return Ok(FileTags::default());
        }
    };
    let budget = Budget::start(limit);
    let tree = PARSER.with(|parser| {
        let mut parser = parser.borrow_mut();
        parser.set_language(&lang.grammar()).ok()?;
        let mut past_deadline = |_: &tree_sitter::ParseState| budget.check();
        let bytes = source.as_bytes();
        let tree = parser.parse_with_options(
            &mut |offset, _| &bytes[offset.min(bytes.len())..],
            None,
            Some(ParseOptions::new().progress_callback(&mut past_deadline)),
        );
        // A cancelled parse leaves state behind; reset so the next file starts clean.
        if tree.is_none() {
            parser.reset();
        }
        tree
    });
    let Some(tree) = tree else {
        return Err(SkipReason::TimedOut);
    };

    let names = query.capture_names();
    let mut cursor = QueryCursor::new();
    let mut past_deadline = |_: &tree_sitter::QueryCursorState| budget.check();
    let mut matches = cursor.matches_with_options(
        query,
        tree.root_node(),
        source.as_bytes(),
        QueryCursorOptions::new().progress_callback(&mut past_deadline),
    );
    let lines: Vec<&str> = source.lines().collect();
    // (line, name) -> (pattern index, kind): later patterns are more specific and win.
    let mut defs: HashMap<(u32, String), (usize, TagKind)> = HashMap::new();
    // Reference captures by start byte; a name at its own definition site is not a reference.
    let mut ref_sites: Vec<(usize, &str)> = Vec::new();
    let mut def_sites: HashSet<usize> = HashSet::new();
    while let Some(m) = matches.next() {
        let mut name = None;
        let mut def = None;
        for cap in m.captures() {
            let capture = names[cap.index as usize];
            let text = || cap.node.utf8_text(source.as_bytes()).ok();
            if capture == "name" {
                name = text();
                def_sites.insert(cap.node.start_byte());
            } else if let Some(kind) = capture.strip_prefix("def.") {
                def = TagKind::from_capture(kind).map(|k| (k, cap.node.start_position().row));
            } else if capture.starts_with("ref.")
                && let Some(t) = text()
            {
                ref_sites.push((cap.node.start_byte(), t));
            }
        }
        if let (Some(name), Some((kind, row))) = (name, def) {
            let key = (row as u32 + 1, name.to_string());
            let slot = defs.entry(key).or_insert((m.pattern_index, kind));
            if m.pattern_index >= slot.0 {
                *slot = (m.pattern_index, kind);
            }
        }
    }
    if budget.check().is_break() {
        return Err(SkipReason::TimedOut);
    }
    // The same node may be captured by several reference patterns; count it once.
    ref_sites.sort_unstable();
    ref_sites.dedup();
    let mut refs: BTreeMap<String, u32> = BTreeMap::new();
    for (at, name) in ref_sites {
        if !def_sites.contains(&at) {
            *refs.entry(name.to_string()).or_default() += 1;
        }
    }

    let mut definitions: Vec<Definition> = defs
        .into_iter()
        .map(|((line, name), (_, kind))| Definition {
            signature: signature(lines.get(line as usize - 1).copied().unwrap_or("")),
            name,
            kind,
            line,
        })
        .collect();
    definitions.sort_by(|a, b| (a.line, &a.name).cmp(&(b.line, &b.name)));
    Ok(FileTags {
        definitions,
        references: refs.into_iter().collect(),
    })
}

/// The per-file time limit. It counts the CPU time of the parsing thread, so a machine busy with
/// other work does not make ordinary files time out; a wall-clock cap of [`WALL_FACTOR`] times the
/// limit still bounds a thread that is starved of CPU.
struct Budget {
    limit: Duration,
    started: Instant,
    cpu_start: Option<Duration>,
}

/// Multiple of the limit after which wall-clock time alone stops a parse.
const WALL_FACTOR: u32 = 20;

impl Budget {
    fn start(limit: Duration) -> Self {
        Budget {
            limit,
            started: Instant::now(),
            cpu_start: thread_cpu_time(),
        }
    }

    fn check(&self) -> ControlFlow<()> {
        let wall = self.started.elapsed();
        // CPU time never exceeds wall time, so the (slower) CPU clock is only read past the limit.
        if wall <= self.limit {
            return ControlFlow::Continue(());
        }
        if wall > self.limit * WALL_FACTOR {
            return ControlFlow::Break(());
        }
        match (self.cpu_start, thread_cpu_time()) {
            (Some(start), Some(now)) if now.saturating_sub(start) <= self.limit => {
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Break(()),
        }
    }
}

/// CPU time consumed by the calling thread.
#[cfg(unix)]
fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID is supported on every
    // unix this crate targets; on failure we fall back to wall-clock time.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

fn signature(line: &str) -> String {
    let line = line.trim_end();
    if line.chars().count() <= MAX_SIGNATURE_CHARS {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(MAX_SIGNATURE_CHARS).collect();
    cut.push('…');
    cut
}
