//! **Magic Mask** — click on an object, get its mask, track it through the clip with SAM 2.1, and
//! never track it again: every tracked frame is kept on disk with the project.
//!
//! - Identifier `org.deepmatte.MagicMask`, grouping `DeepMatte`, version 1.0 (a minor bump keeps
//!   projects loading; a major bump makes hosts treat it as a new effect).
//! - Contexts Filter and General; depths 8, 16-bit and float; RGBA and RGB in, RGBA out; tiles;
//!   temporal clip access (tracking reads the clip's frames); fully thread safe for renders
//!   (they only read the mask store).
//! - Prompts: click = positive point, Alt/Option-click = negative, Ctrl-drag = box, drag = move,
//!   Delete = remove the selected point — or, without an overlay, the Point control and the Add
//!   Positive / Add Negative / Remove Point / Clear buttons. An edit on frame k re-tracks from k
//!   only where its neighbours were tracked from it ([`segment::retrack_plan`]).
//! - Masks: one 16-bit PNG per frame in `<Store Folder>/<id>` with a manifest; rendering reads
//!   them and never runs a model. Export Matte writes them as a luma-matte sequence.
//! - CUDA render (when the host renders on CUDA): finesse and view of the stored mask on the
//!   device (`cuda.rs`); frames that need a model render on the CPU.
//! - Source Colour: scene-linear frames are sRGB-encoded for SAM 2.1 and U²-Netp (trained on
//!   display-referred photos). It applies when tracking runs; masks already tracked are kept.

pub mod controls;
mod cuda;
mod on_render;
mod overlay;
mod prompts;
mod tracking;

use self::controls as c;
use self::overlay::{Edit, ViewerState};
use self::prompts::{Prompt, PromptShape, Prompts};
use self::tracking::{bad_store_id, is_store_id, open_store, store_error, PixelGrid, TrackJob};
use super::source_colour::SourceColour;
use imaging::{place_plane, Components, Finesse, MatteLevels, MatteOutput, Plane};
use ofx::{
    BitDepth, ChangeReason, Choice, ChoiceOption, ClipDef, ClipPreferences, Context, Describe, Effect, EffectInfo,
    Error, Host, Instance, MessageKind, Overlay, OverlayEvent, RenderArgs, Result, Shape, ThreadSafety,
};
use segment::{retrack_plan, Direction, StoreError};
use inference::budget::Lru;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

/// The effect: the viewer gesture in progress (masks and prompts live in the project and store).
pub struct MagicMask {
    viewer: Mutex<ViewerState>,
    /// This instance among the live ones, for telling duplicated nodes apart (they share a store id).
    owner: u64,
}

impl Drop for MagicMask {
    fn drop(&mut self) {
        tracking::release(self.owner);
    }
}

const SOURCE: &str = "Source";

const OUTPUT: &str = "Output";

/// The `quality` control: which SAM 2.1 network tracks (as Resolve's Faster / Better change the
/// network). Each keeps its own masks in the store; Smart Refine is a separate control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quality {
    /// SAM 2.1 tiny.
    Faster,
    /// SAM 2.1 small.
    Better,
}

impl Choice for Quality {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: Quality::Faster, id: "faster", label: "Faster", hint: "Track with SAM 2.1 tiny." },
        ChoiceOption { value: Quality::Better, id: "better", label: "Better", hint: "Track with SAM 2.1 small: slower, steadier." },
    ];
}

impl Quality {
    fn id(self) -> &'static str {
        Self::OPTIONS[self.index() as usize].id
    }

    /// The network this quality tracks with.
    fn size(self) -> segment::Sam2Size {
        match self {
            Quality::Faster => segment::Sam2Size::Tiny,
            Quality::Better => segment::Sam2Size::Small,
        }
    }

    /// This quality's folder in the store, inside `<store folder>`: the default, Better, keeps the
    /// instance's id, Faster `<id>-tiny`. (Masks tracked before Quality picked the network were
    /// SAM 2.1 tiny's, recorded as model `sam2.1`: under Better they show as out of date.)
    fn store_name(self, id: &str) -> String {
        match self {
            Quality::Faster => format!("{id}-tiny"),
            Quality::Better => id.to_owned(),
        }
    }

    const ALL: [Quality; 2] = [Quality::Faster, Quality::Better];
}

/// The `mode` control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Prompts,
    AutoSubject,
}

impl Choice for Mode {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: Mode::Prompts, id: "prompts", label: "Prompts", hint: "Track the object your clicks select (SAM 2)." },
        ChoiceOption {
            value: Mode::AutoSubject,
            id: "auto_subject",
            label: "Auto Subject",
            hint: "The most salient subject of each frame (U²-Netp); a positive click picks one subject.",
        },
    ];
}

