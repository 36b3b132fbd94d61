//! The render pipeline a host runs for one frame — clip preferences, region of
//! definition, identity, regions of interest, render (in strips per profile), sequence
//! begin/end, frames needed — and the [`RenderOptions`] that force the situations the
//! OFX spec allows (offset bounds, negative row bytes, small windows, render scales).

use crate::actions::{call, call_in_render};
use crate::clips::{
    allowed_depths, apply_formats, default_formats, default_rod, fetch_time, input_image, premultiplication,
    release_images,
};
use crate::image::{BitDepth, Components, Image, Rect};
use crate::objects::{lock, Effect};
use crate::ofx_str;
use crate::profile::HostProfile;
use crate::properties::PropertySet;
use crate::status::{self, OfxStatus};
use crate::HostError;
use openfx_sys as sys;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How to render, beyond what the profile does by itself: each field can force one of
/// the situations the OFX spec allows and plugins get wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderOptions {
    /// Render only this window (pixel coordinates at the render scale, of the image before
    /// `bounds_offset` moves it), clipped to the RoD. The output still covers the whole RoD.
    pub window: Option<Rect>,
    /// `kOfxImageEffectPropRenderScale`; inputs are scaled to it (nearest neighbour).
    pub render_scale: (f64, f64),
    /// Force the output clip's depth (instead of the deepest input).
    pub output_depth: Option<BitDepth>,
    /// Force the output clip's components.
    pub output_components: Option<Components>,
    /// Hand images over with negative row bytes (top row first in memory); the output
    /// comes back that way too.
    pub negative_row_bytes: bool,
    /// Move every image's bounds by this much, so nothing starts at (0, 0). The output
    /// comes back with the moved bounds.
    pub bounds_offset: (i32, i32),
    /// Number of horizontal strips to render, overriding the profile.
    pub tiles: Option<usize>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            window: None,
            render_scale: (1.0, 1.0),
            output_depth: None,
            output_components: None,
            negative_row_bytes: false,
            bounds_offset: (0, 0),
            tiles: None,
        }
    }
}

/// Frames a computed source produced, by (clip, time bits); `None` = no frame.
pub(crate) type FrameCache = Arc<Mutex<HashMap<(String, u64), Option<Arc<Image>>>>>;

/// Input images handed to a render's tiles, by (clip, time bits, requested area): every tile of one
/// frame gets the same pixels, as hosts with an image cache hand out one buffer.
pub(crate) type FetchedImages = Arc<Mutex<HashMap<(String, u64, Option<Rect>), Arc<Mutex<Image>>>>>;

/// One render call (or one tile of it) as the suites see it.
#[derive(Clone)]
pub(crate) struct RenderCtx {
    /// Tags the images fetched during this render, to find leaks.
    pub id: u64,
    pub time: f64,
    pub options: RenderOptions,
    pub negative_rows: bool,
    pub sequential: bool,
    /// Tiled renders hand over inputs cropped to the regions of interest.
    pub crop_to_roi: bool,
    /// Regions of interest per input clip (canonical), from GetRegionsOfInterest.
    pub rois: HashMap<String, [f64; 4]>,
    /// The tile the plugin renders into.
    pub output: Option<Arc<Mutex<Image>>>,
    /// Frames computed by `ClipSource::Func` during this render, by (clip, time bits).
    pub frames: FrameCache,
    /// Input images already prepared for this render (shared by its tiles).
    pub fetched: FetchedImages,
    /// The output's region of definition, canonical and in pixels.
    pub rod_canonical: [f64; 4],
    pub rod: Rect,
    /// The inputs' and output's pixel aspect ratio.
    pub pixel_aspect: f64,
    /// A CUDA render (resolve-cuda, plugin declared CUDA): the device images it fetched.
    pub cuda: Option<Arc<crate::cuda::CudaFrames>>,
}

