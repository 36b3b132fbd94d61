//! Views over a host's pixel rows, and the parallel row loop every operation runs in.
//!
//! A view is a list of row slices, one per scan line from `bounds.y1` upward, so row order in
//! memory (hosts may store rows bottom-up with negative row bytes) never reaches this crate.

use crate::sample::Code;
use crate::Sample;
use rayon::prelude::*;

/// Which channels a pixel has, in the host's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Components {
    Rgba,
    Rgb,
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
}

/// A pixel rectangle, `x1..x2` × `y1..y2` (end-exclusive), in OFX coordinates (y up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    pub x1: i32,
    pub y1: i32,
    pub x2: i32,
    pub y2: i32,
}

impl Rect {
    /// Width in pixels (0 for an empty rectangle).
    pub fn width(&self) -> usize {
        (self.x2 - self.x1).max(0) as usize
    }
    /// Height in pixels (0 for an empty rectangle).
    pub fn height(&self) -> usize {
        (self.y2 - self.y1).max(0) as usize
    }
    /// The overlap of two rectangles (possibly empty).
    pub fn intersect(&self, other: &Rect) -> Rect {
        Rect {
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
            x2: self.x2.min(other.x2),
            y2: self.y2.min(other.y2),
        }
    }
    /// True when the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
}

/// One scan line, typed by bit depth.
pub enum RowRef<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    F32(&'a [f32]),
}

/// One writable scan line, typed by bit depth.
pub enum RowMut<'a> {
    U8(&'a mut [u8]),
    U16(&'a mut [u16]),
    F32(&'a mut [f32]),
}

/// Rows per task of [`ImageRef::content_hash`]: about this many bytes (256 kB, an L2's worth), so a
/// 1080p float frame is ~130 tasks, enough to spread over any core count.
pub const HASH_BAND_BYTES: usize = 256 << 10;

/// A read-only image: bounds, channel layout and its rows from `bounds.y1` up.
pub struct ImageRef<'a> {
    bounds: Rect,
    components: Components,
    rows: Vec<RowRef<'a>>,
}

/// A writable image: bounds, channel layout and its rows from `bounds.y1` up.
pub struct ImageMut<'a> {
    bounds: Rect,
    components: Components,
    rows: Vec<RowMut<'a>>,
}

fn row_len(row: &RowRef<'_>) -> usize {
    match row {
        RowRef::U8(r) => r.len(),
        RowRef::U16(r) => r.len(),
        RowRef::F32(r) => r.len(),
    }
}

impl<'a> ImageRef<'a> {
    /// Wraps rows; panics if a row is shorter than the bounds say (a host-side layout bug that
    /// the OFX layer checks before building a view).
    pub fn new(bounds: Rect, components: Components, rows: Vec<RowRef<'a>>) -> Self {
        assert_eq!(rows.len(), bounds.height(), "one row per scan line");
        let need = bounds.width() * components.count();
        assert!(rows.iter().all(|r| row_len(r) >= need), "rows shorter than the bounds");
        ImageRef { bounds, components, rows }
    }

    /// The rows, from `bounds.y1` up.
    pub(crate) fn rows(&self) -> &[RowRef<'a>] {
        &self.rows
    }

    /// The pixel rectangle the image holds.
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    /// The channel layout.
    pub fn components(&self) -> Components {
        self.components
    }

