//! llama.cpp as the second embedded engine (`editor.engine: llama-cpp`, cargo feature `llama-cpp`).
//!
//! Same contract as the mistral.rs path in [`crate::engine`]: the file has passed the same
//! preflight, the prompt is counted and refused before it can overflow, and grammar-constrained
//! decoding uses the same llguidance Lark grammars. Here aidx drives the decode loop itself: it
//! asks llguidance for the allowed-token mask at every step, picks among the allowed tokens, and
//! stops the moment the grammar is complete, so the completion holds exactly the edit's tokens.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llguidance::api::TopLevelGrammar;
use llguidance::toktrie::TokEnv;
use llguidance::{Matcher, ParserFactory};

use crate::budget::KvType;
use crate::engine::types::{
    EngineError, FinishReason, GenerateRequest, Generation, Grammar, Message, Role,
};
use crate::xorshift::XorShift64Star;

/// Tokens decoded per llama.cpp batch while reading the prompt.
const PROMPT_BATCH: usize = 512;

/// The process-wide llama.cpp backend (llama.cpp allows one initialisation per process).
fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp's own log lines go to `tracing` (target `llama_cpp_2`), not to stderr.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Load {
            path: Default::default(),
            detail: format!("cannot start llama.cpp: {e}"),
        })
}

/// How llama.cpp loads a model: its last `gpu_layers` layers (blocks, then the output layer;
/// `crate::offload`) on the GPU, the rest on the CPU. Set always, since llama.cpp's own default
/// (-1) offloads everything to any GPU it finds, which the budget may not have allowed.
pub(crate) fn model_params(gpu_layers: u32) -> LlamaModelParams {
    // Read the weights instead of mapping the file. With a mapping, llama.cpp reads every
    // matrix it repacks for its CPU kernels (Q4_0/Q4_K/IQ4_NL on x86) through the mapping,
    // so those pages stay resident next to the repacked copy: measured 1.23 GiB peak for a
    // 0.67 GiB model. Read instead, each matrix is held once.
    LlamaModelParams::default()
        .with_use_mmap(false)
        .with_n_gpu_layers(gpu_layers)
}

/// The context of the last request and the tokens in its KV cache. Kept between requests so
/// the next one reuses the allocation and skips the prompt prefix it shares (an Editor's
/// retries and a chat's turns repeat the system prompt and the files).
struct Session {
    ctx: LlamaContext<'static>,
    n_ctx: usize,
    /// Tokens whose keys and values are in the cache, positions 0.., in order.
    cached: Vec<LlamaToken>,
}

/// A model loaded in llama.cpp, with what constrained decoding needs built on first use.
pub(crate) struct LlamaCppEngine {
    /// Declared before `model`: fields drop in order, and the context borrows the model.
    session: Mutex<Option<Session>>,
    /// Boxed so the address the session's context points to never moves.
    model: Box<LlamaModel>,
    threads: i32,
    kv_type: KvType,
    context_tokens: usize,
    grammar: OnceLock<Result<Arc<ParserFactory>, String>>,
}

impl LlamaCppEngine {
    /// Loads `path` (already preflighted) with its last `gpu_layers` layers on the GPU (0: all
    /// on the CPU; see [`model_params`]).
    pub(crate) fn load(
        path: &Path,
        threads: usize,
        kv_type: KvType,
        context_tokens: usize,
        gpu_layers: u32,
    ) -> Result<Self, EngineError> {
        let backend = backend()?;
        let params = model_params(gpu_layers);
        let model =
            LlamaModel::load_from_file(backend, path, &params).map_err(|e| EngineError::Load {
                path: path.to_path_buf(),
                detail: format!("llama.cpp could not load the model: {e}"),
            })?;
        Ok(LlamaCppEngine {
            session: Mutex::new(None),
            model: Box::new(model),
            threads: threads.max(1) as i32,
            kv_type,
            context_tokens,
            grammar: OnceLock::new(),
        })
    }

