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
//! (fingerprint, cache, model); the optical flows, the tone-curve matching, the warps and the
//! motion-aligned average run as kernels at the stabiliser's working size (`gpu::motion`, the
//! twins of the CPU stabiliser's steps), the flows cached on the device. What decides the plan
//! (shot cuts from each frame's luma signature, tone curves from a sample of its raw depth) is
//! the CPU's code on small host copies read back once per frame (planes, never a frame).
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
use gpu::motion::{AlignmentBuffers, FlowBuffers, Member};
use gpu::ops::{depth_matte, finesse, fingerprint, image_to_planes, place_plane, resize_plane, working_luma, DeviceImage};
use gpu::resident::Resident;
use gpu::{Device, Exec, GpuError};
use imaging::resize::{Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{MatteOutput, Plane, SourceColour};
use inference::budget::Lru;
use ofx::{gpu_error, CudaRender, Error, Instance, RenderArgs, Result, Status};

use super::{model_search, neighbour_images, runtime, shot_members, stabilized, user_error, Output, RawDepth, Settings, ShotFrame, StabilizerMotion, Temporal, OUTPUT, SOURCE};
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
            // Stabilised at the working size (already normalised), then to the frame.
            let work = working_size((width, height), depth.size);
            let window = Window { device: &device, key: &key, settings: &settings, path: &path };
            let stable = Scratch::new(&device, 4 * work.0 * work.1).map_err(gpu_error)?;
            window.stabilize(fx, args.time, (&src, &depth), temporal, work, stable.ptr)?;
            resize_plane(&device, stable.ptr, work, plane.ptr, (width, height), Filter::Bilinear).map_err(gpu_error)?;
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

/// Host copies of what decides the stabiliser's plan, by the device cache's keys: raw depth at
/// model size (its tone curve, from a 1/16 sample) and luma at the working size (its shot-cut
/// signature): planes of a few hundred kB read back once per frame, never a frame.
static HOST_RAW: LazyLock<Lru<DepthKey, RawDepth>> = LazyLock::new(|| Lru::new(128 << 20));
static HOST_LUMA: LazyLock<Lru<(usize, u128, (usize, usize)), Plane>> = LazyLock::new(|| Lru::new(64 << 20));

/// Device memory the alignments may hold: at 1080p's working size (924×518, three planes) about
/// 45 alignments, a ±2 window's for a dozen frames.
const DEVICE_ALIGN_BYTES: usize = 256 << 20;

/// An alignment's key: the context, the two frames' fingerprints (from, into) and the working size.
type AlignKey = (usize, u128, u128, (usize, usize));

/// Alignments of one frame into another on the device, the twin of the CPU's motion cache, with
/// its own limit like the depth cache's; emptied by PurgeCaches.
static DEVICE_ALIGN: LazyLock<Lru<AlignKey, DeviceAlignment>> = LazyLock::new(|| Lru::outside_budget(DEVICE_ALIGN_BYTES));

/// A frame aligned into a neighbour: its flow and how well that explains each pixel.
struct DeviceAlignment {
    dx: Resident,
    dy: Resident,
    weight: Resident,
}

impl DeviceAlignment {
    fn new(device: &Device, n: usize) -> std::result::Result<DeviceAlignment, GpuError> {
        Ok(DeviceAlignment { dx: device.resident(4 * n)?, dy: device.resident(4 * n)?, weight: device.resident(4 * n)? })
    }

    fn bytes(&self) -> usize {
        self.dx.bytes() + self.dy.bytes() + self.weight.bytes()
    }
}

/// Temporal Stability on the CUDA path: every stage on the device. Each frame of the window goes
/// through the device steps (fingerprint, depth cache, model); the shot-cut signatures and the
/// tone curves come from small host copies ([`HOST_RAW`], [`HOST_LUMA`]) and give the plan
/// (`depth::plan`, the CPU's own); the optical flows (`gpu::motion::align`, cached on the
/// device), the curve matching, warps and the motion-aligned average run as kernels
/// (`gpu::motion::stabilize`), each the twin of the CPU stabiliser's step.
struct Window<'a> {
    device: &'a Device,
    key: &'a DepthKey,
    settings: &'a Settings,
    path: &'a Path,
}

