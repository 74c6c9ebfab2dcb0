//! Embedded engine (mistral.rs) against llama.cpp on the same GGUF, same threads, greedy.
//!
//! ```text
//! engine-bench [--model FILE | --synthetic-1b] [--threads 1,2] [--prompt-tokens 128]
//!              [--gen-tokens 64] [--runs 3] [--llama-bin DIR] [--json]
//! ```
//!
//! For each thread count it runs, each in a child process so peak RSS is the engine's own:
//! - aidx's [`EmbeddedModel`] on mistral.rs, and on llama.cpp through llama-cpp-2 when built with
//!   the `llama-cpp` feature (load time, prompt and decode tok/s per run);
//! - `llama-bench` (prompt `pp` and decode `tg` tok/s) and `llama-server` until healthy (load
//!   time): llama.cpp's own figures on the same file, the reference for the ratios.
//!
//! It also measures this machine's memory read bandwidth and prints the physical decode bound:
//! bandwidth ÷ bytes of weights read per token. `--synthetic-1b` builds (once, cached under
//! `~/.cache/aidx/bench/`) a ~1.1B llama-architecture Q4_K_M model with random weights and
//! 256-multiple dimensions, so the k-quant SIMD kernels are what is measured; throughput does not
//! depend on the weight values. Figures are medians over `--runs`.
//!
//! `--compare-quant` instead measures what `aidx model quantize` costs in quality: SmolLM2's
//! Q4_1 file against its requantizations (Q8_0, Q4_K_M), by perplexity on a fixed text
//! (`bench/score.txt`) and by how many characters of greedy replies agree with the source's.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aidx_editor_local::engine::{
    EmbeddedModel, EngineKind, GenerateRequest, LoadOptions, Message, Role,
};
use aidx_editor_local::gguf::GgufHeader;
use aidx_editor_local::quantize::FileQuant;
use aidx_editor_local::synthetic::{self, LlamaShape};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

#[derive(Debug, Clone)]
struct Args {
    model: Option<PathBuf>,
    synthetic: bool,
    threads: Vec<usize>,
    prompt_tokens: usize,
    gen_tokens: usize,
    runs: usize,
    llama_bin: PathBuf,
    json: bool,
    child: Option<String>,
    child_engine: EngineKind,
    compare_quant: bool,
    /// Skip the mistral.rs child (the slowest on a CPU): llama.cpp embedded against llama-bench only.
    no_mistralrs: bool,
}

fn cache_dir() -> PathBuf {
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cache/aidx")
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        model: None,
        synthetic: false,
        threads: vec![2],
        prompt_tokens: 128,
        gen_tokens: 64,
        runs: 3,
        llama_bin: cache_dir().join("llama.cpp/bin"),
        json: false,
        child: None,
        child_engine: EngineKind::MistralRs,
        compare_quant: false,
        no_mistralrs: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--model" => args.model = Some(PathBuf::from(value()?)),
            "--synthetic-1b" => args.synthetic = true,
            "--threads" => {
                args.threads = value()?
                    .split(',')
                    .map(|t| t.trim().parse().context("--threads takes e.g. 1,2"))
                    .collect::<Result<_>>()?
            }
            "--prompt-tokens" => args.prompt_tokens = value()?.parse()?,
            "--gen-tokens" => args.gen_tokens = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--llama-bin" => args.llama_bin = PathBuf::from(value()?),
            "--json" => args.json = true,
            "--compare-quant" => args.compare_quant = true,
            "--no-mistralrs" => args.no_mistralrs = true,
            "--child" => args.child = Some(value()?),
            "--child-engine" => args.child_engine = value()?.parse().map_err(anyhow::Error::msg)?,
            "-h" | "--help" => {
                println!(
                    "engine-bench [--model FILE | --synthetic-1b] [--threads 1,2] \
                     [--prompt-tokens N] [--gen-tokens N] [--runs N] [--llama-bin DIR] [--no-mistralrs] [--json]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; see --help"),
        }
    }
    Ok(args)
}

/// One engine's figures at one thread count (medians over the runs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EngineFigures {
    engine: String,
    threads: usize,
    load_ms: f64,
    prompt_tokens: usize,
    gen_tokens: usize,
    prompt_tok_s: f64,
    decode_tok_s: f64,
    prompt_runs: Vec<f64>,
    decode_runs: Vec<f64>,
    peak_rss_mib: f64,
    /// Layers on the GPU (llama.cpp's count); llama-bench is given the embedded engines' figure
    /// (`-ngl`), so both sides put the same layers there. 0 on the CPU.
    #[serde(default)]
    gpu_layers: u32,
}

