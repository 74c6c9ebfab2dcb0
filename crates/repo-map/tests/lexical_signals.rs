//! The lexical signals fused with PageRank: the request's words in paths, the request's words in
//! the identifiers a file uses (BM25), and build output ranked down. Each test builds a repository
//! where the graph alone puts a hub first, so the signal is what changes the outcome.

mod common;

use aidx_repo_map::Research;
use common::{map_with, write};

/// A hub every file uses, a quiet part of the repository named `ignore/types`, a file that calls
/// `lookup`, and a bundled copy of the hub under `dist/`.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "src/core.rs",
        "pub struct Context {}\npub fn shared_state() -> Context { Context {} }\npub fn log_event(c: &Context) {}\n",
    );
    for i in 0..8 {
        write(
            root,
            &format!("src/feature_{i}.rs"),
            &format!(
                "pub fn feature_{i}() {{\n    let c = shared_state();\n    log_event(&c);\n}}\n"
            ),
        );
    }
    write(
        root,
        "src/ignore/types.rs",
        "pub struct TypeMatcher {}\npub fn default_matchers() -> Vec<TypeMatcher> { Vec::new() }\n",
    );
    write(
        root,
        "src/net/resolve.rs",
        "pub fn resolve_host(name: &str) {\n    let addr = lookup(name);\n    log_event(&shared_state());\n}\n",
    );
    write(
        root,
        "src/net/dns.rs",
        "pub fn lookup(name: &str) -> u32 { 0 }\n",
    );
    write(
        root,
        "dist/bundle.js",
        "function sharedState() { return {}; }\nfunction logEvent(c) {}\nfunction feature0() { logEvent(sharedState()); }\nfunction feature1() { logEvent(sharedState()); }\n",
    );
    dir
}

fn signals<'a>(r: &'a Research, path: &str) -> &'a aidx_repo_map::FileSignals {
    &r.files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is not ranked: {:?}", r.files))
        .signals
}

#[test]
fn without_lexical_words_the_hub_leads() {
    let dir = repo();
    let r = map_with(dir.path(), 1024).research("", &[], &[]).unwrap();
    assert_eq!(r.files[0].path, "src/core.rs", "{:?}", r.files);
    assert_eq!(r.files[0].signals.path_words, 0.0);
}

#[test]
fn a_request_naming_a_part_of_the_repository_shows_that_part() {
    let dir = repo();
    // Room for about two files: the named part must be one of them.
    let r = map_with(dir.path(), 60)
        .research("ignore/types: add a matcher for a new file type", &[], &[])
        .unwrap();
    assert!(
        r.shown.iter().any(|p| p == "src/ignore/types.rs"),
        "{:?}\n{}",
        r.shown,
        r.map
    );
    assert_eq!(r.files[0].path, "src/ignore/types.rs", "{:?}", r.files);
    assert_eq!(signals(&r, "src/ignore/types.rs").path_words, 1.0);
    assert_eq!(signals(&r, "src/core.rs").path_words, 0.0);
}

#[test]
fn a_request_naming_what_a_file_uses_reaches_that_file() {
    let dir = repo();
    let r = map_with(dir.path(), 1024)
        .research("fix the error handling around lookup", &[], &[])
        .unwrap();
    let resolve = signals(&r, "src/net/resolve.rs");
    assert!(resolve.content_words > 0.0, "{resolve:?}");
    assert_eq!(signals(&r, "src/feature_3.rs").content_words, 0.0);
    let rank = |p: &str| r.files.iter().position(|f| f.path == p).unwrap();
    assert!(
        rank("src/net/resolve.rs") < rank("src/feature_3.rs"),
        "{:?}",
        r.files
    );
    assert!(r.shown.iter().any(|p| p == "src/net/resolve.rs"));
}

#[test]
fn build_output_does_not_lead_unless_the_request_names_it() {
    let dir = repo();
    let map = map_with(dir.path(), 1024);
    let r = map
        .research("log events for each feature", &[], &[])
        .unwrap();
    let bundle = signals(&r, "dist/bundle.js");
    assert!(bundle.build_output && !bundle.named, "{bundle:?}");
    let rank = |r: &Research, p: &str| r.files.iter().position(|f| f.path == p).unwrap();
    assert!(rank(&r, "dist/bundle.js") > rank(&r, "src/core.rs"));
    assert!(rank(&r, "dist/bundle.js") > rank(&r, "src/feature_0.rs"));

    let named = map
        .research("the sharedState in dist/bundle.js is wrong", &[], &[])
        .unwrap();
    assert!(signals(&named, "dist/bundle.js").named);
    assert!(
        named.shown.iter().any(|p| p == "dist/bundle.js"),
        "{:?}",
        named.shown
    );
}

