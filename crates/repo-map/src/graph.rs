//! The reference graph and personalized PageRank over it.
//!
//! Nodes are files and identifiers. A file points at each identifier it references (weighted by how
//! often, and by how informative the name is); an identifier points at the files that define it. A
//! random walk therefore goes file → name → defining file, which is the file-to-file reference graph
//! without materialising one edge per (referencer, definer) pair: a name defined in 500 files and used
//! in 5,000 costs 5,500 edges, not 2.5 million.

use rayon::prelude::*;

use crate::cache::{Index, Outcome};

const DAMPING: f64 = 0.85;
const MAX_ITERATIONS: usize = 100;
/// Convergence: total absolute change below this times the node count (networkx's criterion).
const TOLERANCE_PER_NODE: f64 = 1e-6;
/// Nodes per unit of PageRank work (and per partial sum of the convergence test).
const CHUNK: usize = 8192;
/// Graphs with fewer nodes plus edges than this are ranked on the calling thread.
const PARALLEL_ABOVE: usize = 1 << 20;

/// Node numbering: file nodes first (parsed files in index order), then one node per defined name.
pub(crate) struct Layout {
    /// Paths of parsed files, in node order.
    pub files: Vec<String>,
    /// Number of definitions of each name (all files).
    pub def_count: Vec<u32>,
    /// Number of distinct files defining each name.
    pub definers: Vec<u32>,
    /// Each defined name's position among the name nodes (`u32::MAX` for undefined names).
    ident_slot: Vec<u32>,
    /// Number of defined names.
    defined: usize,
}

impl Layout {
    pub(crate) fn new(index: &Index) -> Self {
        let n_idents = index.idents.len();
        let mut def_count = vec![0u32; n_idents];
        let mut definers = vec![0u32; n_idents];
        // The last file (node) that defined each name, to count each defining file once.
        let mut last_definer = vec![u32::MAX; n_idents];
        let mut files = Vec::new();
        for (path, entry) in &index.files {
            if let Outcome::Parsed(tags) = &entry.outcome {
                let file = files.len() as u32;
                files.push(path.clone());
                for def in &tags.defs {
                    let id = def.ident as usize;
                    def_count[id] += 1;
                    if last_definer[id] != file {
                        definers[id] += 1;
                        last_definer[id] = file;
                    }
                }
            }
        }
        // Only defined names become nodes: a reference to a name nothing defines leads nowhere.
        let mut defined = 0u32;
        let ident_slot = definers
            .iter()
            .map(|&d| {
                if d == 0 {
                    u32::MAX
                } else {
                    defined += 1;
                    defined - 1
                }
            })
            .collect();
        Layout {
            files,
            def_count,
            definers,
            ident_slot,
            defined: defined as usize,
        }
    }

