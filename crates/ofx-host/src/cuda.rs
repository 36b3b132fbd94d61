//! The `resolve-cuda` profile's device side: one CUDA context and stream for the process (device
//! 0's primary context, as Resolve renders on it), device copies of the images a CUDA render
//! fetches, and the output read back after the stream has finished.

use std::sync::{Arc, Mutex, OnceLock};

use gpu::host::HostCuda;

use crate::image::{BitDepth, Components, Image};
use crate::objects::lock;

/// The process's CUDA device, or why there is none.
pub(crate) fn host() -> Result<&'static HostCuda, String> {
    static HOST: OnceLock<Result<HostCuda, String>> = OnceLock::new();
    HOST.get_or_init(|| HostCuda::new().map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

/// A device buffer of a render, and the host image to read it back into (the output only).
type DeviceBuffer = (u64, Option<Arc<Mutex<Image>>>);

/// The device images of one CUDA render: inputs uploaded when fetched, the output allocated when
/// fetched and read back into the host image by [`CudaFrames::finish`].
pub(crate) struct CudaFrames {
    pub host: &'static HostCuda,
    buffers: Mutex<Vec<DeviceBuffer>>,
}

impl CudaFrames {
    pub(crate) fn new(host: &'static HostCuda) -> CudaFrames {
        CudaFrames { host, buffers: Mutex::new(Vec::new()) }
    }

    /// The device pointer, bounds-packed row bytes of `image` in device memory: inputs carry their
    /// pixels, the output (`output` = the host image to read back into) starts as the host's.
    /// The image must be packed RGBA float, as CUDA hosts deliver.
    pub(crate) fn device_copy(&self, image: &Image, output: Option<Arc<Mutex<Image>>>) -> Result<(u64, isize), String> {
        if (image.depth(), image.components()) != (BitDepth::F32, Components::Rgba) || image.row_bytes() != (image.width() * 16) as isize {
            return Err(format!("resolve-cuda hands packed RGBA float images only, not {:?}", (image.depth(), image.components())));
        }
        let len = image.width() * image.height() * 16;
        let ptr = self.host.upload(&image.bytes()[..len]).map_err(|e| e.to_string())?;
        lock(&self.buffers).push((ptr, output));
        Ok((ptr, image.row_bytes()))
    }

    /// Waits for the stream, reads the output back, frees every device image of the render.
    pub(crate) fn finish(&self) -> Result<(), String> {
        let mut first_error = None;
        for (ptr, output) in lock(&self.buffers).drain(..) {
            if let Some(out) = output {
                let mut image = lock(&out);
                let len = image.width() * image.height() * 16;
                if let Err(e) = self.host.download(ptr, &mut image.bytes_mut()[..len]) {
                    first_error.get_or_insert(e.to_string());
                }
            }
            if let Err(e) = self.host.free(ptr) {
                first_error.get_or_insert(e.to_string());
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Converts an input for a CUDA render (hosts convert to the GPU format before upload).
pub(crate) fn as_rgba_f32(image: Image) -> Image {
    if (image.depth(), image.components()) == (BitDepth::F32, Components::Rgba) {
        image.with_positive_row_bytes()
    } else {
        image.converted(BitDepth::F32, Components::Rgba).with_positive_row_bytes()
    }
}