/// The `view` control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View(MatteOutput);

impl Choice for View {
    const OPTIONS: &'static [ChoiceOption<Self>] = &[
        ChoiceOption { value: View(MatteOutput::Tint), id: "overlay", label: "Overlay", hint: "The object tinted over the image." },
        ChoiceOption { value: View(MatteOutput::Grey), id: "matte", label: "Matte", hint: "The matte in black and white." },
        ChoiceOption { value: View(MatteOutput::AlphaStraight), id: "alpha", label: "Alpha over source", hint: "Source colour, matte in alpha." },
    ];
}

/// Matte Finesse and view, read at one time, with what the networks are given.
struct Look {
    quality: Quality,
    mode: Mode,
    /// Source Colour: how frames are encoded for SAM 2 and U²-Netp (not part of [`Look::bits`]:
    /// it changes the saliency map, which the finished key names, and tracking, not the matte).
    colour: imaging::SourceColour,
    levels: MatteLevels,
    finesse: Finesse,
    view: MatteOutput,
}

impl Look {
    /// Every setting applied to the mask, and the render scale, as bits for [`FinishedKey`].
    fn bits(&self, scale: f32) -> Vec<u32> {
        let (l, f) = (&self.levels, &self.finesse);
        vec![
            l.black.to_bits(),
            l.white.to_bits(),
            u32::from(l.invert),
            f.expand_contract.to_bits(),
            f.blur.to_bits(),
            f.edge_radius.to_bits(),
            scale.to_bits(),
        ]
    }

    fn read(fx: &Instance, time: f64) -> Result<Look> {
        let p = fx.params();
        let quality = p.choice(c::QUALITY.name, time)?;
        Ok(Look {
            quality,
            mode: p.choice(c::MODE.name, time)?,
            colour: p.choice::<SourceColour>(c::SOURCE_COLOUR.name, time)?.0,
            levels: MatteLevels {
                black: p.double(c::BLACK_CLIP.name, time)? as f32,
                white: p.double(c::WHITE_CLIP.name, time)? as f32,
                gamma: 1.0,
                invert: p.boolean(c::INVERT.name, time)?,
            },
            finesse: Finesse {
                expand_contract: p.double(c::EXPAND_CONTRACT.name, time)? as f32,
                blur: p.double(c::BLUR.name, time)? as f32,
                // Its own control, whatever the Quality (which picks the tracking network).
                edge_radius: p.double(c::SMART_REFINE.name, time)? as f32,
            },
            view: p.choice::<View>(c::VIEW.name, time)?.0,
        })
    }
}

fn frame_of(time: f64) -> i32 {
    time.round() as i32
}

impl MagicMask {
    /// Which stored mask the frame at `time` shows in Prompts mode, or why it has none: what the
    /// CPU and CUDA renders share (they differ only in the pixel work). With Track on Render on
    /// and a store folder, `track` runs first with the request: the CPU render tracks
    /// ([`on_render::ensure`]); the CUDA render refuses a frame that would need the model.
    fn stored(&self, fx: &Instance, look: &Look, time: f64, track: impl FnOnce(&on_render::Request) -> Result<()>) -> Result<Stored> {
        let p = fx.params();
        let prompts = Prompts::parse(&p.string(c::PROMPTS.name)?);
        let track_on_render = p.boolean(c::TRACK_ON_RENDER.name, time)?;
        let mut id = p.string(c::STORE_ID.name)?;
        if id.is_empty() && track_on_render && !prompts.0.is_empty() {
            // A render cannot save a new id (and MLT keeps no instance): the store is named
            // from the prompts, the same in every process.
            id = format!("mm-{}", tracking::prompts_hash(&prompts));
        }
        if !id.is_empty() && !is_store_id(&id) {
            // Never a folder: a project file is untrusted input.
            return Ok(Stored::BadId(bad_store_id(&id).message));
        }
        let folder = if id.is_empty() { None } else { Some(tracking::store_root(&p.string(c::STORE_FOLDER.name)?)?.join(look.quality.store_name(&id))) };
        if let (Some(folder), true) = (&folder, track_on_render) {
            let clip = fx.required_clip(SOURCE)?;
            let model_folder = p.string(c::MODEL_FOLDER.name)?;
            let frame = frame_of(time);
            track(&on_render::Request { fx, clip: &clip, folder, prompts: &prompts, frame, quality: look.quality.id(), size: look.quality.size(), colour: look.colour, model_folder: &model_folder })?;
        }
        let prompts = tracking::prompts_hash(&prompts);
        if let Some(folder) = &folder {
            tracking::note_use(folder, self.owner, &prompts);
        }
        Ok(Stored::In { folder, prompts })
    }
}

