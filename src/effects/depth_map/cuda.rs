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
//! Temporal Stability ([`Window`]): every frame of the window goes through the same device steps
//! (fingerprint, cache, model); the stabiliser is the CPU path's own code, run at its working size
//! on each frame's raw depth and device-made luma read back once (planes, never a frame), and the
//! stabilised map is resized to the frame on the device. The optical flow has no kernels yet.
//!
//! Not on this path (the host renders those frames on the CPU: this render returns
//! `kOfxStatGPURenderFailed`, which tells it to): non-float images.
//!
//! Failures: GPU out of memory → `kOfxStatGPUOutOfMemory`; anything else, including a CUDA
//! session that cannot be built (that reason is kept, the CPU path keeps working) →
//! `kOfxStatGPURenderFailed`, so the host renders the frame on the CPU.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use depth::{inference_size, working_size, Quality, CONTRACT, FILE};
use gpu::device::KeepContext;
use gpu::exec::Scratch;
use gpu::ops::{depth_matte, finesse, fingerprint, image_to_planes, place_plane, resize_plane, working_luma, DeviceImage};
use gpu::resident::Resident;
use gpu::{Device, Exec, GpuError};
use imaging::resize::{Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{MatteOutput, Plane, SourceColour};
use inference::budget::Lru;
use ofx::{gpu_error, CudaRender, Error, Instance, RenderArgs, Result, Status};

use super::{model_search, neighbour_images, runtime, stabilized, user_error, Output, RawDepth, Settings, ShotFrame, Temporal, OUTPUT, SOURCE};
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
    let temporal = settings.temporal_here(fx);
    match temporal {
        None => {
            device.with_resident(&depth.raw, |raw| resize_plane(&device, raw, depth.size, plane.ptr, (width, height), Filter::Bilinear)).map_err(gpu_error)?
        }
        Some(temporal) => {
            // Stabilised at the working size (already normalised), then to the frame on the device.
            let work = working_size((width, height), depth.size);
            let window = Window { device: &device, key: &key, settings: &settings, path: &path };
            let stable = window.stabilized(fx, args.time, (&src, &depth), temporal, work)?;
            let staged = Scratch::new(&device, 4 * stable.len()).map_err(gpu_error)?;
            device.upload(staged.ptr, &floats_to_bytes(&stable)).map_err(gpu_error)?;
            resize_plane(&device, staged.ptr, work, plane.ptr, (width, height), Filter::Bilinear).map_err(gpu_error)?;
        }
    }

    let show_depth = settings.preview || settings.output == Output::Depth;
    let matte = (!show_depth).then_some((settings.isolate, settings.invert));
    depth_matte(&device, plane.ptr, (width, height), temporal.is_none(), settings.levels, matte).map_err(gpu_error)?;
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
    cuda.finish(&device)
}

/// Host copies of what the CPU stabiliser reads, by the device cache's keys: raw depth at model
/// size and luma at the working size (planes of a few hundred kB, never a frame). Kept so a
/// re-render reads none back and the stabiliser's own caches, keyed by these maps, find them.
static HOST_RAW: LazyLock<Lru<DepthKey, RawDepth>> = LazyLock::new(|| Lru::new(128 << 20));
static HOST_LUMA: LazyLock<Lru<(usize, u128, (usize, usize)), Plane>> = LazyLock::new(|| Lru::new(64 << 20));

/// Temporal Stability on the CUDA path. The model and every pixel stage run on the device; the
/// stabiliser (shot cuts, optical flow, tone curves, the motion-aligned average) is the CPU's,
/// the very code the CPU path runs, fed at its working size: each frame's raw depth and luma
/// (made on the device) are read back once, and the stabilised working-size map goes up. No
/// frame crosses.
struct Window<'a> {
    device: &'a Device,
    key: &'a DepthKey,
    settings: &'a Settings,
    path: &'a Path,
}

impl Window<'_> {
    /// The frame's depth stabilised over its window, at `work` (rows top-down, 0–1).
    fn stabilized(&self, fx: &Instance, time: f64, own: (&DeviceImage, &DeviceDepth), temporal: Temporal, work: (usize, usize)) -> Result<Arc<Vec<f32>>> {
        let size = (own.0.bounds.width(), own.0.bounds.height());
        let images = neighbour_images(&fx.required_clip(SOURCE)?, time, temporal.radius, size)?;
        let mut frames = Vec::with_capacity(images.len());
        for (_, image) in &images {
            let (src, key) = match image {
                None => (*own.0, self.key.clone()),
                Some(image) => {
                    let src = image.device_image()?;
                    (src, DepthKey { frame: fingerprint(self.device, &src).map_err(gpu_error)?, ..self.key.clone() })
                }
            };
            // A neighbour read back before needs neither its device depth nor the model.
            let raw = match (HOST_RAW.get(&key), image) {
                (Some(raw), _) => raw,
                (None, None) => self.host_raw(&key, own.1)?,
                (None, Some(_)) => {
                    let depth = DEVICE_DEPTH.get_or_try_insert_with(&key, |d| d.raw.bytes(), || infer(self.device, &src, self.path, self.settings))?;
                    self.host_raw(&key, &depth)?
                }
            };
            let luma = self.host_luma(&src, key.frame, work)?;
            frames.push(ShotFrame::with_luma(key.frame, raw, luma));
        }
        let target = images.iter().position(|(k, _)| *k == 0).expect("the frame itself is in its window");
        Ok(stabilized(&frames, target, temporal, work))
    }

    fn host_raw(&self, key: &DepthKey, depth: &DeviceDepth) -> Result<Arc<RawDepth>> {
        HOST_RAW.get_or_try_insert_with(key, RawDepth::bytes, || {
            let (w, h) = depth.size;
            let values = self.device.with_resident(&depth.raw, |raw| read_floats(self.device, raw, w * h)).map_err(gpu_error)?;
            Ok::<_, Error>(RawDepth { width: w, height: h, values })
        })
    }

    fn host_luma(&self, src: &DeviceImage, frame: u128, work: (usize, usize)) -> Result<Arc<Plane>> {
        HOST_LUMA.get_or_try_insert_with(&(self.device.context(), frame, work), |p| 4 * p.data.len(), || {
            let luma = Scratch::new(self.device, 4 * work.0 * work.1).map_err(gpu_error)?;
            working_luma(self.device, src, luma.ptr, work).map_err(gpu_error)?;
            let data = read_floats(self.device, luma.ptr, work.0 * work.1).map_err(gpu_error)?;
            Ok::<_, Error>(Plane { width: work.0, height: work.1, data })
        })
    }
}

/// `n` f32 from the device (waits for this stream up to here).
fn read_floats(device: &Device, ptr: u64, n: usize) -> std::result::Result<Vec<f32>, GpuError> {
    let mut bytes = vec![0u8; 4 * n];
    device.download(ptr, &mut bytes)?;
    Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn floats_to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
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
