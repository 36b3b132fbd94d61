//! An effect instance as the effect sees it: clips, controls, messages and progress.

use crate::clip::Clip;
use crate::host::Host;
use crate::param::Params;
use crate::property::PropertySet;
use crate::suites::{call, suites};
use crate::{Context, Error, Result};
use openfx_sys as sys;
use std::ffi::CString;
use std::os::raw::{c_char, c_void};

/// How a message is presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Error,
    Warning,
    Message,
}

impl MessageKind {
    fn ofx(self) -> &'static [u8] {
        match self {
            MessageKind::Error => sys::kOfxMessageError,
            MessageKind::Warning => sys::kOfxMessageWarning,
            MessageKind::Message => sys::kOfxMessageMessage,
        }
    }
}

/// True unless `message` is what instance `handle` last logged: a persistent message is set again
/// on every render of a frame in the same state, and the log needs it once.
fn first_time_here(handle: sys::OfxImageEffectHandle, message: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static LAST: Mutex<Option<HashMap<usize, String>>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let last = last.get_or_insert_with(HashMap::new);
    if last.get(&(handle as usize)).is_some_and(|m| m == message) {
        return false;
    }
    // Instances come and go with the project; a bound keeps the map from growing with them.
    if last.len() >= 1024 {
        last.clear();
    }
    last.insert(handle as usize, message.to_owned());
    true
}

/// An effect instance handle with typed access to what it owns.
pub struct Instance {
    handle: sys::OfxImageEffectHandle,
    props: PropertySet,
    params: Params,
    context: Context,
}

// SAFETY: instance handles are opaque host tokens that OFX lets render threads use.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

fn text(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).expect("NULs replaced")
}

/// The longest message shown in the host, in characters: messages echo back what the user or a
/// project typed (folders, ids), and a host dialog or node badge has no use for kilobytes. Room
/// for a missing model's message whole: three searched folders, then what to run.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// `message` cut to [`MAX_MESSAGE_CHARS`]: long echoed values are elided in the middle, so
/// both the start of the sentence and its advice at the end survive.
pub fn shorten(message: &str) -> std::borrow::Cow<'_, str> {
    let count = message.chars().count();
    if count <= MAX_MESSAGE_CHARS {
        return message.into();
    }
    let keep = (MAX_MESSAGE_CHARS - 1) / 2;
    let head: String = message.chars().take(keep).collect();
    let tail: String = message.chars().skip(count - keep).collect();
    format!("{head}…{tail}").into()
}

impl Instance {
    pub(crate) fn from_handle(handle: sys::OfxImageEffectHandle) -> Result<Instance> {
        let s = suites()?;
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        let mut set: sys::OfxParamSetHandle = std::ptr::null_mut();
        // SAFETY: the handle is the instance the host passed to this action.
        unsafe {
            let status = call!(s.effect, getPropertySet)(handle, &mut props);
            if status != 0 {
                return Err(Error::host("getPropertySet", "instance", status));
            }
            let status = call!(s.effect, getParamSet)(handle, &mut set);
            if status != 0 {
                return Err(Error::host("getParamSet", "instance", status));
            }
        }
        let props = PropertySet(props);
        let context = match props.get_string(sys::kOfxImageEffectPropContext, 0).as_deref() {
            Ok("OfxImageEffectContextGeneral") => Context::General,
            _ => Context::Filter,
        };
        Ok(Instance { handle, props, params: Params::new(set), context })
    }

    pub(crate) fn props(&self) -> PropertySet {
        self.props
    }

    /// The context the instance was created in.
    pub fn context(&self) -> Context {
        self.context
    }

    /// The instance's controls.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// A clip by name; `None` if this context does not define it (Filter has no Matte input).
    pub fn clip(&self, name: &str) -> Option<Clip> {
        let s = suites().ok()?;
        let cname = CString::new(name).ok()?;
        let mut clip: sys::OfxImageClipHandle = std::ptr::null_mut();
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        let get = s.effect.clipGetHandle?;
        // SAFETY: valid instance handle, NUL-terminated name, out-pointers to locals.
        let status = unsafe { get(self.handle, cname.as_ptr(), &mut clip, &mut props) };
        (status == 0 && !clip.is_null()).then(|| Clip::new(clip, PropertySet(props), name))
    }

    /// A required clip, or an error naming it.
    pub fn required_clip(&self, name: &str) -> Result<Clip> {
        self.clip(name).ok_or_else(|| Error::failed(format!("the host gave no '{name}' clip")))
    }