impl Effect for MagicMask {
    const INFO: EffectInfo = EffectInfo {
        id: c"org.deepmatte.MagicMask",
        label: "Magic Mask",
        grouping: "DeepMatte",
        description: "Click an object, track its mask through the clip (SAM 2.1); masks are kept on disk and never re-tracked.",
        version: (1, 0),
        contexts: &[Context::Filter, Context::General],
        depths: &[BitDepth::U8, BitDepth::U16, BitDepth::F32],
        tiles: true,
        temporal_access: true,
        thread_safety: ThreadSafety::FullySafe,
        overlay: true,
    };

    fn describe(_context: Context, d: &mut Describe) -> Result<()> {
        d.clip(ClipDef::new(SOURCE, &[Components::Rgba, Components::Rgb]).temporal())?;
        d.clip(ClipDef::new(OUTPUT, &[Components::Rgba]))?;

        d.param(c::PROMPTS_GROUP.group(true))?;
        d.param(c::POINT.position((0.0, 0.0)).animates(false).parent(c::PROMPTS_GROUP.name))?;
        d.param(c::ADD_POSITIVE.push_button().parent(c::PROMPTS_GROUP.name))?;
        d.param(c::ADD_NEGATIVE.push_button().parent(c::PROMPTS_GROUP.name))?;
        d.param(c::REMOVE_POINT.push_button().parent(c::PROMPTS_GROUP.name))?;
        d.param(c::CLEAR_PROMPTS.push_button().parent(c::PROMPTS_GROUP.name))?;
        d.param(c::PROMPT_LIST.label_text().parent(c::PROMPTS_GROUP.name))?;
        // Visible (not secret): hosts without buttons or an overlay (MLT) set the prompts here.
        d.param(c::PROMPTS.string("").animates(false).parent(c::PROMPTS_GROUP.name))?;

        d.param(c::TRACKING.group(true))?;
        d.param(c::TRACK_FORWARD.push_button().parent(c::TRACKING.name))?;
        d.param(c::TRACK_BACKWARD.push_button().parent(c::TRACKING.name))?;
        d.param(c::TRACK_BOTH.push_button().parent(c::TRACKING.name))?;
        d.param(c::TRACK_FRAME.push_button().parent(c::TRACKING.name))?;
        d.param(c::QUALITY.choice(Quality::Better).parent(c::TRACKING.name))?;
        d.param(c::MODE.choice(Mode::Prompts).parent(c::TRACKING.name))?;
        d.param(c::SOURCE_COLOUR.choice(SourceColour(imaging::SourceColour::Display)).parent(c::TRACKING.name))?;
        d.param(c::TRACK_ON_RENDER.boolean(!Host::current().has_push_buttons()).animates(false).parent(c::TRACKING.name))?;
        d.param(c::STATUS.label_text().parent(c::TRACKING.name))?;

        d.param(c::STORE.group(false))?;
        d.param(c::STORE_FOLDER.folder().parent(c::STORE.name))?;
        d.param(c::STORE_ID.string("").animates(false).parent(c::STORE.name))?;
        d.param(c::EXPORT_FOLDER.folder().parent(c::STORE.name))?;
        d.param(c::EXPORT_TEMPLATE.string("{clip}_matte.{frame:04}.png").animates(false).parent(c::STORE.name))?;
        d.param(c::EXPORT_MATTE.push_button().parent(c::STORE.name))?;
        d.param(c::MODEL_FOLDER.folder().parent(c::STORE.name))?;

        d.param(c::FINESSE.group(true))?;
        d.param(c::BLACK_CLIP.double(0.0, (0.0, 1.0), (0.0, 1.0)).parent(c::FINESSE.name))?;
        d.param(c::WHITE_CLIP.double(1.0, (0.0, 1.0), (0.0, 1.0)).parent(c::FINESSE.name))?;
        d.param(c::EXPAND_CONTRACT.double(0.0, (-100.0, 100.0), (-20.0, 20.0)).parent(c::FINESSE.name))?;
        d.param(c::BLUR.double(0.0, (0.0, 200.0), (0.0, 50.0)).parent(c::FINESSE.name))?;
        d.param(c::SMART_REFINE.double(0.0, (0.0, 100.0), (0.0, 30.0)).parent(c::FINESSE.name))?;
        d.param(c::INVERT.boolean(false).parent(c::FINESSE.name))?;

        d.param(c::VIEW.choice(View(MatteOutput::Tint)))?;
        Ok(())
    }

    fn create(_fx: &Instance) -> Result<Self> {
        static INSTANCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let owner = INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(MagicMask { viewer: Mutex::new(ViewerState::default()), owner })
    }

