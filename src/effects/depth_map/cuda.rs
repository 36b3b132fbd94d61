//! Depth Map on CUDA: the host's device image → pre-process kernel straight into ONNX Runtime's
//! input tensor → the model on the CUDA provider (its own stream, ordered against the host's with
//! events both ways, no host wait) → depth back to frame size, normalisation from a device
//! histogram, levels, Isolate, Invert, Map Finesse and the output mode, into the host's device
//! output. No frame crosses to the host. Kernels are the twins of the CPU path's
//! (`crates/gpu/kernels`, tested against `crates/imaging`); the normalisation is the histogram
//! percentile one (`imaging::depth::histogram_range`), so the matte matches the CPU render within
//! the histogram's resolution rather than bit for bit.
//!
//! Not on this path yet (the host renders those frames on the CPU: this render returns
//! `kOfxStatGPURenderFailed`, which tells it to): Temporal Stability (its optical flow and
//! stabiliser have no kernels), and non-float images. The depth cache is not used here: every CUDA
//! render runs the model (reading the frame back to hash it would be a frame copy).
//!
//! Failures: GPU out of memory → `kOfxStatGPUOutOfMemory`; anything else, including a CUDA
//! session that cannot be built (that reason is kept, the CPU path keeps working) →
//! `kOfxStatGPURenderFailed`, so the host renders the frame on the CPU.

use depth::{inference_size, CONTRACT, FILE};
use gpu::device::KeepContext;
use gpu::exec::Scratch;
use gpu::ops::{depth_matte, finesse, image_to_planes, place_plane, resize_plane};
use gpu::GpuError;
use std::cell::RefCell;
use imaging::resize::{Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{MatteOutput, Rect};
use ofx::{gpu_error, CudaRender, Error, Instance, RenderArgs, Result, Status};

use super::{model_search, runtime, user_error, Output, Settings, OUTPUT, SOURCE};

pub(super) fn render(fx: &Instance, args: &RenderArgs, cuda: &CudaRender) -> Result<()> {
    let settings = Settings::read(fx, args.time)?;
    if settings.temporal.is_some() && fx.host_has_temporal_access() {
        return Err(Error::new(
            Status::GPU_RENDER_FAILED,
            "Depth Map: Temporal Stability runs on the CPU (its optical flow has no CUDA kernels yet), so the host renders this frame on the CPU",
        ));
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
        place_plane(&device, &out, args.window, Some(&src), 0, Rect::default(), None).map_err(gpu_error)?;
        return cuda.finish(&device);
    }
    let path = model_search(&settings.model_folder).locate(FILE).map_err(user_error)?;
    let runtime = runtime()?;
    let side = device.side_stream().map_err(gpu_error)?;
    let model = {
        let _host_context = KeepContext::new();
        runtime.open_on_device(&path, &CONTRACT, device.ordinal(), side)
    }
    .map_err(|why| Error::new(Status::GPU_RENDER_FAILED, format!("Depth Map: the model cannot run on CUDA here ({why}); the host renders on the CPU")))?;

    let (iw, ih) = inference_size(width, height, settings.quality);
    let plane = Scratch::new(&device, 4 * width * height).map_err(gpu_error)?;
    // The first kernel or driver error inside the model's run, kept with its kind (out of memory).
    let failure: RefCell<Option<GpuError>> = RefCell::new(None);
    let ran = {
        let _host_context = KeepContext::new();
        model.run(
            [1, 3, ih, iw],
            |input| {
                let step = || -> std::result::Result<(), GpuError> {
                    device.make_current()?;
                    image_to_planes(&device, &src, input, (iw, ih), Filter::Bicubic, settings.colour, IMAGENET_MEAN, IMAGENET_STD)?;
                    // The model's stream starts once the input is written.
                    device.order(device.stream(), side)
                };
                step().map_err(|e| keep(&failure, e))
            },
            |depth| {
                let step = || -> std::result::Result<(), GpuError> {
                    device.make_current()?;
                    let [_, dh, dw] = depth.shape;
                    device.order(side, device.stream())?;
                    resize_plane(&device, depth.ptr, (dw, dh), plane.ptr, (width, height), Filter::Bilinear)?;
                    // ONNX Runtime may reuse the output's memory for its next run on its stream:
                    // only after the host's stream has read it.
                    device.order(device.stream(), side)
                };
                step().map_err(|e| keep(&failure, e))
            },
        )
    };
    if let Some(e) = failure.into_inner() {
        return Err(gpu_error(e));
    }
    ran.map_err(|e| {
        let text = e.to_string();
        let oom = ["out of memory", "OUT_OF_MEMORY", "Failed to allocate"].iter().any(|m| text.contains(m));
        Error::new(if oom { Status::GPU_OUT_OF_MEMORY } else { Status::GPU_RENDER_FAILED }, format!("Depth Map on CUDA: {text}"))
    })?;

    let show_depth = settings.preview || settings.output == Output::Depth;
    let matte = (!show_depth).then_some((settings.isolate, settings.invert));
    depth_matte(&device, plane.ptr, (width, height), true, settings.levels, matte).map_err(gpu_error)?;
    if let (false, Some(f)) = (show_depth, settings.finesse) {
        let scale = source.render_scale().0 as f32;
        finesse(&device, &f, plane.ptr, (width, height), &src, scale).map_err(gpu_error)?;
    }
    let mode = match (show_depth, settings.output) {
        (false, Output::Alpha) => MatteOutput::AlphaStraight,
        _ => MatteOutput::Grey,
    };
    place_plane(&device, &out, args.window, Some(&src), plane.ptr, bounds, Some(mode)).map_err(gpu_error)?;
    drop(plane);
    // This render worked: an error left by an earlier one (a missing model) is gone.
    fx.clear_persistent_message();
    cuda.finish(&device)
}

/// Keeps the first GPU error of a step and gives its text to ONNX Runtime's caller.
fn keep(slot: &RefCell<Option<GpuError>>, e: GpuError) -> String {
    let text = e.to_string();
    slot.borrow_mut().get_or_insert(e);
    text
}

/// Whether Depth Map can render on CUDA in this process (beyond the Load self-test): ONNX
/// Runtime's CUDA provider from the GPU runtime.
pub(super) fn ready() -> std::result::Result<(), String> {
    runtime().map_err(|e| e.message)?.cuda_ready()
}
