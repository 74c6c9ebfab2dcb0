//! Ctrl-C for the line-mode commands: defer the signal, and cancel the request's token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use aidx_agent_core::git::{InterruptGuard, interrupt};
use aidx_agent_core::pipeline::CancelToken;

/// While alive, SIGINT/SIGTERM set the process-wide flag (so no write is cut in half) and a
/// watcher thread turns that flag into a cancellation of `token`, which stops the role in flight
/// (the model's token loop, the HTTP stream) instead of waiting for it to finish.
pub struct CtrlC {
    token: CancelToken,
    done: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
    _guard: InterruptGuard,
}

impl CtrlC {
    /// Installs the handlers and starts the watcher for a fresh token.
    pub fn install() -> Self {
        interrupt::reset();
        let guard = InterruptGuard::install();
        let token = CancelToken::new();
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let token = token.clone();
            let done = Arc::clone(&done);
            std::thread::Builder::new()
                .name("aidx-ctrl-c".into())
                .spawn(move || {
                    while !done.load(Ordering::SeqCst) {
                        if interrupt::interrupted() {
                            token.cancel();
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
                .ok()
        };
        CtrlC {
            token,
            done,
            watcher,
            _guard: guard,
        }
    }

    /// The token to pass to the pipeline or role.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }

    /// `error` as the command's error, unless Ctrl-C arrived: a role cancelled by Ctrl-C reports
    /// a failure, but what happened is the interrupt (exit status 130).
    pub fn or_interrupted(&self, error: impl std::fmt::Display, what: &str) -> anyhow::Error {
        if self.interrupted() {
            crate::exit::Exit::error(
                crate::exit::Status::Interrupted,
                format!("interrupted: {what}"),
            )
        } else {
            anyhow::anyhow!("{error}")
        }
    }

    /// Whether Ctrl-C arrived.
    pub fn interrupted(&self) -> bool {
        interrupt::interrupted() || self.token.is_cancelled()
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}
