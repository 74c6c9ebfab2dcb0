//! `aidx model quantize`: requantize a GGUF file (llama.cpp's Q4_K_M mix, Q8_0, Q4_0).

use std::path::PathBuf;
use std::time::Instant;

use aidx_editor_local::budget::gib;
use aidx_editor_local::quantize::{self, FileQuant};

/// Arguments of `aidx model quantize`.
#[derive(clap::Args, Debug)]
pub struct ModelQuantizeArgs {
    /// The GGUF file to read (any type candle can dequantize: F32/F16/BF16, Q4_0…Q8_0, K-quants).
    pub input: PathBuf,
    /// Where to write the result (written to a temporary file first, then renamed).
    pub output: PathBuf,
    /// Target: q4_k_m (mostly Q4_K, Q6_K for sensitive tensors), q8_0, q4_0 or f16.
    #[arg(long = "type", default_value = "q4_k_m")]
    pub quant: FileQuant,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `aidx model quantize`.
pub fn run(args: ModelQuantizeArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let report = quantize::quantize_file(&args.input, &args.output, args.quant)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "wrote {} ({}) in {:.1} s: weights {} -> {}",
        report.output.display(),
        report.quant,
        start.elapsed().as_secs_f64(),
        gib(report.input_weights_bytes),
        gib(report.output_weights_bytes)
    );
    let counts: Vec<String> = report
        .type_counts
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    println!("tensor types: {}", counts.join(", "));
    if !report.fallbacks.is_empty() {
        println!(
            "{} tensors have rows that are not a multiple of 256 and use a fallback type \
             (as llama.cpp does), e.g. {} -> {}",
            report.fallbacks.len(),
            report.fallbacks[0].0,
            report.fallbacks[0].1
        );
    }
    Ok(())
}
