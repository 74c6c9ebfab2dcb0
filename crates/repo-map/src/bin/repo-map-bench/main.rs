//! Benchmark for the repository map: cold, warm and incremental timings, files/s and peak RSS.
//!
//! ```text
//! repo-map-bench generate DIR FILES          write a synthetic repository of FILES source files
//! repo-map-bench run DIR [--runs N] [--tokens N] [--threads N]
//! repo-map-bench syntax DIR                  per language: files tree-sitter finds errors in
//! repo-map-bench replay --mirrors DIR --out DIR [--repos FILE] [--per-repo N] [--skip N]
//!                       [--tokens N] [--history N] [--lines-per-file N] [--anchor FILE] [--only NAME]
//!                                            commit replay: the files real changes touched (replay.rs)
//! ```
//!
//! `run` keeps its cache in a temporary directory (never in DIR) and prints one line per measurement
//! and a JSON summary of medians. Peak RSS is the process's VmHWM after the cold runs (Linux only).
//! Cold runs also report the process's CPU time (user + system), which a busy machine distorts less
//! than wall time; the JSON carries the one-minute load average before and after the runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aidx_repo_map::{MapOptions, RepoMap, Research};

mod replay;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("generate") if args.len() == 3 => match args[2].parse() {
            Ok(files) => generate(Path::new(&args[1]), files),
            Err(e) => Err(format!("FILES must be a number: {e}")),
        },
        Some("run") if args.len() >= 2 => run(&args[1..]),
        Some("syntax") if args.len() == 2 => syntax(Path::new(&args[1])),
        Some("replay") => replay::replay(&args[1..]),
        _ => Err("usage: repo-map-bench generate DIR FILES | run DIR [--runs N] [--tokens N] [--threads N] | syntax DIR | replay --mirrors DIR --out DIR [--repos FILE] [--per-repo N] [--skip N] [--tokens N] [--history N] [--lines-per-file N] [--anchor FILE] [--only NAME]".into()),
    };
    if let Err(e) = result {
        eprintln!("repo-map-bench: {e}");
        std::process::exit(2);
    }
}

/// How many of DIR's source files tree-sitter reports syntax errors in, per language: files the
/// `ignore` crate's default walk yields (`.gitignore`, `.ignore`), within the map's default size
/// limit and not binary, minified or generated (`.aidxignore` is not read here). On a corpus of code
/// that compiles, this is how often the grammar misreads valid code.
fn syntax(dir: &Path) -> Result<(), String> {
    use std::collections::BTreeMap;
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for entry in ignore::WalkBuilder::new(dir).build().flatten() {
        let path = entry.path();
        let Some(lang) = aidx_repo_map::Lang::from_path(path) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if text.len() as u64 > aidx_repo_map::DEFAULT_MAX_FILE_BYTES
            || aidx_repo_map::content_skip_reason(text.as_bytes()).is_some()
        {
            continue;
        }
        let Ok(issues) = aidx_repo_map::syntax_issues(lang, &text, Duration::from_secs(2)) else {
            continue;
        };
        let counts = per.entry(lang.name()).or_default();
        counts.0 += 1;
        counts.1 += usize::from(!issues.is_empty());
    }
    for (lang, (files, with_errors)) in per {
        println!(
            "{lang}: {files} files, {with_errors} with syntax errors ({:.1} %)",
            with_errors as f64 * 100.0 / files as f64
        );
    }
    Ok(())
}