impl RenderCtx {
    pub(crate) fn new(time: f64, options: &RenderOptions, profile: HostProfile, sequential: bool) -> RenderCtx {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        RenderCtx {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            time,
            options: options.clone(),
            negative_rows: options.negative_row_bytes || profile.negative_row_bytes(),
            sequential,
            crop_to_roi: false,
            rois: HashMap::new(),
            output: None,
            frames: Arc::default(),
            fetched: Arc::default(),
            rod_canonical: [0.0; 4],
            rod: Rect::new(0, 0, 0, 0),
            pixel_aspect: 1.0,
            cuda: None,
        }
    }

    /// The context of calls made outside any render (e.g. during InstanceChanged): the
    /// instance's proxy scale and pixel aspect.
    pub(crate) fn detached(effect: &Effect, time: f64) -> RenderCtx {
        let footage = *lock(&effect.runtime.footage);
        let options = RenderOptions { render_scale: footage.proxy_scale, ..RenderOptions::default() };
        let mut ctx = RenderCtx::new(time, &options, effect.plugin.profile, false);
        ctx.id = 0;
        ctx.pixel_aspect = footage.pixel_aspect;
        ctx
    }

    /// Canonical units → pixels along x and y: render scale, over the pixel aspect along x
    /// (OFX "Coordinate Systems").
    pub(crate) fn pixel_scale(&self) -> (f64, f64) {
        (self.options.render_scale.0 / self.pixel_aspect, self.options.render_scale.1)
    }
}

