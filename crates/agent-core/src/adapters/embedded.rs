//! The embedded Editor: a GGUF model on mistral.rs, behind the pipeline's [`Editor`] trait.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use aidx_editor_local::budget::KvType;
use aidx_editor_local::engine::{
    self, EmbeddedModel, EngineKind, GenerateRequest, Grammar, LoadOptions, Message, Role,
};
use aidx_editor_local::models;

use crate::config::{Config, Provider, RoleConfig};
use crate::pipeline::{
    ChatMessage, ChatRole, Completion, Editor, FinishReason, GenerateOptions, RoleError,
};

/// An embedded model plus the runtime its async engine runs on.
pub struct EmbeddedEditor {
    runtime: tokio::runtime::Runtime,
    model: EmbeddedModel,
}

fn unavailable(reason: impl Into<String>) -> RoleError {
    RoleError::Unavailable {
        role: "editor".into(),
        reason: reason.into(),
    }
}

/// What loading `role` means: the model file, KV type, context, device and engine.
fn load_options(role: &RoleConfig, config: &Config) -> Result<LoadOptions, RoleError> {
    if role.provider != Provider::Embedded {
        return Err(unavailable("the role's provider is not `embedded`"));
    }
    let model = role.model.as_deref().ok_or_else(|| {
        unavailable("no model configured: set editor.model to a GGUF path or known id")
    })?;
    let path = models::resolve_model(model, &config.models_dir);
    if !path.exists() && models::find_known(model).is_some() {
        return Err(unavailable(format!(
            "{model} is not cached yet ({}); run `aidx model pull {model}`",
            path.display()
        )));
    }
    let kv_type: KvType = role
        .kv_type
        .as_deref()
        .unwrap_or("f16")
        .parse()
        .map_err(|e| unavailable(format!("editor.kv-type: {e}")))?;
    let engine = EngineKind::from_setting(
        role.engine.as_deref(),
        aidx_editor_local::device::gpu_in_use(config.gpu_vram_bytes),
    )
    .map_err(|e| unavailable(format!("editor.engine: {e}")))?;
    Ok(LoadOptions {
        path,
        kv_type,
        context_tokens: role.context,
        vram_bytes: config.gpu_vram_bytes,
        engine,
        engine_auto: EngineKind::is_auto(role.engine.as_deref()),
        gpu_layers: config.gpu_layers,
        threads: role.threads.map(|t| t as usize),
    })
}

/// The budget of `role`'s model from its GGUF header, without loading it; an error when the
/// model cannot fit even alone.
pub fn preflight(role: &RoleConfig, config: &Config) -> Result<engine::Preflight, RoleError> {
    let options = load_options(role, config)?;
    engine::choose_and_preflight(&options)
        .map(|(_, preflight)| preflight)
        .map_err(|e| unavailable(e.to_string()))
}

/// Whether the Editor and the verifier model fit in memory together (the Verifier Cascade with
/// two embedded models), from both models' budgets, decided before either loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residency {
    /// Both stay loaded; otherwise they are loaded in turn.
    pub together: bool,
    /// The Editor's budget total (weights + KV cache + overhead), bytes.
    pub editor_bytes: u64,
    /// The verifier's budget total, bytes.
    pub verifier_bytes: u64,
    /// The device's memory the budgets were held against, bytes.
    pub device_bytes: u64,
    /// What the device is (`available system RAM`, `GPU memory (gpu.vram)`, the free memory of
    /// a detected GPU).
    pub device: String,
}

impl Residency {
    /// Decides from the two roles' budgets; each must fit alone (else the error names it).
    pub fn decide(
        editor: &RoleConfig,
        verifier: &RoleConfig,
        config: &Config,
    ) -> Result<Residency, RoleError> {
        let e = preflight(editor, config)?;
        let v = preflight(verifier, config).map_err(|err| match err {
            RoleError::Unavailable { reason, .. } => RoleError::Unavailable {
                role: "verifier".into(),
                reason,
            },
            other => other,
        })?;
        let device_bytes = e.budget.device_bytes.min(v.budget.device_bytes);
        // A model split between GPU and CPU holds only its GPU side on the device.
        let (editor_bytes, verifier_bytes) = (e.device_bytes_used(), v.device_bytes_used());
        Ok(Residency {
            together: editor_bytes + verifier_bytes <= device_bytes,
            editor_bytes,
            verifier_bytes,
            device_bytes,
            device: e.memory.describe(),
        })
    }
}

impl std::fmt::Display for Residency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gib = aidx_editor_local::budget::gib;
        let sum = self.editor_bytes + self.verifier_bytes;
        if self.together {
            write!(
                f,
                "editor {} + verifier {} = {} ≤ {} of {}: both models stay loaded",
                gib(self.editor_bytes),
                gib(self.verifier_bytes),
                gib(sum),
                gib(self.device_bytes),
                self.device
            )
        } else {
            write!(
                f,
                "editor {} + verifier {} = {} > {} of {}: the two models are loaded in turn \
                 (the Editor is dropped while the verifier reads a draft, and loaded again after), \
                 which costs a load per draft",
                gib(self.editor_bytes),
                gib(self.verifier_bytes),
                gib(sum),
                gib(self.device_bytes),
                self.device
            )
        }
    }
}

