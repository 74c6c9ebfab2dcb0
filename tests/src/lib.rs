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
    let models = std::env::var("AIDX_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/aidx/models")
        });
    cmd.env("AIDX_MODELS_DIR", models);
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

/// Whether tests that need real models must fail (CI) instead of skipping.
pub fn require_real() -> bool {
    std::env::var("AIDX_REQUIRE_REAL").as_deref() == Ok("1")
}