    /// A 128-bit hash of the pixels (and their layout and depth), read straight from the host's
    /// rows: caches keyed by content find a frame without converting it first.
    ///
    /// Every tile of a tiled host's render asks for it (the finished frame is found by it), so it is
    /// made in parallel: bands of about [`HASH_BAND_BYTES`] are hashed on rayon's threads and their
    /// digests, in order, hashed again. A band's rows depend only on the row size, never on the
    /// number of threads, so a frame hashes the same on every machine and run.
    pub fn content_hash(&self) -> u128 {
        let n = self.bounds.width() * self.components.count();
        let sample_bytes = self.rows.first().map_or(1, |row| match row {
            RowRef::U8(_) => 1,
            RowRef::U16(_) => 2,
            RowRef::F32(_) => 4,
        });
        let band_rows = (HASH_BAND_BYTES / (n * sample_bytes).max(1)).max(1);
        let digests: Vec<u128> = self
            .rows
            .par_chunks(band_rows)
            .map(|band| {
                let mut hasher = xxhash_rust::xxh3::Xxh3::new();
                for row in band {
                    match row {
                        RowRef::U8(r) => hasher.update(&r[..n]),
                        RowRef::U16(r) => hasher.update(bytemuck::cast_slice(&r[..n])),
                        RowRef::F32(r) => hasher.update(bytemuck::cast_slice(&r[..n])),
                    }
                    // The depth is part of the content: the same bytes at another depth are another image.
                    hasher.update(&[match row {
                        RowRef::U8(_) => 1,
                        RowRef::U16(_) => 2,
                        RowRef::F32(_) => 4,
                    }]);
                }
                hasher.digest128()
            })
            .collect();
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let layout = [self.bounds.width() as u64, self.bounds.height() as u64, n as u64];
        hasher.update(bytemuck::cast_slice(&layout));
        hasher.update(bytemuck::cast_slice(&digests));
        hasher.digest128()
    }

    /// The whole image as interleaved RGBA `f32`, rows top-down (row 0 = scan line `y2 − 1`):
    /// the layout models and image files expect.
    pub fn to_rgba_top_down(&self) -> Vec<f32> {
        let (w, h) = (self.bounds.width(), self.bounds.height());
        let mut out = vec![0.0f32; w * h * 4];
        if out.is_empty() {
            return out;
        }
        out.par_chunks_mut(w * 4).enumerate().for_each(|(row, dst)| {
            let y = self.bounds.y2 - 1 - row as i32;
            self.read_rgba(y, self.bounds.x1, bytemuck::cast_slice_mut(dst));
        });
        out
    }

    /// Reads pixels `x1..x1+out.len()` of scan line `y` as RGBA `f32`. Pixels outside the image
    /// read as transparent black; RGB reads alpha 1; a single-channel image reads as a grey image
    /// whose alpha is that same value (so a matte stays a matte whichever channel is asked for).
    #[inline(always)]
    pub fn read_rgba(&self, y: i32, x1: i32, out: &mut [[f32; 4]]) {
        let x2 = x1 + out.len() as i32;
        let (lo, hi) = (x1.max(self.bounds.x1), x2.min(self.bounds.x2));
        if y < self.bounds.y1 || y >= self.bounds.y2 || lo >= hi {
            out.fill([0.0; 4]);
            return;
        }
        let row = &self.rows[(y - self.bounds.y1) as usize];
        // Only the pixels outside the image are zeroed: the rest is written once, below.
        let (inside, after) = ((lo - x1) as usize, (hi - x1) as usize);
        out[..inside].fill([0.0; 4]);
        out[after..].fill([0.0; 4]);
        let dst = &mut out[inside..after];
        let first = (lo - self.bounds.x1) as usize;
        match row {
            RowRef::U8(r) => read_span(r, self.components, first, dst),
            RowRef::U16(r) => read_span(r, self.components, first, dst),
            RowRef::F32(r) => read_span(r, self.components, first, dst),
        }
    }
}

impl ImageRef<'_> {
    /// Whether the image is RGBA of sample depth `T` (what [`ImageRef::read_codes`] reads).
    pub(crate) fn is_rgba_of<T: Code>(&self) -> bool {
        self.components == Components::Rgba && self.rows.first().is_none_or(|row| T::of_row(row).is_some())
    }

    /// Copies pixels `x1..x1 + out.len()` of scan line `y`, as stored, into `out`; pixels outside
    /// the image read as 0 (transparent black). The image is RGBA of depth `T`
    /// ([`ImageRef::is_rgba_of`]); a row of another depth reads as 0 too.
    #[inline(always)]
    pub(crate) fn read_codes<T: Code>(&self, y: i32, x1: i32, out: &mut [T::Pixel]) {
        let zero = <T::Pixel as bytemuck::Zeroable>::zeroed();
        let x2 = x1 + out.len() as i32;
        let (lo, hi) = (x1.max(self.bounds.x1), x2.min(self.bounds.x2));
        let row = (y >= self.bounds.y1 && y < self.bounds.y2 && lo < hi).then(|| &self.rows[(y - self.bounds.y1) as usize]);
        let Some(samples) = row.and_then(T::of_row) else {
            out.fill(zero);
            return;
        };
        let (inside, after) = ((lo - x1) as usize, (hi - x1) as usize);
        out[..inside].fill(zero);
        out[after..].fill(zero);
        let first = (lo - self.bounds.x1) as usize * 4;
        let dst: &mut [T] = bytemuck::cast_slice_mut(&mut out[inside..after]);
        dst.copy_from_slice(&samples[first..first + dst.len()]);
    }
}

