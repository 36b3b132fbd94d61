//! OfxImageEffectSuiteV1: effect and clip properties, clip definition, image fetching
//! (the pixels come from `render`), abort, and image memory.

use super::memory::{image_memory_alloc, image_memory_free, image_memory_lock, image_memory_unlock};
use super::{c_str, put};
use crate::clips;
use crate::objects::{Clip, Effect};
use crate::properties::PropertySet;
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_int, c_void};

fn effect(h: sys::OfxImageEffectHandle) -> Option<std::sync::Arc<Effect>> {
    lookup::<Effect>(h as *const c_void)
}

fn clip(h: sys::OfxImageClipHandle) -> Option<std::sync::Arc<Clip>> {
    lookup::<Clip>(h as *const c_void)
}

unsafe extern "C" fn get_property_set(h: sys::OfxImageEffectHandle, out: *mut sys::OfxPropertySetHandle) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, e.props.handle.ptr()) };
    status::OK
}

unsafe extern "C" fn get_param_set(h: sys::OfxImageEffectHandle, out: *mut sys::OfxParamSetHandle) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, e.param_set.handle.ptr()) };
    status::OK
}

unsafe extern "C" fn clip_define(
    h: sys::OfxImageEffectHandle,
    name: *const c_char,
    out: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided C string or NULL.
    let Some(name) = (unsafe { c_str(name) }) else { return status::ERR_VALUE };
    match e.define_clip(name) {
        Ok(c) => {
            // SAFETY: plugin-provided out-pointer (NULL checked).
            unsafe { put(out, c.props.handle.ptr()) };
            status::OK
        }
        Err(st) => st,
    }
}

unsafe extern "C" fn clip_get_handle(
    h: sys::OfxImageEffectHandle,
    name: *const c_char,
    out: *mut sys::OfxImageClipHandle,
    props: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided C string or NULL.
    let Some(c) = unsafe { c_str(name) }.and_then(|n| e.clip(n)) else { return status::ERR_UNKNOWN };
    // SAFETY: plugin-provided out-pointers (NULL checked).
    unsafe {
        put(out, c.handle.ptr());
        put(props, c.props.handle.ptr());
    }
    status::OK
}

unsafe extern "C" fn clip_get_property_set(
    h: sys::OfxImageClipHandle,
    out: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    let Some(c) = clip(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, c.props.handle.ptr()) };
    status::OK
}

unsafe extern "C" fn clip_get_image(
    h: sys::OfxImageClipHandle,
    time: f64,
    region: *const sys::OfxRectD,
    out: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    // SAFETY: plugin-provided out-pointer (NULL checked); cleared first so a failure
    // never leaves a stale handle behind.
    unsafe { put(out, std::ptr::null_mut()) };
    if out.is_null() {
        return status::ERR_VALUE;
    }
    let Some(c) = clip(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: NULL or a plugin-provided rectangle.
    let region = unsafe { region.as_ref() }.map(|r| [r.x1, r.y1, r.x2, r.y2]);
    match clips::fetch_image(&c, time, region) {
        Ok(image) => {
            // SAFETY: checked non-NULL above.
            unsafe { out.write(image.handle.ptr()) };
            status::OK
        }
        Err(st) => st,
    }
}

unsafe extern "C" fn clip_release_image(h: sys::OfxPropertySetHandle) -> OfxStatus {
    let Some(image) = lookup::<PropertySet>(h as *const c_void) else { return status::ERR_BAD_HANDLE };
    if clips::release_image(&image) {
        status::OK
    } else {
        status::ERR_BAD_HANDLE
    }
}

unsafe extern "C" fn clip_get_rod(h: sys::OfxImageClipHandle, time: f64, out: *mut sys::OfxRectD) -> OfxStatus {
    let Some(c) = clip(h) else { return status::ERR_BAD_HANDLE };
    let r = clips::clip_rod(&c, time);
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, sys::OfxRectD { x1: r[0], y1: r[1], x2: r[2], y2: r[3] }) };
    status::OK
}

unsafe extern "C" fn abort(h: sys::OfxImageEffectHandle) -> c_int {
    effect(h).is_some_and(|e| e.plugin.profile.has_progress() && e.journal.cancelled()) as c_int
}

/// The image effect suite handed to plugins.
pub(crate) static SUITE: sys::OfxImageEffectSuiteV1 = sys::OfxImageEffectSuiteV1 {
    getPropertySet: Some(get_property_set),
    getParamSet: Some(get_param_set),
    clipDefine: Some(clip_define),
    clipGetHandle: Some(clip_get_handle),
    clipGetPropertySet: Some(clip_get_property_set),
    clipGetImage: Some(clip_get_image),
    clipReleaseImage: Some(clip_release_image),
    clipGetRegionOfDefinition: Some(clip_get_rod),
    abort: Some(abort),
    imageMemoryAlloc: Some(image_memory_alloc),
    imageMemoryFree: Some(image_memory_free),
    imageMemoryLock: Some(image_memory_lock),
    imageMemoryUnlock: Some(image_memory_unlock),
};