    /// Whether the host can fetch frames other than the one being rendered (MLT cannot: it
    /// hands back the current frame whatever time is asked for).
    pub fn host_has_temporal_access(&self) -> bool {
        suites()
            .ok()
            .and_then(|s| PropertySet(s.host_props).get_int(sys::kOfxImageEffectPropTemporalClipAccess, 0).ok())
            .is_none_or(|v| v != 0)
    }

    /// True once the user cancelled the render in progress.
    pub fn aborted(&self) -> bool {
        let Ok(s) = suites() else { return false };
        let Some(abort) = s.effect.abort else { return false };
        // SAFETY: valid instance handle.
        unsafe { abort(self.handle) != 0 }
    }

    /// Shows a message in the host (a dialog in most hosts: use for user actions, not renders).
    pub fn message(&self, kind: MessageKind, message: &str) {
        let message = &*shorten(message);
        log::info!("message to host ({kind:?}): {message}");
        let Ok(s) = suites() else { return };
        let msg = text(message);
        let fmt = c"%s".as_ptr();
        // SAFETY: valid handle, "%s" format with one NUL-terminated string argument.
        unsafe {
            if let Some(f) = s.message_v2.and_then(|m| m.message).or(s.message.and_then(|m| m.message)) {
                f(self.handle as *mut c_void, kind.ofx().as_ptr() as *const c_char, std::ptr::null(), fmt, msg.as_ptr());
            }
        }
    }

    /// Shows a message attached to the node until cleared (render-time problems). Falls back to
    /// a plain message on hosts without message suite V2. A host in the background
    /// (`kOfxImageEffectHostPropIsBackground`: NatronRenderer, render farms) shows persistent
    /// messages nowhere, so there the first time an instance meets a cause it also gets one
    /// ordinary message — its console prints it — while GUI hosts get no dialog per frame.
    pub fn persistent_message(&self, kind: MessageKind, message: &str) {
        let Ok(s) = suites() else { return };
        let message = &*shorten(message);
        let Some(set) = s.message_v2.and_then(|m| m.setPersistentMessage) else {
            return self.message(kind, message);
        };
        if first_time_here(self.handle, message) {
            log::info!("persistent message ({kind:?}): {message}");
            if Host::current().background {
                self.message(kind, message);
            }
        }
        let msg = text(message);
        // SAFETY: as in message.
        unsafe {
            set(
                self.handle as *mut c_void,
                kind.ofx().as_ptr() as *const c_char,
                std::ptr::null(),
                c"%s".as_ptr(),
                msg.as_ptr(),
            );
        }
    }

    /// Clears the node's persistent message, if any.
    pub fn clear_persistent_message(&self) {
        let Ok(s) = suites() else { return };
        if let Some(clear) = s.message_v2.and_then(|m| m.clearPersistentMessage) {
            // SAFETY: valid instance handle.
            unsafe { clear(self.handle as *mut c_void) };
        }
    }

    /// Starts a progress bar; it ends when the returned value drops.
    pub fn progress(&self, label: &str) -> Progress<'_> {
        let started = suites()
            .ok()
            .map(|s| {
                let l = text(label);
                // SAFETY: valid instance handle and label.
                unsafe {
                    if let Some(start) = s.progress_v2.and_then(|p| p.progressStart) {
                        start(self.handle as *mut c_void, l.as_ptr(), c"deepmatte".as_ptr()) == 0
                    } else if let Some(start) = s.progress.and_then(|p| p.progressStart) {
                        start(self.handle as *mut c_void, l.as_ptr()) == 0
                    } else {
                        false
                    }
                }
            })
            .unwrap_or(false);
        Progress { fx: self, started }
    }
}

/// A running progress bar.
pub struct Progress<'a> {
    fx: &'a Instance,
    started: bool,
}

impl Progress<'_> {
    /// Reports `fraction` (0..1) done; returns false when the user asked to cancel.
    pub fn update(&self, fraction: f64) -> bool {
        if !self.started {
            return !self.fx.aborted();
        }
        let Ok(s) = suites() else { return true };
        let update = s.progress_v2.and_then(|p| p.progressUpdate).or(s.progress.and_then(|p| p.progressUpdate));
        // SAFETY: valid instance handle, progress started.
        let status = update.map(|f| unsafe { f(self.fx.handle as *mut c_void, fraction.clamp(0.0, 1.0)) });
        status != Some(crate::Status::REPLY_NO.0) && !self.fx.aborted()
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        if let Ok(s) = suites() {
            let end = s.progress_v2.and_then(|p| p.progressEnd).or(s.progress.and_then(|p| p.progressEnd));
            if let Some(end) = end {
                // SAFETY: valid instance handle, progress started.
                unsafe { end(self.fx.handle as *mut c_void) };
            }
        }
    }
}
