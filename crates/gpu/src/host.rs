//! The host side of a CUDA render, for the headless host's `resolve-cuda` profile (tests,
//! benchmarks, `deepmatte render --profile resolve-cuda`): what Resolve does around a plugin's CUDA
//! render — a current context, a stream, packed RGBA f32 device images, and the output read back
//! once the stream has finished. These copies are the host's, not the plugin's.

use std::ffi::c_void;

use cudarc::driver::{result, sys};

use crate::exec::GpuError;
use crate::nvrtc::guard;

fn driver<T>(what: &str, f: impl FnOnce() -> Result<T, result::DriverError>) -> Result<T, GpuError> {
    match guard(what, f)? {
        Ok(v) => Ok(v),
        Err(result::DriverError(sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY)) => Err(GpuError::OutOfMemory),
        Err(e) => Err(GpuError::Failed(format!("{what}: {:?}", e.0))),
    }
}

/// Device 0's primary context and a stream of it, as a CUDA host holds them.
pub struct HostCuda {
    dev: sys::CUdevice,
    ctx: sys::CUcontext,
    stream: sys::CUstream,
}

// The handles are process-wide driver objects; the driver allows their use from any thread.
unsafe impl Send for HostCuda {}
unsafe impl Sync for HostCuda {}

impl HostCuda {
    /// Device 0, or why there is none ("no CUDA driver", "CUDA_ERROR_NO_DEVICE", …).
    pub fn new() -> Result<HostCuda, GpuError> {
        if !crate::device::driver_present() {
            return Err(GpuError::Unavailable("no CUDA driver (libcuda.so.1 not found)".into()));
        }
        driver("cuInit", result::init)?;
        if driver("cuDeviceGetCount", result::device::get_count)? < 1 {
            return Err(GpuError::Unavailable("no CUDA device".into()));
        }
        let dev = driver("cuDeviceGet", || result::device::get(0))?;
        // A device from cuDeviceGet; released in Drop.
        let ctx = driver("cuDevicePrimaryCtxRetain", || unsafe { result::primary_ctx::retain(dev) })?;
        let host = HostCuda { dev, ctx, stream: std::ptr::null_mut() };
        host.make_current()?;
        let stream = driver("cuStreamCreate", || result::stream::create(result::stream::StreamKind::NonBlocking))?;
        Ok(HostCuda { stream, ..host })
    }

    /// Makes the context current on this thread, as Resolve has it on its render threads.
    pub fn make_current(&self) -> Result<(), GpuError> {
        // Our retained primary context.
        driver("cuCtxSetCurrent", || unsafe { result::ctx::set_current(self.ctx) })
    }

    /// The stream handed to the plugin as `kOfxImageEffectPropCudaStream`.
    pub fn stream(&self) -> u64 {
        self.stream as u64
    }

    /// A device buffer holding `bytes`.
    pub fn upload(&self, bytes: &[u8]) -> Result<u64, GpuError> {
        self.make_current()?;
        let ptr = driver("cuMemAlloc", || unsafe { result::malloc_sync(bytes.len().max(16)) })?;
        // A fresh allocation of at least bytes.len().
        driver("cuMemcpyHtoD", || unsafe { result::memcpy_htod_sync(ptr, bytes) })?;
        Ok(ptr)
    }

    /// Waits for the stream, then copies `out.len()` bytes back from `ptr`.
    pub fn download(&self, ptr: u64, out: &mut [u8]) -> Result<(), GpuError> {
        self.make_current()?;
        // Our own stream; the plugin enqueued its render on it.
        driver("cuStreamSynchronize", || unsafe { result::stream::synchronize(self.stream) })?;
        // `ptr` came from upload() with at least out.len() bytes.
        driver("cuMemcpyDtoH", || unsafe { result::memcpy_dtoh_sync(out, ptr) })
    }

    /// Frees a buffer from [`HostCuda::upload`] (after the stream is done with it).
    pub fn free(&self, ptr: u64) -> Result<(), GpuError> {
        // From upload(); the caller has downloaded (synchronised) first.
        driver("cuMemFree", || unsafe { result::free_sync(ptr) })
    }

    /// The device's name and compute capability, for reports.
    pub fn describe(&self) -> String {
        let name = driver("cuDeviceGetName", || result::device::get_name(self.dev)).unwrap_or_default();
        format!("{name} (device 0, context {:p})", self.ctx as *const c_void)
    }
}

impl Drop for HostCuda {
    fn drop(&mut self) {
        if !self.stream.is_null() {
            // Our stream, idle after the last download.
            let _ = driver("cuStreamDestroy", || unsafe { result::stream::destroy(self.stream) });
        }
        // Retained in new().
        let _ = driver("cuDevicePrimaryCtxRelease", || unsafe { result::primary_ctx::release(self.dev) });
    }
}
