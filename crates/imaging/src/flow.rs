//! Dense optical flow between two frames and what a temporal filter needs around it: warping a
//! plane along the flow, and a per-pixel confidence that says how well the warp explains a pixel.
//!
//! The flow is pyramidal Lucas–Kanade (Bouguet's coarse-to-fine scheme, dense): on each level of a
//! 2× image pyramid, from coarse to fine, every pixel's displacement is refined by Gauss–Newton
//! steps over a tent-shaped window, linearised with both frames' gradients (efficient second-order
//! minimisation), the flow smoothed by the same window before each step. Coarse levels catch
//! large motion, fine levels give sub-pixel accuracy; flat regions keep what the coarser level
//! found. Every pass is separable or per pixel and runs rows in parallel on rayon's pool; results
//! do not depend on the thread count.
//!
//! Conventions: planes are row-major, pixel centres at integer coordinates; the flow of `from`
//! towards `to` gives for pixel (x, y) of `from` the point (x + dx, y + dy) of `to` that shows the
//! same thing.

use rayon::prelude::*;

use crate::Plane;

/// Half-size of the box that, run twice, makes the Lucas–Kanade window (a 9×9 tent): small enough
/// for motion boundaries, large enough for the 2×2 system to be well conditioned on real texture.
pub const WINDOW: usize = 2;
/// Gauss–Newton steps per pyramid level; the coarse levels, which are cheap, get more.
pub const STEPS_FINE: usize = 4;
pub const STEPS_COARSE: usize = 6;
/// Coarsest level's short side is at least this (a level smaller carries no usable texture).
pub const COARSEST_SIDE: usize = 8;
/// At most this many levels: 2⁶ = 64× reduction catches motion of ~100 px at 1080p.
pub const MAX_LEVELS: usize = 7;
/// Tikhonov term on the structure tensor (luma² per pixel², window-averaged): keeps the solve
/// stable where the image is flat (sensor noise alone gives ~1e-5), so flat areas keep the
/// coarse level's flow instead of following noise.
pub const DAMPING: f32 = 2e-5;

/// Photometric tolerance of [`confidence`] in luma units: warp residuals within sensor noise and
/// interpolation error count fully, a residual of 3× this counts ~0.
pub const PHOTOMETRIC_SIGMA: f32 = 0.04;
/// Forward–backward tolerance of [`confidence`] in pixels.
pub const ROUND_TRIP_SIGMA: f32 = 0.6;

/// A dense displacement field: pixel (x, y) of the frame it was computed from corresponds to
/// (x + dx, y + dy) in the other frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Horizontal displacement per pixel, row-major.
    pub dx: Vec<f32>,
    /// Vertical displacement per pixel (down = positive, rows are top-down), row-major.
    pub dy: Vec<f32>,
}

impl Flow {
    /// No motion.
    pub fn zero(width: usize, height: usize) -> Flow {
        Flow { width, height, dx: vec![0.0; width * height], dy: vec![0.0; width * height] }
    }

    /// Bytes held (for cache budgets).
    pub fn bytes(&self) -> usize {
        (self.dx.len() + self.dy.len()) * std::mem::size_of::<f32>()
    }

    /// This flow resampled (bilinear, half-pixel centres) to `width` × `height`, each vector
    /// scaled by the size ratio: for the next finer pyramid level, or a flow computed at a reduced
    /// size used at the full one.
    pub fn resized(&self, width: usize, height: usize) -> Flow {
        let (sx, sy) = (width as f32 / self.width as f32, height as f32 / self.height as f32);
        let resize = |c: &[f32], scale: f32| {
            let coarse = Plane { width: self.width, height: self.height, data: c.to_vec() };
            let mut out = vec![0.0f32; width * height];
            out.par_chunks_mut(width.max(1)).enumerate().for_each(|(y, row)| {
                let cy = (y as f32 + 0.5) / sy - 0.5;
                for (x, o) in row.iter_mut().enumerate() {
                    *o = scale * sample(&coarse, (x as f32 + 0.5) / sx - 0.5, cy);
                }
            });
            out
        };
        Flow { width, height, dx: resize(&self.dx, sx), dy: resize(&self.dy, sy) }
    }
}

