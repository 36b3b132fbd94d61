//! Controls: their definitions at describe time, and their values at render time.
//!
//! Every control is a (script name, label, hint) triple. Numeric controls always get both a range
//! and a display range: Resolve clamps doubles without a display range to (-1, 1).

use crate::property::PropertySet;
use crate::suites::{call, suites};
use crate::{Error, Result, Status};
use openfx_sys as sys;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

/// Property on choice controls that lists the options' script ids, index by index. OFX 1.4 has
/// only labels; our host and CLI read this so `--set channel=luma709` works. Hosts that do not
/// know it refuse it, which is harmless.
pub const CHOICE_IDS_PROPERTY: &[u8] = b"DeepMatteParamPropChoiceIds\0";

/// One option of a choice control.
pub struct ChoiceOption<T: 'static> {
    pub value: T,
    /// Script id, stable across versions (scripts and the CLI use it).
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

/// A Rust enum backing a choice control; the option order is the order the host stores.
pub trait Choice: Copy + PartialEq + 'static {
    const OPTIONS: &'static [ChoiceOption<Self>];

    /// The option at a stored index (out-of-range indices, from an older project, fall back to
    /// the first option).
    fn from_index(index: i32) -> Self {
        let i = usize::try_from(index).unwrap_or(0).min(Self::OPTIONS.len() - 1);
        Self::OPTIONS[i].value
    }

    /// The stored index of an option.
    fn index(self) -> i32 {
        Self::OPTIONS.iter().position(|o| o.value == self).unwrap_or(0) as i32
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Double { default: f64, range: (f64, f64), display: (f64, f64), increment: f64, digits: i32 },
    Double2D { default: (f64, f64) },
    Int { default: i32, range: (i32, i32), display: (i32, i32) },
    Bool { default: bool },
    Choice { default: i32, ids: Vec<&'static str>, labels: Vec<&'static str> },
    String { default: String, mode: &'static [u8] },
    PushButton,
    Group { open: bool },
}

/// A control definition, built fluently and handed to [`crate::Describe::param`].
#[derive(Clone, Debug)]
pub struct ParamDef {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
    parent: Option<&'static str>,
    secret: bool,
    animates: Option<bool>,
}

impl ParamDef {
    fn new(name: &'static str, label: &'static str, hint: &'static str, kind: Kind) -> Self {
        ParamDef { name, label, hint, kind, parent: None, secret: false, animates: None }
    }

    /// A number. `range` is what the value may be; `display` is the slider's span.
    pub fn double(
        name: &'static str,
        label: &'static str,
        hint: &'static str,
        default: f64,
        range: (f64, f64),
        display: (f64, f64),
    ) -> Self {
        let kind = Kind::Double { default, range, display, increment: 0.01, digits: 3 };
        Self::new(name, label, hint, kind)
    }

    /// A whole number, with range and slider span.
    pub fn int(
        name: &'static str,
        label: &'static str,
        hint: &'static str,
        default: i32,
        range: (i32, i32),
        display: (i32, i32),
    ) -> Self {
        Self::new(name, label, hint, Kind::Int { default, range, display })
    }

    /// A position in canonical pixel coordinates (not normalised: Nuke's default is normalised).
    pub fn position(name: &'static str, label: &'static str, hint: &'static str, default: (f64, f64)) -> Self {
        Self::new(name, label, hint, Kind::Double2D { default })
    }

    /// A checkbox.
    pub fn boolean(name: &'static str, label: &'static str, hint: &'static str, default: bool) -> Self {
        Self::new(name, label, hint, Kind::Bool { default })
    }

    /// A drop-down backed by the enum `C`.
    pub fn choice<C: Choice>(name: &'static str, label: &'static str, hint: &'static str, default: C) -> Self {
        let ids = C::OPTIONS.iter().map(|o| o.id).collect();
        let labels = C::OPTIONS.iter().map(|o| o.label).collect();
        Self::new(name, label, hint, Kind::Choice { default: default.index(), ids, labels })
    }

    /// A line of text.
    pub fn string(name: &'static str, label: &'static str, hint: &'static str, default: &str) -> Self {
        Self::new(name, label, hint, Kind::String { default: default.to_string(), mode: sys::kOfxParamStringIsSingleLine })
    }

    /// A folder chosen with the host's folder browser.
    pub fn folder(name: &'static str, label: &'static str, hint: &'static str) -> Self {
        Self::new(name, label, hint, Kind::String { default: String::new(), mode: sys::kOfxParamStringIsDirectoryPath })
    }

    /// Read-only text the effect sets (status lines, lists); saved with the project but not edited.
    pub fn label_text(name: &'static str, label: &'static str, hint: &'static str) -> Self {
        Self::new(name, label, hint, Kind::String { default: String::new(), mode: sys::kOfxParamStringIsLabel }).animates(false)
    }

    /// A button; presses arrive in [`crate::Effect::changed`].
    pub fn push_button(name: &'static str, label: &'static str, hint: &'static str) -> Self {
        Self::new(name, label, hint, Kind::PushButton)
    }

    /// A collapsible group; children name it with [`ParamDef::parent`].
    pub fn group(name: &'static str, label: &'static str, hint: &'static str, open: bool) -> Self {
        Self::new(name, label, hint, Kind::Group { open })
    }

    /// Places the control inside a group.
    pub fn parent(mut self, group: &'static str) -> Self {
        self.parent = Some(group);
        self
    }

    /// Hides the control (state saved with the project, never shown).
    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Forces animation on or off (by default numeric controls animate and text does not).
    pub fn animates(mut self, animates: bool) -> Self {
        self.animates = Some(animates);
        self
    }

    /// The control's script name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Defines the control in the host's parameter set.
    pub(crate) fn define(&self, set: sys::OfxParamSetHandle) -> Result<()> {
        let s = suites()?;
        let kind: &[u8] = match self.kind {
            Kind::Double { .. } => sys::kOfxParamTypeDouble,
            Kind::Double2D { .. } => sys::kOfxParamTypeDouble2D,
            Kind::Int { .. } => sys::kOfxParamTypeInteger,
            Kind::Bool { .. } => sys::kOfxParamTypeBoolean,
            Kind::Choice { .. } => sys::kOfxParamTypeChoice,
            Kind::String { .. } => sys::kOfxParamTypeString,
            Kind::PushButton => sys::kOfxParamTypePushButton,
            Kind::Group { .. } => sys::kOfxParamTypeGroup,
        };
        let name = CString::new(self.name).map_err(|_| Error::failed("NUL in a control name"))?;
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: valid param set from the describe action, NUL-terminated strings.
        let status = unsafe {
            call!(s.param, paramDefine)(set, kind.as_ptr() as *const c_char, name.as_ptr(), &mut props)
        };
        if status != 0 || props.is_null() {
            return Err(Error::host("paramDefine", self.name, status));
        }
        let p = PropertySet(props);
        p.set_string(sys::kOfxPropLabel, 0, self.label)?;
        p.set_string(sys::kOfxParamPropHint, 0, self.hint)?;
        p.set_string(sys::kOfxParamPropScriptName, 0, self.name)?;
        if let Some(parent) = self.parent {
            p.set_string(sys::kOfxParamPropParent, 0, parent)?;
        }
        if self.secret {
            p.set_int(sys::kOfxParamPropSecret, 0, 1)?;
        }
        if let Some(a) = self.animates {
            p.set_int(sys::kOfxParamPropAnimates, 0, a as i32)?;
        }
        match &self.kind {
            Kind::Double { default, range, display, increment, digits } => {
                p.set_double(sys::kOfxParamPropDefault, 0, *default)?;
                p.set_doubles(sys::kOfxParamPropMin, &[range.0])?;
                p.set_doubles(sys::kOfxParamPropMax, &[range.1])?;
                p.set_doubles(sys::kOfxParamPropDisplayMin, &[display.0])?;
                p.set_doubles(sys::kOfxParamPropDisplayMax, &[display.1])?;
                p.set_double(sys::kOfxParamPropIncrement, 0, *increment)?;
                p.set_int(sys::kOfxParamPropDigits, 0, *digits)?;
            }
            Kind::Double2D { default } => {
                p.set_doubles(sys::kOfxParamPropDefault, &[default.0, default.1])?;
                p.set_string(sys::kOfxParamPropDoubleType, 0, as_str(sys::kOfxParamDoubleTypeXYAbsolute))?;
                // Resolve rejects this property (HOSTS.md); canonical is the OFX default anyway.
                let _ = p.set_string(sys::kOfxParamPropDefaultCoordinateSystem, 0, as_str(sys::kOfxParamCoordinatesCanonical));
                let big = 1.0e6;
                p.set_doubles(sys::kOfxParamPropMin, &[-big, -big])?;
                p.set_doubles(sys::kOfxParamPropMax, &[big, big])?;
                p.set_doubles(sys::kOfxParamPropDisplayMin, &[0.0, 0.0])?;
                p.set_doubles(sys::kOfxParamPropDisplayMax, &[4096.0, 4096.0])?;
            }
            Kind::Int { default, range, display } => {
                p.set_int(sys::kOfxParamPropDefault, 0, *default)?;
                p.set_ints(sys::kOfxParamPropMin, &[range.0])?;
                p.set_ints(sys::kOfxParamPropMax, &[range.1])?;
                p.set_ints(sys::kOfxParamPropDisplayMin, &[display.0])?;
                p.set_ints(sys::kOfxParamPropDisplayMax, &[display.1])?;
            }
            Kind::Bool { default } => p.set_int(sys::kOfxParamPropDefault, 0, *default as i32)?,
            Kind::Choice { default, ids, labels } => {
                p.set_strings(sys::kOfxParamPropChoiceOption, labels)?;
                p.set_int(sys::kOfxParamPropDefault, 0, *default)?;
                // Unknown to most hosts: ignored where refused.
                let _ = p.set_strings(CHOICE_IDS_PROPERTY, ids);
            }
            Kind::String { default, mode } => {
                p.set_string(sys::kOfxParamPropDefault, 0, default)?;
                p.set_string(sys::kOfxParamPropStringMode, 0, as_str(mode))?;
            }
            Kind::PushButton => {}
            Kind::Group { open } => {
                // Optional in OFX 1.4 hosts; a refusal only changes the initial fold.
                let _ = p.set_int(sys::kOfxParamPropGroupOpen, 0, *open as i32);
            }
        }
        Ok(())
    }
}

fn as_str(bytes: &'static [u8]) -> &'static str {
    CStr::from_bytes_with_nul(bytes).ok().and_then(|c| c.to_str().ok()).unwrap_or("")
}

/// The controls of an instance, read at a given time (so keyframes interpolate).
#[derive(Clone, Copy)]
pub struct Params {
    set: sys::OfxParamSetHandle,
}

// SAFETY: the parameter set handle is an opaque host token usable from render threads.
unsafe impl Send for Params {}
unsafe impl Sync for Params {}

impl Params {
    pub(crate) fn new(set: sys::OfxParamSetHandle) -> Self {
        Params { set }
    }

    fn handle(&self, name: &str) -> Result<(sys::OfxParamHandle, PropertySet)> {
        let s = suites()?;
        let cname = CString::new(name).map_err(|_| Error::failed("NUL in a control name"))?;
        let mut h: sys::OfxParamHandle = std::ptr::null_mut();
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: valid param set, NUL-terminated name, out-pointers to locals.
        let status = unsafe { call!(s.param, paramGetHandle)(self.set, cname.as_ptr(), &mut h, &mut props) };
        if status != 0 || h.is_null() {
            return Err(Error::new(Status(status), format!("the host has no control named '{name}'")));
        }
        Ok((h, PropertySet(props)))
    }

    fn get_at<const N: usize, T: Copy + Default>(&self, name: &str, time: f64) -> Result<[T; N]> {
        let s = suites()?;
        let (h, _) = self.handle(name)?;
        let mut v = [T::default(); N];
        let f = call!(s.param, paramGetValueAtTime);
        // SAFETY: the variadic getter writes one value per dimension through the pointers we
        // pass; the caller picks T to match the control's type (int for int/bool/choice, double
        // for doubles), and N its dimension.
        let status = unsafe {
            match N {
                1 => f(h, time, &mut v[0] as *mut T),
                2 => {
                    let p = v.as_mut_ptr();
                    f(h, time, p, p.add(1))
                }
                _ => return Err(Error::failed("unsupported control dimension")),
            }
        };
        if status != 0 {
            return Err(Error::host("paramGetValueAtTime", name, status));
        }
        Ok(v)
    }

    /// A number at `time`.
    pub fn double(&self, name: &str, time: f64) -> Result<f64> {
        Ok(self.get_at::<1, f64>(name, time)?[0])
    }

    /// A 2D position at `time`.
    pub fn double_2d(&self, name: &str, time: f64) -> Result<(f64, f64)> {
        let [x, y] = self.get_at::<2, f64>(name, time)?;
        Ok((x, y))
    }

    /// A whole number at `time`.
    pub fn int(&self, name: &str, time: f64) -> Result<i32> {
        Ok(self.get_at::<1, i32>(name, time)?[0])
    }

    /// A checkbox at `time`.
    pub fn boolean(&self, name: &str, time: f64) -> Result<bool> {
        Ok(self.get_at::<1, i32>(name, time)?[0] != 0)
    }

    /// A drop-down at `time`, as its enum.
    pub fn choice<C: Choice>(&self, name: &str, time: f64) -> Result<C> {
        Ok(C::from_index(self.get_at::<1, i32>(name, time)?[0]))
    }

    /// A text control (not animated: read its current value).
    pub fn string(&self, name: &str) -> Result<String> {
        let s = suites()?;
        let (h, _) = self.handle(name)?;
        let mut v: *mut c_char = std::ptr::null_mut();
        // SAFETY: string controls return a host-owned NUL-terminated string through a char**.
        let status = unsafe { call!(s.param, paramGetValue)(h, &mut v as *mut *mut c_char) };
        if status != 0 {
            return Err(Error::host("paramGetValue", name, status));
        }
        if v.is_null() {
            return Ok(String::new());
        }
        // SAFETY: host-owned NUL-terminated string, copied at once.
        Ok(unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned())
    }

    /// Sets a text control (status lines, ids saved with the project).
    pub fn set_string(&self, name: &str, value: &str) -> Result<()> {
        let s = suites()?;
        let (h, _) = self.handle(name)?;
        let v = CString::new(value.replace('\0', " ")).expect("NULs replaced");
        // SAFETY: string setters take one const char*; the host copies it.
        let status = unsafe { call!(s.param, paramSetValue)(h, v.as_ptr()) };
        if status != 0 {
            return Err(Error::host("paramSetValue", name, status));
        }
        Ok(())
    }
}
