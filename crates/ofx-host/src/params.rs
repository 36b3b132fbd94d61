//! Parameter values as the host stores them: the kinds OFX defines, typed values,
//! keyframe curves (linear for doubles, step for everything else) and the text forms
//! a command line or a test uses to set them.

use openfx_sys as sys;

use crate::ofx_str;

/// The OFX parameter types this host implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// `kOfxParamTypeDouble`.
    Double,
    /// `kOfxParamTypeDouble2D`.
    Double2D,
    /// `kOfxParamTypeDouble3D`.
    Double3D,
    /// `kOfxParamTypeInteger`.
    Int,
    /// `kOfxParamTypeInteger2D`.
    Int2D,
    /// `kOfxParamTypeInteger3D`.
    Int3D,
    /// `kOfxParamTypeBoolean`.
    Boolean,
    /// `kOfxParamTypeChoice`.
    Choice,
    /// `kOfxParamTypeString`.
    String,
    /// `kOfxParamTypePushButton`.
    PushButton,
    /// `kOfxParamTypeGroup`.
    Group,
    /// `kOfxParamTypePage`.
    Page,
    /// `kOfxParamTypeRGB`.
    Rgb,
    /// `kOfxParamTypeRGBA`.
    Rgba,
    /// `kOfxParamTypeCustom` (a string the plugin interprets).
    Custom,
}

/// How a kind's values cross the C ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storage {
    /// `double` values.
    Double,
    /// `int` values (also booleans and choices).
    Int,
    /// One `char*`.
    Text,
    /// No value (buttons, groups, pages).
    None,
}

const KINDS: [(ParamKind, &[u8]); 15] = [
    (ParamKind::Double, sys::kOfxParamTypeDouble),
    (ParamKind::Double2D, sys::kOfxParamTypeDouble2D),
    (ParamKind::Double3D, sys::kOfxParamTypeDouble3D),
    (ParamKind::Int, sys::kOfxParamTypeInteger),
    (ParamKind::Int2D, sys::kOfxParamTypeInteger2D),
    (ParamKind::Int3D, sys::kOfxParamTypeInteger3D),
    (ParamKind::Boolean, sys::kOfxParamTypeBoolean),
    (ParamKind::Choice, sys::kOfxParamTypeChoice),
    (ParamKind::String, sys::kOfxParamTypeString),
    (ParamKind::PushButton, sys::kOfxParamTypePushButton),
    (ParamKind::Group, sys::kOfxParamTypeGroup),
    (ParamKind::Page, sys::kOfxParamTypePage),
    (ParamKind::Rgb, sys::kOfxParamTypeRGB),
    (ParamKind::Rgba, sys::kOfxParamTypeRGBA),
    (ParamKind::Custom, sys::kOfxParamTypeCustom),
];

impl ParamKind {
    /// Parses a `kOfxParamType*` string.
    pub fn from_ofx_type(name: &str) -> Option<ParamKind> {
        KINDS.iter().find(|(_, n)| ofx_str(n) == name).map(|(k, _)| *k)
    }