/// One frame of the window on the device.
struct WindowFrame {
    src: DeviceImage,
    frame: u128,
    depth: Arc<DeviceDepth>,
}

impl Window<'_> {
    /// The frame's depth stabilised over its window into `out` (`work` f32, rows top-down, 0–1).
    fn stabilize(&self, fx: &Instance, time: f64, own: (&DeviceImage, &Arc<DeviceDepth>), temporal: Temporal, work: (usize, usize), out: u64) -> Result<()> {
        let size = (own.0.bounds.width(), own.0.bounds.height());
        let images = neighbour_images(&fx.required_clip(SOURCE)?, time, temporal.radius, size)?;
        let (mut frames, mut shot) = (Vec::with_capacity(images.len()), Vec::with_capacity(images.len()));
        for (_, image) in &images {
            let (src, key, depth) = match image {
                None => (*own.0, self.key.clone(), own.1.clone()),
                Some(image) => {
                    let src = image.device_image()?;
                    let key = DepthKey { frame: fingerprint(self.device, &src).map_err(gpu_error)?, ..self.key.clone() };
                    let depth = self.device_depth(&key, &src)?;
                    (src, key, depth)
                }
            };
            let raw = self.host_raw(&key, &depth)?;
            shot.push(ShotFrame::with_luma(key.frame, raw, self.host_luma(&src, key.frame, work)?));
            frames.push(WindowFrame { src, frame: key.frame, depth });
        }
        let target = images.iter().position(|(k, _)| *k == 0).expect("the frame itself is in its window");
        let (members, own_member) = shot_members(&shot, target, work);
        let maps: Vec<&RawDepth> = members.iter().map(|&i| shot[i].raw.as_ref()).collect();
        let window = depth::Window { frames: &maps, target: own_member, radius: temporal.radius as usize };
        let Some(plan) = depth::plan(&window, temporal.strength) else {
            // A flat frame: nothing to stabilise. The CPU's normalisation of its raw depth (a
            // working-size plane) goes up.
            let flat = stabilized(&shot, target, temporal, work);
            return self.device.upload(out, &floats_to_bytes(&flat)).map_err(gpu_error);
        };
        // The plan's members, as indices into the window's frames.
        let chosen: Vec<&WindowFrame> = plan.members.iter().map(|&m| &frames[members[m]]).collect();
        // Follow motion: the frame aligned into each other member (its own entry is never read).
        let alignments: Option<Vec<Option<Arc<DeviceAlignment>>>> = match temporal.motion {
            StabilizerMotion::Static => None,
            StabilizerMotion::Follow => Some(
                chosen.iter().enumerate().map(|(k, f)| (k != plan.own).then(|| self.alignment(&frames[target], f, work)).transpose()).collect::<Result<_>>()?,
            ),
        };
        // Every cached buffer the kernels read, used at once: the members' raw depth, then each
        // alignment's three planes.
        let mut residents: Vec<&Resident> = chosen.iter().map(|f| &f.depth.raw).collect();
        let mut slots = Vec::with_capacity(chosen.len());
        for a in alignments.iter().flatten() {
            slots.push(a.as_ref().map(|a| {
                residents.extend([&a.dx, &a.dy, &a.weight]);
                residents.len() - 3
            }));
        }
        self.device
            .with_residents(&residents, |ptrs| {
                let members: Vec<Member> = chosen
                    .iter()
                    .enumerate()
                    .map(|(k, f)| Member { raw: ptrs[k], size: f.depth.size, knots: plan.knots[k].clone(), weight: plan.weights[k] })
                    .collect();
                let unused = AlignmentBuffers { flow: FlowBuffers { dx: 0, dy: 0 }, weight: 0 };
                let follow: Option<Vec<AlignmentBuffers>> = alignments.as_ref().map(|_| {
                    slots.iter().map(|slot| slot.map_or(unused, |i| AlignmentBuffers { flow: FlowBuffers { dx: ptrs[i], dy: ptrs[i + 1] }, weight: ptrs[i + 2] })).collect()
                });
                gpu::motion::stabilize(self.device, &members, plan.own, follow.as_deref(), work, (depth::MIN_WEIGHT, depth::DEPTH_SIGMA), out)
            })
            .map_err(gpu_error)
    }

    /// A neighbour's raw depth on the device: cached, or made from its host copy (a plane of the
    /// model's size, read back before), or by the model.
    fn device_depth(&self, key: &DepthKey, src: &DeviceImage) -> Result<Arc<DeviceDepth>> {
        DEVICE_DEPTH.get_or_try_insert_with(key, |d| d.raw.bytes(), || match HOST_RAW.get(key) {
            Some(raw) => {
                let resident = self.device.resident(4 * raw.values.len()).map_err(gpu_error)?;
                self.device.with_resident(&resident, |ptr| self.device.upload(ptr, &floats_to_bytes(&raw.values))).map_err(gpu_error)?;
                Ok(DeviceDepth { raw: resident, size: (raw.width, raw.height) })
            }
            None => infer(self.device, src, self.path, self.settings),
        })
    }

    /// How frame `a` maps into frame `b` at `work`, from the device cache or computed there with
    /// the reverse (both cached, as the CPU's motion cache does).
    fn alignment(&self, a: &WindowFrame, b: &WindowFrame, work: (usize, usize)) -> Result<Arc<DeviceAlignment>> {
        let n = work.0 * work.1;
        let key = |from: u128, to: u128| (self.device.context(), from, to, work);
        DEVICE_ALIGN.get_or_try_insert_with(&key(a.frame, b.frame), DeviceAlignment::bytes, || {
            let forward = DeviceAlignment::new(self.device, n).map_err(gpu_error)?;
            if a.frame == b.frame {
                // The same pixels: no motion, every pixel explained.
                let ones = floats_to_bytes(&vec![1.0f32; n]);
                let identity = [&forward.dx, &forward.dy, &forward.weight];
                self.device
                    .with_residents(&identity, |p| {
                        self.device.fill_bytes(p[0], 0, 4 * n)?;
                        self.device.fill_bytes(p[1], 0, 4 * n)?;
                        self.device.upload(p[2], &ones)
                    })
                    .map_err(gpu_error)?;
                return Ok::<_, Error>(forward);
            }
            let backward = DeviceAlignment::new(self.device, n).map_err(gpu_error)?;
            let (luma_a, luma_b) = (Scratch::new(self.device, 4 * n).map_err(gpu_error)?, Scratch::new(self.device, 4 * n).map_err(gpu_error)?);
            working_luma(self.device, &a.src, luma_a.ptr, work).map_err(gpu_error)?;
            working_luma(self.device, &b.src, luma_b.ptr, work).map_err(gpu_error)?;
            let buffers = [&forward.dx, &forward.dy, &forward.weight, &backward.dx, &backward.dy, &backward.weight];
            self.device
                .with_residents(&buffers, |p| {
                    let (f, r) = (AlignmentBuffers { flow: FlowBuffers { dx: p[0], dy: p[1] }, weight: p[2] }, AlignmentBuffers { flow: FlowBuffers { dx: p[3], dy: p[4] }, weight: p[5] });
                    gpu::motion::align(self.device, luma_a.ptr, luma_b.ptr, work, depth::aligns_at_half(work.0, work.1), f, r)
                })
                .map_err(gpu_error)?;
            depth::count_flows(2);
            let bytes = backward.bytes();
            DEVICE_ALIGN.insert(key(b.frame, a.frame), Arc::new(backward), bytes);
            Ok(forward)
        })
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
