//! `aidx chat` on the real embedded SmolLM2.

use aidx_e2e::{TempRepo, require_real, texts};

#[test]
fn chat_prints_a_real_answer_with_token_counts() {
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    let models = aidx_e2e::aidx(&repo.root, &repo.home)
        .args(["model", "list"])
        .output()
        .unwrap();
    let listing = texts(&models).0;
    if !listing
        .lines()
        .any(|l| l.starts_with("present") && l.contains("smollm2-135m-instruct"))
    {
        assert!(
            !require_real(),
            "SmolLM2 is not cached and AIDX_REQUIRE_REAL=1:\n{listing}"
        );
        eprintln!("SKIPPED: SmolLM2 not cached; run `aidx model pull`");
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
