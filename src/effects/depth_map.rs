//! **Depth Map** — a matte from monocular depth (Depth Anything V2 Small), near = white.
//!
//! The controls are Resolve Studio's (Quality, Depth Map Preview, Adjust Map Levels, Isolate
//! Specific Depth, Invert, Map Finesse) plus what Resolve lacks: Temporal Stability, which aligns
//! each frame's depth to its neighbours so mattes do not flicker, and a depth cache, so moving
//! any slider re-renders without running the model.
//!
//! - Identifier `org.deepmatte.DepthMap`, grouping `DeepMatte`, version 1.0 (a minor bump keeps
//!   projects loading; a major bump makes hosts treat it as a new effect).
//! - Contexts Filter and General; depths 8, 16-bit and float; RGBA and RGB in, RGBA out; tiles
//!   (each tile reads the whole frame's depth from the cache); temporal clip access; fully thread
//!   safe (the model is shared and its runs are serialised inside the engine).
//!
//! Render, top to bottom: source frame → raw depth (cache or model) → normalised, or stabilised
//! over the frame's window → frame size → levels → isolate → invert → finesse → output.

use depth::{normalize, stabilize, to_frame_size, DepthEstimator, DepthMap as RawDepth, FrameDepthCache, Quality as ModelQuality, Window};
use imaging::{place_plane, Components, Finesse, ImageRef, MatteLevels, MatteOutput, Plane};
use inference::budget::Lru;
use inference::SessionOptions;
use ofx::{
    BitDepth, ChangeReason, Choice, ChoiceOption, ClipDef, ClipPreferences, Context, Describe, Effect, EffectInfo, Error, FramesNeeded,
    Instance, MessageKind, ParamDef, RenderArgs, Result, ThreadSafety,
};
use std::sync::{Arc, LazyLock};

use super::runtime::{models_folder, runtime, user_error};

/// The effect; the model and depth cache live in the process-wide estimator.
pub struct DepthMap;

/// Finished depth planes, shared by every instance (256 MB: about 30 frames at 1080p).
static FRAME_DEPTH: LazyLock<FrameDepthCache> = LazyLock::new(|| FrameDepthCache::new(256 << 20));

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
    preview: bool,
    levels: MatteLevels,
    isolate: Option<Isolate>,
    invert: bool,
    finesse: Option<Finesse>,
    output: Output,
    temporal: Option<(f32, i32)>,
    model_folder: String,
}

/// Isolate Specific Depth: a band around a target depth.
#[derive(Clone, Copy)]
struct Isolate {
    target: f32,
    tolerance: f32,
    softness: f32,
}

impl Isolate {
    /// 1 within `tolerance` of the target, falling linearly to 0 over `softness` beyond it.
    fn apply(&self, d: f32) -> f32 {
        let distance = (d - self.target).abs() - self.tolerance;
        if distance <= 0.0 {
            1.0
        } else if self.softness <= 0.0 {
            0.0
        } else {
            (1.0 - distance / self.softness).max(0.0)
        }
    }
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

