//! Clip instances: connection state and image fetching.

use crate::image::Image;
use crate::property::PropertySet;
use crate::suites::{call, suites};
use crate::Result;
use openfx_sys as sys;

/// A clip of an effect instance (an input, or the Output).
pub struct Clip {
    handle: sys::OfxImageClipHandle,
    props: PropertySet,
    name: String,
}

// SAFETY: clip handles are opaque host tokens usable from render threads.
unsafe impl Send for Clip {}
unsafe impl Sync for Clip {}

impl Clip {
    pub(crate) fn new(handle: sys::OfxImageClipHandle, props: PropertySet, name: &str) -> Self {
        Clip { handle, props, name: name.to_string() }
    }

    /// The clip's name as defined.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The clip's frame range (first, last), when the host reports it.
    pub fn frame_range(&self) -> Option<(f64, f64)> {
        let first = self.props.get_double(sys::kOfxImageEffectPropFrameRange, 0).ok()?;
        let last = self.props.get_double(sys::kOfxImageEffectPropFrameRange, 1).ok()?;
        Some((first, last))
    }

    /// The clip's region of definition at `time`, canonical coordinates (x1, y1, x2, y2).
    pub fn region_of_definition(&self, time: f64) -> Result<[f64; 4]> {
        let s = suites()?;
        let mut rect = sys::OfxRectD { x1: 0.0, y1: 0.0, x2: 0.0, y2: 0.0 };
        // SAFETY: valid clip handle, out-pointer to a local.
        let status = unsafe { call!(s.effect, clipGetRegionOfDefinition)(self.handle, time, &mut rect) };
        if status != 0 {
            return Err(crate::Error::host("clipGetRegionOfDefinition", &self.name, status));
        }
        Ok([rect.x1, rect.y1, rect.x2, rect.y2])
    }

    /// The image at `time`, or `None` when the host has none (unconnected input, Resolve's NULL
    /// images, a frame outside the clip).
    pub fn image(&self, time: f64) -> Result<Option<Image>> {
        let s = suites()?;
        let mut handle: sys::OfxPropertySetHandle = std::ptr::null_mut();
        // SAFETY: valid clip handle; NULL region asks for the whole image.
        let status = unsafe { call!(s.effect, clipGetImage)(self.handle, time, std::ptr::null(), &mut handle) };
        if status != 0 || handle.is_null() {
            return Ok(None);
        }
        Image::from_handle(handle).map(Some)
    }
}
