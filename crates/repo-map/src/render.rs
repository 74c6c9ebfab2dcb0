//! Rendering ranked definitions into a map that never exceeds its token budget.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::tokens::TokenCounter;

/// Marks elided lines.
pub const ELISION: &str = "⋮";
/// Prefixes a shown source line.
pub const LINE_MARK: &str = "│";

/// How many candidates that do not fit may be passed over before packing stops.
pub(crate) const MAX_MISSES: usize = 500;
/// How many paths that do not fit may be passed over when filling leftover room with paths.
const MAX_BARE_MISSES: usize = 64;
/// Estimate-then-count rounds; each round fills the slack the exact count revealed.
const MAX_ROUNDS: usize = 6;

/// One definition that may be shown.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'a> {
    /// Index of its file in `files`.
    pub file: usize,
    /// 1-based line.
    pub line: u32,
    /// The source line to show.
    pub signature: &'a str,
}

/// The result of packing: which candidates were shown, and the text.
pub(crate) struct Rendered {
    pub text: String,
    pub tokens: usize,
    /// Indices into the candidate list, in the order they were chosen.
    pub chosen: Vec<usize>,
    /// The files the text names, in its order: those with lines first, then those listed by path.
    pub shown: Vec<usize>,
}

/// Renders the best-scoring prefix of `candidates` (already sorted best first) that fits in `budget`
/// tokens as counted by `counter`, then keeps adding smaller candidates while room is left, and
/// finally lists the paths of further files (best ranked first) in whatever room remains.
///
/// Costs are first estimated line by line (an over-estimate: each shown line is charged an elision
/// marker); the whole text is then counted exactly, and the slack is filled in further rounds. The
/// returned text is always within budget: if an exact count ever exceeds it, the last-chosen lines are
/// removed until it fits.
///
/// `files` are the file paths, in the order files appear in the output (best file first).
pub(crate) fn render_within_budget(
    files: &[&str],
    file_order: &[usize],
    candidates: &[Candidate<'_>],
    budget: usize,
    counter: &dyn TokenCounter,
) -> Rendered {
    let elision_cost = counter.count(&format!("{ELISION}\n"));
    // Nothing can be shown in less room than an empty line plus an elision mark.
    let min_cost = counter.count(&format!("{LINE_MARK}\n")) + elision_cost;
    let mut chosen: Vec<usize> = Vec::new();
    let mut in_map: BTreeSet<usize> = BTreeSet::new();
    let mut next = 0usize;
    let mut exact = 0usize;
    let mut text = String::new();
    let mut misses = 0usize;
    // Candidates passed over because their estimate did not fit; retried when the exact count of
    // the text shows more room than the estimates promised.
    let mut passed_over: Vec<usize> = Vec::new();
    let mut line_costs: HashMap<usize, usize> = HashMap::new();
    let mut header_costs: HashMap<usize, usize> = HashMap::new();
    for _round in 0..MAX_ROUNDS {
        let mut remaining = budget.saturating_sub(exact);
        let mut added = false;
        let retry = std::mem::take(&mut passed_over);
        let fresh = next..candidates.len();
        for index in retry.into_iter().chain(fresh) {
            if remaining < min_cost || (index >= next && misses >= MAX_MISSES) {
                if index < next {
                    passed_over.push(index);
                    continue;
                }
                break;
            }
            next = next.max(index + 1);
            let c = &candidates[index];
            let mut cost = *line_costs.entry(index).or_insert_with(|| {
                counter.count(&format!("{LINE_MARK}{}\n", c.signature)) + elision_cost
            });
            if !in_map.contains(&c.file) {
                cost += *header_costs.entry(c.file).or_insert_with(|| {
                    counter.count(&format!("{}:\n", files[c.file])) + elision_cost
                });
            }
            if cost <= remaining {
                remaining -= cost;
                chosen.push(index);
                in_map.insert(c.file);
                added = true;
            } else {
                if index + 1 == next {
                    misses += 1;
                }
                passed_over.push(index);
            }
        }
        text = render(files, file_order, candidates, &chosen);
        exact = counter.count(&text);
        while exact > budget {
            chosen.pop();
            in_map = chosen.iter().map(|&i| candidates[i].file).collect();
            text = render(files, file_order, candidates, &chosen);
            exact = counter.count(&text);
            added = false;
        }
        if !added {
            break;
        }
    }

    // Leftover room goes to the paths of the next-ranked files, without their lines.
    let mut bare: Vec<usize> = Vec::new();
    let mut remaining = budget.saturating_sub(exact);
    let mut bare_misses = 0usize;
    for &file in file_order {
        if remaining == 0 {
            break;
        }
        if in_map.contains(&file) {
            continue;
        }
        let cost = counter.count(&format!("{}\n", files[file]));
        if cost <= remaining {
            remaining -= cost;
            bare.push(file);
        } else {
            bare_misses += 1;
            if bare_misses >= MAX_BARE_MISSES {
                break;
            }
        }
    }
    if !bare.is_empty() {
        loop {
            text = render(files, file_order, candidates, &chosen);
            append_bare(&mut text, files, &bare);
            exact = counter.count(&text);
            if exact <= budget {
                break;
            }
            bare.pop();
        }
    }
    let mut shown: Vec<usize> = file_order
        .iter()
        .copied()
        .filter(|f| in_map.contains(f))
        .collect();
    shown.extend(bare);
    Rendered {
        text,
        tokens: exact,
        chosen,
        shown,
    }
}

fn append_bare(out: &mut String, files: &[&str], bare: &[usize]) {
    for &file in bare {
        out.push_str(files[file]);
        out.push('\n');
    }
}

/// Renders the chosen candidates: each file's path and a colon, then its shown lines in line order,
/// with `⋮` wherever lines are elided. (Files listed by path only are appended without a colon.)
pub(crate) fn render(
    files: &[&str],
    file_order: &[usize],
    candidates: &[Candidate<'_>],
    chosen: &[usize],
) -> String {
    let mut by_file: BTreeMap<usize, BTreeMap<u32, &str>> = BTreeMap::new();
    for &i in chosen {
        let c = &candidates[i];
        by_file
            .entry(c.file)
            .or_default()
            .insert(c.line, c.signature);
    }
    let mut out = String::new();
    for &file in file_order {
        let Some(lines) = by_file.get(&file) else {
            continue;
        };
        out.push_str(files[file]);
        out.push_str(":\n");
        let mut previous = 0u32;
        for (&line, sig) in lines {
            if line != previous + 1 {
                out.push_str(ELISION);
                out.push('\n');
            }
            out.push_str(LINE_MARK);
            out.push_str(sig);
            out.push('\n');
            previous = line;
        }
        out.push_str(ELISION);
        out.push('\n');
    }
    out
}