pub(crate) fn k(bytes: &'static [u8]) -> &'static str {
    ofx_str(bytes)
}

/// Canonical → pixel coordinates, rounded outwards.
pub(crate) fn to_pixels(r: [f64; 4], (sx, sy): (f64, f64)) -> Rect {
    Rect::new(
        (r[0] * sx).floor() as i32,
        (r[1] * sy).floor() as i32,
        (r[2] * sx).ceil() as i32,
        (r[3] * sy).ceil() as i32,
    )
}

fn to_canonical(r: Rect, (sx, sy): (f64, f64)) -> [f64; 4] {
    [r.x1 as f64 / sx, r.y1 as f64 / sy, r.x2 as f64 / sx, r.y2 as f64 / sy]
}

pub(crate) fn rect_ints(r: Rect) -> [i32; 4] {
    [r.x1, r.y1, r.x2, r.y2]
}

/// Turns an action status into a result: OK and "do the default" are fine.
pub(crate) fn check(effect: &Effect, action: &str, st: OfxStatus, mark: usize) -> Result<(), HostError> {
    match st {
        status::OK | status::REPLY_DEFAULT => Ok(()),
        status => {
            Err(HostError::Action { action: action.to_string(), status, messages: effect.journal.messages_since(mark) })
        }
    }
}

/// kOfxImageEffectActionGetClipPreferences, then applies (and validates) the answer.
fn clip_preferences(effect: &Arc<Effect>, ctx: &RenderCtx) -> Result<(), HostError> {
    let defaults = default_formats(effect, ctx);
    let out = PropertySet::new(&[]);
    for (clip, (depth, comps)) in &defaults {
        out.set_str(&format!("OfxImageClipPropComponents_{clip}"), comps.ofx_name());
        out.set_str(&format!("OfxImageClipPropDepth_{clip}"), depth.ofx_name());
        out.set_double(&format!("OfxImageClipPropPAR_{clip}"), 1.0);
    }
    let output = k(sys::kOfxImageEffectOutputClipName);
    let out_comps = defaults.get(output).map_or(Components::Rgba, |f| f.1);
    out.set_double(k(sys::kOfxImageEffectPropFrameRate), 24.0);
    out.set_str(k(sys::kOfxImageClipPropFieldOrder), k(sys::kOfxImageFieldNone));
    out.set_str(k(sys::kOfxImageEffectPropPreMultiplication), premultiplication(effect.plugin.profile, out_comps));
    out.set_int(k(sys::kOfxImageClipPropContinuousSamples), 0);
    out.set_int(k(sys::kOfxImageEffectFrameVarying), 0);
    let mark = effect.journal.message_count();
    let st = call(effect, sys::kOfxImageEffectActionGetClipPreferences, None, Some(&out));
    check(effect, "GetClipPreferences", st, mark)?;
    let allowed = allowed_depths(effect);
    let host_comps = effect.plugin.profile.components();
    let mut formats = defaults.clone();
    for (clip, format) in formats.iter_mut() {
        let depth = out.str(&format!("OfxImageClipPropDepth_{clip}")).and_then(|d| BitDepth::from_ofx_name(&d));
        let comps = out.str(&format!("OfxImageClipPropComponents_{clip}")).and_then(|c| Components::from_ofx_name(&c));
        match depth {
            Some(d) if allowed.contains(&d) => format.0 = d,
            _ => effect
                .journal
                .warn(format!("GetClipPreferences asked for an unsupported depth on clip {clip}; kept {:?}", format.0)),
        }
        match comps {
            Some(c) if host_comps.contains(&c) => format.1 = c,
            _ => effect.journal.warn(format!(
                "GetClipPreferences asked for unsupported components on clip {clip}; kept {:?}",
                format.1
            )),
        }
    }
    if let Some(f) = formats.get_mut(output) {
        f.0 = ctx.options.output_depth.unwrap_or(f.0);
        f.1 = ctx.options.output_components.unwrap_or(f.1);
    }
    let premult = if effect.plugin.profile.forces_straight_output() {
        Some(k(sys::kOfxImageUnPreMultiplied).to_string())
    } else {
        out.str(k(sys::kOfxImageEffectPropPreMultiplication))
    };
    apply_formats(effect, &formats, premult.as_deref(), ctx);
    Ok(())
}

fn region_of_definition(effect: &Arc<Effect>, ctx: &Arc<RenderCtx>) -> Result<[f64; 4], HostError> {
    let default = default_rod(effect, ctx.time, ctx);
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args
        .set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    out.set_doubles(k(sys::kOfxImageEffectPropRegionOfDefinition), &default);
    let mark = effect.journal.message_count();
    let st = call_in_render(
        effect,
        Some(ctx.clone()),
        sys::kOfxImageEffectActionGetRegionOfDefinition,
        Some(&in_args),
        Some(&out),
    );
    check(effect, "GetRegionOfDefinition", st, mark)?;
    let rod = out.numbers(k(sys::kOfxImageEffectPropRegionOfDefinition));
    Ok(if st == status::OK && rod.len() == 4 { [rod[0], rod[1], rod[2], rod[3]] } else { default })
}

fn regions_of_interest(
    effect: &Arc<Effect>,
    ctx: &Arc<RenderCtx>,
    tile: Rect,
) -> Result<HashMap<String, [f64; 4]>, HostError> {
    let canonical = to_canonical(tile, ctx.pixel_scale());
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args
        .set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    in_args.set_doubles(k(sys::kOfxImageEffectPropRegionOfInterest), &canonical);
    let inputs: Vec<String> =
        effect.clip_names().into_iter().filter(|n| n != k(sys::kOfxImageEffectOutputClipName)).collect();
    for name in &inputs {
        out.set_doubles(&format!("OfxImageClipPropRoI_{name}"), &canonical);
    }
    let mark = effect.journal.message_count();
    let st = call_in_render(
        effect,
        Some(ctx.clone()),
        sys::kOfxImageEffectActionGetRegionsOfInterest,
        Some(&in_args),
        Some(&out),
    );
    check(effect, "GetRegionsOfInterest", st, mark)?;
    Ok(inputs
        .into_iter()
        .filter_map(|name| {
            let v = out.numbers(&format!("OfxImageClipPropRoI_{name}"));
            (v.len() == 4).then(|| (name, [v[0], v[1], v[2], v[3]]))
        })
        .collect())
}

/// kOfxImageEffectActionIsIdentity: the clip and time to copy, if the plugin says so.
fn is_identity(effect: &Arc<Effect>, ctx: &Arc<RenderCtx>, window: Rect) -> Result<Option<(String, f64)>, HostError> {
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args.set_str(k(sys::kOfxImageEffectPropFieldToRender), k(sys::kOfxImageFieldNone));
    in_args.set_ints(k(sys::kOfxImageEffectPropRenderWindow), &rect_ints(window));
    in_args
        .set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    out.set_str(k(sys::kOfxPropName), "");
    out.set_double(k(sys::kOfxPropTime), ctx.time);
    let mark = effect.journal.message_count();
    let st =
        call_in_render(effect, Some(ctx.clone()), sys::kOfxImageEffectActionIsIdentity, Some(&in_args), Some(&out));
    check(effect, "IsIdentity", st, mark)?;
    let clip = out.str(k(sys::kOfxPropName)).unwrap_or_default();
    Ok((st == status::OK && !clip.is_empty()).then(|| (clip, out.double(k(sys::kOfxPropTime)).unwrap_or(ctx.time))))
}

/// Begin/EndSequenceRender around frames `first..=last`.
pub(crate) fn sequence(
    effect: &Arc<Effect>,
    begin: bool,
    first: f64,
    last: f64,
    options: &RenderOptions,
    sequential: bool,
) -> Result<(), HostError> {
    let in_args = PropertySet::new(&[]);
    in_args.set_doubles(k(sys::kOfxImageEffectPropFrameRange), &[first, last]);
    in_args.set_double(k(sys::kOfxImageEffectPropFrameStep), 1.0);
    in_args.set_int(k(sys::kOfxPropIsInteractive), 0);
    in_args.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[options.render_scale.0, options.render_scale.1]);
    in_args.set_int(k(sys::kOfxImageEffectPropSequentialRenderStatus), sequential as i32);
    in_args.set_int(k(sys::kOfxImageEffectPropInteractiveRenderStatus), 0);
    let (action, name): (&[u8], &str) = if begin {
        (sys::kOfxImageEffectActionBeginSequenceRender, "BeginSequenceRender")
    } else {
        (sys::kOfxImageEffectActionEndSequenceRender, "EndSequenceRender")
    };
    let mark = effect.journal.message_count();
    let st = call(effect, action, Some(&in_args), None);
    check(effect, name, st, mark)
}