#[derive(Debug, Serialize)]
struct Report {
    model: PathBuf,
    architecture: String,
    parameters: u64,
    weights_bytes: u64,
    bytes_read_per_token: u64,
    bandwidth_gb_s: f64,
    decode_bound_tok_s: f64,
    rows: Vec<EngineFigures>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    if let Some(model) = &args.child {
        return child_engine(Path::new(model), &args);
    }
    if args.compare_quant {
        return compare_quant(&args);
    }
    let model = resolve_model(&args)?;
    let header = GgufHeader::read(&model).context("reading the model header")?;
    let embd_bytes = header
        .tensor("token_embd.weight")
        .map(|t| t.byte_size())
        .unwrap_or(0);
    let tied = header.tensor("output.weight").is_none();
    // Per decoded token every weight matrix is read once; the embedding table only for one row
    // (unless it doubles as the output projection).
    let bytes_per_token = header.weights_bytes() - if tied { 0 } else { embd_bytes };

    let mut rows = Vec::new();
    for &threads in &args.threads {
        // llama-bench gets exactly the prompt length the first embedded engine saw after its chat
        // template (mistral.rs's adds a default system prompt).
        let mut seen_prompt = None;
        let mut gpu_layers = 0;
        if !args.no_mistralrs {
            eprintln!("mistral.rs, {threads} thread(s)…");
            let ours = run_engine_child(&model, EngineKind::MistralRs, threads, &args)?;
            seen_prompt = Some(ours.prompt_tokens);
            gpu_layers = ours.gpu_layers;
            rows.push(ours);
        }
        if cfg!(feature = "llama-cpp") {
            eprintln!("llama.cpp embedded (llama-cpp-2), {threads} thread(s)…");
            let embedded = run_engine_child(&model, EngineKind::LlamaCpp, threads, &args)?;
            seen_prompt.get_or_insert(embedded.prompt_tokens);
            gpu_layers = embedded.gpu_layers;
            rows.push(embedded);
        }
        let same = Args {
            prompt_tokens: seen_prompt.unwrap_or(args.prompt_tokens),
            ..args.clone()
        };
        eprintln!("llama.cpp, {threads} thread(s)…");
        rows.push(run_llama_cpp(&model, threads, &same, gpu_layers)?);
    }
    // After the children: Linux reports a spawned child's peak RSS as at least this process's
    // own peak (posix_spawn runs in our address space until exec), so the 1 GiB buffer of the
    // bandwidth test must not exist before them.
    let max_threads = *args.threads.iter().max().unwrap_or(&1);
    let bandwidth = measure_bandwidth(max_threads);
    eprintln!(
        "memory read bandwidth ({max_threads} threads): {:.2} GB/s",
        bandwidth / 1e9
    );
    let report = Report {
        architecture: header.architecture().unwrap_or("?").to_string(),
        parameters: header.parameter_count(),
        weights_bytes: header.weights_bytes(),
        bytes_read_per_token: bytes_per_token,
        bandwidth_gb_s: bandwidth / 1e9,
        decode_bound_tok_s: bandwidth / bytes_per_token as f64,
        model,
        rows,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!(
        "model: {} ({}, {:.2}B params, {:.0} MiB weights)",
        r.model.display(),
        r.architecture,
        r.parameters as f64 / 1e9,
        r.weights_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "bandwidth {:.2} GB/s, {:.0} MiB read per token → decode bound {:.1} tok/s",
        r.bandwidth_gb_s,
        r.bytes_read_per_token as f64 / (1 << 20) as f64,
        r.decode_bound_tok_s
    );
    println!(
        "| engine | threads | load ms | prompt tok/s (pp{}) | decode tok/s (tg{}) | peak RSS MiB | vs llama.cpp pp / tg |",
        r.rows.first().map(|x| x.prompt_tokens).unwrap_or(0),
        r.rows.first().map(|x| x.gen_tokens).unwrap_or(0)
    );
    println!("|---|---|---|---|---|---|---|");
    for row in &r.rows {
        let base = r
            .rows
            .iter()
            .find(|b| b.engine == "llama-bench" && b.threads == row.threads);
        let ratio = base
            .map(|b| {
                format!(
                    "{:.2} / {:.2}",
                    row.prompt_tok_s / b.prompt_tok_s,
                    row.decode_tok_s / b.decode_tok_s
                )
            })
            .unwrap_or_default();
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.0} | {} |",
            row.engine,
            row.threads,
            row.load_ms,
            row.prompt_tok_s,
            row.decode_tok_s,
            row.peak_rss_mib,
            ratio
        );
    }
}

