//! One entry of the conversation: who wrote it and its text. Its own file because the screen
//! state (`app.rs`) shows entries and the transcript (`history.rs`) writes them to disk, and
//! neither should need the other for that.

use aidx_agent_core::pipeline::Speaker;

/// Who wrote a conversation entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The user's line.
    User,
    /// A role's streamed output.
    Role(Speaker),
    /// aidx itself (command output, progress notes).
    System,
    /// An error, shown as the command would print it.
    Error,
}

/// One entry of the conversation pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Author.
    pub who: Who,
    /// Text (grows while a role streams).
    pub text: String,
}
