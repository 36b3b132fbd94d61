//! The operations the effects run on the CUDA path, each a sequence of kernel launches written once
//! for any [`Exec`]. Each is the twin of a `crates/imaging` function named in its doc; the tests run
//! both on the same pixels through the CPU emulation.

use imaging::resize::Filter;
use imaging::{Finesse, IsolateBand, LumaChannel, MatteLevels, MatteOutput, Rect, SourceColour};

use crate::exec::{Arg, Exec, GpuError, Grid, Scratch};

/// A host image in device memory: packed RGBA f32, `data` at pixel (x1, y1) of `bounds`, rows
/// `row_bytes` apart (the host's value, which may be negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceImage {
    pub data: u64,
    pub row_bytes: i64,
    pub bounds: Rect,
}

impl DeviceImage {
    /// Checks what the kernels rely on: non-null data, a pitch that holds a row of RGBA f32, sane
    /// bounds. The host's values are untrusted.
    pub fn check(&self) -> Result<(), GpuError> {
        let b = self.bounds;
        let width = i64::from(b.x2) - i64::from(b.x1);
        if self.data == 0 || b.x2 < b.x1 || b.y2 < b.y1 || self.row_bytes.unsigned_abs() < (width * 16) as u64 {
            return Err(GpuError::Failed(format!("unusable device image: bounds {b:?}, row bytes {}", self.row_bytes)));
        }
        Ok(())
    }

    fn args(&self) -> [Arg; 6] {
        let b = self.bounds;
        [Arg::Ptr(self.data), Arg::I64(self.row_bytes), Arg::I32(b.x1), Arg::I32(b.y1), Arg::I32(b.x2), Arg::I32(b.y2)]
    }

    fn null_args() -> [Arg; 6] {
        [Arg::Ptr(0), Arg::I64(0), Arg::I32(0), Arg::I32(0), Arg::I32(0), Arg::I32(0)]
    }
}

fn rect_args(r: Rect) -> [Arg; 4] {
    [Arg::I32(r.x1), Arg::I32(r.y1), Arg::I32(r.x2), Arg::I32(r.y2)]
}

fn level_args(levels: MatteLevels) -> [Arg; 5] {
    let p = levels.prepared();
    [Arg::F32(p.black()), Arg::F32(p.inv_span()), Arg::I32(p.hard() as i32), Arg::F32(p.inv_gamma().unwrap_or(0.0)), Arg::I32(p.invert() as i32)]
}

fn filter_id(filter: Filter) -> i32 {
    match filter {
        Filter::Bilinear => 0,
        Filter::Bicubic => 1,
    }
}

/// The part of `window` inside `out` (the only pixels a kernel writes), with its launch grid.
fn window_grid(out: &DeviceImage, window: Rect) -> Option<(Rect, Grid)> {
    let area = window.intersect(&out.bounds);
    (!area.is_empty()).then(|| (area, Grid::d2(area.width(), area.height())))
}

/// Luma Matte Extract's render: [`imaging::extract_matte`].
#[allow(clippy::too_many_arguments)]
pub fn luma_matte<E: Exec + ?Sized>(
    e: &E,
    out: &DeviceImage,
    window: Rect,
    source: &DeviceImage,
    matte: Option<&DeviceImage>,
    channel: LumaChannel,
    levels: MatteLevels,
    mode: MatteOutput,
) -> Result<(), GpuError> {
    out.check()?;
    source.check()?;
    if let Some(m) = matte {
        m.check()?;
    }
    let Some((area, grid)) = window_grid(out, window) else { return Ok(()) };
    let mut args = Vec::with_capacity(32);
    args.extend(source.args());
    args.extend(matte.map_or(DeviceImage::null_args(), DeviceImage::args));
    args.extend(out.args());
    args.extend(rect_args(area));
    args.push(Arg::I32(channel as i32));
    args.extend(level_args(levels));
    args.push(Arg::I32(mode as i32));
    e.launch("luma_matte", grid, &args)
}

