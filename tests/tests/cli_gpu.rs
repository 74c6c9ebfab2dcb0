//! `aidx doctor` and `aidx budget` about the GPU, through the binary: a driver read through a
//! fake NVML library (compiled from crates/gpu/tests/fake-nvml.c), no driver at all, and a model
//! that does not fit a card whole.

use std::path::{Path, PathBuf};
use std::process::Command;

use aidx_e2e::{TempRepo, aidx, texts};

fn fake_nvml(dir: &Path, defines: &[&str]) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/gpu/tests/fake-nvml.c");
    let out = dir.join("libnvidia-ml.so.1");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&source)
        .args(defines.iter().map(|d| format!("-D{d}")))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(status.success());
    out
}

fn doctor(repo: &TempRepo, nvml: &Path) -> (String, String) {
    doctor_seeing(repo, nvml, None)
}

fn doctor_seeing(repo: &TempRepo, nvml: &Path, visible: Option<&str>) -> (String, String) {
    let mut command = aidx(&repo.root, &repo.home);
    match visible {
        Some(v) => command.env("CUDA_VISIBLE_DEVICES", v),
        None => command.env_remove("CUDA_VISIBLE_DEVICES"),
    };
    let output = command
        .env("AIDX_NVML_LIBRARY", nvml)
        .args(["doctor", "--model", "smollm2-135m-instruct"])
        .output()
        .expect("run aidx doctor");
    assert!(output.status.success(), "{:?}", texts(&output));
    texts(&output)
}

#[test]
fn doctor_names_the_gpu_its_free_memory_and_what_this_build_does_with_it() {
    let repo = TempRepo::with_files(&[("README.md", "x\n")]);
    let lib = fake_nvml(&repo.home, &[]);
    let (out, _) = doctor(&repo, &lib);
    assert!(
        out.contains("GPU: GPU 0 Fake GPU 0 (driver 550.54.15): 10.00 GiB free of 12.00 GiB"),
        "{out}"
    );
    // The tests build the CPU binary (README's command); a `--features cuda` build says cuda.
    if out.contains("GPU back-end in this build: none (CPU build)") {
        assert!(out.contains("this aidx cannot use it"), "{out}");
        assert!(out.contains("--features cuda"), "{out}");
    } else {
        assert!(out.contains("GPU back-end in this build: cuda"), "{out}");
        assert!(!out.contains("this aidx cannot use it"), "{out}");
    }
}

#[test]
fn doctor_marks_the_gpu_cuda_visible_devices_names() {
    let repo = TempRepo::with_files(&[("README.md", "x\n")]);
    let lib = fake_nvml(&repo.home, &["FAKE_DEVICES=2"]);
    let (out, _) = doctor_seeing(&repo, &lib, Some("1"));
    assert!(
        out.contains("GPU: GPU 1 Fake GPU 1 (driver 550.54.15): 9.00 GiB free of 12.00 GiB ← the one aidx budgets"),
        "{out}"
    );
    assert!(
        !out.contains("Fake GPU 0 (driver 550.54.15): 10.00 GiB free of 12.00 GiB ←"),
        "{out}"
    );
    let (out, _) = doctor_seeing(&repo, &lib, Some("GPU-nope"));
    assert!(
        out.contains("CUDA_VISIBLE_DEVICES names `GPU-nope`"),
        "{out}"
    );
}

#[test]
fn doctor_without_a_driver_says_so_and_the_editor_stays_on_the_cpu() {
    let repo = TempRepo::with_files(&[("README.md", "x\n")]);
    let (out, _) = doctor(&repo, &repo.home.join("libnvidia-ml.so.1"));
    assert!(
        out.contains("GPU: none read — no NVIDIA driver library found"),
        "{out}"
    );
    // The editor model is SmolLM2: without it (a machine that skipped the model download) the
    // preflight refuses, which CI does not allow.
    if out.contains("editor preflight: ok") || aidx_e2e::require_real() {
        assert!(out.contains("will run on the CPU"), "{out}");
        assert!(
            out.contains("budgeted against available system RAM"),
            "{out}"
        );
    }
}

#[test]
fn budget_proposes_the_layers_to_keep_on_a_card_too_small() {
    let models = aidx_e2e::models_dir();
    let header = models.join("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.part0000.gguf");
    if !header.is_file() {
        assert!(!aidx_e2e::require_real(), "{} missing", header.display());
        eprintln!(
            "SKIPPED: {} missing; run scripts/setup.sh",
            header.display()
        );
        return;
    }
    let repo = TempRepo::with_files(&[("README.md", "x\n")]);
    let header = header.to_str().unwrap();
    let args = [
        "budget",
        "--model",
        header,
        "--vram",
        "4GiB",
        "--engine",
        "llama-cpp",
    ];
    let (out, _) = texts(&repo.run(&args));
    assert!(out.contains("fits: NO"), "{out}");
    assert!(
        out.contains("offload: keep 21 of 29 layers on the GPU (llama.cpp n_gpu_layers = 21)"),
        "{out}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let output = repo.run(&json_args);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let plan = &value["offload"];
    assert_eq!(plan["gpu_layers"], 21);
    assert_eq!(plan["offloadable"], 29);
    let side = |s: &str| -> u64 {
        ["weights_bytes", "kv_bytes", "overhead_bytes"]
            .iter()
            .map(|k| plan[s][k].as_u64().unwrap())
            .sum()
    };
    assert!(side("gpu") <= 4 << 30);
    // Every weight on one side or the other.
    assert_eq!(
        plan["gpu"]["weights_bytes"].as_u64().unwrap()
            + plan["cpu"]["weights_bytes"].as_u64().unwrap(),
        value["weights_bytes"].as_u64().unwrap()
    );
    // A card that holds it whole has no split.
    let (big, _) = texts(&repo.run(&[
        "budget",
        "--model",
        header,
        "--vram",
        "24GiB",
        "--engine",
        "llama-cpp",
    ]));
    assert!(
        big.contains("fits: yes") && !big.contains("offload:"),
        "{big}"
    );
}
