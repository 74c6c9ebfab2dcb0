//! `aidx` with no subcommand: the interactive mode.
//!
//! Another caller of the pipeline, not a second pipeline. The CLI implements [`Backend`] with
//! the same roles `aidx run` builds; a [`worker`] thread runs it, reporting through the
//! pipeline's `Observer` (typed events) and `Reviewer` (hunk-by-hunk review) seams over
//! channels, so model work never blocks the render loop. [`App`] is the session's state and its
//! answers to keys, [`ui`] draws it, [`terminal`] owns the real terminal.

pub mod app;
pub mod backend;
pub mod commands;
pub mod entry;
pub mod history;
pub mod terminal;
pub mod ui;
pub mod worker;

pub use app::{Action, App, Entry, Mode, ReviewStage, ReviewState, Who};
pub use backend::{Backend, BackendError, ChatFiles, SessionStatus, TokenLine, Usage};
pub use terminal::{Options, TuiError, restore, run};
pub use worker::{FromWorker, Job, Output, PendingReview, UiEvent, Worker};