    fn parser_factory(&self) -> Result<Arc<ParserFactory>, EngineError> {
        self.grammar
            .get_or_init(|| {
                let env: TokEnv = LlamaSampler::llguidance_tok_env(&self.model);
                ParserFactory::new_simple(&env)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| EngineError::Generate(format!("cannot build the grammar engine: {e}")))
    }

    /// The conversation as the model sees it: its own chat template when llama.cpp knows it,
    /// ChatML otherwise (the same fallback the mistral.rs path uses).
    pub(crate) fn render_prompt(&self, messages: &[Message]) -> Result<String, EngineError> {
        let chat: Result<Vec<_>, _> = messages
            .iter()
            .map(|m| LlamaChatMessage::new(role_name(m.role).to_string(), m.content.clone()))
            .collect();
        let chat = chat.map_err(|e| EngineError::Generate(format!("invalid message: {e}")))?;
        // The model's own template when llama.cpp knows it; otherwise llama.cpp's built-in
        // "chatml", the same fallback the mistral.rs path uses (templates/chatml.jinja).
        let own = self.model.chat_template(None).ok();
        let chatml = LlamaChatTemplate::new("chatml").expect("no NUL in a literal");
        own.iter()
            .chain(std::iter::once(&chatml))
            .find_map(|template| self.model.apply_chat_template(template, &chat, true).ok())
            .ok_or_else(|| {
                EngineError::Generate("llama.cpp could not apply a chat template".into())
            })
    }

    fn tokenize(&self, text: &str, add_special: bool) -> Vec<LlamaToken> {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), add_special, true)
    }

    /// Tokens of plain text.
    pub(crate) fn count_tokens(&self, text: &str) -> usize {
        self.tokenize(text, false).len()
    }

    /// Tokens of a templated conversation.
    pub(crate) fn count_prompt_tokens(&self, messages: &[Message]) -> Result<usize, EngineError> {
        Ok(self.tokenize(&self.render_prompt(messages)?, true).len())
    }

    /// A context for `tokens` tokens (rounded up to 256, capped at the budgeted context): the
    /// KV cache is sized per request, as mistral.rs's grows with the sequence, so a short request
    /// does not hold the memory of a full one.
    fn new_context(&self, tokens: usize) -> Result<LlamaContext<'_>, EngineError> {
        let n_ctx = tokens
            .div_ceil(256)
            .saturating_mul(256)
            .clamp(256, self.context_tokens.max(256));
        let kv = match self.kv_type {
            KvType::F16 => KvCacheType::F16,
            KvType::Q8_0 => KvCacheType::Q8_0,
            KvType::Q4_0 => KvCacheType::Q4_0,
        };
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx as u32))
            .with_n_batch(PROMPT_BATCH as u32)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads)
            .with_type_k(kv)
            .with_type_v(kv);
        self.model
            .new_context(backend()?, params)
            .map_err(|e| EngineError::Generate(format!("llama.cpp context: {e}")))
    }

    /// A session whose context holds at least `needed` tokens: the kept one when it is large
    /// enough, otherwise a new one (the old one is freed first).
    fn session_for<'s>(
        &self,
        slot: &'s mut Option<Session>,
        needed: usize,
    ) -> Result<&'s mut Session, EngineError> {
        if slot.as_ref().is_none_or(|s| s.n_ctx < needed) {
            *slot = None;
            let ctx = self.new_context(needed)?;
            let n_ctx = ctx.n_ctx() as usize;
            // SAFETY: the context borrows `*self.model`, which is boxed (its address is stable)
            // and outlives every session: `session` is declared before `model`, so it is dropped
            // first, and sessions are only replaced or dropped through `self`.
            let ctx =
                unsafe { std::mem::transmute::<LlamaContext<'_>, LlamaContext<'static>>(ctx) };
            *slot = Some(Session {
                ctx,
                n_ctx,
                cached: Vec::new(),
            });
        }
        Ok(slot.as_mut().expect("set above"))
    }

    /// Generates a reply; a prompt that cannot fit with `max_new_tokens` is refused before
    /// anything is decoded.
    pub(crate) fn generate(
        &self,
        request: &GenerateRequest,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let mut slot = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let result = self.generate_in(&mut slot, request, cancel, on_text);
        if result.is_err() {
            // The cache's contents are unknown after a failure: start clean next time.
            *slot = None;
        }
        result
    }

    fn generate_in(
        &self,
        slot: &mut Option<Session>,
        request: &GenerateRequest,
        cancel: Option<&AtomicBool>,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let started = Instant::now();
        let prompt = self.tokenize(&self.render_prompt(&request.messages)?, true);
        // Checked here, on the one tokenization, rather than counted separately first.
        if prompt.len() + request.max_new_tokens > self.context_tokens {
            return Err(EngineError::ContextOverflow {
                prompt_tokens: prompt.len(),
                max_new_tokens: request.max_new_tokens,
                context_tokens: self.context_tokens,
            });
        }
        let mut matcher = match &request.grammar {
            None => None,
            Some(grammar) => {
                let top = match grammar {
                    Grammar::Lark(text) => TopLevelGrammar::from_lark(text.clone()),
                    Grammar::Regex(text) => TopLevelGrammar::from_regex(text),
                };
                let m = Matcher::new(self.parser_factory()?.create_parser(top));
                if let Some(e) = m.get_error() {
                    return Err(EngineError::Generate(format!("invalid grammar: {e}")));
                }
                Some(m)
            }
        };
        let session = self.session_for(slot, prompt.len() + request.max_new_tokens)?;
        // Reuse the cached prefix; at least the last prompt token is decoded again, for logits.
        let mut reused = session
            .cached
            .iter()
            .zip(&prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len().saturating_sub(1));
        let removed = session
            .ctx
            .clear_kv_cache_seq(Some(0), Some(reused as u32), None)
            .unwrap_or(false);
        if !removed {
            session.ctx.clear_kv_cache();
            reused = 0;
        }
        session.cached.truncate(reused);
        let ctx = &mut session.ctx;
        let cached = &mut session.cached;

        // The rest of the prompt, in batches; logits only for its last token.
        let mut batch = LlamaBatch::new(PROMPT_BATCH, 1);
        let last = prompt.len().saturating_sub(1);
        for (c, chunk) in prompt[reused..].chunks(PROMPT_BATCH).enumerate() {
            decode_chunk(ctx, &mut batch, chunk, reused + c * PROMPT_BATCH, |pos| {
                pos == last
            })?;
            cached.extend_from_slice(chunk);
        }
        let prompt_time = started.elapsed();
        let mut logits_index = batch.n_tokens() - 1;

        let decode_started = Instant::now();
        let mut rng = Sampler::new(request.temperature);
        let mut pending: Vec<u8> = Vec::new();
        let mut text = String::new();
        let mut completion_tokens = 0usize;
        let mut finish = FinishReason::Length;
        let mut pos = prompt.len();
        while completion_tokens < request.max_new_tokens {
            if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
                return Err(EngineError::Cancelled);
            }
            let logits = ctx.get_logits_ith(logits_index);
            let mask = match matcher.as_mut() {
                Some(m) => Some(
                    m.compute_mask()
                        .map_err(|e| EngineError::Generate(format!("grammar: {e}")))?,
                ),
                None => None,
            };
            let Some(token) = rng.pick(logits, |t| mask.as_ref().is_none_or(|m| m.is_allowed(t)))
            else {
                return Err(EngineError::Generate(
                    "the grammar allows no token at this point".into(),
                ));
            };
            let token = LlamaToken(token as i32);
            if self.model.vocab().is_eog(token) {
                finish = FinishReason::Stop;
                break;
            }
            completion_tokens += 1;
            pending.extend(self.model.vocab().token_to_piece(token, false, None));
            let valid = match std::str::from_utf8(&pending) {
                Ok(s) => s.len(),
                Err(e) => e.valid_up_to(),
            };
            if valid > 0 {
                let piece = String::from_utf8_lossy(&pending[..valid]).into_owned();
                pending.drain(..valid);
                let before = text.len();
                text.push_str(&piece);
                if let Some(at) = request
                    .stop
                    .iter()
                    .filter_map(|s| text.find(s.as_str()))
                    .min()
                {
                    if at > before {
                        on_text(&text[before..at]);
                    }
                    text.truncate(at);
                    finish = FinishReason::Stop;
                    break;
                }
                on_text(&piece);
            }
            if let Some(m) = matcher.as_mut() {
                m.consume_token(token.0 as u32)
                    .map_err(|e| EngineError::Generate(format!("grammar: {e}")))?;
                if m.is_stopped() {
                    finish = FinishReason::Stop;
                    break;
                }
            }
            if completion_tokens == request.max_new_tokens {
                break;
            }
            decode_chunk(ctx, &mut batch, &[token], pos, |_| true)?;
            pos += 1;
            cached.push(token);
            logits_index = 0;
        }
        if !pending.is_empty() {
            let rest = String::from_utf8_lossy(&pending).into_owned();
            on_text(&rest);
            text.push_str(&rest);
        }
        let decode_time = decode_started.elapsed();
        Ok(Generation {
            text,
            prompt_tokens: prompt.len(),
            completion_tokens,
            finish,
            // Tokens actually processed: a reused prefix costs nothing.
            prompt_tok_per_sec: rate(prompt.len() - reused, prompt_time),
            decode_tok_per_sec: rate(completion_tokens, decode_time),
            elapsed: started.elapsed(),
        })
    }
}

