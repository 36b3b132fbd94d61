//! OFX property sets: named, typed, multi-valued properties behind a handle. The store is
//! permissive like real hosts — a plugin may attach any property it likes (e.g.
//! `DeepMatteParamPropChoiceIds` on a choice) — but typed: an existing property keeps its
//! type, and a mismatched set or get fails with `kOfxStatErrValue` as HostSupport does.

use crate::image::Image;
use crate::objects::Effect;
use crate::registry::{register, Handle, Object};
use crate::status::{self, OfxStatus};
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::sync::{Arc, Mutex, RwLock, Weak};

/// The values of one property.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Values {
    Int(Vec<i32>),
    Double(Vec<f64>),
    Str(Vec<CString>),
    Ptr(Vec<usize>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Double(v) => v.len(),
            Values::Str(v) => v.len(),
            Values::Ptr(v) => v.len(),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Values::Int(v) => v.truncate(n),
            Values::Double(v) => v.truncate(n),
            Values::Str(v) => v.truncate(n),
            Values::Ptr(v) => v.truncate(n),
        }
    }
}

/// One value crossing the ABI.
pub(crate) enum Scalar<'a> {
    Int(i32),
    Double(f64),
    Str(&'a CStr),
    Ptr(usize),
}

/// Pixels handed to a plugin, and the instance whose list of held images has them.
pub(crate) struct HeldImage {
    /// Kept alive (and unmoved) while the plugin holds the handle.
    pub _pixels: Arc<Mutex<Image>>,
    pub owner: Weak<Effect>,
}

/// A property set; an image handed to a plugin is one too, carrying its pixels.
pub(crate) struct PropertySet {
    pub handle: Handle,
    values: RwLock<HashMap<String, Values>>,
    /// The values the host created it with, for `propReset`.
    initial: HashMap<String, Values>,
    /// Properties this host profile does not know (get and set fail with ErrUnknown).
    unknown: &'static [&'static str],
    /// Pixels of a fetched image, alive as long as the plugin holds the handle.
    pub image: Option<HeldImage>,
}

