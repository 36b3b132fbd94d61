//! The CUDA driver: finding a usable device (the Load-time self-test) and running kernels on the
//! host's context and stream ([`Device`]).
//!
//! Every driver call is behind `is_culib_present()` (no `libcuda.so.1`: no call at all) and inside
//! `catch_unwind` (cudarc panics on a symbol an older driver lacks). The host's context is used as
//! it is current on the render thread: never created, destroyed or made current here, except the
//! device's primary context during the self-test, restored after.

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use cudarc::driver::{result, sys};

use crate::exec::{Arg, Exec, GpuError, Grid};
use crate::kernels::Family;
use crate::nvrtc::guard;

/// Turing: the oldest architecture CUDA 13 and TensorRT 10 support.
pub const MIN_COMPUTE_CAPABILITY: (u32, u32) = (7, 5);

/// The outcome of [`probe`]: the device the plugin will declare CUDA render for, or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Everything passed: device 0's name and compute capability, and the NVRTC version.
    Ready { name: String, cc: (u32, u32), nvrtc: (i32, i32) },
    /// Why the CUDA path is off, in words for a log and a Status line ("no CUDA driver", …).
    Off(String),
}

pub(crate) fn driver<T>(what: &str, f: impl FnOnce() -> Result<T, result::DriverError>) -> Result<T, GpuError> {
    match guard(what, f)? {
        Ok(v) => Ok(v),
        Err(result::DriverError(sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY)) => Err(GpuError::OutOfMemory),
        // The code only: formatting a DriverError calls cuGetErrorString, which a stand-in or old
        // driver may lack (a panic outside the guard).
        Err(e) => Err(GpuError::Failed(format!("{what}: {:?}", e.0))),
    }
}

/// Whether a CUDA driver library can be loaded at all (no driver call is made otherwise).
pub fn driver_present() -> bool {
    // Only tries to dlopen libcuda by its names; a panic would mean no library.
    guard("libcuda", || unsafe { sys::is_culib_present() }).unwrap_or(false)
}

/// The Load-time self-test: a driver, a device of compute capability ≥ 7.5, the pinned NVRTC found
/// in `nvrtc_dir`, every kernel family compiled for the device, and one small launch
/// (Luma Matte Extract on a 5×3 image) equal to the CPU's. `DEEPMATTE_CUDA=0` turns it all off.
pub fn probe(nvrtc_dir: Option<&Path>) -> Probe {
    if std::env::var("DEEPMATTE_CUDA").is_ok_and(|v| v.trim() == "0") {
        return Probe::Off("CUDA turned off by DEEPMATTE_CUDA=0".into());
    }
    match probe_inner(nvrtc_dir) {
        Ok(ready) => ready,
        Err(e) => Probe::Off(match e {
            GpuError::Unavailable(why) | GpuError::Failed(why) => why,
            GpuError::OutOfMemory => "the GPU is out of memory".into(),
        }),
    }
}

fn probe_inner(nvrtc_dir: Option<&Path>) -> Result<Probe, GpuError> {
    if !driver_present() {
        return Err(GpuError::Unavailable("no CUDA driver (libcuda.so.1 not found)".into()));
    }
    driver("cuInit", result::init).map_err(|e| GpuError::Unavailable(format!("the CUDA driver does not start: {e}")))?;
    let count = driver("cuDeviceGetCount", result::device::get_count)?;
    if count < 1 {
        return Err(GpuError::Unavailable("no CUDA device".into()));
    }
    let dev = driver("cuDeviceGet", || result::device::get(0))?;
    let cc = compute_capability(dev)?;
    if cc < MIN_COMPUTE_CAPABILITY {
        return Err(GpuError::Unavailable(format!("the GPU is sm_{}{}; the CUDA path needs sm_75 (Turing) or newer", cc.0, cc.1)));
    }
    let name = driver("cuDeviceGetName", || result::device::get_name(dev))?;
    let dir = nvrtc_dir.ok_or_else(|| GpuError::Unavailable("NVRTC 13.0 not installed (run the GPU runtime installer)".into()))?;
    let nvrtc = crate::nvrtc::load(dir)?;
    for family in Family::ALL {
        crate::cache::ptx(family, cc, nvrtc)?;
    }
    self_test(dev, cc, nvrtc)?;
    Ok(Probe::Ready { name, cc, nvrtc })
}

