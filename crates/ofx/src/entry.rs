//! The C entry points: the plugin table, `setHost`, and one `mainEntry` per effect type that
//! maps OFX actions onto [`Effect`] calls. Nothing here lets a panic or an error escape as
//! anything but a status code plus a host message and a log line.

use crate::describe::components_name;
use crate::image::depth_name;
use crate::image::sane_scale;
use crate::instance::{shorten, Instance, MessageKind};
use crate::property::PropertySet;
use crate::{ChangeReason, ClipPreferences, Context, Describe, Effect, Error, RenderArgs, Result, Status, ThreadSafety};
use imaging::Rect;
use openfx_sys as sys;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The plugins a binary exports, in `OfxGetPlugin` order.
pub struct PluginList(Vec<sys::OfxPlugin>);

// SAFETY: the table holds pointers to 'static C strings and functions only.
unsafe impl Send for PluginList {}
unsafe impl Sync for PluginList {}

impl PluginList {
    pub fn new(plugins: Vec<sys::OfxPlugin>) -> Self {
        PluginList(plugins)
    }

    /// How many plugins.
    pub fn count(&self) -> c_int {
        self.0.len() as c_int
    }

    /// The n-th plugin, NULL when out of range. Hosts only read through the pointer.
    pub fn get(&self, nth: c_int) -> *mut sys::OfxPlugin {
        usize::try_from(nth)
            .ok()
            .and_then(|i| self.0.get(i))
            .map_or(std::ptr::null_mut(), |p| p as *const _ as *mut _)
    }
}

static BUILD_INFO: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Names the plugin build for the Load log line (set by [`crate::export_plugins!`]).
pub fn set_build_info(info: &'static str) {
    let _ = BUILD_INFO.set(info);
}

/// The `OfxPlugin` record of effect `E`.
pub fn plugin_entry<E: Effect>() -> sys::OfxPlugin {
    sys::OfxPlugin {
        pluginApi: sys::kOfxImageEffectPluginApi.as_ptr() as *const c_char,
        apiVersion: 1,
        pluginIdentifier: E::INFO.id.as_ptr(),
        pluginVersionMajor: E::INFO.version.0,
        pluginVersionMinor: E::INFO.version.1,
        setHost: Some(set_host),
        mainEntry: Some(main_entry::<E>),
    }
}

extern "C" fn set_host(host: *mut sys::OfxHost) {
    crate::catch_panic((), || {
        crate::fault::point("setHost");
        crate::logfile::init();
        crate::suites::set_host(host);
    });
}

extern "C" fn main_entry<E: Effect>(
    action: *const c_char,
    handle: *const c_void,
    in_args: sys::OfxPropertySetHandle,
    out_args: sys::OfxPropertySetHandle,
) -> sys::OfxStatus {
    if action.is_null() {
        return Status::ERR_BAD_HANDLE.0;
    }
    // SAFETY: hosts pass a NUL-terminated action name.
    let action = unsafe { CStr::from_ptr(action) }.to_bytes_with_nul();
    let effect = handle as sys::OfxImageEffectHandle;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crate::fault::action_point("mainEntry:", action);
        dispatch::<E>(action, effect, PropertySet(in_args), PropertySet(out_args))
    }));
    let failed = match outcome {
        Ok(Ok(status)) => return status.0,
        Ok(Err(e)) => Failure::Error(e),
        Err(panic) => {
            let what = panic_text(&*panic);
            // Dropping a payload can itself panic, outside any catch: leak the few bytes instead.
            std::mem::forget(panic);
            Failure::Panic(what)
        }
    };
    // Logging and messaging run host code and format user text: they are caught too, and if they
    // panic the user still gets a fixed message (no formatting, no log) and the host an error.
    catch_unwind(AssertUnwindSafe(|| tell::<E>(action, effect, failed))).unwrap_or_else(|panic| {
        std::mem::forget(panic);
        catch_unwind(AssertUnwindSafe(|| report(action, effect, TELL_FAILED))).unwrap_or_else(std::mem::forget);
        Status::FAILED.0
    })
}

