//! Images as an OFX host holds them: pixel bounds that need not start at 0, any of the
//! three bit depths and three component layouts, and row bytes that may be negative
//! (the data pointer always addresses pixel `(x1, y1)`; row `y` starts at
//! `data + (y - y1) * row_bytes`). Tests build inputs with these and read outputs back.

use crate::{ofx_str, HostError};
use openfx_sys as sys;

/// Bits per channel, as `kOfxBitDepthByte` / `Short` / `Float`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BitDepth {
    /// 8-bit unsigned, 0..255 maps to 0..1.
    U8,
    /// 16-bit unsigned, 0..65535 maps to 0..1.
    U16,
    /// 32-bit float, unclamped.
    F32,
}

impl BitDepth {
    /// Bytes per channel sample.
    pub fn bytes(self) -> usize {
        match self {
            BitDepth::U8 => 1,
            BitDepth::U16 => 2,
            BitDepth::F32 => 4,
        }
    }

    /// The `kOfxBitDepth*` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            BitDepth::U8 => ofx_str(sys::kOfxBitDepthByte),
            BitDepth::U16 => ofx_str(sys::kOfxBitDepthShort),
            BitDepth::F32 => ofx_str(sys::kOfxBitDepthFloat),
        }
    }

    /// Parses a `kOfxBitDepth*` string (`None` for Half, None or unknown depths).
    pub fn from_ofx_name(name: &str) -> Option<BitDepth> {
        [BitDepth::U8, BitDepth::U16, BitDepth::F32].into_iter().find(|d| d.ofx_name() == name)
    }

    fn max_int(self) -> f32 {
        match self {
            BitDepth::U8 => 255.0,
            BitDepth::U16 => 65535.0,
            BitDepth::F32 => 1.0,
        }
    }
}

/// Channel layout, as `kOfxImageComponentRGBA` / `RGB` / `Alpha`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Components {
    /// Red, green, blue, alpha (channels 0..4).
    Rgba,
    /// Red, green, blue (channels 0..3).
    Rgb,
    /// A single alpha channel (channel 0).
    Alpha,
}

impl Components {
    /// Channels per pixel.
    pub fn count(self) -> usize {
        match self {
            Components::Rgba => 4,
            Components::Rgb => 3,
            Components::Alpha => 1,
        }
    }

    /// The `kOfxImageComponent*` string.
    pub fn ofx_name(self) -> &'static str {
        match self {
            Components::Rgba => ofx_str(sys::kOfxImageComponentRGBA),
            Components::Rgb => ofx_str(sys::kOfxImageComponentRGB),
            Components::Alpha => ofx_str(sys::kOfxImageComponentAlpha),
        }
    }

    /// Parses a `kOfxImageComponent*` string.
    pub fn from_ofx_name(name: &str) -> Option<Components> {
        [Components::Rgba, Components::Rgb, Components::Alpha].into_iter().find(|c| c.ofx_name() == name)
    }
}

/// A rectangle in OFX pixel coordinates (y up, x2/y2 exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge (inclusive).
    pub x1: i32,
    /// Bottom edge (inclusive).
    pub y1: i32,
    /// Right edge (exclusive).
    pub x2: i32,
    /// Top edge (exclusive).
    pub y2: i32,
}

impl Rect {
    /// A rectangle from its edges.
    pub fn new(x1: i32, y1: i32, x2: i32, y2: i32) -> Rect {
        Rect { x1, y1, x2, y2 }
    }

    /// `(0, 0, width, height)`: the usual full frame.
    pub fn from_size(width: usize, height: usize) -> Rect {
        Rect::new(0, 0, width as i32, height as i32)
    }

    /// Width in pixels (0 when empty).
    pub fn width(&self) -> usize {
        (self.x2 - self.x1).max(0) as usize
    }

    /// Height in pixels (0 when empty).
    pub fn height(&self) -> usize {
        (self.y2 - self.y1).max(0) as usize
    }

    /// True when the rectangle covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.x2 <= self.x1 || self.y2 <= self.y1
    }

    /// True when pixel `(x, y)` lies inside.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x1 && x < self.x2 && y >= self.y1 && y < self.y2
    }

    /// The overlap of two rectangles (may be empty).
    pub fn intersect(&self, other: &Rect) -> Rect {
        Rect::new(self.x1.max(other.x1), self.y1.max(other.y1), self.x2.min(other.x2), self.y2.min(other.y2))
    }

    /// The smallest rectangle holding both (an empty side is ignored).
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        Rect::new(self.x1.min(other.x1), self.y1.min(other.y1), self.x2.max(other.x2), self.y2.max(other.y2))
    }

    /// The rectangle moved by `(dx, dy)`.
    pub fn offset(&self, dx: i32, dy: i32) -> Rect {
        Rect::new(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)
    }

    /// Canonical → pixel coordinates at a render scale, rounded outwards as hosts do.
    pub fn scaled(&self, sx: f64, sy: f64) -> Rect {
        Rect::new(
            (self.x1 as f64 * sx).floor() as i32,
            (self.y1 as f64 * sy).floor() as i32,
            (self.x2 as f64 * sx).ceil() as i32,
            (self.y2 as f64 * sy).ceil() as i32,
        )
    }
}