fn compute_capability(dev: sys::CUdevice) -> Result<(u32, u32), GpuError> {
    use sys::CUdevice_attribute::{CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR as MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR as MINOR};
    // `dev` came from cuDeviceGet.
    let major = driver("cuDeviceGetAttribute", || unsafe { result::device::get_attribute(dev, MAJOR) })?;
    let minor = driver("cuDeviceGetAttribute", || unsafe { result::device::get_attribute(dev, MINOR) })?;
    Ok((major.max(0) as u32, minor.max(0) as u32))
}

/// Runs Luma Matte Extract on a 5×3 image in device 0's primary context and compares it with
/// imaging's, then restores the thread's context.
fn self_test(dev: sys::CUdevice, cc: (u32, u32), nvrtc: (i32, i32)) -> Result<(), GpuError> {
    let previous = driver("cuCtxGetCurrent", result::ctx::get_current)?;
    // Retained here and released below; the previous context is restored whatever happens.
    let primary = driver("cuDevicePrimaryCtxRetain", || unsafe { result::primary_ctx::retain(dev) })?;
    let outcome = driver("cuCtxSetCurrent", || unsafe { result::ctx::set_current(primary) }).and_then(|_| {
        let device = Device::on_current(0, cc, nvrtc)?;
        let run = crate::selftest::run(&device);
        let sync = device.finish();
        device.unload();
        run.and(sync)
    });
    let restore = driver("cuCtxSetCurrent", || unsafe { result::ctx::set_current(previous.unwrap_or(std::ptr::null_mut())) });
    let release = driver("cuDevicePrimaryCtxRelease", || unsafe { result::primary_ctx::release(dev) });
    outcome.and(restore).and(release)
}

/// Host↔device copies of frame-sized data made by this process ([`Device::read_back`]). A CUDA
/// render makes none: the plugin exports this so the headless host can check it stays 0.
static FRAME_COPIES: AtomicU64 = AtomicU64::new(0);

/// See [`FRAME_COPIES`].
pub fn frame_copies() -> u64 {
    FRAME_COPIES.load(Ordering::Relaxed)
}

/// The kernels loaded into one context, by family.
struct Modules(HashMap<Family, usize>);

/// Modules per context (contexts and modules are process-wide driver handles).
static MODULES: Mutex<Vec<(usize, Modules)>> = Mutex::new(Vec::new());

/// Kernels on the context current on this thread, enqueued on one stream of it.
pub struct Device {
    ctx: usize,
    stream: sys::CUstream,
    cc: (u32, u32),
    nvrtc: (i32, i32),
    ordinal: i32,
}

/// The plugin's own stream per context (ONNX Runtime's compute stream), created once and kept for
/// the life of the process: a session is built for one stream.
static SIDE_STREAMS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// The plugin's stream of context `ctx`, if one was made.
pub(crate) fn side_stream_of(ctx: usize) -> Option<u64> {
    SIDE_STREAMS.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(c, _)| *c == ctx).map(|(_, s)| *s as u64)
}

/// The context current on this thread when it was made, made current again when dropped: around
/// ONNX Runtime calls, which may switch the thread to the device's primary context.
pub struct KeepContext(Option<sys::CUcontext>);

impl KeepContext {
    /// Remembers the current context (none without a driver).
    pub fn new() -> KeepContext {
        KeepContext(if driver_present() { driver("cuCtxGetCurrent", result::ctx::get_current).ok().flatten() } else { None })
    }
}

impl Default for KeepContext {
    fn default() -> Self {
        KeepContext::new()
    }
}

impl Drop for KeepContext {
    fn drop(&mut self) {
        if let Some(ctx) = self.0 {
            // The host's context, current when this guard was made and alive for the render.
            if let Err(e) = driver("cuCtxSetCurrent", || unsafe { result::ctx::set_current(ctx) }) {
                log::warn!("restoring the host's CUDA context: {e}");
            }
        }
    }
}

impl Device {
    /// The current context (the host's, on a render thread) and `stream` (the host's
    /// `kOfxImageEffectPropCudaStream`, 0 for the default stream). Fails without a current context
    /// or when the stream belongs to another context.
    pub fn current(stream: u64) -> Result<Device, GpuError> {
        if !driver_present() {
            return Err(GpuError::Unavailable("no CUDA driver".into()));
        }
        let mut dev: sys::CUdevice = 0;
        // An out-parameter; fails without a current context.
        driver("cuCtxGetDevice", || unsafe { sys::cuCtxGetDevice(&mut dev).result() })?;
        let cc = compute_capability(dev)?;
        let nvrtc = crate::nvrtc::loaded_or_load()?;
        if stream != 0 {
            let current = driver("cuCtxGetCurrent", result::ctx::get_current)?;
            let mut owner: sys::CUcontext = std::ptr::null_mut();
            // The host's stream handle; the driver only reads it.
            driver("cuStreamGetCtx", || unsafe { sys::cuStreamGetCtx(stream as sys::CUstream, &mut owner).result() })?;
            if current != Some(owner) {
                return Err(GpuError::Failed("the host's CUDA stream belongs to another context than the current one".into()));
            }
        }
        let mut device = Device::on_current(stream, cc, nvrtc)?;
        device.ordinal = dev;
        Ok(device)
    }

