//! Structured plan output (`PlanFormat::JsonSchema`) at the protocol level, against a local HTTP test server
//! (wiremock on 127.0.0.1): the request carries the plan schema in each protocol's own field, a JSON reply becomes
//! the fixed plan.md, and a reply that is not JSON or not a valid plan gets one corrective request and then a clear
//! error, with nothing written.

mod common;

use std::fs;

use aidx_architect::plan::{
    Architect, ArchitectError, ArchitectOptions, FileAction, Plan, PlanFormat, PlanInput,
    PlanProblem, PlannedFile, plan_schema,
};
use aidx_architect::{
    CancellationToken, ChatClient, ChatError, ChatMessage, ChatRequest, HttpChatClient, Provider,
    ResponseSchema,
};
use common::{Deltas, client, config, sse};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OPENAI_PATH: &str = "/v1/chat/completions";

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(dir.path().join("src/lib.rs"), "// lib\n").unwrap();
    dir
}

fn refs() -> Vec<String> {
    vec!["R1".to_string(), "R2".to_string()]
}

fn files() -> Vec<String> {
    vec!["src/main.rs".to_string(), "src/lib.rs".to_string()]
}

fn json_options() -> ArchitectOptions {
    ArchitectOptions {
        format: PlanFormat::JsonSchema,
        ..ArchitectOptions::default()
    }
}

/// An OpenAI-compatible SSE reply carrying `text` in a few pieces, then usage and `[DONE]`.
fn openai_stream(text: &str, finish: &str) -> ResponseTemplate {
    let chars: Vec<char> = text.chars().collect();
    let mut events: Vec<String> = chars
        .chunks(chars.len().div_ceil(3).max(1))
        .map(|piece| {
            json!({"choices": [{"index": 0, "delta": {"content": piece.iter().collect::<String>()}, "finish_reason": null}]})
                .to_string()
        })
        .collect();
    events
        .push(json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}).to_string());
    events.push(
        json!({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 20}}).to_string(),
    );
    events.push("[DONE]".to_string());
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    ResponseTemplate::new(200).set_body_raw(sse(&refs), "text/event-stream")
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .map(|request| serde_json::from_slice(&request.body).expect("JSON body"))
        .collect()
}

const VALID_JSON: &str = r#"{"goal": "Print the version at start-up.", "context": ["R1"], "steps": ["Print env!(\"CARGO_PKG_VERSION\") in main.", "Move the text into src/version.rs."], "files": [{"path": "src/main.rs", "note": "print it"}, {"new": "src/version.rs", "note": "the text"}], "check": "cargo run"}"#;

fn expected_plan() -> Plan {
    Plan {
        goal: "Print the version at start-up.".into(),
        context_refs: vec!["R1".into()],
        steps: vec![
            "Print env!(\"CARGO_PKG_VERSION\") in main.".into(),
            "Move the text into src/version.rs.".into(),
        ],
        files: vec![
            PlannedFile {
                path: "src/main.rs".into(),
                action: FileAction::Change,
                note: "print it".into(),
            },
            PlannedFile {
                path: "src/version.rs".into(),
                action: FileAction::Create,
                note: "the text".into(),
            },
        ],
        checks: vec!["cargo run".into()],
    }
}

/// One `plan` call with the JSON format against `server` (OpenAI-compatible), for the request
/// "Print the version" over the test repository's references and files.
async fn plan_json(
    server: &MockServer,
    repo: &std::path::Path,
    repo_map: &str,
    sink: aidx_architect::DeltaSink<'_>,
) -> Result<aidx_architect::plan::PlanOutcome, ArchitectError> {
    plan_with(server, repo, json_options(), repo_map, sink).await
}

/// One `plan` call with `options` against `server` (OpenAI-compatible), for the request "Print the
/// version" over the test repository's references and files.
async fn plan_with(
    server: &MockServer,
    repo: &std::path::Path,
    options: ArchitectOptions,
    repo_map: &str,
    sink: aidx_architect::DeltaSink<'_>,
) -> Result<aidx_architect::plan::PlanOutcome, ArchitectError> {
    let planner = client(
        config(Provider::OpenAiCompatible, &format!("{}/v1", server.uri())),
        None,
    );
    let architect = Architect::new(&planner, repo, options);
    let (refs, files) = (refs(), files());
    let input = PlanInput {
        request: "Print the version",
        repo_map,
        reference_ids: &refs,
        files: &files,
    };
    architect.plan(input, sink, &CancellationToken::new()).await
}

