//! OfxPropertySuiteV1 over [`PropertySet`].

use super::{c_str, put};
use crate::properties::{PropertySet, Scalar};
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_int, c_void, CStr};

type Props = sys::OfxPropertySetHandle;

/// Resolves the handle and property name, then runs `f`.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string.
unsafe fn with(h: Props, name: *const c_char, f: impl FnOnce(&PropertySet, &str) -> OfxStatus) -> OfxStatus {
    let Some(set) = lookup::<PropertySet>(h as *const c_void) else { return status::ERR_BAD_HANDLE };
    let set = crate::profile::host_props_for_caller(set);
    // SAFETY: per this function's contract.
    match unsafe { c_str(name) } {
        Some(name) => f(&set, name),
        None => status::ERR_UNKNOWN,
    }
}

fn index(i: c_int) -> Option<usize> {
    usize::try_from(i).ok()
}

unsafe extern "C" fn set_pointer(h: Props, p: *const c_char, i: c_int, v: *mut c_void) -> OfxStatus {
    // SAFETY: plugin-provided C string.
    unsafe { with(h, p, |s, n| index(i).map_or(status::ERR_BAD_INDEX, |i| s.set_at(n, i, Scalar::Ptr(v as usize)))) }
}

unsafe extern "C" fn set_string(h: Props, p: *const c_char, i: c_int, v: *const c_char) -> OfxStatus {
    if v.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: `v` is a non-NULL C string from the plugin.
    let v = unsafe { CStr::from_ptr(v) };
    // SAFETY: plugin-provided C string.
    unsafe { with(h, p, |s, n| index(i).map_or(status::ERR_BAD_INDEX, |i| s.set_at(n, i, Scalar::Str(v)))) }
}

unsafe extern "C" fn set_double(h: Props, p: *const c_char, i: c_int, v: f64) -> OfxStatus {
    // SAFETY: plugin-provided C string.
    unsafe { with(h, p, |s, n| index(i).map_or(status::ERR_BAD_INDEX, |i| s.set_at(n, i, Scalar::Double(v)))) }
}

unsafe extern "C" fn set_int(h: Props, p: *const c_char, i: c_int, v: c_int) -> OfxStatus {
    // SAFETY: plugin-provided C string.
    unsafe { with(h, p, |s, n| index(i).map_or(status::ERR_BAD_INDEX, |i| s.set_at(n, i, Scalar::Int(v)))) }
}

/// Sets `count` values read by `get(i)`, then trims the property to `count` values.
///
/// # Safety
/// `p` must be NULL or a C string; `get` must only read the plugin's array below `count`.
unsafe fn set_n(h: Props, p: *const c_char, count: c_int, get: impl Fn(usize) -> Option<Scalar<'static>>) -> OfxStatus {
    let Some(count) = index(count) else { return status::ERR_BAD_INDEX };
    // SAFETY: per this function's contract.
    unsafe {
        with(h, p, |s, n| {
            for i in 0..count {
                let Some(v) = get(i) else { return status::ERR_VALUE };
                let st = s.set_at(n, i, v);
                if st != status::OK {
                    return st;
                }
            }
            if count == 0 {
                // An empty list still names the property (e.g. no supported contexts yet).
                if s.dimension(n).is_err() {
                    return status::OK;
                }
            }
            s.truncate(n, count);
            status::OK
        })
    }
}

unsafe extern "C" fn set_pointer_n(h: Props, p: *const c_char, count: c_int, v: *const *mut c_void) -> OfxStatus {
    if v.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: the plugin passes `count` readable pointers.
    unsafe { set_n(h, p, count, |i| Some(Scalar::Ptr(*v.add(i) as usize))) }
}

unsafe extern "C" fn set_string_n(h: Props, p: *const c_char, count: c_int, v: *const *const c_char) -> OfxStatus {
    if v.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: the plugin passes `count` C strings, alive for this call; `set_at` copies them.
    unsafe {
        set_n(h, p, count, |i| {
            let s = *v.add(i);
            (!s.is_null()).then(|| Scalar::Str(CStr::from_ptr(s)))
        })
    }
}

unsafe extern "C" fn set_double_n(h: Props, p: *const c_char, count: c_int, v: *const f64) -> OfxStatus {
    if v.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: the plugin passes `count` readable doubles.
    unsafe { set_n(h, p, count, |i| Some(Scalar::Double(*v.add(i)))) }
}

unsafe extern "C" fn set_int_n(h: Props, p: *const c_char, count: c_int, v: *const c_int) -> OfxStatus {
    if v.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: the plugin passes `count` readable ints.
    unsafe { set_n(h, p, count, |i| Some(Scalar::Int(*v.add(i)))) }
}

