//! The embedded engine: a GGUF model loaded from a local file through mistral.rs, or through
//! llama.cpp ([`EngineKind::LlamaCpp`], the `llama-cpp` feature; see `llama_cpp.rs`).
//!
//! Everything that can go wrong is checked before mistral.rs sees the file: the header is read
//! with our own reader, the architecture must be one the engine's GGUF loader accepts (it panics
//! on others), and the file must hold all its tensor data. A panic inside the engine while
//! loading or generating becomes an [`EngineError`], never an abort of aidx.
//!
//! Grammar-constrained decoding goes through llguidance. When the grammar is complete, llguidance
//! allows only *its* end-of-sequence token, which it picks from the tokenizer by name
//! (`<|endoftext|>`, `</s>`, `<eos>`, …). The engine stops only on the GGUF's own EOS id, and
//! for ChatML models such as SmolLM2 the two differ (`<|im_end|>` = 2 vs `<|endoftext|>` = 0),
//! so the engine would keep sampling the forced token until `max_len`. We compute llguidance's
//! EOS id the same way and add it to the request's stop tokens, so generation ends when the
//! grammar accepts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use mistralrs::{
    Constraint, GgufModelBuilder, Model, RequestBuilder, Response, StopTokens, TextMessageRole,
    TokenSource,
};

use crate::budget::Budget;
use crate::device;
use crate::gguf::GgufHeader;

pub(crate) mod kind;
mod options;
mod preflight;
pub(crate) mod types;

pub use kind::EngineKind;
pub use options::{DEFAULT_CONTEXT_CAP, LoadOptions};
pub use preflight::{
    MIN_USEFUL_CONTEXT, Preflight, choose_and_preflight, preflight_as, preflight_file,
    preflight_load,
};
pub use types::{EngineError, FinishReason, GenerateRequest, Generation, Grammar, Message, Role};

/// The fallback chat template (ChatML) for GGUF files that carry none.
pub const FALLBACK_CHAT_TEMPLATE: &str = include_str!("../../templates/chatml.jinja");

/// A loaded embedded model.
pub struct EmbeddedModel {
    backend: Backend,
    header: GgufHeader,
    path: PathBuf,
    load_time: Duration,
    context_tokens: usize,
    budget: Option<Budget>,
    grammar_eos: Option<u32>,
    used_fallback_template: bool,
    /// Layers on the GPU (llama.cpp's count: blocks + the output layer); 0 on the CPU.
    gpu_layers: u32,
}

/// The engine behind an [`EmbeddedModel`].
enum Backend {
    MistralRs(Model),
    #[cfg(feature = "llama-cpp")]
    LlamaCpp(crate::llama_cpp::LlamaCppEngine),
}

impl std::fmt::Debug for EmbeddedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedModel")
            .field("path", &self.path)
            .field("engine", &self.engine())
            .field("context_tokens", &self.context_tokens)
            .finish_non_exhaustive()
    }
}

/// The token id llguidance treats as end-of-sequence for this vocabulary: the last special-looking
/// token named like an EOS, as toktrie's tokenizer bridge picks it; 0 when none is found.
pub fn grammar_eos_token(tokens: &[&str]) -> u32 {
    let mut eos = 0;
    for (id, token) in tokens.iter().enumerate() {
        if matches!(
            *token,
            "</s>" | "<|endoftext|>" | "<|end_of_text|>" | "<｜end▁of▁sentence｜>" | "<eos>"
        ) {
            eos = id as u32;
        }
    }
    eos
}

fn vocabulary(header: &GgufHeader) -> Vec<&str> {
    header
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.as_array())
        .map(|tokens| tokens.iter().map(|t| t.as_str().unwrap_or("")).collect())
        .unwrap_or_default()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

impl EmbeddedModel {
    /// Loads a GGUF model from a local file on the CPU, with the tokenizer and chat template from
    /// the file (a ChatML fallback when it has none). Never contacts a model hub.
    pub async fn load(options: LoadOptions) -> Result<EmbeddedModel, EngineError> {
        let (engine, preflight) = choose_and_preflight(&options)?;
        let context_tokens = preflight.context_tokens as usize;
        match engine {
            EngineKind::MistralRs => {
                if let Some(threads) = options.threads {
                    // candle and mistral.rs size rayon's global pool from this on first use.
                    // SAFETY: set before the engine starts any thread; read only by rayon.
                    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
                }
                // mistral.rs picks the GPU itself unless forced onto the CPU; it runs a model
                // whole or not at all here (splits are llama.cpp's, see `preflight_load`).
                let gpu_layers = if device::GPU_BACKEND.is_some() {
                    preflight.gpu_layers
                } else {
                    0
                };
                Self::start(
                    &options.path,
                    preflight.header,
                    Some(preflight.budget),
                    context_tokens,
                    gpu_layers,
                )
                .await
            }
            EngineKind::LlamaCpp => Self::start_llama_cpp(
                &options,
                preflight.header,
                preflight.budget,
                context_tokens,
                preflight.gpu_layers,
            ),
        }
    }