/// Bilinear sample of `plane` at (x, y), coordinates clamped to the plane (edges repeat).
pub fn sample(plane: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (plane.width, plane.height);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let row0 = &plane.data[y0 * w..];
    let row1 = &plane.data[y1 * w..];
    let top = row0[x0] + (row0[x1] - row0[x0]) * fx;
    let bottom = row1[x0] + (row1[x1] - row1[x0]) * fx;
    top + (bottom - top) * fy
}

/// `plane` (a plane of the frame the flow points into) pulled back along `flow`: pixel (x, y) of
/// the result is `plane` at (x + dx, y + dy). Catmull–Rom cubic, clamped to the four nearest
/// values: a bilinear pull at a fractional offset softens every edge it moves, and averaging
/// several such pulls would blur the frame; the clamp keeps the cubic from ringing at edges.
/// Pixels whose source lies outside are edge-repeated; [`confidence`] gives them no weight.
pub fn warp(plane: &Plane, flow: &Flow) -> Plane {
    assert_eq!((plane.width, plane.height), (flow.width, flow.height), "warp: plane and flow sizes differ");
    let w = flow.width;
    let mut data = vec![0.0f32; w * flow.height];
    data.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let i = y * w + x;
            *out = sample_cubic(plane, x as f32 + flow.dx[i], y as f32 + flow.dy[i]);
        }
    });
    Plane { width: w, height: flow.height, data }
}

/// Catmull–Rom weights of the four taps around a point `t` (0–1) past the second.
fn catmull_rom(t: f32) -> [f32; 4] {
    let (t2, t3) = (t * t, t * t * t);
    [0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0), 0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2)]
}

/// Cubic sample of `plane` at (x, y), edges repeated, clamped to the range of the 2×2 nearest.
fn sample_cubic(plane: &Plane, x: f32, y: f32) -> f32 {
    let (w, h) = (plane.width as i32, plane.height as i32);
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as i32, y.floor() as i32);
    let (wx, wy) = (catmull_rom(x - x0 as f32), catmull_rom(y - y0 as f32));
    let at = |xx: i32, yy: i32| plane.data[(yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)) as usize];
    let mut value = 0.0f32;
    for (j, wyj) in wy.iter().enumerate() {
        let yy = y0 - 1 + j as i32;
        let row: f32 = wx.iter().enumerate().map(|(k, wxk)| wxk * at(x0 - 1 + k as i32, yy)).sum();
        value += wyj * row;
    }
    let near = [at(x0, y0), at(x0 + 1, y0), at(x0, y0 + 1), at(x0 + 1, y0 + 1)];
    let (low, high) = near.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    value.clamp(low, high)
}

/// How well `forward` (from → to) explains each pixel of `from`, in 0–1: 0 where the point
/// falls outside `to`, and otherwise the product of a photometric term (the warped `to` matches
/// `from`) and a round-trip term (`backward`, to → from, brings the point back where it started).
/// Occluded, disoccluded and wrongly tracked pixels fail one or the other.
pub fn confidence(from: &Plane, to: &Plane, forward: &Flow, backward: &Flow) -> Plane {
    let (w, h) = (from.width, from.height);
    assert!(
        (to.width, to.height) == (w, h) && (forward.width, forward.height) == (w, h) && (backward.width, backward.height) == (w, h),
        "confidence: sizes differ"
    );
    let back_x = Plane { width: w, height: h, data: backward.dx.clone() };
    let back_y = Plane { width: w, height: h, data: backward.dy.clone() };
    let (photo, trip) = (1.0 / (PHOTOMETRIC_SIGMA * PHOTOMETRIC_SIGMA), 1.0 / (ROUND_TRIP_SIGMA * ROUND_TRIP_SIGMA));
    let mut data = vec![0.0f32; w * h];
    data.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let i = y * w + x;
            let (px, py) = (x as f32 + forward.dx[i], y as f32 + forward.dy[i]);
            if px < -0.5 || py < -0.5 || px > w as f32 - 0.5 || py > h as f32 - 0.5 {
                *out = 0.0;
                continue;
            }
            let residual = sample(to, px, py) - from.data[i];
            let (rx, ry) = (forward.dx[i] + sample(&back_x, px, py), forward.dy[i] + sample(&back_y, px, py));
            *out = (-(residual * residual * photo) - (rx * rx + ry * ry) * trip).exp();
        }
    });
    Plane { width: w, height: h, data }
}

