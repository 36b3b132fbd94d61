//! Magic Mask on CUDA: the same render as the CPU one (`MagicMask::render`), with the host's
//! images in device memory. Which mask the frame shows, or why it has none, comes from the same
//! code ([`MagicMask::stored`], [`stored_mask`]); only the pixel work differs: the stored 16-bit
//! mask → coverage plane → frame size (bilinear) → Matte Finesse (Expand/Contract, Blur, Smart
//! Refine guided by the source device image) → Black Clip, White Clip, Invert → the View
//! (Overlay, Matte, Alpha over source) into the host's device output, all on the host's stream.
//! The kernels are the twins of the CPU path's (`crates/gpu/kernels`, tested against
//! `crates/imaging`).
//!
//! The mask itself is decoded on the CPU and uploaded: it comes from the store on disk (a PNG),
//! not from the host's frame, so no frame crosses between host and device (the plugin's
//! frame-copy counter stays at 0). The source never leaves the device.
//!
//! What needs a model stays on the CPU: Auto Subject (U²-Netp) and a frame Track on Render would
//! track (SAM 2.1 reads the clip's frames in host memory). For those this render returns
//! `kOfxStatGPURenderFailed`, and the host renders the frame on the CPU, as the OpenFX GPU render
//! spec asks (Depth Map does the same for Temporal Stability). Tracking from the buttons runs in
//! an action, never here.

use gpu::exec::Scratch;
use gpu::ops::{coverage_plane, finesse, levels_plane, place_plane, resize_plane};
use gpu::Exec;
use imaging::resize::Filter;
use imaging::Rect;
use ofx::{gpu_error, CudaRender, Error, Instance, MessageKind, RenderArgs, Result, Status};

use super::{frame_of, on_render, show_problem, stored_mask, view_mode, FrameMask, Look, MagicMask, Mode, Stored, OUTPUT, SOURCE};

pub(super) fn render(effect: &MagicMask, fx: &Instance, args: &RenderArgs, cuda: &CudaRender) -> Result<()> {
    let look = Look::read(fx, args.time)?;
    if look.mode == Mode::AutoSubject {
        return Err(on_the_cpu("Auto Subject runs U²-Netp, which runs on host images"));
    }
    let device = cuda.device()?;
    let output = fx.required_clip(OUTPUT)?.image(args.time)?.ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
    let out = output.device_image()?;
    let Some(source) = fx.required_clip(SOURCE)?.image(args.time)? else {
        place_plane(&device, &out, args.window, None, 0, Rect::default(), None).map_err(gpu_error)?;
        return cuda.finish(&device);
    };
    let src = source.device_image()?;
    let bounds = src.bounds;
    let (width, height) = (bounds.width(), bounds.height());
    if width == 0 || height == 0 {
        // Nothing to matte (a 0×0 or inside-out source): the output is the empty source.
        place_plane(&device, &out, args.window, Some(&src), 0, Rect::default(), None).map_err(gpu_error)?;
        return cuda.finish(&device);
    }
    let frame = frame_of(args.time);
    let FrameMask { mask, problem, stale } = match effect.stored(fx, &look, args.time, refuse_tracking)? {
        Stored::BadId(text) => {
            fx.persistent_message(MessageKind::Error, &text);
            // An empty plane: the matte is 0 everywhere.
            place_plane(&device, &out, args.window, Some(&src), 0, Rect::default(), Some(look.view)).map_err(gpu_error)?;
            return cuda.finish(&device);
        }
        Stored::In { folder, prompts } => stored_mask(folder.as_deref(), frame, &prompts, look.quality.size().model_name()),
    };

    let n = width * height;
    let plane = Scratch::new(&device, 4 * n).map_err(gpu_error)?;
    match &mask {
        Some(mask) => {
            let coverage = Scratch::new(&device, 2 * mask.coverage.len()).map_err(gpu_error)?;
            let bytes: Vec<u8> = mask.coverage.iter().flat_map(|c| c.to_le_bytes()).collect();
            device.upload(coverage.ptr, &bytes).map_err(gpu_error)?;
            if (mask.width, mask.height) == (width, height) {
                coverage_plane(&device, coverage.ptr, plane.ptr, n).map_err(gpu_error)?;
            } else {
                let stored = Scratch::new(&device, 4 * mask.coverage.len()).map_err(gpu_error)?;
                coverage_plane(&device, coverage.ptr, stored.ptr, mask.coverage.len()).map_err(gpu_error)?;
                resize_plane(&device, stored.ptr, (mask.width, mask.height), plane.ptr, (width, height), Filter::Bilinear).map_err(gpu_error)?;
            }
        }
        // Untracked or damaged: an empty matte, which finesse and Invert still apply to.
        None => device.fill_bytes(plane.ptr, 0, 4 * n).map_err(gpu_error)?,
    }
    // Pixel sizes scale with the image's own render scale, as on the CPU.
    let scale = source.render_scale().0 as f32;
    finesse(&device, &look.finesse, plane.ptr, (width, height), &src, scale).map_err(gpu_error)?;
    levels_plane(&device, plane.ptr, (width, height), look.levels).map_err(gpu_error)?;
    show_problem(fx, problem.as_ref());
    place_plane(&device, &out, args.window, Some(&src), plane.ptr, bounds, Some(view_mode(look.view, stale))).map_err(gpu_error)?;
    drop(plane);
    cuda.finish(&device)
}

/// Track on Render's step on this path: a frame it would track needs SAM 2.1, so the CPU renders it.
fn refuse_tracking(request: &on_render::Request) -> Result<()> {
    if on_render::needed(request) {
        return Err(on_the_cpu(&format!("frame {} is not tracked from the current prompts and Track on Render tracks it with SAM 2.1, which runs on host images", request.frame)));
    }
    Ok(())
}

/// The answer for a frame that needs a model: the host renders it again on the CPU.
fn on_the_cpu(why: &str) -> Error {
    Error::new(Status::GPU_RENDER_FAILED, format!("Magic Mask: {why}, so the host renders this frame on the CPU"))
}