/// kOfxImageEffectActionGetFramesNeeded: (clip, first, last) ranges per input.
pub(crate) fn frames_needed(effect: &Arc<Effect>, time: f64) -> Result<Vec<(String, f64, f64)>, HostError> {
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), time);
    let inputs: Vec<String> =
        effect.clip_names().into_iter().filter(|n| n != k(sys::kOfxImageEffectOutputClipName)).collect();
    for name in &inputs {
        out.set_doubles(&format!("OfxImageClipPropFrameRange_{name}"), &[time, time]);
    }
    let mark = effect.journal.message_count();
    let st = call(effect, sys::kOfxImageEffectActionGetFramesNeeded, Some(&in_args), Some(&out));
    check(effect, "GetFramesNeeded", st, mark)?;
    let mut ranges = Vec::new();
    for name in inputs {
        let v = out.numbers(&format!("OfxImageClipPropFrameRange_{name}"));
        ranges.extend(v.chunks_exact(2).map(|r| (name.clone(), r[0], r[1])));
    }
    Ok(ranges)
}

/// Splits a window into `n` horizontal strips, bottom first.
fn strips(window: Rect, n: usize) -> Vec<Rect> {
    let h = window.height();
    let n = n.clamp(1, h.max(1));
    (0..n)
        .map(|i| Rect::new(window.x1, window.y1 + (h * i / n) as i32, window.x2, window.y1 + (h * (i + 1) / n) as i32))
        .collect()
}

