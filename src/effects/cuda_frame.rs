//! What every one-source CUDA render starts with: the host's device output and source images, and
//! the two frames that need no work (no source: transparent black; an empty source: passed
//! through), finished here so each effect's render goes straight to its pixels.

use gpu::ops::{place_plane, DeviceImage};
use gpu::Device;
use imaging::Rect;
use ofx::{gpu_error, CudaRender, Error, Image, Instance, RenderArgs, Result};

/// The images of one CUDA render. The two `Image`s are the host's handles: bind them for the
/// whole render (a `_name`, not `_`), since releasing one lets the host free its memory.
pub(super) struct CudaFrame {
    pub device: Device,
    /// The output's device memory, and its handle.
    pub out: DeviceImage,
    pub output: Image,
    /// The source's device memory (never empty), and its handle.
    pub src: DeviceImage,
    pub source: Image,
}

impl CudaFrame {
    /// The frame to render, or None when this render is already done (a missing or empty source).
    pub fn open(fx: &Instance, args: &RenderArgs, cuda: &CudaRender, output_clip: &str, source_clip: &str) -> Result<Option<CudaFrame>> {
        let device = cuda.device()?;
        let output = fx.required_clip(output_clip)?.image(args.time)?.ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
        let out = output.device_image()?;
        let Some(source) = fx.required_clip(source_clip)?.image(args.time)? else {
            place_plane(&device, &out, args.window, None, 0, Rect::default(), None).map_err(gpu_error)?;
            cuda.finish(&device)?;
            return Ok(None);
        };
        let src = source.device_image()?;
        if src.bounds.is_empty() {
            // Nothing to matte (a 0×0 or inside-out source): the output is the empty source.
            place_plane(&device, &out, args.window, Some(&src), 0, Rect::default(), None).map_err(gpu_error)?;
            cuda.finish(&device)?;
            return Ok(None);
        }
        Ok(Some(CudaFrame { device, out, output, src, source }))
    }
}
