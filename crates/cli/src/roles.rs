//! Builds the pipeline's roles from the configuration.

use std::path::Path;

use aidx_agent_core::adapters::cloud::{CloudPlanner, RemoteEditor};
use aidx_agent_core::adapters::embedded::{EmbeddedEditor, InTurnEditor, Residency};
use aidx_agent_core::adapters::research::RepoMapResearcher;
use aidx_agent_core::config::{Provider, RoleConfig};
use aidx_agent_core::pipeline::{Editor, Pipeline, Planner, Researcher};
use aidx_editor_local::budget::Budget;

use crate::context::Context;

/// The Researcher: the repo map over `root`. A repo map that cannot start is reported and the
/// run goes on without one.
pub fn researcher(ctx: &Context, root: &Path) -> Option<Box<dyn Researcher>> {
    researcher_or_note(ctx, root)
        .map_err(|note| eprintln!("note: {note}"))
        .ok()
}

/// The Researcher, or the note that says why there is none (for callers that show notes their
/// own way, such as interactive mode).
pub fn researcher_or_note(ctx: &Context, root: &Path) -> Result<Box<dyn Researcher>, String> {
    RepoMapResearcher::new(root, &ctx.config)
        .map(|r| Box::new(r) as Box<dyn Researcher>)
        .map_err(|e| format!("no repository map: {e}"))
}

/// The Planner: the configured cloud architect, or `None` (the local model plans when
/// `fully-local` allows it). A configured architect that cannot be built (missing API key) is
/// an error unless `fully-local` is on, in which case it is reported and the local model plans.
pub fn planner(ctx: &Context, root: &Path) -> anyhow::Result<Option<Box<dyn Planner>>> {
    let mut notes = Vec::new();
    let planner = planner_with_notes(ctx, root, &mut notes);
    for note in notes {
        eprintln!("note: {note}");
    }
    planner
}

/// [`planner`], with its notes collected instead of printed.
pub fn planner_with_notes(
    ctx: &Context,
    root: &Path,
    notes: &mut Vec<String>,
) -> anyhow::Result<Option<Box<dyn Planner>>> {
    let Some(role) = &ctx.config.architect else {
        return Ok(None);
    };
    match CloudPlanner::new(role, &ctx.config, root) {
        Ok(p) => Ok(Some(Box::new(p))),
        Err(e) if ctx.config.fully_local => {
            notes.push(format!("{e}; the local model plans instead (fully-local)"));
            Ok(None)
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

/// The Editor with, for an embedded model, the memory budget it was loaded under.
pub fn editor_with_budget(ctx: &Context) -> anyhow::Result<(Box<dyn Editor>, Option<Budget>)> {
    let role = &ctx.config.editor;
    if role.provider == Provider::Embedded {
        let editor = EmbeddedEditor::load(role, &ctx.config).map_err(|e| anyhow::anyhow!("{e}"))?;
        let budget = editor.model().budget().cloned();
        return Ok((Box::new(editor), budget));
    }
    Ok((editor(ctx)?, None))
}

/// The models beside the Editor, each when configured: the router (Hybrid Routing), the
/// verifier (the Verifier Cascade's model layer) and the pre-flight reviewer of plan.md.
#[derive(Default)]
pub struct SideModels {
    router: Option<Box<dyn Editor>>,
    verifier: Option<Box<dyn Editor>>,
    preflight: Option<Box<dyn Editor>>,
}

impl SideModels {
    /// Gives the pipeline the models there are.
    pub fn attach<'a>(&'a mut self, mut pipeline: Pipeline<'a>) -> Pipeline<'a> {
        if let Some(r) = self.router.as_deref_mut() {
            pipeline = pipeline.with_router(r);
        }
        if let Some(v) = self.verifier.as_deref_mut() {
            pipeline = pipeline.with_verifier(v);
        }
        if let Some(p) = self.preflight.as_deref_mut() {
            pipeline = pipeline.with_preflight(p);
        }
        pipeline
    }
}

/// The Editor (with its budget when it is loaded now) and the side models. With the Editor and
/// the verifier both embedded, their budgets decide before either loads whether they stay loaded
/// together or take turns (`InTurnEditor`: each loaded when used, the Editor dropped while the
/// verifier reads); the decision, with both figures, goes to `notes`. A side model that is
/// configured but cannot load, or whose server does not answer, is an error naming its role.
pub fn editor_and_side_models(
    ctx: &Context,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Box<dyn Editor>, Option<Budget>, SideModels)> {
    let config = &ctx.config;
    let mut side = SideModels {
        router: router(ctx)?,
        preflight: preflight(ctx)?,
        verifier: None,
    };
    let both_embedded = config.editor.provider == Provider::Embedded
        && config
            .verifier
            .as_ref()
            .is_some_and(|v| v.provider == Provider::Embedded);
    if both_embedded && let Some(role) = &config.verifier {
        let residency =
            Residency::decide(&config.editor, role, config).map_err(|e| anyhow::anyhow!("{e}"))?;
        notes.push(residency.to_string());
        if !residency.together {
            let editor =
                InTurnEditor::new(&config.editor, config).map_err(|e| anyhow::anyhow!("{e}"))?;
            side.verifier =
                Some(Box::new(InTurnEditor::new(role, config).map_err(|e| {
                    anyhow::anyhow!("verifier: {e} (verifier.model)")
                })?));
            return Ok((Box::new(editor), None, side));
        }
    }
    let (editor, budget) = editor_with_budget(ctx)?;
    side.verifier = verifier(ctx)?;
    Ok((editor, budget, side))
}

/// The `researcher.router` model, when configured (Hybrid Routing). A router that is configured
/// but cannot load is an error naming the role, before the run starts.
fn router(ctx: &Context) -> anyhow::Result<Option<Box<dyn Editor>>> {
    side_model(ctx, ctx.config.router.as_ref(), "researcher.router")
}

/// The `verifier` model, when configured (the Verifier Cascade's model layer). A verifier that
/// is configured but cannot load is an error naming the role, before the run starts.
fn verifier(ctx: &Context) -> anyhow::Result<Option<Box<dyn Editor>>> {
    side_model(ctx, ctx.config.verifier.as_ref(), "verifier")
}

/// The `preflight` model, when configured (pre-flight verification of plan.md). One that is
/// configured but cannot load is an error naming the role, before the run starts.
fn preflight(ctx: &Context) -> anyhow::Result<Option<Box<dyn Editor>>> {
    side_model(ctx, ctx.config.preflight.as_ref(), "preflight")
}

/// A model beside the Editor that answers through the Editor interface: embedded, or a server.
fn side_model(
    ctx: &Context,
    role: Option<&RoleConfig>,
    key: &str,
) -> anyhow::Result<Option<Box<dyn Editor>>> {
    let Some(role) = role else {
        return Ok(None);
    };
    let model: Box<dyn Editor> = match role.provider {
        Provider::Embedded => Box::new(
            EmbeddedEditor::load(role, &ctx.config)
                .map_err(|e| anyhow::anyhow!("{key}: {e} ({key}.model)"))?,
        ),
        // Any server protocol: OpenAI-compatible, Anthropic Messages or Gemini (no grammar there;
        // an answer the role cannot read falls back as each role says).
        Provider::OpenAiCompatible | Provider::Anthropic | Provider::Gemini => {
            let remote =
                RemoteEditor::for_role(key, role).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            remote.probe().map_err(|e| anyhow::anyhow!("{e}"))?;
            Box::new(remote)
        }
    };
    Ok(Some(model))
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
