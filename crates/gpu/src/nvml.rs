//! NVML through `dlopen`: the nine functions aidx needs, resolved by name.

use std::ffi::{CStr, OsString, c_char, c_int, c_uint, c_void};

use libloading::Library;

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
type UuidFn = NameFn;
type MemoryFn = unsafe extern "C" fn(NvmlDevice, *mut NvmlMemory) -> c_int;

/// An initialised NVML: the library stays loaded and initialised until this is dropped, so
/// repeated reads (a sampler) cost a call each, not a `dlopen` and an init.
pub struct Nvml {
    shutdown: InitFn,
    error_string: ErrorStringFn,
    driver_version: DriverVersionFn,
    count: CountFn,
    handle: HandleFn,
    name: NameFn,
    uuid: UuidFn,
    memory: MemoryFn,
    /// Declared last: the function pointers above point into it.
    _library: Library,
}

impl Nvml {
    /// Opens the first library of `candidates` that loads, resolves every function (a library
    /// that is not NVML is refused before any call) and initialises NVML.
    pub(crate) fn open(candidates: &[OsString]) -> Result<Nvml, ProbeError> {
        let mut detail = String::from("nothing to try");
        for candidate in candidates {
            // SAFETY: loading runs the library's initialisers; NVML's (and the tests' fake's)
            // only set up its own state.
            match unsafe { Library::new(candidate) } {
                Ok(library) => return Self::init(library, &candidate.to_string_lossy()),
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

    fn init(library: Library, path: &str) -> Result<Nvml, ProbeError> {
        fn symbol<T: Copy>(
            library: &Library,
            name: &'static str,
            path: &str,
        ) -> Result<T, ProbeError> {
            // SAFETY: every `T` used here is the function type NVML's header declares for
            // `name`; the pointer is used only while `library` is loaded (`Nvml` owns it).
            unsafe { library.get::<T>(name.as_bytes()) }
                .map(|s| *s)
                .map_err(|_| ProbeError::MissingSymbol {
                    library: path.to_string(),
                    symbol: name,
                })
        }
        let init: InitFn = symbol(&library, "nvmlInit_v2", path)?;
        let error_string: ErrorStringFn = symbol(&library, "nvmlErrorString", path)?;
        let shutdown: InitFn = symbol(&library, "nvmlShutdown", path)?;
        let driver_version = symbol(&library, "nvmlSystemGetDriverVersion", path)?;
        let count = symbol(&library, "nvmlDeviceGetCount_v2", path)?;
        let handle = symbol(&library, "nvmlDeviceGetHandleByIndex_v2", path)?;
        let name = symbol(&library, "nvmlDeviceGetName", path)?;
        let uuid = symbol(&library, "nvmlDeviceGetUUID", path)?;
        let memory = symbol(&library, "nvmlDeviceGetMemoryInfo", path)?;
        // SAFETY: NVML's contract: init before any other call. Only a successful init makes an
        // `Nvml`, whose `Drop` shuts down once.
        let code = unsafe { init() };
        if code != NVML_SUCCESS {
            return Err(error_from(error_string, "nvmlInit_v2", code));
        }
        Ok(Nvml {
            shutdown,
            error_string,
            driver_version,
            count,
            handle,
            name,
            uuid,
            memory,
            _library: library,
        })
    }

    fn error(&self, call: &'static str, code: c_int) -> ProbeError {
        error_from(self.error_string, call, code)
    }

    fn check(&self, call: &'static str, code: c_int) -> Result<(), ProbeError> {
        if code == NVML_SUCCESS {
            Ok(())
        } else {
            Err(self.error(call, code))
        }
    }

    /// Every device with its name, driver and memory now.
    pub(crate) fn devices(&self) -> Result<Vec<GpuDevice>, ProbeError> {
        let mut buffer = [0 as c_char; NAME_BUFFER];
        // SAFETY: buffers are as large as passed; NVML is initialised.
        self.check("nvmlSystemGetDriverVersion", unsafe {
            (self.driver_version)(buffer.as_mut_ptr(), NAME_BUFFER as c_uint)
        })?;
        let driver = string_from(&buffer);
        let mut n: c_uint = 0;
        // SAFETY: as above.
        self.check("nvmlDeviceGetCount_v2", unsafe { (self.count)(&mut n) })?;
        let mut devices = Vec::with_capacity(n as usize);
        for index in 0..n {
            let device = self.device(index)?;
            let mut buffer = [0 as c_char; NAME_BUFFER];
            // SAFETY: a handle from nvmlDeviceGetHandleByIndex_v2; buffer sized as passed.
            self.check("nvmlDeviceGetName", unsafe {
                (self.name)(device, buffer.as_mut_ptr(), NAME_BUFFER as c_uint)
            })?;
            let name = string_from(&buffer);
            // SAFETY: as above.
            self.check("nvmlDeviceGetUUID", unsafe {
                (self.uuid)(device, buffer.as_mut_ptr(), NAME_BUFFER as c_uint)
            })?;
            let (total_bytes, free_bytes) = self.memory_of(device)?;
            devices.push(GpuDevice {
                index,
                uuid: string_from(&buffer),
                name,
                driver: driver.clone(),
                total_bytes,
                free_bytes,
            });
        }
        if devices.is_empty() {
            return Err(ProbeError::NoDevice);
        }
        Ok(devices)
    }

    /// The device aidx runs the model on ([`crate::first_device`]).
    pub fn first_device(&self) -> Result<GpuDevice, ProbeError> {
        crate::select_first(self.devices()?)
    }

    /// Device `index`'s total and free memory now, bytes.
    pub fn memory(&self, index: u32) -> Result<(u64, u64), ProbeError> {
        self.memory_of(self.device(index)?)
    }

    fn device(&self, index: u32) -> Result<NvmlDevice, ProbeError> {
        let mut device: NvmlDevice = std::ptr::null_mut();
        // SAFETY: NVML is initialised; the out-pointer is valid.
        self.check("nvmlDeviceGetHandleByIndex_v2", unsafe {
            (self.handle)(index, &mut device)
        })?;
        Ok(device)
    }

    fn memory_of(&self, device: NvmlDevice) -> Result<(u64, u64), ProbeError> {
        let mut info = NvmlMemory::default();
        // SAFETY: a handle from nvmlDeviceGetHandleByIndex_v2; the struct is NVML's v1 layout.
        self.check("nvmlDeviceGetMemoryInfo", unsafe {
            (self.memory)(device, &mut info)
        })?;
        // A driver mid-update can report free above total; never budget beyond it.
        Ok((info.total, info.free.min(info.total)))
    }
}

impl Drop for Nvml {
    fn drop(&mut self) {
        // SAFETY: initialised in `init` (an `Nvml` exists only then); shut down once, here.
        // Shutdown's own status cannot change anything read.
        let _ = unsafe { (self.shutdown)() };
    }
}

/// NVML's error for `code` from `call`, with `nvmlErrorString`'s message.
fn error_from(error_string: ErrorStringFn, call: &'static str, code: c_int) -> ProbeError {
    // SAFETY: nvmlErrorString returns a static NUL-terminated string (or null) for any code.
    let message = unsafe {
        let p = error_string(code);
        if p.is_null() {
            "unknown error".to_string()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    ProbeError::Nvml {
        call,
        code,
        message,
    }
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
