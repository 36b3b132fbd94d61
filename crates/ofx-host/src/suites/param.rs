//! OfxParameterSuiteV1. The variadic value calls are C (csrc/param_varargs.c), which asks
//! [`ofxh_param_shape`] how to read its arguments and forwards here.

use super::{c_str, put};
use crate::actions;
use crate::objects::{lock, read, write, Effect, Param, ParamSet};
use crate::params::{Curve, ParamKind, Storage};
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::sync::Arc;

extern "C" {
    fn ofxh_paramGetValue(h: sys::OfxParamHandle, ...) -> OfxStatus;
    fn ofxh_paramGetValueAtTime(h: sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
    fn ofxh_paramGetDerivative(h: sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
    fn ofxh_paramGetIntegral(h: sys::OfxParamHandle, t1: f64, t2: f64, ...) -> OfxStatus;
    fn ofxh_paramSetValue(h: sys::OfxParamHandle, ...) -> OfxStatus;
    fn ofxh_paramSetValueAtTime(h: sys::OfxParamHandle, time: f64, ...) -> OfxStatus;
}

fn param(h: sys::OfxParamHandle) -> Option<Arc<Param>> {
    lookup::<Param>(h as *const c_void)
}

/// The time "now" for a parameter: the render's time on a render thread, else the
/// instance's timeline time.
fn now(effect: Option<&Arc<Effect>>) -> f64 {
    let Some(effect) = effect else { return 0.0 };
    match actions::current_render(effect) {
        Some(ctx) => ctx.time,
        None => *lock(&effect.runtime.time),
    }
}

unsafe extern "C" fn define(
    set: sys::OfxParamSetHandle,
    kind: *const c_char,
    name: *const c_char,
    out: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    let Some(set) = lookup::<ParamSet>(set as *const c_void) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided C strings or NULL.
    let (Some(kind), Some(name)) = (unsafe { c_str(kind) }, unsafe { c_str(name) }) else { return status::ERR_VALUE };
    let Some(kind) = ParamKind::from_ofx_type(kind) else { return status::ERR_UNSUPPORTED };
    match set.define(kind, name) {
        Ok(p) => {
            // SAFETY: plugin-provided out-pointer (NULL checked).
            unsafe { put(out, p.props.handle.ptr()) };
            status::OK
        }
        Err(e) => e,
    }
}

unsafe extern "C" fn get_handle(
    set: sys::OfxParamSetHandle,
    name: *const c_char,
    out: *mut sys::OfxParamHandle,
    props: *mut sys::OfxPropertySetHandle,
) -> OfxStatus {
    let Some(set) = lookup::<ParamSet>(set as *const c_void) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided C string or NULL.
    let Some(p) = unsafe { c_str(name) }.and_then(|n| set.get(n)) else { return status::ERR_UNKNOWN };
    // SAFETY: plugin-provided out-pointers (NULL checked).
    unsafe {
        put(out, p.handle.ptr());
        put(props, p.props.handle.ptr());
    }
    status::OK
}

unsafe extern "C" fn set_props(set: sys::OfxParamSetHandle, out: *mut sys::OfxPropertySetHandle) -> OfxStatus {
    let Some(set) = lookup::<ParamSet>(set as *const c_void) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, set.props.handle.ptr()) };
    status::OK
}

unsafe extern "C" fn param_props(h: sys::OfxParamHandle, out: *mut sys::OfxPropertySetHandle) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, p.props.handle.ptr()) };
    status::OK
}

/// Tells the C shim how to read a value call's varargs: storage (0 double, 1 int,
/// 2 string, 3 none) and dimension.
#[no_mangle]
unsafe extern "C" fn ofxh_param_shape(h: sys::OfxParamHandle, storage: *mut c_int, dims: *mut c_int) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let code = match p.kind.storage() {
        Storage::Double => 0,
        Storage::Int => 1,
        Storage::Text => 2,
        Storage::None => return status::ERR_UNSUPPORTED,
    };
    // SAFETY: out-pointers from the shim (NULL checked).
    unsafe {
        put(storage, code);
        put(dims, p.kind.dims() as c_int);
    }
    status::OK
}

/// `paramGetValue` / `paramGetValueAtTime`: `values` has room for 4 numbers.
#[no_mangle]
unsafe extern "C" fn ofxh_param_get(
    h: sys::OfxParamHandle,
    at_time: c_int,
    time: f64,
    values: *mut f64,
    text: *mut *const c_char,
) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let effect = p.effect();
    if effect.as_ref().is_some_and(|e| read(&e.runtime.unreadable).contains(&p.kind)) {
        return status::ERR_MISSING_HOST_FEATURE;
    }
    let t = if at_time != 0 { time } else { now(effect.as_ref()) };
    let value = p.value_at(t);
    // SAFETY: the shim passes room for 4 doubles and a text out-pointer.
    unsafe {
        for (i, v) in value.numbers().iter().take(4).enumerate() {
            values.add(i).write(*v);
        }
        put(text, p.text_ptr(value.text()));
    }
    status::OK
}

