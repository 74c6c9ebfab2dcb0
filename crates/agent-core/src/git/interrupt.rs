//! Deferring Ctrl-C while files are written.
//!
//! While an [`InterruptGuard`] is alive, SIGINT and SIGTERM only set a flag instead of killing
//! the process. The landing code checks [`interrupted`] before it writes anything and stops
//! cleanly; once writing has started it finishes the (short) write and index update, so every
//! file ends up either untouched or fully edited and the index matches. The caller then exits
//! with status 130.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static GUARDS: AtomicUsize = AtomicUsize::new(0);

/// True when SIGINT/SIGTERM arrived while a guard was installed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Clears the flag (for a new run in the same process).
pub fn reset() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Sets the flag as a signal would (for callers with their own signal handling, e.g. tokio).
pub fn request() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Defers SIGINT and SIGTERM to a flag while alive; restores the default behaviour on drop.
/// Guards nest: the handlers are restored when the last one is dropped.
#[derive(Debug)]
#[must_use = "signals are deferred only while the guard is alive"]
pub struct InterruptGuard {
    _private: (),
}

impl InterruptGuard {
    /// Installs the handlers (a no-op on non-Unix platforms).
    pub fn install() -> Self {
        if GUARDS.fetch_add(1, Ordering::SeqCst) == 0 {
            sys::install();
        }
        InterruptGuard { _private: () }
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if GUARDS.fetch_sub(1, Ordering::SeqCst) == 1 {
            sys::restore();
        }
    }
}

#[cfg(unix)]
mod sys {
    use std::os::raw::c_int;

    use super::{INTERRUPTED, Ordering};

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;
    /// `SIG_DFL` is the null handler.
    const SIG_DFL: usize = 0;

    unsafe extern "C" {
        /// libc's `signal(2)`; glibc and the BSDs give it BSD semantics (the handler stays
        /// installed, interrupted system calls restart).
        fn signal(signum: c_int, handler: usize) -> usize;
    }

    /// Only stores to an atomic: async-signal-safe.
    extern "C" fn on_signal(_signum: c_int) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }

    pub(super) fn install() {
        let handler = on_signal as extern "C" fn(c_int) as usize;
        // SAFETY: `on_signal` is async-signal-safe and lives for the whole program.
        unsafe {
            signal(SIGINT, handler);
            signal(SIGTERM, handler);
        }
    }

    pub(super) fn restore() {
        // SAFETY: restoring the default disposition is always valid.
        unsafe {
            signal(SIGINT, SIG_DFL);
            signal(SIGTERM, SIG_DFL);
        }
    }
}

#[cfg(not(unix))]
mod sys {
    pub(super) fn install() {}
    pub(super) fn restore() {}
}