    fn on_current(stream: u64, cc: (u32, u32), nvrtc: (i32, i32)) -> Result<Device, GpuError> {
        let ctx = driver("cuCtxGetCurrent", result::ctx::get_current)?.ok_or_else(|| GpuError::Failed("no CUDA context is current on this thread".into()))?;
        Ok(Device { ctx: ctx as usize, stream: stream as sys::CUstream, cc, nvrtc, ordinal: 0 })
    }

    /// Makes this device's context (the host's) current on the calling thread again: inside an
    /// ONNX Runtime call, which may have switched the thread to the primary context.
    pub fn make_current(&self) -> Result<(), GpuError> {
        // The host's context, current when this Device was made and alive for the render.
        driver("cuCtxSetCurrent", || unsafe { result::ctx::set_current(self.ctx as sys::CUcontext) })
    }

    /// The context (the host's), as a number: what device buffers and caches belong to.
    pub fn context(&self) -> usize {
        self.ctx
    }

    /// The stream kernels are enqueued on (the host's; 0 for the default stream).
    pub fn stream(&self) -> u64 {
        self.stream as u64
    }

    /// The device's ordinal (ONNX Runtime's `device_id`).
    pub fn ordinal(&self) -> i32 {
        self.ordinal
    }

    /// The plugin's own non-blocking stream in this context (created on first use, kept): ONNX
    /// Runtime's compute stream, ordered against the host's with [`Device::order`].
    pub fn side_stream(&self) -> Result<u64, GpuError> {
        let mut all = SIDE_STREAMS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, s)) = all.iter().find(|(c, _)| *c == self.ctx) {
            return Ok(*s as u64);
        }
        let stream = driver("cuStreamCreate", || result::stream::create(result::stream::StreamKind::NonBlocking))?;
        all.push((self.ctx, stream as usize));
        Ok(stream as u64)
    }

    /// Makes stream `to` wait for everything enqueued on stream `from` so far, through an event:
    /// no host thread waits. Both are streams of this context (0: the default stream).
    pub fn order(&self, from: u64, to: u64) -> Result<(), GpuError> {
        let event = driver("cuEventCreate", || result::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING))?;
        // The event was just made; both streams belong to the current context. Destroying an
        // event whose wait is enqueued is allowed: the driver releases it once it completes.
        let enqueued = driver("cuEventRecord", || unsafe { result::event::record(event, from as sys::CUstream) })
            .and_then(|_| driver("cuStreamWaitEvent", || unsafe { result::stream::wait_event(to as sys::CUstream, event, sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT) }));
        let destroyed = driver("cuEventDestroy", || unsafe { result::event::destroy(event) });
        enqueued.and(destroyed)
    }

    /// Enqueues a device-to-device copy of `bytes` on this device's stream.
    pub fn copy(&self, dst: u64, src: u64, bytes: usize) -> Result<(), GpuError> {
        // Both are device buffers of at least `bytes`, alive until the stream reaches the copy
        // (the caller orders any other stream's use of them with `order`).
        driver("cuMemcpyDtoDAsync", || unsafe { result::memcpy_dtod_async(dst, src, bytes, self.stream) })
    }

    /// The compute capability kernels were compiled for.
    pub fn compute_capability(&self) -> (u32, u32) {
        self.cc
    }

    /// Waits for this device's stream: only where the host gave no stream (the OFX rule: then the
    /// work must be finished on return), and in the self-test. Never a device-wide synchronise.
    pub fn finish(&self) -> Result<(), GpuError> {
        // A stream of the current context (or the default stream).
        driver("cuStreamSynchronize", || unsafe { sys::cuStreamSynchronize(self.stream).result() })
    }

    fn function(&self, kernel: &'static str) -> Result<sys::CUfunction, GpuError> {
        let family = Family::of(kernel).ok_or_else(|| GpuError::Failed(format!("no kernel named {kernel}")))?;
        let mut all = MODULES.lock().unwrap_or_else(|p| p.into_inner());
        let index = match all.iter().position(|(c, _)| *c == self.ctx) {
            Some(i) => i,
            None => {
                all.push((self.ctx, Modules(HashMap::new())));
                all.len() - 1
            }
        };
        let modules = &mut all[index].1 .0;
        let module = match modules.get(&family) {
            Some(&m) => m as sys::CUmodule,
            None => {
                let ptx = CString::new(crate::cache::ptx(family, self.cc, self.nvrtc)?).map_err(|_| GpuError::Failed("PTX with a NUL".into()))?;
                // A NUL-terminated PTX text, loaded into the current context.
                let m = driver("cuModuleLoadData", || unsafe { result::module::load_data(ptx.as_ptr() as *const c_void) })?;
                modules.insert(family, m as usize);
                m
            }
        };
        let name = CString::new(kernel).map_err(|_| GpuError::Failed("kernel name".into()))?;
        // `module` is loaded in this context and not unloaded while it is listed.
        driver("cuModuleGetFunction", || unsafe { result::module::get_function(module, name) })
    }

    /// Copies `len` f32 back from device memory after the stream's work: the self-test and the
    /// headless host's tests only; renders never read frames back.
    pub fn read_back(&self, ptr: u64, len: usize) -> Result<Vec<f32>, GpuError> {
        self.finish()?;
        FRAME_COPIES.fetch_add(1, Ordering::Relaxed);
        let mut out = vec![0.0f32; len];
        // `ptr` holds at least `len` f32 (the caller's buffer) and the stream is idle.
        driver("cuMemcpyDtoH", || unsafe { result::memcpy_dtoh_sync(&mut out, ptr) })?;
        Ok(out)
    }

    /// Unloads this context's modules (the self-test's context is released afterwards).
    fn unload(&self) {
        let mut all = MODULES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = all.iter().position(|(c, _)| *c == self.ctx) {
            for (_, m) in all.remove(i).1 .0 {
                // Loaded by function() in this context, which is current.
                let _ = driver("cuModuleUnload", || unsafe { result::module::unload(m as sys::CUmodule) });
            }
        }
    }
}

