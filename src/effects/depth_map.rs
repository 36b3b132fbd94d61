//! **Depth Map** — a matte from monocular depth (Depth Anything V2 Small), near = white.
//!
//! The controls are Resolve Studio's (Quality, Depth Map Preview, Adjust Map Levels, Isolate
//! Specific Depth, Invert, Map Finesse) plus what Resolve lacks: Source Colour (scene-linear
//! footage is sRGB-encoded for the network); Temporal Stability, which maps each frame's depth
//! onto a curve shared with its neighbours and averages the neighbours in along the source's
//! motion, so mattes neither flicker nor smear; and a depth cache, so moving any slider
//! re-renders without running the model (or the optical flow).
//!
//! - Identifier `org.deepmatte.DepthMap`, grouping `DeepMatte`, version 1.0 (a minor bump keeps
//!   projects loading; a major bump makes hosts treat it as a new effect).
//! - Contexts Filter and General; depths 8, 16-bit and float; RGBA and RGB in, RGBA out; tiles
//!   (each tile reads the whole frame's depth from the cache); temporal clip access; fully thread
//!   safe (the model is shared and its runs are serialised inside the engine).
//!
//! Render, top to bottom: source frame → raw depth (cache, or the model on the frame encoded for
//! the network as Source Colour says) → normalised, or stabilised over the frame's window (cut at
//! scene cuts, aligned by optical flow) → frame size → levels → isolate → invert → finesse → output.

use depth::{
    normalize, same_shot, stabilize, to_frame_size, working_size, Alignment, DepthEstimator, DepthMap as RawDepth, FrameDepthCache, Motion as StabilizerMotion,
    MotionCache, Quality as ModelQuality, Window,
};
use imaging::{luma_plane, place_plane, shrink_area, Components, Finesse, ImageRef, MatteLevels, MatteOutput, Plane};
use inference::budget::Lru;
use inference::SessionOptions;
use ofx::{
    BitDepth, ChangeReason, Choice, ChoiceOption, ClipDef, ClipPreferences, Context, Describe, Effect, EffectInfo, Error, FramesNeeded, Host,
    Instance, MessageKind, RenderArgs, Result, ThreadSafety,
};
use std::sync::{Arc, LazyLock, OnceLock};

use super::runtime::{download_model, model_search, runtime, user_error};
use super::source_colour::SourceColour;

pub mod controls;
mod cuda;

use self::controls as c;

/// The effect; the model and depth cache live in the process-wide estimator.
pub struct DepthMap;

/// Finished depth planes, shared by every instance (256 MB: about 30 frames at 1080p).
static FRAME_DEPTH: LazyLock<FrameDepthCache> = LazyLock::new(|| FrameDepthCache::new(256 << 20));
/// Shot signatures and optical-flow alignments of source frames, shared by every instance
/// (256 MB: at 1080p, whose flow runs at 924×518, the ±2-frame windows of about 10 frames).
static MOTION: LazyLock<MotionCache> = LazyLock::new(|| MotionCache::new(256 << 20));

/// Finished mattes (after levels, isolate, invert and finesse), so each tile of a tiled host and
/// each re-render with unchanged settings costs only its own pixels (256 MB: ~30 frames at 1080p).
static FINISHED: LazyLock<Lru<FinishedKey, Finished>> = LazyLock::new(|| Lru::new(256 << 20));

/// A finished matte: the depth plane it was made from (by address; the entry keeps it alive so the
/// address stays its own, and that plane stands for the source pixels and the temporal window),
/// plus every setting applied after it and the render scale, as bits.
#[derive(Clone, PartialEq, Eq, Hash)]
struct FinishedKey {
    depth: usize,
    look: Vec<u32>,
}

struct Finished {
    _depth: Arc<Vec<f32>>,
    plane: Plane,
}

/// The most frames on each side Temporal Stability reads.
const TEMPORAL_WINDOW_MAX: i32 = 12;

const SOURCE: &str = "Source";
const OUTPUT: &str = "Output";

/// The `quality` control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Quality(ModelQuality);

impl Choice for Quality {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: Quality(ModelQuality::Faster), id: "faster", label: "Faster", hint: "Model at 266 px on the short side: about 4× faster." },
        ChoiceOption { value: Quality(ModelQuality::Better), id: "better", label: "Better", hint: "Model at 518 px on the short side, as trained." },
    ];
}

/// The `temporal_motion` control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Motion(StabilizerMotion);

