//! An effect instance as a user drives it: inputs, parameter edits (with the
//! InstanceChanged actions a host sends), keyframes, buttons, renders, and what the plugin
//! reported. Under MLT the plugin instance lives only inside each frame's
//! Load → … → Unload cycle; this object then holds the values MLT animates itself.

use crate::actions::call;
use crate::bundle::{self, BundleCore, Context};
use crate::clips;
use crate::image::Image;
use crate::journal::{HostMessage, Journal, ProgressEvent};
use crate::objects::{lock, read, write, Effect, Param};
use crate::ofx_str;
use crate::overlay::Overlay;
use crate::params::{Curve, ParamInfo, ParamKind, ParamValue};
use crate::profile::HostProfile;
use crate::properties::PropertySet;
use crate::render::{self, check, RenderOptions};
use crate::HostError;
use openfx_sys as sys;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

/// Where a clip's frames come from.
#[derive(Clone)]
pub enum ClipSource {
    /// The same image at every time.
    Still(Image),
    /// One image per frame number; other times have no image.
    Frames(BTreeMap<i32, Image>),
    /// Computed on demand (e.g. decoded from a video); `None` means no frame.
    Func(Arc<dyn Fn(f64) -> Option<Image> + Send + Sync>),
}

impl std::fmt::Debug for ClipSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClipSource::Still(i) => f.debug_tuple("Still").field(i).finish(),
            ClipSource::Frames(m) => write!(f, "Frames({} frames)", m.len()),
            ClipSource::Func(_) => write!(f, "Func"),
        }
    }
}

impl ClipSource {
    /// The image at `time` (frames are looked up by the nearest frame number).
    pub fn frame(&self, time: f64) -> Option<Image> {
        match self {
            ClipSource::Still(image) => Some(image.clone()),
            ClipSource::Frames(frames) => frames.get(&(time.round() as i32)).cloned(),
            ClipSource::Func(f) => f(time),
        }
    }

    /// Runs `f` on the frame at `time` without copying stored frames.
    pub(crate) fn peek<R>(&self, time: f64, f: impl FnOnce(&Image) -> R) -> Option<R> {
        match self {
            ClipSource::Still(image) => Some(f(image)),
            ClipSource::Frames(frames) => frames.get(&(time.round() as i32)).map(f),
            ClipSource::Func(source) => source(time).as_ref().map(f),
        }
    }

    /// First and last frame, when the source knows them.
    pub fn frame_range(&self) -> Option<(f64, f64)> {
        match self {
            ClipSource::Frames(frames) => Some((*frames.keys().next()? as f64, *frames.keys().last()? as f64)),
            _ => None,
        }
    }
}

/// An instance of an effect; `Send + Sync`, so renders may run from many threads.
pub struct Instance {
    core: Arc<Core>,
}

struct Core {
    bundle: Arc<BundleCore>,
    index: usize,
    context: Context,
    /// The live plugin instance, or under MLT a template that never sees CreateInstance.
    effect: Arc<Effect>,
}

impl Drop for Core {
    fn drop(&mut self) {
        if self.effect.runtime.live.load(Ordering::SeqCst) {
            destroy(&self.effect);
        }
    }
}

