//! A direct matcher for the subset of the tree-sitter query language the bundled tags queries use.
//!
//! tree-sitter's general query engine costs more than parsing on large files (it tracks in-progress
//! states and field/supertype status at every node). The tags queries only need plain structural
//! patterns: nested nodes, `field:` constraints, `(_)` wildcards, anonymous `"tokens"`, alternations of
//! childless nodes (`[(a) (b)]`) and captures. This module compiles exactly that subset into a table
//! keyed by node kind and matches it in one cursor walk, calling back once per match with the same
//! captures tree-sitter would report (every in-order assignment of child patterns to children).
//!
//! A query using anything else (predicates, anchors, quantifiers, negated fields, …) does not compile
//! here, and extraction falls back to tree-sitter's engine. `tests/matcher.rs` checks both agree.

use std::ops::ControlFlow;

use tree_sitter::{Language, Node, TreeCursor};

use crate::tag_kind::TagKind;

/// What a capture means to tag extraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Capture {
    /// `@name`: the defined identifier.
    Name,
    /// `@def.<kind>`: the whole definition (`None` for a kind this crate does not know).
    Def(Option<TagKind>),
    /// `@ref.<anything>`: a reference.
    Ref,
    /// Any other capture (ignored).
    Other,
}

impl Capture {
    pub(crate) fn from_name(name: &str) -> Capture {
        if name == "name" {
            Capture::Name
        } else if let Some(kind) = name.strip_prefix("def.") {
            Capture::Def(TagKind::from_capture(kind))
        } else if name.starts_with("ref.") {
            Capture::Ref
        } else {
            Capture::Other
        }
    }
}

/// Which node kinds a pattern node accepts.
#[derive(Debug)]
enum Kinds {
    /// `(_)`: any named node.
    AnyNamed,
    /// Kind ids (several when a name has aliases, or for an alternation).
    Ids(Vec<u16>),
}

#[derive(Debug)]
struct NodePat {
    kinds: Kinds,
    /// Field the node must sit in, relative to its parent.
    field: Option<u16>,
    captures: Vec<Capture>,
    children: Vec<NodePat>,
}

impl NodePat {
    fn accepts(&self, node: Node<'_>, field: Option<u16>) -> bool {
        if self.field.is_some() && self.field != field {
            return false;
        }
        match &self.kinds {
            Kinds::AnyNamed => node.is_named(),
            Kinds::Ids(ids) => ids.contains(&node.kind_id()),
        }
    }
}

/// The compiled patterns of one tags query.
#[derive(Debug)]
pub(crate) struct Matcher {
    /// Patterns in query order (the index is tree-sitter's pattern index).
    patterns: Vec<NodePat>,
    /// For each node kind id, the patterns whose root accepts it.
    by_kind: Vec<Vec<u16>>,
    /// Patterns whose root is `(_)`.
    any_named: Vec<u16>,
}

/// The captures of one match, as (capture, node) in pattern order.
pub(crate) type Captures<'t> = [(Capture, Node<'t>)];

/// How many nodes are visited between two checks of the time budget.
const CHECK_EVERY: u32 = 4096;

impl Matcher {
    /// Compiles `source` for `language`; `None` if it uses anything outside the supported subset or
    /// names a node kind or field the grammar lacks (tree-sitter's engine then reports the error).
    pub(crate) fn compile(language: &Language, source: &str) -> Option<Matcher> {
        let mut p = SexpParser {
            s: source.as_bytes(),
            at: 0,
            language,
        };
        let mut patterns = Vec::new();
        loop {
            p.skip_space();
            if p.at >= p.s.len() {
                break;
            }
            let mut pat = p.node(None)?;
            pat.captures.extend(p.captures()?);
            patterns.push(pat);
        }
        if patterns.len() > u16::MAX as usize {
            return None;
        }
        let mut by_kind = vec![Vec::new(); language.node_kind_count()];
        let mut any_named = Vec::new();
        for (i, pat) in patterns.iter().enumerate() {
            match &pat.kinds {
                Kinds::AnyNamed => any_named.push(i as u16),
                Kinds::Ids(ids) => {
                    for &id in ids {
                        by_kind[id as usize].push(i as u16);
                    }
                }
            }
        }
        Some(Matcher {
            patterns,
            by_kind,
            any_named,
        })
    }

