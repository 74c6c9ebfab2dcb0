//! Starting a local llama.cpp `llama-server` for tests and measurements.
//!
//! The binary comes from `scripts/build-llama-cpp.sh`; [`find_llama_server`] looks in `$AIDX_LLAMA_SERVER`, then
//! `${AIDX_LLAMA_DIR:-~/.cache/aidx/llama.cpp}/bin/llama-server`. [`LlamaServer`] binds a free loopback port,
//! waits for `/health`, and kills the process when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// File name of the default test model (see `docs/MODELS.md`).
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// No binary at the expected places.
    #[error(
        "llama-server not found (looked at $AIDX_LLAMA_SERVER and {default}); build it with scripts/build-llama-cpp.sh"
    )]
    BinaryNotFound {
        /// The default location.
        default: String,
    },
    /// The model file is missing.
    #[error("model file {} not found; set AIDX_MODELS_DIR or fetch it with `aidx model pull smollm2-135m-instruct` (docs/MODELS.md)", .0.display())]
    ModelNotFound(PathBuf),
    /// Spawning or talking to the process failed.
    #[error("llama-server failed: {0}")]
    Io(#[from] std::io::Error),
    /// The process exited or never became healthy.
    #[error("llama-server did not become healthy: {reason}; its log ends with:\n{log_tail}")]
    NotHealthy {
        /// What happened.
        reason: String,
        /// The last lines of its output.
        log_tail: String,
    },
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// The install prefix used by `scripts/build-llama-cpp.sh`.
pub fn default_llama_dir() -> PathBuf {
    std::env::var_os("AIDX_LLAMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/aidx/llama.cpp"))
}

/// The `llama-server` binary: `$AIDX_LLAMA_SERVER` if set, else `<llama dir>/bin/llama-server`.
pub fn find_llama_server() -> Result<PathBuf, LocalServerError> {
    if let Some(path) = std::env::var_os("AIDX_LLAMA_SERVER").map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(LocalServerError::BinaryNotFound {
                default: path.display().to_string(),
            })
        };
    }
    let default = default_llama_dir().join("bin/llama-server");
    if default.is_file() {
        Ok(default)
    } else {
        Err(LocalServerError::BinaryNotFound {
            default: default.display().to_string(),
        })
    }
}

/// The models directory: `$AIDX_MODELS_DIR` or `~/.cache/aidx/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("AIDX_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/aidx/models"))
}

/// Options for [`LlamaServer::start`].
#[derive(Clone, Debug)]
pub struct LlamaServerOptions {
    /// The `llama-server` binary.
    pub binary: PathBuf,
    /// The GGUF model.
    pub model: PathBuf,
    /// Context size (`-c`).
    pub context: u32,
    /// CPU threads (`-t`).
    pub threads: u32,
    /// How long to wait for `/health`.
    pub startup_timeout: Duration,
}

impl LlamaServerOptions {
    /// The binary from [`find_llama_server`] and the default model from [`models_dir`], 2048 context, 2 threads.
    pub fn discover() -> Result<Self, LocalServerError> {
        let binary = find_llama_server()?;
        let model = models_dir().join(DEFAULT_MODEL_FILE);
        if !model.is_file() {
            return Err(LocalServerError::ModelNotFound(model));
        }
        Ok(Self {
            binary,
            model,
            context: 2048,
            threads: 2,
            startup_timeout: Duration::from_secs(120),
        })
    }
}

/// A running `llama-server` on `127.0.0.1`; killed on drop.
#[derive(Debug)]
pub struct LlamaServer {
    child: Child,
    port: u16,
    log: PathBuf,
    _log_dir: TempDir,
}

impl LlamaServer {
    /// Starts the server on a free loopback port and waits until `/health` answers 200.
    pub async fn start(options: &LlamaServerOptions) -> Result<Self, LocalServerError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log_dir = TempDir::new()?;
        let log = log_dir.0.join("llama-server.log");
        let log_file = File::create(&log)?;
        let child = Command::new(&options.binary)
            .arg("-m")
            .arg(&options.model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "-c",
                &options.context.to_string(),
                "-t",
                &options.threads.to_string(),
                "-np",
                "1",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        let mut server = Self {
            child,
            port,
            log,
            _log_dir: log_dir,
        };
        server.wait_healthy(options.startup_timeout).await?;
        Ok(server)
    }

    /// `http://127.0.0.1:<port>` (append `/v1` for the OpenAI-compatible base URL).
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    async fn wait_healthy(&mut self, timeout: Duration) -> Result<(), LocalServerError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(std::io::Error::other)?;
        let url = format!("{}/health", self.origin());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(LocalServerError::NotHealthy {
                    reason: format!("exited with {status}"),
                    log_tail: self.log_tail(),
                });
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                tracing::debug!(
                    port = self.port,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "llama-server healthy"
                );
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(LocalServerError::NotHealthy {
                    reason: format!("no 200 from /health within {}s", timeout.as_secs()),
                    log_tail: self.log_tail(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop (kept tiny to avoid a tempfile dependency in the library).
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("aidx-llama-server-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