/// [`imaging::place_plane`] (`mode` Some) or [`imaging::copy`] (`mode` None): the plane at `plane`
/// covers `plane_bounds`, rows top-down.
pub fn place_plane<E: Exec + ?Sized>(
    e: &E,
    out: &DeviceImage,
    window: Rect,
    source: Option<&DeviceImage>,
    plane: u64,
    plane_bounds: Rect,
    mode: Option<MatteOutput>,
) -> Result<(), GpuError> {
    out.check()?;
    if let Some(s) = source {
        s.check()?;
    }
    let Some((area, grid)) = window_grid(out, window) else { return Ok(()) };
    let mut args = Vec::with_capacity(24);
    args.extend(source.map_or(DeviceImage::null_args(), DeviceImage::args));
    args.push(Arg::Ptr(plane));
    args.extend(rect_args(plane_bounds));
    args.extend(out.args());
    args.extend(rect_args(area));
    args.push(Arg::I32(mode.map_or(-1, |m| m as i32)));
    e.launch("place_plane", grid, &args)
}

/// Temporal Stability's view of a frame: [`imaging::luma_plane`] of the host image shrunk to
/// `size` with [`imaging::shrink_area`], written to `out` (`size` f32, rows top-down).
pub fn working_luma<E: Exec + ?Sized>(e: &E, source: &DeviceImage, out: u64, size: (usize, usize)) -> Result<(), GpuError> {
    source.check()?;
    let (sw, sh) = (source.bounds.width(), source.bounds.height());
    let (w, h) = size;
    if w == 0 || h == 0 || w > sw || h > sh {
        return Err(GpuError::Failed(format!("working luma: {w}×{h} is not a shrink of {sw}×{sh}")));
    }
    let luma = Scratch::new(e, 4 * sw * sh)?;
    luma_plane(e, source, luma.ptr)?;
    shrink_plane(e, luma.ptr, (sw, sh), out, size)
}

/// [`imaging::shrink_area`] of the plane at `src` (`from` size) into `out` (`to`, no larger).
pub fn shrink_plane<E: Exec + ?Sized>(e: &E, src: u64, from: (usize, usize), out: u64, to: (usize, usize)) -> Result<(), GpuError> {
    let ((sw, sh), (w, h)) = (from, to);
    if w == 0 || h == 0 || w > sw || h > sh {
        return Err(GpuError::Failed(format!("shrink: {w}×{h} is not a shrink of {sw}×{sh}")));
    }
    // At the same size the taps are single weights of 1: the passes copy, as the CPU's clone does.
    let horizontal = Scratch::new(e, 4 * w * sh)?;
    let (cols, rows) = (TapTable::upload(e, sw, w)?, TapTable::upload(e, sh, h)?);
    e.launch("shrink_rows", Grid::d2(w, sh), &[&[Arg::Ptr(src), Arg::I32(sw as i32), Arg::I32(sh as i32), Arg::Ptr(horizontal.ptr), Arg::I32(w as i32)][..], &cols.args()].concat())?;
    e.launch("shrink_cols", Grid::d2(w, h), &[&[Arg::Ptr(horizontal.ptr), Arg::I32(w as i32), Arg::Ptr(out), Arg::I32(h as i32)][..], &rows.args()].concat())
}

/// [`imaging::luma_plane`] of the host image into `out` (its size, rows top-down).
fn luma_plane<E: Exec + ?Sized>(e: &E, source: &DeviceImage, out: u64) -> Result<(), GpuError> {
    let mut args = source.args().to_vec();
    args.push(Arg::Ptr(out));
    e.launch("luma_plane", Grid::d2(source.bounds.width(), source.bounds.height()), &args)
}

/// One axis's [`imaging::area_taps`] on the device, flattened.
struct TapTable<'a, E: Exec + ?Sized> {
    offsets: Scratch<'a, E>,
    index: Scratch<'a, E>,
    weight: Scratch<'a, E>,
}

