//! What the host hands over per clip: the frame at a time (MLT: always the current
//! one), converted to the format negotiated in GetClipPreferences, scaled to the render
//! scale, offset, cropped and laid out as the profile or the render options say, and
//! wrapped in the image property set `clipGetImage` returns. Also the clip properties
//! (formats, connection, frame ranges) the plugin reads.

use crate::actions;
use crate::image::{BitDepth, Components, Image, Rect};
use crate::instance::ClipSource;
use crate::objects::{lock, read, Clip, Effect};
use crate::profile::HostProfile;
use crate::properties::{HeldImage, PropertySet};
use crate::render::{k, rect_ints, to_pixels, RenderCtx};
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Runs `f` on an input's frame at `time`. Computed sources (`ClipSource::Func`, e.g. a
/// video decoder) are called once per render and time; stored frames are not copied.
fn with_frame<R>(effect: &Effect, clip: &str, time: f64, ctx: &RenderCtx, f: impl FnOnce(&Image) -> R) -> Option<R> {
    let inputs = read(&effect.runtime.inputs);
    let source = inputs.get(clip)?;
    let ClipSource::Func(compute) = source else { return source.peek(time, f) };
    let key = (clip.to_string(), time.to_bits());
    let cached = lock(&ctx.frames).get(&key).cloned();
    let frame = cached.unwrap_or_else(|| {
        let frame = compute(time).map(Arc::new);
        lock(&ctx.frames).insert(key, frame.clone());
        frame
    });
    frame.as_deref().map(f)
}

/// Bounds and format of an input's frame.
fn frame_info(effect: &Effect, clip: &str, time: f64, ctx: &RenderCtx) -> Option<(Rect, BitDepth, Components)> {
    with_frame(effect, clip, time, ctx, |i| (i.bounds(), i.depth(), i.components()))
}