/// An image that owns its pixels; see the module doc for the memory layout.
#[derive(Clone)]
pub struct Image {
    bounds: Rect,
    depth: BitDepth,
    components: Components,
    row_bytes: isize,
    /// Byte offset of pixel `(x1, y1)` in `data` (non-zero when row bytes are negative).
    origin: usize,
    /// u64 words so that float samples are always aligned.
    data: Vec<u64>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("bounds", &self.bounds)
            .field("depth", &self.depth)
            .field("components", &self.components)
            .field("row_bytes", &self.row_bytes)
            .finish_non_exhaustive()
    }
}

impl Image {
    /// A zeroed image with positive (bottom row first) row bytes.
    pub fn new(bounds: Rect, depth: BitDepth, components: Components) -> Image {
        let row = bounds.width() * depth.bytes() * components.count();
        let words = (row * bounds.height()).div_ceil(8);
        Image { bounds, depth, components, row_bytes: row as isize, origin: 0, data: vec![0; words] }
    }

    /// An image whose samples come from `f(x, y, channel)` in normalised 0..1 units
    /// (clamped and rounded for integer depths).
    pub fn from_fn(bounds: Rect, depth: BitDepth, components: Components, f: impl Fn(i32, i32, usize) -> f32) -> Image {
        let mut image = Image::new(bounds, depth, components);
        for y in bounds.y1..bounds.y2 {
            for x in bounds.x1..bounds.x2 {
                for c in 0..components.count() {
                    image.set(x, y, c, f(x, y, c));
                }
            }
        }
        image
    }