impl<'a, E: Exec + ?Sized> TapTable<'a, E> {
    fn upload(e: &'a E, src: usize, dst: usize) -> Result<Self, GpuError> {
        let taps = imaging::area_taps(src, dst);
        let mut offsets = vec![0i32];
        let (mut index, mut weight) = (Vec::new(), Vec::new());
        for t in &taps {
            for &(i, w) in t {
                index.push(i as i32);
                weight.push(w);
            }
            offsets.push(index.len() as i32);
        }
        let bytes = |v: &[i32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let table = TapTable { offsets: Scratch::new(e, 4 * offsets.len())?, index: Scratch::new(e, 4 * index.len())?, weight: Scratch::new(e, 4 * weight.len())? };
        e.upload(table.offsets.ptr, &bytes(&offsets))?;
        e.upload(table.index.ptr, &bytes(&index))?;
        e.upload(table.weight.ptr, &weight.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())?;
        Ok(table)
    }

    fn args(&self) -> [Arg; 3] {
        [Arg::Ptr(self.offsets.ptr), Arg::Ptr(self.index.ptr), Arg::Ptr(self.weight.ptr)]
    }
}

/// [`imaging::ImageRef::fingerprint`] of a host device image: the pieces summed on the device,
/// then 16 bytes read back (this waits for the host's stream up to here: the render needs the
/// answer to know whether the model must run).
pub fn fingerprint<E: Exec + ?Sized>(e: &E, image: &DeviceImage) -> Result<u128, GpuError> {
    image.check()?;
    let (w, h) = (image.bounds.width(), image.bounds.height());
    let sums = Scratch::new(e, 16)?;
    e.fill_bytes(sums.ptr, 0, 16)?;
    let mut args = Vec::with_capacity(7);
    args.extend(image.args());
    args.push(Arg::Ptr(sums.ptr));
    e.launch("fingerprint_pieces", Grid::d2(w.div_ceil(imaging::FINGERPRINT_CHUNK), h), &args)?;
    let mut bytes = [0u8; 16];
    e.download(sums.ptr, &mut bytes)?;
    let lane = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    Ok(imaging::fingerprint_finish([lane(0), lane(1)], w, h))
}

/// The model input tensor from a host image: [`imaging::encode_for_network`] for `colour` (per
/// pixel read, before the weights: the CPU converts then resizes), then
/// [`imaging::resize::resize_to_planes`] (RGB of RGBA, rows top-down) then
/// [`imaging::resize::normalize_planes`], written to `out` (3 × w × h f32).
#[allow(clippy::too_many_arguments)]
pub fn image_to_planes<E: Exec + ?Sized>(
    e: &E,
    source: &DeviceImage,
    out: u64,
    (w, h): (usize, usize),
    filter: Filter,
    colour: SourceColour,
    mean: [f32; 3],
    std: [f32; 3],
) -> Result<(), GpuError> {
    check_tensor_source(source, (w, h))?;
    let mut args = Vec::with_capacity(17);
    args.extend(source.args());
    args.extend([Arg::Ptr(out), Arg::I32(w as i32), Arg::I32(h as i32), Arg::I32(filter_id(filter)), Arg::I32(colour.id())]);
    args.extend(normalisation_args(mean, std));
    e.launch("image_to_planes", Grid::d2(w, h), &args)
}

/// SAM 2's encoder input from a host image: [`imaging::encode_for_network`] for `colour` (per
/// pixel read, as in [`image_to_planes`]), then [`imaging::resize::resize_to_planes_pil_bicubic`]
/// (RGB of RGBA, rows top-down; PIL's bicubic, anti-aliased when shrinking, as SAM 2's reference
/// resizes) then [`imaging::resize::normalize_planes`], written to `out` (3 × w × h f32; SAM 2's
/// is 1024² with ImageNet's mean and std). The tap count grows with the shrink factor, so each
/// axis's taps are tabled on the device first (one thread per output position, the CPU's double
/// arithmetic), then one thread per output pixel sums them.
pub fn image_to_planes_pil_bicubic<E: Exec + ?Sized>(
    e: &E,
    source: &DeviceImage,
    out: u64,
    (w, h): (usize, usize),
    colour: SourceColour,
    mean: [f32; 3],
    std: [f32; 3],
) -> Result<(), GpuError> {
    check_tensor_source(source, (w, h))?;
    let (x_first, x_weight, nx) = pil_bicubic_taps(e, source.bounds.width(), w)?;
    let (y_first, y_weight, ny) = pil_bicubic_taps(e, source.bounds.height(), h)?;
    let mut args = Vec::with_capacity(22);
    args.extend(source.args());
    args.extend([Arg::Ptr(out), Arg::I32(w as i32), Arg::I32(h as i32), Arg::I32(colour.id())]);
    args.extend([Arg::Ptr(x_first.ptr), Arg::Ptr(x_weight.ptr), Arg::I32(nx as i32), Arg::Ptr(y_first.ptr), Arg::Ptr(y_weight.ptr), Arg::I32(ny as i32)]);
    args.extend(normalisation_args(mean, std));
    e.launch("image_to_planes_pil_bicubic", Grid::d2(w, h), &args)
}

/// What both tensor pre-processes need of their source: a usable image, something to read, a
/// tensor to fill.
fn check_tensor_source(source: &DeviceImage, (w, h): (usize, usize)) -> Result<(), GpuError> {
    source.check()?;
    if source.bounds.is_empty() || w == 0 || h == 0 {
        return Err(GpuError::Failed("empty image or tensor".into()));
    }
    Ok(())
}

/// The normalisation's kernel arguments: the means, then the reciprocal standard deviations.
fn normalisation_args(mean: [f32; 3], std: [f32; 3]) -> [Arg; 6] {
    [Arg::F32(mean[0]), Arg::F32(mean[1]), Arg::F32(mean[2]), Arg::F32(1.0 / std[0]), Arg::F32(1.0 / std[1]), Arg::F32(1.0 / std[2])]
}

/// One axis's tap table for PIL's bicubic from `src` to `dst` samples: each output position's first
/// source index and its weights, and how many weights each has.
fn pil_bicubic_taps<E: Exec + ?Sized>(e: &E, src: usize, dst: usize) -> Result<(Scratch<'_, E>, Scratch<'_, E>, usize), GpuError> {
    let per_output = imaging::resize::pil_bicubic_taps_per_output(src, dst);
    let (first, weight) = (Scratch::new(e, 4 * dst)?, Scratch::new(e, 4 * dst * per_output)?);
    let args = [Arg::I32(src as i32), Arg::I32(dst as i32), Arg::I32(per_output as i32), Arg::Ptr(first.ptr), Arg::Ptr(weight.ptr)];
    e.launch("pil_bicubic_taps", Grid::d1(dst), &args)?;
    Ok((first, weight, per_output))
}

/// [`imaging::resize::resize_plane`] from `src` (sw × sh) into `out` (dw × dh).
pub fn resize_plane<E: Exec + ?Sized>(e: &E, src: u64, (sw, sh): (usize, usize), out: u64, (dw, dh): (usize, usize), filter: Filter) -> Result<(), GpuError> {
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return Err(GpuError::Failed("empty plane".into()));
    }
    let args = [Arg::Ptr(src), Arg::I32(sw as i32), Arg::I32(sh as i32), Arg::Ptr(out), Arg::I32(dw as i32), Arg::I32(dh as i32), Arg::I32(filter_id(filter))];
    e.launch("resize_plane", Grid::d2(dw, dh), &args)
}