fn k(bytes: &'static [u8]) -> &'static str {
    ofx_str(bytes)
}

/// Instantiates a context descriptor and sends CreateInstance (clip formats are set
/// before it, except under MLT, where they are not known yet).
fn create_live(desc: &Effect, template: Option<&Effect>, journal: Arc<Journal>) -> Result<Arc<Effect>, HostError> {
    let inputs = template.map(|t| read(&t.runtime.inputs).clone()).unwrap_or_default();
    let effect = desc.instantiate(&inputs, journal);
    if let Some(t) = template {
        *write(&effect.runtime.frame_range) = *read(&t.runtime.frame_range);
    }
    clips::update_connections(&effect);
    let profile = effect.plugin.profile;
    if !profile.cycles_per_frame() {
        clips::set_default_formats(&effect, 0.0);
    }
    if profile.clamps_missing_display_range() {
        for p in read(&effect.param_set.params).iter().filter(|p| p.lacks_display_range()) {
            effect.journal.warn(format!(
                "parameter '{}' has no display range: {} clamps it to (-1, 1) (integers to 0)",
                p.name,
                profile.label()
            ));
        }
    }
    Ok(effect)
}

fn send_create(effect: &Arc<Effect>) -> Result<(), HostError> {
    let mark = effect.journal.message_count();
    let st = call(effect, sys::kOfxActionCreateInstance, None, None);
    check(effect, "CreateInstance", st, mark)?;
    effect.runtime.live.store(true, Ordering::SeqCst);
    Ok(())
}

/// DestroyInstance, freeing whatever images the plugin still holds.
fn destroy(effect: &Arc<Effect>) {
    let st = call(effect, sys::kOfxActionDestroyInstance, None, None);
    if !matches!(st, crate::status::OK | crate::status::REPLY_DEFAULT) {
        effect.journal.warn(format!("DestroyInstance returned {}", crate::status::status_name(st)));
    }
    effect.runtime.live.store(false, Ordering::SeqCst);
    let leaked = clips::release_images(effect, None);
    if leaked > 0 {
        effect.journal.warn(format!("the plugin never released {leaked} image(s)"));
    }
}

/// Begin/InstanceChanged/End for one change, as hosts send them.
fn notify(effect: &Arc<Effect>, kind: &[u8], name: &str, reason: &[u8], time: f64) -> Result<(), HostError> {
    let reason = crate::objects::ofx_str_dyn(reason);
    let begin = PropertySet::new(&[]);
    begin.set_str(k(sys::kOfxPropChangeReason), reason);
    let changed = PropertySet::new(&[]);
    changed.set_str(k(sys::kOfxPropType), crate::objects::ofx_str_dyn(kind));
    changed.set_str(k(sys::kOfxPropName), name);
    changed.set_str(k(sys::kOfxPropChangeReason), reason);
    changed.set_double(k(sys::kOfxPropTime), time);
    let proxy = lock(&effect.runtime.footage).proxy_scale;
    changed.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[proxy.0, proxy.1]);
    let mark = effect.journal.message_count();
    let st = call(effect, sys::kOfxActionBeginInstanceChanged, Some(&begin), None);
    check(effect, "BeginInstanceChanged", st, mark)?;
    let st = call(effect, sys::kOfxActionInstanceChanged, Some(&changed), None);
    let result = check(effect, "InstanceChanged", st, mark);
    let st = call(effect, sys::kOfxActionEndInstanceChanged, Some(&begin), None);
    result.and(check(effect, "EndInstanceChanged", st, mark))
}

/// Tells a live instance that the plugin itself changed a parameter (reason
/// kOfxChangePluginEdited). Edits made while handling such a notification are not
/// notified again, so a plugin cannot loop forever.
pub(crate) fn plugin_edited(effect: &Arc<Effect>, param: &str, time: f64) {
    let runtime = &effect.runtime;
    if !runtime.live.load(Ordering::SeqCst) || runtime.plugin_edits.load(Ordering::SeqCst) > 0 {
        return;
    }
    runtime.plugin_edits.fetch_add(1, Ordering::SeqCst);
    let result = notify(effect, sys::kOfxTypeParameter, param, sys::kOfxChangePluginEdited, time);
    runtime.plugin_edits.fetch_sub(1, Ordering::SeqCst);
    if let Err(e) = result {
        effect.journal.warn(format!("after the plugin set '{param}': {e}"));
    }
}

impl Instance {
    pub(crate) fn create(
        bundle: Arc<BundleCore>,
        index: usize,
        context: Context,
        desc: &Effect,
    ) -> Result<Instance, HostError> {
        let effect = create_live(desc, None, Arc::new(Journal::default()))?;
        if !bundle.profile.cycles_per_frame() {
            send_create(&effect)?;
        }
        Ok(Instance { core: Arc::new(Core { bundle, index, context, effect }) })
    }

    fn effect(&self) -> &Arc<Effect> {
        &self.core.effect
    }

    fn profile(&self) -> HostProfile {
        self.core.bundle.profile
    }

    fn live(&self) -> bool {
        self.effect().runtime.live.load(Ordering::SeqCst)
    }

    fn param(&self, name: &str) -> Result<Arc<Param>, HostError> {
        let set = &self.effect().param_set;
        set.get(name).ok_or_else(|| HostError::UnknownParam { name: name.to_string(), available: set.names() })
    }

