//! Overlay interacts: drawing on the host's viewer and receiving pen and key events there.
//!
//! Drawing goes through the OFX Draw suite where the host has it (Resolve, Nuke 14+), and
//! through legacy OpenGL otherwise — loaded at run time, so the plugin never links GL and a host
//! without a GL context (Natron headless) simply sees nothing drawn. OFX pen events carry no
//! modifier state, so modifiers are tracked from the key events the host sends for them.

use crate::property::PropertySet;
use crate::suites::suites;
use openfx_sys as sys;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The Delete key's OFX symbol.
pub const KEY_DELETE: u32 = sys::kOfxKey_Delete;
/// The Backspace key's OFX symbol (Delete on Mac keyboards).
pub const KEY_BACKSPACE: u32 = sys::kOfxKey_BackSpace;

/// Modifier keys held during a pen event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    pub shift: bool,
    pub ctrl: bool,
    pub alt: bool,
}

/// What happened in the viewer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlayEventKind {
    PenDown,
    PenMotion,
    PenUp,
    KeyDown,
}

/// One viewer event, positions in canonical coordinates.
#[derive(Clone, Copy, Debug)]
pub struct OverlayEvent {
    pub kind: OverlayEventKind,
    pub time: f64,
    pub position: (f64, f64),
    /// Canonical units per screen pixel: hit tests scale their tolerance by it.
    pub pixel_scale: (f64, f64),
    /// The OFX key symbol for key events (0 for pen events).
    pub key: u32,
    pub modifiers: Modifiers,
}

const SHIFT: u8 = 1;
const CTRL: u8 = 2;
const ALT: u8 = 4;
static HELD: AtomicU8 = AtomicU8::new(0);

fn modifier_bit(key: u32) -> u8 {
    match key {
        k if k == sys::kOfxKey_Shift_L || k == sys::kOfxKey_Shift_R => SHIFT,
        k if k == sys::kOfxKey_Control_L || k == sys::kOfxKey_Control_R => CTRL,
        // Option on macOS arrives as Alt or Meta depending on the host.
        k if k == sys::kOfxKey_Alt_L || k == sys::kOfxKey_Alt_R || k == sys::kOfxKey_Meta_L || k == sys::kOfxKey_Meta_R => ALT,
        _ => 0,
    }
}

/// Records a modifier key going down or up; returns true if `key` is a modifier.
pub(crate) fn track_modifier(key: u32, down: bool) -> bool {
    let bit = modifier_bit(key);
    if bit != 0 {
        if down {
            HELD.fetch_or(bit, Ordering::Relaxed);
        } else {
            HELD.fetch_and(!bit, Ordering::Relaxed);
        }
    }
    bit != 0
}

pub(crate) fn held_modifiers() -> Modifiers {
    let h = HELD.load(Ordering::Relaxed);
    Modifiers { shift: h & SHIFT != 0, ctrl: h & CTRL != 0, alt: h & ALT != 0 }
}

/// A shape to draw; coordinates are canonical.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Pairs of points.
    Lines,
    LineStrip,
    LineLoop,
    /// Two corners; filled.
    Rectangle,
    Polygon,
    /// Two corners of the bounding box; filled.
    Ellipse,
}

type GlBegin = unsafe extern "C" fn(u32);
type GlEnd = unsafe extern "C" fn();
type GlVertex2d = unsafe extern "C" fn(f64, f64);
type GlColor4f = unsafe extern "C" fn(f32, f32, f32, f32);
type GlLineWidth = unsafe extern "C" fn(f32);
type GlxGetCurrentContext = unsafe extern "C" fn() -> *mut std::ffi::c_void;

struct LegacyGl {
    _lib: libloading::Library,
    begin: GlBegin,
    end: GlEnd,
    vertex: GlVertex2d,
    color: GlColor4f,
    line_width: GlLineWidth,
    /// Where the platform lets us ask, whether a GL context is current (drawing without one
    /// has crashed hosts after a project reload).
    current_context: Option<GlxGetCurrentContext>,
}

impl LegacyGl {
    fn has_current_context(&self) -> bool {
        // SAFETY: glXGetCurrentContext takes nothing and only reads thread state.
        self.current_context.is_none_or(|f| unsafe { !f().is_null() })
    }
}

fn legacy_gl() -> Option<&'static LegacyGl> {
    static GL: OnceLock<Option<LegacyGl>> = OnceLock::new();
    GL.get_or_init(|| {
        // SAFETY: loading the system GL library runs no foreign initialisers beyond the loader's;
        // the symbols are the fixed-function GL 1.1 entry points with these exact signatures.
        unsafe {
            let lib = ["libGL.so.1", "libGL.so", "/System/Library/Frameworks/OpenGL.framework/OpenGL", "opengl32.dll"]
                .iter()
                .find_map(|n| libloading::Library::new(n).ok())?;
            let begin = *lib.get::<GlBegin>(b"glBegin\0").ok()?;
            let end = *lib.get::<GlEnd>(b"glEnd\0").ok()?;
            let vertex = *lib.get::<GlVertex2d>(b"glVertex2d\0").ok()?;
            let color = *lib.get::<GlColor4f>(b"glColor4f\0").ok()?;
            let line_width = *lib.get::<GlLineWidth>(b"glLineWidth\0").ok()?;
            let current_context = lib.get::<GlxGetCurrentContext>(b"glXGetCurrentContext\0").ok().map(|f| *f);
            Some(LegacyGl { _lib: lib, begin, end, vertex, color, line_width, current_context })
        }
    })
    .as_ref()
}