    /// The `kOfxParamType*` string.
    pub fn ofx_type(self) -> &'static str {
        ofx_str(KINDS.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).unwrap_or(b"\0"))
    }

    /// Number of values (1 for strings, 0 for buttons, groups and pages).
    pub fn dims(self) -> usize {
        match self {
            ParamKind::Double2D | ParamKind::Int2D => 2,
            ParamKind::Double3D | ParamKind::Int3D | ParamKind::Rgb => 3,
            ParamKind::Rgba => 4,
            ParamKind::PushButton | ParamKind::Group | ParamKind::Page => 0,
            _ => 1,
        }
    }

    pub(crate) fn storage(self) -> Storage {
        match self {
            ParamKind::Double | ParamKind::Double2D | ParamKind::Double3D | ParamKind::Rgb | ParamKind::Rgba => {
                Storage::Double
            }
            ParamKind::Int | ParamKind::Int2D | ParamKind::Int3D | ParamKind::Boolean | ParamKind::Choice => {
                Storage::Int
            }
            ParamKind::String | ParamKind::Custom => Storage::Text,
            ParamKind::PushButton | ParamKind::Group | ParamKind::Page => Storage::None,
        }
    }

    /// Whether the value can be keyframed at all, and its OFX default for `kOfxParamPropAnimates`.
    pub fn animatable(self) -> bool {
        !matches!(self.storage(), Storage::None) && self != ParamKind::String
    }

    /// The value this kind holds before anything sets it.
    pub fn zero(self) -> ParamValue {
        self.value_from(&[0.0; 4], "")
    }

    /// Builds a value of this kind from the numbers (or text) crossing the C ABI.
    pub(crate) fn value_from(self, v: &[f64], text: &str) -> ParamValue {
        let i = |n: usize| v.get(n).copied().unwrap_or(0.0).round() as i32;
        let d = |n: usize| v.get(n).copied().unwrap_or(0.0);
        match self {
            ParamKind::Double => ParamValue::Double(d(0)),
            ParamKind::Double2D => ParamValue::Double2D(d(0), d(1)),
            ParamKind::Double3D | ParamKind::Rgb => ParamValue::Double3D(d(0), d(1), d(2)),
            ParamKind::Rgba => ParamValue::Rgba(d(0), d(1), d(2), d(3)),
            ParamKind::Int => ParamValue::Int(i(0)),
            ParamKind::Int2D => ParamValue::Int2D(i(0), i(1)),
            ParamKind::Int3D => ParamValue::Int3D(i(0), i(1), i(2)),
            ParamKind::Boolean => ParamValue::Bool(i(0) != 0),
            ParamKind::Choice => ParamValue::Choice(i(0)),
            ParamKind::String | ParamKind::Custom => ParamValue::String(text.to_string()),
            ParamKind::PushButton | ParamKind::Group | ParamKind::Page => ParamValue::None,
        }
    }

    /// True when `value` is the variant this kind stores.
    pub fn accepts(self, value: &ParamValue) -> bool {
        self.zero().same_variant(value)
    }
}

/// A parameter value. RGB parameters use `Double3D`, RGBA ones `Rgba`.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// One double.
    Double(f64),
    /// Two doubles (e.g. a position).
    Double2D(f64, f64),
    /// Three doubles (also RGB colours).
    Double3D(f64, f64, f64),
    /// Four doubles: an RGBA colour.
    Rgba(f64, f64, f64, f64),
    /// One integer.
    Int(i32),
    /// Two integers.
    Int2D(i32, i32),
    /// Three integers.
    Int3D(i32, i32, i32),
    /// A checkbox.
    Bool(bool),
    /// The index of a choice option.
    Choice(i32),
    /// Text (string and custom parameters).
    String(String),
    /// Buttons, groups and pages hold nothing.
    None,
}

impl ParamValue {
    /// The numbers this value crosses the C ABI as (empty for text and none).
    pub fn numbers(&self) -> Vec<f64> {
        match *self {
            ParamValue::Double(a) => vec![a],
            ParamValue::Double2D(a, b) => vec![a, b],
            ParamValue::Double3D(a, b, c) => vec![a, b, c],
            ParamValue::Rgba(a, b, c, d) => vec![a, b, c, d],
            ParamValue::Int(a) | ParamValue::Choice(a) => vec![a as f64],
            ParamValue::Int2D(a, b) => vec![a as f64, b as f64],
            ParamValue::Int3D(a, b, c) => vec![a as f64, b as f64, c as f64],
            ParamValue::Bool(b) => vec![b as i32 as f64],
            ParamValue::String(_) | ParamValue::None => vec![],
        }
    }

    /// The text of a string value ("" otherwise).
    pub fn text(&self) -> &str {
        match self {
            ParamValue::String(s) => s,
            _ => "",
        }
    }

    fn same_variant(&self, other: &ParamValue) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::String(s) => write!(f, "{s:?}"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::None => write!(f, "(none)"),
            other => {
                let n: Vec<String> = other.numbers().iter().map(|v| v.to_string()).collect();
                write!(f, "{}", n.join(","))
            }
        }
    }
}

