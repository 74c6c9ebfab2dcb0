//! Helpers for the end-to-end tests: find the `aidx` binary, make temporary repositories, run.
//!
//! The binary is the one `cargo test --workspace` builds for `aidx-cli` (its integration tests
//! make cargo build it before any test runs). Tests locate it next to their own executable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the `aidx` binary in the same target directory as this test executable.
pub fn aidx_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/aidx
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join(format!("aidx{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} not found: run the tests with `cargo test --workspace` (or `cargo build -p aidx-cli` first)",
        bin.display()
    );
    bin
}

/// Where the real models are cached: `AIDX_MODELS_DIR`, else `~/.cache/aidx/models` of the user
/// running the tests (not of a test's empty home).
pub fn models_dir() -> PathBuf {
    std::env::var("AIDX_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/aidx/models")
        })
}

/// The real `llama-server` started with `options`, and the runtime that owns it (drop the
/// server before the runtime).
pub fn start_llama_server(
    options: &aidx_architect::local_server::LlamaServerOptions,
) -> (
    tokio::runtime::Runtime,
    aidx_architect::local_server::LlamaServer,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(aidx_architect::local_server::LlamaServer::start(options))
        .unwrap_or_else(|error| panic!("{error}"));
    (runtime, server)
}

/// A command for `aidx` running in `dir`, with a clean configuration environment: HOME points at
/// an empty directory and no `AIDX_*` variable leaks in, except `AIDX_MODELS_DIR` (where the real
/// models are cached).
pub fn aidx(dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(aidx_bin());
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("AIDX_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home);
    cmd.env("AIDX_MODELS_DIR", models_dir());
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A temporary git repository with one commit, and an empty home directory beside it.
pub struct TempRepo {
    _tmp: tempfile::TempDir,
    /// The repository's work tree.
    pub root: PathBuf,
    /// An empty home directory for `~/.aidx.yml`.
    pub home: PathBuf,
}

impl TempRepo {
    /// Creates a repository with the given files committed.
    pub fn with_files(files: &[(&str, &str)]) -> TempRepo {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let repo = git2::Repository::init(&root).expect("git init");
        for (path, text) in files {
            let full = root.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::write(full, text).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Test User", "test@example.invalid").unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "chore: initial", &tree, &[])
            .unwrap();
        let mut config = repo.config().unwrap();
        config.set_str("user.name", "Test User").unwrap();
        config
            .set_str("user.email", "test@example.invalid")
            .unwrap();
        TempRepo {
            _tmp: tmp,
            root,
            home,
        }
    }

    /// Runs `aidx ARGS` in the repository.
    pub fn run(&self, args: &[&str]) -> Output {
        aidx(&self.root, &self.home)
            .args(args)
            .output()
            .expect("run aidx")
    }

    /// Text of a file in the work tree.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }
}

/// stdout and stderr of an output as strings.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

/// Whether `aidx model list` (run in `repo`) shows SmolLM2 cached. When it does not, the test
/// should return: this says SKIPPED, or fails under `AIDX_REQUIRE_REAL=1` (CI).
pub fn smollm2_cached(repo: &TempRepo) -> bool {
    let list = aidx(&repo.root, &repo.home)
        .args(["model", "list"])
        .output()
        .expect("run aidx model list");
    let listing = texts(&list).0;
    if listing
        .lines()
        .any(|l| l.starts_with("present") && l.contains("smollm2-135m-instruct"))
    {
        return true;
    }
    assert!(
        !require_real(),
        "SmolLM2 is not cached and AIDX_REQUIRE_REAL=1:\n{listing}"
    );
    eprintln!("SKIPPED: SmolLM2 not cached; run `aidx model pull`");
    false
}

/// Whether tests that need real models must fail (CI) instead of skipping.
pub fn require_real() -> bool {
    std::env::var("AIDX_REQUIRE_REAL").as_deref() == Ok("1")
}

/// How many request bodies a [`ScriptedServer`] keeps.
const KEPT_BODIES: usize = 16;

/// A scripted OpenAI-compatible chat server on a loopback port, for tests that need a real HTTP
/// peer but a known reply: each `POST …/chat/completions` gets the next reply of the script (the
/// last one repeats), streamed as server-sent events when the request asks for a stream.
pub struct ScriptedServer {
    /// `http://127.0.0.1:PORT/v1`, for `base-url`.
    pub base_url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl ScriptedServer {
    /// Starts the server; it lives until the test process ends. `delay` is waited before each
    /// reply (to interrupt a request in flight).
    pub fn start(replies: Vec<String>, delay: std::time::Duration) -> ScriptedServer {
        Self::start_paced(
            replies
                .into_iter()
                .map(|r| (r, std::time::Duration::ZERO))
                .collect(),
            delay,
        )
    }

    /// Like [`start`](Self::start), each reply with its own pace: a non-zero pace streams the
    /// reply in pieces of 4 characters, that long apart (a model generating), so a test can act
    /// while text is still arriving.
    pub fn start_paced(
        replies: Vec<(String, std::time::Duration)>,
        delay: std::time::Duration,
    ) -> ScriptedServer {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = requests.clone();
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" || line == "\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let request: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                {
                    // The last few only: a soak test sends thousands.
                    let mut kept = recorded.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.len() == KEPT_BODIES {
                        kept.remove(0);
                    }
                    kept.push(request.clone());
                }
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let (reply, pace) = replies
                    .get(n)
                    .or(replies.last())
                    .cloned()
                    .unwrap_or_default();
                std::thread::sleep(delay);
                if request["stream"].as_bool() == Some(true) && !pace.is_zero() {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n",
                    );
                    let chars: Vec<char> = reply.chars().collect();
                    for piece in chars.chunks(4) {
                        let text: String = piece.iter().collect();
                        let chunk = serde_json::json!({
                            "id": "x", "object": "chat.completion.chunk", "model": "scripted",
                            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
                        });
                        if stream
                            .write_all(format!("data: {chunk}\n\n").as_bytes())
                            .is_err()
                            || stream.flush().is_err()
                        {
                            break;
                        }
                        std::thread::sleep(pace);
                    }
                    let last = serde_json::json!({
                        "id": "x", "object": "chat.completion.chunk", "model": "scripted",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 20},
                    });
                    let _ =
                        stream.write_all(format!("data: {last}\n\ndata: [DONE]\n\n").as_bytes());
                    continue;
                }
                let usage = serde_json::json!({"prompt_tokens": 100, "completion_tokens": 20});
                let response = if request["stream"].as_bool() == Some(true) {
                    let chunk = serde_json::json!({
                        "id": "x", "object": "chat.completion.chunk", "model": "scripted",
                        "choices": [{"index": 0, "delta": {"role": "assistant", "content": reply}, "finish_reason": null}]
                    });
                    let last = serde_json::json!({
                        "id": "x", "object": "chat.completion.chunk", "model": "scripted",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": usage,
                    });
                    let body = format!("data: {chunk}\n\ndata: {last}\n\ndata: [DONE]\n\n");
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    let body = serde_json::json!({
                        "id": "x", "object": "chat.completion", "model": "scripted",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                        "usage": usage,
                    })
                    .to_string();
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(response.as_bytes());
                let _ = stream.flush();
            }
        });
        ScriptedServer {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            requests,
            bodies,
        }
    }

    /// The JSON bodies of the last requests received (up to 16), oldest first.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many chat requests it has received.
    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// SmolLM2 as an embedded role for tests that load it in this process: the llama.cpp engine at a
/// fixed context of 2,048 tokens (so budgets do not depend on the machine's free memory). `None`
/// when it is not cached: the test should return; this says SKIPPED, or fails under
/// `AIDX_REQUIRE_REAL=1` (CI).
pub fn smollm2_role(
    config: &aidx_agent_core::config::Config,
) -> Option<aidx_agent_core::config::RoleConfig> {
    let model =
        aidx_editor_local::models::resolve_model("smollm2-135m-instruct", &config.models_dir);
    if !model.exists() {
        assert!(
            !require_real(),
            "SmolLM2 is not cached ({}) and AIDX_REQUIRE_REAL=1",
            model.display()
        );
        eprintln!("SKIPPED: SmolLM2 not cached; run `aidx model pull`");
        return None;
    }
    let mut role = config.editor.clone();
    role.engine = Some("llama-cpp".into());
    role.context = Some(2048);
    Some(role)
}

/// How to start the real `llama-server` with SmolLM2, or `None` when the binary or the model is
/// missing: the test should return; this says SKIPPED loudly, or fails under
/// `AIDX_REQUIRE_REAL=1` (CI).
pub fn llama_server_options(
    test: &str,
) -> Option<aidx_architect::local_server::LlamaServerOptions> {
    match aidx_architect::local_server::LlamaServerOptions::discover() {
        Ok(options) => Some(options),
        Err(error) => {
            assert!(
                !require_real(),
                "AIDX_REQUIRE_REAL=1 but the real server is unavailable: {error}"
            );
            eprintln!(
                "\n!!!!!!!! SKIPPED {test}: {error}\n\
                 !!!!!!!! (set AIDX_REQUIRE_REAL=1 to make this a failure)\n"
            );
            None
        }
    }
}
