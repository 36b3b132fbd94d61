//! Describe-in-context: the clips and controls an effect offers in one context.

use crate::param::ParamDef;
use crate::property::PropertySet;
use crate::suites::{call, suites};
use crate::{Error, Result};
use imaging::Components;
use openfx_sys as sys;
use std::ffi::CString;

/// An input or output clip definition.
#[derive(Clone, Debug)]
pub struct ClipDef {
    name: &'static str,
    label: Option<&'static str>,
    components: &'static [Components],
    optional: bool,
    is_mask: bool,
    temporal_access: bool,
}

impl ClipDef {
    /// A clip accepting the given components.
    pub fn new(name: &'static str, components: &'static [Components]) -> Self {
        ClipDef { name, label: None, components, optional: false, is_mask: false, temporal_access: false }
    }

    /// The label hosts show on the node's input arrow.
    pub fn label(mut self, label: &'static str) -> Self {
        self.label = Some(label);
        self
    }

    /// The input may stay unconnected (Resolve still reports it connected; see HOSTS.md).
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// A matte input (hosts may draw it differently).
    pub fn mask(mut self) -> Self {
        self.is_mask = true;
        self
    }

    /// The effect fetches frames other than the one being rendered from this clip.
    pub fn temporal(mut self) -> Self {
        self.temporal_access = true;
        self
    }
}

/// Collects an effect's definitions for one context.
pub struct Describe {
    effect: sys::OfxImageEffectHandle,
}

impl Describe {
    pub(crate) fn new(effect: sys::OfxImageEffectHandle) -> Self {
        Describe { effect }
    }

    /// Defines a clip.
    pub fn clip(&mut self, def: ClipDef) -> Result<()> {
        let s = suites()?;
        let name = CString::new(def.name).map_err(|_| Error::failed("NUL in a clip name"))?;
        let mut props: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: descriptor handle from the describe action, NUL-terminated name.
        let status = unsafe { call!(s.effect, clipDefine)(self.effect, name.as_ptr(), &mut props) };
        if status != 0 || props.is_null() {
            return Err(Error::host("clipDefine", def.name, status));
        }
        let p = PropertySet(props);
        let comps: Vec<&str> = def.components.iter().map(|c| components_name(*c)).collect();
        p.set_strings(sys::kOfxImageEffectPropSupportedComponents, &comps)?;
        if let Some(label) = def.label {
            p.set_string(sys::kOfxPropLabel, 0, label)?;
        }
        p.set_int(sys::kOfxImageClipPropOptional, 0, def.optional as i32)?;
        p.set_int(sys::kOfxImageClipPropIsMask, 0, def.is_mask as i32)?;
        p.set_int(sys::kOfxImageEffectPropTemporalClipAccess, 0, def.temporal_access as i32)?;
        // We render any tile a host asks for from whole input images.
        p.set_int(sys::kOfxImageEffectPropSupportsTiles, 0, 1)?;
        Ok(())
    }

    /// Defines a control.
    pub fn param(&mut self, def: ParamDef) -> Result<()> {
        let s = suites()?;
        let mut set: sys::OfxParamSetHandle = std::ptr::null_mut();
        // SAFETY: descriptor handle, out-pointer to a local.
        let status = unsafe { call!(s.effect, getParamSet)(self.effect, &mut set) };
        if status != 0 || set.is_null() {
            return Err(Error::host("getParamSet", def.name(), status));
        }
        def.define(set)
    }
}

/// The OFX name of a component layout.
pub(crate) fn components_name(c: Components) -> &'static str {
    match c {
        Components::Rgba => "OfxImageComponentRGBA",
        Components::Rgb => "OfxImageComponentRGB",
        Components::Alpha => "OfxImageComponentAlpha",
    }
}

/// The component layout of an OFX name (None for layouts we do not render, e.g. YUVA).
pub(crate) fn components_from_name(name: &str) -> Option<Components> {
    match name {
        "OfxImageComponentRGBA" => Some(Components::Rgba),
        "OfxImageComponentRGB" => Some(Components::Rgb),
        "OfxImageComponentAlpha" => Some(Components::Alpha),
        _ => None,
    }
}