impl LlamaCppEngine {
    /// Teacher-forced scoring of `text`: the number of predicted tokens and their mean negative
    /// log-likelihood (nats). Perplexity is `exp(mean_nll)`. The text must fit the context.
    pub(crate) fn score(&self, text: &str) -> Result<(usize, f64), EngineError> {
        let tokens = self.tokenize(text, true);
        if tokens.len() < 2 {
            return Err(EngineError::Generate("text too short to score".into()));
        }
        if tokens.len() > self.context_tokens {
            return Err(EngineError::ContextOverflow {
                prompt_tokens: tokens.len(),
                max_new_tokens: 0,
                context_tokens: self.context_tokens,
            });
        }
        // Scoring is rare: free the kept session rather than hold two caches.
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut ctx = self.new_context(tokens.len())?;
        let mut batch = LlamaBatch::new(PROMPT_BATCH, 1);
        let mut nll = 0.0f64;
        for (c, chunk) in tokens.chunks(PROMPT_BATCH).enumerate() {
            decode_chunk(&mut ctx, &mut batch, chunk, c * PROMPT_BATCH, |_| true)?;
            for i in 0..chunk.len() {
                let at = c * PROMPT_BATCH + i;
                let Some(next) = tokens.get(at + 1) else {
                    break;
                };
                let logits = ctx.get_logits_ith(i as i32);
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = logits.iter().map(|&l| ((l - max) as f64).exp()).sum();
                let log_p = (logits[next.0 as usize] - max) as f64 - sum.ln();
                nll -= log_p;
            }
        }
        let n = tokens.len() - 1;
        Ok((n, nll / n as f64))
    }
}