/// What the user is told when telling them what failed failed too.
const TELL_FAILED: &str = "DeepMatte: internal error (the error report itself failed; see the DeepMatte log)";

/// Why an action did not succeed.
enum Failure {
    Error(Error),
    Panic(String),
}

/// A panic payload as text (`panic!` makes a `&str` or a `String`).
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
    text.unwrap_or_else(|| "unknown panic".into())
}

/// Logs a failed action, tells the user, and returns the status for the host.
fn tell<E: Effect>(action: &[u8], effect: sys::OfxImageEffectHandle, failed: Failure) -> sys::OfxStatus {
    crate::fault::point("report");
    let name = String::from_utf8_lossy(&action[..action.len() - 1]).into_owned();
    let id = E::INFO.id.to_string_lossy();
    match failed {
        Failure::Error(e) => {
            log::error!("{id}: {name} failed: {}", shorten(&e.message));
            report(action, effect, &e.message);
            e.status.0
        }
        Failure::Panic(what) => {
            log::error!("{id}: {name} panicked: {}", shorten(&what));
            report(action, effect, &format!("internal error in {name}: {what} (see the DeepMatte log)"));
            Status::FAILED.0
        }
    }
}

/// Tells the user: renders get a message attached to the node, user actions a dialog.
fn report(action: &[u8], effect: sys::OfxImageEffectHandle, message: &str) {
    let instance_action = action == sys::kOfxImageEffectActionRender || action == sys::kOfxActionInstanceChanged;
    if !instance_action || effect.is_null() {
        return;
    }
    if let Ok(fx) = Instance::from_handle(effect) {
        if action == sys::kOfxImageEffectActionRender {
            fx.persistent_message(MessageKind::Error, message);
        } else {
            fx.message(MessageKind::Error, message);
        }
    }
}

/// The instance data pointer holds a `Box<E>` from CreateInstance to DestroyInstance.
fn with_state<E: Effect, T>(effect: sys::OfxImageEffectHandle, f: impl FnOnce(&E, &Instance) -> Result<T>) -> Result<T> {
    let fx = Instance::from_handle(effect)?;
    let ptr = fx.props().get_pointer(sys::kOfxPropInstanceData, 0)? as *const E;
    if ptr.is_null() {
        return Err(Error::new(Status::ERR_BAD_HANDLE, "effect instance has no state (not created?)"));
    }
    // SAFETY: the pointer was made by Box::into_raw in CreateInstance and is freed only in
    // DestroyInstance, which hosts never run concurrently with other actions on the instance.
    f(unsafe { &*ptr }, &fx)
}