#[tokio::test]
async fn openai_request_carries_the_schema_and_a_json_reply_becomes_plan_md() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream(VALID_JSON, "stop"))
        .expect(1)
        .mount(&server)
        .await;
    let repo = repo();
    let deltas = Deltas::default();
    let mut sink = deltas.sink();
    let outcome = plan_json(&server, repo.path(), "R1 src/main.rs: fn main()", &mut sink)
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 1);
    assert_eq!(outcome.plan, expected_plan());
    let written = fs::read_to_string(repo.path().join("artifacts/plan.md")).unwrap();
    assert_eq!(
        written,
        expected_plan().to_markdown(),
        "the same fixed markdown"
    );
    assert!(written.contains("`src/version.rs` (new) — the text"));
    assert!(
        deltas.all().len() >= 3,
        "the JSON streams: {:?}",
        deltas.all()
    );
    assert_eq!(deltas.joined(), VALID_JSON);

    let body = &bodies(&server).await[0];
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "plan");
    assert_eq!(format["json_schema"]["strict"], true);
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema, &plan_schema(&refs(), &files()));
    assert_eq!(
        schema["properties"]["context"]["items"]["enum"],
        json!(["R1", "R2"])
    );
    assert_eq!(
        schema["properties"]["files"]["items"]["anyOf"][0]["properties"]["path"]["enum"],
        json!(["src/main.rs", "src/lib.rs"])
    );
    assert!(schema["properties"]["goal"]["maxLength"].as_u64().unwrap() <= 240);
    assert!(schema["properties"]["steps"]["maxItems"].as_u64().unwrap() <= 6);
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("one JSON object"), "{system}");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("## Repository files") && user.contains("- `src/lib.rs`"),
        "{user}"
    );
}

#[tokio::test]
async fn bad_json_is_corrected_once_then_an_invalid_plan_is_a_clear_error() {
    let server = MockServer::start().await;
    // First reply: cut off mid-string at the token limit. Second: JSON, but it marks an existing file new and
    // has no steps.
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream(r#"{"goal": "Print the ver"#, "length"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream(
            r#"{"goal": "Print it.", "context": [], "steps": [], "files": [{"new": "src/main.rs", "note": ""}], "check": ""}"#,
            "stop",
        ))
        .mount(&server)
        .await;
    let repo = repo();
    let error = plan_json(
        &server,
        repo.path(),
        "R1 src/main.rs: fn main()",
        &mut |_| {},
    )
    .await
    .unwrap_err();
    match &error {
        ArchitectError::InvalidPlan {
            problems,
            attempts,
            usage,
            format,
            ..
        } => {
            assert_eq!(*attempts, 2);
            assert_eq!(*format, PlanFormat::JsonSchema);
            assert_eq!(usage.completion_tokens, 40);
            assert_eq!(
                problems,
                &vec![
                    PlanProblem::NoSteps,
                    PlanProblem::NewFileExists {
                        path: "src/main.rs".into()
                    }
                ]
            );
        }
        other => panic!("expected InvalidPlan, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("still invalid after 2 requests")
            && message.contains("`steps` is empty")
            && message.contains("`src/main.rs` is listed as \"new\" but already exists"),
        "{message}"
    );
    assert!(!repo.path().join("artifacts").exists(), "nothing written");

    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[1]["response_format"], bodies[0]["response_format"],
        "the correction is constrained too"
    );
    let messages = bodies[1]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], r#"{"goal": "Print the ver"#);
    let correction = messages[3]["content"].as_str().unwrap();
    assert!(
        correction.contains("cut off at the token limit")
            && correction.contains("not a JSON plan (EOF while parsing a string")
            && correction.contains("one JSON object"),
        "{correction}"
    );
}

#[tokio::test]
async fn a_corrected_json_plan_is_written_after_the_retry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream("Sure! Here is the plan.", "stop"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream(VALID_JSON, "stop"))
        .mount(&server)
        .await;
    let repo = repo();
    let outcome = plan_json(&server, repo.path(), "", &mut |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.attempts, 2);
    assert_eq!(outcome.plan, expected_plan());
    assert!(repo.path().join("artifacts/plan.md").is_file());
}

