//! Ctrl-C to cancellation.

use tokio_util::sync::CancellationToken;

/// A token that is cancelled when the process receives Ctrl-C (SIGINT). Pass it to
/// [`ChatClient::chat`](crate::ChatClient::chat) or [`Architect::plan`](crate::plan::Architect::plan): the request in
/// flight is dropped (closing its connection, which stops a local server's generation) and
/// [`ChatError::Cancelled`](crate::ChatError::Cancelled) is returned. Must be called inside a Tokio runtime.
pub fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C received; cancelling");
            trigger.cancel();
        }
    });
    token
}