#[test]
fn shown_lists_exactly_the_files_the_map_names() {
    let dir = repo();
    let r = map_with(dir.path(), 120)
        .research("ignore types", &[], &[])
        .unwrap();
    let mut named: Vec<&str> = r
        .map
        .lines()
        .filter(|l| {
            !l.starts_with(aidx_repo_map::LINE_MARK) && !l.starts_with(aidx_repo_map::ELISION)
        })
        .map(|l| l.trim_end_matches(':'))
        .collect();
    named.sort_unstable();
    let mut shown: Vec<&str> = r.shown.iter().map(String::as_str).collect();
    shown.sort_unstable();
    assert_eq!(named, shown, "{}", r.map);
    assert!(r.files.len() >= r.shown.len());
}

/// Adds `path` with `contents` to the hub repository and checks that `request` ranks it first
/// and shows it.
fn reaches_first(path: &str, contents: &str, request: &str) {
    let dir = repo();
    write(dir.path(), path, contents);
    let r = map_with(dir.path(), 1024)
        .research(request, &[], &[])
        .unwrap();
    assert_eq!(r.files[0].path, path, "{:?}", r.files);
    assert!(r.shown.iter().any(|p| p == path), "{:?}", r.shown);
}

/// A data table: one constant that nothing references. The graph gives it next to nothing; the
/// request's words in its path must still reach it.
#[test]
fn a_file_whose_only_definition_is_one_constant_is_reached_by_its_path() {
    reaches_first(
        "src/color_table.rs",
        "pub const COLORS: [&str; 3] = [\"red\", \"green\", \"blue\"];\n",
        "add teal to the color table",
    );
}

/// A source file without a single definition (a script): only its path can match.
#[test]
fn a_file_without_definitions_is_reached_by_its_path() {
    reaches_first(
        "scripts/palette.py",
        "import sys\nprint(sys.argv)\n",
        "make the palette script print the colours",
    );
}

/// A request naming a command-line flag reaches the file that defines it under the code's name
/// for it (`--line-buffered` → `LineBuffered`).
#[test]
fn a_command_line_flag_in_the_request_reaches_its_definition() {
    reaches_first(
        "src/flags/defs.rs",
        "pub struct LineBuffered;\nimpl LineBuffered {\n    pub fn name_long(&self) -> &'static str { \"line-buffered\" }\n}\npub struct NoIgnore;\n",
        "Make --line-buffered the default when stdout is a tty",
    );
}

/// Lines shown under each file in a rendered map.
fn lines_per_file(map: &str) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for line in map.lines() {
        if line.starts_with(aidx_repo_map::LINE_MARK) {
            if let Some(last) = out.last_mut() {
                last.1 += 1;
            }
        } else if let Some(path) = line.strip_suffix(':') {
            out.push((path.to_string(), 0));
        }
    }
    out
}

/// The budget is spread over files: no file shows more than `max_lines_per_file` definition
/// lines (4 by default), and without the cap the hub takes more.
#[test]
fn no_file_shows_more_lines_than_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hub: String = (0..12)
        .map(|i| format!("pub fn helper_{i}() {{}}\n"))
        .collect();
    write(root, "src/hub.rs", &hub);
    for f in 0..6 {
        let calls: String = (0..12).map(|i| format!("    helper_{i}();\n")).collect();
        write(
            root,
            &format!("src/user_{f}.rs"),
            &format!("pub fn user_{f}() {{\n{calls}}}\n"),
        );
    }
    let capped = map_with(root, 1024).research("", &[], &[]).unwrap();
    let shown = lines_per_file(&capped.map);
    assert_eq!(shown[0].0, "src/hub.rs", "{}", capped.map);
    assert!(
        shown
            .iter()
            .all(|(_, n)| *n <= aidx_repo_map::DEFAULT_MAX_LINES_PER_FILE),
        "{shown:?}"
    );
    let uncapped = aidx_repo_map::RepoMap::new(
        root,
        aidx_repo_map::MapOptions {
            map_tokens: 1024,
            max_lines_per_file: 0,
            use_disk_cache: false,
            ..aidx_repo_map::MapOptions::default()
        },
    )
    .unwrap()
    .research("", &[], &[])
    .unwrap();
    let hub_lines = lines_per_file(&uncapped.map)[0].1;
    assert!(
        hub_lines > aidx_repo_map::DEFAULT_MAX_LINES_PER_FILE,
        "{}",
        uncapped.map
    );
}
