//! The render pipeline a host runs for one frame — clip preferences, region of
//! definition, identity, regions of interest, render (in tiles per profile) — and the
//! images it hands the plugin through `clipGetImage`, converted, scaled, offset and laid
//! out the way the profile or the [`RenderOptions`] say.

use crate::actions::{self, call, call_in_render};
use crate::image::{BitDepth, Components, Image, Rect};
use crate::objects::{lock, read, Clip, Effect};
use crate::ofx_str;
use crate::profile::HostProfile;
use crate::properties::{HeldImage, PropertySet};
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
    /// The output's region of definition, canonical and in pixels.
    pub rod_canonical: [f64; 4],
    pub rod: Rect,
}

impl RenderCtx {
    fn new(time: f64, options: &RenderOptions, profile: HostProfile, sequential: bool) -> RenderCtx {
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
            rod_canonical: [0.0; 4],
            rod: Rect::new(0, 0, 0, 0),
        }
    }

    /// The context of calls made outside any render (e.g. during InstanceChanged).
    fn detached(effect: &Effect, time: f64) -> RenderCtx {
        let mut ctx = RenderCtx::new(time, &RenderOptions::default(), effect.plugin.profile, false);
        ctx.id = 0;
        ctx
    }
}

fn k(bytes: &'static [u8]) -> &'static str {
    ofx_str(bytes)
}

/// Canonical → pixel coordinates, rounded outwards.
fn to_pixels(r: [f64; 4], (sx, sy): (f64, f64)) -> Rect {
    Rect::new((r[0] * sx).floor() as i32, (r[1] * sy).floor() as i32, (r[2] * sx).ceil() as i32, (r[3] * sy).ceil() as i32)
}

fn to_canonical(r: Rect, (sx, sy): (f64, f64)) -> [f64; 4] {
    [r.x1 as f64 / sx, r.y1 as f64 / sy, r.x2 as f64 / sx, r.y2 as f64 / sy]
}

fn rect_ints(r: Rect) -> [i32; 4] {
    [r.x1, r.y1, r.x2, r.y2]
}

/// The frame an input clip has at `time` (before any conversion).
fn source_frame(effect: &Effect, clip: &str, time: f64) -> Option<Image> {
    read(&effect.runtime.inputs).get(clip).and_then(|s| s.frame(time))
}

/// Time actually fetched: MLT has no temporal access and returns the current frame.
fn fetch_time(effect: &Effect, ctx: &RenderCtx, time: f64) -> f64 {
    if effect.plugin.profile.supports_temporal_access() {
        time
    } else {
        ctx.time
    }
}

fn current_ctx(effect: &Arc<Effect>, time: f64) -> Arc<RenderCtx> {
    actions::current_render(effect)
        .or_else(|| lock(&effect.runtime.last_render).clone())
        .unwrap_or_else(|| Arc::new(RenderCtx::detached(effect, time)))
}

/// An input clip's region of definition (canonical): its frame's bounds, offset.
fn input_rod(effect: &Effect, clip: &str, time: f64, ctx: &RenderCtx) -> Option<[f64; 4]> {
    let frame = source_frame(effect, clip, fetch_time(effect, ctx, time))?;
    let (dx, dy) = ctx.options.bounds_offset;
    let b = frame.bounds().offset(dx, dy);
    Some([b.x1 as f64, b.y1 as f64, b.x2 as f64, b.y2 as f64])
}

/// The union of the connected inputs' RoDs, or the project size for generators.
fn default_rod(effect: &Effect, time: f64, ctx: &RenderCtx) -> [f64; 4] {
    let rods: Vec<[f64; 4]> = effect
        .clip_names()
        .iter()
        .filter(|n| *n != k(sys::kOfxImageEffectOutputClipName))
        .filter_map(|n| input_rod(effect, n, time, ctx))
        .collect();
    let Some(first) = rods.first() else {
        let size = effect.props.numbers(k(sys::kOfxImageEffectPropProjectSize));
        return [0.0, 0.0, size.first().copied().unwrap_or(1920.0), size.get(1).copied().unwrap_or(1080.0)];
    };
    rods.iter().fold(*first, |a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
}

/// `clipGetRegionOfDefinition`.
pub(crate) fn clip_rod(clip: &Clip, time: f64) -> [f64; 4] {
    let Some(effect) = clip.effect.upgrade() else { return [0.0; 4] };
    let ctx = current_ctx(&effect, time);
    if clip.is_output() {
        if ctx.id != 0 {
            return ctx.rod_canonical;
        }
        return default_rod(&effect, time, &ctx);
    }
    input_rod(&effect, &clip.name, time, &ctx).unwrap_or([0.0; 4])
}

/// An input as the plugin receives it: offset, scaled, cropped to `area` (pixels),
/// converted to the clip's format.
fn input_image(effect: &Effect, clip: &Clip, time: f64, ctx: &RenderCtx, area: Option<Rect>) -> Option<Image> {
    let src = source_frame(effect, &clip.name, time)?;
    let (dx, dy) = ctx.options.bounds_offset;
    let (sx, sy) = ctx.options.render_scale;
    let scaled = src.with_bounds_offset(dx, dy).scaled(sx, sy);
    let cropped = match area {
        Some(a) => scaled.cropped(a),
        None => scaled,
    };
    let (depth, comps) = clip.format().unwrap_or((src.depth(), src.components()));
    Some(cropped.converted(depth, comps))
}

fn premultiplication(profile: HostProfile, comps: Components) -> &'static str {
    match comps {
        Components::Rgb => k(sys::kOfxImageOpaque),
        _ if profile == HostProfile::Mlt => k(sys::kOfxImageUnPreMultiplied),
        _ => k(sys::kOfxImagePreMultiplied),
    }
}

/// Wraps pixels in an image property set the plugin holds until `clipReleaseImage`.
fn register_image(effect: &Arc<Effect>, clip: &Clip, image: Arc<Mutex<Image>>, rod: Rect, ctx: &RenderCtx, time: f64) -> Arc<PropertySet> {
    let (ptr, bounds, row_bytes, depth, comps) = {
        let mut img = lock(&image);
        (img.data_ptr() as usize, img.bounds(), img.row_bytes(), img.depth(), img.components())
    };
    let held = HeldImage { _pixels: image, owner: Arc::downgrade(effect) };
    let p = PropertySet::from_values(HashMap::new(), &[], Some(held));
    p.set_str(k(sys::kOfxPropType), k(sys::kOfxTypeImage));
    p.set_ptr(k(sys::kOfxImagePropData), ptr);
    p.set_ints(k(sys::kOfxImagePropBounds), &rect_ints(bounds));
    p.set_ints(k(sys::kOfxImagePropRegionOfDefinition), &rect_ints(rod));
    p.set_int(k(sys::kOfxImagePropRowBytes), row_bytes as i32);
    p.set_str(k(sys::kOfxImageEffectPropPixelDepth), depth.ofx_name());
    p.set_str(k(sys::kOfxImageEffectPropComponents), comps.ofx_name());
    let premult = clip.props.str(k(sys::kOfxImageEffectPropPreMultiplication));
    p.set_str(k(sys::kOfxImageEffectPropPreMultiplication), &premult.unwrap_or_else(|| premultiplication(effect.plugin.profile, comps).into()));
    p.set_double(k(sys::kOfxImagePropPixelAspectRatio), 1.0);
    p.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    p.set_str(k(sys::kOfxImagePropField), k(sys::kOfxImageFieldNone));
    p.set_str(k(sys::kOfxImagePropUniqueIdentifier), &format!("{}@{time}#{}", clip.name, p.handle.id()));
    lock(&effect.runtime.images).insert(p.handle.id(), (ctx.id, p.clone()));
    p
}

/// `clipGetImage`: the output tile of the current render, or an input frame.
pub(crate) fn fetch_image(clip: &Clip, time: f64, region: Option<[f64; 4]>) -> Result<Arc<PropertySet>, OfxStatus> {
    let effect = clip.effect.upgrade().ok_or(status::ERR_BAD_HANDLE)?;
    let ctx = current_ctx(&effect, time);
    if clip.is_output() {
        let out = ctx.output.clone().ok_or(status::FAILED)?;
        return Ok(register_image(&effect, clip, out, ctx.rod, &ctx, ctx.time));
    }
    let t = fetch_time(&effect, &ctx, time);
    let scale = ctx.options.render_scale;
    let mut area = region.map(|r| to_pixels(r, scale));
    if ctx.crop_to_roi {
        if let Some(roi) = ctx.rois.get(&clip.name) {
            let roi = to_pixels(*roi, scale);
            area = Some(area.map_or(roi, |a| a.intersect(&roi)));
        }
    }
    // An unset input (Resolve reports it connected anyway) gives no image.
    let image = input_image(&effect, clip, t, &ctx, area).ok_or(status::FAILED)?;
    let image = if ctx.negative_rows { image.bottom_up() } else { image };
    let rod = input_rod(&effect, &clip.name, t, &ctx).map_or(image.bounds(), |r| to_pixels(r, scale));
    Ok(register_image(&effect, clip, Arc::new(Mutex::new(image)), rod, &ctx, t))
}

/// `clipReleaseImage`; false if the handle is not a held image.
pub(crate) fn release_image(image: &PropertySet) -> bool {
    let Some(owner) = image.image.as_ref().and_then(|held| held.owner.upgrade()) else { return false };
    let removed = lock(&owner.runtime.images).remove(&image.handle.id());
    removed.is_some()
}

/// Frees the images a render (or, with `None`, anything) left unreleased; their count.
pub(crate) fn release_images(effect: &Effect, render: Option<u64>) -> usize {
    let mut images = lock(&effect.runtime.images);
    let before = images.len();
    images.retain(|_, (id, _)| render.is_some_and(|r| *id != r));
    before - images.len()
}

/// Depth the host hands over: the source's if allowed, else the nearest deeper, else the deepest.
pub(crate) fn pick_depth(src: BitDepth, allowed: &[BitDepth]) -> BitDepth {
    if allowed.contains(&src) {
        return src;
    }
    let mut sorted = allowed.to_vec();
    sorted.sort();
    sorted.iter().copied().find(|d| *d > src).or(sorted.last().copied()).unwrap_or(BitDepth::F32)
}

/// Components the host hands over: the source's if the clip and host take them, else
/// RGBA (RGB and Alpha sources are converted up), else whatever the clip takes.
pub(crate) fn pick_components(src: Components, clip: &[Components], host: &[Components]) -> Components {
    let ok = |c: Components| host.contains(&c) && (clip.is_empty() || clip.contains(&c));
    [src, Components::Rgba, Components::Alpha, Components::Rgb].into_iter().find(|c| ok(*c)).unwrap_or(Components::Rgba)
}

/// Depths both the plugin and the host support, shallowest first.
fn allowed_depths(effect: &Effect) -> Vec<BitDepth> {
    let host = effect.plugin.profile.depths();
    let plugin: Vec<BitDepth> = effect
        .props
        .strs(k(sys::kOfxImageEffectPropSupportedPixelDepths))
        .iter()
        .filter_map(|d| BitDepth::from_ofx_name(d))
        .filter(|d| host.contains(d))
        .collect();
    let mut allowed = if plugin.is_empty() { host.to_vec() } else { plugin };
    allowed.sort();
    allowed
}

type Formats = HashMap<String, (BitDepth, Components)>;

/// The formats a host picks before asking the plugin (also used before CreateInstance).
fn default_formats(effect: &Effect, ctx: &RenderCtx) -> Formats {
    let profile = effect.plugin.profile;
    let allowed = allowed_depths(effect);
    let mut formats = Formats::new();
    let mut deepest: Option<BitDepth> = None;
    let mut source_comps = None;
    let clips = read(&effect.clips).clone();
    for clip in clips.iter().filter(|c| !c.is_output()) {
        let supported = clip.supported_components();
        let format = match source_frame(effect, &clip.name, fetch_time(effect, ctx, ctx.time)) {
            Some(src) => {
                let comps = if profile == HostProfile::Mlt && supported.contains(&Components::Rgba) {
                    Components::Rgba
                } else {
                    pick_components(src.components(), &supported, profile.components())
                };
                (pick_depth(src.depth(), &allowed), comps)
            }
            None => (*allowed.last().unwrap_or(&BitDepth::F32), pick_components(Components::Rgba, &supported, profile.components())),
        };
        deepest = deepest.max(Some(format.0));
        source_comps.get_or_insert(format.1);
        formats.insert(clip.name.clone(), format);
    }
    if let Some(out) = clips.iter().find(|c| c.is_output()) {
        let depth = ctx.options.output_depth.unwrap_or_else(|| deepest.unwrap_or(*allowed.last().unwrap_or(&BitDepth::F32)));
        let comps = ctx.options.output_components.unwrap_or_else(|| {
            pick_components(source_comps.unwrap_or(Components::Rgba), &out.supported_components(), profile.components())
        });
        formats.insert(out.name.clone(), (depth, comps));
    }
    formats
}

/// Writes formats, connection state and frame ranges into the clips' properties.
fn apply_formats(effect: &Effect, formats: &Formats, output_premult: Option<&str>, ctx: &RenderCtx) {
    let profile = effect.plugin.profile;
    for clip in read(&effect.clips).iter() {
        let Some((depth, comps)) = formats.get(&clip.name) else { continue };
        let p = &clip.props;
        p.set_str(k(sys::kOfxImageEffectPropPixelDepth), depth.ofx_name());
        p.set_str(k(sys::kOfxImageEffectPropComponents), comps.ofx_name());
        let unmapped = source_frame(effect, &clip.name, fetch_time(effect, ctx, ctx.time)).map(|s| (s.depth(), s.components()));
        let (ud, uc) = unmapped.unwrap_or((*depth, *comps));
        p.set_str(k(sys::kOfxImageClipPropUnmappedPixelDepth), ud.ofx_name());
        p.set_str(k(sys::kOfxImageClipPropUnmappedComponents), uc.ofx_name());
        let premult = match output_premult {
            Some(pm) if clip.is_output() => pm,
            _ => premultiplication(profile, *comps),
        };
        p.set_str(k(sys::kOfxImageEffectPropPreMultiplication), premult);
    }
}

/// Sets each clip's connection flag and frame range from the current inputs.
pub(crate) fn update_connections(effect: &Effect) {
    let inputs = read(&effect.runtime.inputs);
    let project = read(&effect.runtime.frame_range).unwrap_or((0.0, 0.0));
    let all_connected = effect.plugin.profile.all_clips_connected();
    for clip in read(&effect.clips).iter() {
        let source = inputs.get(&clip.name);
        let p = &clip.props;
        p.set_int(k(sys::kOfxImageClipPropConnected), (clip.is_output() || all_connected || source.is_some()) as i32);
        let range = source.and_then(|s| s.frame_range()).unwrap_or(project);
        for key in [sys::kOfxImageEffectPropFrameRange as &[u8], sys::kOfxImageEffectPropUnmappedFrameRange] {
            p.set_doubles(k(key), &[range.0, range.1]);
        }
        for key in [sys::kOfxImageEffectPropFrameRate as &[u8], sys::kOfxImageEffectPropUnmappedFrameRate] {
            p.set_double(k(key), 24.0);
        }
        p.set_double(k(sys::kOfxImagePropPixelAspectRatio), 1.0);
        p.set_str(k(sys::kOfxImageClipPropFieldOrder), k(sys::kOfxImageFieldNone));
        p.set_int(k(sys::kOfxImageClipPropContinuousSamples), 0);
    }
    effect.props.set_doubles(k(sys::kOfxImageEffectPropFrameRange), &[project.0, project.1]);
    effect.props.set_double(k(sys::kOfxImageEffectInstancePropEffectDuration), project.1 - project.0 + 1.0);
}

/// Sets the clip formats a host would pick, without asking the plugin (before CreateInstance).
pub(crate) fn set_default_formats(effect: &Effect, time: f64) {
    let ctx = RenderCtx::detached(effect, time);
    apply_formats(effect, &default_formats(effect, &ctx), None, &ctx);
}

/// Turns an action status into a result: OK and "do the default" are fine.
pub(crate) fn check(effect: &Effect, action: &str, st: OfxStatus, mark: usize) -> Result<(), HostError> {
    match st {
        status::OK | status::REPLY_DEFAULT => Ok(()),
        status => Err(HostError::Action { action: action.to_string(), status, messages: effect.journal.messages_since(mark) }),
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
            _ => effect.journal.warn(format!("GetClipPreferences asked for an unsupported depth on clip {clip}; kept {:?}", format.0)),
        }
        match comps {
            Some(c) if host_comps.contains(&c) => format.1 = c,
            _ => effect.journal.warn(format!("GetClipPreferences asked for unsupported components on clip {clip}; kept {:?}", format.1)),
        }
    }
    if let Some(f) = formats.get_mut(output) {
        f.0 = ctx.options.output_depth.unwrap_or(f.0);
        f.1 = ctx.options.output_components.unwrap_or(f.1);
    }
    let premult = out.str(k(sys::kOfxImageEffectPropPreMultiplication));
    apply_formats(effect, &formats, premult.as_deref(), ctx);
    Ok(())
}

