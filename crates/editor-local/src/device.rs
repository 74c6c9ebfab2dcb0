//! Which memory a model's budget is held against: a configured `gpu.vram`, the free memory of the
//! GPU this build can run on, or the system's available RAM.
//!
//! A build without a GPU back-end never probes the GPU on the way to a model (it could not use
//! one): its behaviour and its needs are those of a CPU build, whatever card the machine has.
//! `aidx doctor` probes anyway, to say what a `--features cuda` build would use.

use aidx_gpu::{GpuDevice, ProbeError};

use crate::budget::{self, BudgetError, DeviceKind};

/// The GPU back-end this build's engines were compiled with (cargo features `cuda`, `metal`).
pub const GPU_BACKEND: Option<&str> = if cfg!(feature = "cuda") {
    Some("cuda")
} else if cfg!(feature = "metal") {
    Some("metal")
} else {
    None
};

/// The memory a budget is held against, and where the figure came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum DeviceMemory {
    /// `gpu.vram` (or `--vram`): the user's figure for the GPU.
    Configured {
        /// Bytes.
        bytes: u64,
    },
    /// Read from the GPU at run time: its **free** memory is the budget, not its total.
    Detected {
        /// The device and its memory.
        device: GpuDevice,
    },
    /// The CPU: MemAvailable.
    SystemRam {
        /// Bytes.
        bytes: u64,
        /// Why no GPU is used, when this build could have used one.
        no_gpu: Option<String>,
    },
}

impl DeviceMemory {
    /// GPU or CPU.
    pub fn kind(&self) -> DeviceKind {
        match self {
            DeviceMemory::Configured { .. } | DeviceMemory::Detected { .. } => DeviceKind::Gpu,
            DeviceMemory::SystemRam { .. } => DeviceKind::Cpu,
        }
    }

    /// The bytes to budget against.
    pub fn bytes(&self) -> u64 {
        match self {
            DeviceMemory::Configured { bytes } | DeviceMemory::SystemRam { bytes, .. } => *bytes,
            DeviceMemory::Detected { device } => device.free_bytes,
        }
    }

    /// What the figure is, for messages: `free memory of GPU 0 (NVIDIA …, 11.20 GiB of 12.00
    /// GiB free)`.
    pub fn describe(&self) -> String {
        match self {
            DeviceMemory::Configured { .. } => "GPU memory (gpu.vram)".into(),
            DeviceMemory::Detected { device } => format!(
                "free memory of GPU {} ({}, {} of {} free; the rest is in use by other processes)",
                device.index,
                device.name,
                budget::gib(device.free_bytes),
                budget::gib(device.total_bytes)
            ),
            DeviceMemory::SystemRam { no_gpu: None, .. } => "available system RAM".into(),
            DeviceMemory::SystemRam {
                no_gpu: Some(why), ..
            } => format!("available system RAM (no GPU used: {why})"),
        }
    }
}

/// The memory for a model: `configured` (gpu.vram) when set; otherwise, in a build with a GPU
/// back-end, the free memory of the first GPU; otherwise (or when no GPU can be read) system RAM.
pub fn resolve(configured: Option<u64>) -> Result<DeviceMemory, BudgetError> {
    resolve_with(
        configured,
        GPU_BACKEND.is_some(),
        aidx_gpu::first_device,
        budget::system_available_memory,
    )
}

/// [`resolve`] with its inputs given (tests).
pub fn resolve_with(
    configured: Option<u64>,
    gpu_backend: bool,
    probe: impl FnOnce() -> Result<GpuDevice, ProbeError>,
    ram: impl FnOnce() -> Result<u64, BudgetError>,
) -> Result<DeviceMemory, BudgetError> {
    if let Some(bytes) = configured {
        return Ok(DeviceMemory::Configured { bytes });
    }
    let no_gpu = if gpu_backend {
        match probe() {
            Ok(device) => return Ok(DeviceMemory::Detected { device }),
            Err(e) => {
                tracing::warn!("no GPU to run on, using the CPU: {e}");
                Some(e.to_string())
            }
        }
    } else {
        None
    };
    Ok(DeviceMemory::SystemRam {
        bytes: ram()?,
        no_gpu,
    })
}

/// Whether a model would run on a GPU under `configured` (chooses the engine before loading).
pub fn gpu_in_use(configured: Option<u64>) -> bool {
    configured.is_some() || (GPU_BACKEND.is_some() && aidx_gpu::first_device().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(free: u64) -> GpuDevice {
        GpuDevice {
            index: 0,
            name: "Test GPU".into(),
            uuid: "GPU-test".into(),
            driver: "1".into(),
            total_bytes: 12 << 30,
            free_bytes: free,
        }
    }

    #[test]
    fn configured_vram_wins_and_is_not_probed() {
        let m = resolve_with(
            Some(8 << 30),
            true,
            || panic!("probed"),
            || panic!("ram read"),
        )
        .unwrap();
        assert_eq!(m, DeviceMemory::Configured { bytes: 8 << 30 });
        assert_eq!((m.kind(), m.bytes()), (DeviceKind::Gpu, 8 << 30));
        assert_eq!(m.describe(), "GPU memory (gpu.vram)");
    }

    #[test]
    fn a_gpu_build_budgets_against_free_memory_not_total() {
        let m = resolve_with(None, true, || Ok(card(10 << 30)), || panic!("ram read")).unwrap();
        assert_eq!((m.kind(), m.bytes()), (DeviceKind::Gpu, 10 << 30));
        let text = m.describe();
        assert!(text.contains("free memory of GPU 0"), "{text}");
        assert!(text.contains("10.00 GiB of 12.00 GiB free"), "{text}");
    }

    #[test]
    fn a_cpu_build_never_probes() {
        let m = resolve_with(None, false, || panic!("probed"), || Ok(20 << 30)).unwrap();
        assert_eq!(
            m,
            DeviceMemory::SystemRam {
                bytes: 20 << 30,
                no_gpu: None
            }
        );
    }

    #[test]
    fn a_gpu_build_without_a_driver_falls_back_to_ram_and_says_why() {
        let m = resolve_with(
            None,
            true,
            || {
                Err(ProbeError::NoLibrary {
                    tried: vec!["libnvidia-ml.so.1".into()],
                    detail: "not found".into(),
                })
            },
            || Ok(20 << 30),
        )
        .unwrap();
        assert_eq!((m.kind(), m.bytes()), (DeviceKind::Cpu, 20 << 30));
        match &m {
            DeviceMemory::SystemRam {
                no_gpu: Some(why), ..
            } => assert!(why.contains("no NVIDIA driver library"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Messages that name the device say why the GPU is not used.
        assert!(
            m.describe()
                .starts_with("available system RAM (no GPU used: no NVIDIA driver library"),
            "{}",
            m.describe()
        );
    }
}