fn dispatch<E: Effect>(action: &[u8], effect: sys::OfxImageEffectHandle, in_args: PropertySet, out_args: PropertySet) -> Result<Status> {
    let is = |name: &[u8]| action == name;
    if is(sys::kOfxActionLoad) {
        crate::logfile::init();
        crate::suites::suites()?;
        log::info!("{} loaded: build {}", E::INFO.id.to_string_lossy(), BUILD_INFO.get().copied().unwrap_or("unnamed"));
        if E::CUDA {
            crate::cuda::init();
        }
        Ok(Status::OK)
    } else if is(sys::kOfxActionUnload) {
        Ok(Status::OK)
    } else if is(sys::kOfxActionDescribe) {
        describe::<E>(effect)?;
        Ok(Status::OK)
    } else if is(sys::kOfxImageEffectActionDescribeInContext) {
        let context = match in_args.get_string(sys::kOfxImageEffectPropContext, 0)?.as_str() {
            "OfxImageEffectContextGeneral" => Context::General,
            "OfxImageEffectContextFilter" => Context::Filter,
            other => return Err(Error::new(Status::ERR_UNSUPPORTED, format!("context {other} not supported"))),
        };
        E::describe(context, &mut Describe::new(effect))?;
        Ok(Status::OK)
    } else if is(sys::kOfxActionCreateInstance) {
        let fx = Instance::from_handle(effect)?;
        let state = Box::into_raw(Box::new(E::create(&fx)?));
        if let Err(e) = fx.props().set_pointer(sys::kOfxPropInstanceData, 0, state as *mut c_void) {
            // SAFETY: not published to the host, so still uniquely ours.
            drop(unsafe { Box::from_raw(state) });
            return Err(e);
        }
        Ok(Status::OK)
    } else if is(sys::kOfxActionDestroyInstance) {
        let fx = Instance::from_handle(effect)?;
        let ptr = fx.props().get_pointer(sys::kOfxPropInstanceData, 0)? as *mut E;
        if !ptr.is_null() {
            fx.props().set_pointer(sys::kOfxPropInstanceData, 0, std::ptr::null_mut())?;
            // SAFETY: made by Box::into_raw in CreateInstance; cleared above so freed once.
            drop(unsafe { Box::from_raw(ptr) });
        }
        Ok(Status::OK)
    } else if is(sys::kOfxImageEffectActionRender) {
        let [x1, y1, x2, y2] = in_args.get_rect_i(sys::kOfxImageEffectPropRenderWindow)?;
        let args = RenderArgs {
            time: in_args.get_double(sys::kOfxPropTime, 0)?,
            window: Rect { x1, y1, x2, y2 },
            scale: (
                sane_scale(in_args.get_double(sys::kOfxImageEffectPropRenderScale, 0).unwrap_or(1.0)),
                sane_scale(in_args.get_double(sys::kOfxImageEffectPropRenderScale, 1).unwrap_or(1.0)),
            ),
            sequential: in_args.get_int(sys::kOfxImageEffectPropSequentialRenderStatus, 0).unwrap_or(0) != 0,
            interactive: in_args.get_int(sys::kOfxImageEffectPropInteractiveRenderStatus, 0).unwrap_or(0) != 0,
        };
        if in_args.get_int(sys::kOfxImageEffectPropCudaEnabled, 0).unwrap_or(0) != 0 {
            if !E::CUDA || !matches!(crate::cuda::support(), gpu::Probe::Ready { .. }) || E::cuda_ready().is_err() {
                return Err(Error::new(Status::GPU_RENDER_FAILED, "the host asked for a CUDA render this effect did not declare"));
            }
            // Absent unless both sides declared stream support (we always do): then the default stream.
            let stream = in_args.get_pointer(sys::kOfxImageEffectPropCudaStream, 0).unwrap_or(std::ptr::null_mut()) as u64;
            let cuda = crate::cuda::CudaRender { stream };
            crate::cuda::with_device_images(|| with_state::<E, _>(effect, |e, fx| e.render_cuda(fx, &args, &cuda)))?;
        } else {
            with_state::<E, _>(effect, |e, fx| e.render(fx, &args))?;
        }
        Ok(Status::OK)
    } else if is(sys::kOfxActionInstanceChanged) {
        if in_args.get_string(sys::kOfxPropType, 0)? != "OfxTypeParameter" {
            return Ok(Status::REPLY_DEFAULT);
        }
        let name = in_args.get_string(sys::kOfxPropName, 0)?;
        let reason = match in_args.get_string(sys::kOfxPropChangeReason, 0)?.as_str() {
            "OfxChangePluginEdited" => ChangeReason::PluginEdit,
            "OfxChangeTime" => ChangeReason::TimeChange,
            _ => ChangeReason::UserEdit,
        };
        let time = in_args.get_double(sys::kOfxPropTime, 0).unwrap_or(0.0);
        with_state::<E, _>(effect, |e, fx| e.changed(fx, &name, reason, time))?;
        Ok(Status::OK)
    } else if is(sys::kOfxImageEffectActionGetFramesNeeded) {
        let time = in_args.get_double(sys::kOfxPropTime, 0)?;
        let needed = with_state::<E, _>(effect, |e, fx| e.frames_needed(fx, time))?;
        if needed.is_empty() {
            return Ok(Status::REPLY_DEFAULT);
        }
        for n in needed {
            let key = format!("OfxImageClipPropFrameRange_{}\0", n.clip);
            out_args.set_doubles(key.as_bytes(), &[n.first, n.last])?;
        }
        Ok(Status::OK)
    } else if is(sys::kOfxImageEffectActionGetRegionsOfInterest) {
        let time = in_args.get_double(sys::kOfxPropTime, 0)?;
        let set = with_state::<E, _>(effect, |e, fx| {
            let clips = e.whole_frame_inputs();
            for name in clips {
                let Some(clip) = fx.clip(name) else { continue };
                let rod = clip.region_of_definition(time)?;
                out_args.set_doubles(format!("OfxImageClipPropRoI_{name}\0").as_bytes(), &rod)?;
            }
            Ok(!clips.is_empty())
        })?;
        Ok(if set { Status::OK } else { Status::REPLY_DEFAULT })
    } else if is(sys::kOfxImageEffectActionGetClipPreferences) {
        let mut prefs = ClipPreferences::default();
        with_state::<E, _>(effect, |e, fx| e.clip_preferences(fx, &mut prefs))?;
        if let Some(c) = prefs.output_components {
            out_args.set_string(b"OfxImageClipPropComponents_Output\0", 0, components_name(c))?;
        }
        if let Some(p) = prefs.output_premultiplied {
            let v: &[u8] = if p { sys::kOfxImagePreMultiplied } else { sys::kOfxImageUnPreMultiplied };
            out_args.set_string(sys::kOfxImageEffectPropPreMultiplication, 0, cstr(v))?;
        }
        Ok(Status::OK)
    } else if is(sys::kOfxActionPurgeCaches) {
        with_state::<E, _>(effect, |e, _| {
            e.purge_caches();
            Ok(())
        })?;
        Ok(Status::OK)
    } else {
        Ok(Status::REPLY_DEFAULT)
    }
}