/// Dense optical flow from `from` to `to` (same size; luma or any single channel).
pub fn optical_flow(from: &Plane, to: &Plane) -> Flow {
    assert_eq!((from.width, from.height), (to.width, to.height), "optical_flow: frame sizes differ");
    if from.data.is_empty() {
        return Flow::zero(from.width, from.height);
    }
    let (pyramid_from, pyramid_to) = (pyramid(from), pyramid(to));
    let coarsest = pyramid_from.last().expect("a pyramid has a level");
    let mut flow = Flow::zero(coarsest.width, coarsest.height);
    for level in (0..pyramid_from.len()).rev() {
        let (i0, i1) = (&pyramid_from[level], &pyramid_to[level]);
        if (flow.width, flow.height) != (i0.width, i0.height) {
            flow = flow.resized(i0.width, i0.height);
        }
        refine(i0, i1, &mut flow, if level == 0 { STEPS_FINE } else { STEPS_COARSE });
    }
    flow
}

/// The sizes of [`optical_flow`]'s pyramid: full size (index 0), then halved (rounding up) until
/// the short side would drop below [`COARSEST_SIDE`], at most [`MAX_LEVELS`]. The CUDA twin builds
/// the same levels.
pub fn pyramid_sizes(width: usize, height: usize) -> Vec<(usize, usize)> {
    let mut sizes = vec![(width, height)];
    while sizes.len() < MAX_LEVELS {
        let (w, h) = sizes[sizes.len() - 1];
        let next = (w.div_ceil(2), h.div_ceil(2));
        if next.0.min(next.1) < COARSEST_SIDE {
            break;
        }
        sizes.push(next);
    }
    sizes
}

/// The levels of [`pyramid_sizes`]: each the 2×2 means of the one above (an odd last row or
/// column is averaged with itself).
fn pyramid(plane: &Plane) -> Vec<Plane> {
    let mut levels = vec![plane.clone()];
    for &(w, h) in &pyramid_sizes(plane.width, plane.height)[1..] {
        let last = levels.last().expect("non-empty");
        let mut data = vec![0.0f32; w * h];
        data.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
            let (y0, y1) = (2 * y, (2 * y + 1).min(last.height - 1));
            for (x, out) in row.iter_mut().enumerate() {
                let (x0, x1) = (2 * x, (2 * x + 1).min(last.width - 1));
                *out = 0.25 * (last.at(x0, y0) + last.at(x1, y0) + last.at(x0, y1) + last.at(x1, y1));
            }
        });
        levels.push(Plane { width: w, height: h, data });
    }
    levels
}

