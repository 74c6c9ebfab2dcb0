//! Protocol behaviour against a local HTTP test server (wiremock on 127.0.0.1): happy paths of the three wire
//! protocols, retries (429 with Retry-After, 5xx), errors that must not be retried (401, 400), truncated and
//! malformed streams, timeouts and cancellation.

mod common;

use std::time::{Duration, Instant};

use aidx_architect::{
    CancellationToken, ChatClient, ChatError, ChatMessage, ChatRequest, FinishReason, Pricing,
    Provider, Usage,
};
use common::{Deltas, client, config, named_sse, sse};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OPENAI_PATH: &str = "/v1/chat/completions";

fn request(stream: bool) -> ChatRequest {
    ChatRequest::new(
        "test-model",
        vec![
            ChatMessage::system("Be brief."),
            ChatMessage::user("Say hi."),
        ],
    )
    .with_max_tokens(16)
    .with_stream(stream)
}

fn event_stream(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

async fn chat(
    client: &impl ChatClient,
    stream: bool,
) -> (Result<aidx_architect::ChatResponse, ChatError>, Deltas) {
    let deltas = Deltas::default();
    let mut sink = deltas.sink();
    let result = client
        .chat(&request(stream), &mut sink, &CancellationToken::new())
        .await;
    (result, deltas)
}

async fn requests_received(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("recording on")
        .len()
}

fn openai_stream_ok() -> String {
    sse(&[
        r#"{"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[{"index":0,"delta":{"content":"lo!"},"finish_reason":null}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
        r#"{"id":"c1","object":"chat.completion.chunk","model":"test-model","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
        "[DONE]",
    ])
}

#[tokio::test]
async fn openai_streaming_delivers_deltas_usage_and_sends_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .and(header("authorization", "Bearer sk-test-key-123"))
        .and(body_partial_json(json!({"model": "test-model", "stream": true, "max_tokens": 16,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}]})))
        .respond_with(event_stream(openai_stream_ok()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(
        config(Provider::OpenAiCompatible, &format!("{}/v1", server.uri())),
        Some("sk-test-key-123"),
    );
    let (result, deltas) = chat(&client, true).await;
    let response = result.expect("stream succeeds");
    assert_eq!(deltas.all(), vec!["Hel", "lo!"]);
    assert_eq!(response.text, "Hello!");
    assert_eq!(
        response.usage,
        Usage {
            prompt_tokens: 12,
            completion_tokens: 3
        }
    );
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.model.as_deref(), Some("test-model"));
    assert_eq!(response.cost, None);
}

#[tokio::test]
async fn openai_non_streaming_reports_provider_cost_or_computes_it() {
    let server = MockServer::start().await;
    let body = json!({"id": "x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi there."}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500, "cost": 0.0042}});
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .mount(&server)
        .await;
    let mut cfg = config(Provider::OpenAiCompatible, &format!("{}/v1/", server.uri()));
    cfg.pricing = Some(Pricing {
        input_per_million: 2.0,
        output_per_million: 8.0,
    });
    let priced = client(cfg, None);
    let (result, deltas) = chat(&priced, false).await;
    let response = result.unwrap();
    assert_eq!(response.text, "Hi there.");
    assert_eq!(
        deltas.joined(),
        "Hi there.",
        "a non-streamed reply is delivered as one delta"
    );
    assert_eq!(response.finish_reason, FinishReason::Length);
    assert_eq!(
        response.cost,
        Some(0.0042),
        "the provider's own figure wins over the price table"
    );

    // Without a provider figure the price table applies: 1000 * 2 / 1e6 + 500 * 8 / 1e6 = 0.006.
    let server2 = MockServer::start().await;
    let mut body2 = body;
    body2["usage"].as_object_mut().unwrap().remove("cost");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body2))
        .mount(&server2)
        .await;
    let mut cfg = config(Provider::OpenAiCompatible, &format!("{}/v1", server2.uri()));
    cfg.pricing = Some(Pricing {
        input_per_million: 2.0,
        output_per_million: 8.0,
    });
    let (result, _) = chat(&client(cfg, None), false).await;
    let cost = result.unwrap().cost.unwrap();
    assert!((cost - 0.006).abs() < 1e-12, "cost {cost}");
}

#[tokio::test]
async fn server_ignoring_stream_true_and_answering_json_still_works() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": "plain"}, "finish_reason": "stop"}]})))
        .mount(&server)
        .await;
    let (result, deltas) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    assert_eq!(result.unwrap().text, "plain");
    assert_eq!(deltas.joined(), "plain");
}