/// Depth Map's per-pixel post-process on a plane in place: [`imaging::depth::depth_matte`]. With
/// `normalise`, the 2/98 % range comes from a device histogram first
/// ([`imaging::depth::histogram_range`]).
#[allow(clippy::too_many_arguments)]
pub fn depth_matte<E: Exec + ?Sized>(
    e: &E,
    plane: u64,
    (w, h): (usize, usize),
    normalise: bool,
    levels: MatteLevels,
    matte: Option<(Option<IsolateBand>, bool)>,
) -> Result<(), GpuError> {
    let n = w * h;
    if n == 0 {
        return Ok(());
    }
    let range = Scratch::new(e, 8)?;
    if normalise {
        let stride = imaging::depth::SAMPLE_STRIDE;
        let minmax = Scratch::new(e, 8)?;
        let mut seed = Vec::with_capacity(8);
        seed.extend(i32::MAX.to_le_bytes());
        seed.extend(i32::MIN.to_le_bytes());
        e.upload(minmax.ptr, &seed)?;
        let counts = Scratch::new(e, 4 * imaging::depth::HISTOGRAM_BINS)?;
        e.fill_bytes(counts.ptr, 0, 4 * imaging::depth::HISTOGRAM_BINS)?;
        let sampled = Grid::d2(w.div_ceil(stride), h.div_ceil(stride));
        let dims = [Arg::Ptr(plane), Arg::I32(w as i32), Arg::I32(h as i32), Arg::I32(stride as i32)];
        e.launch("sample_minmax", sampled, &[&dims[..], &[Arg::Ptr(minmax.ptr)]].concat())?;
        let bins = Arg::I32(imaging::depth::HISTOGRAM_BINS as i32);
        e.launch("sample_histogram", sampled, &[&dims[..], &[Arg::Ptr(minmax.ptr), bins, Arg::Ptr(counts.ptr)]].concat())?;
        let p = [Arg::F64(imaging::depth::LOW_PERCENTILE), Arg::F64(imaging::depth::HIGH_PERCENTILE), Arg::Ptr(range.ptr)];
        e.launch("histogram_percentiles", Grid::d1(1), &[&[Arg::Ptr(minmax.ptr), Arg::Ptr(counts.ptr), bins][..], &p].concat())?;
    }
    let (isolate, invert) = matte.unwrap_or((None, false));
    let band = isolate.unwrap_or(IsolateBand { target: 0.0, tolerance: 0.0, softness: 0.0 });
    let mut args = vec![Arg::Ptr(plane), Arg::I64(n as i64), Arg::Ptr(range.ptr), Arg::I32(normalise as i32)];
    args.extend(level_args(levels));
    args.extend([
        Arg::I32(matte.is_some() as i32),
        Arg::I32(isolate.is_some() as i32),
        Arg::F32(band.target),
        Arg::F32(band.tolerance),
        Arg::F32(band.softness),
        Arg::I32(invert as i32),
    ]);
    e.launch("depth_matte", Grid::d1(n), &args)
}

