//! The constrained-decoding grammar and the parser agree: every sample the grammar accepts
//! parses into blocks. The samples under `edit_grammar_samples/accept` were checked against the
//! grammar with llguidance 1.9.1 (byte tokenizer): all accepted; those under `reject` were all
//! rejected. This test keeps the parser side honest.

use std::path::Path;

use aidx_agent_core::edit::{SEARCH_REPLACE_LARK, parse_search_replace};

fn samples(kind: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/edit_grammar_samples")
        .join(kind);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn parser_accepts_every_grammar_sample() {
    let accepted = samples("accept");
    assert!(accepted.len() >= 5);
    for (name, text) in accepted {
        let blocks = parse_search_replace(&text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let markers = text.lines().filter(|l| *l == "<<<<<<< SEARCH").count();
        assert_eq!(blocks.len(), markers, "{name}");
        for block in &blocks {
            assert!(
                !block.path.is_empty()
                    && text.contains(&format!("{}\n<<<<<<< SEARCH\n", block.path)),
                "{name}"
            );
        }
    }
}

#[test]
fn marker_lookalikes_stay_in_the_body() {
    let text = samples("accept")
        .into_iter()
        .find(|(n, _)| n.starts_with("05_"))
        .unwrap()
        .1;
    let blocks = parse_search_replace(&text, &[]).unwrap();
    assert_eq!(blocks[0].path, "Makefile.am");
    assert_eq!(
        blocks[0].search,
        "  ==== not a divider\n<<<<<<< not a marker either\n"
    );
}

#[test]
fn grammar_is_the_data_file() {
    assert!(SEARCH_REPLACE_LARK.contains("start:"));
    assert!(SEARCH_REPLACE_LARK.contains("search_body[lazy]"));
}