#[tokio::test]
async fn gemini_gets_response_mime_type_and_an_openapi_subset_schema() {
    let server = MockServer::start().await;
    let reply = json!({"candidates": [{"content": {"parts": [{"text": VALID_JSON}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 30}});
    Mock::given(method("POST"))
        .and(path("/v1beta/models/test-model:generateContent"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(reply.to_string(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let repo = repo();
    let planner = client(
        config(Provider::Gemini, &format!("{}/v1beta", server.uri())),
        Some("AIza-test"),
    );
    let options = ArchitectOptions {
        stream: false,
        ..json_options()
    };
    let architect = Architect::new(&planner, repo.path(), options);
    let (refs, files) = (refs(), files());
    let input = PlanInput {
        request: "Print the version",
        repo_map: "",
        reference_ids: &refs,
        files: &files,
    };
    let mut sink = |_: &str| {};
    let outcome = architect
        .plan(input, &mut sink, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.plan, expected_plan());

    let body = &bodies(&server).await[0];
    let generation = &body["generationConfig"];
    assert_eq!(generation["responseMimeType"], "application/json");
    let schema = &generation["responseSchema"];
    assert_eq!(schema["type"], "OBJECT");
    assert_eq!(
        schema["propertyOrdering"],
        json!(["goal", "context", "steps", "files", "check"])
    );
    assert_eq!(schema["properties"]["steps"]["items"]["type"], "STRING");
    let existing = &schema["properties"]["files"]["items"]["anyOf"][0];
    assert_eq!(existing["propertyOrdering"], json!(["path", "note"]));
    assert_eq!(
        existing["properties"]["path"]["enum"],
        json!(["src/main.rs", "src/lib.rs"])
    );
    assert!(
        !body.to_string().contains("additionalProperties"),
        "Gemini's schema subset has no additionalProperties"
    );
    assert!(body.get("response_format").is_none());
}

#[tokio::test]
async fn anthropic_refuses_a_response_schema_without_sending_anything() {
    let server = MockServer::start().await;
    let planner: HttpChatClient = client(config(Provider::Anthropic, &server.uri()), None);
    let request = ChatRequest::new("test-model", vec![ChatMessage::user("plan")])
        .with_response_schema(ResponseSchema {
            name: "plan".into(),
            schema: plan_schema(&[], &[]),
        });
    let mut sink = |_: &str| {};
    let error = planner
        .chat(&request, &mut sink, &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ChatError::InvalidConfig { detail, .. } if detail.contains("plan-format: markdown")),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(
        PlanFormat::auto(Provider::Anthropic),
        PlanFormat::Markdown,
        "auto keeps markdown for Anthropic"
    );
    assert_eq!(
        PlanFormat::auto(Provider::OpenAiCompatible),
        PlanFormat::JsonSchema
    );
    assert_eq!(PlanFormat::auto(Provider::Gemini), PlanFormat::JsonSchema);
}

#[tokio::test]
async fn a_server_that_rejects_the_schema_points_at_plan_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "Invalid schema for response_format 'plan'", "type": "invalid_request_error"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let repo = repo();
    let error = plan_json(&server, repo.path(), "", &mut |_| {})
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("Invalid schema") && message.contains("plan-format: markdown"),
        "{message}"
    );
}

#[tokio::test]
async fn a_rejection_that_is_not_about_the_schema_keeps_its_own_hint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "request (4206 tokens) exceeds the available context size (4096 tokens), try increasing it",
            "type": "exceed_context_size_error"}})))
        .mount(&server)
        .await;
    let planner = client(
        config(Provider::OpenAiCompatible, &format!("{}/v1", server.uri())),
        None,
    );
    let request = ChatRequest::new("test-model", vec![ChatMessage::user("plan")])
        .with_response_schema(ResponseSchema {
            name: "plan".into(),
            schema: plan_schema(&[], &[]),
        });
    let mut sink = |_: &str| {};
    let message = planner
        .chat(&request, &mut sink, &CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("exceeds the available context size") && !message.contains("plan-format"),
        "{message}"
    );
}

