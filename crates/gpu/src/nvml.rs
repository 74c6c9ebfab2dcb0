//! NVML through `dlopen`: the eight functions aidx needs, resolved by name.

use std::ffi::{CStr, OsString, c_char, c_int, c_uint, c_void};

use libloading::{Library, Symbol};

use crate::{GpuDevice, ProbeError};

/// `nvmlReturn_t`'s success.
const NVML_SUCCESS: c_int = 0;
/// Buffer sizes NVML documents for names and versions (`NVML_DEVICE_NAME_V2_BUFFER_SIZE`,
/// `NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE`), rounded up.
const NAME_BUFFER: usize = 96;

/// `nvmlMemory_t` (v1): total, free, used, in bytes.
#[repr(C)]
#[derive(Default)]
struct NvmlMemory {
    total: u64,
    free: u64,
    /// Part of the C layout; aidx budgets against `free`.
    #[allow(dead_code)]
    used: u64,
}

type NvmlDevice = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;
type DriverVersionFn = unsafe extern "C" fn(*mut c_char, c_uint) -> c_int;
type CountFn = unsafe extern "C" fn(*mut c_uint) -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut NvmlDevice) -> c_int;
type NameFn = unsafe extern "C" fn(NvmlDevice, *mut c_char, c_uint) -> c_int;
type MemoryFn = unsafe extern "C" fn(NvmlDevice, *mut NvmlMemory) -> c_int;

/// Opens the first library of `candidates` that loads and reads every device.
pub(crate) fn probe(candidates: &[OsString]) -> Result<Vec<GpuDevice>, ProbeError> {
    let mut detail = String::from("nothing to try");
    for candidate in candidates {
        // SAFETY: loading runs the library's initialisers; NVML's (and the fake's in the tests)
        // only set up its own state.
        match unsafe { Library::new(candidate) } {
            Ok(library) => {
                return read(&library, &candidate.to_string_lossy());
            }
            Err(e) => detail = e.to_string(),
        }
    }
    Err(ProbeError::NoLibrary {
        tried: candidates
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect(),
        detail,
    })
}

struct Api<'l> {
    error_string: Symbol<'l, ErrorStringFn>,
    shutdown: Symbol<'l, InitFn>,
}

impl Api<'_> {
    fn check(&self, call: &'static str, code: c_int) -> Result<(), ProbeError> {
        if code == NVML_SUCCESS {
            return Ok(());
        }
        // SAFETY: nvmlErrorString returns a static NUL-terminated string (or null) for any code.
        let message = unsafe {
            let p = (self.error_string)(code);
            if p.is_null() {
                "unknown error".to_string()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        Err(ProbeError::Nvml {
            call,
            code,
            message,
        })
    }
}

fn symbol<'l, T>(
    library: &'l Library,
    name: &'static str,
    path: &str,
) -> Result<Symbol<'l, T>, ProbeError> {
    // SAFETY: every `T` used here is the function type NVML's header declares for `name`.
    unsafe { library.get::<T>(name.as_bytes()) }.map_err(|_| ProbeError::MissingSymbol {
        library: path.to_string(),
        symbol: name,
    })
}

/// A NUL-terminated string NVML wrote into `buffer`.
fn string_from(buffer: &[c_char]) -> String {
    let bytes: Vec<u8> = buffer
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}

fn read(library: &Library, path: &str) -> Result<Vec<GpuDevice>, ProbeError> {
    // Resolve everything first: a library that is not NVML is refused before any call.
    let init: Symbol<InitFn> = symbol(library, "nvmlInit_v2", path)?;
    let api = Api {
        error_string: symbol(library, "nvmlErrorString", path)?,
        shutdown: symbol(library, "nvmlShutdown", path)?,
    };
    let driver_version: Symbol<DriverVersionFn> =
        symbol(library, "nvmlSystemGetDriverVersion", path)?;
    let count: Symbol<CountFn> = symbol(library, "nvmlDeviceGetCount_v2", path)?;
    let handle: Symbol<HandleFn> = symbol(library, "nvmlDeviceGetHandleByIndex_v2", path)?;
    let name: Symbol<NameFn> = symbol(library, "nvmlDeviceGetName", path)?;
    let memory: Symbol<MemoryFn> = symbol(library, "nvmlDeviceGetMemoryInfo", path)?;

    // SAFETY: the calls below follow NVML's contract: init before use, buffers sized as passed,
    // handles only from nvmlDeviceGetHandleByIndex_v2, shutdown once per successful init.
    unsafe {
        api.check("nvmlInit_v2", init())?;
        let devices = (|| {
            let mut buffer = [0 as c_char; NAME_BUFFER];
            api.check(
                "nvmlSystemGetDriverVersion",
                driver_version(buffer.as_mut_ptr(), NAME_BUFFER as c_uint),
            )?;
            let driver = string_from(&buffer);
            let mut n: c_uint = 0;
            api.check("nvmlDeviceGetCount_v2", count(&mut n))?;
            let mut devices = Vec::with_capacity(n as usize);
            for index in 0..n {
                let mut device: NvmlDevice = std::ptr::null_mut();
                api.check("nvmlDeviceGetHandleByIndex_v2", handle(index, &mut device))?;
                let mut buffer = [0 as c_char; NAME_BUFFER];
                api.check(
                    "nvmlDeviceGetName",
                    name(device, buffer.as_mut_ptr(), NAME_BUFFER as c_uint),
                )?;
                let mut info = NvmlMemory::default();
                api.check("nvmlDeviceGetMemoryInfo", memory(device, &mut info))?;
                devices.push(GpuDevice {
                    index,
                    name: string_from(&buffer),
                    driver: driver.clone(),
                    total_bytes: info.total,
                    // A driver mid-update can report free above total; never budget beyond it.
                    free_bytes: info.free.min(info.total),
                });
            }
            Ok(devices)
        })();
        // Shutdown's own status cannot change what was read.
        let _ = (api.shutdown)();
        let devices = devices?;
        if devices.is_empty() {
            return Err(ProbeError::NoDevice);
        }
        Ok(devices)
    }
}