    fn render(&self, fx: &Instance, args: &RenderArgs) -> Result<()> {
        let look = Look::read(fx, args.time)?;
        let mut output = fx.required_clip(OUTPUT)?.image(args.time)?.ok_or_else(|| Error::failed("the host gave no output image to render into"))?;
        let Some(source) = fx.required_clip(SOURCE)?.image(args.time)? else {
            imaging::copy(&mut output.view_mut(), args.window, None);
            return Ok(());
        };
        let view = source.view();
        let bounds = view.bounds();
        if bounds.is_empty() {
            // Nothing to matte (a 0×0 or inside-out source): the output is the empty source.
            imaging::copy(&mut output.view_mut(), args.window, Some(&view));
            return Ok(());
        }
        // Everything that can fail for want of a model or a store; under MLT (no message area) a
        // failure is drawn in the picture instead of showing the source unmarked.
        let result = (|| -> Result<()> {
            let frame = frame_of(args.time);
            // Pixel sizes scale with the image's own render scale (Fusion's can differ from the args).
            let scale = source.render_scale().0 as f32;
            let (width, height) = (bounds.width(), bounds.height());
            let basis = match look.mode {
                Mode::Prompts => match self.stored(fx, &look, args.time, on_render::ensure)? {
                    Stored::BadId(text) => {
                        fx.persistent_message(MessageKind::Error, &text);
                        let empty = Plane::try_filled(width, height, 0.0).map_err(|e| Error::new(ofx::Status::ERR_MEMORY, e.to_string()))?;
                        place_plane(&mut output.view_mut(), args.window, Some(&view), &empty, bounds, look.view);
                        return Ok(());
                    }
                    Stored::In { folder, prompts } => {
                        // Smart Refine reads the source, so its pixels are part of what the matte is made from.
                        let source = (look.finesse.edge_radius > 0.0).then(|| source.content_hash());
                        Basis::Stored { stamp: folder.as_deref().and_then(segment::MaskStore::stamp), folder, frame, source, prompts }
                    }
                },
                Mode::AutoSubject => {
                    let model = tracking::saliency_model(&fx.params().string(c::MODEL_FOLDER.name)?)?;
                    let saliency = saliency(&model, &view, source.content_hash(), look.colour)?;
                    let click = auto_subject_click(fx, frame, &PixelGrid::of(&source))?;
                    Basis::Saliency { saliency: Arc::as_ptr(&saliency) as usize, click, keep: KeepAlive(saliency) }
                }
            };
            // Every tile of a frame wants the same finished matte: the first makes it (reading the store
            // or the saliency once), the others only place their own rows.
            let key = FinishedKey { basis, size: (width, height), look: look.bits(scale) };
            let finished = FINISHED.get_or_try_insert_with(&key, |f| f.plane.data.len() * 4, || {
                let (mut plane, problem, stale) = match &key.basis {
                    Basis::Stored { folder, prompts, .. } => {
                        let FrameMask { mask, problem, stale } = stored_mask(folder.as_deref(), frame, prompts, look.quality.size().model_name());
                        (stored_matte(mask.as_ref(), width, height)?, problem, stale)
                    }
                    Basis::Saliency { click, keep, .. } => (subject_plane(&keep.0, width, height, *click), None, false),
                };
                look.finesse.apply(&mut plane, &view, scale);
                let levels = look.levels.prepared();
                plane.map(|m| levels.apply(m));
                Ok::<_, Error>(Finished { plane, problem, stale })
            })?;
            show_problem(fx, finished.problem.as_ref());
            place_plane(&mut output.view_mut(), args.window, Some(&view), &finished.plane, bounds, view_mode(look.view, finished.stale));
            Ok(())
        })();
        match result {
            Err(e) if !Host::current().shows_messages() => {
                log::error!("Magic Mask: {} (output marked with red stripes: this host shows no messages)", e.message);
                imaging::failure_stripes(&mut output.view_mut(), args.window, Some(&view));
                Ok(())
            }
            other => other,
        }
    }

    /// Needs only the kernels the Load self-test compiled and checked: no model runs on this path
    /// (frames that need one go back to the CPU), so no ONNX Runtime CUDA provider is required.
    const CUDA: bool = true;

    fn render_cuda(&self, fx: &Instance, args: &RenderArgs, cuda: &ofx::CudaRender) -> Result<()> {
        cuda::render(self, fx, args, cuda)
    }

