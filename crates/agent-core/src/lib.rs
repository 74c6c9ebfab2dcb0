//! The aidx pipeline: research → plan → hard reset → edit → validate → review.
//!
//! This crate ties the engines together (repo map, architect, local editor) and owns the
//! pieces that are aidx's own: the configuration (`.aidx.yml`), the edit format, the context
//! gate and the git application of edits.

pub mod adapters;
pub mod config;
pub mod edit;
pub mod gate;
pub mod git;
pub mod pipeline;
pub mod verify;
