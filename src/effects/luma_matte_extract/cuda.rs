//! Luma Matte Extract on CUDA: the same render as the CPU one (`super::render`), with the host's
//! images in device memory and one kernel launch on the host's stream — no pixel crosses to the
//! host. The kernel is `crates/gpu/kernels/luma_matte.cu`, the twin of `imaging::extract_matte`.

use gpu::ops::{luma_matte, place_plane};
use imaging::Rect;
use ofx::{gpu_error, CudaRender, Error, Instance, MessageKind, RenderArgs, Result};

use super::{Settings, MATTE, OUTPUT, SOURCE};

pub(super) fn render(fx: &Instance, args: &RenderArgs, cuda: &CudaRender) -> Result<()> {
    let settings = Settings::read(fx, args.time)?;
    let device = cuda.device()?;
    let output = fx.required_clip(OUTPUT)?.image(args.time)?.ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
    let out = output.device_image()?;
    let source = fx.required_clip(SOURCE)?.image(args.time)?;
    let source = source.as_ref().map(|s| s.device_image()).transpose()?;
    let matte = match settings.use_matte_input {
        true => fx.clip(MATTE).map(|c| c.image(settings.matte_time(args.time))).transpose()?.flatten(),
        false => None,
    };
    let matte_image = matte.as_ref().map(|m| m.device_image()).transpose()?;
    // As on the CPU: a missing matte passes the source through, a missing source is transparent black.
    let copy_source = |source: Option<&gpu::ops::DeviceImage>| place_plane(&device, &out, args.window, source, 0, Rect::default(), None);
    let launched = match (source, settings.use_matte_input, matte_image) {
        (source, true, None) => {
            fx.persistent_message(
                MessageKind::Warning,
                &format!(
                    "Luma Matte Extract: Use Matte Input is on but the Matte input has no image at frame {}. \
                     Connect a matte (check Matte Frame Offset) or turn Use Matte Input off; the source passes through unchanged.",
                    settings.matte_time(args.time)
                ),
            );
            copy_source(source.as_ref())
        }
        (None, _, _) => {
            fx.clear_persistent_message();
            copy_source(None)
        }
        (Some(source), _, matte) => {
            fx.clear_persistent_message();
            let Settings { channel, levels, output: mode, .. } = settings;
            luma_matte(&device, &out, args.window, &source, matte.as_ref(), channel, levels, mode)
        }
    };
    launched.map_err(gpu_error)?;
    cuda.finish(&device)
}
