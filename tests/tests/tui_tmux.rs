//! Interactive mode through the real binary in a real terminal: tmux runs `aidx` on a fixture
//! repository whose Editor is a scripted OpenAI-compatible server, and `send-keys` types.
//!
//! - a request, one hunk accepted and one rejected: the commit holds exactly the accepted hunk
//!   and the working tree is as chosen; input-to-screen latency is measured while text streams;
//! - Ctrl-C during generation, then `/undo`, then `/quit`: the request stops, the last aidx
//!   commit is reverted, and the terminal is restored (alternate screen off, status 0);
//! - with the embedded SmolLM2 (when cached): `/ask` streams a real reply and the gauges move.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aidx_e2e::{ScriptedServer, TempRepo, aidx_bin, require_real};

fn numbered(n: usize) -> String {
    (1..=n).map(|i| format!("x{i} = {i}\n")).collect()
}

const PLAN: &str = "# Plan\n\n## Goal\n\nRenumber x2 and x18.\n\n## Steps\n\n1. In nums.py set x2 to 200 and x18 to 1800.\n\n## Files\n\n- `nums.py` — two values change\n";
const REPLY: &str = "nums.py\n<<<<<<< SEARCH\nx2 = 2\n=======\nx2 = 200\n>>>>>>> REPLACE\n\nnums.py\n<<<<<<< SEARCH\nx18 = 18\n=======\nx18 = 1800\n>>>>>>> REPLACE\n";

