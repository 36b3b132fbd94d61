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

/// The longest text a string control may hand the effects (4 MiB: thousands of prompts).
pub const MAX_TEXT_BYTES: usize = 4 << 20;

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

/// One control's public identity, declared once: its script name (what projects, scripts and
/// `deepmatte --set` use), its label and its hint. Describe makes the [`ParamDef`] from it, and
/// render, the CLI and the tests read the control by its `name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

impl Control {
    pub const fn new(name: &'static str, label: &'static str, hint: &'static str) -> Control {
        Control { name, label, hint }
    }

    /// See [`ParamDef::double`].
    pub fn double(self, default: f64, range: (f64, f64), display: (f64, f64)) -> ParamDef {
        ParamDef::double(self.name, self.label, self.hint, default, range, display)
    }

    /// See [`ParamDef::int`].
    pub fn int(self, default: i32, range: (i32, i32), display: (i32, i32)) -> ParamDef {
        ParamDef::int(self.name, self.label, self.hint, default, range, display)
    }

    /// See [`ParamDef::position`].
    pub fn position(self, default: (f64, f64)) -> ParamDef {
        ParamDef::position(self.name, self.label, self.hint, default)
    }

    /// See [`ParamDef::boolean`].
    pub fn boolean(self, default: bool) -> ParamDef {
        ParamDef::boolean(self.name, self.label, self.hint, default)
    }

    /// See [`ParamDef::choice`].
    pub fn choice<C: Choice>(self, default: C) -> ParamDef {
        ParamDef::choice(self.name, self.label, self.hint, default)
    }

    /// See [`ParamDef::string`].
    pub fn string(self, default: &str) -> ParamDef {
        ParamDef::string(self.name, self.label, self.hint, default)
    }

    /// See [`ParamDef::folder`].
    pub fn folder(self) -> ParamDef {
        ParamDef::folder(self.name, self.label, self.hint)
    }

    /// See [`ParamDef::label_text`].
    pub fn label_text(self) -> ParamDef {
        ParamDef::label_text(self.name, self.label, self.hint)
    }

    /// See [`ParamDef::push_button`].
    pub fn push_button(self) -> ParamDef {
        ParamDef::push_button(self.name, self.label, self.hint)
    }

