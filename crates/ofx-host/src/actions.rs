//! Calling the plugin's main entry. Each call pushes a frame on a thread-local stack so
//! that suite calls without a telling handle (a NULL message handle, `clipGetImage`,
//! which has no render argument) know which effect and which render they belong to.
//! The multithread suite copies the frame into the threads it spawns.

use crate::journal::Journal;
use crate::objects::Effect;
use crate::properties::PropertySet;
use crate::render::RenderCtx;
use crate::status::OfxStatus;
use openfx_sys as sys;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;

/// The plugin's `mainEntry` (also an interact's).
pub(crate) type MainEntry = unsafe extern "C" fn(
    *const c_char,
    *const c_void,
    sys::OfxPropertySetHandle,
    sys::OfxPropertySetHandle,
) -> OfxStatus;

/// Who a call on this thread is for.
#[derive(Clone)]
pub(crate) struct Frame {
    pub journal: Arc<Journal>,
    pub effect: Option<Arc<Effect>>,
    pub render: Option<Arc<RenderCtx>>,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// The innermost frame on this thread, if the host is inside a plugin call.
pub(crate) fn current() -> Option<Frame> {
    FRAMES.with(|f| f.borrow().last().cloned())
}

/// The render this thread is doing for `effect`, if any.
pub(crate) fn current_render(effect: &Effect) -> Option<Arc<RenderCtx>> {
    FRAMES.with(|f| {
        f.borrow()
            .iter()
            .rev()
            .filter(|fr| fr.effect.as_ref().is_some_and(|e| std::ptr::eq(Arc::as_ptr(e), effect)))
            .find_map(|fr| fr.render.clone())
    })
}

/// Runs `f` with `frame` pushed (used for plugin calls and spawned threads).
pub(crate) fn with_frame<R>(frame: Frame, f: impl FnOnce() -> R) -> R {
    FRAMES.with(|s| s.borrow_mut().push(frame));
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            FRAMES.with(|s| s.borrow_mut().pop());
        }
    }
    let _pop = Pop;
    f()
}

fn raw(handle: Option<&Arc<PropertySet>>) -> sys::OfxPropertySetHandle {
    handle.map_or(std::ptr::null_mut(), |p| p.handle.ptr())
}

/// Calls `entry` with an action; `handle` is whatever the action applies to.
pub(crate) fn call_entry(
    entry: MainEntry,
    frame: Frame,
    action: &[u8],
    handle: *const c_void,
    in_args: Option<&Arc<PropertySet>>,
    out_args: Option<&Arc<PropertySet>>,
) -> OfxStatus {
    let action = CStr::from_bytes_with_nul(action).expect("OFX action names are NUL-terminated");
    log::trace!("{:?}", action);
    // SAFETY: `entry` is the plugin's main entry (resolved from its OfxPlugin struct, the
    // binary kept loaded by `Plugin::library`); every argument is a valid C string or a
    // registered handle, as the OFX ABI requires.
    with_frame(frame, || unsafe { entry(action.as_ptr(), handle, raw(in_args), raw(out_args)) })
}

/// Calls an action on an effect (descriptor or instance), outside any render.
pub(crate) fn call(
    effect: &Arc<Effect>,
    action: &[u8],
    in_args: Option<&Arc<PropertySet>>,
    out_args: Option<&Arc<PropertySet>>,
) -> OfxStatus {
    call_in_render(effect, None, action, in_args, out_args)
}

/// Calls an action on an effect as part of a render, so `clipGetImage` finds its context.
pub(crate) fn call_in_render(
    effect: &Arc<Effect>,
    render: Option<Arc<RenderCtx>>,
    action: &[u8],
    in_args: Option<&Arc<PropertySet>>,
    out_args: Option<&Arc<PropertySet>>,
) -> OfxStatus {
    let frame = Frame { journal: effect.journal.clone(), effect: Some(effect.clone()), render };
    call_entry(effect.plugin.entry, frame, action, effect.handle.ptr(), in_args, out_args)
}