fn resolve_model(args: &Args) -> Result<PathBuf> {
    if let Some(m) = &args.model {
        return Ok(m.clone());
    }
    if !args.synthetic {
        bail!("pass --model FILE or --synthetic-1b");
    }
    let out = cache_dir().join("bench/synthetic-llama-1b-q4_k_m.gguf");
    if out.exists() {
        return Ok(out);
    }
    let tokenizer = cache_dir().join("models").join(SMOLLM2);
    if !tokenizer.exists() {
        bail!(
            "{} is missing (its tokenizer is copied into the synthetic model): run `aidx model pull`",
            tokenizer.display()
        );
    }
    std::fs::create_dir_all(out.parent().unwrap())?;
    eprintln!("building {} (once)…", out.display());
    let started = Instant::now();
    let made = synthetic::write_llama(&tokenizer, LlamaShape::ONE_B, FileQuant::Q4_K_M, &out)?;
    eprintln!(
        "built in {:.1} s: {:.2}B params, {:.0} MiB, types {:?}",
        started.elapsed().as_secs_f64(),
        made.parameters as f64 / 1e9,
        made.weights_bytes as f64 / (1 << 20) as f64,
        made.type_counts
    );
    Ok(out)
}

/// Memory read bandwidth in bytes/s: `threads` threads summing disjoint halves of a 1 GiB
/// buffer, best of five passes (the buffer is far larger than any cache).
fn measure_bandwidth(threads: usize) -> f64 {
    let words = (1usize << 30) / 8;
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = 0.0f64;
    for _ in 0..5 {
        let started = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks(words.div_ceil(threads))
                .map(|chunk| {
                    s.spawn(move || {
                        // Four accumulators so the adds are not one dependency chain.
                        let mut acc = [0u64; 4];
                        for c in chunk.chunks_exact(4) {
                            for i in 0..4 {
                                acc[i] = acc[i].wrapping_add(c[i]);
                            }
                        }
                        acc.iter().fold(0u64, |a, b| a.wrapping_add(*b))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold(0, u64::wrapping_add)
        });
        std::hint::black_box(total);
        best = best.max((words * 8) as f64 / started.elapsed().as_secs_f64());
    }
    best
}

/// Runs `cmd`, returning its stdout and its peak RSS in KiB (`wait4`'s `ru_maxrss`).
fn run_measured(mut cmd: Command) -> Result<(String, i64)> {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our own unwaited child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if rc != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{cmd:?} failed (status {status})");
    }
    Ok((out, usage.ru_maxrss))
}

fn run_engine_child(
    model: &Path,
    engine: EngineKind,
    threads: usize,
    args: &Args,
) -> Result<EngineFigures> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--child")
        .arg(model)
        .args(["--child-engine", engine.as_str()])
        .args(["--threads", &threads.to_string()])
        .args(["--prompt-tokens", &args.prompt_tokens.to_string()])
        .args(["--gen-tokens", &args.gen_tokens.to_string()])
        .args(["--runs", &args.runs.to_string()])
        .env("RAYON_NUM_THREADS", threads.to_string());
    let (out, rss_kib) = run_measured(cmd)?;
    let mut fig: EngineFigures = serde_json::from_str(out.trim())
        .with_context(|| format!("child printed no figures: {out}"))?;
    fig.threads = threads;
    fig.peak_rss_mib = rss_kib as f64 / 1024.0;
    Ok(fig)
}

