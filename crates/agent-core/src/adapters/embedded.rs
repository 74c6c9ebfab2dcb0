//! The embedded Editor: a GGUF model on mistral.rs, behind the pipeline's [`Editor`] trait.

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

impl EmbeddedEditor {
    /// Resolves the role's model (path or known id), runs the budget preflight and loads it.
    pub fn load(role: &RoleConfig, config: &Config) -> Result<EmbeddedEditor, RoleError> {
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
        let engine =
            EngineKind::from_setting(role.engine.as_deref(), config.gpu_vram_bytes.is_some())
                .map_err(|e| unavailable(format!("editor.engine: {e}")))?;
        Self::load_file(LoadOptions {
            path,
            kv_type,
            context_tokens: role.context,
            vram_bytes: config.gpu_vram_bytes,
            engine,
            threads: role.threads.map(|t| t as usize),
        })
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