/// Gauss–Newton refinement of `flow` on one level. Each step linearises with the mean of both
/// frames' gradients (the first frame's at the pixel, the second's at its current match; Malis's
/// efficient second-order minimisation), which converges in fewer steps and without the bias of
/// using one frame's gradient alone.
fn refine(i0: &Plane, i1: &Plane, flow: &mut Flow, steps: usize) {
    let (w, h) = (i0.width, i0.height);
    let (gx0, gy0) = gradients(i0);
    let (gx1, gy1) = gradients(i1);
    let (gx1, gy1) = (Plane { width: w, height: h, data: gx1 }, Plane { width: w, height: h, data: gy1 });
    // Per pixel: gx², gx·gy, gy², gx·e, gy·e, then their window means.
    let mut terms: [Vec<f32>; 5] = std::array::from_fn(|_| vec![0.0f32; w * h]);
    for _ in 0..steps {
        // The windowed steps cannot see flow errors that vary faster than the window (their
        // window sums cancel), so the flow is smoothed by the same window first: that removes
        // them, and the step then corrects what is left.
        flow.dx = window_mean(&flow.dx, w, h);
        flow.dy = window_mean(&flow.dy, w, h);
        {
            let [xx, xy, yy, xe, ye] = &mut terms;
            let rows = xx.par_chunks_mut(w).zip(xy.par_chunks_mut(w)).zip(yy.par_chunks_mut(w)).zip(xe.par_chunks_mut(w)).zip(ye.par_chunks_mut(w));
            rows.enumerate().for_each(|(y, ((((xx, xy), yy), xe), ye))| {
                for x in 0..w {
                    let i = y * w + x;
                    let (px, py) = (x as f32 + flow.dx[i], y as f32 + flow.dy[i]);
                    // A point outside the other frame has nothing to match: it must not pull.
                    let inside = px >= 0.0 && py >= 0.0 && px <= (w - 1) as f32 && py <= (h - 1) as f32;
                    let (gx, gy, e) = if inside {
                        (0.5 * (gx0[i] + sample(&gx1, px, py)), 0.5 * (gy0[i] + sample(&gy1, px, py)), sample(i1, px, py) - i0.data[i])
                    } else {
                        (0.0, 0.0, 0.0)
                    };
                    xx[x] = gx * gx;
                    xy[x] = gx * gy;
                    yy[x] = gy * gy;
                    xe[x] = gx * e;
                    ye[x] = gy * e;
                }
            });
        }
        let [sxx, sxy, syy, bx, by] = terms.each_ref().map(|t| window_mean(t, w, h));
        flow.dx.par_chunks_mut(w).zip(flow.dy.par_chunks_mut(w)).enumerate().for_each(|(y, (ux, uy))| {
            for x in 0..w {
                let i = y * w + x;
                let (a, b, c) = (sxx[i] + DAMPING, sxy[i], syy[i] + DAMPING);
                let det = a * c - b * b;
                ux[x] -= (c * bx[i] - b * by[i]) / det;
                uy[x] -= (a * by[i] - b * bx[i]) / det;
            }
        });
    }
}

/// Central-difference gradients (one-sided at the borders).
fn gradients(p: &Plane) -> (Vec<f32>, Vec<f32>) {
    let (w, h) = (p.width, p.height);
    let mut gx = vec![0.0f32; w * h];
    let mut gy = vec![0.0f32; w * h];
    gx.par_chunks_mut(w).zip(gy.par_chunks_mut(w)).enumerate().for_each(|(y, (rx, ry))| {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
        let dy_scale = if down - up == 2 { 0.5 } else { 1.0 };
        for x in 0..w {
            let (left, right) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let dx_scale = if right - left == 2 { 0.5 } else { 1.0 };
            rx[x] = if right > left { (p.at(right, y) - p.at(left, y)) * dx_scale } else { 0.0 };
            ry[x] = if down > up { (p.at(x, down) - p.at(x, up)) * dy_scale } else { 0.0 };
        }
    });
    (gx, gy)
}

/// The Lucas–Kanade window: a tent (a box of radius [`WINDOW`] run twice). A plain box would
/// not do: its spectrum has negative lobes, and the per-pixel Gauss–Newton steps, coupled through
/// overlapping windows, then amplify the flow's components at those frequencies step after step
/// until they diverge; the tent's spectrum (the box's squared) is non-negative.
fn window_mean(values: &[f32], w: usize, h: usize) -> Vec<f32> {
    box_mean(&box_mean(values, w, h), w, h)
}

