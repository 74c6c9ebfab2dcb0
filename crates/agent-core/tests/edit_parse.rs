//! Parsing Editor replies: SEARCH/REPLACE blocks with the usual model mistakes, and whole files.

use aidx_agent_core::edit::{
    EditBlock, ParseError, UnfinishedBlock, parse_search_replace, parse_search_replace_prefix,
    parse_whole_files,
};

#[test]
fn parses_blocks_with_prose_fences_and_decorated_paths() {
    let reply = "I'll rename the function.\n\n\
                 **`src/lib.rs`**\n\
                 ```rust\n\
                 <<<<<<< SEARCH\n\
                 fn old() {}\n\
                 =======\n\
                 fn new() {}\n\
                 >>>>>>> REPLACE\n\
                 ```\n\n\
                 ### src/main.rs\n\
                 ```\n\
                 <<<<<<< SEARCH   \n\
                 old();\n\
                 =======  \n\
                 new();\n\
                 >>>>>>> REPLACE\t\n\
                 ```\n";
    let blocks = parse_search_replace(reply, &[]).unwrap();
    assert_eq!(
        blocks,
        vec![
            EditBlock::new("src/lib.rs", "fn old() {}\n", "fn new() {}\n"),
            EditBlock::new("src/main.rs", "old();\n", "new();\n"),
        ]
    );
}

#[test]
fn path_inside_the_fence_and_crlf_are_accepted() {
    let reply = "```\r\nsrc/a.py\r\n<<<<<<< SEARCH\r\nx = 1\r\n=======\r\nx = 2\r\n>>>>>>> REPLACE\r\n```\r\n";
    let blocks = parse_search_replace(reply, &[]).unwrap();
    assert_eq!(
        blocks,
        vec![EditBlock::new("src/a.py", "x = 1\n", "x = 2\n")]
    );
}

#[test]
fn missing_path_uses_the_only_file_in_play() {
    let reply = "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
    let blocks = parse_search_replace(reply, &["only.txt"]).unwrap();
    assert_eq!(blocks[0].path, "only.txt");
}

#[test]
fn missing_path_reuses_the_previous_block_path() {
    let reply = "x.rs\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n\n<<<<<<< SEARCH\nc\n=======\nd\n>>>>>>> REPLACE\n";
    let blocks = parse_search_replace(reply, &["x.rs", "y.rs"]).unwrap();
    assert_eq!(blocks[1].path, "x.rs");
}

#[test]
fn missing_path_with_several_files_is_an_error() {
    let reply = "Change:\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n";
    let err = parse_search_replace(reply, &["a.rs", "b.rs"]).unwrap_err();
    assert_eq!(err, ParseError::MissingPath { block: 1, line: 2 });
    assert!(
        err.to_string()
            .contains("put the path alone on the line before")
    );
}

#[test]
fn a_known_file_name_without_extension_is_a_path() {
    let reply = "Makefile\n<<<<<<< SEARCH\nall:\n=======\nall: build\n>>>>>>> REPLACE\n";
    assert_eq!(
        parse_search_replace(reply, &["Makefile"]).unwrap()[0].path,
        "Makefile"
    );
    assert!(matches!(
        parse_search_replace(reply, &[]),
        Err(ParseError::MissingPath { .. })
    ));
}

#[test]
fn unterminated_blocks_are_errors() {
    let no_divider = "a.rs\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n";
    assert_eq!(
        parse_search_replace(no_divider, &[]),
        Err(ParseError::MissingDivider { block: 1, line: 2 })
    );
    let no_end = "a.rs\n<<<<<<< SEARCH\nx\n=======\ny\n";
    assert_eq!(
        parse_search_replace(no_end, &[]),
        Err(ParseError::MissingReplaceMarker { block: 1, line: 2 })
    );
}

#[test]
fn reply_without_blocks_parses_to_nothing() {
    assert_eq!(
        parse_search_replace("No changes are needed.\n", &[]).unwrap(),
        vec![]
    );
}

#[test]
fn whole_file_replies() {
    let reply = "Here is the file:\n\nsrc/app.py\n```python\nprint('hi')\n```\n\n```toml docs/conf.toml\n[a]\nb = 1\n```\n";
    let files = parse_whole_files(reply, &[]).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].path, "src/app.py");
    assert_eq!(files[0].content, "print('hi')\n");
    assert_eq!(files[1].path, "docs/conf.toml");
    assert_eq!(files[1].content, "[a]\nb = 1\n");
}

#[test]
fn whole_file_keeps_nested_tagged_fences_and_infers_the_only_file() {
    let reply = "```markdown\n# Title\n```bash\nls\n```\nend\n```\n";
    let files = parse_whole_files(reply, &["README.md"]).unwrap();
    assert_eq!(files[0].path, "README.md");
    assert_eq!(files[0].content, "# Title\n```bash\nls\n```\nend\n");
}

#[test]
fn whole_file_unclosed_fence_is_an_error() {
    assert_eq!(
        parse_whole_files("a.txt\n```\nabc\n", &[]),
        Err(ParseError::UnclosedFence { line: 2 })
    );
}

#[test]
fn a_cut_off_reply_keeps_its_complete_blocks() {
    let whole = "a.rs\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n";
    let (blocks, cut) = parse_search_replace_prefix(whole, &[]).unwrap();
    assert_eq!((blocks.len(), cut), (1, None));

    let cut_in_replace = format!("{whole}\nb.rs\n<<<<<<< SEARCH\nu\n=======\nv\n");
    let (blocks, cut) = parse_search_replace_prefix(&cut_in_replace, &[]).unwrap();
    assert_eq!(blocks, parse_search_replace(whole, &[]).unwrap());
    assert_eq!(
        cut,
        Some(UnfinishedBlock {
            number: 2,
            path: Some("b.rs".into())
        })
    );

    let cut_in_search = "Here is the edit:\n```\nsrc/c.py\n<<<<<<< SEARCH\ndef f(";
    let (blocks, cut) = parse_search_replace_prefix(cut_in_search, &["src/c.py"]).unwrap();
    assert!(blocks.is_empty());
    assert_eq!(cut.unwrap().path.as_deref(), Some("src/c.py"));

    // Cut off before the next block's marker was complete: still an unfinished block.
    for tail in ["calc.py\n<<<<<<< SEAR", "calc.py\n", "cal", "**`calc.py`**"] {
        let reply = format!("{whole}\n{tail}");
        let (blocks, cut) = parse_search_replace_prefix(&reply, &["a.rs", "calc.py"]).unwrap();
        assert_eq!(blocks.len(), 1, "{tail:?}");
        assert_eq!(cut.map(|c| c.number), Some(2), "{tail:?}");
    }
    // Prose after the last block is not an edit.
    let (blocks, cut) =
        parse_search_replace_prefix(&format!("{whole}\nThis renames x to"), &["a.rs"]).unwrap();
    assert_eq!((blocks.len(), cut), (1, None));

    // A block with no path at all is still an error, cut off or not.
    assert!(matches!(
        parse_search_replace_prefix("<<<<<<< SEARCH\nx\n", &["a.rs", "b.rs"]),
        Err(ParseError::MissingPath { .. })
    ));
}
