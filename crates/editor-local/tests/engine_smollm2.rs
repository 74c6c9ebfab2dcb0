//! The embedded engine on a real model: SmolLM2-135M-Instruct (Q4_1, llama) from the model cache.
//!
//! Needs `aidx model pull` (scripts/setup.sh does it). Without the file the tests say so and pass,
//! unless AIDX_REQUIRE_REAL=1 (CI), where a missing model is a failure.

use std::path::PathBuf;

use aidx_editor_local::engine::{
    EmbeddedModel, EngineError, EngineKind, FinishReason, GenerateRequest, Grammar, LoadOptions,
    Message, Role,
};
use aidx_editor_local::models::{default_models_dir, find_known};

fn model_file(id: &str) -> Option<PathBuf> {
    let path = default_models_dir().join(find_known(id).unwrap().file_name);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("AIDX_REQUIRE_REAL").as_deref() == Ok("1") {
        panic!(
            "{} is missing and AIDX_REQUIRE_REAL=1: run `aidx model pull {id}`",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED: {} missing; run `aidx model pull {id}`",
        path.display()
    );
    None
}

fn user(text: &str) -> Vec<Message> {
    vec![Message {
        role: Role::User,
        content: text.to_string(),
    }]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn smollm2_generates_greedily_and_bounds_its_context() {
    generates_greedily_and_bounds_its_context(EngineKind::MistralRs);
}

#[cfg(feature = "llama-cpp")]
#[test]
fn smollm2_on_llama_cpp_generates_greedily_and_bounds_its_context() {
    generates_greedily_and_bounds_its_context(EngineKind::LlamaCpp);
}

/// The same contract on either engine: greedy determinism, the token limit, prompt counts,
/// grammar completion ends generation, and overflow refused before the engine.
fn generates_greedily_and_bounds_its_context(engine: EngineKind) {
    let Some(path) = model_file("smollm2-135m-instruct") else {
        return;
    };
    runtime().block_on(async {
        let mut options = LoadOptions::cpu(&path);
        options.context_tokens = Some(1024);
        options.engine = engine;
        let model = EmbeddedModel::load(options).await.expect("SmolLM2 loads");
        assert_eq!(model.engine(), engine);
        assert_eq!(model.context_tokens(), 1024);
        assert!(model.budget().expect("budget computed").fits);

        // 1. Greedy, short: real text and real token counts.
        let request = GenerateRequest {
            messages: user("What is the capital of France? Answer in one word."),
            max_new_tokens: 16,
            temperature: None,
            stop: vec![],
            grammar: None,
        };
        let mut streamed = String::new();
        let generation = model
            .generate(&request, &mut |delta| streamed.push_str(delta))
            .await
            .expect("generation succeeds");
        assert!(!generation.text.trim().is_empty(), "decoded text is empty");
        assert_eq!(streamed, generation.text, "streamed deltas add up to the reply");
        assert!(generation.prompt_tokens > 10, "prompt tokens: {}", generation.prompt_tokens);
        assert!(generation.completion_tokens >= 1 && generation.completion_tokens <= 16);
        let again = model.generate(&request, &mut |_| {}).await.unwrap();
        assert_eq!(again.text, generation.text, "greedy decoding is deterministic");

        // 1b. The new-token limit holds, with the reason reported.
        let limited = GenerateRequest {
            messages: user("Write a long story about a dragon."),
            max_new_tokens: 4,
            temperature: None,
            stop: vec![],
            grammar: None,
        };
        let cut = model.generate(&limited, &mut |_| {}).await.unwrap();
        assert!(cut.completion_tokens <= 4, "{} tokens for a limit of 4", cut.completion_tokens);
        assert_eq!(cut.finish, FinishReason::Length);

        // 1c. Cancelling stops generation within a token or a stream chunk, with an error, and
        // the next request runs normally.
        let flag = std::sync::atomic::AtomicBool::new(false);
        let long = GenerateRequest {
            messages: user("Write a long story about a dragon."),
            max_new_tokens: 200,
            temperature: None,
            stop: vec![],
            grammar: None,
        };
        let mut pieces = 0usize;
        let cancelled = model
            .generate_cancellable(&long, Some(&flag), &mut |_| {
                pieces += 1;
                if pieces == 3 {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            })
            .await;
        assert!(
            matches!(cancelled, Err(EngineError::Cancelled)),
            "{cancelled:?}"
        );
        assert!(pieces < 20, "{pieces} pieces streamed after the cancel");
        let after = model.generate(&request, &mut |_| {}).await.unwrap();
        assert_eq!(after.text, generation.text, "a cancel leaves the engine usable");

        // 2. The prompt count the engine reports equals ours (same tokenizer and template).
        let counted = model.count_prompt_tokens(&request.messages).await.unwrap();
        assert_eq!(counted, generation.prompt_tokens);

        // 3. Constrained decoding stops when the grammar is complete, not at max_len.
        let grammar = GenerateRequest {
            messages: user("Is water wet? Answer yes or no."),
            max_new_tokens: 64,
            temperature: None,
            stop: vec![],
            grammar: Some(Grammar::Lark(r#"start: "yes" | "no""#.into())),
        };
        let constrained = model.generate(&grammar, &mut |_| {}).await.unwrap();
        let answer = constrained.text.trim();
        assert!(answer == "yes" || answer == "no", "constrained reply: {answer:?}");
        let answer_tokens = model.count_tokens(answer).await.unwrap();
        assert!(
            constrained.completion_tokens <= answer_tokens + 1,
            "generation ran past the grammar: {} completion tokens for {answer:?} ({answer_tokens} tokens)",
            constrained.completion_tokens
        );
        assert_eq!(constrained.finish, FinishReason::Stop);

        // 3b. After other requests (llama.cpp keeps its cache and reuses the shared prefix),
        // the first request still gives exactly the first reply: nothing stale leaks in.
        let later = model.generate(&request, &mut |_| {}).await.unwrap();
        assert_eq!(later.text, generation.text, "a reused cache changed the reply");

        // 4. A prompt that cannot fit is refused before it reaches the engine.
        let long = "word ".repeat(2000);
        let overflow = GenerateRequest {
            messages: user(&long),
            max_new_tokens: 64,
            temperature: None,
            stop: vec![],
            grammar: None,
        };
        match model.generate(&overflow, &mut |_| {}).await {
            Err(EngineError::ContextOverflow { prompt_tokens, context_tokens, .. }) => {
                assert!(prompt_tokens > 1024);
                assert_eq!(context_tokens, 1024);
            }
            other => panic!("expected a context overflow refusal, got {other:?}"),
        }
    });
}

#[test]
fn unsupported_and_truncated_models_are_refused_before_the_engine() {
    runtime().block_on(async {
        if let Some(gemma) = model_file("gemma3-270m-q4_k_m") {
            let err = EmbeddedModel::load(LoadOptions::cpu(&gemma))
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(text.contains("gemma3"), "{text}");
            assert!(
                text.contains("llama"),
                "the error lists what is supported: {text}"
            );
        }
        if let Some(truncated) = model_file("deepseek-r1-distill-qwen-7b-q4_k_m-header") {
            let err = EmbeddedModel::load(LoadOptions::cpu(&truncated))
                .await
                .unwrap_err();
            assert!(err.to_string().contains("truncated"), "{err}");
        }
        let missing = EmbeddedModel::load(LoadOptions::cpu("/nonexistent/model.gguf"))
            .await
            .unwrap_err();
        assert!(matches!(missing, EngineError::MissingFile(_)), "{missing}");
    });
}

#[test]
fn a_model_that_cannot_fit_is_refused_with_advice() {
    let Some(path) = model_file("smollm2-135m-instruct") else {
        return;
    };
    runtime().block_on(async {
        let mut options = LoadOptions::cpu(&path);
        options.vram_bytes = Some(64 << 20); // 64 MiB cannot hold ~98 MB of weights
        let err = EmbeddedModel::load(options).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, EngineError::OverBudget { .. }), "{text}");
        assert!(
            text.contains("does not fit") && text.contains("q8_0"),
            "{text}"
        );
    });
}

#[test]
fn an_engine_panic_becomes_an_error() {
    let Some(gemma) = model_file("gemma3-270m-q4_k_m") else {
        return;
    };
    runtime().block_on(async {
        // Skip our architecture check on purpose: mistral.rs panics on gemma3 GGUF files.
        let err = EmbeddedModel::load_without_preflight(&gemma)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Panic { .. } | EngineError::Load { .. }),
            "{err}"
        );
    });
}
