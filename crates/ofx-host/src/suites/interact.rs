//! OfxInteractSuiteV1 and OfxDrawSuiteV1. Drawing is recorded as [`DrawCommand`]s (no
//! OpenGL), which is what a headless host can check.

use super::{c_str, put};
use crate::overlay::{DrawCommand, DrawPrimitive, DrawRecorder, Interact};
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::Ordering;

fn interact(h: sys::OfxInteractHandle) -> Option<std::sync::Arc<Interact>> {
    lookup::<Interact>(h as *const c_void)
}

unsafe extern "C" fn swap_buffers(h: sys::OfxInteractHandle) -> OfxStatus {
    interact(h).map_or(status::ERR_BAD_HANDLE, |_| status::OK)
}

unsafe extern "C" fn redraw(h: sys::OfxInteractHandle) -> OfxStatus {
    let Some(i) = interact(h) else { return status::ERR_BAD_HANDLE };
    i.redraws.fetch_add(1, Ordering::Relaxed);
    status::OK
}

unsafe extern "C" fn get_property_set(h: sys::OfxInteractHandle, out: *mut sys::OfxPropertySetHandle) -> OfxStatus {
    let Some(i) = interact(h) else { return status::ERR_BAD_HANDLE };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, i.props.handle.ptr()) };
    status::OK
}

/// The interact suite handed to plugins.
pub(crate) static SUITE: sys::OfxInteractSuiteV1 = sys::OfxInteractSuiteV1 {
    interactSwapBuffers: Some(swap_buffers),
    interactRedraw: Some(redraw),
    interactGetPropertySet: Some(get_property_set),
};

fn record(ctx: sys::OfxDrawContextHandle, command: DrawCommand) -> OfxStatus {
    match lookup::<DrawRecorder>(ctx as *const c_void) {
        Some(r) => {
            r.push(command);
            status::OK
        }
        None => status::ERR_BAD_HANDLE,
    }
}

unsafe extern "C" fn get_colour(
    ctx: sys::OfxDrawContextHandle,
    which: sys::OfxStandardColour,
    out: *mut sys::OfxRGBAColourF,
) -> OfxStatus {
    if lookup::<DrawRecorder>(ctx as *const c_void).is_none() {
        return status::ERR_BAD_HANDLE;
    }
    let [r, g, b, a] = match which {
        sys::OfxStandardColour_kOfxStandardColourOverlayBackground => [0.0, 0.0, 0.0, 1.0],
        sys::OfxStandardColour_kOfxStandardColourOverlayActive => [1.0, 1.0, 0.0, 1.0],
        sys::OfxStandardColour_kOfxStandardColourOverlaySelected => [1.0, 0.5, 0.0, 1.0],
        sys::OfxStandardColour_kOfxStandardColourOverlayDeselected => [0.7, 0.7, 0.7, 1.0],
        sys::OfxStandardColour_kOfxStandardColourOverlayMarqueeFG => [1.0, 1.0, 1.0, 1.0],
        sys::OfxStandardColour_kOfxStandardColourOverlayMarqueeBG => [0.0, 0.0, 0.0, 0.5],
        sys::OfxStandardColour_kOfxStandardColourOverlayText => [1.0, 1.0, 1.0, 1.0],
        _ => return status::ERR_VALUE,
    };
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, sys::OfxRGBAColourF { r, g, b, a }) };
    status::OK
}

unsafe extern "C" fn set_colour(ctx: sys::OfxDrawContextHandle, colour: *const sys::OfxRGBAColourF) -> OfxStatus {
    // SAFETY: NULL or a plugin-provided colour.
    let Some(c) = (unsafe { colour.as_ref() }) else { return status::ERR_VALUE };
    record(ctx, DrawCommand::Colour([c.r, c.g, c.b, c.a]))
}

unsafe extern "C" fn set_line_width(ctx: sys::OfxDrawContextHandle, width: f32) -> OfxStatus {
    record(ctx, DrawCommand::LineWidth(width))
}

unsafe extern "C" fn set_line_stipple(
    ctx: sys::OfxDrawContextHandle,
    pattern: sys::OfxDrawLineStipplePattern,
) -> OfxStatus {
    record(ctx, DrawCommand::LineStipple(pattern))
}

unsafe extern "C" fn draw(
    ctx: sys::OfxDrawContextHandle,
    primitive: sys::OfxDrawPrimitive,
    points: *const sys::OfxPointD,
    count: c_int,
) -> OfxStatus {
    let Some(primitive) = DrawPrimitive::from_ofx(primitive) else { return status::ERR_VALUE };
    if points.is_null() || count < 0 {
        return status::ERR_VALUE;
    }
    // SAFETY: the plugin passes `count` points.
    let points = unsafe { std::slice::from_raw_parts(points, count as usize) };
    record(ctx, DrawCommand::Draw { primitive, points: points.iter().map(|p| (p.x, p.y)).collect() })
}

unsafe extern "C" fn draw_text(
    ctx: sys::OfxDrawContextHandle,
    text: *const c_char,
    pos: *const sys::OfxPointD,
    alignment: c_int,
) -> OfxStatus {
    // SAFETY: plugin-provided C string and point, or NULL.
    let (Some(text), Some(pos)) = (unsafe { c_str(text) }, unsafe { pos.as_ref() }) else { return status::ERR_VALUE };
    record(ctx, DrawCommand::Text { text: text.to_string(), position: (pos.x, pos.y), alignment })
}

/// The draw suite handed to plugins.
pub(crate) static DRAW_SUITE: sys::OfxDrawSuiteV1 = sys::OfxDrawSuiteV1 {
    getColour: Some(get_colour),
    setColour: Some(set_colour),
    setLineWidth: Some(set_line_width),
    setLineStipple: Some(set_line_stipple),
    draw: Some(draw),
    drawText: Some(draw_text),
};