impl Choice for Motion {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption {
            value: Motion(StabilizerMotion::Follow),
            id: c::MOTION_FOLLOW_ID,
            label: c::MOTION_FOLLOW_LABEL,
            hint: "For shots that move (camera or subject): neighbours are aligned to the frame by optical flow and only what the flow explains is averaged, so nothing smears or ghosts.",
        },
        ChoiceOption {
            value: Motion(StabilizerMotion::Static),
            id: c::MOTION_STATIC_ID,
            label: c::MOTION_STATIC_LABEL,
            hint: "For locked-off shots where nothing moves: neighbours are averaged in place (no optical flow, cheaper); anything that moves will smear.",
        },
    ];
}

/// Temporal Stability as set: strength (above 0), window radius (at least 1) and motion.
#[derive(Clone, Copy)]
struct Temporal {
    strength: f32,
    radius: i32,
    motion: StabilizerMotion,
}

/// The `output` control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    /// Source colour with the matte in alpha (the color page keys with it, the edit page
    /// composites with it).
    Alpha,
    /// The depth map after Adjust Map Levels, as grey.
    Depth,
    /// The finished matte as grey.
    Matte,
}

impl Choice for Output {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: Output::Alpha, id: "alpha", label: "Alpha over source", hint: "Source colour, matte in alpha." },
        ChoiceOption { value: Output::Depth, id: "depth", label: "Depth map", hint: "The depth map (near = white) after Adjust Map Levels." },
        ChoiceOption { value: Output::Matte, id: "matte", label: "Matte", hint: "The finished matte as grey." },
    ];
}

/// Every control, read at one time.
struct Settings {
    quality: ModelQuality,
    colour: imaging::SourceColour,
    preview: bool,
    levels: MatteLevels,
    isolate: Option<imaging::IsolateBand>,
    invert: bool,
    finesse: Option<Finesse>,
    output: Output,
    temporal: Option<Temporal>,
    model_folder: String,
}

impl Settings {
    /// Everything applied after the depth plane, as bits for [`FinishedKey`].
    fn look_bits(&self, show_depth: bool, scale: f32) -> Vec<u32> {
        let mut bits = vec![self.levels.black.to_bits(), self.levels.white.to_bits(), self.levels.gamma.to_bits(), u32::from(show_depth), scale.to_bits()];
        if !show_depth {
            bits.push(u32::from(self.invert));
            if let Some(i) = self.isolate {
                bits.extend([1, i.target.to_bits(), i.tolerance.to_bits(), i.softness.to_bits()]);
            }
            if let Some(f) = self.finesse {
                bits.extend([2, f.expand_contract.to_bits(), f.blur.to_bits(), f.edge_radius.to_bits()]);
            }
        }
        bits
    }

    /// Temporal Stability as this host allows it (it needs temporal clip access), once the frame's
    /// depth is had: says so on the node when the host forbids it, else clears an error an
    /// earlier render left (a missing model).
    fn temporal_here(&self, fx: &Instance) -> Option<Temporal> {
        let temporal = self.temporal.filter(|_| fx.host_has_temporal_access());
        if self.temporal.is_some() && temporal.is_none() {
            fx.persistent_message(
                MessageKind::Message,
                "Depth Map: this host gives effects no access to neighbouring frames, so Temporal Stability is off.",
            );
        } else {
            fx.clear_persistent_message();
        }
        temporal
    }

    fn read(fx: &Instance, time: f64) -> Result<Settings> {
        let p = fx.params();
        let isolate = match p.boolean(c::ISOLATE.name, time)? {
            true => Some(imaging::IsolateBand {
                target: p.double(c::TARGET_DEPTH.name, time)? as f32,
                tolerance: p.double(c::TOLERANCE.name, time)? as f32,
                softness: p.double(c::SOFTNESS.name, time)? as f32,
            }),
            false => None,
        };
        let finesse = match p.boolean(c::POST_PROCESSING.name, time)? {
            true => Some(Finesse {
                expand_contract: p.double(c::EXPAND_CONTRACT.name, time)? as f32,
                blur: p.double(c::BLUR.name, time)? as f32,
                edge_radius: p.double(c::POST_FILTER.name, time)? as f32,
            }),
            false => None,
        };
        let temporal = match p.boolean(c::TEMPORAL_STABILITY.name, time)? {
            true => Some(Temporal {
                strength: p.double(c::TEMPORAL_STRENGTH.name, time)? as f32,
                radius: p.int(c::TEMPORAL_WINDOW.name, time)?,
                motion: p.choice::<Motion>(c::TEMPORAL_MOTION.name, time)?.0,
            }),
            false => None,
        };
        Ok(Settings {
            quality: p.choice::<Quality>(c::QUALITY.name, time)?.0,
            colour: p.choice::<SourceColour>(c::SOURCE_COLOUR.name, time)?.0,
            preview: p.boolean(c::PREVIEW.name, time)?,
            levels: MatteLevels {
                black: p.double(c::FAR_LIMIT.name, time)? as f32,
                white: p.double(c::NEAR_LIMIT.name, time)? as f32,
                gamma: p.double(c::GAMMA.name, time)? as f32,
                invert: false,
            },
            isolate,
            invert: p.boolean(c::INVERT.name, time)?,
            finesse,
            output: p.choice(c::OUTPUT.name, time)?,
            temporal: temporal.filter(|t| t.strength > 0.0 && t.radius > 0),
            model_folder: p.string(c::MODEL_FOLDER.name)?,
        })
    }
}