    /// Calls `on_match(pattern index, captures)` for every match in the tree under `root`, in
    /// document order of the pattern roots. Stops early (returning `Break`) when `check` does, which
    /// is asked every few thousand nodes.
    pub(crate) fn for_each_match<'t>(
        &self,
        root: Node<'t>,
        check: &mut dyn FnMut() -> ControlFlow<()>,
        on_match: &mut dyn FnMut(usize, &Captures<'t>),
    ) -> ControlFlow<()> {
        let mut cursor = root.walk();
        let mut scratch = Scratch {
            cursor: root.walk(),
            captures: Vec::new(),
            spare: Vec::new(),
        };
        let mut visited = 0u32;
        loop {
            let node = cursor.node();
            let kind = node.kind_id() as usize;
            let roots = self.by_kind.get(kind).map_or(&[][..], Vec::as_slice);
            if self.any_named.is_empty() || !node.is_named() {
                for &i in roots {
                    self.run(i, node, &mut scratch, on_match);
                }
            } else {
                // A named node is also a candidate root for every `(_)` pattern.
                let mut candidates: Vec<u16> =
                    roots.iter().chain(&self.any_named).copied().collect();
                candidates.sort_unstable();
                candidates.dedup();
                for i in candidates {
                    self.run(i, node, &mut scratch, on_match);
                }
            }
            visited += 1;
            if visited.is_multiple_of(CHECK_EVERY) && check().is_break() {
                return ControlFlow::Break(());
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return ControlFlow::Continue(());
                }
            }
        }
    }

    /// Matches pattern `i` rooted at `node`.
    fn run<'t>(
        &self,
        i: u16,
        node: Node<'t>,
        scratch: &mut Scratch<'t>,
        on_match: &mut dyn FnMut(usize, &Captures<'t>),
    ) {
        scratch.captures.clear();
        match_node_then(&self.patterns[i as usize], node, scratch, &mut |s| {
            on_match(i as usize, &s.captures)
        });
    }
}

/// Children of a node with their field ids.
type Children<'t> = Vec<(Node<'t>, Option<u16>)>;

struct Scratch<'t> {
    cursor: TreeCursor<'t>,
    captures: Vec<(Capture, Node<'t>)>,
    /// Spare child lists, reused so matching allocates nothing per node.
    spare: Vec<Children<'t>>,
}

/// Matches `pat` (already accepted at `node`) and then its children in every way they fit, calling
/// `k` with the captures so far for each; `k` gets the scratch space to go on matching siblings.
fn match_node_then<'t>(
    pat: &NodePat,
    node: Node<'t>,
    scratch: &mut Scratch<'t>,
    k: &mut dyn FnMut(&mut Scratch<'t>),
) {
    let mark = scratch.captures.len();
    scratch
        .captures
        .extend(pat.captures.iter().map(|&c| (c, node)));
    if pat.children.is_empty() {
        k(scratch);
    } else {
        let mut children = scratch.spare.pop().unwrap_or_default();
        children_of(node, &mut scratch.cursor, &mut children);
        match_children_then(&pat.children, &children, 0, scratch, k);
        scratch.spare.push(children);
    }
    scratch.captures.truncate(mark);
}

/// Assigns `pats` in order to children at or after `from`, in every way that matches.
fn match_children_then<'t>(
    pats: &[NodePat],
    children: &Children<'t>,
    from: usize,
    scratch: &mut Scratch<'t>,
    k: &mut dyn FnMut(&mut Scratch<'t>),
) {
    let Some((first, rest)) = pats.split_first() else {
        k(scratch);
        return;
    };
    for (j, &(child, field)) in children.iter().enumerate().skip(from) {
        if first.accepts(child, field) {
            match_node_then(first, child, scratch, &mut |scratch| {
                match_children_then(rest, children, j + 1, scratch, k)
            });
        }
    }
}

/// The visible children of `node` with their field ids, into `out`.
fn children_of<'t>(node: Node<'t>, cursor: &mut TreeCursor<'t>, out: &mut Children<'t>) {
    out.clear();
    cursor.reset(node);
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_id().map(|f| f.get())));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

/// A recursive-descent reader of the supported query subset.
struct SexpParser<'a> {
    s: &'a [u8],
    at: usize,
    language: &'a Language,
}