    /// See [`ParamDef::group`].
    pub fn group(self, open: bool) -> ParamDef {
        ParamDef::group(self.name, self.label, self.hint, open)
    }
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

/// What a numeric control declared for dimension `index`: its default and its range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Declared {
    pub default: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Reads the declaration back from the control's properties (the host keeps what describe set).
/// A property the host does not answer is left out; ints and doubles are both accepted.
fn declared(props: PropertySet, index: i32) -> Declared {
    let get = |name: &[u8]| props.get_double(name, index).ok().or_else(|| props.get_int(name, index).ok().map(f64::from)).filter(|v| v.is_finite());
    Declared { default: get(sys::kOfxParamPropDefault), min: get(sys::kOfxParamPropMin), max: get(sys::kOfxParamPropMax) }
}

/// A value from the host made safe to compute with: NaN becomes the default, anything else is
/// clamped to the declared range (±infinity to its ends). Hosts that do not clamp, expressions,
/// projects from a newer version and corrupted project files all hand out such values; the first
/// time a control's value is corrected the log says so (once per control and process, so a
/// render loop does not flood it).
pub(crate) fn sanitize(name: &str, value: f64, declared: Declared) -> f64 {
    let (lo, hi) = match (declared.min, declared.max) {
        (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
        // No usable range: only keep the value finite.
        _ => (f64::MIN, f64::MAX),
    };
    let fixed = if value.is_nan() { declared.default.unwrap_or(0.0).clamp(lo, hi) } else { value.clamp(lo, hi) };
    if fixed != value || value.is_nan() {
        log_once(name, || format!("control '{name}': value {value} is outside its range [{lo}, {hi}]; using {fixed}"));
    }
    fixed
}

/// Logs `message` at warning level the first time `key` is seen in this process.
fn log_once(key: &str, message: impl FnOnce() -> String) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    // Bounded: a handful of controls per effect, and a hostile host cannot add names beyond
    // the controls the effects declare.
    if !seen.iter().any(|k| k == key) {
        seen.push(key.to_owned());
        drop(seen);
        log::warn!("{}", message());
    }
}

/// The declared default of a boolean or choice (0 when the host does not answer).
fn declared_int(props: PropertySet) -> i32 {
    props.get_int(sys::kOfxParamPropDefault, 0).unwrap_or(0)
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

    /// The value at `time`, or `None` when the host cannot read this kind of control
    /// (kOfxStatErrMissingHostFeature: incomplete hosts, such as the official example host for
    /// integers and choices); callers then use the declared default.
    fn get_at<const N: usize, T: Copy + Default>(&self, h: sys::OfxParamHandle, name: &str, time: f64) -> Result<Option<[T; N]>> {
        let s = suites()?;
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
        if status == Status::ERR_MISSING_HOST_FEATURE.0 {
            log_once(&format!("unreadable {name}"), || {
                format!("the host cannot read control '{name}' (kOfxStatErrMissingHostFeature): using its default")
            });
            return Ok(None);
        }
        if status != 0 {
            return Err(Error::host("paramGetValueAtTime", name, status));
        }
        Ok(Some(v))
    }

    /// A number at `time`, within the control's declared range (see [`sanitize`]).
    pub fn double(&self, name: &str, time: f64) -> Result<f64> {
        let (h, props) = self.handle(name)?;
        let range = declared(props, 0);
        let v = self.get_at::<1, f64>(h, name, time)?.map_or(range.default.unwrap_or(0.0), |v| v[0]);
        Ok(sanitize(name, v, range))
    }

    /// A 2D position at `time`, each coordinate within its declared range.
    pub fn double_2d(&self, name: &str, time: f64) -> Result<(f64, f64)> {
        let (h, props) = self.handle(name)?;
        let (rx, ry) = (declared(props, 0), declared(props, 1));
        let [x, y] = self.get_at::<2, f64>(h, name, time)?.unwrap_or([rx.default.unwrap_or(0.0), ry.default.unwrap_or(0.0)]);
        Ok((sanitize(name, x, rx), sanitize(name, y, ry)))
    }

    /// A whole number at `time`, within the control's declared range.
    pub fn int(&self, name: &str, time: f64) -> Result<i32> {
        let (h, props) = self.handle(name)?;
        let range = declared(props, 0);
        let v = self.get_at::<1, i32>(h, name, time)?.map_or(range.default.unwrap_or(0.0), |v| f64::from(v[0]));
        // Integers are never NaN; the range (read back as doubles) holds every i32 exactly.
        Ok(sanitize(name, v, range) as i32)
    }

    /// A checkbox at `time`.
    pub fn boolean(&self, name: &str, time: f64) -> Result<bool> {
        let (h, props) = self.handle(name)?;
        Ok(self.get_at::<1, i32>(h, name, time)?.map_or_else(|| declared_int(props), |v| v[0]) != 0)
    }

    /// A drop-down at `time`, as its enum (an index out of range is the first option).
    pub fn choice<C: Choice>(&self, name: &str, time: f64) -> Result<C> {
        let (h, props) = self.handle(name)?;
        Ok(C::from_index(self.get_at::<1, i32>(h, name, time)?.map_or_else(|| declared_int(props), |v| v[0])))
    }

    /// A text control (not animated: read its current value), at most [`MAX_TEXT_BYTES`] long:
    /// a project file is untrusted, and nothing the effects keep in text needs more.
    pub fn string(&self, name: &str) -> Result<String> {
        let s = suites()?;
        let (h, props) = self.handle(name)?;
        let mut v: *mut c_char = std::ptr::null_mut();
        // SAFETY: string controls return a host-owned NUL-terminated string through a char**.
        let status = unsafe { call!(s.param, paramGetValue)(h, &mut v as *mut *mut c_char) };
        if status == Status::ERR_MISSING_HOST_FEATURE.0 {
            log_once(&format!("unreadable {name}"), || {
                format!("the host cannot read control '{name}' (kOfxStatErrMissingHostFeature): using its default")
            });
            // The plugin's own declaration, short by construction.
            return Ok(props.get_string(sys::kOfxParamPropDefault, 0).unwrap_or_default());
        }
        if status != 0 {
            return Err(Error::host("paramGetValue", name, status));
        }
        if v.is_null() {
            return Ok(String::new());
        }
        // SAFETY: host-owned NUL-terminated string, copied at once.
        let text = unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned();
        if text.len() > MAX_TEXT_BYTES {
            return Err(Error::failed(format!(
                "control '{name}' holds {} bytes of text, more than the {MAX_TEXT_BYTES} it may hold",
                text.len()
            )));
        }
        Ok(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: Declared = Declared { default: Some(2.0), min: Some(0.0), max: Some(12.0) };

    #[test]
    fn values_from_the_host_are_brought_into_the_declared_range() {
        assert_eq!(sanitize("w", 5.0, RANGE), 5.0, "in range: untouched");
        assert_eq!(sanitize("w", f64::NAN, RANGE), 2.0, "NaN: the default");
        assert_eq!(sanitize("w", 2147483647.0, RANGE), 12.0);
        assert_eq!(sanitize("w", -1.0, RANGE), 0.0);
        assert_eq!(sanitize("w", f64::INFINITY, RANGE), 12.0);
        assert_eq!(sanitize("w", f64::NEG_INFINITY, RANGE), 0.0);
        assert_eq!(sanitize("w", -1e9, RANGE), 0.0);
    }

    #[test]
    fn without_a_range_values_stay_finite() {
        let none = Declared { default: None, min: None, max: None };
        assert_eq!(sanitize("x", f64::NAN, none), 0.0);
        assert_eq!(sanitize("x", f64::INFINITY, none), f64::MAX);
        assert_eq!(sanitize("x", 3.5, none), 3.5);
        // A nonsense range (min above max) is ignored rather than trusted.
        let upside_down = Declared { default: Some(1.0), min: Some(5.0), max: Some(1.0) };
        assert_eq!(sanitize("x", 3.0, upside_down), 3.0);
    }
}
