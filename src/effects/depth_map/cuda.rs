//! Depth Map on CUDA: the host's device image → pre-process kernel straight into ONNX Runtime's
//! input tensor → the model on the CUDA provider (its own stream, ordered against the host's with
//! events both ways, no host wait) → depth back to frame size, normalisation from a device
//! histogram, levels, Isolate, Invert, Map Finesse and the output mode, into the host's device
//! output. No frame crosses to the host. Kernels are the twins of the CPU path's
//! (`crates/gpu/kernels`, tested against `crates/imaging`); the normalisation is the histogram
//! percentile one (`imaging::depth::histogram_range`), so the matte matches the CPU render within
//! the histogram's resolution rather than bit for bit.
//!
//! The model runs once per frame, Quality and Source Colour: its raw depth stays on the device
//! ([`DEVICE_DEPTH`], the twin of the CPU's depth cache), keyed by a fingerprint of the frame the
//! device computes where the frame lives (16 bytes cross, never the frame), so a slider change or
//! the next tile re-renders from it without the model.
//!
//! Not on this path yet (the host renders those frames on the CPU: this render returns
//! `kOfxStatGPURenderFailed`, which tells it to): Temporal Stability (its optical flow and
//! stabiliser have no kernels), and non-float images.
//!
//! Failures: GPU out of memory → `kOfxStatGPUOutOfMemory`; anything else, including a CUDA
//! session that cannot be built (that reason is kept, the CPU path keeps working) →
//! `kOfxStatGPURenderFailed`, so the host renders the frame on the CPU.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use depth::{inference_size, Quality, CONTRACT, FILE};
use gpu::device::KeepContext;
use gpu::exec::Scratch;
use gpu::ops::{depth_matte, finesse, fingerprint, image_to_planes, place_plane, resize_plane, DeviceImage};
use gpu::resident::Resident;
use gpu::{Device, GpuError};
use imaging::resize::{Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{MatteOutput, SourceColour};
use inference::budget::Lru;
use ofx::{gpu_error, CudaRender, Error, Instance, RenderArgs, Result, Status};

use super::{model_search, runtime, user_error, Output, Settings, OUTPUT, SOURCE};
use crate::effects::cuda_frame::CudaFrame;

/// Device memory the raw-depth cache may hold when `DEEPMATTE_GPU_CACHE_MB` does not say: about
/// 200 frames at Better quality (924×518 floats), 800 at Faster.
const DEVICE_CACHE_BYTES: usize = 512 << 20;

/// Raw depth on the device, outside the host-memory budget (its own limit), emptied by the host's
/// PurgeCaches like every cache.
static DEVICE_DEPTH: LazyLock<Lru<DepthKey, DeviceDepth>> = LazyLock::new(|| {
    let mb = std::env::var("DEEPMATTE_GPU_CACHE_MB").ok().and_then(|v| v.trim().parse::<usize>().ok());
    Lru::outside_budget(mb.map_or(DEVICE_CACHE_BYTES, |mb| mb.saturating_mul(1 << 20)))
});

/// What the raw depth of a frame depends on: the context its buffer lives in, the model file, the
/// frame's pixels (their fingerprint, which includes the size) and the two controls the model sees.
#[derive(Clone, PartialEq, Eq, Hash)]
struct DepthKey {
    context: usize,
    model: PathBuf,
    frame: u128,
    quality: Quality,
    colour: SourceColour,
}

/// The model's output for one frame, as it came out (width × height f32, rows top-down).
struct DeviceDepth {
    raw: Resident,
    size: (usize, usize),
}

pub(super) fn render(fx: &Instance, args: &RenderArgs, cuda: &CudaRender) -> Result<()> {
    let settings = Settings::read(fx, args.time)?;
    if settings.temporal.is_some() && fx.host_has_temporal_access() {
        return Err(Error::new(
            Status::GPU_RENDER_FAILED,
            "Depth Map: Temporal Stability runs on the CPU (its optical flow has no CUDA kernels yet), so the host renders this frame on the CPU",
        ));
    }
    let Some(CudaFrame { device, out, output: _output, src, source }) = CudaFrame::open(fx, args, cuda, OUTPUT, SOURCE)? else { return Ok(()) };
    let (bounds, (width, height)) = (src.bounds, (src.bounds.width(), src.bounds.height()));
    let path = model_search(&settings.model_folder).locate(FILE).map_err(user_error)?;
    let key = DepthKey {
        context: device.context(),
        model: path.clone(),
        frame: fingerprint(&device, &src).map_err(gpu_error)?,
        quality: settings.quality,
        colour: settings.colour,
    };
    let depth = DEVICE_DEPTH.get_or_try_insert_with(&key, |d| d.raw.bytes(), || infer(&device, &src, &path, &settings))?;
    let plane = Scratch::new(&device, 4 * width * height).map_err(gpu_error)?;
    device.with_resident(&depth.raw, |raw| resize_plane(&device, raw, depth.size, plane.ptr, (width, height), Filter::Bilinear)).map_err(gpu_error)?;

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

/// Runs the model on `src` on CUDA: the pre-process kernel writes ONNX Runtime's input tensor,
/// and its output is copied (device to device) into a buffer the cache keeps.
fn infer(device: &Device, src: &DeviceImage, path: &Path, settings: &Settings) -> Result<DeviceDepth> {
    let runtime = runtime()?;
    let side = device.side_stream().map_err(gpu_error)?;
    let model = {
        let _host_context = KeepContext::new();
        runtime.open_on_device(path, &CONTRACT, device.ordinal(), side)
    }
    .map_err(|why| Error::new(Status::GPU_RENDER_FAILED, format!("Depth Map: the model cannot run on CUDA here ({why}); the host renders on the CPU")))?;

    let (iw, ih) = inference_size(src.bounds.width(), src.bounds.height(), settings.quality);
    // The first kernel or driver error inside the model's run, kept with its kind (out of memory).
    let failure: RefCell<Option<GpuError>> = RefCell::new(None);
    let kept: RefCell<Option<DeviceDepth>> = RefCell::new(None);
    let ran = {
        let _host_context = KeepContext::new();
        model.run(
            [1, 3, ih, iw],
            |input| {
                let step = || -> std::result::Result<(), GpuError> {
                    device.make_current()?;
                    image_to_planes(device, src, input, (iw, ih), Filter::Bicubic, settings.colour, IMAGENET_MEAN, IMAGENET_STD)?;
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
                    let raw = device.resident(4 * dw * dh)?;
                    device.with_resident(&raw, |to| device.copy(to, depth.ptr, 4 * dw * dh))?;
                    // ONNX Runtime may reuse the output's memory for its next run on its stream:
                    // only after the host's stream has copied it.
                    device.order(device.stream(), side)?;
                    *kept.borrow_mut() = Some(DeviceDepth { raw, size: (dw, dh) });
                    Ok(())
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
    kept.into_inner().ok_or_else(|| Error::new(Status::GPU_RENDER_FAILED, "Depth Map on CUDA: the model gave no depth"))
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