fn cstr(bytes: &'static [u8]) -> &'static str {
    CStr::from_bytes_with_nul(bytes).ok().and_then(|c| c.to_str().ok()).unwrap_or("")
}

/// Effect-level properties of the Describe action.
fn describe<E: Effect>(effect: sys::OfxImageEffectHandle) -> Result<()> {
    let fx_props = {
        let s = crate::suites::suites()?;
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        let get = s.effect.getPropertySet.ok_or_else(|| Error::failed("host lacks getPropertySet"))?;
        // SAFETY: descriptor handle from the describe action.
        let status = unsafe { get(effect, &mut props) };
        if status != 0 {
            return Err(Error::host("getPropertySet", "descriptor", status));
        }
        PropertySet(props)
    };
    let info = &E::INFO;
    fx_props.set_string(sys::kOfxPropLabel, 0, info.label)?;
    fx_props.set_string(sys::kOfxImageEffectPluginPropGrouping, 0, info.grouping)?;
    // Optional in OFX 1.4 hosts: a refusal only loses the tooltip.
    let _ = fx_props.set_string(sys::kOfxPropPluginDescription, 0, info.description);
    let contexts: Vec<&str> = info
        .contexts
        .iter()
        .map(|c| match c {
            Context::Filter => "OfxImageEffectContextFilter",
            Context::General => "OfxImageEffectContextGeneral",
        })
        .collect();
    fx_props.set_strings(sys::kOfxImageEffectPropSupportedContexts, &contexts)?;
    let depths: Vec<&str> = info.depths.iter().map(|d| depth_name(*d)).collect();
    fx_props.set_strings(sys::kOfxImageEffectPropSupportedPixelDepths, &depths)?;
    fx_props.set_int(sys::kOfxImageEffectPropSupportsMultipleClipDepths, 0, 0)?;
    fx_props.set_int(sys::kOfxImageEffectPropSupportsTiles, 0, info.tiles as i32)?;
    fx_props.set_int(sys::kOfxImageEffectPropSupportsMultiResolution, 0, 1)?;
    fx_props.set_int(sys::kOfxImageEffectPropTemporalClipAccess, 0, info.temporal_access as i32)?;
    fx_props.set_int(sys::kOfxImageEffectPluginPropHostFrameThreading, 0, 0)?;
    let safety: &[u8] = match info.thread_safety {
        ThreadSafety::FullySafe => sys::kOfxImageEffectRenderFullySafe,
        ThreadSafety::InstanceSafe => sys::kOfxImageEffectRenderInstanceSafe,
    };
    fx_props.set_string(sys::kOfxImageEffectPluginRenderThreadSafety, 0, cstr(safety))?;
    if E::CUDA {
        match crate::cuda::support() {
            gpu::Probe::Ready { .. } => match E::cuda_ready() {
                Ok(()) => {
                    // OFX 1.5 string properties; a host without CUDA render refuses them, which is fine.
                    let _ = fx_props.set_string(sys::kOfxImageEffectPropCudaRenderSupported, 0, "true");
                    let _ = fx_props.set_string(sys::kOfxImageEffectPropCudaStreamSupported, 0, "true");
                }
                Err(why) => log::info!("{}: no CUDA render declared: {why}", info.id.to_string_lossy()),
            },
            gpu::Probe::Off(why) => log::info!("{}: no CUDA render declared: {why}", info.id.to_string_lossy()),
        }
    }
    if info.overlay {
        let entry: sys::OfxPluginEntryPoint = Some(overlay_entry::<E>);
        let ptr = entry.map_or(std::ptr::null_mut(), |f| f as *mut c_void);
        fx_props.set_pointer(sys::kOfxImageEffectPluginPropOverlayInteractV1, 0, ptr)?;
    }
    Ok(())
}

/// The overlay interact's entry point: viewer draw, pen and key actions for effect `E`.
extern "C" fn overlay_entry<E: Effect>(
    action: *const c_char,
    handle: *const c_void,
    in_args: sys::OfxPropertySetHandle,
    _out_args: sys::OfxPropertySetHandle,
) -> sys::OfxStatus {
    if action.is_null() {
        return Status::ERR_BAD_HANDLE.0;
    }
    // SAFETY: hosts pass a NUL-terminated action name.
    let action = unsafe { CStr::from_ptr(action) }.to_bytes_with_nul();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        crate::fault::action_point("overlayEntry:", action);
        overlay_dispatch::<E>(action, handle as sys::OfxInteractHandle, PropertySet(in_args))
    }));
    let failed = match outcome {
        Ok(Ok(status)) => return status.0,
        Ok(Err(e)) => Failure::Error(e),
        Err(panic) => {
            let what = panic_text(&*panic);
            std::mem::forget(panic);
            Failure::Panic(what)
        }
    };
    catch_unwind(AssertUnwindSafe(|| {
        crate::fault::point("report");
        match failed {
            Failure::Error(e) => {
                log::error!("overlay action failed: {}", shorten(&e.message));
                e.status.0
            }
            Failure::Panic(what) => {
                log::error!("overlay action panicked: {}", shorten(&what));
                Status::FAILED.0
            }
        }
    }))
    .unwrap_or_else(|panic| {
        std::mem::forget(panic);
        Status::FAILED.0
    })
}

