//! `aidx doctor --stress`: fill the context, generate, and compare the measured peak memory with
//! what the budget predicted. The budget is only worth trusting if this agrees within 15 %.

use serde::Serialize;

use crate::budget::{self, BudgetRequest, DeviceKind, KvType, ModelShape, OverheadModel};
use crate::engine::{EmbeddedModel, EngineError, GenerateRequest, Message, Role};

/// Largest relative prediction error `doctor --stress` accepts.
pub const MAX_PREDICTION_ERROR: f64 = 0.15;

/// One measured point.
#[derive(Debug, Clone, Serialize)]
pub struct StressPoint {
    /// Context the point was run at (prompt + new tokens).
    pub context_tokens: u64,
    /// Prompt tokens actually sent.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// The budget's total for this context.
    pub predicted_bytes: u64,
    /// Peak resident memory of the process after the run (VmHWM).
    pub measured_peak_bytes: u64,
    /// (measured − predicted) / predicted.
    pub relative_error: f64,
    /// Prefill speed.
    pub prompt_tok_per_sec: f64,
    /// Wall time of the generation, seconds.
    pub seconds: f64,
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Builds a user message of about `target` prompt tokens (chat template included), never more.
pub async fn filler_prompt(
    model: &EmbeddedModel,
    target: usize,
) -> Result<Vec<Message>, EngineError> {
    let sentence = "The quick brown fox jumps over the lazy dog near the river bank. ";
    let make = |n: usize| {
        vec![Message {
            role: Role::User,
            content: format!(
                "{}Summarize the text above in one word.",
                sentence.repeat(n)
            ),
        }]
    };
    let one = model.count_prompt_tokens(&make(1)).await?;
    let two = model.count_prompt_tokens(&make(2)).await?;
    let per = (two - one).max(1);
    let mut n = (target.saturating_sub(one) / per + 1).max(1);
    loop {
        let messages = make(n);
        if model.count_prompt_tokens(&messages).await? <= target || n == 1 {
            return Ok(messages);
        }
        n -= 1;
    }
}

/// Runs one stress point at `context_tokens`: a prompt filling it minus `new_tokens`, then
/// `new_tokens` of greedy generation.
pub async fn run_point(
    model: &EmbeddedModel,
    context_tokens: u64,
    new_tokens: usize,
    kv_type: KvType,
) -> Result<StressPoint, EngineError> {
    let messages = filler_prompt(model, context_tokens as usize - new_tokens).await?;
    let request = GenerateRequest {
        messages,
        max_new_tokens: new_tokens,
        temperature: None,
        stop: Vec::new(),
        grammar: None,
    };
    let generation = model.generate(&request, &mut |_| {}).await?;
    let shape = ModelShape::from_header(model.header())?;
    let used = (generation.prompt_tokens + generation.completion_tokens) as u64;
    let req = BudgetRequest {
        kv_type,
        context_tokens: used,
        device_bytes: u64::MAX / 4,
        device: DeviceKind::Cpu,
        overhead: OverheadModel::for_engine(model.engine(), DeviceKind::Cpu),
    };
    let predicted =
        budget::compute(&shape, "file", model.header().weights_bytes(), &req).total_bytes;
    let measured = peak_rss_bytes().unwrap_or(0);
    Ok(StressPoint {
        context_tokens: used,
        prompt_tokens: generation.prompt_tokens,
        completion_tokens: generation.completion_tokens,
        predicted_bytes: predicted,
        measured_peak_bytes: measured,
        relative_error: (measured as f64 - predicted as f64) / predicted as f64,
        prompt_tok_per_sec: generation.prompt_tok_per_sec,
        seconds: generation.elapsed.as_secs_f64(),
    })
}
