//! Which GPU the machine has and how much of its memory is free, read at run time.
//!
//! The memory budget (weights + KV cache + overhead) is only as good as the device figure it is
//! held against. A configured `gpu.vram` is the card's size, but a desktop's card already holds
//! the compositor, a browser, another model: what a new model can use is the **free** memory, so
//! that is what [`probe`] reports next to the total.
//!
//! NVIDIA: NVML (`libnvidia-ml.so.1`, installed with the driver, not the CUDA toolkit) is opened
//! with `dlopen` on each probe and closed after it. Nothing links against it, so a CPU build and
//! a machine without a driver need nothing: the probe answers [`ProbeError::NoLibrary`] and the
//! caller falls back to the CPU. `AIDX_NVML_LIBRARY` names another file (an unusual install, or
//! the tests' fake library).
//!
//! Apple: not read yet (the recommended working set needs Metal); [`probe`] says so and the user
//! sets `gpu.vram`.

mod nvml;

pub use nvml::Nvml;

use std::fmt;

/// The environment variable that names the NVML library to open instead of the driver's.
pub const NVML_LIBRARY_ENV: &str = "AIDX_NVML_LIBRARY";

/// The file names tried, in order, when [`NVML_LIBRARY_ENV`] is unset.
#[cfg(windows)]
pub const NVML_LIBRARY_NAMES: &[&str] = &["nvml.dll"];
/// The file names tried, in order, when [`NVML_LIBRARY_ENV`] is unset.
#[cfg(not(windows))]
pub const NVML_LIBRARY_NAMES: &[&str] = &["libnvidia-ml.so.1", "libnvidia-ml.so"];

/// One GPU as its driver reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GpuDevice {
    /// The driver's index (NVML's order, which is CUDA's PCI-bus order unless
    /// `CUDA_DEVICE_ORDER`/`CUDA_VISIBLE_DEVICES` reorder it).
    pub index: u32,
    /// `NVIDIA GeForce RTX 4070`.
    pub name: String,
    /// `GPU-8f3c…`, the id `CUDA_VISIBLE_DEVICES` may name it by.
    pub uuid: String,
    /// The driver's version string.
    pub driver: String,
    /// The card's memory, bytes.
    pub total_bytes: u64,
    /// Memory no process holds now, bytes: what a new model can use.
    pub free_bytes: u64,
}

impl fmt::Display for GpuDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GPU {} {} (driver {}): {:.2} GiB free of {:.2} GiB",
            self.index,
            self.name,
            self.driver,
            gib(self.free_bytes),
            gib(self.total_bytes)
        )
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// Why no device could be read. Each says what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No NVML library could be opened: no NVIDIA driver on this machine (or not on the loader's
    /// path).
    #[error(
        "no NVIDIA driver library found (tried {}: {detail}); without it aidx cannot read a GPU — install the NVIDIA driver, set {NVML_LIBRARY_ENV} to libnvidia-ml's path, or set gpu.vram",
        tried.join(", ")
    )]
    NoLibrary {
        /// The names or paths tried.
        tried: Vec<String>,
        /// The loader's message for the last one.
        detail: String,
    },
    /// The library opened but lacks a function aidx calls: not NVML, or a very old one.
    #[error(
        "{library} has no `{symbol}`: it is not the NVIDIA driver's NVML library (or a driver older than 2016); point {NVML_LIBRARY_ENV} at libnvidia-ml.so.1 or set gpu.vram"
    )]
    MissingSymbol {
        /// The library opened.
        library: String,
        /// The function missing.
        symbol: &'static str,
    },
    /// NVML answered an error.
    #[error("NVML {call} failed: {message} (code {code}); check `nvidia-smi`, or set gpu.vram")]
    Nvml {
        /// The NVML function.
        call: &'static str,
        /// `nvmlReturn_t`.
        code: i32,
        /// `nvmlErrorString`.
        message: String,
    },
    /// The driver is there but reports no device.
    #[error("the NVIDIA driver reports no GPU")]
    NoDevice,
    /// `CUDA_VISIBLE_DEVICES` names a device the driver does not report.
    #[error(
        "CUDA_VISIBLE_DEVICES names `{0}`, which the NVIDIA driver does not report (see `nvidia-smi -L`); fix it or set gpu.vram"
    )]
    NotVisible(String),
    /// This platform's GPUs are not read by aidx.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// Every GPU of this machine with its free and total memory.
///
/// Opens NVML (see the crate docs), reads, and closes it again; a few milliseconds once the
/// driver is loaded.
pub fn probe() -> Result<Vec<GpuDevice>, ProbeError> {
    open()?.devices()
}

/// Like [`probe`], from one given library file (tests, diagnostics).
pub fn probe_library(path: &std::path::Path) -> Result<Vec<GpuDevice>, ProbeError> {
    Nvml::open(&[path.as_os_str().to_owned()])?.devices()
}

/// The device aidx runs the model on: the engines' device 0, which is the first entry of
/// `CUDA_VISIBLE_DEVICES` when it is set (an index or a `GPU-…` UUID), else NVML's first device.
///
/// NVML numbers devices in PCI bus order, CUDA fastest first unless
/// `CUDA_DEVICE_ORDER=PCI_BUS_ID`: on a machine with different GPUs, name the one to use in
/// `CUDA_VISIBLE_DEVICES` (or set `gpu.vram`).
pub fn first_device() -> Result<GpuDevice, ProbeError> {
    open()?.first_device()
}

/// Among `devices`, the one this process's `CUDA_VISIBLE_DEVICES` makes CUDA's device 0.
pub fn select_first(devices: Vec<GpuDevice>) -> Result<GpuDevice, ProbeError> {
    select_visible(
        devices,
        std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref(),
    )
}

/// The device `cuda_visible_devices` makes CUDA's device 0, among `devices`.
pub fn select_visible(
    devices: Vec<GpuDevice>,
    cuda_visible_devices: Option<&str>,
) -> Result<GpuDevice, ProbeError> {
    let first = cuda_visible_devices
        .map(|v| v.split(',').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty());
    let Some(wanted) = first else {
        return devices.into_iter().next().ok_or(ProbeError::NoDevice);
    };
    let found = match wanted.parse::<u32>() {
        Ok(index) => devices.into_iter().find(|d| d.index == index),
        // CUDA accepts a unique prefix of the UUID.
        Err(_) => devices.into_iter().find(|d| d.uuid.starts_with(wanted)),
    };
    found.ok_or_else(|| ProbeError::NotVisible(wanted.to_string()))
}

/// NVML, opened and initialised until the value is dropped: for reading a device's memory
/// many times (`aidx doctor --stress` samples it every few milliseconds).
pub fn open() -> Result<Nvml, ProbeError> {
    if cfg!(target_os = "macos") {
        return Err(ProbeError::Unsupported(
            "aidx does not read Apple GPUs' memory yet; set gpu.vram to the memory the model may use (about two thirds of unified memory)",
        ));
    }
    match std::env::var_os(NVML_LIBRARY_ENV) {
        Some(path) if !path.is_empty() => Nvml::open(&[path]),
        _ => Nvml::open(
            &NVML_LIBRARY_NAMES
                .iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>(),
        ),
    }
}

/// [`open`] on one given library file (tests).
pub fn open_library(path: &std::path::Path) -> Result<Nvml, ProbeError> {
    Nvml::open(&[path.as_os_str().to_owned()])
}