/// Everything a parameter declares, as the host reads it from the plugin's properties.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    /// Script name (`kOfxPropName`).
    pub name: String,
    /// User-visible label.
    pub label: String,
    /// Tooltip (`kOfxParamPropHint`).
    pub hint: String,
    /// Parameter type.
    pub kind: ParamKind,
    /// `kOfxParamPropDefault`.
    pub default: ParamValue,
    /// `kOfxParamPropMin`, one entry per dimension (empty for non-numeric kinds).
    pub min: Vec<f64>,
    /// `kOfxParamPropMax`.
    pub max: Vec<f64>,
    /// `kOfxParamPropDisplayMin` (the slider range).
    pub display_min: Vec<f64>,
    /// `kOfxParamPropDisplayMax`.
    pub display_max: Vec<f64>,
    /// `kOfxParamPropAnimates`.
    pub animates: bool,
    /// Enclosing group (`kOfxParamPropParent`), if any.
    pub parent: Option<String>,
    /// `kOfxParamPropSecret`: hidden from the user.
    pub secret: bool,
    /// Stable option ids of a choice (the plugin's `DeepMatteParamPropChoiceIds`, or the
    /// OFX 1.5 `kOfxParamPropChoiceEnum`), so scripts survive relabelling.
    pub choice_ids: Vec<String>,
    /// Option labels of a choice (`kOfxParamPropChoiceOption`).
    pub choice_labels: Vec<String>,
    /// `kOfxParamPropStringMode` of a string (`OfxParamStringIsDirectoryPath` makes hosts
    /// show a folder browser); empty for other kinds.
    pub string_mode: String,
}

impl ParamInfo {
    /// Checks a value's type and range, naming the parameter in the error.
    pub(crate) fn check(&self, value: &ParamValue) -> Result<(), crate::HostError> {
        if !self.kind.accepts(value) {
            return Err(crate::HostError::WrongType {
                param: self.name.clone(),
                expected: self.kind,
                got: format!("{value:?}"),
            });
        }
        let out_of_range = |min: String, max: String| crate::HostError::OutOfRange {
            param: self.name.clone(),
            value: value.to_string(),
            min,
            max,
        };
        if let ParamValue::Choice(i) = value {
            if *i < 0 || *i as usize >= self.choice_labels.len() {
                return Err(out_of_range("0".into(), format!("{}", self.choice_labels.len() as i32 - 1)));
            }
            return Ok(());
        }
        for (n, v) in value.numbers().iter().enumerate() {
            let (lo, hi) = (self.min.get(n).copied(), self.max.get(n).copied());
            if lo.is_some_and(|lo| *v < lo) || hi.is_some_and(|hi| *v > hi) {
                let join = |x: &[f64]| x.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
                return Err(out_of_range(join(&self.min), join(&self.max)));
            }
        }
        Ok(())
    }

    /// Parses text into a value of this parameter's kind: numbers, `"412,230"` for 2D/3D,
    /// `true/false/on/off/yes/no/1/0`, a choice by id, label or index, plain text.
    pub fn parse(&self, text: &str) -> Result<ParamValue, crate::HostError> {
        let bad = |expected: &str| crate::HostError::BadText {
            param: self.name.clone(),
            text: text.to_string(),
            expected: expected.to_string(),
        };
        let t = text.trim();
        let numbers = |n: usize| -> Result<Vec<f64>, crate::HostError> {
            let parts: Vec<&str> = t.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).collect();
            let v: Result<Vec<f64>, _> = parts.iter().map(|p| p.parse::<f64>()).collect();
            match v {
                Ok(v) if v.len() == n => Ok(v),
                _ => Err(bad(&format!("{n} comma-separated numbers"))),
            }
        };
        let ints = |n: usize| -> Result<Vec<f64>, crate::HostError> {
            let v = numbers(n).map_err(|_| bad(&format!("{n} comma-separated integers")))?;
            if v.iter().all(|x| x.fract() == 0.0) {
                Ok(v)
            } else {
                Err(bad(&format!("{n} comma-separated integers")))
            }
        };
        Ok(match self.kind {
            ParamKind::String | ParamKind::Custom => ParamValue::String(text.to_string()),
            ParamKind::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => ParamValue::Bool(true),
                "false" | "off" | "no" | "0" => ParamValue::Bool(false),
                _ => return Err(bad("true/false, on/off, yes/no or 1/0")),
            },
            ParamKind::Choice => {
                let by_id = self.choice_ids.iter().position(|id| id == t);
                let by_label = || self.choice_labels.iter().position(|l| l.eq_ignore_ascii_case(t));
                let by_index = || t.parse::<usize>().ok().filter(|i| *i < self.choice_labels.len());
                match by_id.or_else(by_label).or_else(by_index) {
                    Some(i) => ParamValue::Choice(i as i32),
                    None => {
                        return Err(bad(&if self.choice_ids.is_empty() {
                            format!("one of {}", self.choice_labels.join(", "))
                        } else {
                            format!("one of {} (or a label: {})", self.choice_ids.join(", "), self.choice_labels.join(", "))
                        }));
                    }
                }
            }
            ParamKind::PushButton | ParamKind::Group | ParamKind::Page => {
                return Err(bad("nothing: this parameter holds no value"))
            }
            kind @ (ParamKind::Int | ParamKind::Int2D | ParamKind::Int3D) => kind.value_from(&ints(kind.dims())?, ""),
            kind => kind.value_from(&numbers(kind.dims())?, ""),
        })
    }
}

