//! Token counting shared by the repo map and agent-core's context gate.

use std::sync::{Arc, OnceLock};

use tiktoken_rs::CoreBPE;

/// Counts tokens in text. The repo map enforces its budget with this, and so does the context gate,
/// so both agree on what "N tokens" means.
pub trait TokenCounter: Send + Sync {
    /// Number of tokens `text` encodes to.
    fn count(&self, text: &str) -> usize;
}

impl<T: TokenCounter + ?Sized> TokenCounter for Arc<T> {
    fn count(&self, text: &str) -> usize {
        (**self).count(text)
    }
}

impl<T: TokenCounter + ?Sized> TokenCounter for &T {
    fn count(&self, text: &str) -> usize {
        (**self).count(text)
    }
}

/// The `cl100k_base` BPE from tiktoken-rs.
///
/// The BPE tables are built once per process (that takes a noticeable fraction of a second) and
/// shared by every copy, so this type is zero-sized and free to clone or pass around.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cl100kCounter;

impl Cl100kCounter {
    /// A counter backed by the shared, lazily built `cl100k_base` tables.
    pub fn new() -> Self {
        Self
    }

    /// The shared encoder, built on first use.
    pub fn bpe() -> &'static CoreBPE {
        static BPE: OnceLock<CoreBPE> = OnceLock::new();
        BPE.get_or_init(|| {
            // The tables are compiled into tiktoken-rs, so this cannot fail at run time.
            tiktoken_rs::cl100k_base().expect("tiktoken-rs ships the cl100k_base tables")
        })
    }
}

impl TokenCounter for Cl100kCounter {
    fn count(&self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        Self::bpe().encode_ordinary(text).len()
    }
}
