//! The plugin's overlay interact, driven like a viewer would: draw (recorded through the
//! Draw suite instead of OpenGL), pen and key events. Modifier keys reach the plugin the
//! way OFX hosts deliver them — as key-down/key-up of Shift_L, Control_L and Alt_L —
//! since OFX 1.4 pen actions carry no modifier property.

use crate::actions::{call_entry, Frame, MainEntry};
use crate::objects::{lock, Effect};
use crate::ofx_str;
use crate::properties::PropertySet;
use crate::registry::{register, Handle, Object};
use crate::render::check;
use crate::status;
use crate::HostError;
use openfx_sys as sys;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, Weak};

/// A Draw-suite primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawPrimitive {
    /// Pairs of points.
    Lines,
    /// A connected line.
    LineStrip,
    /// A closed line.
    LineLoop,
    /// Two corners.
    Rectangle,
    /// A filled polygon.
    Polygon,
    /// Two corners of the bounding box.
    Ellipse,
}

impl DrawPrimitive {
    pub(crate) fn from_ofx(p: sys::OfxDrawPrimitive) -> Option<DrawPrimitive> {
        Some(match p {
            sys::OfxDrawPrimitive_kOfxDrawPrimitiveLines => DrawPrimitive::Lines,
            sys::OfxDrawPrimitive_kOfxDrawPrimitiveLineStrip => DrawPrimitive::LineStrip,
            sys::OfxDrawPrimitive_kOfxDrawPrimitiveLineLoop => DrawPrimitive::LineLoop,
            sys::OfxDrawPrimitive_kOfxDrawPrimitiveRectangle => DrawPrimitive::Rectangle,
            sys::OfxDrawPrimitive_kOfxDrawPrimitivePolygon => DrawPrimitive::Polygon,
            sys::OfxDrawPrimitive_kOfxDrawPrimitiveEllipse => DrawPrimitive::Ellipse,
            _ => return None,
        })
    }
}

/// One recorded Draw-suite call.
#[derive(Clone, Debug, PartialEq)]
pub enum DrawCommand {
    /// `setColour` (RGBA).
    Colour([f32; 4]),
    /// `setLineWidth`.
    LineWidth(f32),
    /// `setLineStipple` (the OfxDrawLineStipplePattern value).
    LineStipple(u32),
    /// `draw` with canonical points.
    Draw {
        /// What is drawn.
        primitive: DrawPrimitive,
        /// The points.
        points: Vec<(f64, f64)>,
    },
    /// `drawText`.
    Text {
        /// The text.
        text: String,
        /// Canonical position.
        position: (f64, f64),
        /// OfxDrawTextAlignment flags.
        alignment: i32,
    },
}

/// Modifier keys held during a pen event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// Shift.
    pub shift: bool,
    /// Control.
    pub ctrl: bool,
    /// Alt.
    pub alt: bool,
}

impl Modifiers {
    /// No modifier.
    pub const NONE: Modifiers = Modifiers { shift: false, ctrl: false, alt: false };
    /// Shift held.
    pub const SHIFT: Modifiers = Modifiers { shift: true, ctrl: false, alt: false };
    /// Control held.
    pub const CTRL: Modifiers = Modifiers { shift: false, ctrl: true, alt: false };
    /// Alt held.
    pub const ALT: Modifiers = Modifiers { shift: false, ctrl: false, alt: true };

    fn keys(self) -> [(bool, u32); 3] {
        [(self.shift, sys::kOfxKey_Shift_L), (self.ctrl, sys::kOfxKey_Control_L), (self.alt, sys::kOfxKey_Alt_L)]
    }
}

/// An interact descriptor or instance behind an `OfxInteractHandle`.
pub(crate) struct Interact {
    pub handle: Handle,
    pub props: Arc<PropertySet>,
    pub effect: Weak<Effect>,
    /// `interactRedraw` calls.
    pub redraws: AtomicUsize,
}

impl Interact {
    fn new(effect: &Arc<Effect>, props: Arc<PropertySet>) -> Arc<Interact> {
        Arc::new_cyclic(|w| Interact {
            handle: register(Object::Interact(w.clone())),
            props,
            effect: Arc::downgrade(effect),
            redraws: AtomicUsize::new(0),
        })
    }
}

/// Receives Draw-suite calls for one draw action.
pub(crate) struct DrawRecorder {
    handle: Handle,
    commands: Mutex<Vec<DrawCommand>>,
}