/// `paramSetValue` / `paramSetValueAtTime`.
#[no_mangle]
unsafe extern "C" fn ofxh_param_set(
    h: sys::OfxParamHandle,
    at_time: c_int,
    time: f64,
    values: *const f64,
    text: *const c_char,
) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let effect = p.effect();
    if let Some(e) = effect.as_ref().filter(|e| actions::current_render(e).is_some()) {
        e.journal.warn(format!("the plugin set parameter '{}' during a render, which OFX forbids", p.name));
        return status::FAILED;
    }
    // SAFETY: the shim passes 4 doubles and a text pointer (NULL for non-strings).
    let (numbers, text) = unsafe { (std::slice::from_raw_parts(values, 4), c_str(text)) };
    if p.kind.storage() == Storage::Text && text.is_none() {
        return status::ERR_VALUE;
    }
    let value = p.clamped(p.kind.value_from(numbers, text.unwrap_or("")));
    let t = if at_time != 0 { time } else { now(effect.as_ref()) };
    {
        let mut curve = write(&p.curve);
        if at_time != 0 && p.info().animates {
            curve.set_key(t, value);
        } else {
            curve.set(t, value);
        }
    }
    p.sync_animating();
    if let Some(e) = effect {
        crate::instance::plugin_edited(&e, &p.name, t);
    }
    status::OK
}

#[no_mangle]
unsafe extern "C" fn ofxh_param_derivative(h: sys::OfxParamHandle, time: f64, values: *mut f64) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    if p.kind.storage() != Storage::Double {
        return status::ERR_UNSUPPORTED;
    }
    let d = read(&p.curve).derivative(time);
    // SAFETY: the shim passes room for 4 doubles.
    unsafe { d.iter().take(4).enumerate().for_each(|(i, v)| values.add(i).write(*v)) };
    status::OK
}

#[no_mangle]
unsafe extern "C" fn ofxh_param_integral(h: sys::OfxParamHandle, t1: f64, t2: f64, values: *mut f64) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    if p.kind.storage() != Storage::Double {
        return status::ERR_UNSUPPORTED;
    }
    let d = read(&p.curve).integral(t1, t2);
    // SAFETY: the shim passes room for 4 doubles.
    unsafe { d.iter().take(4).enumerate().for_each(|(i, v)| values.add(i).write(*v)) };
    status::OK
}

unsafe extern "C" fn num_keys(h: sys::OfxParamHandle, out: *mut c_uint) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, read(&p.curve).keys.len() as c_uint) };
    status::OK
}

unsafe extern "C" fn key_time(h: sys::OfxParamHandle, nth: c_uint, out: *mut f64) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let Some(t) = read(&p.curve).keys.get(nth as usize).map(|k| k.0) else { return status::ERR_BAD_INDEX };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, t) };
    status::OK
}

unsafe extern "C" fn key_index(h: sys::OfxParamHandle, time: f64, direction: c_int, out: *mut c_int) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let Some(i) = read(&p.curve).key_index(time, direction) else { return status::FAILED };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, i as c_int) };
    status::OK
}

unsafe extern "C" fn delete_key(h: sys::OfxParamHandle, time: f64) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let deleted = write(&p.curve).delete_key(time);
    p.sync_animating();
    if deleted {
        status::OK
    } else {
        status::ERR_BAD_INDEX
    }
}

unsafe extern "C" fn delete_all_keys(h: sys::OfxParamHandle) -> OfxStatus {
    let Some(p) = param(h) else { return status::ERR_BAD_HANDLE };
    let t = now(p.effect().as_ref());
    {
        let mut curve = write(&p.curve);
        let value = curve.at(t);
        *curve = Curve::constant(value);
    }
    p.sync_animating();
    status::OK
}

unsafe extern "C" fn copy(
    to: sys::OfxParamHandle,
    from: sys::OfxParamHandle,
    offset: f64,
    range: *const sys::OfxRangeD,
) -> OfxStatus {
    let (Some(to), Some(from)) = (param(to), param(from)) else { return status::ERR_BAD_HANDLE };
    if to.kind != from.kind {
        return status::ERR_VALUE;
    }
    // SAFETY: NULL or a plugin-provided range.
    let range = unsafe { range.as_ref() }.map(|r| (r.min, r.max));
    let source = read(&from.curve).clone();
    let keys = source
        .keys
        .into_iter()
        .filter(|(t, _)| range.is_none_or(|(lo, hi)| *t >= lo && *t <= hi))
        .map(|(t, v)| (t + offset, v))
        .collect();
    *write(&to.curve) = Curve { value: source.value, keys };
    to.sync_animating();
    status::OK
}