fn region_of_definition(effect: &Arc<Effect>, ctx: &Arc<RenderCtx>) -> Result<[f64; 4], HostError> {
    let default = default_rod(effect, ctx.time, ctx);
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    out.set_doubles(k(sys::kOfxImageEffectPropRegionOfDefinition), &default);
    let mark = effect.journal.message_count();
    let st = call_in_render(effect, Some(ctx.clone()), sys::kOfxImageEffectActionGetRegionOfDefinition, Some(&in_args), Some(&out));
    check(effect, "GetRegionOfDefinition", st, mark)?;
    let rod = out.numbers(k(sys::kOfxImageEffectPropRegionOfDefinition));
    Ok(if st == status::OK && rod.len() == 4 { [rod[0], rod[1], rod[2], rod[3]] } else { default })
}

fn regions_of_interest(effect: &Arc<Effect>, ctx: &Arc<RenderCtx>, tile: Rect) -> Result<HashMap<String, [f64; 4]>, HostError> {
    let canonical = to_canonical(tile, ctx.options.render_scale);
    let (in_args, out) = (PropertySet::new(&[]), PropertySet::new(&[]));
    in_args.set_double(k(sys::kOfxPropTime), ctx.time);
    in_args.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    in_args.set_doubles(k(sys::kOfxImageEffectPropRegionOfInterest), &canonical);
    let inputs: Vec<String> = effect.clip_names().into_iter().filter(|n| n != k(sys::kOfxImageEffectOutputClipName)).collect();
    for name in &inputs {
        out.set_doubles(&format!("OfxImageClipPropRoI_{name}"), &canonical);
    }
    let mark = effect.journal.message_count();
    let st = call_in_render(effect, Some(ctx.clone()), sys::kOfxImageEffectActionGetRegionsOfInterest, Some(&in_args), Some(&out));
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
    in_args.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    out.set_str(k(sys::kOfxPropName), "");
    out.set_double(k(sys::kOfxPropTime), ctx.time);
    let mark = effect.journal.message_count();
    let st = call_in_render(effect, Some(ctx.clone()), sys::kOfxImageEffectActionIsIdentity, Some(&in_args), Some(&out));
    check(effect, "IsIdentity", st, mark)?;
    let clip = out.str(k(sys::kOfxPropName)).unwrap_or_default();
    Ok((st == status::OK && !clip.is_empty()).then(|| (clip, out.double(k(sys::kOfxPropTime)).unwrap_or(ctx.time))))
}

