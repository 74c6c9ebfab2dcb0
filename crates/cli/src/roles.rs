//! Builds the pipeline's roles from the configuration.

use std::path::Path;

use aidx_agent_core::adapters::cloud::{CloudPlanner, RemoteEditor};
use aidx_agent_core::adapters::embedded::EmbeddedEditor;
use aidx_agent_core::adapters::research::RepoMapResearcher;
use aidx_agent_core::config::Provider;
use aidx_agent_core::pipeline::{Editor, Planner, Researcher};

use crate::context::Context;

/// The Researcher: the repo map over `root`. A repo map that cannot start is reported and the
/// run goes on without one.
pub fn researcher(ctx: &Context, root: &Path) -> Option<Box<dyn Researcher>> {
    match RepoMapResearcher::new(root, &ctx.config) {
        Ok(r) => Some(Box::new(r)),
        Err(e) => {
            eprintln!("note: no repository map: {e}");
            None
        }
    }
}

/// The Planner: the configured cloud architect, or `None` (the local model plans when
/// `fully-local` allows it). A configured architect that cannot be built (missing API key) is
/// an error unless `fully-local` is on, in which case it is reported and the local model plans.
pub fn planner(ctx: &Context, root: &Path) -> anyhow::Result<Option<Box<dyn Planner>>> {
    let Some(role) = &ctx.config.architect else {
        return Ok(None);
    };
    match CloudPlanner::new(role, &ctx.config, root) {
        Ok(p) => Ok(Some(Box::new(p))),
        Err(e) if ctx.config.fully_local => {
            eprintln!("note: {e}; the local model plans instead (fully-local)");
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// The Editor: the embedded model, or an OpenAI-compatible server.
pub fn editor(ctx: &Context) -> anyhow::Result<Box<dyn Editor>> {
    let role = &ctx.config.editor;
    let editor: Box<dyn Editor> = match role.provider {
        Provider::Embedded => {
            Box::new(EmbeddedEditor::load(role, &ctx.config).map_err(|e| anyhow::anyhow!("{e}"))?)
        }
        Provider::OpenAiCompatible => {
            Box::new(RemoteEditor::new(role).map_err(|e| anyhow::anyhow!("{e}"))?)
        }
        other => anyhow::bail!(
            "editor.provider {other:?} is not supported for the Editor; use embedded or openai-compatible"
        ),
    };
    Ok(editor)
}
