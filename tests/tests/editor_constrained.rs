//! Constrained decoding with the real SmolLM2: every reply to ≥ 20 varied edit requests parses as
//! SEARCH/REPLACE blocks for the file in play, and generation stops when the grammar completes.

use aidx_agent_core::edit::{
    GrammarFile, GrammarLimits, parse_search_replace, search_replace_grammar,
    search_replace_grammar_for_files,
};
use aidx_editor_local::engine::{
    EmbeddedModel, EngineError, EngineKind, FinishReason, GenerateRequest, Generation, Grammar,
    LoadOptions, Message, Role,
};
use aidx_editor_local::models::{default_models_dir, find_known};

const SYSTEM: &str = "You edit code. Reply only with SEARCH/REPLACE blocks: the file path on its own line, \
then <<<<<<< SEARCH, the exact lines to find, =======, the replacement lines, >>>>>>> REPLACE.";

const CASES: &[(&str, &str, &str)] = &[
    (
        "calc.py",
        "def add(a, b):\n    return a + b\n",
        "Rename the function add to plus.",
    ),
    (
        "calc.py",
        "def sub(a, b):\n    return a - b\n",
        "Add a docstring to sub.",
    ),
    (
        "hello.py",
        "print('hello')\n",
        "Print 'hello world' instead.",
    ),
    (
        "main.rs",
        "fn main() {\n    println!(\"hi\");\n}\n",
        "Make main print bye instead of hi.",
    ),
    (
        "lib.rs",
        "pub fn double(x: i32) -> i32 {\n    x * 2\n}\n",
        "Make double take and return i64.",
    ),
    (
        "app.js",
        "function greet(name) {\n  return 'Hi ' + name;\n}\n",
        "Use a template literal in greet.",
    ),
    (
        "app.ts",
        "export const limit = 10;\n",
        "Change limit to 20.",
    ),
    (
        "main.go",
        "package main\n\nfunc main() {\n}\n",
        "Add a comment above main.",
    ),
    (
        "Main.java",
        "class Main {\n  int x = 1;\n}\n",
        "Rename field x to count.",
    ),
    (
        "util.c",
        "int max(int a, int b) { return a > b ? a : b; }\n",
        "Add a min function next to max.",
    ),
    (
        "README.md",
        "# Project\n\nA tool.\n",
        "Describe the project as a calculator.",
    ),
    (
        "config.yml",
        "port: 8080\nhost: localhost\n",
        "Change the port to 9090.",
    ),
    (
        "style.css",
        "body {\n  color: red;\n}\n",
        "Make the body text blue.",
    ),
    (
        "script.sh",
        "#!/bin/sh\necho start\n",
        "Also echo done at the end.",
    ),
    ("math.py", "PI = 3.14\n", "Use a more precise value of PI."),
    ("server.py", "DEBUG = True\n", "Turn DEBUG off."),
    ("list.rb", "items = [1, 2, 3]\n", "Add 4 to the items."),
    (
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
        "Bump the version to 0.2.0.",
    ),
    (
        "index.html",
        "<h1>Title</h1>\n",
        "Change the heading text to Welcome.",
    ),
    ("notes.txt", "todo: write tests\n", "Mark the todo as done."),
    (
        "greet.py",
        "def greet():\n    return 'hi'\n",
        "Return 'hello' from greet.",
    ),
    ("count.js", "let count = 0;\n", "Start count at 1."),
];

fn model_path() -> Option<std::path::PathBuf> {
    let path = default_models_dir().join(find_known("smollm2-135m-instruct").unwrap().file_name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !aidx_e2e::require_real(),
        "{} missing and AIDX_REQUIRE_REAL=1",
        path.display()
    );
    eprintln!("SKIPPED: {} missing; run `aidx model pull`", path.display());
    None
}

#[test]
fn every_constrained_reply_is_a_parseable_edit() {
    every_reply_parses(EngineKind::MistralRs);
}

#[test]
fn every_constrained_reply_is_a_parseable_edit_on_llama_cpp() {
    every_reply_parses(EngineKind::LlamaCpp);
}

