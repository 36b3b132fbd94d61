//! Images fetched from a clip: their layout, checked once, and safe row views over them.

use crate::describe::components_from_name;
use crate::property::PropertySet;
use crate::suites::suites;
use crate::{BitDepth, Error, Result, Status};
use imaging::{Components, ImageMut, ImageRef, Rect, RowMut, RowRef};
use openfx_sys as sys;

/// An image the host lent us; released back to the host on drop.
pub struct Image {
    props: PropertySet,
    bounds: Rect,
    depth: BitDepth,
    components: Components,
    row_bytes: isize,
    data: *mut u8,
    scale: (f64, f64),
    pixel_aspect: f64,
}

// SAFETY: the image's memory belongs to this value until it is released in Drop; OFX lets any
// render thread touch image memory it was given.
unsafe impl Send for Image {}
unsafe impl Sync for Image {}

pub(crate) fn depth_from_name(name: &str) -> Option<BitDepth> {
    match name {
        "OfxBitDepthByte" => Some(BitDepth::U8),
        "OfxBitDepthShort" => Some(BitDepth::U16),
        "OfxBitDepthFloat" => Some(BitDepth::F32),
        _ => None,
    }
}

pub(crate) fn depth_name(depth: BitDepth) -> &'static str {
    match depth {
        BitDepth::U8 => "OfxBitDepthByte",
        BitDepth::U16 => "OfxBitDepthShort",
        BitDepth::F32 => "OfxBitDepthFloat",
    }
}

/// A render scale from the host, made safe to multiply pixel sizes with: OFX scales lie in
/// (0, 1]; anything else (zero, negative, NaN, huge) is taken as full resolution.
pub(crate) fn sane_scale(scale: f64) -> f64 {
    if scale.is_finite() && scale > 0.0 {
        scale.clamp(1e-3, 1.0)
    } else {
        1.0
    }
}

/// A pixel aspect ratio from the host (width of a pixel over its height), 1 when unusable.
pub(crate) fn sane_pixel_aspect(par: f64) -> f64 {
    if par.is_finite() && par > 0.0 {
        par.clamp(0.01, 100.0)
    } else {
        1.0
    }
}

fn bytes_per_sample(depth: BitDepth) -> usize {
    match depth {
        BitDepth::U8 => 1,
        BitDepth::U16 => 2,
        BitDepth::F32 => 4,
    }
}

impl Image {
    /// Reads and checks an image's layout. On error the image is released by the caller's drop.
    pub(crate) fn from_handle(handle: sys::OfxPropertySetHandle) -> Result<Image> {
        let props = PropertySet(handle);
        let mut image = Image {
            props,
            bounds: Rect::default(),
            depth: BitDepth::U8,
            components: Components::Rgba,
            row_bytes: 0,
            data: std::ptr::null_mut(),
            scale: (1.0, 1.0),
            pixel_aspect: 1.0,
        };
        let [x1, y1, x2, y2] = props.get_rect_i(sys::kOfxImagePropBounds)?;
        image.bounds = Rect { x1, y1, x2, y2 };
        let depth = props.get_string(sys::kOfxImageEffectPropPixelDepth, 0)?;
        image.depth = depth_from_name(&depth)
            .ok_or_else(|| Error::new(Status::ERR_IMAGE_FORMAT, format!("unsupported pixel depth {depth}")))?;
        let comps = props.get_string(sys::kOfxImageEffectPropComponents, 0)?;
        image.components = components_from_name(&comps)
            .ok_or_else(|| Error::new(Status::ERR_IMAGE_FORMAT, format!("unsupported components {comps}")))?;
        image.row_bytes = props.get_int(sys::kOfxImagePropRowBytes, 0)? as isize;
        image.data = props.get_pointer(sys::kOfxImagePropData, 0)? as *mut u8;
        image.scale = (
            sane_scale(props.get_double(sys::kOfxImageEffectPropRenderScale, 0).unwrap_or(1.0)),
            sane_scale(props.get_double(sys::kOfxImageEffectPropRenderScale, 1).unwrap_or(1.0)),
        );
        image.pixel_aspect = sane_pixel_aspect(props.get_double(sys::kOfxImagePropPixelAspectRatio, 0).unwrap_or(1.0));
        image.check_layout()?;
        Ok(image)
    }

