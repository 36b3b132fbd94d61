//! Typed access to OFX property sets.
//!
//! Property names are the NUL-terminated byte strings bindgen generates (`sys::kOfxPropLabel`),
//! so no name is ever copied to build a C string.

use crate::suites::{call, suites};
use crate::{Error, Result};
use openfx_sys as sys;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};

/// A property set handle (effect, clip, image, parameter or action arguments).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PropertySet(pub(crate) sys::OfxPropertySetHandle);

// SAFETY: property handles are opaque host tokens that OFX lets plugins use from render threads.
unsafe impl Send for PropertySet {}
unsafe impl Sync for PropertySet {}

fn key(name: &[u8]) -> *const c_char {
    debug_assert_eq!(name.last(), Some(&0), "property names are NUL-terminated");
    name.as_ptr() as *const c_char
}

fn label(name: &[u8]) -> &str {
    std::str::from_utf8(&name[..name.len().saturating_sub(1)]).unwrap_or("?")
}

fn c_string(value: &str) -> CString {
    CString::new(value.replace('\0', " ")).expect("NULs replaced")
}

macro_rules! check {
    ($call:literal, $name:expr, $status:expr) => {{
        let status = $status;
        if status != 0 {
            return Err(Error::host($call, label($name), status));
        }
    }};
}

impl PropertySet {
    pub fn get_int(&self, name: &[u8], index: i32) -> Result<i32> {
        let s = suites()?;
        let mut v = 0;
        // SAFETY: valid handle from the host, NUL-terminated name, out-pointer to a local.
        check!("propGetInt", name, unsafe { call!(s.prop, propGetInt)(self.0, key(name), index, &mut v) });
        Ok(v)
    }

    pub fn get_double(&self, name: &[u8], index: i32) -> Result<f64> {
        let s = suites()?;
        let mut v = 0.0;
        // SAFETY: as in get_int.
        check!("propGetDouble", name, unsafe {
            call!(s.prop, propGetDouble)(self.0, key(name), index, &mut v)
        });
        Ok(v)
    }

    pub fn get_string(&self, name: &[u8], index: i32) -> Result<String> {
        let s = suites()?;
        let mut v: *mut c_char = std::ptr::null_mut();
        // SAFETY: as in get_int; the host keeps the returned string alive while we copy it.
        check!("propGetString", name, unsafe {
            call!(s.prop, propGetString)(self.0, key(name), index, &mut v)
        });
        if v.is_null() {
            return Ok(String::new());
        }
        // SAFETY: the host returns a NUL-terminated string.
        Ok(unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned())
    }

    pub fn get_pointer(&self, name: &[u8], index: i32) -> Result<*mut c_void> {
        let s = suites()?;
        let mut v: *mut c_void = std::ptr::null_mut();
        // SAFETY: as in get_int.
        check!("propGetPointer", name, unsafe {
            call!(s.prop, propGetPointer)(self.0, key(name), index, &mut v)
        });
        Ok(v)
    }

    /// A rectangle stored as four ints (x1, y1, x2, y2).
    pub fn get_rect_i(&self, name: &[u8]) -> Result<[i32; 4]> {
        Ok([
            self.get_int(name, 0)?,
            self.get_int(name, 1)?,
            self.get_int(name, 2)?,
            self.get_int(name, 3)?,
        ])
    }

    pub fn set_int(&self, name: &[u8], index: i32, v: i32) -> Result<()> {
        let s = suites()?;
        // SAFETY: valid handle, NUL-terminated name.
        check!("propSetInt", name, unsafe { call!(s.prop, propSetInt)(self.0, key(name), index, v) });
        Ok(())
    }

    pub fn set_double(&self, name: &[u8], index: i32, v: f64) -> Result<()> {
        let s = suites()?;
        // SAFETY: as in set_int.
        check!("propSetDouble", name, unsafe {
            call!(s.prop, propSetDouble)(self.0, key(name), index, v)
        });
        Ok(())
    }

    pub fn set_string(&self, name: &[u8], index: i32, v: &str) -> Result<()> {
        let s = suites()?;
        let v = c_string(v);
        // SAFETY: as in set_int; the host copies the string before returning.
        check!("propSetString", name, unsafe {
            call!(s.prop, propSetString)(self.0, key(name), index, v.as_ptr())
        });
        Ok(())
    }

    pub fn set_pointer(&self, name: &[u8], index: i32, v: *mut c_void) -> Result<()> {
        let s = suites()?;
        // SAFETY: as in set_int.
        check!("propSetPointer", name, unsafe {
            call!(s.prop, propSetPointer)(self.0, key(name), index, v)
        });
        Ok(())
    }

    /// Sets every value of a multi-valued string property, index by index.
    pub fn set_strings(&self, name: &[u8], values: &[&str]) -> Result<()> {
        values.iter().enumerate().try_for_each(|(i, v)| self.set_string(name, i as i32, v))
    }

    pub fn set_doubles(&self, name: &[u8], values: &[f64]) -> Result<()> {
        values.iter().enumerate().try_for_each(|(i, v)| self.set_double(name, i as i32, *v))
    }

    pub fn set_ints(&self, name: &[u8], values: &[i32]) -> Result<()> {
        values.iter().enumerate().try_for_each(|(i, v)| self.set_int(name, i as i32, *v))
    }
}