/// Mean over the (2·[`WINDOW`]+1)² box around each pixel, the box cut at the borders (divided by
/// the pixels inside, so borders are not biased towards 0).
fn box_mean(values: &[f32], w: usize, h: usize) -> Vec<f32> {
    let r = WINDOW;
    // Horizontal means, each summed in f64 over its box (as the CUDA twin does, value by value).
    let mut rows = vec![0.0f32; w * h];
    rows.par_chunks_mut(w).zip(values.par_chunks(w)).for_each(|(out, row)| {
        for (x, o) in out.iter_mut().enumerate() {
            let (a, b) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum: f64 = row[a..b].iter().fold(0.0, |acc, &v| acc + v as f64);
            *o = (sum / (b - a) as f64) as f32;
        }
    });
    // Vertical means of the row means.
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, o)| {
        let (a, b) = (y.saturating_sub(r), (y + r + 1).min(h));
        let norm = 1.0 / (b - a) as f32;
        for yy in a..b {
            for (acc, v) in o.iter_mut().zip(&rows[yy * w..(yy + 1) * w]) {
                *acc += v;
            }
        }
        for v in o.iter_mut() {
            *v *= norm;
        }
    });
    out
}

/// `plane` shrunk to `width` × `height` by area averaging (each output pixel is the mean of the
/// input area it covers, partial pixels weighted by coverage), so fine texture does not alias into
/// what a flow is computed on. Growing is not supported: the size must not exceed the input's.
pub fn shrink_area(plane: &Plane, width: usize, height: usize) -> Plane {
    assert!(width <= plane.width && height <= plane.height && width > 0 && height > 0, "shrink_area only shrinks");
    if (width, height) == (plane.width, plane.height) {
        return plane.clone();
    }
    let (cols, rows) = (area_taps(plane.width, width), area_taps(plane.height, height));
    let mut horizontal = vec![0.0f32; width * plane.height];
    horizontal.par_chunks_mut(width).enumerate().for_each(|(y, out)| {
        let src = &plane.data[y * plane.width..(y + 1) * plane.width];
        for (o, taps) in out.iter_mut().zip(&cols) {
            *o = taps.iter().map(|&(i, wt)| src[i] * wt).sum();
        }
    });
    let mut data = vec![0.0f32; width * height];
    data.par_chunks_mut(width).zip(rows.par_iter()).for_each(|(out, taps)| {
        for &(i, wt) in taps {
            for (o, v) in out.iter_mut().zip(&horizontal[i * width..(i + 1) * width]) {
                *o += v * wt;
            }
        }
    });
    Plane { width, height, data }
}