fn overlay_dispatch<E: Effect>(action: &[u8], interact: sys::OfxInteractHandle, in_args: PropertySet) -> Result<Status> {
    use crate::overlay::{held_modifiers, track_modifier, Overlay, OverlayEvent, OverlayEventKind};
    let kind = if action == sys::kOfxInteractActionDraw {
        None
    } else if action == sys::kOfxInteractActionPenDown {
        Some(OverlayEventKind::PenDown)
    } else if action == sys::kOfxInteractActionPenMotion {
        Some(OverlayEventKind::PenMotion)
    } else if action == sys::kOfxInteractActionPenUp {
        Some(OverlayEventKind::PenUp)
    } else if action == sys::kOfxInteractActionKeyDown || action == sys::kOfxInteractActionKeyUp {
        let key = in_args.get_int(sys::kOfxPropKeySym, 0).unwrap_or(0) as u32;
        let down = action == sys::kOfxInteractActionKeyDown;
        if track_modifier(key, down) || !down {
            return Ok(Status::REPLY_DEFAULT);
        }
        Some(OverlayEventKind::KeyDown)
    } else {
        // Describe, create, destroy, focus: nothing to do.
        return Ok(Status::REPLY_DEFAULT);
    };
    let s = crate::suites::suites()?;
    let interact_suite = s.interact.ok_or_else(|| Error::new(Status::ERR_MISSING_HOST_FEATURE, "host lacks the interact suite"))?;
    let get = interact_suite.interactGetPropertySet.ok_or_else(|| Error::failed("host lacks interactGetPropertySet"))?;
    let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
    // SAFETY: the interact handle the host passed to this action.
    let status = unsafe { get(interact, &mut props) };
    if status != 0 {
        return Err(Error::host("interactGetPropertySet", "overlay", status));
    }
    let effect = PropertySet(props).get_pointer(sys::kOfxPropEffectInstance, 0)? as sys::OfxImageEffectHandle;
    let time = in_args.get_double(sys::kOfxPropTime, 0).unwrap_or(0.0);
    let Some(kind) = kind else {
        let mut overlay = Overlay::new(in_args);
        with_state::<E, _>(effect, |e, fx| e.overlay_draw(fx, &mut overlay, time))?;
        return Ok(Status::OK);
    };
    let event = OverlayEvent {
        kind,
        time,
        position: (
            in_args.get_double(sys::kOfxInteractPropPenPosition, 0).unwrap_or(0.0),
            in_args.get_double(sys::kOfxInteractPropPenPosition, 1).unwrap_or(0.0),
        ),
        pixel_scale: (
            in_args.get_double(sys::kOfxInteractPropPixelScale, 0).unwrap_or(1.0),
            in_args.get_double(sys::kOfxInteractPropPixelScale, 1).unwrap_or(1.0),
        ),
        key: if kind == OverlayEventKind::KeyDown { in_args.get_int(sys::kOfxPropKeySym, 0).unwrap_or(0) as u32 } else { 0 },
        modifiers: held_modifiers(),
    };
    // A click can start a re-track; its failure (a missing model, a read-only store) must reach
    // the user, not only the log.
    let used = with_state::<E, _>(effect, |e, fx| {
        e.overlay_event(fx, &event).inspect_err(|err| fx.message(MessageKind::Error, &err.message))
    })?;
    if !used {
        return Ok(Status::REPLY_DEFAULT);
    }
    if let Some(redraw) = interact_suite.interactRedraw {
        // SAFETY: the interact handle of this action.
        unsafe { redraw(interact) };
    }
    Ok(Status::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_and_its_text_is_kept() {
        let silence = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        assert_eq!(crate::catch_panic(7, || -> i32 { panic!("boom") }), 7);
        let payload = catch_unwind(|| panic!("index {} out of range", 3)).unwrap_err();
        assert_eq!(panic_text(&*payload), "index 3 out of range");
        let payload = catch_unwind(|| std::panic::panic_any(42u8)).unwrap_err();
        assert_eq!(panic_text(&*payload), "unknown panic");
        std::panic::set_hook(silence);
        assert_eq!(crate::catch_panic(7, || 8), 8);
    }

    #[test]
    fn long_messages_are_cut_in_the_middle() {
        let long = format!("cannot open {}: choose another folder", "x".repeat(10_000));
        let short = shorten(&long);
        assert!(short.chars().count() <= crate::instance::MAX_MESSAGE_CHARS, "{}", short.len());
        assert!(short.starts_with("cannot open xxx") && short.ends_with("choose another folder"));
        assert_eq!(shorten("fine"), "fine");
    }
}
