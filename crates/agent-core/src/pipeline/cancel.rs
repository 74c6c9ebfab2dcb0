//! Cancelling one request, down to the model's token loop.
//!
//! A [`CancelToken`] belongs to one request: the front end makes a fresh one per request,
//! passes it in [`super::RunOptions`], and the pipeline hands it to every role (the Planner's
//! stream, the Editor's token loop through [`super::GenerateOptions`]). Cancelling it stops the
//! request in flight within a token or a network read; the next request gets a new token, so an
//! old cancellation never leaks into it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared, cheap-to-clone cancellation flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the request (idempotent; any thread).
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for engines that poll a plain atomic.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// Two tokens are equal when they are the same token.
impl PartialEq for CancelToken {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CancelToken {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag_and_fresh_tokens_do_not() {
        let a = CancelToken::new();
        let b = a.clone();
        let c = CancelToken::new();
        b.cancel();
        assert!(a.is_cancelled());
        assert!(!c.is_cancelled());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