    fn changed(&self, fx: &Instance, param: &str, reason: ChangeReason, time: f64) -> Result<()> {
        if reason != ChangeReason::UserEdit {
            return Ok(());
        }
        let frame = frame_of(time);
        let saved_prompts = || fx.params().string(c::PROMPTS.name).map(|text| Prompts::parse(&text));
        let point = || fx.params().double_2d(c::POINT.name, time);
        match param {
            _ if param == c::ADD_POSITIVE.name || param == c::ADD_NEGATIVE.name => {
                let (x, y) = point()?;
                let shape = if param == c::ADD_POSITIVE.name { PromptShape::Positive(x, y) } else { PromptShape::Negative(x, y) };
                apply_edit(fx, self.owner, &mut saved_prompts()?, Edit::Add(Prompt { frame, shape }))
            }
            _ if param == c::REMOVE_POINT.name => {
                let mut prompts = saved_prompts()?;
                // Within a generous radius: the Point control is typed, not clicked.
                match prompts.nearest(frame, point()?, f64::INFINITY) {
                    Some(index) => apply_edit(fx, self.owner, &mut prompts, Edit::Remove(index)),
                    None => Err(Error::failed(format!("no prompt on frame {frame} to remove"))),
                }
            }
            _ if param == c::CLEAR_PROMPTS.name => {
                if !is_store_id(&fx.params().string(c::STORE_ID.name)?) {
                    // An id this plugin did not make is never used as a folder: start afresh.
                    fx.params().set_string(c::STORE_ID.name, &tracking::new_store_id())?;
                }
                // Cleared prompts differ from a duplicate's: its masks are forked away, not wiped.
                for quality in Quality::ALL {
                    let mut store = store(fx, self.owner, &Prompts::default(), quality)?;
                    let frames: Vec<i32> = store.frames().map(|(f, _)| f).collect();
                    store.forget(frames).map_err(store_error)?;
                }
                save_prompts(fx, &Prompts::default())?;
                fx.params().set_string(c::STATUS.name, "Cleared: no prompts, no stored masks.")
            }
            _ if [c::TRACK_FORWARD, c::TRACK_BACKWARD, c::TRACK_BOTH, c::TRACK_FRAME].iter().any(|b| b.name == param) => {
                let prompts = saved_prompts()?;
                let clip = fx.required_clip(SOURCE)?;
                let (first, last) = clip.frame_range().map(|(a, b)| (a.round() as i32, b.round() as i32)).unwrap_or((frame, frame));
                let runs = match param {
                    _ if param == c::TRACK_FORWARD.name => vec![(frame..=last, Direction::Forward)],
                    _ if param == c::TRACK_BACKWARD.name => vec![(first..=frame, Direction::Backward)],
                    _ if param == c::TRACK_BOTH.name => vec![(first..=frame, Direction::Backward), (frame..=last, Direction::Forward)],
                    _ => {
                        // From this frame's own prompts, else tracked up to it from the nearest
                        // prompted frame before it.
                        let start = prompts.frames().into_iter().filter(|&f| f <= frame).max().unwrap_or(frame);
                        vec![(start..=frame, Direction::Forward)]
                    }
                };
                let look = Look::read(fx, time)?;
                track(fx, store(fx, self.owner, &prompts, look.quality)?, &prompts, runs, &look)
            }
            _ if param == c::EXPORT_MATTE.name => export(fx, self.owner),
            _ => Ok(()),
        }
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
        prefs.output_components = Some(Components::Rgba);
        prefs.output_premultiplied = Some(false);
        Ok(())
    }

    fn overlay_draw(&self, fx: &Instance, overlay: &mut Overlay, time: f64) -> Result<()> {
        let prompts = Prompts::parse(&fx.params().string(c::PROMPTS.name)?);
        let selected = self.viewer.lock().unwrap_or_else(|e| e.into_inner()).selected;
        let r = overlay.pixel_scale().0 * 5.0;
        for (i, p) in prompts.0.iter().enumerate().filter(|(_, p)| p.frame == frame_of(time)) {
            let colour = match p.shape {
                PromptShape::Positive(..) => [0.2, 1.0, 0.3, 1.0],
                PromptShape::Negative(..) => [1.0, 0.25, 0.2, 1.0],
                PromptShape::Box(..) => [1.0, 0.85, 0.2, 1.0],
            };
            overlay.colour(colour);
            overlay.line_width(if selected == Some(i) { 3.0 } else { 1.5 });
            match p.shape {
                PromptShape::Positive(x, y) | PromptShape::Negative(x, y) => overlay.shape(Shape::Ellipse, &[(x - r, y - r), (x + r, y + r)]),
                PromptShape::Box(x1, y1, x2, y2) => overlay.shape(Shape::LineLoop, &[(x1, y1), (x2, y1), (x2, y2), (x1, y2)]),
            }
        }
        Ok(())
    }

    fn overlay_event(&self, fx: &Instance, event: &OverlayEvent) -> Result<bool> {
        let mut prompts = Prompts::parse(&fx.params().string(c::PROMPTS.name)?);
        let (used, edit) = self.viewer.lock().unwrap_or_else(|e| e.into_inner()).handle(&prompts, frame_of(event.time), event);
        if let Some(edit) = edit {
            apply_edit(fx, self.owner, &mut prompts, edit)?;
        }
        Ok(used)
    }
}