/// Reads `count` values with `get` into the plugin's array `out`.
///
/// # Safety
/// `p` must be NULL or a C string; `out` NULL or writable for `count` values.
unsafe fn get_n<T>(
    h: Props,
    p: *const c_char,
    count: c_int,
    out: *mut T,
    get: impl Fn(&PropertySet, &str, usize) -> Result<T, OfxStatus>,
) -> OfxStatus {
    let Some(count) = index(count) else { return status::ERR_BAD_INDEX };
    if out.is_null() {
        return status::ERR_VALUE;
    }
    // SAFETY: per this function's contract.
    unsafe {
        with(h, p, |s, n| {
            for i in 0..count {
                match get(s, n, i) {
                    Ok(v) => out.add(i).write(v),
                    Err(e) => return e,
                }
            }
            status::OK
        })
    }
}

unsafe extern "C" fn get_pointer(h: Props, p: *const c_char, i: c_int, out: *mut *mut c_void) -> OfxStatus {
    let Some(i) = index(i) else { return status::ERR_BAD_INDEX };
    // SAFETY: plugin-provided string and out-pointer.
    unsafe { get_n(h, p, 1, out, |s, n, _| s.get_ptr(n, i).map(|v| v as *mut c_void)) }
}

unsafe extern "C" fn get_string(h: Props, p: *const c_char, i: c_int, out: *mut *mut c_char) -> OfxStatus {
    let Some(i) = index(i) else { return status::ERR_BAD_INDEX };
    // SAFETY: plugin-provided string and out-pointer.
    unsafe { get_n(h, p, 1, out, |s, n, _| s.get_str_ptr(n, i).map(|v| v as *mut c_char)) }
}

unsafe extern "C" fn get_double(h: Props, p: *const c_char, i: c_int, out: *mut f64) -> OfxStatus {
    let Some(i) = index(i) else { return status::ERR_BAD_INDEX };
    // SAFETY: plugin-provided string and out-pointer.
    unsafe { get_n(h, p, 1, out, |s, n, _| s.get_double(n, i)) }
}

unsafe extern "C" fn get_int(h: Props, p: *const c_char, i: c_int, out: *mut c_int) -> OfxStatus {
    let Some(i) = index(i) else { return status::ERR_BAD_INDEX };
    // SAFETY: plugin-provided string and out-pointer.
    unsafe { get_n(h, p, 1, out, |s, n, _| s.get_int(n, i)) }
}

unsafe extern "C" fn get_pointer_n(h: Props, p: *const c_char, count: c_int, out: *mut *mut c_void) -> OfxStatus {
    // SAFETY: plugin-provided string and out-array.
    unsafe { get_n(h, p, count, out, |s, n, i| s.get_ptr(n, i).map(|v| v as *mut c_void)) }
}

unsafe extern "C" fn get_string_n(h: Props, p: *const c_char, count: c_int, out: *mut *mut c_char) -> OfxStatus {
    // SAFETY: plugin-provided string and out-array.
    unsafe { get_n(h, p, count, out, |s, n, i| s.get_str_ptr(n, i).map(|v| v as *mut c_char)) }
}

unsafe extern "C" fn get_double_n(h: Props, p: *const c_char, count: c_int, out: *mut f64) -> OfxStatus {
    // SAFETY: plugin-provided string and out-array.
    unsafe { get_n(h, p, count, out, |s, n, i| s.get_double(n, i)) }
}

unsafe extern "C" fn get_int_n(h: Props, p: *const c_char, count: c_int, out: *mut c_int) -> OfxStatus {
    // SAFETY: plugin-provided string and out-array.
    unsafe { get_n(h, p, count, out, |s, n, i| s.get_int(n, i)) }
}

unsafe extern "C" fn reset(h: Props, p: *const c_char) -> OfxStatus {
    // SAFETY: plugin-provided C string.
    unsafe { with(h, p, |s, n| s.reset(n)) }
}

unsafe extern "C" fn get_dimension(h: Props, p: *const c_char, count: *mut c_int) -> OfxStatus {
    // SAFETY: plugin-provided C string and out-pointer.
    unsafe {
        with(h, p, |s, n| match s.dimension(n) {
            Ok(d) => {
                put(count, d as c_int);
                status::OK
            }
            Err(e) => e,
        })
    }
}

/// The property suite handed to plugins.
pub(crate) static SUITE: sys::OfxPropertySuiteV1 = sys::OfxPropertySuiteV1 {
    propSetPointer: Some(set_pointer),
    propSetString: Some(set_string),
    propSetDouble: Some(set_double),
    propSetInt: Some(set_int),
    propSetPointerN: Some(set_pointer_n),
    propSetStringN: Some(set_string_n),
    propSetDoubleN: Some(set_double_n),
    propSetIntN: Some(set_int_n),
    propGetPointer: Some(get_pointer),
    propGetString: Some(get_string),
    propGetDouble: Some(get_double),
    propGetInt: Some(get_int),
    propGetPointerN: Some(get_pointer_n),
    propGetStringN: Some(get_string_n),
    propGetDoubleN: Some(get_double_n),
    propGetIntN: Some(get_int_n),
    propReset: Some(reset),
    propGetDimension: Some(get_dimension),
};
