//! CUDA render (OpenFX 1.5, as DaVinci Resolve does it): when the host sets
//! `kOfxImageEffectPropCudaEnabled` = 1 on a render, every image's data pointer is device memory
//! and the work goes on the host's `kOfxImageEffectPropCudaStream`.
//!
//! An effect is declared CUDA-capable (`OfxImageEffectPropCudaRenderSupported` and
//! `…CudaStreamSupported` = "true") only when it has a CUDA render ([`crate::Effect::CUDA`]) and the
//! self-test at Load passed ([`gpu::probe`]: driver, device ≥ sm_75, pinned NVRTC, every kernel
//! compiled, one launch equal to the CPU's). Otherwise nothing is declared, the reason is logged,
//! and hosts keep handing CPU images. `DEEPMATTE_CUDA=0` turns the path off.

use std::cell::Cell;
use std::sync::OnceLock;

use gpu::{Device, GpuError, Probe};

use crate::{Error, Status};

static SUPPORT: OnceLock<Probe> = OnceLock::new();

/// Runs the self-test once per process (at Load; the result holds until Unload ends the process's
/// use of the binary). NVRTC is looked for next to the plugin binary and in the user's data folder.
pub(crate) fn init() -> &'static Probe {
    SUPPORT.get_or_init(|| {
        let dir = crate::plugin_binary_path().and_then(|p| p.parent().map(|d| d.to_path_buf()));
        let nvrtc = gpu::nvrtc::library_dir(dir.as_deref());
        let probe = gpu::probe(nvrtc.as_deref());
        match &probe {
            Probe::Ready { name, cc, nvrtc } => {
                log::info!("CUDA render available: {name}, sm_{}{}, NVRTC {}.{}, kernels {}", cc.0, cc.1, nvrtc.0, nvrtc.1, &gpu::kernels::source_hash()[..16])
            }
            Probe::Off(why) => log::info!("CUDA render not declared: {why}"),
        }
        probe
    })
}

/// The self-test's outcome (runs it if Load has not).
pub fn support() -> &'static Probe {
    init()
}

/// One line for an effect's Status: where the kernels run, or why the CPU does the work.
pub fn status_line() -> String {
    match support() {
        Probe::Ready { cc, .. } => format!("kernels: CUDA sm_{}{} on the host's stream when the host renders on CUDA", cc.0, cc.1),
        Probe::Off(why) => format!("kernels: CPU ({why})"),
    }
}

thread_local! {
    /// Set while a CUDA render runs on this thread: image data is device memory then, so the CPU
    /// views must not be built over it.
    static DEVICE_IMAGES: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn device_images() -> bool {
    DEVICE_IMAGES.with(Cell::get)
}

/// Runs `f` with [`device_images`] set.
pub(crate) fn with_device_images<T>(f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            DEVICE_IMAGES.with(|d| d.set(false));
        }
    }
    DEVICE_IMAGES.with(|d| d.set(true));
    let _reset = Reset;
    f()
}

/// What a CUDA render gets: the host's stream (0 when the host gave none).
#[derive(Clone, Copy, Debug)]
pub struct CudaRender {
    pub(crate) stream: u64,
}

impl CudaRender {
    /// Kernels on the host's current context and stream.
    pub fn device(&self) -> crate::Result<Device> {
        Device::current(self.stream).map_err(gpu_error)
    }

    /// Ends the render: with a host stream nothing waits (the host orders its own work after
    /// ours); without one, OFX requires the work finished on return, so this stream is waited for.
    pub fn finish(&self, device: &Device) -> crate::Result<()> {
        if self.stream == 0 {
            device.finish().map_err(gpu_error)?;
        }
        Ok(())
    }
}

/// A GPU failure as the host should see it: out of memory → `kOfxStatGPUOutOfMemory` (the host
/// may free memory and retry), anything else → `kOfxStatGPURenderFailed` (the host retries on the CPU).
pub fn gpu_error(e: GpuError) -> Error {
    let status = match e {
        GpuError::OutOfMemory => Status::GPU_OUT_OF_MEMORY,
        _ => Status::GPU_RENDER_FAILED,
    };
    Error::new(status, e.to_string())
}
