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
        let mut files = Vec::new();
        for (path, entry) in &index.files {
            if let Outcome::Parsed(tags) = &entry.outcome {
                files.push(path.clone());
                let mut last = u32::MAX;
                let mut ids: Vec<u32> = tags.defs.iter().map(|d| d.ident).collect();
                ids.sort_unstable();
                for id in ids {
                    def_count[id as usize] += 1;
                    if id != last {
                        definers[id as usize] += 1;
                        last = id;
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

/// How much a reference to a name should count.
pub(crate) fn ident_weight(name: &str, definers: u32, mentioned: bool) -> f64 {
    let mut w = 1.0;
    if mentioned {
        w *= 10.0;
    }
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
    /// Builds the graph; `weight_of(ident)` gives each name's weight.
    pub(crate) fn build(index: &Index, layout: &Layout, weight_of: &dyn Fn(u32) -> f64) -> Graph {
        let n = layout.node_count();
        // (target, source, weight) for every edge.
        let mut edges: Vec<(u32, u32, f64)> = Vec::new();
        let mut out_weight = vec![0.0f64; n];
        let mut file_node = 0u32;
        for entry in index.files.values() {
            let Outcome::Parsed(tags) = &entry.outcome else {
                continue;
            };
            for &(ident, count) in &tags.refs {
                if layout.definers[ident as usize] == 0 {
                    continue;
                }
                let w = weight_of(ident) * (count as f64).sqrt();
                if w > 0.0 {
                    edges.push((layout.ident_node(ident) as u32, file_node, w));
                    out_weight[file_node as usize] += w;
                }
            }
            for def in &tags.defs {
                let source = layout.ident_node(def.ident) as u32;
                edges.push((file_node, source, 1.0));
                out_weight[source as usize] += 1.0;
            }
            file_node += 1;
        }
        edges.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut offsets = vec![0u32; n + 1];
        for e in &edges {
            offsets[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let sources = edges.iter().map(|e| e.1).collect();
        let weights = edges
            .iter()
            .map(|e| e.2 / out_weight[e.1 as usize])
            .collect();
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
    /// fixed order, whatever the thread count.
    pub(crate) fn pagerank(&self, personal: &[f64], uniform_nodes: usize) -> Vec<f64> {
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
        let mut rank = p.clone();
        for _ in 0..MAX_ITERATIONS {
            let dangling_mass: f64 = self.dangling.iter().map(|&v| rank[v as usize]).sum();
            let next: Vec<f64> = (0..n)
                .into_par_iter()
                .with_min_len(4096)
                .map(|v| {
                    let (a, b) = (self.offsets[v] as usize, self.offsets[v + 1] as usize);
                    let mut inflow = 0.0;
                    for e in a..b {
                        inflow += rank[self.sources[e] as usize] * self.weights[e];
                    }
                    (1.0 - DAMPING) * p[v] + DAMPING * (inflow + dangling_mass * p[v])
                })
                .collect();
            let delta: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
            rank = next;
            if delta < TOLERANCE_PER_NODE * n as f64 {
                break;
            }
        }
        rank
    }
}