/// A tmux server of its own (`-L`), one session running aidx.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `aidx` in `repo` at `width`×`height`, in a clean environment; after aidx exits the
    /// pane prints `AIDX-EXIT=<status>` and stays.
    fn start(root: &Path, home: &Path, width: u16, height: u16, name: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(!require_real(), "tmux is missing and AIDX_REQUIRE_REAL=1");
            eprintln!("SKIPPED: tmux is not installed");
            return None;
        }
        let socket = format!("aidx-test-{}-{name}", std::process::id());
        let models = aidx_e2e::models_dir().display().to_string();
        let shell = format!(
            "env -i PATH='{}' HOME='{}' TERM=xterm-256color NO_COLOR=1 EDITOR=true AIDX_MODELS_DIR='{}' OMP_WAIT_POLICY=PASSIVE '{}'; echo AIDX-EXIT=$?; sleep 60",
            std::env::var("PATH").unwrap_or_default(),
            home.display(),
            models,
            aidx_bin().display()
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "aidx",
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg("-c")
            .arg(root)
            .arg(shell)
            .status()
            .expect("run tmux");
        assert!(status.success());
        Some(Tmux { socket })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "aidx"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "aidx"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "aidx", "-l", text]);
    }

    fn wait_for(&self, what: &str, timeout: Duration) -> String {
        self.wait_polling(what, timeout, Duration::from_millis(20))
    }

    fn wait_polling(&self, what: &str, timeout: Duration, every: Duration) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            if started.elapsed() > timeout {
                panic!("`{what}` did not appear within {timeout:?}; the screen:\n{screen}");
            }
            std::thread::sleep(every);
        }
    }

    /// Saves the screen as `name.txt` under `AIDX_SCREENS_DIR`, when set (README's captures).
    fn save(&self, name: &str) {
        if let Ok(dir) = std::env::var("AIDX_SCREENS_DIR") {
            std::fs::write(Path::new(&dir).join(format!("{name}.txt")), self.screen()).unwrap();
        }
    }

    /// Waits until aidx is idle (model loaded), then types `line` and checks it is in the input
    /// line before pressing Enter.
    fn submit(&self, line: &str) {
        self.wait_for("● Editor", Duration::from_secs(120));
        self.type_text(line);
        self.wait_for(line, Duration::from_secs(5));
        self.keys(&["Enter"]);
    }

    fn alternate_screen(&self) -> bool {
        self.tmux(&["display", "-p", "-t", "aidx", "#{alternate_on}"])
            .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn fixture(server: &ScriptedServer) -> TempRepo {
    let repo = TempRepo::with_files(&[("nums.py", &numbered(20))]);
    std::fs::write(
        repo.root.join(".aidx.yml"),
        format!(
            "fully-local: true\nmax-reflections: 0\neditor:\n  provider: openai-compatible\n  model: scripted\n  base-url: \"{}\"\n  timeout-secs: 30\n",
            server.base_url
        ),
    )
    .unwrap();
    // The fixture's own files are committed, so only aidx's edits show up as changes.
    git(&repo.root, &["add", ".aidx.yml"]);
    git(&repo.root, &["commit", "-qm", "config"]);
    repo
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@localhost"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn a_request_accepting_one_hunk_and_rejecting_another_commits_exactly_that_hunk() {
    // The plan streams slowly (the local model plans in fully-local mode), which is when the
    // input latency is measured; the edit comes at once.
    let server = ScriptedServer::start_paced(
        vec![
            (
                // About 10 s of streaming: the latency keys must land before the review
                // starts, or they would act as review keys, even on a loaded machine.
                format!("{PLAN}{}", " ".repeat(2400)),
                Duration::from_millis(15),
            ),
            (REPLY.to_string(), Duration::ZERO),
        ],
        Duration::ZERO,
    );
    let repo = fixture(&server);
    let Some(tmux) = Tmux::start(&repo.root, &repo.home, 120, 40, "hunks") else {
        return;
    };
    tmux.wait_for("Conversation", Duration::from_secs(20));
    assert!(tmux.alternate_screen());
    tmux.submit("Renumber x2 and x18");
    tmux.wait_for("you:", Duration::from_secs(20));

    // While the plan streams: type a character, time until it is on the screen.
    tmux.wait_for("## Goal", Duration::from_secs(20));
    tmux.save("streaming");
    let mut latencies = Vec::new();
    for c in ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p"] {
        let marker = format!("ZZ{c}");
        let started = Instant::now();
        tmux.type_text(&marker);
        // Polled every millisecond: the figure is the screen's, not the poll's.
        tmux.wait_polling(&marker, Duration::from_secs(5), Duration::from_millis(1));
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        tmux.keys(&["C-u"]);
        std::thread::sleep(Duration::from_millis(30));
    }
    let still_streaming = !tmux.screen().contains("Review 1/2");
    assert!(
        still_streaming,
        "the keys were typed while the plan streamed"
    );
    eprintln!(
        "input-to-screen latency while streaming: median {:.1} ms, max {:.1} ms over {} keys (stream still running at the end: {still_streaming})",
        median(latencies.clone()),
        latencies.iter().cloned().fold(0.0, f64::max),
        latencies.len()
    );
    if let Ok(path) = std::env::var("AIDX_LATENCY_OUT") {
        let line: Vec<String> = latencies.iter().map(|l| format!("{l:.2}")).collect();
        std::fs::write(path, line.join("\n") + "\n").unwrap();
    }

    tmux.wait_for("Review 1/2", Duration::from_secs(60));
    tmux.save("review");
    tmux.keys(&["y"]);
    tmux.wait_for("Review 2/2", Duration::from_secs(5));
    tmux.keys(&["n"]);
    tmux.wait_for("Commit?", Duration::from_secs(5));
    tmux.save("confirm");
    tmux.keys(&["Enter"]);
    tmux.wait_for("committed ", Duration::from_secs(20));
    tmux.save("committed");

    let committed = git(&repo.root, &["show", "HEAD:nums.py"]);
    assert!(committed.contains("x2 = 200\n"), "{committed}");
    assert!(
        committed.contains("x18 = 18\n"),
        "the rejected hunk is not committed"
    );
    assert_eq!(
        std::fs::read_to_string(repo.root.join("nums.py")).unwrap(),
        committed,
        "rejected hunks discarded: the working tree is the commit"
    );
    let message = git(&repo.root, &["log", "-1", "--format=%B"]);
    assert!(message.contains("Aidx-Run:"), "{message}");

    tmux.type_text("/quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("AIDX-EXIT=0", Duration::from_secs(10));
    assert!(!tmux.alternate_screen(), "the terminal is restored");
}

#[test]
fn ctrl_c_during_generation_then_undo_then_quit() {
    let server = ScriptedServer::start_paced(
        vec![
            (PLAN.to_string(), Duration::ZERO),
            (REPLY.to_string(), Duration::ZERO),
            // The second request's plan streams for a long time.
            (
                "# Plan\n\n".to_string() + &"thinking ".repeat(2000),
                Duration::from_millis(10),
            ),
        ],
        Duration::ZERO,
    );
    let repo = fixture(&server);
    let before = git(&repo.root, &["rev-parse", "HEAD"]);
    let Some(tmux) = Tmux::start(&repo.root, &repo.home, 100, 30, "ctrlc") else {
        return;
    };
    tmux.wait_for("Conversation", Duration::from_secs(20));
    tmux.submit("Renumber x2 and x18");
    tmux.wait_for("Review 1/2", Duration::from_secs(30));
    tmux.keys(&["a"]);
    tmux.wait_for("Commit?", Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    tmux.wait_for("committed ", Duration::from_secs(20));
    let after_first = git(&repo.root, &["rev-parse", "HEAD"]);
    assert_ne!(after_first, before);

    tmux.submit("Now renumber everything else");
    tmux.wait_for("thinking thinking", Duration::from_secs(20));
    let started = Instant::now();
    tmux.keys(&["C-c"]);
    tmux.wait_for("cancelled", Duration::from_secs(5));
    eprintln!(
        "Ctrl-C to the cancelled panel: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let requests = server.requests();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.requests(), requests, "nothing more is asked");
    assert_eq!(git(&repo.root, &["rev-parse", "HEAD"]), after_first);
    tmux.keys(&["Escape"]); // closes the error panel

    tmux.submit("/undo");
    tmux.wait_for("undid", Duration::from_secs(10));
    assert_eq!(git(&repo.root, &["rev-parse", "HEAD"]), before);
    assert_eq!(
        std::fs::read_to_string(repo.root.join("nums.py")).unwrap(),
        numbered(20)
    );

    tmux.type_text("/quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("AIDX-EXIT=0", Duration::from_secs(10));
    assert!(!tmux.alternate_screen(), "the terminal is restored");
    let transcript = std::fs::read_to_string(repo.root.join(".aidx/transcript.md")).unwrap();
    assert!(
        transcript.contains("Now renumber everything else"),
        "{transcript}"
    );
}

#[test]
fn outside_a_repository_interactive_mode_says_why_it_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let Some(tmux) = Tmux::start(dir.path(), home.path(), 100, 30, "outside") else {
        return;
    };
    let screen = tmux.wait_for("AIDX-EXIT=1", Duration::from_secs(20));
    assert!(screen.contains("git init"), "{screen}");
    assert!(!tmux.alternate_screen());
}

#[test]
fn without_a_terminal_interactive_mode_says_what_to_do() {
    let repo = TempRepo::with_files(&[("a.txt", "a\n")]);
    let out = repo.run(&[]);
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("aidx run -m"), "{stderr}");
}

#[test]
fn a_conversation_with_the_embedded_model_streams_and_moves_the_gauges() {
    let repo = TempRepo::with_files(&[("calc.py", "def add(a, b):\n    return a + b\n")]);
    if !aidx_e2e::smollm2_cached(&repo) {
        return;
    }
    std::fs::write(
        repo.root.join(".aidx.yml"),
        "editor: { max-tokens: 48, context: 2048 }\n",
    )
    .unwrap();
    let Some(tmux) = Tmux::start(&repo.root, &repo.home, 120, 40, "smollm2") else {
        return;
    };
    tmux.wait_for("Conversation", Duration::from_secs(20));
    tmux.submit("/add calc.py");
    let screen = tmux.screen();
    assert!(screen.contains("ctx 0/"), "{screen}");
    assert!(
        !screen.contains("mem n/a"),
        "the budget gauge shows the loaded model:\n{screen}"
    );
    tmux.submit("/ask What does add return?");
    tmux.wait_for("Editor:", Duration::from_secs(120));
    // The reply is done when the conversation gauge has counted it.
    let started = Instant::now();
    let screen = loop {
        let screen = tmux.screen();
        if !screen.contains("ctx 0/") && screen.contains("● Editor") {
            break screen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the gauge did not move:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let reply: String = screen
        .lines()
        .skip_while(|l| !l.contains("Editor:"))
        .skip(1)
        .take(3)
        .collect();
    assert!(
        reply.chars().filter(|c| c.is_alphanumeric()).count() > 3,
        "a streamed reply is on the screen:\n{screen}"
    );
    tmux.type_text("/quit");
    tmux.keys(&["Enter"]);
    tmux.wait_for("AIDX-EXIT=0", Duration::from_secs(20));
}