fn every_reply_parses(engine: EngineKind) {
    assert!(CASES.len() >= 20);
    with_smollm2(engine, async |model| {
        let limits = GrammarLimits {
            max_blocks: 1,
            max_body_lines: 6,
            max_line_chars: 80,
        };
        let mut total_tokens = 0;
        for (i, (file, content, request)) in CASES.iter().enumerate() {
            let grammar = search_replace_grammar(&[file], limits);
            let budget = limits.max_chars(file.len());
            let generation = edit_reply(model, file, content, request, grammar, budget)
                .await
                .unwrap_or_else(|e| panic!("case {i} ({request}): {e}"));
            let blocks = parse_search_replace(&generation.text, &[file]).unwrap_or_else(|e| {
                panic!(
                    "case {i} ({request}): unparseable reply {:?}: {e}",
                    generation.text
                )
            });
            assert_eq!(blocks.len(), 1, "case {i}: {:?}", generation.text);
            assert_eq!(blocks[0].path, *file, "case {i}");
            assert_eq!(
                generation.finish,
                FinishReason::Stop,
                "case {i}: generation must end when the grammar completes, not at the limit ({} tokens): {:?}",
                generation.completion_tokens,
                generation.text
            );
            assert!(generation.completion_tokens < budget, "case {i}");
            total_tokens += generation.completion_tokens;
        }
        eprintln!(
            "{engine}: {} constrained replies, {total_tokens} completion tokens in all",
            CASES.len()
        );
    });
}

/// The per-file grammar the pipeline uses: every SEARCH the model can write is a run of the
/// file's real lines, so it is found in the file verbatim — on every one of the cases.
#[test]
fn every_search_written_under_the_file_grammar_is_found_in_the_file() {
    with_smollm2(EngineKind::LlamaCpp, async |model| {
        let limits = GrammarLimits {
            max_blocks: 1,
            max_body_lines: 6,
            max_line_chars: 80,
        };
        for (i, (file, content, request)) in CASES.iter().enumerate() {
            let grammar = search_replace_grammar_for_files(
                &[GrammarFile {
                    path: file,
                    text: Some(content),
                }],
                limits,
            );
            let generation = edit_reply(model, file, content, request, grammar, 400)
                .await
                .unwrap_or_else(|e| panic!("case {i} ({request}): {e}"));
            assert_eq!(
                generation.finish,
                FinishReason::Stop,
                "case {i}: {:?}",
                generation.text
            );
            let blocks = parse_search_replace(&generation.text, &[file])
                .unwrap_or_else(|e| panic!("case {i}: unparseable {:?}: {e}", generation.text));
            assert_eq!(blocks.len(), 1, "case {i}");
            let search = &blocks[0].search;
            assert!(
                !search.trim().is_empty(),
                "case {i}: empty SEARCH for an existing file"
            );
            assert!(
                content.contains(search.as_str()),
                "case {i}: SEARCH {search:?} is not a run of {file}'s lines"
            );
        }
    });
}

/// Runs `body` with SmolLM2 loaded on `engine` (2,048-token context); without the model file,
/// skips (or fails under AIDX_REQUIRE_REAL=1, in `model_path`).
fn with_smollm2(engine: EngineKind, body: impl AsyncFnOnce(&EmbeddedModel)) {
    let Some(path) = model_path() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut options = LoadOptions::cpu(&path);
        options.context_tokens = Some(2048);
        options.engine = engine;
        let model = EmbeddedModel::load(options).await.expect("SmolLM2 loads");
        body(&model).await;
    });
}

/// One greedy, grammar-constrained edit reply to `request` about `file` (shown with `content`).
async fn edit_reply(
    model: &EmbeddedModel,
    file: &str,
    content: &str,
    request: &str,
    grammar: String,
    max_new_tokens: usize,
) -> Result<Generation, EngineError> {
    let prompt = format!("{file}\n```\n{content}```\n\nRequest: {request}");
    model
        .generate(
            &GenerateRequest {
                messages: vec![
                    Message {
                        role: Role::System,
                        content: SYSTEM.into(),
                    },
                    Message {
                        role: Role::User,
                        content: prompt,
                    },
                ],
                max_new_tokens,
                temperature: None,
                stop: vec![],
                grammar: Some(Grammar::Lark(grammar)),
            },
            &mut |_| {},
        )
        .await
}