/// Runs inside the child: load with aidx's engine, then `runs` greedy generations of a prompt of
/// about `prompt_tokens` tokens. Prints the figures as one JSON object.
fn child_engine(model: &Path, args: &Args) -> Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut options = LoadOptions::cpu(model);
        options.context_tokens = Some((args.prompt_tokens + args.gen_tokens + 64) as u64);
        options.engine = args.child_engine;
        options.threads = args.threads.first().copied();
        let engine = EmbeddedModel::load(options).await?;
        let load_ms = engine.load_time().as_secs_f64() * 1e3;
        // Words that are one token each in most BPE vocabularies; the chat template adds a few.
        // Each run starts with a different word, so llama.cpp's kept session cannot skip the
        // prompt (only the chat template's first tokens are shared).
        let words: Vec<&str> = "the of and to in is on for that with as"
            .split(' ')
            .cycle()
            .take(args.prompt_tokens.saturating_sub(12))
            .collect();
        let openers = [
            "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
        ];
        let request = |run: usize| GenerateRequest {
            messages: vec![Message {
                role: Role::User,
                content: format!("{} {}", openers[run % openers.len()], words.join(" ")),
            }],
            max_new_tokens: args.gen_tokens,
            temperature: Some(0.0),
            stop: Vec::new(),
            grammar: None,
        };
        let mut fig = EngineFigures {
            engine: match args.child_engine {
                EngineKind::MistralRs => "aidx mistral.rs".into(),
                EngineKind::LlamaCpp => "aidx llama.cpp (llama-cpp-2)".into(),
            },
            load_ms,
            gpu_layers: engine.gpu_layers(),
            ..Default::default()
        };
        // One warm-up generation, as llama-bench does.
        engine.generate(&request(0), &mut |_| {}).await?;
        for run in 1..=args.runs {
            let g = engine.generate(&request(run), &mut |_| {}).await?;
            fig.prompt_tokens = g.prompt_tokens;
            fig.gen_tokens = g.completion_tokens;
            fig.prompt_runs.push(g.prompt_tok_per_sec);
            fig.decode_runs.push(g.decode_tok_per_sec);
        }
        fig.prompt_tok_s = median(&fig.prompt_runs);
        fig.decode_tok_s = median(&fig.decode_runs);
        println!("{}", serde_json::to_string(&fig)?);
        anyhow::Ok(())
    })
}

#[derive(Deserialize)]
struct LlamaBenchRow {
    n_prompt: usize,
    n_gen: usize,
    samples_ts: Vec<f64>,
}

fn run_llama_cpp(
    model: &Path,
    threads: usize,
    args: &Args,
    gpu_layers: u32,
) -> Result<EngineFigures> {
    let bench = args.llama_bin.join("llama-bench");
    if !bench.exists() {
        bail!(
            "{} is missing: run scripts/build-llama-cpp.sh",
            bench.display()
        );
    }
    // Two runs: prefill from an empty context, then decode at the depth the prompt leaves (aidx
    // decodes after its prompt, so attention covers it; llama-bench's `tg` alone starts empty).
    let run = |p: usize, n: usize, depth: usize| -> Result<(Vec<LlamaBenchRow>, i64)> {
        let mut cmd = Command::new(&bench);
        cmd.arg("-m")
            .arg(model)
            .args(["-t", &threads.to_string()])
            .args(["-ngl", &gpu_layers.to_string()])
            .args(["-p", &p.to_string()])
            .args(["-n", &n.to_string()])
            .args(["-d", &depth.to_string()])
            .args(["-r", &args.runs.to_string()])
            .args(["-o", "json"]);
        let (out, rss_kib) = run_measured(cmd)?;
        let rows: Vec<LlamaBenchRow> =
            serde_json::from_str(&out).with_context(|| format!("llama-bench output: {out}"))?;
        Ok((rows, rss_kib))
    };
    let (mut rows, rss_prefill) = run(args.prompt_tokens, 0, 0)?;
    let (decode_rows, rss_decode) = run(0, args.gen_tokens, args.prompt_tokens)?;
    rows.extend(decode_rows);
    let mut fig = EngineFigures {
        engine: "llama-bench".into(),
        threads,
        peak_rss_mib: rss_prefill.max(rss_decode) as f64 / 1024.0,
        gpu_layers,
        ..Default::default()
    };
    for row in rows {
        if row.n_gen == 0 {
            fig.prompt_tokens = row.n_prompt;
            fig.prompt_runs = row.samples_ts;
            fig.prompt_tok_s = median(&fig.prompt_runs);
        } else {
            fig.gen_tokens = row.n_gen;
            fig.decode_runs = row.samples_ts;
            fig.decode_tok_s = median(&fig.decode_runs);
        }
    }
    fig.load_ms = llama_server_load_ms(model, threads, &args.llama_bin)?;
    Ok(fig)
}

