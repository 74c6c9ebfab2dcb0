//! A file that makes tree-sitter slow is skipped with a warning instead of hanging the run.

mod common;

use std::time::{Duration, Instant};

use aidx_repo_map::{Lang, MapOptions, RepoMap, SkipReason, extract_tags};

/// Deeply nested, never-closed brackets on short lines: heavy error recovery for the parser.
fn pathological_source() -> String {
    let mut s = String::from("fn broken() {\n");
    for i in 0..15_000 {
        s += &format!("let v{i} = (([{{ <T as X<Y<(\n");
    }
    s
}

#[test]
fn extraction_gives_up_at_the_time_limit() {
    let source = pathological_source();
    let started = Instant::now();
    let result = extract_tags(Lang::Rust, &source, Duration::from_millis(20));
    assert_eq!(result, Err(SkipReason::TimedOut));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // The thread's parser still works afterwards.
    let ok = extract_tags(Lang::Rust, "fn fine() {}\n", Duration::from_secs(5)).unwrap();
    assert_eq!(ok.definitions[0].name, "fine");
}

#[test]
fn a_slow_file_is_skipped_and_the_rest_is_mapped() {
    let dir = tempfile::tempdir().unwrap();
    common::write(dir.path(), "slow.rs", &pathological_source());
    common::write(dir.path(), "fine.rs", "pub fn still_mapped() {}\n");
    let opts = MapOptions {
        parse_timeout: Duration::from_millis(20),
        max_file_bytes: 10 << 20,
        ..MapOptions::default()
    };
    let started = Instant::now();
    let r = RepoMap::new(dir.path(), opts.clone())
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (r.stats.files_timed_out, r.stats.files_skipped),
        (1, 1),
        "{:?}",
        r.stats
    );
    assert!(r.map.contains("still_mapped"), "{}", r.map);

    // The timeout is remembered: the next run does not try again with the same limit...
    let again = RepoMap::new(dir.path(), opts.clone())
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    assert_eq!(
        (again.stats.files_parsed, again.stats.files_timed_out),
        (0, 1),
        "{:?}",
        again.stats
    );
    // ...but a run with a more generous limit does.
    let generous = MapOptions {
        parse_timeout: Duration::from_secs(60),
        ..opts
    };
    let more = RepoMap::new(dir.path(), generous)
        .unwrap()
        .research("", &[], &[])
        .unwrap();
    assert_eq!(more.stats.files_timed_out, 0, "{:?}", more.stats);
}
