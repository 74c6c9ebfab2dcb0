//! The NVML probe against fake driver libraries compiled from `tests/fake-nvml.c` with the
//! system C compiler: the real dlopen, symbol lookup and calls, on a machine without a GPU.

use std::path::{Path, PathBuf};
use std::process::Command;

use aidx_gpu::{ProbeError, probe_library};

/// Builds the fake library with `defines` into `dir`; the C compiler is the one the llama.cpp
/// build already requires (`cc`, or `$CC`).
fn fake_library(dir: &Path, name: &str, source: &Path, defines: &[&str]) -> PathBuf {
    let out = dir.join(format!("lib{name}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(source)
        .args(defines.iter().map(|d| format!("-D{d}")))
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run the C compiler `{cc}` (scripts/setup.sh installs it): {e}")
        });
    assert!(status.success(), "{cc} failed building {name}");
    out
}

fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-nvml.c")
}

#[test]
fn reads_every_device_with_free_and_total_memory() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(
        dir.path(),
        "two",
        &source(),
        &[
            "FAKE_DEVICES=2",
            "FAKE_TOTAL=(24ULL<<30)",
            "FAKE_FREE=(20ULL<<30)",
        ],
    );
    let devices = probe_library(&lib).expect("the fake driver answers");
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].index, 0);
    assert_eq!(devices[0].name, "Fake GPU 0");
    assert_eq!(devices[0].driver, "550.54.15");
    assert_eq!(devices[0].total_bytes, 24 << 30);
    assert_eq!(devices[0].free_bytes, 20 << 30);
    assert_eq!(devices[1].name, "Fake GPU 1");
    assert_eq!(devices[1].free_bytes, 19 << 30);
    let shown = devices[0].to_string();
    assert!(shown.contains("20.00 GiB free of 24.00 GiB"), "{shown}");
}

#[test]
fn free_memory_is_never_reported_above_total() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(
        dir.path(),
        "odd",
        &source(),
        &["FAKE_TOTAL=(8ULL<<30)", "FAKE_FREE=(9ULL<<30)"],
    );
    let devices = probe_library(&lib).unwrap();
    assert_eq!(devices[0].free_bytes, 8 << 30);
}

#[test]
fn a_driver_with_no_device_is_no_device() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(dir.path(), "none", &source(), &["FAKE_DEVICES=0"]);
    assert_eq!(probe_library(&lib), Err(ProbeError::NoDevice));
}

#[test]
fn an_init_failure_names_the_call_and_nvmls_message() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(dir.path(), "noinit", &source(), &["FAKE_INIT_RESULT=9"]);
    let err = probe_library(&lib).unwrap_err();
    assert_eq!(
        err,
        ProbeError::Nvml {
            call: "nvmlInit_v2",
            code: 9,
            message: "Driver Not Loaded".into()
        }
    );
    assert!(err.to_string().contains("gpu.vram"), "{err}");
}

#[test]
fn a_failure_after_init_still_shuts_nvml_down() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(dir.path(), "nomem", &source(), &["FAKE_MEMORY_RESULT=999"]);
    let err = probe_library(&lib).unwrap_err();
    assert!(
        matches!(&err, ProbeError::Nvml { call: "nvmlDeviceGetMemoryInfo", code: 999, message } if message == "Unknown Error"),
        "{err:?}"
    );
    // The library stays loaded in this process (glibc keeps a refcount); ask it directly whether
    // every init was matched by a shutdown.
    let library = unsafe { libloading::Library::new(&lib) }.unwrap();
    let open: libloading::Symbol<unsafe extern "C" fn() -> i32> =
        unsafe { library.get(b"fake_open_inits") }.unwrap();
    assert_eq!(unsafe { open() }, 0);
}

#[test]
fn a_library_that_is_not_nvml_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.c");
    std::fs::write(&empty, "int not_nvml(void) { return 0; }\n").unwrap();
    let lib = fake_library(dir.path(), "notnvml", &empty, &[]);
    let err = probe_library(&lib).unwrap_err();
    assert!(
        matches!(
            &err,
            ProbeError::MissingSymbol {
                symbol: "nvmlInit_v2",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("AIDX_NVML_LIBRARY"), "{err}");
}

#[test]
fn no_library_is_a_clear_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("libnvidia-ml.so.1");
    let err = probe_library(&missing).unwrap_err();
    match &err {
        ProbeError::NoLibrary { tried, detail } => {
            assert_eq!(tried, &[missing.display().to_string()]);
            assert!(!detail.is_empty());
        }
        other => panic!("expected NoLibrary, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("install the NVIDIA driver"), "{message}");
    assert!(message.contains("gpu.vram"), "{message}");
}

#[test]
fn an_open_session_reads_memory_repeatedly_and_shuts_down_once() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(dir.path(), "session", &source(), &["FAKE_DEVICES=2"]);
    let nvml = aidx_gpu::open_library(&lib).unwrap();
    for _ in 0..100 {
        assert_eq!(nvml.memory(1).unwrap(), (12 << 30, 9 << 30));
    }
    assert!(matches!(
        nvml.memory(2),
        Err(ProbeError::Nvml {
            call: "nvmlDeviceGetHandleByIndex_v2",
            ..
        })
    ));
    let library = unsafe { libloading::Library::new(&lib) }.unwrap();
    let open: libloading::Symbol<unsafe extern "C" fn() -> i32> =
        unsafe { library.get(b"fake_open_inits") }.unwrap();
    assert_eq!(unsafe { open() }, 1, "initialised while the session lives");
    drop(nvml);
    assert_eq!(unsafe { open() }, 0, "shut down when it is dropped");
}

#[test]
fn cuda_visible_devices_picks_the_device_cuda_calls_0() {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake_library(dir.path(), "visible", &source(), &["FAKE_DEVICES=2"]);
    let devices = probe_library(&lib).unwrap();
    assert_eq!(devices[1].uuid, "GPU-fake-1");
    let pick = |v: Option<&str>| aidx_gpu::select_visible(devices.clone(), v);
    assert_eq!(pick(None).unwrap().index, 0);
    assert_eq!(pick(Some("")).unwrap().index, 0);
    assert_eq!(pick(Some("1")).unwrap().index, 1);
    assert_eq!(pick(Some("1,0")).unwrap().index, 1);
    assert_eq!(pick(Some("GPU-fake-1")).unwrap().index, 1);
    assert_eq!(pick(Some("GPU-fake-0,GPU-fake-1")).unwrap().index, 0);
    let err = pick(Some("7")).unwrap_err();
    assert_eq!(err, ProbeError::NotVisible("7".into()));
    assert!(err.to_string().contains("nvidia-smi -L"), "{err}");
}