impl Effect for DepthMap {
    const INFO: EffectInfo = EffectInfo {
        id: c"org.deepmatte.DepthMap",
        label: "Depth Map",
        grouping: "DeepMatte",
        description: "A matte from monocular depth (near = white), with temporal stability and a depth cache.",
        version: (1, 0),
        contexts: &[Context::Filter, Context::General],
        depths: &[BitDepth::U8, BitDepth::U16, BitDepth::F32],
        tiles: true,
        temporal_access: true,
        thread_safety: ThreadSafety::FullySafe,
        overlay: false,
    };

    fn describe(_context: Context, d: &mut Describe) -> Result<()> {
        d.clip(ClipDef::new(SOURCE, &[Components::Rgba, Components::Rgb]).temporal())?;
        d.clip(ClipDef::new(OUTPUT, &[Components::Rgba]))?;

        d.param(c::QUALITY.choice(Quality(ModelQuality::Better)))?;
        d.param(c::SOURCE_COLOUR.choice(SourceColour(imaging::SourceColour::Display)))?;
        d.param(c::PREVIEW.boolean(false))?;

        d.param(c::LEVELS.group(true))?;
        d.param(c::FAR_LIMIT.double(0.0, (0.0, 1.0), (0.0, 1.0)).parent(c::LEVELS.name))?;
        d.param(c::NEAR_LIMIT.double(1.0, (0.0, 1.0), (0.0, 1.0)).parent(c::LEVELS.name))?;
        d.param(c::GAMMA.double(1.0, (0.05, 10.0), (0.2, 5.0)).parent(c::LEVELS.name))?;

        d.param(c::ISOLATE_GROUP.group(false))?;
        d.param(c::ISOLATE.boolean(false).parent(c::ISOLATE_GROUP.name))?;
        d.param(c::TARGET_DEPTH.double(0.5, (0.0, 1.0), (0.0, 1.0)).parent(c::ISOLATE_GROUP.name))?;
        d.param(c::TOLERANCE.double(0.1, (0.0, 1.0), (0.0, 0.5)).parent(c::ISOLATE_GROUP.name))?;
        d.param(c::SOFTNESS.double(0.1, (0.0, 1.0), (0.0, 0.5)).parent(c::ISOLATE_GROUP.name))?;

        d.param(c::INVERT.boolean(false))?;

        d.param(c::FINESSE.group(false))?;
        d.param(c::POST_PROCESSING.boolean(false).parent(c::FINESSE.name))?;
        d.param(c::EXPAND_CONTRACT.double(0.0, (-100.0, 100.0), (-20.0, 20.0)).parent(c::FINESSE.name))?;
        d.param(c::BLUR.double(0.0, (0.0, 200.0), (0.0, 50.0)).parent(c::FINESSE.name))?;
        d.param(c::POST_FILTER.double(0.0, (0.0, 100.0), (0.0, 30.0)).parent(c::FINESSE.name))?;

        d.param(c::OUTPUT.choice(Output::Alpha))?;

        d.param(c::TEMPORAL.group(true))?;
        d.param(c::TEMPORAL_STABILITY.boolean(true).parent(c::TEMPORAL.name))?;
        d.param(c::TEMPORAL_STRENGTH.double(0.8, (0.0, 1.0), (0.0, 1.0)).parent(c::TEMPORAL.name))?;
        d.param(c::TEMPORAL_WINDOW.int(2, (0, TEMPORAL_WINDOW_MAX), (0, 6)).parent(c::TEMPORAL.name))?;
        d.param(c::TEMPORAL_MOTION.choice(Motion(StabilizerMotion::Follow)).parent(c::TEMPORAL.name))?;

        d.param(c::DOWNLOAD_MODEL.push_button())?;
        d.param(c::STATUS.label_text())?;
        d.param(c::MODEL_FOLDER.folder())?;
        Ok(())
    }