/// Time actually fetched: MLT has no temporal access and returns the current frame.
pub(crate) fn fetch_time(effect: &Effect, ctx: &RenderCtx, time: f64) -> f64 {
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
pub(crate) fn input_rod(effect: &Effect, clip: &str, time: f64, ctx: &RenderCtx) -> Option<[f64; 4]> {
    let (bounds, _, _) = frame_info(effect, clip, fetch_time(effect, ctx, time), ctx)?;
    let (dx, dy) = ctx.options.bounds_offset;
    let b = bounds.offset(dx, dy);
    // Frames are full-resolution pixels; a non-square pixel is `pixel_aspect` canonical units wide.
    let par = ctx.pixel_aspect;
    Some([b.x1 as f64 * par, b.y1 as f64, b.x2 as f64 * par, b.y2 as f64])
}

/// The union of the connected inputs' RoDs, or the project size for generators.
pub(crate) fn default_rod(effect: &Effect, time: f64, ctx: &RenderCtx) -> [f64; 4] {
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
pub(crate) fn input_image(
    effect: &Effect,
    clip: &Clip,
    time: f64,
    ctx: &RenderCtx,
    area: Option<Rect>,
) -> Option<Image> {
    // Each step copies only when it changes something: frames can be large.
    let mut image = with_frame(effect, &clip.name, time, ctx, Image::clone)?;
    let (dx, dy) = ctx.options.bounds_offset;
    image.move_bounds(dx, dy);
    let (sx, sy) = ctx.options.render_scale;
    if (sx, sy) != (1.0, 1.0) {
        image = image.scaled(sx, sy);
    }
    if let Some(area) = area.filter(|a| a.intersect(&image.bounds()) != image.bounds()) {
        image = image.cropped(area);
    }
    let format = clip.format().unwrap_or((image.depth(), image.components()));
    if format != (image.depth(), image.components()) {
        image = image.converted(format.0, format.1);
    }
    Some(image)
}

pub(crate) fn premultiplication(profile: HostProfile, comps: Components) -> &'static str {
    match comps {
        Components::Rgb => k(sys::kOfxImageOpaque),
        _ if profile == HostProfile::Mlt => k(sys::kOfxImageUnPreMultiplied),
        _ => k(sys::kOfxImagePreMultiplied),
    }
}

/// Wraps pixels in an image property set the plugin holds until `clipReleaseImage`.
fn register_image(
    effect: &Arc<Effect>,
    clip: &Clip,
    image: Arc<Mutex<Image>>,
    rod: Rect,
    ctx: &RenderCtx,
    time: f64,
) -> Arc<PropertySet> {
    let (mut ptr, bounds, mut row_bytes, depth, comps) = {
        let mut img = lock(&image);
        (img.data_ptr() as usize, img.bounds(), img.row_bytes(), img.depth(), img.components())
    };
    if let Some(cuda) = &ctx.cuda {
        // A CUDA render gets a device copy; the output's is read back after the render.
        let output = clip.is_output().then(|| image.clone());
        match cuda.device_copy(&lock(&image), output) {
            Ok((device, rb)) => (ptr, row_bytes) = (device as usize, rb),
            Err(e) => {
                effect.journal.warn(format!("resolve-cuda: {e}"));
                ptr = 0;
            }
        }
    }
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
    p.set_str(
        k(sys::kOfxImageEffectPropPreMultiplication),
        &premult.unwrap_or_else(|| premultiplication(effect.plugin.profile, comps).into()),
    );
    p.set_double(k(sys::kOfxImagePropPixelAspectRatio), ctx.pixel_aspect);
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
    let scale = ctx.pixel_scale();
    let mut area = region.map(|r| to_pixels(r, scale));
    if ctx.crop_to_roi {
        if let Some(roi) = ctx.rois.get(&clip.name) {
            let roi = to_pixels(*roi, scale);
            area = Some(area.map_or(roi, |a| a.intersect(&roi)));
        }
    }
    // Tiles of one render share what they fetch (a real host's image cache does the same); the
    // plugin only reads input images.
    let key = (clip.name.clone(), t.to_bits(), area);
    let shared = lock(&ctx.fetched).get(&key).cloned();
    let image = match shared {
        Some(image) => image,
        None => {
            // An unset input (Resolve reports it connected anyway) gives no image.
            let image = input_image(&effect, clip, t, &ctx, area).ok_or(status::FAILED)?;
            let image = if ctx.negative_rows { image.bottom_up() } else { image };
            let image = if ctx.cuda.is_some() { crate::cuda::as_rgba_f32(image) } else { image };
            let image = Arc::new(Mutex::new(image));
            lock(&ctx.fetched).entry(key).or_insert(image).clone()
        }
    };
    let bounds = lock(&image).bounds();
    let rod = input_rod(&effect, &clip.name, t, &ctx).map_or(bounds, |r| to_pixels(r, scale));
    Ok(register_image(&effect, clip, image, rod, &ctx, t))
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
pub(crate) fn allowed_depths(effect: &Effect) -> Vec<BitDepth> {
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

pub(crate) type Formats = HashMap<String, (BitDepth, Components)>;

/// The formats a host picks before asking the plugin (also used before CreateInstance).
pub(crate) fn default_formats(effect: &Effect, ctx: &RenderCtx) -> Formats {
    let profile = effect.plugin.profile;
    let allowed = allowed_depths(effect);
    let mut formats = Formats::new();
    let mut deepest: Option<BitDepth> = None;
    let mut source_comps = None;
    let clips = read(&effect.clips).clone();
    for clip in clips.iter().filter(|c| !c.is_output()) {
        let supported = clip.supported_components();
        let format = match frame_info(effect, &clip.name, fetch_time(effect, ctx, ctx.time), ctx) {
            Some((_, src_depth, src_comps)) => {
                let comps = if profile == HostProfile::Mlt && supported.contains(&Components::Rgba) {
                    Components::Rgba
                } else {
                    pick_components(src_comps, &supported, profile.components())
                };
                (pick_depth(src_depth, &allowed), comps)
            }
            None => (
                *allowed.last().unwrap_or(&BitDepth::F32),
                pick_components(Components::Rgba, &supported, profile.components()),
            ),
        };
        deepest = deepest.max(Some(format.0));
        source_comps.get_or_insert(format.1);
        formats.insert(clip.name.clone(), format);
    }
    if let Some(out) = clips.iter().find(|c| c.is_output()) {
        let depth =
            ctx.options.output_depth.unwrap_or_else(|| deepest.unwrap_or(*allowed.last().unwrap_or(&BitDepth::F32)));
        let comps = ctx.options.output_components.unwrap_or_else(|| {
            pick_components(source_comps.unwrap_or(Components::Rgba), &out.supported_components(), profile.components())
        });
        formats.insert(out.name.clone(), (depth, comps));
    }
    formats
}

/// Writes formats, connection state and frame ranges into the clips' properties.
pub(crate) fn apply_formats(effect: &Effect, formats: &Formats, output_premult: Option<&str>, ctx: &RenderCtx) {
    let profile = effect.plugin.profile;
    for clip in read(&effect.clips).iter() {
        let Some((depth, comps)) = formats.get(&clip.name) else { continue };
        let p = &clip.props;
        p.set_str(k(sys::kOfxImageEffectPropPixelDepth), depth.ofx_name());
        p.set_str(k(sys::kOfxImageEffectPropComponents), comps.ofx_name());
        let unmapped = frame_info(effect, &clip.name, fetch_time(effect, ctx, ctx.time), ctx).map(|(_, d, c)| (d, c));
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
    let project = project_range(effect);
    let inputs = read(&effect.runtime.inputs);
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
        p.set_double(k(sys::kOfxImagePropPixelAspectRatio), lock(&effect.runtime.footage).pixel_aspect);
        p.set_str(k(sys::kOfxImageClipPropFieldOrder), k(sys::kOfxImageFieldNone));
        p.set_int(k(sys::kOfxImageClipPropContinuousSamples), 0);
    }
    effect.props.set_doubles(k(sys::kOfxImageEffectPropFrameRange), &[project.0, project.1]);
    effect.props.set_double(k(sys::kOfxImageEffectInstancePropEffectDuration), project.1 - project.0 + 1.0);
}

/// The project's frame range: as set, else the span of the inputs' frames, else (0, 0).
pub(crate) fn project_range(effect: &Effect) -> (f64, f64) {
    if let Some(range) = *read(&effect.runtime.frame_range) {
        return range;
    }
    let inputs = read(&effect.runtime.inputs);
    let ranges = inputs.values().filter_map(|s| s.frame_range());
    ranges.reduce(|a, b| (a.0.min(b.0), a.1.max(b.1))).unwrap_or((0.0, 0.0))
}

/// Sets the clip formats a host would pick, without asking the plugin (before CreateInstance).
pub(crate) fn set_default_formats(effect: &Effect, time: f64) {
    let ctx = RenderCtx::detached(effect, time);
    apply_formats(effect, &default_formats(effect, &ctx), None, &ctx);
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
}