/// Begin/EndSequenceRender around frames `first..=last`.
pub(crate) fn sequence(effect: &Arc<Effect>, begin: bool, first: f64, last: f64, options: &RenderOptions, sequential: bool) -> Result<(), HostError> {
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
    let inputs: Vec<String> = effect.clip_names().into_iter().filter(|n| n != k(sys::kOfxImageEffectOutputClipName)).collect();
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
    in_args.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[ctx.options.render_scale.0, ctx.options.render_scale.1]);
    in_args.set_int(k(sys::kOfxImageEffectPropSequentialRenderStatus), ctx.sequential as i32);
    in_args.set_int(k(sys::kOfxImageEffectPropInteractiveRenderStatus), 0);
    in_args.set_int(k(sys::kOfxImageEffectPropRenderQualityDraft), 0);
    if effect.plugin.profile == HostProfile::Resolve {
        in_args.set_int(k(sys::kOfxImageEffectPropCudaEnabled), 0);
    }
    *lock(&effect.runtime.last_render) = Some(ctx.clone());
    let mark = effect.journal.message_count();
    let st = call_in_render(effect, Some(ctx), sys::kOfxImageEffectActionRender, Some(&in_args), None);
    if st != status::OK {
        return Err(HostError::Render { status: st, messages: effect.journal.messages_since(mark) });
    }
    Ok(())
}