#[tokio::test]
async fn honours_retry_after_on_429_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(
                    json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}),
                ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(event_stream(openai_stream_ok()))
        .mount(&server)
        .await;
    let started = Instant::now();
    let (result, deltas) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(result.unwrap().text, "Hello!");
    assert_eq!(deltas.joined(), "Hello!");
    assert_eq!(requests_received(&server).await, 2);
    // The policy's own backoff is ≤ 10 ms here, so waiting ≥ 1 s can only come from Retry-After.
    assert!(
        elapsed >= Duration::from_millis(1000),
        "waited only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(4), "waited {elapsed:?}");
}

#[tokio::test]
async fn retry_after_longer_than_the_cap_fails_without_sleeping() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, ChatError::RateLimited { status: 429, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("3600s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(requests_received(&server).await, 1);
}

#[tokio::test]
async fn retries_500_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal error"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(event_stream(openai_stream_ok()))
        .mount(&server)
        .await;
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    assert_eq!(result.unwrap().text, "Hello!");
    assert_eq!(requests_received(&server).await, 2);
}

#[tokio::test]
async fn persistent_503_exhausts_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}})),
        )
        .mount(&server)
        .await;
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    match &error {
        ChatError::RetriesExhausted { attempts: 3, last } => {
            assert!(
                matches!(**last, ChatError::Server { status: 503, .. }),
                "{last:?}"
            )
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(error.to_string().contains("overloaded"), "{error}");
    assert_eq!(requests_received(&server).await, 3);
}

#[tokio::test]
async fn unauthorized_is_not_retried_and_names_the_variable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": {"message": "Invalid API key"}})),
        )
        .mount(&server)
        .await;
    let mut cfg = config(Provider::OpenAiCompatible, &server.uri());
    cfg.api_key_env = Some("AIDX_TEST_OPENAI_KEY".into());
    let (result, _) = chat(&client(cfg, Some("sk-wrong-key-0000")), true).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, ChatError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("$AIDX_TEST_OPENAI_KEY") && text.contains("Invalid API key"),
        "{text}"
    );
    assert_eq!(requests_received(&server).await, 1);
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "max_tokens too large"}})),
        )
        .mount(&server)
        .await;
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, ChatError::Rejected { status: 400, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("max_tokens too large"));
    assert_eq!(requests_received(&server).await, 1);
}

#[tokio::test]
async fn stream_cut_mid_event_is_an_error_not_a_short_reply() {
    let server = MockServer::start().await;
    let full = openai_stream_ok();
    // Cut inside the "lo!" event's JSON.
    let cut = &full[..full.find("lo!").unwrap()];
    Mock::given(method("POST"))
        .respond_with(event_stream(cut.to_string()))
        .mount(&server)
        .await;
    let (result, deltas) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    match &error {
        ChatError::StreamTruncated {
            received_chars: 3,
            detail,
            ..
        } => assert!(detail.contains("mid-event"), "{detail}"),
        other => panic!("expected StreamTruncated, got {other:?}"),
    }
    assert_eq!(deltas.joined(), "Hel");
    assert_eq!(
        requests_received(&server).await,
        1,
        "text already delivered: no silent retry"
    );
}