/// Time from starting `llama-server` to a healthy `/health`: llama.cpp's load time.
fn llama_server_load_ms(model: &Path, threads: usize, bin: &Path) -> Result<f64> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let started = Instant::now();
    let mut child = Command::new(bin.join("llama-server"))
        .arg("-m")
        .arg(model)
        .args(["-t", &threads.to_string(), "-c", "512", "--port"])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start llama-server")?;
    let deadline = started + Duration::from_secs(120);
    let result = loop {
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("llama-server not healthy after 120 s"));
        }
        if health_ok(port) {
            break Ok(started.elapsed().as_secs_f64() * 1e3);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

const SCORE_TEXT: &str = include_str!("../../bench/score.txt");
const GREEDY_PROMPTS: &[&str] = &[
    "What is the capital of France?",
    "Write a Python function that reverses a string.",
    "Explain what a hash map is in two sentences.",
    "List three colours of the rainbow.",
];

/// Perplexity and greedy agreement of requantized SmolLM2 files against the source file.
fn compare_quant(args: &Args) -> Result<()> {
    use aidx_editor_local::quantize::quantize_file;
    let source = args
        .model
        .clone()
        .unwrap_or_else(|| cache_dir().join("models").join(SMOLLM2));
    if !source.exists() {
        bail!("{} is missing: run `aidx model pull`", source.display());
    }
    let out_dir = cache_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let mut files = vec![("source".to_string(), source.clone())];
    for quant in [FileQuant::Q8_0, FileQuant::Q4_K_M, FileQuant::Q4_0] {
        let stem = source.file_stem().unwrap().to_string_lossy();
        let out = out_dir.join(format!("{stem}.requant-{}.gguf", quant.as_str()));
        if !out.exists() {
            eprintln!("quantizing {} → {}", source.display(), out.display());
            quantize_file(&source, &out, quant)?;
        }
        files.push((quant.as_str().to_string(), out));
    }
    let rt = tokio::runtime::Runtime::new()?;
    let mut reference: Vec<String> = Vec::new();
    let mut source_ppl = f64::NAN;
    println!(
        "text: crates/editor-local/bench/score.txt; greedy: {} prompts × {} tokens",
        GREEDY_PROMPTS.len(),
        args.gen_tokens
    );
    println!(
        "| file | tensor types | weights MiB | scored tokens | perplexity | vs source | greedy chars agreeing |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, path) in &files {
        let header = GgufHeader::read(path)?;
        let mut types: std::collections::BTreeMap<&str, usize> = Default::default();
        for t in &header.tensors {
            *types.entry(t.ggml_type.name()).or_default() += 1;
        }
        let (tokens, nll, replies) = rt.block_on(async {
            let mut options = LoadOptions::cpu(path);
            options.context_tokens = Some(2048);
            options.engine = EngineKind::LlamaCpp;
            options.threads = args.threads.first().copied();
            let engine = EmbeddedModel::load(options).await?;
            let (tokens, nll) = engine.score_text(SCORE_TEXT)?;
            let mut replies = Vec::new();
            for prompt in GREEDY_PROMPTS {
                let g = engine
                    .generate(
                        &GenerateRequest {
                            messages: vec![Message {
                                role: Role::User,
                                content: prompt.to_string(),
                            }],
                            max_new_tokens: args.gen_tokens,
                            temperature: Some(0.0),
                            stop: Vec::new(),
                            grammar: None,
                        },
                        &mut |_| {},
                    )
                    .await?;
                replies.push(g.text);
            }
            anyhow::Ok((tokens, nll, replies))
        })?;
        let ppl = nll.exp();
        if reference.is_empty() {
            reference = replies.clone();
            source_ppl = ppl;
        }
        let (agree, total) = replies
            .iter()
            .zip(&reference)
            .fold((0, 0), |(a, t), (r, s)| {
                let common = r.chars().zip(s.chars()).take_while(|(x, y)| x == y).count();
                (a + common, t + s.chars().count())
            });
        println!(
            "| {label} ({}) | {} | {:.1} | {tokens} | {ppl:.3} | {:+.2} % | {agree} / {total} |",
            path.file_name().unwrap().to_string_lossy(),
            types
                .iter()
                .map(|(k, v)| format!("{k}×{v}"))
                .collect::<Vec<_>>()
                .join(" "),
            header.weights_bytes() as f64 / (1 << 20) as f64,
            (ppl / source_ppl - 1.0) * 100.0,
        );
    }
    Ok(())
}
