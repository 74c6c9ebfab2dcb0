//! `aidx chat` on the real embedded SmolLM2.

use aidx_e2e::{TempRepo, texts};

#[test]
fn chat_prints_a_real_answer_with_token_counts() {
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    if !aidx_e2e::smollm2_cached(&repo) {
        return;
    }
    let out = repo.run(&[
        "chat",
        "--json",
        "--max-tokens",
        "12",
        "Name a primary colour.",
    ]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("chat --json prints JSON");
    assert!(!v["text"].as_str().unwrap().trim().is_empty(), "{stdout}");
    assert!(v["prompt_tokens"].as_u64().unwrap() > 5);
    let completion = v["completion_tokens"].as_u64().unwrap();
    assert!((1..=12).contains(&completion), "{stdout}");
    assert!(v["decode_tok_per_sec"].as_f64().unwrap() > 0.0);

    let out = repo.run(&["chat", "--max-tokens", "8", "Say hello."]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.trim().is_empty());
    assert!(
        stderr.contains("decode") && stderr.contains("tok/s"),
        "{stderr}"
    );
}