    fn read(fx: &Instance, time: f64) -> Result<Settings> {
        let p = fx.params();
        let isolate = match p.boolean("isolate", time)? {
            true => Some(Isolate {
                target: p.double("target_depth", time)? as f32,
                tolerance: p.double("tolerance", time)? as f32,
                softness: p.double("softness", time)? as f32,
            }),
            false => None,
        };
        let finesse = match p.boolean("post_processing", time)? {
            true => Some(Finesse {
                expand_contract: p.double("expand_contract", time)? as f32,
                blur: p.double("blur", time)? as f32,
                edge_radius: p.double("post_filter", time)? as f32,
            }),
            false => None,
        };
        let temporal = match p.boolean("temporal_stability", time)? {
            true => Some((p.double("temporal_strength", time)? as f32, p.int("temporal_window", time)?)),
            false => None,
        };
        Ok(Settings {
            quality: p.choice::<Quality>("quality", time)?.0,
            preview: p.boolean("preview", time)?,
            levels: MatteLevels {
                black: p.double("far_limit", time)? as f32,
                white: p.double("near_limit", time)? as f32,
                gamma: p.double("gamma", time)? as f32,
                invert: false,
            },
            isolate,
            invert: p.boolean("invert", time)?,
            finesse,
            output: p.choice("output", time)?,
            temporal: temporal.filter(|(strength, window)| *strength > 0.0 && *window > 0),
            model_folder: p.string("model_folder")?,
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

        d.param(ParamDef::choice("quality", "Quality", "Model resolution: Faster for roughs, Better for finals.", Quality(ModelQuality::Better)))?;
        d.param(ParamDef::boolean("preview", "Depth Map Preview", "Show the depth map (after Adjust Map Levels) instead of the output.", false))?;

        d.param(ParamDef::group("levels", "Adjust Map Levels", "Remap the normalised depth (near = 1).", true))?;
        d.param(ParamDef::double("far_limit", "Far Limit", "Depth mapped to black: everything farther is black.", 0.0, (0.0, 1.0), (0.0, 1.0)).parent("levels"))?;
        d.param(ParamDef::double("near_limit", "Near Limit", "Depth mapped to white: everything nearer is white.", 1.0, (0.0, 1.0), (0.0, 1.0)).parent("levels"))?;
        d.param(ParamDef::double("gamma", "Gamma", "Bends the mid depths: above 1 brightens them.", 1.0, (0.05, 10.0), (0.2, 5.0)).parent("levels"))?;

        d.param(ParamDef::group("isolate_group", "Isolate Specific Depth", "Keep only a band of depths.", false))?;
        d.param(ParamDef::boolean("isolate", "Isolate Specific Depth", "Matte only the depths near Target Depth.", false).parent("isolate_group"))?;
        d.param(ParamDef::double("target_depth", "Target Depth", "The depth to keep (0 = far, 1 = near).", 0.5, (0.0, 1.0), (0.0, 1.0)).parent("isolate_group"))?;
        d.param(ParamDef::double("tolerance", "Tolerance", "How far from Target Depth is still fully kept.", 0.1, (0.0, 1.0), (0.0, 0.5)).parent("isolate_group"))?;
        d.param(ParamDef::double("softness", "Softness", "How gradually the band fades beyond Tolerance.", 0.1, (0.0, 1.0), (0.0, 0.5)).parent("isolate_group"))?;

        d.param(ParamDef::boolean("invert", "Invert", "Swap near and far in the matte.", false))?;

        d.param(ParamDef::group("finesse", "Map Finesse", "Refine the matte's edges.", false))?;
        d.param(ParamDef::boolean("post_processing", "Post Processing", "Apply the refinements below.", false).parent("finesse"))?;
        d.param(ParamDef::double("expand_contract", "Expand/Contract", "Grow (positive) or shrink (negative) the matte, in pixels.", 0.0, (-100.0, 100.0), (-20.0, 20.0)).parent("finesse"))?;
        d.param(ParamDef::double("blur", "Blur", "Soften the matte, radius in pixels.", 0.0, (0.0, 200.0), (0.0, 50.0)).parent("finesse"))?;
        d.param(ParamDef::double(
            "post_filter",
            "Post Filter",
            "Edge-aware filter guided by the source image (snaps the matte to hair and fine edges), radius in pixels; 0 = off.",
            0.0,
            (0.0, 100.0),
            (0.0, 30.0),
        ).parent("finesse"))?;

        d.param(ParamDef::choice("output", "Output", "What the effect outputs.", Output::Alpha))?;

        d.param(ParamDef::group("temporal", "Temporal Stability", "Remove frame-to-frame flicker of the depth.", true))?;
        d.param(ParamDef::boolean("temporal_stability", "Temporal Stability", "Align each frame's depth to its neighbours so the matte does not flicker.", true).parent("temporal"))?;
        d.param(ParamDef::double("temporal_strength", "Strength", "How much the neighbours count against the frame itself.", 0.8, (0.0, 1.0), (0.0, 1.0)).parent("temporal"))?;
        d.param(ParamDef::int("temporal_window", "Window", "Frames on each side that stabilise a frame.", 2, (0, TEMPORAL_WINDOW_MAX), (0, 6)).parent("temporal"))?;

        d.param(ParamDef::label_text("status", "Status", "The backend the model runs on, and why a faster one is not used."))?;
        d.param(ParamDef::string(
            "model_folder",
            "Model Folder",
            "Folder holding depth_anything_v2_small.onnx; empty = DEEPMATTE_MODELS, else the bundle's models folder.",
            "",
        ))?;
        Ok(())
    }

    fn create(_fx: &Instance) -> Result<Self> {
        Ok(DepthMap)
    }

    fn changed(&self, fx: &Instance, param: &str, reason: ChangeReason, _time: f64) -> Result<()> {
        // OFX lets a plugin set controls here but not while rendering, so the Status line is
        // refreshed on every user edit: the backend in use, or what is missing.
        if reason != ChangeReason::UserEdit || param == "status" {
            return Ok(());
        }
        let text = match estimator(&fx.params().string("model_folder")?) {
            Ok(estimator) => format!("Model runs on {} · {}", estimator.backend(), super::gpu_status::stages()),
            Err(e) => e.message,
        };
        log::info!("Depth Map: {text}");
        fx.params().set_string("status", &text)
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
        let estimator = estimator(&settings.model_folder)?;
        let raw = raw_depth(&estimator, &source_view, settings.quality)?;
        let temporal = settings.temporal.filter(|_| fx.host_has_temporal_access());
        if settings.temporal.is_some() && temporal.is_none() {
            fx.persistent_message(
                MessageKind::Message,
                "Depth Map: this host gives effects no access to neighbouring frames, so Temporal Stability is off.",
            );
        } else {
            // This render worked: an error left by an earlier one (a missing model) is gone.
            fx.clear_persistent_message();
        }
        let (window, target) = match temporal {
            None => (vec![raw.clone()], 0),
            Some((_, radius)) => neighbours(&source_clip, &estimator, args.time, radius, &raw, (width, height), settings.quality)?,
        };
        let strength = temporal.map(|(strength, _)| strength);
        let depth = FRAME_DEPTH.get_or_compute(&window, target, strength, (width, height), || {
            let normalized = match strength {
                None => normalize(&raw),
                Some(strength) => {
                    let frames: Vec<&RawDepth> = window.iter().map(|m| m.as_ref()).collect();
                    stabilize(&Window { frames: &frames, target }, strength)
                }
            };
            to_frame_size(&normalized, &raw, width, height)
        });
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
            Some((_, radius)) => vec![FramesNeeded { clip: SOURCE, first: time - f64::from(radius), last: time + f64::from(radius) }],
            None => Vec::new(),
        })
    }