    /// Pixel bounds.
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.bounds.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.bounds.height()
    }

    /// Bits per channel.
    pub fn depth(&self) -> BitDepth {
        self.depth
    }

    /// Channel layout.
    pub fn components(&self) -> Components {
        self.components
    }

    /// Bytes from one row to the next (negative when rows go downwards in memory).
    pub fn row_bytes(&self) -> isize {
        self.row_bytes
    }

    /// Bytes per pixel.
    pub fn pixel_bytes(&self) -> usize {
        self.depth.bytes() * self.components.count()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.data)
    }

    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(&mut self.data)
    }

    /// Byte offset of a sample; panics outside the bounds, like slice indexing.
    fn offset(&self, x: i32, y: i32, channel: usize) -> usize {
        assert!(
            self.bounds.contains(x, y) && channel < self.components.count(),
            "pixel ({x}, {y}) channel {channel} is outside image {:?} {:?}",
            self.bounds,
            self.components
        );
        let row = self.origin as isize + (y - self.bounds.y1) as isize * self.row_bytes;
        row as usize + (x - self.bounds.x1) as usize * self.pixel_bytes() + channel * self.depth.bytes()
    }

    /// The samples of row `y` as bytes (native-endian samples, `width × pixel_bytes` of them).
    pub(crate) fn row(&self, y: i32) -> &[u8] {
        let start = self.offset(self.bounds.x1, y, 0);
        let len = self.width() * self.pixel_bytes();
        &self.bytes()[start..start + len]
    }

    /// Row `y` as mutable bytes (see [`Image::row`]).
    pub(crate) fn row_mut(&mut self, y: i32) -> &mut [u8] {
        let start = self.offset(self.bounds.x1, y, 0);
        let len = self.width() * self.pixel_bytes();
        &mut self.bytes_mut()[start..start + len]
    }

    /// Raw integer sample: the u8/u16 value, or the f32 bit pattern. For bit-exact tests.
    pub fn raw(&self, x: i32, y: i32, channel: usize) -> u32 {
        let at = self.offset(x, y, channel);
        let b = self.bytes();
        match self.depth {
            BitDepth::U8 => b[at] as u32,
            BitDepth::U16 => u16::from_ne_bytes([b[at], b[at + 1]]) as u32,
            BitDepth::F32 => u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]),
        }
    }

    /// Writes a raw integer sample (see [`Image::raw`]).
    pub fn set_raw(&mut self, x: i32, y: i32, channel: usize, value: u32) {
        let at = self.offset(x, y, channel);
        let depth = self.depth;
        let b = self.bytes_mut();
        match depth {
            BitDepth::U8 => b[at] = value as u8,
            BitDepth::U16 => b[at..at + 2].copy_from_slice(&(value as u16).to_ne_bytes()),
            BitDepth::F32 => b[at..at + 4].copy_from_slice(&value.to_ne_bytes()),
        }
    }

    /// A sample in normalised units: 0..1 for integer depths, the raw value for float.
    pub fn get(&self, x: i32, y: i32, channel: usize) -> f32 {
        let raw = self.raw(x, y, channel);
        match self.depth {
            BitDepth::F32 => f32::from_bits(raw),
            d => raw as f32 / d.max_int(),
        }
    }

    /// Writes a sample in normalised units (clamped and rounded for integer depths).
    pub fn set(&mut self, x: i32, y: i32, channel: usize, v: f32) {
        let raw = match self.depth {
            BitDepth::F32 => v.to_bits(),
            d => (v.clamp(0.0, 1.0) * d.max_int()).round() as u32,
        };
        self.set_raw(x, y, channel, raw);
    }

    /// Pixel `(x, y)` as normalised RGBA: RGB gets alpha 1; an alpha-only pixel `a`
    /// reads as premultiplied white `(a, a, a, a)`, the way a grey matte looks.
    pub fn rgba(&self, x: i32, y: i32) -> [f32; 4] {
        match self.components {
            Components::Rgba => std::array::from_fn(|c| self.get(x, y, c)),
            Components::Rgb => [self.get(x, y, 0), self.get(x, y, 1), self.get(x, y, 2), 1.0],
            Components::Alpha => [self.get(x, y, 0); 4],
        }
    }

    /// The same pixels at another depth and layout. RGB(A) → Alpha keeps alpha
    /// (Rec.709 luminance for RGB); see [`Image::rgba`] for the other direction.
    pub fn converted(&self, depth: BitDepth, components: Components) -> Image {
        if depth == self.depth && components == self.components {
            return self.with_positive_row_bytes();
        }
        let mut out = Image::new(self.bounds, depth, components);
        let (from, to) = (self.components.count(), components.count());
        let (mut row, mut mapped) = (Vec::new(), Vec::new());
        for y in self.bounds.y1..self.bounds.y2 {
            self.decode_row(y, &mut row);
            mapped.clear();
            for px in row.chunks_exact(from) {
                let p = match self.components {
                    Components::Rgba => [px[0], px[1], px[2], px[3]],
                    Components::Rgb => [px[0], px[1], px[2], 1.0],
                    Components::Alpha => [px[0]; 4],
                };
                match components {
                    Components::Alpha if self.components == Components::Rgb => {
                        mapped.push(0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2])
                    }
                    Components::Alpha => mapped.push(p[3]),
                    _ => mapped.extend_from_slice(&p[..to]),
                }
            }
            out.encode_row(y, &mapped);
        }
        out
    }

    /// Byte range of row `y`'s samples in the buffer.
    fn row_span(&self, y: i32) -> std::ops::Range<usize> {
        let start = self.offset(self.bounds.x1, y, 0);
        start..start + self.width() * self.pixel_bytes()
    }

    /// Row `y`'s samples in normalised units (see [`Image::get`]), in channel order.
    fn decode_row(&self, y: i32, out: &mut Vec<f32>) {
        out.clear();
        if self.width() == 0 {
            return;
        }
        let b = &self.bytes()[self.row_span(y)];
        match self.depth {
            BitDepth::U8 => out.extend(b.iter().map(|v| *v as f32 / 255.0)),
            BitDepth::U16 => out.extend(b.chunks_exact(2).map(|c| u16::from_ne_bytes([c[0], c[1]]) as f32 / 65535.0)),
            BitDepth::F32 => out.extend(b.chunks_exact(4).map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))),
        }
    }

    /// Writes row `y` from normalised samples (clamped and rounded for integer depths).
    fn encode_row(&mut self, y: i32, samples: &[f32]) {
        if self.width() == 0 {
            return;
        }
        let span = self.row_span(y);
        let depth = self.depth;
        let b = &mut self.bytes_mut()[span];
        let quantise = |v: f32, max: f32| (v.clamp(0.0, 1.0) * max).round();
        match depth {
            BitDepth::U8 => b.iter_mut().zip(samples).for_each(|(d, v)| *d = quantise(*v, 255.0) as u8),
            BitDepth::U16 => b
                .chunks_exact_mut(2)
                .zip(samples)
                .for_each(|(d, v)| d.copy_from_slice(&(quantise(*v, 65535.0) as u16).to_ne_bytes())),
            BitDepth::F32 => b.chunks_exact_mut(4).zip(samples).for_each(|(d, v)| d.copy_from_slice(&v.to_ne_bytes())),
        }
    }

    /// The same pixels with the bounds moved by `(dx, dy)`, to test hosts whose images
    /// do not start at (0, 0).
    pub fn with_bounds_offset(&self, dx: i32, dy: i32) -> Image {
        let mut image = self.clone();
        image.move_bounds(dx, dy);
        image
    }

    /// Moves the bounds in place (the pixels stay).
    pub(crate) fn move_bounds(&mut self, dx: i32, dy: i32) {
        self.bounds = self.bounds.offset(dx, dy);
    }

    /// The same pixels stored top row first, i.e. with negative row bytes (MLT's layout).
    pub fn bottom_up(&self) -> Image {
        self.relaid(true)
    }

    /// The same pixels with positive row bytes (bottom row first, the OFX default).
    pub fn with_positive_row_bytes(&self) -> Image {
        self.relaid(false)
    }

    fn relaid(&self, negative: bool) -> Image {
        let mut out = Image::new(self.bounds, self.depth, self.components);
        if negative && self.height() > 0 {
            out.origin = (self.height() - 1) * out.row_bytes as usize;
            out.row_bytes = -out.row_bytes;
        }
        out.copy_from(self);
        out
    }

    /// Copies the overlap of `src` (same depth and layout) into this image.
    pub fn copy_from(&mut self, src: &Image) {
        assert_eq!((self.depth, self.components), (src.depth, src.components), "copy_from needs the same format");
        let area = self.bounds.intersect(&src.bounds);
        if area.is_empty() {
            return;
        }
        let n = area.width() * self.pixel_bytes();
        for y in area.y1..area.y2 {
            let s = src.offset(area.x1, y, 0);
            let d = self.offset(area.x1, y, 0);
            self.bytes_mut()[d..d + n].copy_from_slice(&src.bytes()[s..s + n]);
        }
    }

    /// The part of the image inside `area` (intersected with the bounds).
    pub fn cropped(&self, area: Rect) -> Image {
        let mut out = Image::new(self.bounds.intersect(&area), self.depth, self.components);
        out.copy_from(self);
        out
    }

    /// Nearest-neighbour resampling to a render scale: pixel bounds scale with the image.
    pub fn scaled(&self, sx: f64, sy: f64) -> Image {
        if sx == 1.0 && sy == 1.0 {
            return self.clone();
        }
        let bounds = self.bounds.scaled(sx, sy);
        let mut out = Image::new(bounds, self.depth, self.components);
        let n = self.pixel_bytes();
        for y in bounds.y1..bounds.y2 {
            let sy_px = (((y as f64 + 0.5) / sy).floor() as i32).clamp(self.bounds.y1, self.bounds.y2 - 1);
            for x in bounds.x1..bounds.x2 {
                let sx_px = (((x as f64 + 0.5) / sx).floor() as i32).clamp(self.bounds.x1, self.bounds.x2 - 1);
                let s = self.offset(sx_px, sy_px, 0);
                let d = out.offset(x, y, 0);
                out.bytes_mut()[d..d + n].copy_from_slice(&self.bytes()[s..s + n]);
            }
        }
        out
    }

    /// Address of pixel `(x1, y1)`: what `kOfxImagePropData` holds. The host keeps the
    /// image alive (and unmoved) while the plugin holds the handle.
    pub(crate) fn data_ptr(&mut self) -> *mut u8 {
        let origin = self.origin;
        if self.data.is_empty() {
            return std::ptr::null_mut();
        }
        self.bytes_mut()[origin..].as_mut_ptr()
    }

    /// Loads a PNG (8/16-bit grey, grey+alpha, RGB, RGBA) or an OpenEXR file (f32);
    /// file row 0 is the top row (y = height - 1).
    pub fn load(path: &std::path::Path) -> Result<Image, HostError> {
        crate::io::load(path)
    }

    /// Saves by extension: `.png` is 8-bit for U8 images and 16-bit otherwise, `.exr` is
    /// f32; Alpha images are written as greyscale.
    pub fn save(&self, path: &std::path::Path) -> Result<(), HostError> {
        let bits = if self.depth == BitDepth::U8 { 8 } else { 16 };
        crate::io::save(self, path, bits)
    }

    /// Like [`Image::save`] with an explicit PNG bit depth (8 or 16).
    pub fn save_as(&self, path: &std::path::Path, png_bits: u8) -> Result<(), HostError> {
        crate::io::save(self, path, png_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(depth: BitDepth, components: Components) -> Image {
        Image::from_fn(Rect::new(-2, 3, 5, 7), depth, components, |x, y, c| {
            ((x + 2) as f32 * 0.1 + (y - 3) as f32 * 0.2 + c as f32 * 0.05).min(1.0)
        })
    }

    #[test]
    fn quantises_integer_depths_and_keeps_floats_raw() {
        let mut img = Image::new(Rect::from_size(2, 1), BitDepth::U8, Components::Alpha);
        img.set(0, 0, 0, 0.5);
        img.set(1, 0, 0, 7.0);
        assert_eq!(img.raw(0, 0, 0), 128);
        assert_eq!(img.raw(1, 0, 0), 255);
        let mut f = Image::new(Rect::from_size(1, 1), BitDepth::F32, Components::Rgba);
        f.set(0, 0, 2, -3.25);
        assert_eq!(f.get(0, 0, 2), -3.25);
        let mut s = Image::new(Rect::from_size(1, 1), BitDepth::U16, Components::Rgb);
        s.set(0, 0, 1, 1.0);
        assert_eq!(s.raw(0, 0, 1), 65535);
    }

    #[test]
    fn negative_row_bytes_store_the_top_row_first() {
        let img = ramp(BitDepth::U16, Components::Rgba);
        let flipped = img.bottom_up();
        assert_eq!(flipped.row_bytes(), -img.row_bytes());
        let b = img.bounds();
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                for c in 0..4 {
                    assert_eq!(flipped.raw(x, y, c), img.raw(x, y, c));
                }
            }
        }
        // The first bytes in memory are the top row.
        let first = u16::from_ne_bytes([flipped.bytes()[0], flipped.bytes()[1]]);
        assert_eq!(first as u32, img.raw(b.x1, b.y2 - 1, 0));
        let back = flipped.with_positive_row_bytes();
        assert_eq!(back.row_bytes(), img.row_bytes());
        assert_eq!(back.raw(4, 6, 3), img.raw(4, 6, 3));
    }

    #[test]
    fn conversions_follow_the_documented_rules() {
        let rgb = Image::from_fn(Rect::from_size(1, 1), BitDepth::F32, Components::Rgb, |_, _, c| [1.0, 0.5, 0.0][c]);
        let rgba = rgb.converted(BitDepth::U8, Components::Rgba);
        assert_eq!([rgba.raw(0, 0, 0), rgba.raw(0, 0, 1), rgba.raw(0, 0, 3)], [255, 128, 255]);
        let alpha = rgb.converted(BitDepth::F32, Components::Alpha);
        assert!((alpha.get(0, 0, 0) - (0.2126 + 0.7152 * 0.5)).abs() < 1e-6);
        let grey = alpha.converted(BitDepth::U16, Components::Rgba);
        assert_eq!(grey.raw(0, 0, 0), grey.raw(0, 0, 3));
        let back = rgba.converted(BitDepth::F32, Components::Alpha);
        assert_eq!(back.get(0, 0, 0), 1.0);
    }

    #[test]
    fn bounds_offset_crop_and_copy_keep_pixel_positions() {
        let img = ramp(BitDepth::F32, Components::Rgba);
        let moved = img.with_bounds_offset(10, -20);
        assert_eq!(moved.bounds(), Rect::new(8, -17, 15, -13));
        assert_eq!(moved.get(8, -17, 1), img.get(-2, 3, 1));
        let crop = img.cropped(Rect::new(0, 4, 100, 5));
        assert_eq!(crop.bounds(), Rect::new(0, 4, 5, 5));
        assert_eq!(crop.get(3, 4, 2), img.get(3, 4, 2));
        let mut canvas = Image::new(img.bounds(), BitDepth::F32, Components::Rgba);
        canvas.copy_from(&crop);
        assert_eq!(canvas.get(3, 4, 2), img.get(3, 4, 2));
        assert_eq!(canvas.get(3, 5, 2), 0.0);
    }

    #[test]
    fn half_scale_halves_the_bounds_and_samples_nearest() {
        let img = Image::from_fn(Rect::from_size(4, 2), BitDepth::U8, Components::Alpha, |x, _, _| x as f32 / 255.0);
        let half = img.scaled(0.5, 0.5);
        assert_eq!(half.bounds(), Rect::from_size(2, 1));
        assert_eq!([half.raw(0, 0, 0), half.raw(1, 0, 0)], [1, 3]);
    }
}
