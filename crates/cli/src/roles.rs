//! Builds the pipeline's roles from the configuration.

use std::path::Path;

use aidx_agent_core::pipeline::{Planner, Researcher};

use crate::context::Context;

/// The Researcher: the repo map over `root`.
pub fn researcher(_ctx: &Context, _root: &Path) -> Option<Box<dyn Researcher>> {
    None
}

/// The Planner: the configured cloud architect, or `None` (the local model plans when
/// `fully-local` allows it).
pub fn planner(_ctx: &Context) -> anyhow::Result<Option<Box<dyn Planner>>> {
    Ok(None)
}
