//! Images fetched from a clip: their layout, checked once, and safe row views over them.

use crate::describe::components_from_name;
use crate::property::PropertySet;
use crate::suites::suites;
use crate::{BitDepth, Error, Result, Status};
use imaging::{Components, ImageMut, ImageRef, Rect, RowMut, RowRef};
use openfx_sys as sys;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

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
    /// This image's share of [`HELD_HASHES`], once its content hash was asked for.
    hash: std::sync::OnceLock<(Layout, Arc<std::sync::OnceLock<u128>>)>,
}

/// Where and how an image's pixels lie: two live images with the same layout are the same memory.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Layout {
    data: usize,
    row_bytes: isize,
    bounds: (i32, i32, i32, i32),
    depth: u8,
    components: u8,
}

/// Content hashes of the images renders hold right now, by layout, with how many of those images
/// asked: the tiles of one frame, rendered on a host's threads at once, each fetch the source over
/// the same memory and hash it once between them instead of once each.
///
/// Why a hash found here is never stale: an entry lives only while at least one image that joined
/// it is still held (the last one removes it before giving its image back), and a host never
/// changes the pixels of an image a render holds — OFX lends an input to be read until it is
/// released, and a host that wrote into one under a running render would tear that render's own
/// pixels with or without a cache. So from the moment a hash was made until the entry goes, the
/// memory it was made from is continuously lent and unchanged; a host that reuses the memory for
/// another frame can only do so after every holder released it, when the entry is gone and the
/// next render hashes afresh. Renders that do not overlap in time share nothing.
static HELD_HASHES: LazyLock<Mutex<HashMap<Layout, (usize, Arc<std::sync::OnceLock<u128>>)>>> = LazyLock::new(Default::default);

fn held_hashes() -> std::sync::MutexGuard<'static, HashMap<Layout, (usize, Arc<std::sync::OnceLock<u128>>)>> {
    HELD_HASHES.lock().unwrap_or_else(|p| p.into_inner())
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
            hash: std::sync::OnceLock::new(),
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

    /// A 128-bit hash of the pixels, their layout and depth ([`ImageRef::content_hash`]): what
    /// the caches of finished frames, raw depth and saliency are keyed by. Images the host lends
    /// at the same time over the same memory (the tiles of one frame) make it once between them;
    /// see [`HELD_HASHES`] for why that is never a stale hash.
    pub fn content_hash(&self) -> u128 {
        let (_, shared) = self.hash.get_or_init(|| {
            let layout = Layout {
                data: self.data as usize,
                row_bytes: self.row_bytes,
                bounds: (self.bounds.x1, self.bounds.y1, self.bounds.x2, self.bounds.y2),
                depth: bytes_per_sample(self.depth) as u8,
                components: self.components.count() as u8,
            };
            let mut held = held_hashes();
            let entry = held.entry(layout).or_insert_with(|| (0, Arc::new(std::sync::OnceLock::new())));
            entry.0 += 1;
            (layout, entry.1.clone())
        });
        *shared.get_or_init(|| self.view().content_hash())
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
        // Leave the shared hash before the memory goes back: once released it may hold another frame.
        if let Some((layout, _)) = self.hash.get() {
            let mut held = held_hashes();
            if let Some(entry) = held.get_mut(layout) {
                entry.0 -= 1;
                if entry.0 == 0 {
                    held.remove(layout);
                }
            }
        }
        if let Ok(s) = suites() {
            if let Some(release) = s.effect.clipReleaseImage {
                // SAFETY: the handle came from clipGetImage and is released exactly once.
                unsafe { release(self.props.0) };
            }
        }
    }
}
