//! tree-sitter's C allocations routed to mimalloc.
//!
//! Parsing allocates and frees one heap node per internal syntax node; on a cold map that churn is
//! a tenth of the CPU time under glibc's allocator. mimalloc's thread-local free lists serve it for
//! less. The allocator is installed once, before this crate makes its first tree-sitter object;
//! tree-sitter is used nowhere else in aidx.

use std::sync::Once;

/// Installs mimalloc as tree-sitter's allocator. Every path that creates a parser, query or tree in
/// this crate calls it first.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let allocator = tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: libmimalloc_sys::mi_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        };
        // SAFETY: the four functions are one allocator family, return memory aligned at least as
        // malloc's, and abort rather than return null. `Once` makes this run once, before any
        // tree-sitter object of this crate exists (all of them are made after `install`).
        unsafe { tree_sitter::set_allocator(Some(allocator)) };
    });
}