#[tokio::test]
async fn stream_ending_between_events_without_finish_is_truncated() {
    let server = MockServer::start().await;
    let body = sse(&[
        r#"{"choices":[{"index":0,"delta":{"content":"partial plan"},"finish_reason":null}]}"#,
    ]);
    Mock::given(method("POST"))
        .respond_with(event_stream(body))
        .mount(&server)
        .await;
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    assert!(
        matches!(
            result,
            Err(ChatError::StreamTruncated {
                received_chars: 12,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn invalid_json_is_malformed_in_streams_and_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(event_stream(sse(&[
            r#"{"choices":[{"delta":{"content":"a"}}"#,
            "[DONE]",
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{not json", "application/json"))
        .mount(&server)
        .await;
    let client = client(config(Provider::OpenAiCompatible, &server.uri()), None);
    for stream in [true, false] {
        let (result, _) = chat(&client, stream).await;
        assert!(
            matches!(result, Err(ChatError::Malformed { .. })),
            "stream={stream}: {result:?}"
        );
    }
    assert_eq!(
        requests_received(&server).await,
        2,
        "malformed replies are not retried"
    );
}

#[tokio::test]
async fn error_object_inside_an_openai_stream_is_reported() {
    let server = MockServer::start().await;
    let body =
        sse(&[r#"{"error":{"message":"context length exceeded","type":"invalid_request_error"}}"#]);
    Mock::given(method("POST"))
        .respond_with(event_stream(body))
        .mount(&server)
        .await;
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &server.uri()), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            ChatError::Provider {
                transient: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("context length exceeded"));
}

// Event sequence from Anthropic's "Streaming Messages" documentation (text-only reply).
fn anthropic_stream() -> String {
    named_sse(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-test","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ])
}

#[tokio::test]
async fn anthropic_streaming_event_shapes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test-1234"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(
            json!({"model": "test-model", "system": "Be brief.", "max_tokens": 16, "stream": true,
            "messages": [{"role": "user", "content": "Say hi."}]}),
        ))
        .respond_with(event_stream(anthropic_stream()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(
        config(Provider::Anthropic, &server.uri()),
        Some("sk-ant-test-1234"),
    );
    let (result, deltas) = chat(&client, true).await;
    let response = result.unwrap();
    assert_eq!(deltas.all(), vec!["Hello", "!"]);
    assert_eq!(response.text, "Hello!");
    assert_eq!(
        response.usage,
        Usage {
            prompt_tokens: 25,
            completion_tokens: 15
        }
    );
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.model.as_deref(), Some("claude-test"));
}

#[tokio::test]
async fn anthropic_non_streaming_and_missing_message_stop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": "Hi!"}], "stop_reason": "max_tokens",
            "usage": {"input_tokens": 9, "cache_read_input_tokens": 20,
                "cache_creation_input_tokens": 3, "output_tokens": 16}})))
        .mount(&server)
        .await;
    let full = anthropic_stream();
    let without_stop = full[..full.find("event: message_stop").unwrap()].to_string();
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(event_stream(without_stop))
        .mount(&server)
        .await;
    let client = client(
        config(Provider::Anthropic, &server.uri()),
        Some("sk-ant-test-1234"),
    );
    let (result, _) = chat(&client, false).await;
    let response = result.unwrap();
    assert_eq!(response.text, "Hi!");
    assert_eq!(response.finish_reason, FinishReason::Length);
    // Anthropic counts cached prompt tokens apart from `input_tokens`; the prompt total includes them.
    assert_eq!(
        response.usage,
        Usage {
            prompt_tokens: 32,
            completion_tokens: 16
        }
    );
    let (result, _) = chat(&client, true).await;
    assert!(
        matches!(
            result,
            Err(ChatError::StreamTruncated {
                received_chars: 6,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn anthropic_overloaded_error_event_is_transient_and_retried_before_any_text() {
    let server = MockServer::start().await;
    let overloaded = named_sse(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"claude-test","usage":{"input_tokens":5,"output_tokens":1}}}"#,
        ),
        (
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        ),
    ]);
    Mock::given(method("POST"))
        .respond_with(event_stream(overloaded))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(event_stream(anthropic_stream()))
        .mount(&server)
        .await;
    let (result, deltas) = chat(
        &client(config(Provider::Anthropic, &server.uri()), None),
        true,
    )
    .await;
    assert_eq!(result.unwrap().text, "Hello!");
    assert_eq!(deltas.joined(), "Hello!");
    assert_eq!(requests_received(&server).await, 2);
}

// Chunk shape from the Gemini API reference (`streamGenerateContent?alt=sse`).
fn gemini_chunk(text: &str, finish: Option<&str>, candidates_tokens: u64) -> String {
    let mut candidate =
        json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": candidates_tokens, "totalTokenCount": 7 + candidates_tokens},
        "modelVersion": "gemini-test"})
    .to_string()
}

#[tokio::test]
async fn gemini_streaming_and_non_streaming_shapes() {
    let server = MockServer::start().await;
    let stream = sse(&[
        &gemini_chunk("Hel", None, 1),
        &gemini_chunk("lo!", Some("STOP"), 3),
    ]);
    Mock::given(method("POST"))
        .and(path("/v1beta/models/test-model:streamGenerateContent"))
        .and(query_param("alt", "sse"))
        .and(header("x-goog-api-key", "AIza-test-key-99"))
        .and(body_partial_json(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Say hi."}]}],
            "generationConfig": {"maxOutputTokens": 16}})))
        .respond_with(event_stream(stream))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/test-model:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            gemini_chunk("Hi!", Some("MAX_TOKENS"), 16),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(
        config(Provider::Gemini, &format!("{}/v1beta", server.uri())),
        Some("AIza-test-key-99"),
    );
    let (result, deltas) = chat(&client, true).await;
    let response = result.unwrap();
    assert_eq!(deltas.all(), vec!["Hel", "lo!"]);
    assert_eq!(
        response.usage,
        Usage {
            prompt_tokens: 7,
            completion_tokens: 3
        }
    );
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.model.as_deref(), Some("gemini-test"));
    let (result, _) = chat(&client, false).await;
    let response = result.unwrap();
    assert_eq!(
        (response.text.as_str(), response.finish_reason),
        ("Hi!", FinishReason::Length)
    );
}