/// Saves the prompts and the list the user sees.
fn save_prompts(fx: &Instance, prompts: &Prompts) -> Result<()> {
    fx.params().set_string(c::PROMPTS.name, &prompts.serialize())?;
    fx.params().set_string(c::PROMPT_LIST.name, &prompts.summary())
}

/// Applies one prompt edit exactly as the buttons and the viewer make it, then re-tracks what the
/// edit affects: from its frame, over the frames that were tracked from there.
fn apply_edit(fx: &Instance, owner: u64, prompts: &mut Prompts, edit: Edit) -> Result<()> {
    let before = tracking::prompts_hash(prompts);
    let frame = match &edit {
        Edit::Add(p) => p.frame,
        Edit::Move { to, .. } => to.frame,
        Edit::Remove(i) => prompts.0.get(*i).map(|p| p.frame).ok_or_else(|| Error::failed("no such prompt"))?,
    };
    match edit {
        Edit::Add(p) => prompts.0.push(p),
        Edit::Move { index, to } => prompts.0[index] = to,
        Edit::Remove(index) => {
            prompts.0.remove(index);
        }
    }
    save_prompts(fx, prompts)?;
    let look = Look::read(fx, f64::from(frame))?;
    if look.mode == Mode::AutoSubject {
        // Auto Subject reads the clicks at render time; nothing to track.
        return Ok(());
    }
    if prompts.0.is_empty() {
        return fx.params().set_string(c::STATUS.name, "No prompts: add a positive point.");
    }
    let mut store = store(fx, owner, prompts, look.quality)?;
    let mut plan = retrack_plan(&store, frame);
    if prompts.on_frame(frame).next().is_none() {
        // The frame lost its last prompt: its neighbours now follow the other prompted frames.
        plan.retain(|(range, _)| range.start() != range.end());
    }
    // Frames the edit does not reach stay current under the new prompts; those it reaches keep the
    // old hash until re-tracked, so a cancelled re-track leaves them visibly stale.
    let after = tracking::prompts_hash(prompts);
    store.restamp(&before, &after, |f| !plan.iter().any(|(range, _)| range.contains(&f))).map_err(store_error)?;
    if plan.is_empty() {
        return Ok(());
    }
    track(fx, store, prompts, plan, &look)
}

/// The mask store instance `owner` writes with `prompts`, creating its id on first use. A node
/// duplicated in the host shares its original's id: when another live instance uses the folder with
/// other prompts, this one forks to a new id (with a copy of the masks), so neither ever
/// overwrites the other's frames. `quality` picks the network's folder ([`Quality::store_name`]).
fn store(fx: &Instance, owner: u64, prompts: &Prompts, quality: Quality) -> Result<segment::MaskStore> {
    let p = fx.params();
    let store_folder = p.string(c::STORE_FOLDER.name)?;
    let root = tracking::store_root(&store_folder)?;
    let hash = tracking::prompts_hash(prompts);
    let mut id = p.string(c::STORE_ID.name)?;
    if id.is_empty() {
        id = tracking::new_store_id();
        p.set_string(c::STORE_ID.name, &id)?;
    } else if !is_store_id(&id) {
        // A project file is untrusted: an id this plugin did not make never becomes a path.
        return Err(bad_store_id(&id));
    } else if tracking::shared_with_others(&root.join(quality.store_name(&id)), owner, &hash) {
        let forked = tracking::new_store_id();
        for q in Quality::ALL {
            tracking::copy_store(&root.join(q.store_name(&id)), &root.join(q.store_name(&forked)))?;
        }
        log::info!("Magic Mask: store {id} is used by another node with other prompts (a duplicated node); this one continues in {forked}");
        p.set_string(c::STORE_ID.name, &forked)?;
        id = forked;
    }
    tracking::note_use(&root.join(quality.store_name(&id)), owner, &hash);
    open_store(&store_folder, &id, &quality.store_name(&id))
}

/// Tracks `runs` with the network and Source Colour of `look`, and reports in the status line
/// (and a message when something went wrong).
fn track(
    fx: &Instance,
    mut store: segment::MaskStore,
    prompts: &Prompts,
    runs: Vec<(std::ops::RangeInclusive<i32>, Direction)>,
    look: &Look,
) -> Result<()> {
    let clip = fx.required_clip(SOURCE)?;
    let job = TrackJob { runs, quality: look.quality.id(), size: look.quality.size(), colour: look.colour };
    let models = fx.params().string(c::MODEL_FOLDER.name)?;
    let outcome = tracking::run(fx, &clip, &mut store, prompts, &job, &models)?;
    let (done, stored) = (outcome.done, store.frames().count());
    let status = if outcome.cancelled {
        format!("Cancelled after {done} frames; {stored} frames stored (every frame done is kept). Models on {}; {}.", outcome.backend, super::gpu_status::stages())
    } else {
        format!("Tracked {done} frames; {stored} frames stored in {}. Models on {}; {}.", store.folder().display(), outcome.backend, super::gpu_status::stages())
    };
    log::info!("Magic Mask: {status}");
    fx.params().set_string(c::STATUS.name, &status)
}