enum Backend {
    Draw(sys::OfxDrawSuiteV1, sys::OfxDrawContextHandle),
    Gl(&'static LegacyGl),
    Nothing,
}

/// The viewer canvas for one draw action.
pub struct Overlay {
    backend: Backend,
    pixel_scale: (f64, f64),
}

impl Overlay {
    pub(crate) fn new(in_args: PropertySet) -> Overlay {
        let pixel_scale = (
            in_args.get_double(sys::kOfxInteractPropPixelScale, 0).unwrap_or(1.0),
            in_args.get_double(sys::kOfxInteractPropPixelScale, 1).unwrap_or(1.0),
        );
        let draw_suite = suites().ok().and_then(|s| s.draw);
        let context = in_args.get_pointer(sys::kOfxInteractPropDrawContext, 0).ok().filter(|p| !p.is_null());
        let backend = match (draw_suite, context) {
            (Some(d), Some(ctx)) => Backend::Draw(d, ctx as sys::OfxDrawContextHandle),
            _ => legacy_gl().filter(|gl| gl.has_current_context()).map_or(Backend::Nothing, Backend::Gl),
        };
        Overlay { backend, pixel_scale }
    }

    /// Canonical units per screen pixel (size handles so they look the same at any zoom).
    pub fn pixel_scale(&self) -> (f64, f64) {
        self.pixel_scale
    }

    /// Sets the colour of what follows.
    pub fn colour(&mut self, rgba: [f32; 4]) {
        match &self.backend {
            Backend::Draw(d, ctx) => {
                let c = sys::OfxRGBAColourF { r: rgba[0], g: rgba[1], b: rgba[2], a: rgba[3] };
                if let Some(f) = d.setColour {
                    // SAFETY: context from this draw action; colour is a local.
                    unsafe { f(*ctx, &c) };
                }
            }
            // SAFETY: the host made its GL context current for the draw action.
            Backend::Gl(gl) => unsafe { (gl.color)(rgba[0], rgba[1], rgba[2], rgba[3]) },
            Backend::Nothing => {}
        }
    }

    /// Sets the line width in screen pixels.
    pub fn line_width(&mut self, width: f32) {
        match &self.backend {
            Backend::Draw(d, ctx) => {
                if let Some(f) = d.setLineWidth {
                    // SAFETY: context from this draw action.
                    unsafe { f(*ctx, width) };
                }
            }
            // SAFETY: as in colour.
            Backend::Gl(gl) => unsafe { (gl.line_width)(width) },
            Backend::Nothing => {}
        }
    }

    /// Draws a shape.
    pub fn shape(&mut self, shape: Shape, points: &[(f64, f64)]) {
        match &self.backend {
            Backend::Draw(d, ctx) => {
                let primitive = match shape {
                    Shape::Lines => sys::OfxDrawPrimitive_kOfxDrawPrimitiveLines,
                    Shape::LineStrip => sys::OfxDrawPrimitive_kOfxDrawPrimitiveLineStrip,
                    Shape::LineLoop => sys::OfxDrawPrimitive_kOfxDrawPrimitiveLineLoop,
                    Shape::Rectangle => sys::OfxDrawPrimitive_kOfxDrawPrimitiveRectangle,
                    Shape::Polygon => sys::OfxDrawPrimitive_kOfxDrawPrimitivePolygon,
                    Shape::Ellipse => sys::OfxDrawPrimitive_kOfxDrawPrimitiveEllipse,
                };
                let pts: Vec<sys::OfxPointD> = points.iter().map(|&(x, y)| sys::OfxPointD { x, y }).collect();
                if let Some(f) = d.draw {
                    // SAFETY: context from this draw action; pts outlives the call.
                    unsafe { f(*ctx, primitive, pts.as_ptr(), pts.len() as i32) };
                }
            }
            Backend::Gl(gl) => draw_gl(gl, shape, points),
            Backend::Nothing => {}
        }
    }
}

fn draw_gl(gl: &LegacyGl, shape: Shape, points: &[(f64, f64)]) {
    const LINES: u32 = 0x0001;
    const LINE_LOOP: u32 = 0x0002;
    const LINE_STRIP: u32 = 0x0003;
    const POLYGON: u32 = 0x0009;
    let corners = |p: &[(f64, f64)]| -> Option<((f64, f64), (f64, f64))> { Some((*p.first()?, *p.get(1)?)) };
    let (mode, verts): (u32, Vec<(f64, f64)>) = match shape {
        Shape::Lines => (LINES, points.to_vec()),
        Shape::LineStrip => (LINE_STRIP, points.to_vec()),
        Shape::LineLoop => (LINE_LOOP, points.to_vec()),
        Shape::Polygon => (POLYGON, points.to_vec()),
        Shape::Rectangle => match corners(points) {
            Some(((x1, y1), (x2, y2))) => (POLYGON, vec![(x1, y1), (x2, y1), (x2, y2), (x1, y2)]),
            None => return,
        },
        Shape::Ellipse => match corners(points) {
            Some(((x1, y1), (x2, y2))) => {
                let (cx, cy, rx, ry) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0, (x2 - x1).abs() / 2.0, (y2 - y1).abs() / 2.0);
                let v = (0..24)
                    .map(|i| {
                        let a = i as f64 * std::f64::consts::TAU / 24.0;
                        (cx + rx * a.cos(), cy + ry * a.sin())
                    })
                    .collect();
                (POLYGON, v)
            }
            None => return,
        },
    };
    // SAFETY: the host made its GL context current for the draw action; begin/end are paired.
    unsafe {
        (gl.begin)(mode);
        for (x, y) in verts {
            (gl.vertex)(x, y);
        }
        (gl.end)();
    }
}
