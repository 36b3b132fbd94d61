//! The suites the host hands out through `fetchSuite`, and the `OfxHost` structs (one
//! per profile, alive for the whole process because the plugin keeps the pointer).
//! Every entry point validates its handles through the registry first.

pub(crate) mod effect;
pub(crate) mod interact;
pub(crate) mod memory;
pub(crate) mod message;
pub(crate) mod param;
pub(crate) mod progress;
pub(crate) mod property;
pub(crate) mod thread;

use crate::profile::HostProfile;
use openfx_sys as sys;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::LazyLock;

/// Reads a C string argument; `None` for NULL or non-UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// Writes through an out-pointer if the plugin gave one.
///
/// # Safety
/// `out` must be NULL or valid for writing a `T`.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { out.write(value) };
    }
}

fn suite_ptr<T>(suite: &'static T) -> *const c_void {
    suite as *const T as *const c_void
}

unsafe extern "C" fn fetch_suite(
    _host: sys::OfxPropertySetHandle,
    name: *const c_char,
    version: c_int,
) -> *const c_void {
    // SAFETY: the plugin passes a suite name string (or NULL, handled).
    let Some(name) = (unsafe { c_str(name) }) else { return std::ptr::null() };
    let is = |k: &[u8]| crate::objects::ofx_str_dyn(k) == name;
    let suite = match version {
        1 if is(sys::kOfxPropertySuite) => suite_ptr(&property::SUITE),
        1 if is(sys::kOfxImageEffectSuite) => suite_ptr(&effect::SUITE),
        1 if is(sys::kOfxParameterSuite) => suite_ptr(&param::SUITE),
        1 if is(sys::kOfxMemorySuite) => suite_ptr(&memory::SUITE),
        1 if is(sys::kOfxMultiThreadSuite) => suite_ptr(&thread::SUITE),
        1 if is(sys::kOfxMessageSuite) => suite_ptr(&message::SUITE_V1),
        2 if is(sys::kOfxMessageSuite) => suite_ptr(&message::SUITE_V2),
        1 if is(sys::kOfxProgressSuite) => suite_ptr(&progress::SUITE_V1),
        2 if is(sys::kOfxProgressSuite) => suite_ptr(&progress::SUITE_V2),
        1 if is(sys::kOfxTimeLineSuite) => suite_ptr(&progress::TIMELINE),
        1 if is(sys::kOfxInteractSuite) => suite_ptr(&interact::SUITE),
        1 if is(sys::kOfxDrawSuite) => suite_ptr(&interact::DRAW_SUITE),
        _ => {
            log::debug!("plugin asked for unknown suite {name} v{version}");
            std::ptr::null()
        }
    };
    suite
}

/// The `OfxHost` given to `setHost` for a profile. Leaked on purpose: the plugin may
/// keep the pointer as long as its binary stays loaded.
pub(crate) fn ofx_host(profile: HostProfile) -> *mut sys::OfxHost {
    static HOSTS: LazyLock<Vec<(HostProfile, usize)>> = LazyLock::new(|| {
        crate::profile::ALL
            .into_iter()
            .map(|p| {
                let props = p.properties();
                let host = Box::new(sys::OfxHost { host: props.handle.ptr(), fetchSuite: Some(fetch_suite) });
                (p, Box::into_raw(host) as usize)
            })
            .collect()
    });
    HOSTS.iter().find(|(p, _)| *p == profile).map_or(std::ptr::null_mut(), |(_, h)| *h as *mut sys::OfxHost)
}