#[inline(always)]
fn read_span<T: Sample>(row: &[T], components: Components, first: usize, out: &mut [[f32; 4]]) {
    let n = components.count();
    let src = &row[first * n..(first + out.len()) * n];
    match components {
        Components::Rgba => T::read_rgba(src, out),
        Components::Rgb => {
            for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                *o = [p[0].to_f32(), p[1].to_f32(), p[2].to_f32(), 1.0];
            }
        }
        Components::Alpha => {
            for (o, p) in out.iter_mut().zip(src) {
                let a = p.to_f32();
                *o = [a, a, a, a];
            }
        }
    }
}

#[inline(always)]
fn write_span<T: Sample>(row: &mut [T], components: Components, first: usize, px: &[[f32; 4]]) {
    let n = components.count();
    let dst = &mut row[first * n..(first + px.len()) * n];
    match components {
        Components::Rgba => T::write_rgba(px, dst),
        Components::Rgb => {
            for (d, p) in dst.chunks_exact_mut(3).zip(px) {
                for c in 0..3 {
                    d[c] = T::from_f32(p[c]);
                }
            }
        }
        Components::Alpha => {
            for (d, p) in dst.iter_mut().zip(px) {
                *d = T::from_f32(p[3]);
            }
        }
    }
}

impl<'a> ImageMut<'a> {
    /// Wraps writable rows; panics if a row is shorter than the bounds say.
    pub fn new(bounds: Rect, components: Components, rows: Vec<RowMut<'a>>) -> Self {
        assert_eq!(rows.len(), bounds.height(), "one row per scan line");
        let need = bounds.width() * components.count();
        let ok = rows.iter().all(|r| match r {
            RowMut::U8(r) => r.len() >= need,
            RowMut::U16(r) => r.len() >= need,
            RowMut::F32(r) => r.len() >= need,
        });
        assert!(ok, "rows shorter than the bounds");
        ImageMut { bounds, components, rows }
    }

    /// The pixel rectangle the image holds.
    pub fn bounds(&self) -> Rect {
        self.bounds
    }

    /// The channel layout.
    pub fn components(&self) -> Components {
        self.components
    }
}

