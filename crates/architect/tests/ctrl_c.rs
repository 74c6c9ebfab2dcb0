//! Ctrl-C cancels a request in flight. Its own test binary, because it sends SIGINT to the test process.

#![cfg(unix)]

mod common;

use std::time::{Duration, Instant};

use aidx_architect::{ChatClient, ChatError, ChatMessage, Provider, cancel_on_ctrl_c};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn sigint_cancels_the_request_in_flight() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let client = common::client(
        common::config(Provider::OpenAiCompatible, &server.uri()),
        None,
    );
    let cancel = cancel_on_ctrl_c();
    // Let the signal task register its handler before the signal is sent (current-thread runtime: the sleep runs it).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = std::process::id().to_string();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let status = tokio::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    });
    let request = client.request(vec![ChatMessage::user("hi")]);
    let started = Instant::now();
    let mut sink = |_: &str| {};
    let result = client.chat(&request, &mut sink, &cancel).await;
    assert!(matches!(result, Err(ChatError::Cancelled)), "{result:?}");
    assert!(cancel.is_cancelled());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
