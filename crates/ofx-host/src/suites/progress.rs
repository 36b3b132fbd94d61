//! OfxProgressSuiteV1/V2 and OfxTimeLineSuiteV1. Progress is recorded; once the test
//! asked to "press cancel", `progressUpdate` answers `kOfxStatReplyNo`. MLT ignores
//! progress entirely.

use super::{c_str, put};
use crate::journal::ProgressEvent;
use crate::objects::{lock, Effect};
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

fn effect(h: *mut c_void) -> Option<Arc<Effect>> {
    lookup::<Effect>(h)
}

fn start(h: *mut c_void, label: *const c_char) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    if e.plugin.profile.has_progress() {
        // SAFETY: plugin-provided C string or NULL.
        let label = unsafe { c_str(label) }.unwrap_or("").to_string();
        e.journal.progress(ProgressEvent::Start(label));
    }
    status::OK
}

unsafe extern "C" fn start_v1(h: *mut c_void, label: *const c_char) -> OfxStatus {
    start(h, label)
}

unsafe extern "C" fn start_v2(h: *mut c_void, label: *const c_char, _id: *const c_char) -> OfxStatus {
    start(h, label)
}

unsafe extern "C" fn update(h: *mut c_void, fraction: f64) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    if !e.plugin.profile.has_progress() || e.journal.progress_update(fraction) {
        status::OK
    } else {
        status::REPLY_NO
    }
}

unsafe extern "C" fn end(h: *mut c_void) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    if e.plugin.profile.has_progress() {
        e.journal.progress(ProgressEvent::End);
    }
    status::OK
}

/// Progress suite V1.
pub(crate) static SUITE_V1: sys::OfxProgressSuiteV1 =
    sys::OfxProgressSuiteV1 { progressStart: Some(start_v1), progressUpdate: Some(update), progressEnd: Some(end) };

/// Progress suite V2 (adds a message id).
pub(crate) static SUITE_V2: sys::OfxProgressSuiteV2 =
    sys::OfxProgressSuiteV2 { progressStart: Some(start_v2), progressUpdate: Some(update), progressEnd: Some(end) };

unsafe extern "C" fn get_time(h: *mut c_void, out: *mut f64) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, *lock(&e.runtime.time)) };
    status::OK
}

unsafe extern "C" fn goto_time(h: *mut c_void, time: f64) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    *lock(&e.runtime.time) = time;
    status::OK
}

unsafe extern "C" fn get_time_bounds(h: *mut c_void, first: *mut f64, last: *mut f64) -> OfxStatus {
    let Some(e) = effect(h) else { return status::ERR_BAD_HANDLE };
    let (a, b) = crate::clips::project_range(&e);
    // SAFETY: plugin-provided out-pointers (NULL checked).
    unsafe {
        put(first, a);
        put(last, b);
    }
    status::OK
}

/// Timeline suite V1: the instance's current time and frame range.
pub(crate) static TIMELINE: sys::OfxTimeLineSuiteV1 = sys::OfxTimeLineSuiteV1 {
    getTime: Some(get_time),
    gotoTime: Some(goto_time),
    getTimeBounds: Some(get_time_bounds),
};
