//! API keys never show up in Debug output, errors, logs or plan.md.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use aidx_architect::plan::{Architect, ArchitectOptions, PlanInput};
use aidx_architect::{
    CancellationToken, ChatClient, ChatError, ChatMessage, ChatRequest, HttpChatClient, Provider,
};
use common::{config, sse};
use serde_json::json;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-SENTINEL-5f3c9a1e7b2d";

/// A `tracing` writer that appends to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[test]
fn missing_variable_is_an_error_naming_it() {
    let mut cfg = config(Provider::Anthropic, "http://127.0.0.1:9");
    cfg.api_key_env = Some("AIDX_TEST_SURELY_UNSET_VARIABLE".into());
    let error = HttpChatClient::new(cfg).unwrap_err();
    assert!(matches!(error, ChatError::MissingApiKey { .. }));
    assert!(
        error
            .to_string()
            .contains("AIDX_TEST_SURELY_UNSET_VARIABLE"),
        "{error}"
    );
}

#[test]
fn key_is_read_from_the_named_variable_and_hidden_in_debug() {
    // SAFETY: the variable name is unique to this test; no other test reads or writes it.
    unsafe { std::env::set_var("AIDX_TEST_KEY_FOR_DEBUG", KEY) };
    let mut cfg = config(Provider::OpenAiCompatible, "http://127.0.0.1:9");
    cfg.api_key_env = Some("AIDX_TEST_KEY_FOR_DEBUG".into());
    let client = HttpChatClient::new(cfg).unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
    assert_eq!(client.redact(&format!("echo {KEY}")), "echo [REDACTED]");
}

#[tokio::test]
async fn errors_logs_and_plan_files_never_contain_the_key() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        // Everything our client and its HTTP stack log, at the most verbose level (the test server's own logs
        // are left out: it sees the key by design).
        .with_env_filter(
            "aidx_architect=trace,reqwest=trace,hyper=trace,hyper_util=trace,rustls=trace,h2=trace",
        )
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // A provider that echoes the key in its 401 body (some do, partially or wholly).
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": format!("Incorrect API key provided: {KEY}")}}),
        ))
        .mount(&server)
        .await;
    // A 503 that echoes it, to put it through the retry path and its warn! logs.
    Mock::given(method("POST"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(
            ResponseTemplate::new(503).set_body_string(format!("upstream said key={KEY}")),
        )
        .mount(&server)
        .await;

    let request = ChatRequest::new("m", vec![ChatMessage::user("hi")]);
    let mut sink = |_: &str| {};
    let cancel = CancellationToken::new();
    let openai = common::client(config(Provider::OpenAiCompatible, &server.uri()), Some(KEY));
    let gemini = common::client(config(Provider::Gemini, &server.uri()), Some(KEY));
    let mut reports = Vec::new();
    for client in [&openai, &gemini] {
        let error = client.chat(&request, &mut sink, &cancel).await.unwrap_err();
        reports.push(format!("{error}\n{error:?}"));
    }
    assert!(
        reports[0].contains("Incorrect API key provided: [REDACTED]"),
        "{}",
        reports[0]
    );
    assert!(reports[1].contains("key=[REDACTED]"), "{}", reports[1]);

    // A model reply that quotes the key must not carry it into plan.md.
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("lib.rs"), "").unwrap();
    let plan_reply = format!(
        "# Plan\n## Goal\nUse the key {KEY} to call the API.\n## Steps\n1. Read {KEY} from lib.rs.\n## Files\n- `lib.rs`\n## Checks\n- run it\n"
    );
    let chunk = json!({"choices": [{"index": 0, "delta": {"content": plan_reply}, "finish_reason": "stop"}]}).to_string();
    let plan_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(sse(&[&chunk, "[DONE]"]), "text/event-stream"),
        )
        .mount(&plan_server)
        .await;
    let planner = common::client(
        config(Provider::OpenAiCompatible, &plan_server.uri()),
        Some(KEY),
    );
    let architect = Architect::new(&planner, repo.path(), ArchitectOptions::default());
    let input = PlanInput {
        request: "use the API",
        repo_map: "lib.rs",
        reference_ids: &[],
        files: &[],
    };
    let outcome = architect
        .plan(input, &mut sink, &cancel)
        .await
        .expect("plan is valid");
    let written = std::fs::read_to_string(&outcome.path).unwrap();
    assert!(
        written.contains("Use the key [REDACTED] to call the API."),
        "{written}"
    );

    let log_text = logs.text();
    assert!(
        log_text.contains("retrying"),
        "the retry path was logged: {log_text}"
    );
    for (what, text) in [
        ("errors", reports.join("\n")),
        ("logs", log_text),
        ("plan.md", written),
    ] {
        assert!(!text.contains(KEY), "the key leaked into {what}:\n{text}");
    }
}
