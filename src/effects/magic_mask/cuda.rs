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
//! frame-copy counter stays at 0). The source never leaves the device. The uploaded coverage stays
//! on the device ([`DEVICE_MASKS`], by store folder, frame, the manifest's stamp and the prompts),
//! so the tiles of a frame and re-renders with other finesse or views read and decode the PNG once.
//!
//! What needs a model stays on the CPU: Auto Subject (U²-Netp) and a frame Track on Render would
//! track (SAM 2.1 reads the clip's frames in host memory). For those this render returns
//! `kOfxStatGPURenderFailed`, and the host renders the frame on the CPU, as the OpenFX GPU render
//! spec asks (Depth Map does the same for Temporal Stability). Tracking from the buttons runs in
//! an action, never here.

use std::path::PathBuf;
use std::sync::LazyLock;

use gpu::exec::Scratch;
use gpu::ops::{coverage_plane, finesse, levels_plane, place_plane, resize_plane};
use gpu::resident::Resident;
use gpu::{Device, Exec, GpuError};
use imaging::resize::Filter;
use imaging::Rect;
use inference::budget::Lru;
use ofx::{gpu_error, CudaRender, Error, Instance, MessageKind, RenderArgs, Result, Status};

use crate::effects::cuda_frame::CudaFrame;
use super::{frame_of, on_render, show_problem, stored_mask, view_mode, FrameMask, Look, MagicMask, Mode, Stored, OUTPUT, SOURCE};

/// Stored masks on the device as coverage planes (f32, mask size), outside the host-memory budget
/// (128 MB: ~16 masks at 1080p), emptied by the host's PurgeCaches.
static DEVICE_MASKS: LazyLock<Lru<MaskKey, DeviceMask>> = LazyLock::new(|| Lru::outside_budget(128 << 20));

/// What a frame's stored mask and its message depend on: the context its buffer lives in, the
/// store folder and frame, the manifest's stamp (any write to the store changes it), the node's
/// prompts and the network (a mask tracked from others is stale).
#[derive(Clone, PartialEq, Eq, Hash)]
struct MaskKey {
    context: usize,
    folder: Option<PathBuf>,
    frame: i32,
    stamp: Option<segment::StoreStamp>,
    prompts: String,
    model: &'static str,
}

/// A frame's stored mask on the device (None: untracked or damaged), with what to tell the user.
struct DeviceMask {
    coverage: Option<(Resident, (usize, usize))>,
    problem: Option<(MessageKind, String)>,
    stale: bool,
}

impl DeviceMask {
    /// Reads and decodes the frame's mask from the store and uploads it as a coverage plane.
    fn load(device: &Device, key: &MaskKey) -> std::result::Result<DeviceMask, GpuError> {
        let FrameMask { mask, problem, stale } = stored_mask(key.folder.as_deref(), key.frame, &key.prompts, key.model);
        let coverage = match mask {
            None => None,
            Some(mask) => {
                let n = mask.coverage.len();
                let stored = Scratch::new(device, 2 * n)?;
                let bytes: Vec<u8> = mask.coverage.iter().flat_map(|c| c.to_le_bytes()).collect();
                device.upload(stored.ptr, &bytes)?;
                let plane = device.resident(4 * n)?;
                device.with_resident(&plane, |to| coverage_plane(device, stored.ptr, to, n))?;
                Some((plane, (mask.width, mask.height)))
            }
        };
        Ok(DeviceMask { coverage, problem, stale })
    }

    fn bytes(&self) -> usize {
        self.coverage.as_ref().map_or(0, |(plane, _)| plane.bytes())
    }
}

pub(super) fn render(effect: &MagicMask, fx: &Instance, args: &RenderArgs, cuda: &CudaRender) -> Result<()> {
    let look = Look::read(fx, args.time)?;
    if look.mode == Mode::AutoSubject {
        return Err(on_the_cpu("Auto Subject runs U²-Netp, which runs on host images"));
    }
    let Some(CudaFrame { device, out, output: _output, src, source }) = CudaFrame::open(fx, args, cuda, OUTPUT, SOURCE)? else { return Ok(()) };
    let (bounds, (width, height)) = (src.bounds, (src.bounds.width(), src.bounds.height()));
    let frame = frame_of(args.time);
    let key = match effect.stored(fx, &look, args.time, refuse_tracking)? {
        Stored::BadId(text) => {
            fx.persistent_message(MessageKind::Error, &text);
            // An empty plane: the matte is 0 everywhere.
            place_plane(&device, &out, args.window, Some(&src), 0, Rect::default(), Some(look.view)).map_err(gpu_error)?;
            return cuda.finish(&device);
        }
        Stored::In { folder, prompts } => MaskKey {
            context: device.context(),
            stamp: folder.as_deref().and_then(segment::MaskStore::stamp),
            folder,
            frame,
            prompts,
            model: look.quality.size().model_name(),
        },
    };
    let stored = DEVICE_MASKS.get_or_try_insert_with(&key, DeviceMask::bytes, || DeviceMask::load(&device, &key)).map_err(gpu_error)?;

    let plane = Scratch::new(&device, 4 * width * height).map_err(gpu_error)?;
    match &stored.coverage {
        Some((coverage, size)) if *size == (width, height) => device.with_resident(coverage, |from| device.copy(plane.ptr, from, 4 * width * height)),
        Some((coverage, size)) => device.with_resident(coverage, |from| resize_plane(&device, from, *size, plane.ptr, (width, height), Filter::Bilinear)),
        // Untracked or damaged: an empty matte, which finesse and Invert still apply to.
        None => device.fill_bytes(plane.ptr, 0, 4 * width * height),
    }
    .map_err(gpu_error)?;
    // Pixel sizes scale with the image's own render scale, as on the CPU.
    let scale = source.render_scale().0 as f32;
    finesse(&device, &look.finesse, plane.ptr, (width, height), &src, scale).map_err(gpu_error)?;
    levels_plane(&device, plane.ptr, (width, height), look.levels).map_err(gpu_error)?;
    show_problem(fx, stored.problem.as_ref());
    place_plane(&device, &out, args.window, Some(&src), plane.ptr, bounds, Some(view_mode(look.view, stored.stale))).map_err(gpu_error)?;
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