/// A parameter's value over time: a constant, or keyframes once any key is set.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Curve {
    /// The value when there are no keys.
    pub value: ParamValue,
    /// Keys sorted by time.
    pub keys: Vec<(f64, ParamValue)>,
}

impl Curve {
    pub fn constant(value: ParamValue) -> Curve {
        Curve { value, keys: Vec::new() }
    }

    fn linear(&self) -> bool {
        matches!(
            self.value,
            ParamValue::Double(_) | ParamValue::Double2D(..) | ParamValue::Double3D(..) | ParamValue::Rgba(..)
        )
    }

    /// The value at `time`: linear between double keys, the previous key's value for
    /// other kinds, held flat before the first and after the last key.
    pub fn at(&self, time: f64) -> ParamValue {
        let (Some(first), Some(last)) = (self.keys.first(), self.keys.last()) else {
            return self.value.clone();
        };
        if time <= first.0 {
            return first.1.clone();
        }
        if time >= last.0 {
            return last.1.clone();
        }
        let next = self.keys.iter().position(|(t, _)| *t > time).unwrap_or(self.keys.len() - 1);
        let (t0, v0) = &self.keys[next - 1];
        let (t1, v1) = &self.keys[next];
        if !self.linear() {
            return v0.clone();
        }
        let f = (time - t0) / (t1 - t0);
        let (a, b) = (v0.numbers(), v1.numbers());
        let mixed: Vec<f64> = a.iter().zip(&b).map(|(a, b)| a + (b - a) * f).collect();
        with_numbers(v0, &mixed)
    }

    /// Adds or replaces the key at `time`.
    pub fn set_key(&mut self, time: f64, value: ParamValue) {
        match self.keys.iter().position(|(t, _)| *t >= time) {
            Some(i) if self.keys[i].0 == time => self.keys[i].1 = value,
            Some(i) => self.keys.insert(i, (time, value)),
            None => self.keys.push((time, value)),
        }
    }

    /// Sets the value: the key at `time` when the curve is animated, the constant otherwise.
    pub fn set(&mut self, time: f64, value: ParamValue) {
        if self.keys.is_empty() {
            self.value = value;
        } else {
            self.set_key(time, value);
        }
    }

    /// Removes the key at exactly `time`; false when there is none.
    pub fn delete_key(&mut self, time: f64) -> bool {
        let before = self.keys.len();
        self.keys.retain(|(t, _)| *t != time);
        before != self.keys.len()
    }

    /// `paramGetKeyIndex`: direction 0 = the key at `time`, -1 = the last key before, 1 = the first after.
    pub fn key_index(&self, time: f64, direction: i32) -> Option<usize> {
        match direction.signum() {
            0 => self.keys.iter().position(|(t, _)| *t == time),
            -1 => self.keys.iter().rposition(|(t, _)| *t < time),
            _ => self.keys.iter().position(|(t, _)| *t > time),
        }
    }

    /// d(value)/dt at `time` (the slope of the linear segment; 0 outside the keys).
    pub fn derivative(&self, time: f64) -> Vec<f64> {
        let dims = self.value.numbers().len();
        let seg = self.keys.windows(2).find(|w| time >= w[0].0 && time < w[1].0);
        match seg {
            Some(w) if self.linear() => {
                let (a, b) = (w[0].1.numbers(), w[1].1.numbers());
                a.iter().zip(&b).map(|(a, b)| (b - a) / (w[1].0 - w[0].0)).collect()
            }
            _ => vec![0.0; dims],
        }
    }