    /// A starting vector for ranking this layout from `old_ranks`, ranked over `old`: each file and
    /// name keeps its old rank (new ones start at 0), normalised to sum to 1. `None` if nothing
    /// carries over.
    pub(crate) fn start_from(&self, old: &Layout, old_ranks: &[f64]) -> Option<Vec<f64>> {
        if old_ranks.len() != old.node_count() {
            return None;
        }
        let mut start = vec![0.0f64; self.node_count()];
        // Both file lists are sorted by path.
        let (mut i, mut j) = (0, 0);
        while i < self.files.len() && j < old.files.len() {
            match self.files[i].cmp(&old.files[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    start[i] = old_ranks[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        for ident in 0..self.definers.len().min(old.definers.len()) {
            if self.definers[ident] > 0 && old.definers[ident] > 0 {
                start[self.ident_node(ident as u32)] = old_ranks[old.ident_node(ident as u32)];
            }
        }
        let total: f64 = start.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        start.iter_mut().for_each(|x| *x /= total);
        Some(start)
    }

    pub(crate) fn node_count(&self) -> usize {
        self.files.len() + self.defined
    }

    /// The node of a name; only valid for names with at least one definition.
    pub(crate) fn ident_node(&self, ident: u32) -> usize {
        debug_assert!(
            self.definers[ident as usize] > 0,
            "undefined names have no node"
        );
        self.files.len() + self.ident_slot[ident as usize] as usize
    }
}

/// How much a reference to a name should count. `mention` is how specifically the request names
/// it, from 0 (not at all) to 1 (the most specific mention in the request).
pub(crate) fn ident_weight(name: &str, definers: u32, mention: f64) -> f64 {
    let mut w = 1.0 + 9.0 * mention;
    if name.starts_with('_') {
        w *= 0.1;
    }
    if name.chars().count() <= 2 {
        w *= 0.1;
    }
    if is_descriptive(name) {
        // `parse_config_file` or `TokenCounter` names one thing; `len` or `get` could be anything.
        w *= 4.0;
    }
    if definers > 5 {
        // Ubiquitous names (`new`, `run`, `get`) say little about which file is meant.
        w *= 5.0 / definers as f64;
    }
    w
}

/// Whether a name has several camelCase/snake_case parts and at least eight characters.
fn is_descriptive(name: &str) -> bool {
    if name.len() < 8 {
        return false;
    }
    let bytes = name.as_bytes();
    let inner_underscore = name.trim_matches('_').contains('_');
    let camel = bytes
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    inner_underscore || camel
}

/// Incoming edges in compressed form, for a deterministic pull-based PageRank.
pub(crate) struct Graph {
    offsets: Vec<u32>,
    sources: Vec<u32>,
    /// Edge weight already divided by the source's total outgoing weight.
    weights: Vec<f64>,
    dangling: Vec<u32>,
}

impl Graph {
    /// Builds the graph; `weight_of(ident)` gives each defined name's weight.
    ///
    /// Incoming edges are laid out by a counting sort: one pass counts each node's in-degree, a
    /// second fills the slots. Files are visited in node order, so each name's incoming edges come out
    /// sorted by source file; a file's incoming edges (from the names it defines) are sorted per file.
    pub(crate) fn build(
        index: &Index,
        layout: &Layout,
        weight_of: &mut dyn FnMut(u32) -> f64,
    ) -> Graph {
        let n = layout.node_count();
        let parsed = || {
            index.files.values().filter_map(|e| match &e.outcome {
                Outcome::Parsed(tags) => Some(tags),
                Outcome::Skipped { .. } => None,
            })
        };
        // Pass 1: edge weights out of each file (and their count), in-degrees.
        let mut offsets = vec![0u32; n + 1];
        let mut out_weight = vec![0.0f64; n];
        let mut ref_weights: Vec<f64> = Vec::new();
        for (file_node, tags) in parsed().enumerate() {
            for &(ident, count) in &tags.refs {
                if layout.definers[ident as usize] == 0 {
                    continue;
                }
                let w = weight_of(ident) * (count as f64).sqrt();
                ref_weights.push(w);
                if w > 0.0 {
                    offsets[layout.ident_node(ident) + 1] += 1;
                    out_weight[file_node] += w;
                }
            }
            for def in &tags.defs {
                offsets[file_node + 1] += 1;
                out_weight[layout.ident_node(def.ident)] += 1.0;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        // Pass 2: fill.
        let edges = offsets[n] as usize;
        let mut sources = vec![0u32; edges];
        let mut weights = vec![0.0f64; edges];
        let mut fill: Vec<u32> = offsets[..n].to_vec();
        let mut ref_weights = ref_weights.into_iter();
        let mut def_sources: Vec<u32> = Vec::new();
        for (file_node, tags) in parsed().enumerate() {
            for &(ident, _) in &tags.refs {
                if layout.definers[ident as usize] == 0 {
                    continue;
                }
                let w = ref_weights.next().unwrap_or(0.0);
                if w > 0.0 {
                    let target = layout.ident_node(ident);
                    let slot = fill[target] as usize;
                    fill[target] += 1;
                    sources[slot] = file_node as u32;
                    weights[slot] = w / out_weight[file_node];
                }
            }
            def_sources.clear();
            def_sources.extend(tags.defs.iter().map(|d| layout.ident_node(d.ident) as u32));
            def_sources.sort_unstable();
            for &source in &def_sources {
                let slot = fill[file_node] as usize;
                fill[file_node] += 1;
                sources[slot] = source;
                weights[slot] = 1.0 / out_weight[source as usize];
            }
        }
        let dangling = (0..n as u32)
            .filter(|&v| out_weight[v as usize] == 0.0)
            .collect();
        Graph {
            offsets,
            sources,
            weights,
            dangling,
        }
    }

    /// Personalized PageRank. `personal` is the teleport distribution (it need not be normalised;
    /// all zeros means uniform over `uniform_nodes`). Deterministic: each node sums its inputs in a
    /// fixed order, whatever the thread count. `start` (a distribution over the nodes) replaces the
    /// teleport distribution as the first iterate: after a small change of the graph, the previous
    /// ranking is a few iterations from the new one.
    pub(crate) fn pagerank(
        &self,
        personal: &[f64],
        uniform_nodes: usize,
        start: Option<Vec<f64>>,
    ) -> Vec<f64> {
        let n = self.offsets.len() - 1;
        let mut p = personal.to_vec();
        let total: f64 = p.iter().sum();
        if total <= 0.0 {
            p = (0..n)
                .map(|v| if v < uniform_nodes { 1.0 } else { 0.0 })
                .collect();
        }
        let total: f64 = p.iter().sum();
        if total <= 0.0 {
            return vec![0.0; n];
        }
        p.iter_mut().for_each(|x| *x /= total);
        let mut rank = start.filter(|s| s.len() == n).unwrap_or_else(|| p.clone());
        let mut next = vec![0.0f64; n];
        let mut deltas = vec![0.0f64; n.div_ceil(CHUNK)];
        for _ in 0..MAX_ITERATIONS {
            let dangling_mass: f64 = self.dangling.iter().map(|&v| rank[v as usize]).sum();
            let rank_now = &rank;
            let step = |(c, (out, delta)): (usize, (&mut [f64], &mut f64))| {
                let mut d = 0.0;
                for (k, slot) in out.iter_mut().enumerate() {
                    let v = c * CHUNK + k;
                    let (a, b) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
                    let mut inflow = 0.0;
                    for e in a..b {
                        inflow += rank_now[self.sources[e] as usize] * self.weights[e];
                    }
                    *slot = (1.0 - DAMPING) * p[v] + DAMPING * (inflow + dangling_mass * p[v]);
                    d += (*slot - rank_now[v]).abs();
                }
                *delta = d;
            };
            // Chunks have a fixed size and their deltas are added in chunk order, so the result does
            // not depend on the thread count; small graphs skip the thread pool's overhead.
            if self.sources.len() + n < PARALLEL_ABOVE {
                next.chunks_mut(CHUNK)
                    .zip(deltas.iter_mut())
                    .enumerate()
                    .for_each(step);
            } else {
                next.par_chunks_mut(CHUNK)
                    .zip(deltas.par_iter_mut())
                    .enumerate()
                    .for_each(step);
            }
            let delta: f64 = deltas.iter().sum();
            std::mem::swap(&mut rank, &mut next);
            if delta < TOLERANCE_PER_NODE * n as f64 {
                break;
            }
        }
        rank
    }
}