/// Writes the stored masks as a matte sequence.
fn export(fx: &Instance, owner: u64) -> Result<()> {
    let p = fx.params();
    let folder = p.string(c::EXPORT_FOLDER.name)?;
    if folder.trim().is_empty() {
        return Err(Error::failed("set Export Folder first"));
    }
    let quality = p.choice(c::QUALITY.name, 0.0)?;
    let store = store(fx, owner, &Prompts::parse(&p.string(c::PROMPTS.name)?), quality)?;
    let written = store.export(&p.string(c::EXPORT_TEMPLATE.name)?, std::path::Path::new(folder.trim()), "magic_mask").map_err(store_error)?;
    let status = format!("Exported {} frames to {}.", written.len(), folder.trim());
    fx.message(MessageKind::Message, &status);
    p.set_string(c::STATUS.name, &status)
}

/// Which stored mask a frame shows in Prompts mode ([`MagicMask::stored`]).
enum Stored {
    /// The project's store id is not one this plugin makes: the frame shows an empty matte (no
    /// finesse) and this error.
    BadId(String),
    /// The store folder (None while the node has no id: nothing tracked yet) and the hash of the
    /// node's prompts.
    In { folder: Option<PathBuf>, prompts: String },
}

/// A frame's stored mask as it comes from the store, with what to tell the user about it.
struct FrameMask {
    /// None: untracked or damaged; the frame renders an empty matte (before finesse and levels).
    mask: Option<segment::Mask>,
    problem: Option<(MessageKind, String)>,
    /// Tracked from other prompts or by another model: shown, but tinted blue-grey in Overlay.
    stale: bool,
}

/// The stored mask of `frame` in `folder`, what to tell the user about it, and whether it is
/// stale: an untracked or damaged frame has no mask and says why on the node; a frame tracked from
/// other prompts than `prompts` (their hash), or by another model, has its mask but says it is out
/// of date. Each Quality has its own folder, and `model` is the name its network records
/// ([`segment::Sam2Size::model_name`]). Shared by the CPU and CUDA renders.
fn stored_mask(folder: Option<&std::path::Path>, frame: i32, prompts: &str, model: &str) -> FrameMask {
    let read = match folder {
        None => Err(StoreError::NotTracked(frame)),
        Some(folder) => segment::MaskStore::open_folder(folder).and_then(|store| {
            let record = store.record(frame).cloned();
            store.read(frame).map(|mask| (mask, record))
        }),
    };
    match read {
        Ok((mask, record)) => {
            let stale = record.and_then(|r| {
                if r.model != model {
                    Some(format!("was tracked by model {} (this is {model})", r.model))
                } else if r.prompt_hash != prompts {
                    Some("was tracked from other prompts than the ones the node has now".to_owned())
                } else {
                    None
                }
            });
            let problem = stale.as_ref().map(|why| {
                let text = format!("Magic Mask: frame {frame} {why}, so its mask is out of date (blue-grey in the Overlay view): press Track to update it.");
                (MessageKind::Warning, text)
            });
            FrameMask { mask: Some(mask), problem, stale: stale.is_some() }
        }
        Err(StoreError::NotTracked(_)) => FrameMask {
            mask: None,
            problem: Some((MessageKind::Warning, format!("Magic Mask: frame {frame} is not tracked yet (empty matte): add a prompt or press Track."))),
            stale: false,
        },
        Err(e) => FrameMask {
            mask: None,
            problem: Some((MessageKind::Error, format!("Magic Mask: {e}. Press Track This Frame to re-track it (empty matte until then)."))),
            stale: false,
        },
    }
}

/// The CPU render's matte plane of a [`FrameMask`] at the render's size: the coverage, resized as
/// the CUDA render does (bilinear), or empty.
fn stored_matte(mask: Option<&segment::Mask>, width: usize, height: usize) -> Result<Plane> {
    let Some(mask) = mask else {
        return Plane::try_filled(width, height, 0.0).map_err(|e| Error::new(ofx::Status::ERR_MEMORY, e.to_string()));
    };
    let plane = imaging::coverage_plane(mask.width, mask.height, &mask.coverage);
    if (plane.width, plane.height) == (width, height) {
        return Ok(plane);
    }
    let data = imaging::resize::resize_plane(&plane.data, plane.width, plane.height, width, height, imaging::resize::Filter::Bilinear);
    Ok(Plane { width, height, data })
}