    /// The plugin id.
    pub fn plugin_id(&self) -> String {
        self.core.bundle.plugin(self.core.index).id.clone()
    }

    /// The context the instance was created in.
    pub fn context(&self) -> Context {
        self.core.context
    }

    /// Every parameter as currently declared (labels, ranges and secrecy may change).
    pub fn params(&self) -> Vec<ParamInfo> {
        read(&self.effect().param_set.params).iter().map(|p| p.info()).collect()
    }

    /// A parameter's value at `time` (interpolated between keys).
    pub fn param_value(&self, name: &str, time: f64) -> Result<ParamValue, HostError> {
        Ok(self.param(name)?.value_at(time))
    }

    /// Checks a value against a parameter; the value Resolve would really store.
    fn prepare(&self, param: &Param, value: ParamValue) -> Result<ParamValue, HostError> {
        param.info().check(&value)?;
        Ok(param.clamped(value))
    }

    fn user_edited(&self, kind: &[u8], name: &str, time: f64) -> Result<(), HostError> {
        if !self.live() {
            return Ok(());
        }
        notify(self.effect(), kind, name, sys::kOfxChangeUserEdited, time)
    }

    fn now(&self) -> f64 {
        *lock(&self.effect().runtime.time)
    }

    /// Sets a value as a user would (type- and range-checked), then sends
    /// InstanceChanged with kOfxChangeUserEdited. On an animated parameter this sets the
    /// key at the current time.
    pub fn set_param(&mut self, name: &str, value: ParamValue) -> Result<(), HostError> {
        let param = self.param(name)?;
        let value = self.prepare(&param, value)?;
        let now = self.now();
        write(&param.curve).set(now, value);
        self.user_edited(sys::kOfxTypeParameter, name, now)
    }

    /// Stores a value exactly as given — out of range, NaN or infinite — without telling the
    /// plugin: what a host that does not clamp, an expression, a project from a newer version or
    /// a damaged project file hands a plugin. Only the type is checked.
    pub fn set_param_unchecked(&mut self, name: &str, value: ParamValue) -> Result<(), HostError> {
        let param = self.param(name)?;
        if !param.kind.accepts(&value) {
            return Err(HostError::WrongType { param: name.to_string(), expected: param.kind, got: format!("{value:?}") });
        }
        let now = self.now();
        write(&param.curve).set(now, value);
        Ok(())
    }

    /// Declares the inputs' pixel aspect ratio (2 for 2:1 anamorphic): images and clips report
    /// it, and canonical x is pixel x times it (at render scale 1).
    pub fn set_pixel_aspect(&mut self, pixel_aspect: f64) {
        lock(&self.effect().runtime.footage).pixel_aspect = pixel_aspect;
        crate::clips::update_connections(self.effect());
    }

    /// Works in proxy mode: button presses and viewer actions (outside renders) report this
    /// render scale and fetch input images at it, as Nuke and Natron do in proxy mode.
    pub fn set_proxy_scale(&mut self, scale: (f64, f64)) {
        lock(&self.effect().runtime.footage).proxy_scale = scale;
    }

    /// [`Instance::set_param`] from text (see [`ParamInfo::parse`]).
    pub fn set_param_text(&mut self, name: &str, text: &str) -> Result<(), HostError> {
        let value = self.param(name)?.info().parse(text)?;
        self.set_param(name, value)
    }

    /// Sets a keyframe (the parameter must animate), then sends InstanceChanged.
    pub fn set_key(&mut self, name: &str, time: f64, value: ParamValue) -> Result<(), HostError> {
        let param = self.param(name)?;
        if !param.info().animates {
            return Err(HostError::Unsupported(format!("parameter '{name}' does not animate")));
        }
        let value = self.prepare(&param, value)?;
        write(&param.curve).set_key(time, value);
        param.sync_animating();
        self.user_edited(sys::kOfxTypeParameter, name, time)
    }

    /// [`Instance::set_key`] from text.
    pub fn set_key_text(&mut self, name: &str, time: f64, text: &str) -> Result<(), HostError> {
        let value = self.param(name)?.info().parse(text)?;
        self.set_key(name, time, value)
    }