/// Renders one strip of the output image (which covers the whole RoD, so the render
/// window is smaller than the image the plugin writes to).
fn render_tile(effect: &Arc<Effect>, base: &Arc<RenderCtx>, tile: Rect) -> Result<(), HostError> {
    let mut ctx = (**base).clone();
    ctx.rois = regions_of_interest(effect, base, tile)?;
    let ctx = Arc::new(ctx);
    let in_args = PropertySet::new(&[]);
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args.set_str(k(sys::kOfxImageEffectPropFieldToRender), k(sys::kOfxImageFieldNone));
    in_args.set_ints(k(sys::kOfxImageEffectPropRenderWindow), &rect_ints(tile));
    in_args
        .set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    in_args.set_int(k(sys::kOfxImageEffectPropSequentialRenderStatus), ctx.sequential as i32);
    in_args.set_int(k(sys::kOfxImageEffectPropInteractiveRenderStatus), 0);
    in_args.set_int(k(sys::kOfxImageEffectPropRenderQualityDraft), 0);
    if effect.plugin.profile.is_resolve() {
        in_args.set_int(k(sys::kOfxImageEffectPropCudaEnabled), ctx.cuda.is_some() as i32);
    }
    if let Some(cuda) = &ctx.cuda {
        cuda.host.make_current().map_err(|e| HostError::Unsupported(format!("resolve-cuda: {e}")))?;
        in_args.set_ptr(k(sys::kOfxImageEffectPropCudaStream), cuda.host.stream() as usize);
    }
    *lock(&effect.runtime.last_render) = Some(ctx.clone());
    let mark = effect.journal.message_count();
    let st = call_in_render(effect, Some(ctx.clone()), sys::kOfxImageEffectActionRender, Some(&in_args), None);
    if let Some(cuda) = &ctx.cuda {
        // After the render returns the host waits for its stream, then reads the output back.
        cuda.finish().map_err(|e| HostError::Unsupported(format!("resolve-cuda: reading the output back: {e}")))?;
    }
    if st != status::OK {
        return Err(HostError::Render { status: st, messages: effect.journal.messages_since(mark) });
    }
    Ok(())
}

/// `kOfxStatGPURenderFailed`: the plugin's CUDA render did not work for this frame.
const GPU_RENDER_FAILED: i32 = 1002;

/// Renders one frame: the whole pipeline. The output covers the region of definition
/// (zero outside the render window) in the layout the plugin wrote it. A CUDA render that fails
/// with `kOfxStatGPURenderFailed` is rendered again on CPU images, as the OpenFX GPU render spec
/// asks of hosts (and Resolve does); the journal says so.
pub(crate) fn render_frame(
    effect: &Arc<Effect>,
    time: f64,
    options: &RenderOptions,
    sequential: bool,
) -> Result<Image, HostError> {
    match render_frame_on(effect, time, options, sequential, true) {
        Err(HostError::Render { status, messages }) if status == GPU_RENDER_FAILED && effect.plugin.profile.cuda() => {
            let why = messages.last().map(|m| m.text.clone()).unwrap_or_default();
            effect.journal.warn(format!("resolve-cuda: the CUDA render failed ({why}); rendered again on the CPU"));
            render_frame_on(effect, time, options, sequential, false)
        }
        other => other,
    }
}