/// For each of `dst` output pixels along an axis of `src` pixels: the input pixels it covers and
/// their coverage weights (summing to 1). [`shrink_area`]'s, and its CUDA twin's tables.
pub fn area_taps(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let (start, end) = (d as f64 * scale, (d + 1) as f64 * scale);
            let mut taps = Vec::new();
            let mut i = start.floor() as usize;
            while (i as f64) < end && i < src {
                let cover = (end.min(i as f64 + 1.0) - start.max(i as f64)) / scale;
                if cover > 0.0 {
                    taps.push((i, cover as f32));
                }
                i += 1;
            }
            taps
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth random texture (three octaves of value noise) sampled at continuous coordinates,
    /// so a moved copy can be rendered exactly rather than resampled.
    fn texture(x: f32, y: f32) -> f32 {
        let lattice = |i: i32, j: i32, seed: u32| {
            let mut h = (i as u32).wrapping_mul(0x9E37_79B1) ^ (j as u32).wrapping_mul(0x85EB_CA77) ^ seed.wrapping_mul(0xC2B2_AE3D);
            h ^= h >> 15;
            h = h.wrapping_mul(0x2C1B_3C6D);
            h ^= h >> 12;
            (h % 10_000) as f32 / 10_000.0
        };
        let octave = |x: f32, y: f32, seed: u32| {
            let (i, j) = (x.floor() as i32, y.floor() as i32);
            let (fx, fy) = (x - x.floor(), y - y.floor());
            let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
            let top = lattice(i, j, seed) + (lattice(i + 1, j, seed) - lattice(i, j, seed)) * sx;
            let bottom = lattice(i, j + 1, seed) + (lattice(i + 1, j + 1, seed) - lattice(i, j + 1, seed)) * sx;
            top + (bottom - top) * sy
        };
        0.5 * octave(x / 16.0, y / 16.0, 1) + 0.3 * octave(x / 7.0, y / 7.0, 2) + 0.2 * octave(x / 3.0, y / 3.0, 3)
    }

    /// A frame whose pixel (x, y) shows the texture at `at(x, y)`.
    fn frame(w: usize, h: usize, at: impl Fn(f32, f32) -> (f32, f32)) -> Plane {
        let data = (0..h).flat_map(|y| (0..w).map(move |x| (x as f32, y as f32))).map(|(x, y)| {
            let (u, v) = at(x, y);
            texture(u, v)
        });
        Plane { width: w, height: h, data: data.collect() }
    }

    /// Mean end-point error against `truth` over pixels at least `margin` from the border.
    fn error(flow: &Flow, margin: usize, truth: impl Fn(f32, f32) -> (f32, f32)) -> f32 {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for y in margin..flow.height - margin {
            for x in margin..flow.width - margin {
                let (tx, ty) = truth(x as f32, y as f32);
                let i = y * flow.width + x;
                sum += ((flow.dx[i] - tx).powi(2) + (flow.dy[i] - ty).powi(2)).sqrt() as f64;
                n += 1;
            }
        }
        (sum / n as f64) as f32
    }

    #[test]
    fn recovers_whole_and_fractional_translations() {
        for (tx, ty) in [(3.0f32, -2.0f32), (1.5, 0.25), (-0.3, 0.7), (11.0, 6.0)] {
            // Content at texture point p is at pixel p in `a` and at pixel p + t in `b`.
            let a = frame(128, 80, |x, y| (x, y));
            let b = frame(128, 80, |x, y| (x - tx, y - ty));
            let flow = optical_flow(&a, &b);
            let margin = 4 + tx.abs().max(ty.abs()).ceil() as usize;
            let e = error(&flow, margin, |_, _| (tx, ty));
            assert!(e < 0.05, "translation ({tx}, {ty}): mean end-point error {e} px");
        }
    }

    #[test]
    fn recovers_a_zoom() {
        // `b` is `a` magnified 4 % about the centre: the point at pixel p of `a` is at c + 1.04 (p − c).
        let (w, h, s) = (128usize, 80usize, 1.04f32);
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let a = frame(w, h, |x, y| (x, y));
        let b = frame(w, h, |x, y| (cx + (x - cx) / s, cy + (y - cy) / s));
        let flow = optical_flow(&a, &b);
        let e = error(&flow, 8, |x, y| ((s - 1.0) * (x - cx), (s - 1.0) * (y - cy)));
        assert!(e < 0.05, "zoom: mean end-point error {e} px");
    }

    #[test]
    fn warp_does_not_ring_at_an_edge() {
        // A step pulled half a pixel: the result stays within the step's two values.
        let step = Plane { width: 8, height: 1, data: vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0] };
        let half = Flow { width: 8, height: 1, dx: vec![0.5; 8], dy: vec![0.0; 8] };
        let pulled = warp(&step, &half);
        assert!(pulled.data.iter().all(|&v| (0.0..=1.0).contains(&v)), "{:?}", pulled.data);
        assert_eq!(pulled.data[3], 0.5);
    }

    #[test]
    fn a_resized_flow_scales_its_vectors() {
        let flow = Flow { width: 4, height: 2, dx: vec![1.0; 8], dy: vec![-0.5; 8] };
        let up = flow.resized(8, 6);
        assert!(up.dx.iter().all(|&v| (v - 2.0).abs() < 1e-6) && up.dy.iter().all(|&v| (v + 1.5).abs() < 1e-6));
    }

    #[test]
    fn identical_frames_have_no_motion_and_full_confidence() {
        let a = frame(64, 40, |x, y| (x, y));
        let flow = optical_flow(&a, &a);
        assert!(flow.dx.iter().chain(&flow.dy).all(|&d| d == 0.0));
        let c = confidence(&a, &a, &flow, &flow);
        assert!(c.data.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn warp_pulls_the_other_frame_back() {
        let (tx, ty) = (2.5f32, -1.25f32);
        let a = frame(96, 64, |x, y| (x, y));
        let b = frame(96, 64, |x, y| (x - tx, y - ty));
        let field = Flow { width: 96, height: 64, dx: vec![tx; 96 * 64], dy: vec![ty; 96 * 64] };
        let back = warp(&b, &field);
        let (mut worst, mut sum, mut n) = (0.0f32, 0.0f32, 0);
        for y in 4..60 {
            for x in 4..90 {
                let d = (back.at(x, y) - a.at(x, y)).abs();
                worst = worst.max(d);
                sum += d;
                n += 1;
            }
        }
        // Cubic interpolation of a smooth texture: small, never large.
        assert!(sum / (n as f32) < 0.002 && worst < 0.02, "mean {} worst {worst}", sum / n as f32);
    }

    #[test]
    fn occluded_pixels_get_no_confidence() {
        // A bright square moves 6 px right over a static texture: the background it covers in
        // `b` (a strip right of its old edge) cannot be explained by any flow.
        let (w, h) = (96usize, 64usize);
        let square = |x: f32, y: f32, left: f32| (left..left + 20.0).contains(&x) && (22.0..42.0).contains(&y);
        let scene = |left: f32| {
            let data = (0..h).flat_map(|y| (0..w).map(move |x| (x as f32, y as f32))).map(|(x, y)| if square(x, y, left) { 1.5 } else { texture(x, y) });
            Plane { width: w, height: h, data: data.collect() }
        };
        let (a, b) = (scene(30.0), scene(36.0));
        let (forward, backward) = (optical_flow(&a, &b), optical_flow(&b, &a));
        let c = confidence(&a, &b, &forward, &backward);
        // Background of `a` that the square covers in `b`: x in 50..56.
        let covered: f32 = (24..40).flat_map(|y| (51..55).map(move |x| (x, y))).map(|(x, y)| c.at(x, y)).sum::<f32>() / 64.0;
        // Background more than a window away from the square, on both sides, is explained.
        let far: f32 = (4..60).flat_map(|y| (4..16).chain(70..92).map(move |x| (x, y))).map(|(x, y)| c.at(x, y)).sum::<f32>() / (56.0 * 34.0);

        assert!(covered < 0.1, "covered background confidence {covered}");
        assert!(far > 0.8, "static background confidence {far}");
    }

    #[test]
    fn shrink_area_averages_what_each_pixel_covers() {
        let p = Plane { width: 4, height: 2, data: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0] };
        let half = shrink_area(&p, 2, 1);
        assert_eq!(half.data, vec![2.5, 4.5]);
        let third = shrink_area(&Plane { width: 3, height: 1, data: vec![0.0, 3.0, 6.0] }, 2, 1);
        // Output 0 covers input 0 fully and half of input 1: (0 + 1.5) / 1.5.
        assert!((third.data[0] - 1.0).abs() < 1e-6 && (third.data[1] - 5.0).abs() < 1e-6, "{:?}", third.data);
    }
}