    fn create(_fx: &Instance) -> Result<Self> {
        Ok(DepthMap)
    }

    const CUDA: bool = true;

    fn cuda_ready() -> std::result::Result<(), String> {
        cuda::ready()
    }

    fn render_cuda(&self, fx: &Instance, args: &RenderArgs, cuda: &ofx::CudaRender) -> Result<()> {
        cuda::render(fx, args, cuda)
    }

    fn changed(&self, fx: &Instance, param: &str, reason: ChangeReason, _time: f64) -> Result<()> {
        // OFX lets a plugin set controls here but not while rendering, so the Status line is
        // refreshed on every user edit: the backend in use, or what is missing.
        if reason != ChangeReason::UserEdit || param == c::STATUS.name {
            return Ok(());
        }
        let downloaded = if param == c::DOWNLOAD_MODEL.name { Some(download_model(fx, "Depth Map", depth::FILE)?) } else { None };
        let text = match estimator(&fx.params().string(c::MODEL_FOLDER.name)?) {
            Ok(estimator) => format!("Model runs on {} · {}", estimator.backend(), super::gpu_status::depth_map_stages(cuda::ready())),
            Err(e) => e.message,
        };
        // Setting Status also makes the host render again, now with the model.
        let text = match downloaded {
            Some(done) => format!("{done}. {text}"),
            None => text,
        };
        log::info!("Depth Map: {text}");
        fx.params().set_string(c::STATUS.name, &text)
    }