    fn check_layout(&self) -> Result<()> {
        let bps = bytes_per_sample(self.depth);
        let min_row = self.bounds.width() * self.components.count() * bps;
        let bad = |why: &str| Err(Error::new(Status::ERR_IMAGE_FORMAT, format!("host image layout: {why}")));
        if self.bounds.is_empty() {
            return Ok(());
        }
        if self.data.is_null() {
            return bad("no pixel data");
        }
        if self.row_bytes.unsigned_abs() < min_row {
            return bad(&format!("row bytes {} below {min_row}", self.row_bytes));
        }
        if !(self.data as usize).is_multiple_of(bps) || !self.row_bytes.unsigned_abs().is_multiple_of(bps) {
            return bad("pixel data not aligned to its sample size");
        }
        Ok(())
    }

    /// The pixels this image holds (may start anywhere and be smaller than the frame).
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    pub fn depth(&self) -> BitDepth {
        self.depth
    }

    pub fn components(&self) -> Components {
        self.components
    }

    /// The render scale the image was made at (read from the image: Fusion may differ from args).
    pub fn render_scale(&self) -> (f64, f64) {
        self.scale
    }

    /// The image's pixel aspect ratio (1 for square pixels; 2 for anamorphic 2:1).
    pub fn pixel_aspect(&self) -> f64 {
        self.pixel_aspect
    }

    /// Start address and length in bytes of scan line `i` (0 = `bounds.y1`).
    fn row_span(&self, i: usize) -> (*mut u8, usize) {
        let len = self.bounds.width() * self.components.count() * bytes_per_sample(self.depth);
        // SAFETY: i < height and the layout check guarantees every row lies in host memory
        // starting `i * row_bytes` (possibly negative) from the data pointer.
        let start = unsafe { self.data.offset(i as isize * self.row_bytes) };
        (start, len)
    }

    /// The image as the CUDA kernels take it, during a CUDA render (its data is device memory):
    /// packed RGBA float only, the format CUDA hosts deliver; anything else fails the render with
    /// `kOfxStatGPURenderFailed`, so the host renders it on the CPU instead.
    pub fn device_image(&self) -> Result<gpu::ops::DeviceImage> {
        if self.depth != BitDepth::F32 || self.components != Components::Rgba {
            return Err(Error::new(Status::GPU_RENDER_FAILED, "CUDA render takes RGBA float images only"));
        }
        let image = gpu::ops::DeviceImage { data: self.data as u64, row_bytes: self.row_bytes as i64, bounds: self.bounds };
        image.check().map_err(crate::gpu_error)?;
        Ok(image)
    }

    /// A read-only view of the pixels, rows from `bounds.y1` up, whatever order the host stores.
    pub fn view(&self) -> ImageRef<'_> {
        assert!(!crate::cuda::device_images(), "CPU view of a device image during a CUDA render");
        let h = self.bounds.height();
        let rows = (0..h)
            .map(|i| {
                let (p, len) = self.row_span(i);
                // SAFETY: row_span gives an in-bounds, aligned span that lives as long as self.
                unsafe {
                    match self.depth {
                        BitDepth::U8 => RowRef::U8(std::slice::from_raw_parts(p, len)),
                        BitDepth::U16 => RowRef::U16(std::slice::from_raw_parts(p as *const u16, len / 2)),
                        BitDepth::F32 => RowRef::F32(std::slice::from_raw_parts(p as *const f32, len / 4)),
                    }
                }
            })
            .collect();
        ImageRef::new(self.bounds, self.components, rows)
    }

    /// A writable view of the pixels (for the Output clip's image).
    pub fn view_mut(&mut self) -> ImageMut<'_> {
        assert!(!crate::cuda::device_images(), "CPU view of a device image during a CUDA render");
        let h = self.bounds.height();
        let rows = (0..h)
            .map(|i| {
                let (p, len) = self.row_span(i);
                // SAFETY: as in view; rows never overlap because |row_bytes| >= row length, and
                // &mut self makes these the only references for their lifetime.
                unsafe {
                    match self.depth {
                        BitDepth::U8 => RowMut::U8(std::slice::from_raw_parts_mut(p, len)),
                        BitDepth::U16 => RowMut::U16(std::slice::from_raw_parts_mut(p as *mut u16, len / 2)),
                        BitDepth::F32 => RowMut::F32(std::slice::from_raw_parts_mut(p as *mut f32, len / 4)),
                    }
                }
            })
            .collect();
        ImageMut::new(self.bounds, self.components, rows)
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if let Ok(s) = suites() {
            if let Some(release) = s.effect.clipReleaseImage {
                // SAFETY: the handle came from clipGetImage and is released exactly once.
                unsafe { release(self.props.0) };
            }
        }
    }
}