/// A model loaded on first use and dropped by [`Editor::release`], so that two models which do
/// not fit together can take turns. The budget was checked (it fits alone) when it was made.
pub struct InTurnEditor {
    role: RoleConfig,
    config: Config,
    context_tokens: usize,
    loaded: RefCell<Option<EmbeddedEditor>>,
    loads: Cell<usize>,
}

impl InTurnEditor {
    /// Checks the role's budget now; loads nothing yet.
    pub fn new(role: &RoleConfig, config: &Config) -> Result<InTurnEditor, RoleError> {
        let preflight = preflight(role, config)?;
        Ok(InTurnEditor {
            role: role.clone(),
            config: config.clone(),
            context_tokens: preflight.context_tokens as usize,
            loaded: RefCell::new(None),
            loads: Cell::new(0),
        })
    }

    /// How many times the model has been loaded.
    pub fn loads(&self) -> usize {
        self.loads.get()
    }

    /// Whether the model is in memory now.
    pub fn is_loaded(&self) -> bool {
        self.loaded.borrow().is_some()
    }

    fn with_model<R>(&self, f: impl FnOnce(&mut EmbeddedEditor) -> R) -> Result<R, RoleError> {
        let mut slot = self.loaded.borrow_mut();
        if slot.is_none() {
            *slot = Some(EmbeddedEditor::load(&self.role, &self.config)?);
            self.loads.set(self.loads.get() + 1);
        }
        Ok(f(slot.as_mut().expect("loaded above")))
    }
}

impl Editor for InTurnEditor {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        self.with_model(|m| m.complete(messages, options, on_text))?
    }

    fn count_tokens(&self, text: &str) -> usize {
        // A model that cannot load counts one token per byte (a safe over-estimate); the next
        // `complete` reports why it cannot load.
        self.with_model(|m| m.count_tokens(text))
            .unwrap_or(text.len())
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        Some(self.context_tokens)
    }

    fn supports_grammar(&self) -> bool {
        true
    }

    fn release(&mut self) {
        self.loaded.borrow_mut().take();
    }
}

impl EmbeddedEditor {
    /// Resolves the role's model (path or known id), runs the budget preflight and loads it.
    pub fn load(role: &RoleConfig, config: &Config) -> Result<EmbeddedEditor, RoleError> {
        Self::load_file(load_options(role, config)?)
    }

    /// Loads a model file with explicit options.
    pub fn load_file(options: LoadOptions) -> Result<EmbeddedEditor, RoleError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the engine runtime: {e}")))?;
        let model = runtime
            .block_on(EmbeddedModel::load(options))
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(EmbeddedEditor { runtime, model })
    }

    /// The model file.
    pub fn path(&self) -> PathBuf {
        self.model.path().to_path_buf()
    }

    /// The loaded model.
    pub fn model(&self) -> &EmbeddedModel {
        &self.model
    }
}

impl Editor for EmbeddedEditor {
    fn complete(
        &mut self,
        messages: &[ChatMessage],
        options: &GenerateOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Completion, RoleError> {
        let request = GenerateRequest {
            messages: messages
                .iter()
                .map(|m| Message {
                    role: match m.role {
                        ChatRole::System => Role::System,
                        ChatRole::User => Role::User,
                        ChatRole::Assistant => Role::Assistant,
                    },
                    content: m.content.clone(),
                })
                .collect(),
            max_new_tokens: options.max_tokens,
            temperature: Some(options.temperature),
            stop: options.stop.clone(),
            grammar: options.grammar.clone().map(Grammar::Lark),
        };
        // block_on polls on this thread, so the caller's callback streams as tokens arrive.
        let result = self.runtime.block_on(self.model.generate_cancellable(
            &request,
            Some(&options.cancel.flag()),
            on_text,
        ));
        let generation = result.map_err(|e| RoleError::Failed {
            role: "editor".into(),
            reason: e.to_string(),
        })?;
        Ok(Completion {
            text: generation.text,
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.completion_tokens,
            finish: match generation.finish {
                engine::FinishReason::Stop => FinishReason::Stop,
                engine::FinishReason::Length => FinishReason::Length,
                engine::FinishReason::Other(_) => FinishReason::Other,
            },
        })
    }

    fn count_tokens(&self, text: &str) -> usize {
        // A tokenizer failure falls back to a safe over-estimate (one token per byte).
        self.runtime
            .block_on(self.model.count_tokens(text))
            .unwrap_or(text.len())
    }

    fn safe_context_tokens(&self) -> Option<usize> {
        Some(self.model.context_tokens())
    }

    fn supports_grammar(&self) -> bool {
        true
    }
}