    fn render(&self, fx: &Instance, args: &RenderArgs) -> Result<()> {
        let settings = Settings::read(fx, args.time)?;
        let source_clip = fx.required_clip(SOURCE)?;
        let mut output = fx
            .required_clip(OUTPUT)?
            .image(args.time)?
            .ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
        let Some(source) = source_clip.image(args.time)? else {
            imaging::copy(&mut output.view_mut(), args.window, None);
            return Ok(());
        };
        let source_view = source.view();
        let bounds = source_view.bounds();
        let (width, height) = (bounds.width(), bounds.height());
        if width == 0 || height == 0 {
            // Nothing to estimate (a 0×0 or inside-out source): the output is the empty source.
            imaging::copy(&mut output.view_mut(), args.window, Some(&source_view));
            return Ok(());
        }
        let estimator = match estimator(&settings.model_folder) {
            Ok(estimator) => estimator,
            Err(e) if !Host::current().shows_messages() => {
                // MLT shows the source when a render fails and no message at all: the missing
                // or broken model would look like an effect that does nothing.
                log::error!("Depth Map: {} (output marked with red stripes: this host shows no messages)", e.message);
                imaging::failure_stripes(&mut output.view_mut(), args.window, Some(&source_view));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let content = source.content_hash();
        let raw = raw_depth(&estimator, content, &source_view, &settings)?;
        let temporal = settings.temporal_here(fx);
        let size = (width, height);
        let depth = match temporal {
            None => FRAME_DEPTH.get_or_compute(std::slice::from_ref(&raw), 0, None, size, || to_frame_size(&normalize(&raw), &raw, width, height)),
            Some(temporal) => {
                let images = neighbour_images(&source_clip, args.time, temporal.radius, size)?;
                let views: Vec<Option<(ImageRef<'_>, &ofx::Image)>> = images.iter().map(|(_, image)| image.as_ref().map(|i| (i.view(), i))).collect();
                let mut frames = Vec::with_capacity(views.len());
                for view in &views {
                    frames.push(match view {
                        None => ShotFrame::new(content, raw.clone(), &source_view),
                        Some((view, image)) => {
                            let hash = image.content_hash();
                            ShotFrame::new(hash, raw_depth(&estimator, hash, view, &settings)?, view)
                        }
                    });
                }
                let target = images.iter().position(|(k, _)| *k == 0).expect("the frame itself is in its window");
                stabilized(&frames, target, temporal, size)
            }
        };
        // Pixel sizes scale with the image's own render scale (Fusion's can differ from the args).
        let scale = source.render_scale().0 as f32;
        let show_depth = settings.preview || settings.output == Output::Depth;
        // Every tile of a frame wants the same finished plane: the first makes it, the others
        // (and re-renders with the same settings) only place their own rows.
        let key = FinishedKey { depth: Arc::as_ptr(&depth) as usize, look: settings.look_bits(show_depth, scale) };
        let finished = FINISHED.get_or_try_insert_with(&key, |f| (f.plane.data.len() + f._depth.len()) * 4, || {
            let mut data = Vec::new();
            data.try_reserve_exact(depth.len()).map_err(|_| Error::new(ofx::Status::ERR_MEMORY, format!("Depth Map: not enough memory for a {width}×{height} frame")))?;
            data.extend_from_slice(&depth);
            let mut plane = Plane { width, height, data };
            let levels = settings.levels.prepared();
            plane.map(|d| levels.apply(d));
            if !show_depth {
                finish_matte(&mut plane, &settings, &source_view, scale);
            }
            Ok::<_, Error>(Finished { _depth: depth.clone(), plane })
        })?;
        let plane = &finished.plane;
        let mode = match (show_depth, settings.output) {
            (false, Output::Alpha) => MatteOutput::AlphaStraight,
            _ => MatteOutput::Grey,
        };
        place_plane(&mut output.view_mut(), args.window, Some(&source_view), plane, bounds, mode);
        Ok(())
    }

    fn frames_needed(&self, fx: &Instance, time: f64) -> Result<Vec<FramesNeeded>> {
        let settings = Settings::read(fx, time)?;
        Ok(match settings.temporal {
            Some(t) => vec![FramesNeeded { clip: SOURCE, first: time - f64::from(t.radius), last: time + f64::from(t.radius) }],
            None => Vec::new(),
        })
    }

    fn whole_frame_inputs(&self) -> &'static [&'static str] {
        &[SOURCE]
    }

    /// Every cache of the process (raw depth, flows, finished planes) is shared by the instances of
    /// every effect, so a purge frees them all (and closes the models no render is using); the next
    /// render rebuilds what it needs.
    fn purge_caches(&self) {
        inference::budget::purge();
    }

    fn clip_preferences(&self, _fx: &Instance, prefs: &mut ClipPreferences) -> Result<()> {
        // The source's colour stays as it was; the matte rides along in alpha.
        prefs.output_components = Some(Components::Rgba);
        prefs.output_premultiplied = Some(false);
        Ok(())
    }
}

/// The shared estimator for the depth model in the chosen folder.
fn estimator(model_folder: &str) -> Result<Arc<DepthEstimator>> {
    let runtime = runtime()?;
    let path = model_search(model_folder).locate(depth::FILE).map_err(user_error)?;
    let estimator = DepthEstimator::shared(&runtime, &path, &SessionOptions::default()).map_err(user_error)?;
    Ok(estimator)
}

/// The raw depth of one frame at the settings' Quality and Source Colour: `content` (a hash of
/// the host's rows) finds it in the cache; only a miss converts the frame (to RGBA f32, then in
/// place for the network) and runs the model.
fn raw_depth(estimator: &DepthEstimator, content: u128, view: &ImageRef<'_>, settings: &Settings) -> Result<Arc<RawDepth>> {
    let b = view.bounds();
    estimator.depth_of(content, settings.quality, settings.colour, || (view.to_rgba_top_down(), b.width(), b.height())).map_err(user_error)
}

/// The frames around `time` by offset from it, in frame order: the frame itself as offset 0 with
/// no image (the caller has it), then the neighbours the host has at the frame's size (others,
/// and frames outside the clip, are left out).
fn neighbour_images(clip: &ofx::Clip, time: f64, radius: i32, size: (usize, usize)) -> Result<Vec<(i32, Option<ofx::Image>)>> {
    let range = clip.frame_range();
    // The control is clamped to its range when read; the bound holds here too, so no window
    // size reaches an allocation unchecked.
    let radius = radius.clamp(0, TEMPORAL_WINDOW_MAX);
    let mut images = Vec::with_capacity(2 * radius as usize + 1);
    for k in -radius..=radius {
        let t = time + f64::from(k);
        if k == 0 {
            images.push((0, None));
            continue;
        }
        if range.is_some_and(|(first, last)| t < first || t > last) {
            continue;
        }
        let Some(image) = clip.image(t)? else { continue };
        // Bounds, not a view: on the CUDA path the pixels are device memory.
        let bounds = image.bounds();
        if (bounds.width(), bounds.height()) == size {
            images.push((k, Some(image)));
        }
    }
    Ok(images)
}

/// One frame of a temporal window: its content hash (on the CUDA path its device fingerprint),
/// raw depth, and its luma at the stabiliser's working size: from the host pixels, made at most
/// once and only when a signature or flow is not cached, or made already (on the device).
struct ShotFrame<'a> {
    content: u128,
    raw: Arc<RawDepth>,
    pixels: Option<&'a ImageRef<'a>>,
    luma: OnceLock<Arc<Plane>>,
}

impl<'a> ShotFrame<'a> {
    fn new(content: u128, raw: Arc<RawDepth>, view: &'a ImageRef<'a>) -> ShotFrame<'a> {
        ShotFrame { content, raw, pixels: Some(view), luma: OnceLock::new() }
    }