/// [`imaging::PreparedLevels::apply`] over a plane in place (Magic Mask's Black Clip, White Clip
/// and Invert): Depth Map's per-pixel kernel without its normalisation, Isolate or Invert, which
/// is exactly the levels step.
pub fn levels_plane<E: Exec + ?Sized>(e: &E, plane: u64, size: (usize, usize), levels: MatteLevels) -> Result<(), GpuError> {
    depth_matte(e, plane, size, false, levels, None)
}

/// Magic Mask's stored coverage (`n` u16 at `coverage`) as a matte plane at `out`:
/// [`imaging::coverage_plane`].
pub fn coverage_plane<E: Exec + ?Sized>(e: &E, coverage: u64, out: u64, n: usize) -> Result<(), GpuError> {
    e.launch("coverage_plane", Grid::d1(n), &[Arg::Ptr(coverage), Arg::Ptr(out), Arg::I64(n as i64)])
}

/// [`Finesse::apply`] on the plane at `plane` (w × h, rows top-down; the size of `source`'s bounds).
pub fn finesse<E: Exec + ?Sized>(e: &E, finesse: &Finesse, plane: u64, (w, h): (usize, usize), source: &DeviceImage, scale: f32) -> Result<(), GpuError> {
    let n = w * h;
    if n == 0 {
        return Ok(());
    }
    let bytes = 4 * n;
    let grid = Grid::d2(w, h);
    // Radii past the plane's larger side change nothing more (the CPU cuts them the same way).
    let reach = w.max(h);
    let dims = [Arg::I32(w as i32), Arg::I32(h as i32)];
    let copy = |from: u64, to: u64| e.launch("blend", Grid::d1(n), &[Arg::Ptr(from), Arg::Ptr(from), Arg::Ptr(to), Arg::I64(n as i64), Arg::F32(0.0)]);
    // One separable pass, along rows then down columns, from `from` to `to` through `tmp`.
    let separable = |kernel: &'static str, from: u64, tmp: u64, to: u64, r: usize, extra: &[Arg]| -> Result<(), GpuError> {
        for (axis, (a, b)) in [(from, tmp), (tmp, to)].into_iter().enumerate() {
            let mut args = vec![Arg::Ptr(a), Arg::Ptr(b), dims[0], dims[1], Arg::I32(r.min(reach) as i32)];
            args.extend_from_slice(extra);
            args.push(Arg::I32(axis as i32));
            e.launch(kernel, grid, &args)?;
        }
        Ok(())
    };
    let tmp = Scratch::new(e, bytes)?;

    let radius = finesse.expand_contract * scale;
    if radius != 0.0 && !radius.is_nan() {
        let take_max = Arg::I32((radius > 0.0) as i32);
        let r = radius.abs().min(reach as f32);
        let (lo, frac) = (r.floor() as usize, r.fract());
        let low = Scratch::new(e, bytes)?;
        separable("extreme_pass", plane, tmp.ptr, low.ptr, lo, &[take_max])?;
        if frac == 0.0 {
            copy(low.ptr, plane)?;
        } else {
            let high = Scratch::new(e, bytes)?;
            separable("extreme_pass", plane, tmp.ptr, high.ptr, lo + 1, &[take_max])?;
            e.launch("blend", Grid::d1(n), &[Arg::Ptr(low.ptr), Arg::Ptr(high.ptr), Arg::Ptr(plane), Arg::I64(n as i64), Arg::F32(frac)])?;
        }
    }
    if let Some(r) = imaging::gaussian_box_radius(finesse.blur * scale / 2.0, reach) {
        for _ in 0..3 {
            separable("box_pass", plane, tmp.ptr, plane, r, &[])?;
        }
    }
    let r = (finesse.edge_radius * scale).round() as usize;
    if r > 0 {
        let buf = || Scratch::new(e, bytes);
        let (guide, mean_i, mean_p, corr_ip, corr_ii, product) = (buf()?, buf()?, buf()?, buf()?, buf()?, buf()?);
        luma_plane(e, source, guide.ptr)?;
        let n_arg = Arg::I64(n as i64);
        separable("box_pass", guide.ptr, tmp.ptr, mean_i.ptr, r, &[])?;
        separable("box_pass", plane, tmp.ptr, mean_p.ptr, r, &[])?;
        e.launch("multiply", Grid::d1(n), &[Arg::Ptr(guide.ptr), Arg::Ptr(plane), Arg::Ptr(product.ptr), n_arg])?;
        separable("box_pass", product.ptr, tmp.ptr, corr_ip.ptr, r, &[])?;
        e.launch("multiply", Grid::d1(n), &[Arg::Ptr(guide.ptr), Arg::Ptr(guide.ptr), Arg::Ptr(product.ptr), n_arg])?;
        separable("box_pass", product.ptr, tmp.ptr, corr_ii.ptr, r, &[])?;
        let (a, b) = (buf()?, buf()?);
        let coefficients = [mean_i.ptr, mean_p.ptr, corr_ip.ptr, corr_ii.ptr, a.ptr, b.ptr].map(Arg::Ptr);
        e.launch("guided_coefficients", Grid::d1(n), &[&coefficients[..], &[n_arg, Arg::F32(imaging::EDGE_EPS)]].concat())?;
        separable("box_pass", a.ptr, tmp.ptr, mean_i.ptr, r, &[])?;
        separable("box_pass", b.ptr, tmp.ptr, mean_p.ptr, r, &[])?;
        e.launch("guided_output", Grid::d1(n), &[Arg::Ptr(mean_i.ptr), Arg::Ptr(mean_p.ptr), Arg::Ptr(guide.ptr), Arg::Ptr(plane), n_arg])?;
    }
    Ok(())
}