impl DrawRecorder {
    pub fn push(&self, command: DrawCommand) {
        lock(&self.commands).push(command);
    }
}

/// A live overlay interact; dropping it sends DestroyInstance to the interact.
pub struct Overlay {
    entry: MainEntry,
    effect: Arc<Effect>,
    instance: Arc<Interact>,
    held: Modifiers,
    time: f64,
}

fn k(bytes: &'static [u8]) -> &'static str {
    ofx_str(bytes)
}

impl Overlay {
    /// Describes and creates the plugin's overlay interact; `None` if it has none.
    pub(crate) fn create(effect: &Arc<Effect>) -> Result<Option<Overlay>, HostError> {
        let Some(ptr) = effect.props.ptr(k(sys::kOfxImageEffectPluginPropOverlayInteractV1)).filter(|p| *p != 0) else {
            return Ok(None);
        };
        // SAFETY: the plugin stored its interact's main entry (an OfxPluginEntryPoint)
        // in kOfxImageEffectPluginPropOverlayInteractV1; it lives as long as the binary.
        let entry: MainEntry = unsafe { std::mem::transmute::<usize, MainEntry>(ptr) };
        let descriptor_props = PropertySet::new(&[]);
        descriptor_props.set_int(k(sys::kOfxInteractPropHasAlpha), 0);
        descriptor_props.set_int(k(sys::kOfxInteractPropBitDepth), 8);
        let descriptor = Interact::new(effect, descriptor_props.clone());
        let overlay_frame = Frame { journal: effect.journal.clone(), effect: Some(effect.clone()), render: None };
        let mark = effect.journal.message_count();
        let st = call_entry(entry, overlay_frame.clone(), sys::kOfxActionDescribe, descriptor.handle.ptr(), None, None);
        check(effect, "interact Describe", st, mark)?;
        let props = PropertySet::from_values(descriptor_props.snapshot(), &[], None);
        props.set_ptr(k(sys::kOfxPropEffectInstance), effect.handle.id());
        props.set_ptr(k(sys::kOfxPropInstanceData), 0);
        props.set_doubles(k(sys::kOfxInteractPropPixelScale), &[1.0, 1.0]);
        props.set_doubles(k(sys::kOfxInteractPropBackgroundColour), &[0.0, 0.0, 0.0]);
        props.set_doubles(k(sys::kOfxInteractPropSuggestedColour), &[1.0, 1.0, 1.0]);
        props.set_doubles(k(sys::kOfxInteractPropViewportSize), &viewport(effect));
        props.set_strs(k(sys::kOfxInteractPropSlaveToParam), &[]);
        let instance = Interact::new(effect, props);
        let st = call_entry(entry, overlay_frame, sys::kOfxActionCreateInstance, instance.handle.ptr(), None, None);
        check(effect, "interact CreateInstance", st, mark)?;
        Ok(Some(Overlay { entry, effect: effect.clone(), instance, held: Modifiers::NONE, time: 0.0 }))
    }

    fn frame(&self) -> Frame {
        Frame { journal: self.effect.journal.clone(), effect: Some(self.effect.clone()), render: None }
    }

    /// The arguments every interact action gets.
    fn args(&self, time: f64) -> Arc<PropertySet> {
        let a = PropertySet::new(&[]);
        a.set_ptr(k(sys::kOfxPropEffectInstance), self.effect.handle.id());
        a.set_double(k(sys::kOfxPropTime), time);
        a.set_doubles(k(sys::kOfxImageEffectPropRenderScale), &[1.0, 1.0]);
        a.set_doubles(k(sys::kOfxInteractPropPixelScale), &[1.0, 1.0]);
        a.set_doubles(k(sys::kOfxInteractPropBackgroundColour), &[0.0, 0.0, 0.0]);
        a.set_doubles(k(sys::kOfxInteractPropViewportSize), &viewport(&self.effect));
        a
    }

    /// Runs an action; true when the plugin handled it (kOfxStatOK).
    fn send(&mut self, action: &[u8], name: &str, args: &Arc<PropertySet>) -> Result<bool, HostError> {
        let mark = self.effect.journal.message_count();
        let st = call_entry(self.entry, self.frame(), action, self.instance.handle.ptr(), Some(args), None);
        check(&self.effect, name, st, mark)?;
        Ok(st == status::OK)
    }

    /// kOfxInteractActionDraw at `time`; returns what the plugin drew.
    pub fn draw(&mut self, time: f64) -> Result<Vec<DrawCommand>, HostError> {
        self.time = time;
        let recorder = Arc::new_cyclic(|w| DrawRecorder {
            handle: register(Object::Draw(w.clone())),
            commands: Mutex::new(Vec::new()),
        });
        let args = self.args(time);
        args.set_ptr(k(sys::kOfxInteractPropDrawContext), recorder.handle.id());
        self.send(sys::kOfxInteractActionDraw, "interact Draw", &args)?;
        let commands = lock(&recorder.commands).clone();
        Ok(commands)
    }

    /// Presses or releases modifier keys so the plugin sees `wanted` as held.
    fn sync_modifiers(&mut self, wanted: Modifiers, time: f64) -> Result<(), HostError> {
        for ((want, key), (had, _)) in wanted.keys().into_iter().zip(self.held.keys()) {
            if want != had {
                self.key(if want { sys::kOfxInteractActionKeyDown } else { sys::kOfxInteractActionKeyUp }, key, time)?;
            }
        }
        self.held = wanted;
        Ok(())
    }

    fn pen(
        &mut self,
        action: &[u8],
        name: &str,
        x: f64,
        y: f64,
        time: f64,
        modifiers: Modifiers,
    ) -> Result<bool, HostError> {
        self.time = time;
        self.sync_modifiers(modifiers, time)?;
        let args = self.args(time);
        args.set_doubles(k(sys::kOfxInteractPropPenPosition), &[x, y]);
        args.set_ints(k(sys::kOfxInteractPropPenViewportPosition), &[x.round() as i32, y.round() as i32]);
        args.set_double(k(sys::kOfxInteractPropPenPressure), 1.0);
        self.send(action, name, &args)
    }

    /// A click at canonical `(x, y)`; true when the plugin used it.
    pub fn pen_down(&mut self, x: f64, y: f64, time: f64, modifiers: Modifiers) -> Result<bool, HostError> {
        self.pen(sys::kOfxInteractActionPenDown, "interact PenDown", x, y, time, modifiers)
    }

    /// A drag to canonical `(x, y)`.
    pub fn pen_motion(&mut self, x: f64, y: f64, time: f64, modifiers: Modifiers) -> Result<bool, HostError> {
        self.pen(sys::kOfxInteractActionPenMotion, "interact PenMotion", x, y, time, modifiers)
    }

    /// Releasing the pen at canonical `(x, y)`.
    pub fn pen_up(&mut self, x: f64, y: f64, time: f64, modifiers: Modifiers) -> Result<bool, HostError> {
        self.pen(sys::kOfxInteractActionPenUp, "interact PenUp", x, y, time, modifiers)
    }

    fn key(&mut self, action: &[u8], key_sym: u32, time: f64) -> Result<bool, HostError> {
        let args = self.args(time);
        args.set_int(k(sys::kOfxPropKeySym), key_sym as i32);
        let text = char::from_u32(key_sym).filter(|c| key_sym < 0x100 && !c.is_control()).map(String::from);
        args.set_str(k(sys::kOfxPropKeyString), &text.unwrap_or_default());
        let name = if action == sys::kOfxInteractActionKeyDown { "interact KeyDown" } else { "interact KeyUp" };
        self.send(action, name, &args)
    }

    /// A key press (an `kOfxKey_*` symbol) at the time of the last event.
    pub fn key_down(&mut self, key_sym: u32) -> Result<bool, HostError> {
        self.key(sys::kOfxInteractActionKeyDown, key_sym, self.time)
    }

    /// A key release.
    pub fn key_up(&mut self, key_sym: u32) -> Result<bool, HostError> {
        self.key(sys::kOfxInteractActionKeyUp, key_sym, self.time)
    }

    /// How often the plugin asked for a redraw.
    pub fn redraw_requests(&self) -> usize {
        self.instance.redraws.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let st = call_entry(
            self.entry,
            self.frame(),
            sys::kOfxActionDestroyInstance,
            self.instance.handle.ptr(),
            None,
            None,
        );
        if !matches!(st, status::OK | status::REPLY_DEFAULT) {
            self.effect.journal.warn(format!("interact DestroyInstance returned {}", status::status_name(st)));
        }
    }
}

fn viewport(effect: &Effect) -> [f64; 2] {
    let size = effect.props.numbers(k(sys::kOfxImageEffectPropProjectSize));
    [size.first().copied().unwrap_or(1920.0), size.get(1).copied().unwrap_or(1080.0)]
}