    #[cfg(feature = "llama-cpp")]
    fn start_llama_cpp(
        options: &LoadOptions,
        header: GgufHeader,
        budget: Budget,
        context_tokens: usize,
        gpu_layers: u32,
    ) -> Result<EmbeddedModel, EngineError> {
        let threads = options.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let started = Instant::now();
        let engine = std::panic::catch_unwind(|| {
            crate::llama_cpp::LlamaCppEngine::load(
                &options.path,
                threads,
                options.kv_type,
                context_tokens,
                gpu_layers,
            )
        })
        .map_err(|payload| EngineError::Panic {
            during: "loading the model",
            message: panic_message(payload),
        })??;
        Ok(EmbeddedModel {
            backend: Backend::LlamaCpp(engine),
            header,
            path: options.path.clone(),
            load_time: started.elapsed(),
            context_tokens,
            budget: Some(budget),
            grammar_eos: None,
            used_fallback_template: false,
            gpu_layers: if device::GPU_BACKEND.is_some() {
                gpu_layers
            } else {
                0
            },
        })
    }

    #[cfg(not(feature = "llama-cpp"))]
    fn start_llama_cpp(
        _: &LoadOptions,
        _: GgufHeader,
        _: Budget,
        _: usize,
        _: u32,
    ) -> Result<EmbeddedModel, EngineError> {
        Err(EngineError::Load {
            path: Default::default(),
            detail: "this aidx was built without the `llama-cpp` feature; set `editor.engine: mistralrs` or rebuild with `--features llama-cpp`".into(),
        })
    }

    /// Teacher-forced scoring of `text` (llama.cpp engine only): the number of predicted tokens
    /// and their mean negative log-likelihood in nats; perplexity is `exp` of the latter. Used to
    /// compare a requantized model with its source.
    pub fn score_text(&self, text: &str) -> Result<(usize, f64), EngineError> {
        let _ = text; // read only by the llama.cpp engine
        match &self.backend {
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => engine.score(text),
            Backend::MistralRs(_) => Err(EngineError::Generate(
                "scoring text needs the llama-cpp engine".into(),
            )),
        }
    }

    /// Which engine runs the model.
    pub fn engine(&self) -> EngineKind {
        match self.backend {
            Backend::MistralRs(_) => EngineKind::MistralRs,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(_) => EngineKind::LlamaCpp,
        }
    }

    /// Loads without the architecture, completeness and budget checks. Only for tests that prove
    /// an engine panic becomes an error; never use it to load a model for real.
    #[doc(hidden)]
    pub async fn load_without_preflight(path: &Path) -> Result<EmbeddedModel, EngineError> {
        let header = GgufHeader::read(path)?;
        Self::start(path, header, None, DEFAULT_CONTEXT_CAP as usize, 0).await
    }

    async fn start(
        path: &Path,
        header: GgufHeader,
        budget: Option<Budget>,
        context_tokens: usize,
        gpu_layers: u32,
    ) -> Result<EmbeddedModel, EngineError> {
        let path = path.to_path_buf();
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let has_template = header.metadata.get("tokenizer.chat_template").is_some();
        let fallback_file = if has_template {
            None
        } else {
            let file = tempfile::Builder::new()
                .prefix("aidx-chat-template-")
                .suffix(".jinja")
                .tempfile()
                .map_err(|e| EngineError::Load {
                    path: path.clone(),
                    detail: format!("cannot write the fallback chat template: {e}"),
                })?;
            std::fs::write(file.path(), FALLBACK_CHAT_TEMPLATE).map_err(|e| EngineError::Load {
                path: path.clone(),
                detail: format!("cannot write the fallback chat template: {e}"),
            })?;
            tracing::warn!(
                "{} has no chat template; using the ChatML fallback",
                path.display()
            );
            Some(file)
        };
        let grammar_eos = {
            let vocab = vocabulary(&header);
            (!vocab.is_empty()).then(|| grammar_eos_token(&vocab))
        };
        // SAFETY of intent: HF_HUB_OFFLINE keeps the engine from trying a hub for anything.
        // SAFETY: set before the engine starts its threads; aidx reads no such variable elsewhere.
        unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
        let mut builder = GgufModelBuilder::new(dir.to_string_lossy(), vec![file_name])
            .with_token_source(TokenSource::None)
            .with_max_num_seqs(1)
            .with_prefix_cache_n(None);
        if gpu_layers == 0 {
            builder = builder.with_force_cpu();
        }
        if let Some(file) = &fallback_file {
            builder = builder.with_chat_template(file.path().to_string_lossy());
        }
        let started = Instant::now();
        let built = tokio::spawn(async move {
            std::panic::AssertUnwindSafe(builder.build())
                .catch_unwind()
                .await
        })
        .await;
        let model = match built {
            Ok(Ok(Ok(model))) => model,
            Ok(Ok(Err(e))) => {
                return Err(EngineError::Load {
                    path,
                    detail: format!("{e:#}"),
                });
            }
            Ok(Err(payload)) => {
                return Err(EngineError::Panic {
                    during: "loading the model",
                    message: panic_message(payload),
                });
            }
            Err(join) => {
                return Err(EngineError::Panic {
                    during: "loading the model",
                    message: join.to_string(),
                });
            }
        };
        Ok(EmbeddedModel {
            gpu_layers,
            backend: Backend::MistralRs(model),
            header,
            path,
            load_time: started.elapsed(),
            context_tokens,
            budget,
            grammar_eos,
            used_fallback_template: fallback_file.is_some(),
        })
    }