unsafe extern "C" fn edit_begin(set: sys::OfxParamSetHandle, _name: *const c_char) -> OfxStatus {
    match lookup::<ParamSet>(set as *const c_void) {
        Some(_) => status::OK,
        None => status::ERR_BAD_HANDLE,
    }
}

unsafe extern "C" fn edit_end(set: sys::OfxParamSetHandle) -> OfxStatus {
    match lookup::<ParamSet>(set as *const c_void) {
        Some(_) => status::OK,
        None => status::ERR_BAD_HANDLE,
    }
}

/// The parameter suite handed to plugins.
pub(crate) static SUITE: sys::OfxParameterSuiteV1 = sys::OfxParameterSuiteV1 {
    paramDefine: Some(define),
    paramGetHandle: Some(get_handle),
    paramSetGetPropertySet: Some(set_props),
    paramGetPropertySet: Some(param_props),
    paramGetValue: Some(ofxh_paramGetValue),
    paramGetValueAtTime: Some(ofxh_paramGetValueAtTime),
    paramGetDerivative: Some(ofxh_paramGetDerivative),
    paramGetIntegral: Some(ofxh_paramGetIntegral),
    paramSetValue: Some(ofxh_paramSetValue),
    paramSetValueAtTime: Some(ofxh_paramSetValueAtTime),
    paramGetNumKeys: Some(num_keys),
    paramGetKeyTime: Some(key_time),
    paramGetKeyIndex: Some(key_index),
    paramDeleteKey: Some(delete_key),
    paramDeleteAllKeys: Some(delete_all_keys),
    paramCopy: Some(copy),
    paramEditBegin: Some(edit_begin),
    paramEditEnd: Some(edit_end),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::HostProfile;
    use std::ffi::CStr;
    use std::sync::Weak;

    fn define_param(set: &Arc<ParamSet>, kind: &CStr, name: &CStr) -> sys::OfxParamHandle {
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: suite calls with valid strings and out-pointers, as a plugin makes them.
        unsafe {
            assert_eq!(define(set.handle.ptr(), kind.as_ptr(), name.as_ptr(), &mut props), status::OK);
            assert!(!props.is_null());
            let mut h: sys::OfxParamHandle = std::ptr::null_mut();
            assert_eq!(get_handle(set.handle.ptr(), name.as_ptr(), &mut h, std::ptr::null_mut()), status::OK);
            h
        }
    }

    #[test]
    fn variadic_values_cross_the_c_abi_per_type() {
        let set = ParamSet::new(Weak::new(), HostProfile::Generic);
        let pos = define_param(&set, c"OfxParamTypeDouble2D", c"pos");
        let count = define_param(&set, c"OfxParamTypeInteger", c"count");
        let flag = define_param(&set, c"OfxParamTypeBoolean", c"flag");
        let text = define_param(&set, c"OfxParamTypeString", c"text");
        let colour = define_param(&set, c"OfxParamTypeRGBA", c"colour");
        let button = define_param(&set, c"OfxParamTypePushButton", c"go");
        // SAFETY: variadic calls with the argument types OFX defines for each parameter type.
        unsafe {
            assert_eq!(ofxh_paramSetValue(pos, 412.5f64, -230.25f64), status::OK);
            let (mut x, mut y) = (0.0f64, 0.0f64);
            assert_eq!(ofxh_paramGetValue(pos, &mut x as *mut f64, &mut y as *mut f64), status::OK);
            assert_eq!((x, y), (412.5, -230.25));

            assert_eq!(ofxh_paramSetValue(count, 7 as c_int), status::OK);
            let mut n: c_int = 0;
            assert_eq!(ofxh_paramGetValue(count, &mut n as *mut c_int), status::OK);
            assert_eq!(n, 7);

            assert_eq!(ofxh_paramSetValue(flag, 1 as c_int), status::OK);
            let mut b: c_int = 0;
            ofxh_paramGetValue(flag, &mut b as *mut c_int);
            assert_eq!(b, 1);

            assert_eq!(ofxh_paramSetValue(text, c"hello".as_ptr()), status::OK);
            let mut s: *const c_char = std::ptr::null();
            assert_eq!(ofxh_paramGetValue(text, &mut s as *mut *const c_char), status::OK);
            assert_eq!(CStr::from_ptr(s), c"hello");

            assert_eq!(ofxh_paramSetValue(colour, 0.1f64, 0.2f64, 0.3f64, 0.4f64), status::OK);
            let mut c = [0.0f64; 4];
            let [r, g, bl, a] = &mut c;
            ofxh_paramGetValue(colour, r as *mut f64, g as *mut f64, bl as *mut f64, a as *mut f64);
            assert_eq!(c, [0.1, 0.2, 0.3, 0.4]);

            let mut unused = 0.0f64;
            assert_eq!(ofxh_paramGetValue(button, &mut unused as *mut f64), status::ERR_UNSUPPORTED);
            assert_eq!(ofxh_paramGetValue(std::ptr::null_mut(), &mut unused as *mut f64), status::ERR_BAD_HANDLE);
            assert_eq!(ofxh_paramSetValue(0x1234usize as sys::OfxParamHandle, 1.0f64), status::ERR_BAD_HANDLE);
        }
    }

    #[test]
    fn keyframes_through_the_suite() {
        let set = ParamSet::new(Weak::new(), HostProfile::Generic);
        let gain = define_param(&set, c"OfxParamTypeDouble", c"gain");
        let other = define_param(&set, c"OfxParamTypeDouble", c"other");
        // SAFETY: suite calls with valid handles and out-pointers.
        unsafe {
            assert_eq!(ofxh_paramSetValueAtTime(gain, 0.0, 1.0f64), status::OK);
            assert_eq!(ofxh_paramSetValueAtTime(gain, 10.0, 3.0f64), status::OK);
            let mut keys: c_uint = 0;
            num_keys(gain, &mut keys);
            assert_eq!(keys, 2);
            let mut v = 0.0f64;
            ofxh_paramGetValueAtTime(gain, 2.5, &mut v as *mut f64);
            assert_eq!(v, 1.5);
            ofxh_paramGetDerivative(gain, 5.0, &mut v as *mut f64);
            assert_eq!(v, 0.2);
            ofxh_paramGetIntegral(gain, 0.0, 10.0, &mut v as *mut f64);
            assert_eq!(v, 20.0);
            let mut t = 0.0;
            assert_eq!(key_time(gain, 1, &mut t), status::OK);
            assert_eq!(t, 10.0);
            assert_eq!(key_time(gain, 2, &mut t), status::ERR_BAD_INDEX);
            let mut i: c_int = -1;
            assert_eq!(key_index(gain, 5.0, 1, &mut i), status::OK);
            assert_eq!(i, 1);
            assert_eq!(key_index(gain, 5.0, 0, &mut i), status::FAILED);
            let range = sys::OfxRangeD { min: 5.0, max: 20.0 };
            assert_eq!(copy(other, gain, 100.0, &range), status::OK);
            num_keys(other, &mut keys);
            assert_eq!(keys, 1, "only the key inside the range is copied");
            key_time(other, 0, &mut t);
            assert_eq!(t, 110.0);
            assert_eq!(delete_key(gain, 10.0), status::OK);
            assert_eq!(delete_key(gain, 10.0), status::ERR_BAD_INDEX);
            assert_eq!(delete_all_keys(gain), status::OK);
            num_keys(gain, &mut keys);
            assert_eq!(keys, 0);
            ofxh_paramGetValue(gain, &mut v as *mut f64);
            assert_eq!(v, 1.0, "the value at the current time survives deleting the keys");
        }
    }

    #[test]
    fn values_are_clamped_to_min_max_and_resolve_clamps_missing_display_ranges() {
        for (profile, expected) in [(HostProfile::Generic, 5.0), (HostProfile::Resolve, 1.0)] {
            let set = ParamSet::new(Weak::new(), profile);
            let h = define_param(&set, c"OfxParamTypeDouble", c"amount");
            let p = param(h).unwrap();
            // SAFETY: valid handle, double argument.
            unsafe { ofxh_paramSetValue(h, 5.0f64) };
            assert_eq!(p.value_at(0.0), crate::ParamValue::Double(expected), "{profile:?}");
            p.props.set_doubles(crate::ofx_str(sys::kOfxParamPropMax), &[2.0]);
            p.props.set_doubles(crate::ofx_str(sys::kOfxParamPropDisplayMin), &[0.0]);
            p.props.set_doubles(crate::ofx_str(sys::kOfxParamPropDisplayMax), &[2.0]);
            // SAFETY: as above.
            unsafe { ofxh_paramSetValue(h, 5.0f64) };
            assert_eq!(p.value_at(0.0), crate::ParamValue::Double(2.0), "{profile:?}: max applies");
        }
    }
}