/// Decodes `chunk` at positions `first_pos..`, asking for logits where `logits_at(pos)`.
fn decode_chunk(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    chunk: &[LlamaToken],
    first_pos: usize,
    logits_at: impl Fn(usize) -> bool,
) -> Result<(), EngineError> {
    batch.clear();
    for (i, &token) in chunk.iter().enumerate() {
        let pos = first_pos + i;
        batch
            .add(token, pos as i32, &[0], logits_at(pos))
            .map_err(batch_error)?;
    }
    ctx.decode(batch).map_err(decode_error)
}

fn decode_error(e: llama_cpp_2::DecodeError) -> EngineError {
    EngineError::Generate(format!("llama.cpp decode: {e}"))
}

fn batch_error(e: llama_cpp_2::llama_batch::BatchAddError) -> EngineError {
    EngineError::Generate(format!("llama.cpp batch: {e}"))
}

fn rate(tokens: usize, time: Duration) -> f64 {
    if time.is_zero() {
        0.0
    } else {
        tokens as f64 / time.as_secs_f64()
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// Greedy, or temperature sampling, over the allowed tokens.
struct Sampler {
    temperature: f32,
    rng: XorShift64Star,
}

impl Sampler {
    fn new(temperature: Option<f64>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Sampler {
            temperature: temperature.unwrap_or(0.0).max(0.0) as f32,
            rng: XorShift64Star::new(seed),
        }
    }

    /// The chosen token id, or `None` when nothing is allowed.
    fn pick(&mut self, logits: &[f32], allowed: impl Fn(u32) -> bool) -> Option<u32> {
        let mut best: Option<(u32, f32)> = None;
        for (id, &l) in logits.iter().enumerate() {
            let id = id as u32;
            if l.is_finite() && allowed(id) && best.is_none_or(|(_, b)| l > b) {
                best = Some((id, l));
            }
        }
        let (best_id, max) = best?;
        if self.temperature <= 0.0 {
            return Some(best_id);
        }
        let weights: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|&(id, l)| l.is_finite() && allowed(id as u32))
            .map(|(id, &l)| (id as u32, ((l - max) / self.temperature).exp()))
            .collect();
        let total: f32 = weights.iter().map(|(_, w)| w).sum();
        let mut target = self.rng.next_f32() * total;
        for (id, w) in &weights {
            target -= w;
            if target <= 0.0 {
                return Some(*id);
            }
        }
        Some(best_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_best_allowed_token() {
        let mut s = Sampler::new(None);
        let logits = [0.5, 3.0, 2.0, f32::NAN];
        assert_eq!(s.pick(&logits, |_| true), Some(1));
        assert_eq!(s.pick(&logits, |t| t != 1), Some(2));
        assert_eq!(s.pick(&logits, |t| t == 3), None, "NaN is never chosen");
        assert_eq!(s.pick(&logits, |_| false), None);
    }

    #[test]
    fn sampling_stays_inside_the_mask() {
        let mut s = Sampler::new(Some(1.0));
        let logits = [1.0, 1.0, 1.0, 1.0];
        for _ in 0..200 {
            let t = s.pick(&logits, |t| t % 2 == 1).unwrap();
            assert!(t % 2 == 1);
        }
    }

    #[test]
    fn the_split_reaches_llama_cpps_parameters() {
        // llama.cpp's default (-1, everything on any GPU) is never what aidx loads with.
        assert_eq!(LlamaModelParams::default().n_gpu_layers(), -1);
        assert_eq!(model_params(0).n_gpu_layers(), 0);
        assert_eq!(model_params(17).n_gpu_layers(), 17);
        assert!(!model_params(17).use_mmap());
    }
}
