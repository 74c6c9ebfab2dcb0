//! What the Editor writes, applied to a repository file: the SEARCH/REPLACE parser (whole and
//! streaming prefix), the whole-file parser, the in-memory apply with its fuzzy matching, and the
//! per-file grammar built from the file's text. Input: `file text \0 reply` (no NUL: the reply
//! alone, against an empty file).
#![no_main]

use aidx_agent_core::edit::{
    GrammarFile, GrammarLimits, parse_search_replace, parse_search_replace_prefix,
    parse_whole_files, plan_edits, search_replace_grammar_for_files,
};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "src/lib.rs";
const IN_PLAY: [&str; 2] = [FILE, "app.py"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, reply) = text.split_once('\0').unwrap_or(("", text));
    let _ = parse_whole_files(reply, &IN_PLAY);
    let _ = parse_search_replace_prefix(reply, &IN_PLAY);
    let _ = search_replace_grammar_for_files(
        &[
            GrammarFile {
                path: FILE,
                text: Some(file),
            },
            GrammarFile {
                path: "app.py",
                text: None,
            },
        ],
        GrammarLimits::default(),
    );
    let Ok(blocks) = parse_search_replace(reply, &IN_PLAY) else {
        return;
    };
    let outcome = plan_edits(&blocks, |path| Ok((path == FILE).then(|| file.to_string())));
    for change in &outcome.changes {
        assert!(
            blocks.iter().any(|b| b.path == change.path),
            "a change to a file no block named: {}",
            change.path
        );
    }
});