impl SexpParser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.s.len() {
            match self.s[self.at] {
                b';' => {
                    while self.at < self.s.len() && self.s[self.at] != b'\n' {
                        self.at += 1;
                    }
                }
                c if c.is_ascii_whitespace() => self.at += 1,
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.at).copied()
    }

    fn word(&mut self) -> Option<&str> {
        self.skip_space();
        let start = self.at;
        while self.at < self.s.len()
            && (self.s[self.at].is_ascii_alphanumeric() || matches!(self.s[self.at], b'_' | b'.'))
        {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.at]).ok()
    }

    fn captures(&mut self) -> Option<Vec<Capture>> {
        let mut out = Vec::new();
        while self.peek() == Some(b'@') {
            self.at += 1;
            out.push(Capture::from_name(self.word()?));
        }
        Some(out)
    }

    /// Every kind id whose (name, named) is this, covering aliases that share a name.
    fn kind_ids(&self, name: &str, named: bool) -> Option<Vec<u16>> {
        let ids: Vec<u16> = (0..self.language.node_kind_count() as u16)
            .filter(|&id| {
                self.language.node_kind_is_named(id) == named
                    && self.language.node_kind_is_visible(id)
                    && self.language.node_kind_for_id(id) == Some(name)
            })
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    /// A node pattern (with an optional field already read by the caller).
    fn node(&mut self, field: Option<u16>) -> Option<NodePat> {
        match self.peek()? {
            b'(' => {
                self.at += 1;
                let name = self.word()?.to_string();
                let kinds = if name == "_" {
                    Kinds::AnyNamed
                } else {
                    Kinds::Ids(self.kind_ids(&name, true)?)
                };
                let mut children = Vec::new();
                loop {
                    match self.peek()? {
                        b')' => {
                            self.at += 1;
                            break;
                        }
                        b'(' | b'"' | b'[' => {
                            let mut child = self.node(None)?;
                            child.captures.extend(self.captures()?);
                            children.push(child);
                        }
                        _ => {
                            // `field: pattern`; anything else (predicates, anchors, negations) is
                            // outside the subset.
                            let field_name = self.word()?.to_string();
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.at += 1;
                            let id = self.language.field_id_for_name(&field_name)?.get();
                            let mut child = self.node(Some(id))?;
                            child.captures.extend(self.captures()?);
                            children.push(child);
                        }
                    }
                }
                self.quantifier_free()?;
                Some(NodePat {
                    kinds,
                    field,
                    captures: Vec::new(),
                    children,
                })
            }
            b'"' => {
                self.at += 1;
                let start = self.at;
                while self.at < self.s.len() && self.s[self.at] != b'"' {
                    if self.s[self.at] == b'\\' {
                        return None;
                    }
                    self.at += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.at])
                    .ok()?
                    .to_string();
                self.at += 1;
                self.quantifier_free()?;
                Some(NodePat {
                    kinds: Kinds::Ids(self.kind_ids(&text, false)?),
                    field,
                    captures: Vec::new(),
                    children: Vec::new(),
                })
            }
            b'[' => {
                // Alternation of childless, capture-free named nodes only.
                self.at += 1;
                let mut ids = Vec::new();
                loop {
                    match self.peek()? {
                        b']' => {
                            self.at += 1;
                            break;
                        }
                        b'(' => {
                            let alt = self.node(None)?;
                            if !alt.children.is_empty() || !alt.captures.is_empty() {
                                return None;
                            }
                            match alt.kinds {
                                Kinds::Ids(more) => ids.extend(more),
                                Kinds::AnyNamed => return None,
                            }
                            if self.peek()? == b'@' {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                self.quantifier_free()?;
                ids.sort_unstable();
                ids.dedup();
                Some(NodePat {
                    kinds: Kinds::Ids(ids),
                    field,
                    captures: Vec::new(),
                    children: Vec::new(),
                })
            }
            _ => None,
        }
    }

    /// Fails on a quantifier (`*`, `+`, `?`) after a pattern.
    fn quantifier_free(&mut self) -> Option<()> {
        match self.s.get(self.at) {
            Some(b'*' | b'+' | b'?') => None,
            _ => Some(()),
        }
    }
}