    /// ∫ value dt from `t1` to `t2`, exact for the piecewise-linear (or step) curve.
    pub fn integral(&self, t1: f64, t2: f64) -> Vec<f64> {
        let (lo, hi, sign) = if t1 <= t2 { (t1, t2, 1.0) } else { (t2, t1, -1.0) };
        let mut cuts = vec![lo];
        cuts.extend(self.keys.iter().map(|(t, _)| *t).filter(|t| *t > lo && *t < hi));
        cuts.push(hi);
        let mut sum = vec![0.0; self.value.numbers().len()];
        for w in cuts.windows(2) {
            let (a, b) = if self.linear() {
                (self.at(w[0]).numbers(), self.at(w[1]).numbers())
            } else {
                let v = self.at(w[0]).numbers();
                (v.clone(), v)
            };
            for (s, (a, b)) in sum.iter_mut().zip(a.iter().zip(&b)) {
                *s += sign * (a + b) * 0.5 * (w[1] - w[0]);
            }
        }
        sum
    }
}

/// A value of `like`'s variant holding `numbers`.
fn with_numbers(like: &ParamValue, numbers: &[f64]) -> ParamValue {
    let d = |i: usize| numbers.get(i).copied().unwrap_or(0.0);
    match like {
        ParamValue::Double(_) => ParamValue::Double(d(0)),
        ParamValue::Double2D(..) => ParamValue::Double2D(d(0), d(1)),
        ParamValue::Double3D(..) => ParamValue::Double3D(d(0), d(1), d(2)),
        ParamValue::Rgba(..) => ParamValue::Rgba(d(0), d(1), d(2), d(3)),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: ParamKind) -> ParamInfo {
        let dims = kind.dims();
        ParamInfo {
            name: "p".into(),
            label: "P".into(),
            hint: String::new(),
            kind,
            default: kind.zero(),
            min: vec![0.0; dims],
            max: vec![10.0; dims],
            display_min: vec![0.0; dims],
            display_max: vec![1.0; dims],
            animates: true,
            parent: None,
            secret: false,
            choice_ids: vec!["rec709".into(), "average".into()],
            choice_labels: vec!["Luminance Rec.709".into(), "Average".into()],
            string_mode: String::new(),
        }
    }

    #[test]
    fn doubles_interpolate_linearly_and_hold_outside_keys() {
        let mut c = Curve::constant(ParamValue::Double(5.0));
        assert_eq!(c.at(3.0), ParamValue::Double(5.0));
        c.set_key(10.0, ParamValue::Double(1.0));
        c.set_key(0.0, ParamValue::Double(0.0));
        c.set_key(20.0, ParamValue::Double(-1.0));
        assert_eq!(c.keys.iter().map(|k| k.0).collect::<Vec<_>>(), vec![0.0, 10.0, 20.0]);
        assert_eq!(c.at(-5.0), ParamValue::Double(0.0));
        assert_eq!(c.at(2.5), ParamValue::Double(0.25));
        assert_eq!(c.at(15.0), ParamValue::Double(0.0));
        assert_eq!(c.at(99.0), ParamValue::Double(-1.0));
        assert_eq!(c.derivative(5.0), vec![0.1]);
        assert_eq!(c.derivative(15.0), vec![-0.2]);
        assert_eq!(c.derivative(25.0), vec![0.0]);
        // ∫0..20 = triangle 0→1→-1: 5 + 0 = 5; plus flat -1 from 20 to 22.
        let i = c.integral(0.0, 22.0)[0];
        assert!((i - 3.0).abs() < 1e-12, "{i}");
        assert!((c.integral(22.0, 0.0)[0] + 3.0).abs() < 1e-12);
    }

    #[test]
    fn two_d_keys_interpolate_per_component() {
        let mut c = Curve::constant(ParamValue::Double2D(0.0, 0.0));
        c.set_key(0.0, ParamValue::Double2D(0.0, 10.0));
        c.set_key(4.0, ParamValue::Double2D(4.0, 2.0));
        assert_eq!(c.at(1.0), ParamValue::Double2D(1.0, 8.0));
    }

    #[test]
    fn ints_bools_and_choices_step() {
        let mut c = Curve::constant(ParamValue::Int(0));
        c.set_key(0.0, ParamValue::Int(0));
        c.set_key(10.0, ParamValue::Int(10));
        assert_eq!(c.at(9.9), ParamValue::Int(0));
        assert_eq!(c.at(10.0), ParamValue::Int(10));
        assert_eq!(c.derivative(5.0), vec![0.0]);
        let mut b = Curve::constant(ParamValue::Bool(false));
        b.set_key(3.0, ParamValue::Bool(true));
        b.set_key(1.0, ParamValue::Bool(false));
        assert_eq!(b.at(2.0), ParamValue::Bool(false));
        assert_eq!(b.at(3.5), ParamValue::Bool(true));
    }

    #[test]
    fn key_index_directions_and_deletion() {
        let mut c = Curve::constant(ParamValue::Double(0.0));
        for t in [1.0, 5.0, 9.0] {
            c.set_key(t, ParamValue::Double(t));
        }
        assert_eq!(c.key_index(5.0, 0), Some(1));
        assert_eq!(c.key_index(6.0, 0), None);
        assert_eq!(c.key_index(5.0, -1), Some(0));
        assert_eq!(c.key_index(5.0, 1), Some(2));
        assert_eq!(c.key_index(0.0, -1), None);
        assert!(c.delete_key(5.0));
        assert!(!c.delete_key(5.0));
        assert_eq!(c.at(5.0), ParamValue::Double(5.0), "now interpolated between 1 and 9");
        c.set(9.0, ParamValue::Double(1.0));
        assert_eq!(c.keys[1].1, ParamValue::Double(1.0), "set on an animated curve keys it");
    }

    #[test]
    fn text_parses_per_kind() {
        assert_eq!(info(ParamKind::Double).parse(" 0.1 ").unwrap(), ParamValue::Double(0.1));
        assert_eq!(info(ParamKind::Int).parse("7").unwrap(), ParamValue::Int(7));
        assert!(info(ParamKind::Int).parse("7.5").is_err());
        for (t, v) in [("true", true), ("OFF", false), ("on", true), ("0", false), ("yes", true)] {
            assert_eq!(info(ParamKind::Boolean).parse(t).unwrap(), ParamValue::Bool(v));
        }
        assert!(info(ParamKind::Boolean).parse("maybe").is_err());
        let choice = info(ParamKind::Choice);
        assert_eq!(choice.parse("average").unwrap(), ParamValue::Choice(1));
        assert_eq!(choice.parse("luminance rec.709").unwrap(), ParamValue::Choice(0));
        assert_eq!(choice.parse("1").unwrap(), ParamValue::Choice(1));
        let err = choice.parse("max").unwrap_err().to_string();
        assert!(err.contains("rec709, average"), "{err}");
        assert_eq!(info(ParamKind::Double2D).parse("412,230").unwrap(), ParamValue::Double2D(412.0, 230.0));
        assert_eq!(info(ParamKind::Int3D).parse("1 2 3").unwrap(), ParamValue::Int3D(1, 2, 3));
        assert_eq!(info(ParamKind::Rgba).parse("1,0,0,1").unwrap(), ParamValue::Rgba(1.0, 0.0, 0.0, 1.0));
        assert!(info(ParamKind::Double2D).parse("412").is_err());
        assert_eq!(info(ParamKind::String).parse(" a b ").unwrap(), ParamValue::String(" a b ".into()));
    }

    #[test]
    fn check_rejects_wrong_type_and_out_of_range() {
        let d = info(ParamKind::Double);
        assert!(d.check(&ParamValue::Double(10.0)).is_ok());
        let err = d.check(&ParamValue::Double(10.5)).unwrap_err().to_string();
        assert!(err.contains("'p'") && err.contains("10.5") && err.contains("[0, 10]"), "{err}");
        assert!(matches!(d.check(&ParamValue::Int(1)), Err(crate::HostError::WrongType { .. })));
        assert!(info(ParamKind::Choice).check(&ParamValue::Choice(2)).is_err());
        assert!(info(ParamKind::Choice).check(&ParamValue::Choice(1)).is_ok());
    }

    #[test]
    fn kinds_round_trip_their_ofx_names() {
        for (k, _) in KINDS {
            assert_eq!(ParamKind::from_ofx_type(k.ofx_type()), Some(k));
        }
        assert_eq!(ParamKind::Rgb.value_from(&[1.0, 2.0, 3.0], ""), ParamValue::Double3D(1.0, 2.0, 3.0));
    }
}