/// Fills `window` (clipped to the image) row by row in parallel, each row in spans of at most
/// [`SPAN`] pixels: `pixel_row(y, x1, span, aux)` computes the pixels of scan line `y` from column
/// `x1` into the RGBA `f32` scratch `span`, which is then stored at the image's bit depth and
/// layout; `aux` is a second scratch span of the same width for operations with two inputs.
/// Spans (not whole rows) keep the scratch, the host's row and the output in the L1 cache
/// between the read, the operation and the store: an 8- or 16-bit frame costs little more than
/// its conversions. Each rayon worker keeps its scratch, so nothing allocates per row.
pub fn for_each_row<F>(image: &mut ImageMut<'_>, window: Rect, pixel_row: F)
where
    F: Fn(i32, i32, &mut [[f32; 4]], &mut [[f32; 4]]) + Sync,
{
    let area = window.intersect(&image.bounds);
    if area.is_empty() {
        return;
    }
    let (bounds, components) = (image.bounds, image.components);
    let first = (area.x1 - bounds.x1) as usize;
    let skip = (area.y1 - bounds.y1) as usize;
    let span_width = area.width().min(SPAN);
    image.rows[skip..skip + area.height()]
        .par_iter_mut()
        .enumerate()
        // Several rows per task: a row is microseconds of work, a task hand-off is not free.
        .with_min_len(16)
        .for_each_init(
            || (vec![[0.0f32; 4]; span_width], vec![[0.0f32; 4]; span_width]),
            |(scratch, aux), (i, row)| {
                let y = area.y1 + i as i32;
                for start in (0..area.width()).step_by(SPAN) {
                    let len = (area.width() - start).min(SPAN);
                    let (x1, at) = (area.x1 + start as i32, first + start);
                    // Float RGBA output is the scratch layout: compute straight into it.
                    if let (RowMut::F32(r), Components::Rgba) = (&mut *row, components) {
                        let px: &mut [[f32; 4]] = bytemuck::cast_slice_mut(&mut r[at * 4..(at + len) * 4]);
                        pixel_row(y, x1, px, &mut aux[..len]);
                        continue;
                    }
                    let span = &mut scratch[..len];
                    pixel_row(y, x1, span, &mut aux[..len]);
                    crate::simd::widest(
                        #[inline(always)]
                        || match &mut *row {
                            RowMut::U8(r) => write_span(r, components, at, span),
                            RowMut::U16(r) => write_span(r, components, at, span),
                            RowMut::F32(r) => write_span(r, components, at, span),
                        },
                    );
                }
            },
        );
}

/// As [`for_each_row`] for an RGBA image of integer depth `T`, handing `pixel_row(state, y, x1,
/// row)` the window's part of each row as the image's own samples (codes, not floats; 4 a pixel)
/// to write in place; `state` is each rayon worker's own, made by `init`. Returns false, writing
/// nothing, when the image is not RGBA of depth `T`.
pub(crate) fn for_each_code_row<T: Code, S>(
    image: &mut ImageMut<'_>,
    window: Rect,
    init: impl Fn() -> S + Sync + Send,
    pixel_row: impl Fn(&mut S, i32, i32, &mut [T]) + Sync + Send,
) -> bool {
    if image.components != Components::Rgba || !image.rows.iter_mut().all(|row| T::of_row_mut(row).is_some()) {
        return false;
    }
    let area = window.intersect(&image.bounds);
    if area.is_empty() {
        return true;
    }
    let first = (area.x1 - image.bounds.x1) as usize;
    let skip = (area.y1 - image.bounds.y1) as usize;
    image.rows[skip..skip + area.height()].par_iter_mut().enumerate().with_min_len(16).for_each_init(init, |state, (i, row)| {
        let samples = T::of_row_mut(row).expect("checked above");
        pixel_row(state, area.y1 + i as i32, area.x1, &mut samples[first * 4..(first + area.width()) * 4]);
    });
    true
}

/// The most pixels [`for_each_row`] hands its operation at once: 256 RGBA `f32` pixels (4 kB,
/// twice for the two scratch spans) stay in L1 with the host's pixels beside them.
pub(crate) const SPAN: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(w: i32, h: i32) -> Rect {
        Rect { x1: 0, y1: 0, x2: w, y2: h }
    }

    #[test]
    fn reads_outside_bounds_as_transparent_black() {
        let data = vec![255u8; 2 * 4];
        let img = ImageRef::new(rect(2, 1), Components::Rgba, vec![RowRef::U8(&data)]);
        let mut out = [[9.0; 4]; 4];
        img.read_rgba(0, -1, &mut out);
        assert_eq!(out, [[0.0; 4], [1.0; 4], [1.0; 4], [0.0; 4]]);
        img.read_rgba(1, 0, &mut out);
        assert_eq!(out, [[0.0; 4]; 4]);
    }

    #[test]
    fn content_hash_follows_pixels_and_layout() {
        let a = [0u8, 1, 2, 3, 4, 5, 6, 7];
        let b = [0u8, 1, 2, 3, 4, 5, 6, 8];
        let hash = |d: &[u8], w: i32, h: i32| {
            let rows = d.chunks((w * 4) as usize).map(RowRef::U8).collect();
            ImageRef::new(Rect { x1: 0, y1: 0, x2: w, y2: h }, Components::Rgba, rows).content_hash()
        };
        assert_eq!(hash(&a, 2, 1), hash(&a, 2, 1));
        assert_ne!(hash(&a, 2, 1), hash(&b, 2, 1));
        assert_ne!(hash(&a, 2, 1), hash(&a, 1, 2), "same bytes, other shape");
    }

    #[test]
    fn content_hash_sees_every_band_in_order_on_any_thread_count() {
        // 64 rows of 8 kB floats: 32 rows a band, so two bands.
        let (w, h) = (2048usize, 64usize);
        let base: Vec<f32> = (0..w * 4 * h).map(|i| (i % 1013) as f32 / 1013.0).collect();
        let hash = |d: &[f32]| {
            let rows = d.chunks(w * 4).map(RowRef::F32).collect();
            ImageRef::new(Rect { x1: 0, y1: 0, x2: w as i32, y2: h as i32 }, Components::Rgba, rows).content_hash()
        };
        let reference = hash(&base);
        let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one_thread.install(|| hash(&base)), reference, "the hash depends on the thread count");
        for at in [0, w * 4 * 31 + 7, w * 4 * 32, w * 4 * h - 1] {
            let mut changed = base.clone();
            changed[at] += 1e-6;
            assert_ne!(hash(&changed), reference, "a change at sample {at} went unseen");
        }
        let mut swapped = base[w * 4 * 32..].to_vec();
        swapped.extend_from_slice(&base[..w * 4 * 32]);
        assert_ne!(hash(&swapped), reference, "bands in another order hash the same");
    }

    #[test]
    fn a_frame_with_no_columns_converts_to_nothing() {
        let empty: [f32; 0] = [];
        let rows = (0..5).map(|_| RowRef::F32(&empty)).collect();
        let img = ImageRef::new(Rect { x1: 3, y1: 0, x2: 3, y2: 5 }, Components::Rgba, rows);
        assert!(img.to_rgba_top_down().is_empty());
    }

    #[test]
    fn rgb_reads_opaque_and_alpha_reads_grey() {
        let rgb = [0u16, 65535, 0];
        let img = ImageRef::new(rect(1, 1), Components::Rgb, vec![RowRef::U16(&rgb)]);
        let mut out = [[0.0; 4]; 1];
        img.read_rgba(0, 0, &mut out);
        assert_eq!(out[0], [0.0, 1.0, 0.0, 1.0]);
        let a = [0.25f32];
        let img = ImageRef::new(rect(1, 1), Components::Alpha, vec![RowRef::F32(&a)]);
        img.read_rgba(0, 0, &mut out);
        assert_eq!(out[0], [0.25; 4]);
    }

    #[test]
    fn rows_wider_than_a_span_are_written_whole_and_in_place() {
        // 2.3 spans wide from column 3, at 16 bits: every pixel gets its own column back.
        let (w, x1, x2) = (2 * SPAN + SPAN / 3 + 7, 3, 2 * SPAN + SPAN / 3 + 2);
        let mut data = vec![vec![0u16; w * 4]; 2];
        {
            let rows = data.iter_mut().map(|r| RowMut::U16(r.as_mut_slice())).collect();
            let mut img = ImageMut::new(rect(w as i32, 2), Components::Rgba, rows);
            for_each_row(&mut img, Rect { x1: x1 as i32, y1: 0, x2: x2 as i32, y2: 2 }, |y, x1, span, aux| {
                assert!(span.len() <= SPAN && aux.len() == span.len());
                for (i, p) in span.iter_mut().enumerate() {
                    *p = [(x1 + i as i32) as f32 / 65535.0, y as f32 / 65535.0, 0.0, 1.0];
                }
            });
        }
        for (y, row) in data.iter().enumerate() {
            for x in 0..w {
                let want = if (x1..x2).contains(&x) { [x as u16, y as u16, 0, 65535] } else { [0; 4] };
                assert_eq!(row[x * 4..x * 4 + 4], want, "pixel ({x}, {y})");
            }
        }
    }

    #[test]
    fn for_each_row_writes_only_the_window() {
        let mut data = vec![vec![0u8; 4 * 4]; 3];
        {
            let rows = data.iter_mut().map(|r| RowMut::U8(r.as_mut_slice())).collect();
            let mut img = ImageMut::new(rect(4, 3), Components::Rgba, rows);
            let window = Rect { x1: 1, y1: 1, x2: 3, y2: 9 };
            for_each_row(&mut img, window, |y, x1, row, _| {
                for (i, p) in row.iter_mut().enumerate() {
                    *p = [(x1 + i as i32) as f32 / 255.0, y as f32 / 255.0, 0.0, 1.0];
                }
            });
        }
        assert_eq!(data[0], vec![0; 16]);
        assert_eq!(&data[1][..4], &[0, 0, 0, 0]);
        assert_eq!(&data[1][4..12], &[1, 1, 0, 255, 2, 1, 0, 255]);
        assert_eq!(&data[2][12..], &[0, 0, 0, 0]);
    }
}