// `plan-format: auto` against servers that treat the schema differently: the four kinds met in
// practice. `auto` sends the schema and, when the reply is not JSON, reads it as markdown too.

fn auto_options() -> ArchitectOptions {
    ArchitectOptions {
        format: PlanFormat::JsonSchema,
        markdown_fallback: true,
        ..ArchitectOptions::default()
    }
}

const MARKDOWN_PLAN: &str = "# Plan\n\n## Goal\n\nPrint the version at start-up.\n\n## Context\n\n- `R1`\n\n## Steps\n\n1. Print env!(\"CARGO_PKG_VERSION\") in main.\n\n## Files\n\n- `src/main.rs` — print it\n\n## Checks\n\n- cargo run\n";

async fn plan_auto(
    server: &MockServer,
    repo: &std::path::Path,
) -> Result<aidx_architect::plan::PlanOutcome, ArchitectError> {
    plan_with(
        server,
        repo,
        auto_options(),
        "R1 src/main.rs: fn main()",
        &mut |_| {},
    )
    .await
}

async fn server_replying(text: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(OPENAI_PATH))
        .respond_with(openai_stream(text, "stop"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn auto_a_server_that_honours_the_schema_gives_the_json_plan() {
    let server = server_replying(VALID_JSON).await;
    let repo = repo();
    let outcome = plan_auto(&server, repo.path()).await.unwrap();
    assert_eq!(outcome.plan, expected_plan());
    assert_eq!(outcome.attempts, 1);
    assert!(!outcome.schema_ignored);
    assert!(bodies(&server).await[0]["response_format"].is_object());
}

#[tokio::test]
async fn auto_a_server_that_ignores_the_schema_and_sends_markdown_gives_its_plan() {
    let server = server_replying(MARKDOWN_PLAN).await;
    let repo = repo();
    let outcome = plan_auto(&server, repo.path()).await.unwrap();
    assert_eq!(outcome.attempts, 1, "no correction request was needed");
    assert!(
        outcome.schema_ignored,
        "the caller is told to ask for markdown from now on"
    );
    assert_eq!(outcome.plan.goal, "Print the version at start-up.");
    assert_eq!(outcome.plan.files.len(), 1);
    assert_eq!(outcome.plan.files[0].path, "src/main.rs");
    let written = fs::read_to_string(repo.path().join("artifacts/plan.md")).unwrap();
    assert!(written.contains("## Steps"), "{written}");
}

#[tokio::test]
async fn auto_json_wrapped_in_a_code_fence_is_read_as_json() {
    let server = server_replying(&format!("```json\n{VALID_JSON}\n```\n")).await;
    let repo = repo();
    let outcome = plan_auto(&server, repo.path()).await.unwrap();
    assert_eq!(outcome.plan, expected_plan());
    assert_eq!(outcome.attempts, 1);
    assert!(!outcome.schema_ignored);
}

#[tokio::test]
async fn auto_garbage_is_retried_then_the_error_names_plan_format_and_shows_the_reply() {
    let server = server_replying(
        "Sure! Here is what I would do:\nfirst line\nsecond line\nthird\nfourth\nfifth\nsixth\nseventh\n",
    )
    .await;
    let repo = repo();
    let error = plan_auto(&server, repo.path()).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ArchitectError::InvalidPlan { attempts: 2, .. }),
        "{message}"
    );
    assert!(message.contains("plan-format: markdown"), "{message}");
    assert!(
        message.contains("| Sure! Here is what I would do:"),
        "{message}"
    );
    assert!(
        !message.contains("seventh"),
        "only the first lines: {message}"
    );
    assert_eq!(bodies(&server).await.len(), 2);
    assert!(!repo.path().join("artifacts").exists(), "nothing written");
}

#[tokio::test]
async fn without_auto_a_markdown_reply_to_a_schema_request_stays_invalid() {
    // `plan-format: json-schema` set explicitly: the user asked for JSON, so markdown is not accepted.
    let server = server_replying(MARKDOWN_PLAN).await;
    let repo = repo();
    let error = plan_json(
        &server,
        repo.path(),
        "R1 src/main.rs: fn main()",
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ArchitectError::InvalidPlan { .. }),
        "{error}"
    );
}