    fn whole_frame_inputs(&self) -> &'static [&'static str] {
        &[SOURCE]
    }

    /// Every cache of the process is shared by the instances of every effect, so a purge frees
    /// them all (and closes the models no render is using); the next render rebuilds what it needs.
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
    let path = inference::locate_model(&models_folder(model_folder), depth::FILE).map_err(user_error)?;
    let estimator = DepthEstimator::shared(&runtime, &path, &SessionOptions::default()).map_err(user_error)?;
    Ok(estimator)
}

/// The raw depth of one frame: a hash of the host's rows finds it in the cache; only a miss
/// converts the frame and runs the model.
fn raw_depth(estimator: &DepthEstimator, view: &ImageRef<'_>, quality: ModelQuality) -> Result<Arc<RawDepth>> {
    let b = view.bounds();
    estimator.depth_of(view.content_hash(), quality, || (view.to_rgba_top_down(), b.width(), b.height())).map_err(user_error)
}

/// Raw depth of the frames around `time` (the target included), in frame order, and the target's
/// index among them. Frames the host does not have, or of another size, are left out.
fn neighbours(
    clip: &ofx::Clip,
    estimator: &DepthEstimator,
    time: f64,
    radius: i32,
    target: &Arc<RawDepth>,
    size: (usize, usize),
    quality: ModelQuality,
) -> Result<(Vec<Arc<RawDepth>>, usize)> {
    let range = clip.frame_range();
    // The control is clamped to its range when read; the bound holds here too, so no window
    // size reaches an allocation unchecked.
    let radius = radius.clamp(0, TEMPORAL_WINDOW_MAX);
    let mut window = Vec::with_capacity(2 * radius as usize + 1);
    let mut target_index = 0;
    for k in -radius..=radius {
        let t = time + f64::from(k);
        if k == 0 {
            target_index = window.len();
            window.push(target.clone());
            continue;
        }
        if range.is_some_and(|(first, last)| t < first || t > last) {
            continue;
        }
        let Some(image) = clip.image(t)? else { continue };
        let view: ImageRef<'_> = image.view();
        if (view.bounds().width(), view.bounds().height()) != size {
            continue;
        }
        window.push(raw_depth(estimator, &view, quality)?);
    }
    Ok((window, target_index))
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