fn render_frame_on(
    effect: &Arc<Effect>,
    time: f64,
    options: &RenderOptions,
    sequential: bool,
    allow_cuda: bool,
) -> Result<Image, HostError> {
    let profile = effect.plugin.profile;
    *lock(&effect.runtime.time) = time;
    let mut ctx = RenderCtx::new(time, options, profile, sequential);
    ctx.pixel_aspect = lock(&effect.runtime.footage).pixel_aspect;
    if allow_cuda && profile.cuda() && effect.prop_str(sys::kOfxImageEffectPropCudaRenderSupported) == "true" {
        let host = crate::cuda::host().map_err(|why| HostError::Unsupported(format!("resolve-cuda: {why}")))?;
        ctx.cuda = Some(Arc::new(crate::cuda::CudaFrames::new(host)));
        // CUDA hosts render packed RGBA float.
        ctx.options.output_depth = Some(BitDepth::F32);
        ctx.options.output_components = Some(Components::Rgba);
    }
    clip_preferences(effect, &ctx)?;
    if options.render_scale != (1.0, 1.0) && effect.prop_int(sys::kOfxImageEffectPropSupportsMultiResolution, 1) == 0 {
        effect
            .journal
            .warn("rendering at a scale other than 1 although the plugin does not support multi-resolution".into());
    }
    let plugin_tiles = effect.prop_int(sys::kOfxImageEffectPropSupportsTiles, 1) == 1;
    let tiles = match options.tiles {
        Some(n) => {
            if n > 1 && !plugin_tiles {
                effect.journal.warn("rendering in tiles although the plugin does not support tiles".into());
            }
            n
        }
        None if plugin_tiles && profile.supports_tiles() => profile.default_tiles(),
        None => 1,
    };
    ctx.crop_to_roi = tiles > 1;
    let rod = region_of_definition(effect, &Arc::new(ctx.clone()))?;
    ctx.rod_canonical = rod;
    ctx.rod = to_pixels(rod, ctx.pixel_scale());
    let (dx, dy) = options.bounds_offset;
    let (sx, sy) = options.render_scale;
    let shift = ((dx as f64 * sx).round() as i32, (dy as f64 * sy).round() as i32);
    let window = options.window.map_or(ctx.rod, |w| w.offset(shift.0, shift.1).intersect(&ctx.rod));
    let output = effect.clip(k(sys::kOfxImageEffectOutputClipName));
    let format = output.and_then(|c| c.format()).unwrap_or((BitDepth::F32, Components::Rgba));
    let blank = Image::new(ctx.rod, format.0, format.1);
    let canvas = Arc::new(Mutex::new(if ctx.negative_rows { blank.bottom_up() } else { blank }));
    ctx.output = Some(canvas.clone());
    let ctx = Arc::new(ctx);
    let finish = |ctx: Arc<RenderCtx>| {
        let mut last = lock(&effect.runtime.last_render);
        if last.as_ref().is_some_and(|c| c.id == ctx.id) {
            *last = None;
        }
        // The render is over and every image it fetched released: the canvas is handed out, not copied.
        std::mem::replace(&mut *lock(&canvas), Image::new(Rect::new(0, 0, 0, 0), format.0, format.1))
    };
    if window.is_empty() {
        return Ok(finish(ctx));
    }
    if let Some((clip_name, t)) = is_identity(effect, &ctx, window)? {
        let clip = effect.clip(&clip_name).ok_or_else(|| HostError::Action {
            action: format!("IsIdentity (named unknown clip {clip_name:?})"),
            status: status::ERR_UNKNOWN,
            messages: vec![],
        })?;
        let t = fetch_time(effect, &ctx, t);
        if let Some(src) = input_image(effect, &clip, t, &ctx, Some(window)) {
            lock(&canvas).copy_from(&src.converted(format.0, format.1));
        }
        return Ok(finish(ctx));
    }
    let parts = strips(window, tiles);
    let fully_safe =
        effect.prop_str(sys::kOfxImageEffectPluginRenderThreadSafety) == k(sys::kOfxImageEffectRenderFullySafe);
    let results: Vec<Result<(), HostError>> = if fully_safe && parts.len() > 1 {
        std::thread::scope(|s| {
            let handles: Vec<_> = parts.iter().map(|t| s.spawn(|| render_tile(effect, &ctx, *t))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(HostError::Unsupported("a render thread panicked".into()))))
                .collect()
        })
    } else {
        parts.iter().map(|t| render_tile(effect, &ctx, *t)).collect()
    };
    let leaked = release_images(effect, Some(ctx.id));
    if leaked > 0 {
        effect
            .journal
            .warn(format!("the plugin did not release {leaked} image(s) fetched while rendering time {time}"));
    }
    results.into_iter().collect::<Result<(), HostError>>()?;
    Ok(finish(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_cover_the_window_exactly() {
        let w = Rect::new(-3, 5, 17, 16);
        let s = strips(w, 4);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].y1, 5);
        assert_eq!(s[3].y2, 16);
        assert!(s.windows(2).all(|p| p[0].y2 == p[1].y1 && p[0].height() > 0));
        assert!(s.iter().all(|r| r.x1 == -3 && r.x2 == 17));
        assert_eq!(strips(Rect::new(0, 0, 4, 2), 8).len(), 2, "never more strips than rows");
    }

    #[test]
    fn canonical_and_pixel_rects_round_outwards() {
        assert_eq!(to_pixels([0.0, 0.0, 101.0, 51.0], (0.5, 0.5)), Rect::new(0, 0, 51, 26));
        assert_eq!(to_canonical(Rect::new(0, 0, 50, 25), (0.5, 0.5)), [0.0, 0.0, 100.0, 50.0]);
    }
}
