//! `aidx doctor --stress`: fill the context, generate, and compare the measured peak memory with
//! what the budget predicted. The budget is only worth trusting if this agrees within 15 %.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::budget::{self, BudgetRequest, DeviceKind, KvType, ModelShape, OverheadModel};
use crate::engine::{EmbeddedModel, EngineError, GenerateRequest, Message, Role};
use crate::offload::{self, LayerLayout};

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
    /// Where the memory was measured: the CPU (the process's peak resident memory, VmHWM) or
    /// the GPU (the device's peak memory in use above what it held before the model loaded).
    pub device: DeviceKind,
    /// Peak memory, measured as `device` says.
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

/// The GPU's peak memory in use, sampled from the driver every few milliseconds on a thread of
/// its own, above the baseline taken when it started (start it before the model loads). The
/// driver reports the whole device, so another process allocating meanwhile counts too: run the
/// stress on an otherwise idle GPU.
pub struct GpuSampler {
    baseline: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GpuSampler {
    /// Samples the first GPU through NVML every `every` (NVML stays open meanwhile).
    pub fn start(every: Duration) -> Result<Self, aidx_gpu::ProbeError> {
        let nvml = aidx_gpu::open()?;
        let index = nvml.first_device()?.index;
        Self::start_with(
            move || nvml.memory(index).map(|(total, free)| total - free),
            every,
        )
    }

    /// Samples `used` (bytes in use on the device) every `every` (tests give a fake).
    pub fn start_with(
        used: impl Fn() -> Result<u64, aidx_gpu::ProbeError> + Send + 'static,
        every: Duration,
    ) -> Result<Self, aidx_gpu::ProbeError> {
        let baseline = used()?;
        let peak = Arc::new(AtomicU64::new(baseline));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(now) = used() {
                        peak.fetch_max(now, Ordering::Relaxed);
                    }
                    std::thread::sleep(every);
                }
            })
        };
        Ok(GpuSampler {
            baseline,
            peak,
            stop,
            thread: Some(thread),
        })
    }

    /// The peak so far above the baseline, bytes.
    pub fn peak_above_baseline(&self) -> u64 {
        self.peak
            .load(Ordering::Relaxed)
            .saturating_sub(self.baseline)
    }
}

impl Drop for GpuSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs one stress point at `context_tokens`: a prompt filling it minus `new_tokens`, then
/// `new_tokens` of greedy generation. With `gpu` (the model runs on the GPU, whole or split),
/// the prediction is the GPU's share and the measurement the sampler's peak; otherwise both are
/// the process's memory on the CPU.
pub async fn run_point(
    model: &EmbeddedModel,
    context_tokens: u64,
    new_tokens: usize,
    kv_type: KvType,
    gpu: Option<&GpuSampler>,
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
    let on_gpu = gpu.is_some() && model.gpu_layers() > 0;
    let device = if on_gpu {
        DeviceKind::Gpu
    } else {
        DeviceKind::Cpu
    };
    let req = BudgetRequest {
        kv_type,
        context_tokens: used,
        device_bytes: u64::MAX / 4,
        device,
        overhead: OverheadModel::for_engine(model.engine(), device),
    };
    let whole = shape.offloadable_layers();
    let predicted = if on_gpu && model.gpu_layers() < whole {
        let layout = LayerLayout::from_shape(&shape, None);
        offload::split(&shape, &layout, kv_type, used, model.gpu_layers())
            .0
            .total()
    } else {
        budget::compute(&shape, "file", model.header().weights_bytes(), &req).total_bytes
    };
    let measured = match gpu {
        Some(sampler) if on_gpu => sampler.peak_above_baseline(),
        _ => peak_rss_bytes().unwrap_or(0),
    };
    Ok(StressPoint {
        context_tokens: used,
        prompt_tokens: generation.prompt_tokens,
        completion_tokens: generation.completion_tokens,
        predicted_bytes: predicted,
        device,
        measured_peak_bytes: measured,
        relative_error: (measured as f64 - predicted as f64) / predicted as f64,
        prompt_tok_per_sec: generation.prompt_tok_per_sec,
        seconds: generation.elapsed.as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_sampler_keeps_the_peak_above_its_baseline() {
        // The device holds 1 GiB before; a load and a prefill push it up, then it falls back.
        let readings = Arc::new(Mutex::new(vec![1u64 << 30, 3 << 30, 5 << 30, 2 << 30]));
        let feed = readings.clone();
        let sampler = GpuSampler::start_with(
            move || {
                let mut r = feed.lock().unwrap();
                Ok(if r.len() > 1 { r.remove(0) } else { r[0] })
            },
            Duration::from_millis(1),
        )
        .unwrap();
        while readings.lock().unwrap().len() > 1 {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(sampler.peak_above_baseline(), 4 << 30);
    }

    #[test]
    fn no_driver_no_sampler() {
        let err = GpuSampler::start_with(|| Err(aidx_gpu::ProbeError::NoDevice), Duration::ZERO);
        assert!(err.is_err());
    }
}
