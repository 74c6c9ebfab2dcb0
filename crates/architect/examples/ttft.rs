//! Streaming overhead: time to first token through `HttpChatClient` vs `curl -N`, against the same local
//! llama-server (SmolLM2-135M), interleaved, median of N runs.
//!
//! Run: `cargo run -p aidx-architect --example ttft --release -- [RUNS]` (needs scripts/build-llama-cpp.sh).
//! "First token" is the first SSE event with non-empty `choices[0].delta.content`, for both.

use std::process::Stdio;
use std::time::{Duration, Instant};

use aidx_architect::local_server::{LlamaServer, LlamaServerOptions};
use aidx_architect::{
    CancellationToken, ChatClient, ChatMessage, ChatRequest, HttpChatClient, Provider,
    ProviderConfig,
};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const SYSTEM: &str = "You are a helpful assistant.";
const USER: &str = "Name three colours.";
const MAX_TOKENS: u32 = 8;

async fn ttft_client(client: &HttpChatClient) -> Duration {
    let request = ChatRequest::new(
        client.model(),
        vec![ChatMessage::system(SYSTEM), ChatMessage::user(USER)],
    )
    .with_max_tokens(MAX_TOKENS)
    .with_temperature(0.0);
    let started = Instant::now();
    let mut first: Option<Duration> = None;
    let mut sink = |delta: &str| {
        if first.is_none() && !delta.is_empty() {
            first = Some(started.elapsed());
        }
    };
    client
        .chat(&request, &mut sink, &CancellationToken::new())
        .await
        .expect("chat succeeds");
    first.expect("at least one token")
}

async fn ttft_curl(url: &str, body: &str) -> Duration {
    let started = Instant::now();
    let mut child = tokio::process::Command::new("curl")
        .args([
            "-sN",
            "-H",
            "content-type: application/json",
            "-d",
            body,
            url,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut first = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if first.is_none()
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(data)
            && json
                .pointer("/choices/0/delta/content")
                .and_then(|c| c.as_str())
                .is_some_and(|c| !c.is_empty())
        {
            first = Some(started.elapsed());
        }
    }
    child.wait().await.unwrap();
    first.expect("curl saw a token")
}

/// Wall time to launch curl and have it exit without any network work: the part of the curl figure that is process
/// start-up, not HTTP.
async fn curl_launch() -> Duration {
    let started = Instant::now();
    let status = tokio::process::Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .await
        .expect("curl runs");
    assert!(status.success());
    started.elapsed()
}

fn summary(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<30} median {:7.2} ms   min {:7.2} ms   max {:7.2} ms   (n={})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    let options = LlamaServerOptions::discover().unwrap_or_else(|e| panic!("{e}"));
    let server = LlamaServer::start(&options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let base = format!("{}/v1", server.origin());
    let config = ProviderConfig::new(Provider::OpenAiCompatible, "smollm2").with_base_url(&base);
    let body = json!({
        "model": "smollm2",
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}],
        "stream": true, "stream_options": {"include_usage": true},
        "max_tokens": MAX_TOKENS, "temperature": 0.0,
    })
    .to_string();
    let url = format!("{base}/chat/completions");
    let reused = HttpChatClient::new(config.clone()).unwrap();

    // Warm-up: load pages, fill the server's prompt cache the same way for everyone.
    ttft_client(&reused).await;
    ttft_curl(&url, &body).await;

    let (mut fresh, mut warm, mut curl, mut launch) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        launch.push(curl_launch().await);
        curl.push(ttft_curl(&url, &body).await);
        fresh.push(ttft_client(&HttpChatClient::new(config.clone()).unwrap()).await);
        warm.push(ttft_client(&reused).await);
    }
    println!(
        "time to first token, {runs} interleaved runs, llama-server SmolLM2-135M Q4_1, max_tokens {MAX_TOKENS}"
    );
    summary("curl -N (new process)", &mut curl);
    summary("curl --version (launch only)", &mut launch);
    summary("aidx client (new client)", &mut fresh);
    summary("aidx client (reused client)", &mut warm);
}
