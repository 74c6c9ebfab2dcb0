//! No two source files of a crate depend on each other, directly or around a loop.
//!
//! Cargo already refuses cycles between crates; inside a crate nothing does. A loop between files
//! (application ↔ matching, budget ↔ engine) means neither can be read, tested or moved without
//! the other, so this test reads every crate's `src/` and fails on the first loop it finds,
//! naming the files and the paths that make it.
//!
//! A file depends on another when its code names an item through `crate::…`, `super::…` or
//! `self::…` that resolves to the other file's module. Comments (doc links included), `mod`
//! declarations and re-exports (`pub use`) are not dependencies, and neither are unit tests
//! (`#[cfg(test)] mod tests` at the end of a file).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of a source file under `src/`: `a/b.rs` and `a/b/mod.rs` → `[a, b]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file that counts: no unit tests, comments, `mod` lines or re-exports.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .filter(|line| {
            let t = line.trim_start();
            !(t.starts_with("mod ")
                || t.starts_with("pub mod ")
                || t.starts_with("pub(crate) mod ")
                || t.starts_with("pub use ")
                || t.starts_with("pub(crate) use "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b`, `super::a`, `self::a` path in `code`, as (anchor, segments).
fn paths(code: &str) -> Vec<(&str, Vec<&str>)> {
    let mut found = Vec::new();
    for anchor in ["crate::", "super::", "self::"] {
        let mut rest = code;
        while let Some(i) = rest.find(anchor) {
            let before = rest[..i].chars().last();
            let after = &rest[i + anchor.len()..];
            rest = after;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `my_crate::`, `itself::`
            }
            let mut segments = Vec::new();
            let mut tail = after;
            loop {
                let len = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                if len == 0 {
                    break;
                }
                segments.push(&tail[..len]);
                match tail[len..].strip_prefix("::") {
                    Some(next) => tail = next,
                    None => break,
                }
            }
            found.push((&anchor[..anchor.len() - 2], segments));
        }
    }
    found
}

/// File → files it depends on, for one crate's `src/`.
fn dependencies(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !f.strip_prefix(src).unwrap().starts_with("bin"));
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_path(f.strip_prefix(src).unwrap()), f.clone()))
        .collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let me = module_path(file.strip_prefix(src).unwrap());
        let text = std::fs::read_to_string(file).unwrap();
        let mut deps = BTreeSet::new();
        for (anchor, segments) in paths(&code(&text)) {
            let mut full: Vec<String> = match anchor {
                "crate" => Vec::new(),
                "super" => me[..me.len().saturating_sub(1)].to_vec(),
                _ => me.clone(),
            };
            full.extend(segments.iter().map(|s| s.to_string()));
            // The longest prefix that is a module with its own file.
            if let Some(target) = (0..=full.len())
                .rev()
                .find_map(|k| modules.get(&full[..k]))
                .filter(|target| *target != file)
            {
                deps.insert(target.clone());
            }
        }
        graph.insert(file.clone(), deps);
    }
    graph
}

/// A loop through `graph`, if there is one (depth-first search, colouring nodes).
fn find_cycle(graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Option<Vec<PathBuf>> {
    fn visit(
        node: &PathBuf,
        graph: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        done: &mut BTreeSet<PathBuf>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_crate_has_a_loop_between_its_files() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let src = entry.unwrap().path().join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = dependencies(&src);
        checked += graph.len();
        if let Some(cycle) = find_cycle(&graph) {
            let names: Vec<String> = cycle
                .iter()
                .map(|p| p.strip_prefix(&crates).unwrap().display().to_string())
                .collect();
            panic!(
                "these files depend on each other in a loop: {}; move what both need into a file of its own",
                names.join(" → ")
            );
        }
    }
    assert!(checked > 50, "only {checked} files read: wrong directory?");
}

#[test]
fn the_scan_sees_a_loop_and_resolves_super_and_crate_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("edit")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod edit;\npub use edit::apply;\n").unwrap();
    std::fs::write(src.join("edit/mod.rs"), "mod apply;\nmod matching;\n").unwrap();
    std::fs::write(
        src.join("edit/apply.rs"),
        "use super::matching::find;\n/// See [`crate::edit::matching`].\n",
    )
    .unwrap();
    std::fs::write(
        src.join("edit/matching.rs"),
        "fn f() -> crate::edit::apply::Strategy {}\n",
    )
    .unwrap();
    let graph = dependencies(src);
    let apply = src.join("edit/apply.rs");
    let matching = src.join("edit/matching.rs");
    assert_eq!(graph[&apply], BTreeSet::from([matching.clone()]));
    assert_eq!(graph[&matching], BTreeSet::from([apply.clone()]));
    // mod declarations and re-exports are not dependencies.
    assert!(graph[&src.join("lib.rs")].is_empty());
    assert!(find_cycle(&graph).is_some());
    // Without the back edge, no loop (the doc link does not count).
    std::fs::write(src.join("edit/matching.rs"), "fn f() {}\n").unwrap();
    assert!(find_cycle(&dependencies(src)).is_none());
}