    /// Layers on the GPU (blocks + the output layer, llama.cpp's count): 0 when the model runs
    /// on the CPU, all of them when it runs there whole.
    pub fn gpu_layers(&self) -> u32 {
        self.gpu_layers
    }

    /// How long loading took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The GGUF header of the loaded file.
    pub fn header(&self) -> &GgufHeader {
        &self.header
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Largest context (prompt + new tokens) a request may use.
    pub fn context_tokens(&self) -> usize {
        self.context_tokens
    }

    /// The budget computed before loading (absent only for [`Self::load_without_preflight`]).
    pub fn budget(&self) -> Option<&Budget> {
        self.budget.as_ref()
    }

    /// Whether the ChatML fallback template is in use.
    pub fn used_fallback_template(&self) -> bool {
        self.used_fallback_template
    }

    /// Token count of plain text with the model's own tokenizer.
    pub async fn count_tokens(&self, text: &str) -> Result<usize, EngineError> {
        let model = match &self.backend {
            Backend::MistralRs(model) => model,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => return Ok(engine.count_tokens(text)),
        };
        model
            .tokenize(
                either::Either::Right(text.to_string()),
                None,
                false,
                false,
                None,
            )
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Generate(e.to_string()))
    }

    /// Token count of a conversation with the chat template applied (what the engine will see).
    pub async fn count_prompt_tokens(&self, messages: &[Message]) -> Result<usize, EngineError> {
        let model = match &self.backend {
            Backend::MistralRs(model) => model,
            #[cfg(feature = "llama-cpp")]
            Backend::LlamaCpp(engine) => return engine.count_prompt_tokens(messages),
        };
        let mut text = mistralrs::TextMessages::new();
        for m in messages {
            text = text.add_message(role(m.role), &m.content);
        }
        model
            .tokenize(either::Either::Left(text), None, true, true, None)
            .await
            .map(|t| t.len())
            .map_err(|e| EngineError::Generate(e.to_string()))
    }

    /// Generates a reply, streaming text to `on_text`. The prompt is counted first and refused
    /// when prompt + `max_new_tokens` exceeds the safe context: nothing overflowing is sent.
    pub async fn generate(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        self.generate_cancellable(request, None, on_text).await
    }