/// Renders one frame: the whole pipeline. The output covers the region of definition
/// (zero outside the render window) in the layout the plugin wrote it.
pub(crate) fn render_frame(effect: &Arc<Effect>, time: f64, options: &RenderOptions, sequential: bool) -> Result<Image, HostError> {
    let profile = effect.plugin.profile;
    *lock(&effect.runtime.time) = time;
    let mut ctx = RenderCtx::new(time, options, profile, sequential);
    clip_preferences(effect, &ctx)?;
    if options.render_scale != (1.0, 1.0) && effect.prop_int(sys::kOfxImageEffectPropSupportsMultiResolution, 1) == 0 {
        effect.journal.warn("rendering at a scale other than 1 although the plugin does not support multi-resolution".into());
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
    ctx.rod = to_pixels(rod, options.render_scale);
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
        let image = lock(&canvas).clone();
        image
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
    let fully_safe = effect.prop_str(sys::kOfxImageEffectPluginRenderThreadSafety) == k(sys::kOfxImageEffectRenderFullySafe);
    let results: Vec<Result<(), HostError>> = if fully_safe && parts.len() > 1 {
        std::thread::scope(|s| {
            let handles: Vec<_> = parts.iter().map(|t| s.spawn(|| render_tile(effect, &ctx, *t))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(HostError::Unsupported("a render thread panicked".into())))).collect()
        })
    } else {
        parts.iter().map(|t| render_tile(effect, &ctx, *t)).collect()
    };
    let leaked = release_images(effect, Some(ctx.id));
    if leaked > 0 {
        effect.journal.warn(format!("the plugin did not release {leaked} image(s) fetched while rendering time {time}"));
    }
    results.into_iter().collect::<Result<(), HostError>>()?;
    Ok(finish(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_and_component_choices_follow_host_rules() {
        use BitDepth::*;
        assert_eq!(pick_depth(U8, &[U8, U16, F32]), U8);
        assert_eq!(pick_depth(U8, &[F32]), F32);
        assert_eq!(pick_depth(U16, &[U8, F32]), F32);
        assert_eq!(pick_depth(F32, &[U16, U8]), U16);
        let host_all = [Components::Rgba, Components::Rgb, Components::Alpha];
        // Natron: RGB becomes RGBA unless the plugin declares RGB.
        assert_eq!(pick_components(Components::Rgb, &[Components::Rgba], &host_all), Components::Rgba);
        assert_eq!(pick_components(Components::Rgb, &[Components::Rgb, Components::Rgba], &host_all), Components::Rgb);
        // Resolve has no RGB at all.
        let resolve = [Components::Rgba, Components::Alpha];
        assert_eq!(pick_components(Components::Rgb, &[], &resolve), Components::Rgba);
        assert_eq!(pick_components(Components::Rgba, &[Components::Alpha], &resolve), Components::Alpha);
    }

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