    /// Presses a push button: Begin/InstanceChanged/End with kOfxChangeUserEdited.
    pub fn press(&mut self, button: &str, time: f64) -> Result<(), HostError> {
        let param = self.param(button)?;
        if param.kind != ParamKind::PushButton {
            return Err(HostError::WrongType {
                param: button.to_string(),
                expected: param.kind,
                got: "a button press".into(),
            });
        }
        if self.profile().cycles_per_frame() {
            return Err(HostError::Unsupported("MLT has no live instance to press buttons on".into()));
        }
        *lock(&self.effect().runtime.time) = time;
        self.user_edited(sys::kOfxTypeParameter, button, time)
    }

    /// Connects frames to a clip (`Source`, `Matte`, …) and tells the instance. An
    /// unknown clip name is recorded as a warning.
    pub fn set_input(&mut self, clip: &str, source: ClipSource) {
        self.change_input(clip, Some(source));
    }

    /// Disconnects a clip.
    pub fn clear_input(&mut self, clip: &str) {
        self.change_input(clip, None);
    }

    fn change_input(&mut self, clip: &str, source: Option<ClipSource>) {
        let effect = self.effect().clone();
        if effect.clip(clip).is_none() {
            effect.journal.warn(format!("no clip named {clip:?}; clips: {}", effect.clip_names().join(", ")));
        }
        match source {
            Some(s) => write(&effect.runtime.inputs).insert(clip.to_string(), s),
            None => write(&effect.runtime.inputs).remove(clip),
        };
        clips::update_connections(&effect);
        if let Err(e) = self.user_edited(sys::kOfxTypeClip, clip, self.now()) {
            effect.journal.warn(format!("after connecting {clip}: {e}"));
        }
    }

    /// Sets the project's frame range (timeline bounds, effect and clip frame ranges).
    pub fn set_frame_range(&mut self, first: f64, last: f64) {
        *write(&self.effect().runtime.frame_range) = Some((first, last));
        clips::update_connections(self.effect());
    }

    /// Serialises renders as the plugin's declared render thread safety requires.
    fn render_guard(&self) -> (Option<MutexGuard<'_, ()>>, Option<MutexGuard<'_, ()>>) {
        let safety = self.effect().prop_str(sys::kOfxImageEffectPluginRenderThreadSafety);
        if safety == k(sys::kOfxImageEffectRenderUnsafe) {
            (Some(lock(&self.core.bundle.plugin(self.core.index).unsafe_render)), None)
        } else if safety == k(sys::kOfxImageEffectRenderFullySafe) {
            (None, None)
        } else {
            (None, Some(lock(&self.effect().runtime.instance_render)))
        }
    }

    /// Renders one frame through the whole pipeline (clip preferences, RoD, identity,
    /// RoI, Begin/Render/EndSequenceRender, tiles per profile) and returns the output
    /// image as the plugin wrote it: covering the region of definition (zero outside the
    /// render window), bounds moved by `options.bounds_offset`, negative row bytes when
    /// asked for or under MLT.
    pub fn render(&self, time: f64, options: &RenderOptions) -> Result<Image, HostError> {
        if self.profile().cycles_per_frame() {
            return self.mlt_frame(time, options);
        }
        let _guard = self.render_guard();
        let effect = self.effect();
        render::sequence(effect, true, time, time, options, false)?;
        let image = render::render_frame(effect, time, options, false);
        let end = render::sequence(effect, false, time, time, options, false);
        let image = image?;
        end.map(|_| image)
    }

    /// Renders `first..=last` inside one Begin/EndSequenceRender (sequential), handing
    /// each frame to `each`. Stops with [`HostError::Cancelled`] once the simulated user
    /// cancelled, and with the first error from a frame or from `each`.
    pub fn render_sequence(
        &self,
        first: i32,
        last: i32,
        options: &RenderOptions,
        mut each: impl FnMut(i32, Image) -> Result<(), HostError>,
    ) -> Result<(), HostError> {
        if self.profile().cycles_per_frame() {
            for frame in first..=last {
                each(frame, self.mlt_frame(frame as f64, options)?)?;
            }
            return Ok(());
        }
        let _guard = self.render_guard();
        let effect = self.effect();
        render::sequence(effect, true, first as f64, last as f64, options, true)?;
        let mut result = Ok(());
        for frame in first..=last {
            if effect.journal.cancelled() {
                result = Err(HostError::Cancelled { frame });
                break;
            }
            result = render::render_frame(effect, frame as f64, options, true).and_then(|img| each(frame, img));
            if result.is_err() {
                break;
            }
        }
        let end = render::sequence(effect, false, first as f64, last as f64, options, true);
        result.and(end)
    }