    /// [`generate`](Self::generate), stopping with [`EngineError::Cancelled`] soon after
    /// `cancel` is set: llama.cpp checks it before each token, mistral.rs between stream chunks
    /// and every 20 ms while it waits for one (the stream is dropped, which ends the request).
    pub async fn generate_cancellable(
        &self,
        request: &GenerateRequest,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        #[cfg(feature = "llama-cpp")]
        if let Backend::LlamaCpp(engine) = &self.backend {
            // It tokenizes once and refuses an overflowing prompt itself.
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.generate(request, cancel, on_text)
            }))
            .map_err(|payload| EngineError::Panic {
                during: "generating",
                message: panic_message(payload),
            })?;
        }
        let prompt_tokens = self.count_prompt_tokens(&request.messages).await?;
        if prompt_tokens + request.max_new_tokens > self.context_tokens {
            return Err(EngineError::ContextOverflow {
                prompt_tokens,
                max_new_tokens: request.max_new_tokens,
                context_tokens: self.context_tokens,
            });
        }
        let mut builder = RequestBuilder::new();
        for m in &request.messages {
            builder = builder.add_message(role(m.role), &m.content);
        }
        match request.temperature {
            None => builder = builder.set_deterministic_sampler(),
            Some(t) if t <= 0.0 => builder = builder.set_deterministic_sampler(),
            Some(t) => builder = builder.set_sampler_temperature(t),
        }
        let mut stop_ids: Vec<u32> = Vec::new();
        if let Some(grammar) = &request.grammar {
            builder = builder.set_constraint(match grammar {
                Grammar::Lark(text) => Constraint::Lark(text.clone()),
                Grammar::Regex(text) => Constraint::Regex(text.clone()),
            });
            stop_ids.extend(self.grammar_eos);
        }
        if !request.stop.is_empty() {
            builder = builder.set_sampler_stop_toks(StopTokens::Seqs(request.stop.clone()));
        }
        if !stop_ids.is_empty() {
            if !request.stop.is_empty() {
                // mistral.rs takes one kind of stop token per request; stop strings are then
                // enforced on our side below.
                tracing::debug!("grammar stop id takes precedence over stop strings in the engine");
            }
            builder = builder.set_sampler_stop_toks(StopTokens::Ids(stop_ids));
        }
        // Last: `set_deterministic_sampler` replaces all sampling parameters, max_len included.
        builder = builder.set_sampler_max_len(request.max_new_tokens);
        let started = Instant::now();
        let streamed =
            std::panic::AssertUnwindSafe(self.stream(builder, cancel, on_text, &request.stop))
                .catch_unwind()
                .await;
        let mut generation = match streamed {
            Ok(result) => result?,
            Err(payload) => {
                return Err(EngineError::Panic {
                    during: "generating",
                    message: panic_message(payload),
                });
            }
        };
        generation.elapsed = started.elapsed();
        Ok(generation)
    }

    async fn stream(
        &self,
        builder: RequestBuilder,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
        stop: &[String],
    ) -> Result<Generation, EngineError> {
        #[allow(irrefutable_let_patterns)] // one variant in a build without llama.cpp
        let Backend::MistralRs(model) = &self.backend else {
            return Err(EngineError::Generate("not a mistral.rs model".into()));
        };
        let mut stream = model
            .stream_chat_request(builder)
            .await
            .map_err(|e| EngineError::Generate(e.to_string()))?;
        let mut text = String::new();
        let mut finish = FinishReason::Other("stream ended without a finish reason".into());
        let mut usage = None;
        let cancelled = || cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            let response = tokio::select! {
                next = stream.next() => match next {
                    Some(response) => response,
                    None => break,
                },
                _ = tick.tick() => {
                    if cancelled() {
                        return Err(EngineError::Cancelled);
                    }
                    continue;
                }
            };
            if cancelled() {
                return Err(EngineError::Cancelled);
            }
            match response {
                Response::Chunk(chunk) => {
                    if let Some(u) = chunk.usage {
                        usage = Some(u);
                    }
                    for choice in chunk.choices {
                        if let Some(delta) = choice.delta.content {
                            text.push_str(&delta);
                            on_text(&delta);
                        }
                        if let Some(reason) = choice.finish_reason {
                            finish = match reason.as_str() {
                                "stop" | "eos" => FinishReason::Stop,
                                "length" => FinishReason::Length,
                                other => FinishReason::Other(other.to_string()),
                            };
                        }
                    }
                }
                Response::Done(done) => {
                    usage = Some(done.usage);
                }
                Response::ModelError(message, _) | Response::CompletionModelError(message, _) => {
                    return Err(EngineError::Generate(message));
                }
                Response::InternalError(e) | Response::ValidationError(e) => {
                    return Err(EngineError::Generate(e.to_string()));
                }
                _ => {}
            }
        }
        if let Some(pos) = stop.iter().filter_map(|s| text.find(s.as_str())).min() {
            text.truncate(pos);
            finish = FinishReason::Stop;
        }
        let usage = usage
            .ok_or_else(|| EngineError::Generate("the engine reported no token usage".into()))?;
        Ok(Generation {
            text,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            finish,
            prompt_tok_per_sec: usage.avg_prompt_tok_per_sec as f64,
            decode_tok_per_sec: usage.avg_compl_tok_per_sec as f64,
            elapsed: Duration::ZERO,
        })
    }
}

fn role(role: Role) -> TextMessageRole {
    match role {
        Role::System => TextMessageRole::System,
        Role::User => TextMessageRole::User,
        Role::Assistant => TextMessageRole::Assistant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_eos_follows_toktries_naming_rule() {
        // SmolLM2's first tokens: the grammar's EOS is <|endoftext|> (0), not <|im_end|> (2).
        assert_eq!(
            grammar_eos_token(&["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a"]),
            0
        );
        assert_eq!(grammar_eos_token(&["<unk>", "<s>", "</s>"]), 2);
        assert_eq!(grammar_eos_token(&["a", "b"]), 0);
    }
}