#[tokio::test]
async fn gemini_stream_without_a_finish_reason_is_truncated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(event_stream(sse(&[&gemini_chunk("Hel", None, 1)])))
        .mount(&server)
        .await;
    let client = client(config(Provider::Gemini, &server.uri()), None);
    let (result, _) = chat(&client, true).await;
    assert!(
        matches!(result, Err(ChatError::StreamTruncated { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn cancellation_stops_a_pending_request_promptly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(event_stream(openai_stream_ok()).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let client = client(config(Provider::OpenAiCompatible, &server.uri()), None);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let mut sink = |_: &str| {};
    let result = client.chat(&request(true), &mut sink, &cancel).await;
    assert!(matches!(result, Err(ChatError::Cancelled)), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cancellation_interrupts_a_retry_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "4"))
        .mount(&server)
        .await;
    let client = client(config(Provider::OpenAiCompatible, &server.uri()), None);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let mut sink = |_: &str| {};
    let result = client.chat(&request(true), &mut sink, &cancel).await;
    assert!(matches!(result, Err(ChatError::Cancelled)), "{result:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn read_timeout_fires_on_a_silent_server() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(event_stream(openai_stream_ok()).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let mut cfg = config(Provider::OpenAiCompatible, &server.uri());
    cfg.timeouts.read = Duration::from_millis(300);
    cfg.retry = common::fast_retry(1);
    let started = Instant::now();
    let (result, _) = chat(&client(cfg, None), true).await;
    assert!(
        matches!(result, Err(ChatError::Timeout { what: "read", .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_with_the_base_url() {
    // Bind then drop a listener to get a loopback port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let (result, _) = chat(
        &client(config(Provider::OpenAiCompatible, &base), None),
        true,
    )
    .await;
    let error = result.unwrap_err();
    match &error {
        ChatError::RetriesExhausted { attempts: 3, last } => {
            assert!(matches!(**last, ChatError::Connect { .. }))
        }
        other => panic!("expected RetriesExhausted(Connect), got {other:?}"),
    }
    assert!(error.to_string().contains(&base), "{error}");
}

/// A raw HTTP/1.1 server that sends a chunked event stream and then drops the connection without the final
/// chunk: a connection reset mid-stream, which a canned-body mock server cannot produce.
async fn dropping_server(first_events: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 64 * 1024];
            let mut seen = Vec::new();
            // Read the request head and body (Content-Length) before answering.
            loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&seen);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length: usize = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if seen.len() >= head_end + 4 + length {
                        break;
                    }
                }
            }
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            let chunk = format!("{:x}\r\n{}\r\n", first_events.len(), first_events);
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(chunk.as_bytes()).await;
            let _ = socket.flush().await;
            drop(socket); // no terminating 0-chunk
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn connection_dropped_mid_stream_is_truncation() {
    let events =
        sse(&[r#"{"choices":[{"index":0,"delta":{"content":"Step 1"},"finish_reason":null}]}"#]);
    let base = dropping_server(events).await;
    let (result, deltas) = chat(
        &client(config(Provider::OpenAiCompatible, &base), None),
        true,
    )
    .await;
    assert_eq!(deltas.joined(), "Step 1");
    assert!(
        matches!(
            result,
            Err(ChatError::StreamTruncated {
                received_chars: 6,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn connection_dropped_before_any_text_is_retried() {
    // The stream dies after a role-only chunk (no text yet), so the client may safely try again; every attempt
    // dies the same way, so the attempts run out.
    let events =
        sse(&[r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#]);
    let base = dropping_server(events).await;
    let (result, deltas) = chat(
        &client(config(Provider::OpenAiCompatible, &base), None),
        true,
    )
    .await;
    assert!(deltas.all().is_empty());
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ChatError::RetriesExhausted { attempts: 3, last } if matches!(**last, ChatError::StreamTruncated { .. })),
        "{error:?}"
    );
}

#[test]
fn request_body_shapes_are_json_objects() {
    // Guards the serde shape of roles used by every protocol.
    let value: Value = serde_json::to_value(ChatMessage::assistant("x")).unwrap();
    assert_eq!(value, json!({"role": "assistant", "content": "x"}));
}