    /// MLT's frame-threaded cycle: Load → Describe → DescribeInContext → CreateInstance
    /// (clip formats unset) → render → DestroyInstance → Unload, with the parameter values
    /// of this frame and no keys.
    fn mlt_frame(&self, time: f64, options: &RenderOptions) -> Result<Image, HostError> {
        let plugin = self.core.bundle.plugin(self.core.index).clone();
        let template = self.effect();
        bundle::load_action(&plugin)?;
        let result = bundle::describe(&plugin).and_then(|main| {
            let desc = bundle::describe_in_context(&main, self.core.context)?;
            let fx = create_live(&desc, Some(template), template.journal.clone())?;
            for p in read(&template.param_set.params).iter() {
                if let Some(q) = fx.param_set.get(&p.name) {
                    *write(&q.curve) = Curve::constant(p.value_at(time));
                }
            }
            send_create(&fx)?;
            let image = render::sequence(&fx, true, time, time, options, false)
                .and_then(|_| render::render_frame(&fx, time, options, false))
                .and_then(|image| render::sequence(&fx, false, time, time, options, false).map(|_| image));
            destroy(&fx);
            image
        });
        bundle::unload_action(&plugin);
        result
    }

    /// GetFramesNeeded: the (clip, first, last) ranges the plugin needs to render `time`.
    pub fn frames_needed(&self, time: f64) -> Result<Vec<(String, f64, f64)>, HostError> {
        if self.profile().cycles_per_frame() {
            return Err(HostError::Unsupported("MLT has no temporal clip access".into()));
        }
        render::frames_needed(self.effect(), time)
    }

    /// kOfxActionPurgeCaches: asks the plugin to drop what it cached for this instance.
    pub fn purge_caches(&self) -> Result<(), HostError> {
        self.simple_action(sys::kOfxActionPurgeCaches, "PurgeCaches")
    }

    /// kOfxActionSyncPrivateData: asks the plugin to write private state into its
    /// parameters, as a host does before saving a project.
    pub fn sync_private_data(&self) -> Result<(), HostError> {
        self.simple_action(sys::kOfxActionSyncPrivateData, "SyncPrivateData")
    }

    fn simple_action(&self, action: &[u8], name: &str) -> Result<(), HostError> {
        if !self.live() {
            return Err(HostError::Unsupported(format!("{name} needs a live instance, which MLT does not keep")));
        }
        let mark = self.effect().journal.message_count();
        let st = call(self.effect(), action, None, None);
        check(self.effect(), name, st, mark)
    }

    /// Every message the plugin posted to this instance (and with a NULL handle during
    /// its actions), oldest first.
    pub fn messages(&self) -> Vec<HostMessage> {
        self.effect().journal.messages()
    }

    /// Like [`Instance::messages`], and forgets them.
    pub fn take_messages(&self) -> Vec<HostMessage> {
        self.effect().journal.take_messages()
    }

    /// The persistent message currently shown, if any.
    pub fn persistent_message(&self) -> Option<HostMessage> {
        self.effect().journal.persistent()
    }

    /// Problems the host noticed: unreleased images, parameters set during render,
    /// Resolve's display-range clamping, forced tiles or scales.
    pub fn warnings(&self) -> Vec<String> {
        self.effect().journal.warnings()
    }

    /// Every progress-suite call, in order.
    pub fn progress_events(&self) -> Vec<ProgressEvent> {
        self.effect().journal.progress_events()
    }

    /// Simulates the user pressing cancel after `n` progress updates (`None` = never):
    /// later updates answer kOfxStatReplyNo and `abort` returns 1.
    pub fn cancel_after_progress_updates(&self, n: Option<usize>) {
        self.effect().journal.cancel_after(n);
    }

    /// The plugin's overlay interact, if it has one and the profile draws overlays.
    pub fn overlay(&mut self) -> Option<Overlay> {
        if !self.profile().supports_overlays() || !self.live() {
            return None;
        }
        match Overlay::create(self.effect()) {
            Ok(overlay) => overlay,
            Err(e) => {
                self.effect().journal.warn(format!("overlay interact failed: {e}"));
                None
            }
        }
    }
}