impl PropertySet {
    /// An empty set.
    pub fn new(unknown: &'static [&'static str]) -> Arc<PropertySet> {
        PropertySet::from_values(HashMap::new(), unknown, None)
    }

    /// A set holding `values` (e.g. copied from a descriptor).
    pub fn from_values(
        values: HashMap<String, Values>,
        unknown: &'static [&'static str],
        image: Option<HeldImage>,
    ) -> Arc<PropertySet> {
        Arc::new_cyclic(|weak| PropertySet {
            handle: register(Object::Props(weak.clone())),
            initial: values.clone(),
            values: RwLock::new(values),
            unknown,
            image,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Values>> {
        self.values.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Values>> {
        self.values.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of every property, to build an instance from a descriptor.
    pub fn snapshot(&self) -> HashMap<String, Values> {
        self.read().clone()
    }

    /// The properties this set's profile rejects.
    pub fn unknown(&self) -> &'static [&'static str] {
        self.unknown
    }

    /// Host-side: replaces a property's values.
    pub fn put(&self, name: &str, values: Values) {
        self.write().insert(name.to_string(), values);
    }

    pub fn set_str(&self, name: &str, v: &str) {
        self.set_strs(name, &[v]);
    }

    pub fn set_strs(&self, name: &str, v: &[&str]) {
        let v = v.iter().map(|s| CString::new(s.replace('\0', "")).unwrap_or_default()).collect();
        self.put(name, Values::Str(v));
    }

    pub fn set_int(&self, name: &str, v: i32) {
        self.put(name, Values::Int(vec![v]));
    }

    pub fn set_ints(&self, name: &str, v: &[i32]) {
        self.put(name, Values::Int(v.to_vec()));
    }

    pub fn set_double(&self, name: &str, v: f64) {
        self.put(name, Values::Double(vec![v]));
    }

    pub fn set_doubles(&self, name: &str, v: &[f64]) {
        self.put(name, Values::Double(v.to_vec()));
    }

    pub fn set_ptr(&self, name: &str, v: usize) {
        self.put(name, Values::Ptr(vec![v]));
    }

    /// Host-side read of all string values (empty if missing or not strings).
    pub fn strs(&self, name: &str) -> Vec<String> {
        match self.read().get(name) {
            Some(Values::Str(v)) => v.iter().map(|s| s.to_string_lossy().into_owned()).collect(),
            _ => Vec::new(),
        }
    }

    pub fn str(&self, name: &str) -> Option<String> {
        self.strs(name).into_iter().next()
    }

    /// Host-side read of numbers; ints and doubles both convert.
    pub fn numbers(&self, name: &str) -> Vec<f64> {
        match self.read().get(name) {
            Some(Values::Int(v)) => v.iter().map(|i| *i as f64).collect(),
            Some(Values::Double(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    pub fn int(&self, name: &str) -> Option<i32> {
        self.numbers(name).first().map(|v| *v as i32)
    }

    pub fn double(&self, name: &str) -> Option<f64> {
        self.numbers(name).first().copied()
    }

    pub fn ptr(&self, name: &str) -> Option<usize> {
        match self.read().get(name) {
            Some(Values::Ptr(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// `propSet*`: sets one value, creating the property or growing it as needed.
    pub fn set_at(&self, name: &str, index: usize, value: Scalar) -> OfxStatus {
        if self.unknown.contains(&name) {
            return status::ERR_UNKNOWN;
        }
        let mut map = self.write();
        let entry = map.entry(name.to_string()).or_insert_with(|| match value {
            Scalar::Int(_) => Values::Int(Vec::new()),
            Scalar::Double(_) => Values::Double(Vec::new()),
            Scalar::Str(_) => Values::Str(Vec::new()),
            Scalar::Ptr(_) => Values::Ptr(Vec::new()),
        });
        fn put<T: Clone + Default>(v: &mut Vec<T>, index: usize, x: T) {
            if v.len() <= index {
                v.resize(index + 1, T::default());
            }
            v[index] = x;
        }
        match (entry, value) {
            (Values::Int(v), Scalar::Int(x)) => put(v, index, x),
            (Values::Double(v), Scalar::Double(x)) => put(v, index, x),
            (Values::Str(v), Scalar::Str(x)) => put(v, index, x.to_owned()),
            (Values::Ptr(v), Scalar::Ptr(x)) => put(v, index, x),
            _ => return status::ERR_VALUE,
        }
        status::OK
    }

    /// `propSet*N`: after setting indices `0..count`, the property has exactly `count` values.
    pub fn truncate(&self, name: &str, count: usize) {
        if let Some(v) = self.write().get_mut(name) {
            v.truncate(count);
        }
    }

    /// Reads one value through `pick`, mapping missing names and indices to OFX statuses.
    fn get_with<T>(
        &self,
        name: &str,
        index: usize,
        pick: impl Fn(&Values, usize) -> Option<T>,
    ) -> Result<T, OfxStatus> {
        if self.unknown.contains(&name) {
            return Err(status::ERR_UNKNOWN);
        }
        let map = self.read();
        let values = map.get(name).ok_or(status::ERR_UNKNOWN)?;
        if index >= values.len() {
            return Err(status::ERR_BAD_INDEX);
        }
        pick(values, index).ok_or(status::ERR_VALUE)
    }

    pub fn get_int(&self, name: &str, index: usize) -> Result<i32, OfxStatus> {
        self.get_with(name, index, |v, i| match v {
            Values::Int(v) => Some(v[i]),
            _ => None,
        })
    }

    pub fn get_double(&self, name: &str, index: usize) -> Result<f64, OfxStatus> {
        self.get_with(name, index, |v, i| match v {
            Values::Double(v) => Some(v[i]),
            _ => None,
        })
    }

    pub fn get_ptr(&self, name: &str, index: usize) -> Result<usize, OfxStatus> {
        self.get_with(name, index, |v, i| match v {
            Values::Ptr(v) => Some(v[i]),
            _ => None,
        })
    }

    /// A string value as the C pointer the plugin receives: it stays valid until the
    /// property is set again or the set is destroyed (the OFX rule for host strings).
    pub fn get_str_ptr(&self, name: &str, index: usize) -> Result<*const c_char, OfxStatus> {
        self.get_with(name, index, |v, i| match v {
            Values::Str(v) => Some(v[i].as_ptr()),
            _ => None,
        })
    }

    /// `propGetDimension`.
    pub fn dimension(&self, name: &str) -> Result<usize, OfxStatus> {
        if self.unknown.contains(&name) {
            return Err(status::ERR_UNKNOWN);
        }
        self.read().get(name).map(Values::len).ok_or(status::ERR_UNKNOWN)
    }

    /// `propReset`: back to the value the host created the property with.
    pub fn reset(&self, name: &str) -> OfxStatus {
        let mut map = self.write();
        if !map.contains_key(name) {
            return status::ERR_UNKNOWN;
        }
        match self.initial.get(name) {
            Some(v) => map.insert(name.to_string(), v.clone()),
            None => map.remove(name),
        };
        status::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_property_can_be_added_but_types_stick() {
        let set = PropertySet::new(&[]);
        assert_eq!(set.set_at("DeepMatteParamPropChoiceIds", 1, Scalar::Str(c"average")), status::OK);
        assert_eq!(set.strs("DeepMatteParamPropChoiceIds"), vec!["".to_string(), "average".to_string()]);
        assert_eq!(set.set_at("DeepMatteParamPropChoiceIds", 0, Scalar::Int(3)), status::ERR_VALUE);
        assert_eq!(set.get_int("missing", 0), Err(status::ERR_UNKNOWN));
        assert_eq!(set.get_int("DeepMatteParamPropChoiceIds", 0), Err(status::ERR_VALUE));
        assert_eq!(set.get_str_ptr("DeepMatteParamPropChoiceIds", 2), Err(status::ERR_BAD_INDEX));
        assert_eq!(set.dimension("DeepMatteParamPropChoiceIds"), Ok(2));
    }

    #[test]
    fn reset_restores_the_hosts_value_and_unknown_names_fail() {
        let mut initial = HashMap::new();
        initial.insert("a".to_string(), Values::Int(vec![1]));
        let set = PropertySet::from_values(initial, &["NotHere"], None);
        set.set_at("a", 0, Scalar::Int(5));
        set.set_at("b", 0, Scalar::Double(2.0));
        assert_eq!(set.reset("a"), status::OK);
        assert_eq!(set.get_int("a", 0), Ok(1));
        assert_eq!(set.reset("b"), status::OK);
        assert_eq!(set.dimension("b"), Err(status::ERR_UNKNOWN));
        assert_eq!(set.set_at("NotHere", 0, Scalar::Int(1)), status::ERR_UNKNOWN);
    }

    #[test]
    fn string_pointers_stay_valid_until_the_property_changes() {
        let set = PropertySet::new(&[]);
        set.set_str("name", "Source");
        let p = set.get_str_ptr("name", 0).unwrap();
        set.set_str("other", "x");
        // SAFETY: the property was not set again, so the host string is still alive.
        assert_eq!(unsafe { CStr::from_ptr(p) }, c"Source");
    }
}