impl Exec for Device {
    fn alloc(&self, bytes: usize) -> Result<u64, GpuError> {
        // Stream-ordered allocation on the host's stream, freed in order on it.
        driver("cuMemAllocAsync", || unsafe { result::malloc_async(self.stream, bytes) })
    }

    fn free(&self, ptr: u64) -> Result<(), GpuError> {
        // `ptr` came from alloc() on this stream; later kernels on the stream are ordered after.
        driver("cuMemFreeAsync", || unsafe { result::free_async(ptr, self.stream) })
    }

    fn fill_bytes(&self, ptr: u64, value: u8, bytes: usize) -> Result<(), GpuError> {
        // `ptr` is a buffer of at least `bytes` from alloc().
        driver("cuMemsetD8Async", || unsafe { result::memset_d8_async(ptr, value, bytes, self.stream) })
    }

    fn upload(&self, ptr: u64, data: &[u8]) -> Result<(), GpuError> {
        // Small parameter blocks, ordered on this stream after the stream-ordered allocation of
        // `ptr` (a synchronous copy would run on the legacy default stream, unordered with it).
        // From pageable memory the driver stages `data` before returning, so it may go away.
        driver("cuMemcpyHtoDAsync", || unsafe { result::memcpy_htod_async(ptr, data, self.stream) })
    }

    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<(), GpuError> {
        // Ordered on this stream after the kernels that wrote `ptr` (a buffer of at least
        // `out.len()` bytes); the wait is this stream's, never the device's.
        driver("cuMemcpyDtoHAsync", || unsafe { result::memcpy_dtoh_async(out, ptr, self.stream) })?;
        self.finish()
    }

    fn launch(&self, kernel: &'static str, grid: Grid, args: &[Arg]) -> Result<(), GpuError> {
        let f = self.function(kernel)?;
        let mut values: Vec<u64> = args.iter().map(|a| a.slot()).collect();
        // cuLaunchKernel reads each parameter through its pointer, at the size of the kernel's C
        // parameter; every slot is 8 bytes holding the value little-endian (4-byte types in the
        // low half), and lives until the call returns (the driver copies parameters at launch).
        let mut params: Vec<*mut c_void> = values.iter_mut().map(|v| v as *mut u64 as *mut c_void).collect();
        let g = (grid.grid[0], grid.grid[1], grid.grid[2]);
        let b = (grid.block[0], grid.block[1], grid.block[2]);
        driver(kernel, || unsafe { result::launch_kernel(f, g, b, 0, self.stream, &mut params) })
    }
}