/// Puts a frame's message on the node, or clears the one an earlier render left.
fn show_problem(fx: &Instance, problem: Option<&(MessageKind, String)>) {
    match problem {
        None => fx.clear_persistent_message(),
        Some((kind, text)) => fx.persistent_message(*kind, text),
    }
}

/// The placement of the View control, with a stale mask's Overlay in the stale tint.
fn view_mode(view: MatteOutput, stale: bool) -> MatteOutput {
    match view {
        MatteOutput::Tint if stale => MatteOutput::TintStale,
        view => view,
    }
}

/// What a finished matte is made from, besides the settings.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Basis {
    /// A stored mask: the store folder, the frame, the manifest's stamp (any write changes it, in
    /// this process or another), with Smart Refine the source's content hash, and the hash of the
    /// node's prompts (a mask tracked from others is shown stale).
    Stored { folder: Option<PathBuf>, frame: i32, stamp: Option<segment::StoreStamp>, source: Option<u128>, prompts: String },
    /// Auto Subject: the saliency map (by address; kept alive so the address stays its own) and
    /// the click in frame pixels.
    Saliency { saliency: usize, click: Option<(usize, usize)>, keep: KeepAlive },
}

/// Holds a saliency map alive for a key that names it by address; never part of the comparison.
#[derive(Clone)]
struct KeepAlive(Arc<Vec<f32>>);

impl PartialEq for KeepAlive {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for KeepAlive {}
impl std::hash::Hash for KeepAlive {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// A finished matte's identity: what it is made from, its size and its settings.
#[derive(Clone, PartialEq, Eq, Hash)]
struct FinishedKey {
    basis: Basis,
    size: (usize, usize),
    look: Vec<u32>,
}

/// A finished matte and the message that goes with it on the node.
struct Finished {
    plane: Plane,
    problem: Option<(MessageKind, String)>,
    /// Tracked from other prompts or by another model.
    stale: bool,
}

/// Finished mattes, so the tiles of one frame and re-renders with unchanged settings read the store
/// (or run U²-Netp) once (256 MB: ~30 frames at 1080p).
static FINISHED: LazyLock<Lru<FinishedKey, Finished>> = LazyLock::new(|| Lru::new(256 << 20));

/// U²-Netp saliency at frame size by the model file, the frame's content and its Source Colour
/// (which changes the network's input), like the depth cache: Auto Subject runs the network once
/// per frame, not once per render or tile (64 MB).
static SALIENCY: LazyLock<Lru<(u64, u128, imaging::SourceColour), Vec<f32>>> = LazyLock::new(|| Lru::new(64 << 20));

/// `content` is the source image's [`ofx::Image::content_hash`]; on a miss the frame is encoded
/// for the network as `colour` says, in place, before U²-Netp's pre-process resizes it.
fn saliency(model: &inference::Model, view: &imaging::ImageRef<'_>, content: u128, colour: imaging::SourceColour) -> Result<Arc<Vec<f32>>> {
    let key = (model.identity(), content, colour);
    SALIENCY.get_or_try_insert_with(&key, |s| s.len() * 4, || {
        let b = view.bounds();
        let mut rgba = view.to_rgba_top_down();
        imaging::encode_for_network(&mut rgba, colour);
        let image = segment::Frame { width: b.width(), height: b.height(), rgba };
        segment::subject::saliency(model, &image).map_err(crate::effects::runtime::user_error)
    })
}

/// This frame's first positive click in frame pixels (x right, y down from the top row).
fn auto_subject_click(fx: &Instance, frame: i32, grid: &PixelGrid) -> Result<Option<(usize, usize)>> {
    let prompts = Prompts::parse(&fx.params().string(c::PROMPTS.name)?);
    let click = prompts.on_frame(frame).find_map(|p| match p.shape {
        // Canonical (y up, full resolution) to the frame's pixels (y down from the top row).
        PromptShape::Positive(x, y) => {
            let (px, py) = grid.top_down((x, y));
            Some((px.max(0.0) as usize, py.max(0.0) as usize))
        }
        _ => None,
    });
    Ok(click)
}

/// Auto Subject: the salient-object matte, or the subject under the click.
fn subject_plane(saliency: &[f32], width: usize, height: usize, click: Option<(usize, usize)>) -> Plane {
    let Some((px, py)) = click else {
        return Plane { width, height, data: saliency.to_vec() };
    };
    let data = match segment::subject::component_at(saliency, width, height, px, py) {
        Some(inside) => saliency.iter().zip(inside).map(|(&s, keep)| if keep { s } else { 0.0 }).collect(),
        None => vec![0.0; saliency.len()],
    };
    Plane { width, height, data }
}