/// Writes `files` source files (Rust, Python, TypeScript, Go in turn) that define and call each other.
fn generate(dir: &Path, files: usize) -> Result<(), String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for f in 0..files {
        // Twenty files per directory, twenty directories per package.
        let d = f / 20;
        let sub = dir.join(format!("pkg{:03}/mod{:02}", d / 20, d % 20));
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let mut body = String::new();
        let (name, funcs) = (format!("file{f}"), 6 + next(10));
        let ext = match f % 4 {
            0 => {
                body += &format!(
                    "//! Module {name}.\n\npub struct State{f} {{\n    pub value: u64,\n}}\n\n"
                );
                for i in 0..funcs {
                    let callee = next(files);
                    body += &format!(
                        "/// Does step {i}.\npub fn step_{f}_{i}(state: &mut State{f}, input: u64) -> u64 {{\n    let x = step_{callee}_{}(state, input + {i});\n    state.value += x;\n    x * 2\n}}\n\n",
                        next(6)
                    );
                }
                "rs"
            }
            1 => {
                body += &format!("\"\"\"Module {name}.\"\"\"\n\nclass Handler{f}:\n");
                for i in 0..funcs {
                    let callee = next(files);
                    body += &format!(
                        "    def handle_{f}_{i}(self, request, retries=3):\n        result = step_{callee}_{}(request)\n        return result + {i}\n\n",
                        next(6)
                    );
                }
                "py"
            }
            2 => {
                body += &format!("export interface Options{f} {{\n  verbose: boolean;\n}}\n\n");
                for i in 0..funcs {
                    let callee = next(files);
                    body += &format!(
                        "export function render_{f}_{i}(opts: Options{f}, depth: number): string {{\n  const s = step_{callee}_{}(depth);\n  return s + \"{i}\";\n}}\n\n",
                        next(6)
                    );
                }
                "ts"
            }
            _ => {
                body += &format!("package mod{f}\n\ntype Server{f} struct {{\n\tPort int\n}}\n\n");
                for i in 0..funcs {
                    let callee = next(files);
                    body += &format!(
                        "func (s *Server{f}) Serve{i}(port int) error {{\n\terr := step_{callee}_{}(port)\n\treturn err\n}}\n\n",
                        next(6)
                    );
                }
                "go"
            }
        };
        let path = sub.join(format!("{name}.{ext}"));
        std::fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("wrote {files} files under {}", dir.display());
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let root = PathBuf::from(&args[0]);
    let mut runs = 5usize;
    let mut tokens = 4096usize;
    let mut threads = 0usize;
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let value: usize = value.parse().map_err(|e| format!("{flag}: {e}"))?;
        match flag.as_str() {
            "--runs" => runs = value,
            "--tokens" => tokens = value,
            "--threads" => threads = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let cache = std::env::temp_dir().join(format!("repo-map-bench-cache-{}", std::process::id()));
    let options = MapOptions {
        map_tokens: tokens,
        cache_dir: Some(cache.clone()),
        threads,
        ..MapOptions::default()
    };
    let fresh = || RepoMap::new(&root, options.clone()).map_err(|e| e.to_string());
    // Build the tokenizer outside the timings; agent-core builds it once per process.
    aidx_repo_map::TokenCounter::count(&aidx_repo_map::Cl100kCounter, "warm up");

    let load_before = load_average();
    let mut cold = Vec::new();
    let mut cold_cpu = Vec::new();
    let mut last: Option<Research> = None;
    for i in 0..runs {
        let _ = std::fs::remove_dir_all(&cache);
        let cpu_before = cpu_time();
        let (took, r) = timed(|| fresh()?.research("", &[], &[]).map_err(|e| e.to_string()))?;
        let cpu = cpu_time().saturating_sub(cpu_before);
        let s = &r.stats;
        let per_s = s.files_parsed as f64 / took.as_secs_f64();
        println!(
            "cold #{i}: {} ms ({} ms CPU), {} files seen, {} parsed, {} skipped, {} tags, {:.0} files/s (walk {} ms, parse {} ms, rank {} ms, render {} ms), map {} tokens",
            took.as_millis(),
            cpu.as_millis(),
            s.files_seen,
            s.files_parsed,
            s.files_skipped,
            s.tags,
            per_s,
            s.walk_ms,
            s.parse_ms,
            s.rank_ms,
            s.render_ms,
            r.tokens
        );
        cold.push(took);
        cold_cpu.push(cpu);
        last = Some(r);
    }
    let peak_rss_kib = peak_rss_kib();
    let last = last.ok_or("--runs must be at least 1")?;

    // Warm, new RepoMap each time (loads the disk cache); the first one also writes the rank cache.
    let mut warm_disk = Vec::new();
    for i in 0..runs {
        let (took, r) = timed(|| fresh()?.research("", &[], &[]).map_err(|e| e.to_string()))?;
        println!(
            "warm (disk cache) #{i}: {} ms, parsed {}, cached {}, rank cached {} (walk {} ms, load+check {} ms, rank {} ms, render {} ms)",
            took.as_millis(),
            r.stats.files_parsed,
            r.stats.files_cached,
            r.stats.rank_cached,
            r.stats.walk_ms,
            r.stats.parse_ms,
            r.stats.rank_ms,
            r.stats.render_ms
        );
        warm_disk.push(took);
    }

    // Warm, same RepoMap (agent-core keeps one per session), new request each time.
    let map = fresh()?;
    map.research("", &[], &[]).map_err(|e| e.to_string())?;
    let mut warm_mem = Vec::new();
    let mut warm_mem_new_request = Vec::new();
    for i in 0..runs {
        let (took, r) = timed(|| map.research("", &[], &[]).map_err(|e| e.to_string()))?;
        println!(
            "warm (in memory, same request) #{i}: {} ms, rank cached {}",
            took.as_millis(),
            r.stats.rank_cached
        );
        warm_mem.push(took);
        let request = format!("what calls step_{i}_1 and State{i}?");
        let (took, r) = timed(|| map.research(&request, &[], &[]).map_err(|e| e.to_string()))?;
        println!(
            "warm (in memory, new request) #{i}: {} ms (rank {} ms, render {} ms)",
            took.as_millis(),
            r.stats.rank_ms,
            r.stats.render_ms
        );
        warm_mem_new_request.push(took);
    }

    // Incremental: one file changes, then the map is rebuilt (same RepoMap, as in a session).
    // "comment" edits leave the tags alone (the cached ranking stays valid); "definition" edits add a
    // function, so the graph is rebuilt and ranked again; "call" edits add a function that calls the
    // best-ranked definition, which also moves the ranking.
    let victim = last
        .refs
        .iter()
        .find(|c| c.path.ends_with(".rs"))
        .map(|c| root.join(&c.path))
        .ok_or("no Rust file in the map; nothing to edit")?;
    let original = std::fs::read(&victim).map_err(|e| e.to_string())?;
    let callee = &last.refs[0].name;
    let mut incremental = [Vec::new(), Vec::new(), Vec::new()];
    let mut incremental_parse = [Vec::new(), Vec::new(), Vec::new()];
    // Process CPU time (all threads): on an otherwise idle machine the wall time is at most this.
    let mut incremental_cpu = [Vec::new(), Vec::new(), Vec::new()];
    for (kind, edit) in ["comment", "definition", "call"].iter().enumerate() {
        for i in 0..runs {
            let mut changed = original.clone();
            let line = match kind {
                0 => format!("\n// edit {i} {}\n", std::process::id()),
                1 => format!("\npub fn bench_edit_{i}_{}() {{}}\n", std::process::id()),
                _ => format!(
                    "\npub fn bench_call_{i}_{}() {{\n    {callee}();\n}}\n",
                    std::process::id()
                ),
            };
            changed.extend_from_slice(line.as_bytes());
            std::fs::write(&victim, &changed).map_err(|e| e.to_string())?;
            let cpu_before = cpu_time();
            let (took, r) = timed(|| map.research("", &[], &[]).map_err(|e| e.to_string()))?;
            let cpu = cpu_time().saturating_sub(cpu_before);
            println!(
                "one file changed ({edit}) #{i}: {} ms total ({} ms CPU), parsed {} (walk {} ms, check+parse {} ms, rank {} ms{}, render {} ms)",
                took.as_millis(),
                cpu.as_millis(),
                r.stats.files_parsed,
                r.stats.walk_ms,
                r.stats.parse_ms,
                r.stats.rank_ms,
                if r.stats.rank_cached { " cached" } else { "" },
                r.stats.render_ms
            );
            incremental[kind].push(took);
            incremental_cpu[kind].push(cpu);
            incremental_parse[kind].push(Duration::from_millis(
                r.stats.walk_ms + r.stats.parse_ms + r.stats.rank_ms,
            ));
        }
    }
    std::fs::write(&victim, &original).map_err(|e| e.to_string())?;
    drop(map);
    let _ = std::fs::remove_dir_all(&cache);

    let files = last.stats.files_parsed;
    let cold_ms = median_ms(&cold);
    let cold_cpu_ms = median_ms(&cold_cpu);
    println!(
        "{{\"root\":{:?},\"runs\":{runs},\"tokens\":{tokens},\"load_average\":[{load_before:?},{:?}],\"files_seen\":{},\"files_parsed_cold\":{files},\"files_skipped\":{},\"tags\":{},\"cold_ms\":{cold_ms:.0},\"cold_files_per_s\":{:.0},\"cold_cpu_ms\":{cold_cpu_ms:.0},\"cold_files_per_cpu_s\":{:.0},\"warm_disk_ms\":{:.0},\"warm_memory_ms\":{:.0},\"warm_memory_new_request_ms\":{:.0},\"one_changed_comment_total_ms\":{:.0},\"one_changed_comment_before_render_ms\":{:.0},\"one_changed_definition_total_ms\":{:.0},\"one_changed_definition_before_render_ms\":{:.0},\"one_changed_call_total_ms\":{:.0},\"one_changed_call_before_render_ms\":{:.0},\"one_changed_cpu_ms\":[{:.0},{:.0},{:.0}],\"peak_rss_mib\":{:.0}}}",
        root.display().to_string(),
        load_average(),
        last.stats.files_seen,
        last.stats.files_skipped,
        last.stats.tags,
        files as f64 / (cold_ms / 1000.0),
        files as f64 / (cold_cpu_ms / 1000.0),
        median_ms(&warm_disk),
        median_ms(&warm_mem),
        median_ms(&warm_mem_new_request),
        median_ms(&incremental[0]),
        median_ms(&incremental_parse[0]),
        median_ms(&incremental[1]),
        median_ms(&incremental_parse[1]),
        median_ms(&incremental[2]),
        median_ms(&incremental_parse[2]),
        median_ms(&incremental_cpu[0]),
        median_ms(&incremental_cpu[1]),
        median_ms(&incremental_cpu[2]),
        peak_rss_kib as f64 / 1024.0,
    );
    Ok(())
}

fn timed<T>(f: impl FnOnce() -> Result<T, String>) -> Result<(Duration, T), String> {
    let start = Instant::now();
    let value = f()?;
    Ok((start.elapsed(), value))
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    ms.get(ms.len() / 2).copied().unwrap_or(0.0)
}

/// Peak resident set size of this process in KiB (VmHWM), 0 where unavailable.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of this process so far (zero where unavailable).
fn cpu_time() -> Duration {
    #[cfg(unix)]
    {
        // SAFETY: `usage` is a valid, writable rusage; getrusage only writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
            return tv(usage.ru_utime) + tv(usage.ru_stime);
        }
    }
    Duration::ZERO
}

/// The one-minute load average (Linux), 0 where unavailable.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}