    /// A frame whose working-size luma is already made.
    fn with_luma(content: u128, raw: Arc<RawDepth>, luma: Arc<Plane>) -> ShotFrame<'a> {
        ShotFrame { content, raw, pixels: None, luma: OnceLock::from(luma) }
    }

    fn luma(&self, size: (usize, usize)) -> Arc<Plane> {
        self.luma
            .get_or_init(|| {
                let view = self.pixels.expect("a frame without pixels has its luma");
                Arc::new(shrink_area(&luma_plane(view), size.0, size.1))
            })
            .clone()
    }
}

/// Frame `frames[target]`'s depth at `size`, stabilised over the frames of its shot in the window:
/// cut at scene cuts, then (Follow motion) aligned by optical flow. Signatures and flows come
/// from the motion cache, the finished plane from the frame cache.
fn stabilized(frames: &[ShotFrame<'_>], target: usize, temporal: Temporal, size: (usize, usize)) -> Arc<Vec<f32>> {
    let work = working_size(size, (frames[target].raw.width, frames[target].raw.height));
    let (members, target) = shot_members(frames, target, work);
    let members: Vec<&ShotFrame<'_>> = members.iter().map(|&i| &frames[i]).collect();
    let window: Vec<Arc<RawDepth>> = members.iter().map(|f| f.raw.clone()).collect();
    FRAME_DEPTH.get_or_compute(&window, target, Some((temporal.strength, temporal.radius as usize, temporal.motion)), size, || {
        let maps: Vec<&RawDepth> = window.iter().map(|m| m.as_ref()).collect();
        let window = Window { frames: &maps, target, radius: temporal.radius as usize };
        match temporal.motion {
            StabilizerMotion::Static => stabilize(&window, temporal.strength, None, size),
            StabilizerMotion::Follow => {
                let own = members[target];
                let alignments: Vec<Arc<Alignment>> =
                    members.iter().map(|f| MOTION.alignment(own.content, f.content, work, || (own.luma(work), f.luma(work)))).collect();
                let alignments: Vec<&Alignment> = alignments.iter().map(|a| a.as_ref()).collect();
                stabilize(&window, temporal.strength, Some(&alignments), size)
            }
        }
    })
}

/// The frames of `frames[target]`'s shot (cut at scene cuts by their signatures at `work`, from
/// the motion cache) whose raw depth has the target's size: their indices in `frames`, in frame
/// order, and the target's position among them.
fn shot_members(frames: &[ShotFrame<'_>], target: usize, work: (usize, usize)) -> (Vec<usize>, usize) {
    let raw = &frames[target].raw;
    let signatures: Vec<_> = frames.iter().map(|f| MOTION.signature(f.content, work, || f.luma(work))).collect();
    let shot = same_shot(&signatures.iter().map(|s| s.as_ref()).collect::<Vec<_>>(), target);
    // Raw maps of another size (the host changed the source's format mid-clip) cannot be averaged.
    let members: Vec<usize> = shot.filter(|&i| (frames[i].raw.width, frames[i].raw.height) == (raw.width, raw.height)).collect();
    let own = members.iter().position(|&i| i == target).expect("the frame is in its own shot");
    (members, own)
}

/// Isolate, invert and Map Finesse, in that order, on the levelled depth.
fn finish_matte(plane: &mut Plane, settings: &Settings, source: &ImageRef<'_>, scale: f32) {
    if let Some(isolate) = settings.isolate {
        plane.map(|d| isolate.apply(d));
    }
    if settings.invert {
        plane.map(|d| 1.0 - d);
    }
    if let Some(finesse) = settings.finesse {
        finesse.apply(plane, source, scale);
    }
}
