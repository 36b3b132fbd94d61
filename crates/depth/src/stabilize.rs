//! From raw depth to a 0–1 map (near = 1), per frame or stabilised over a window of frames.
//!
//! Flicker in relative-depth models is two things, and each is removed on its own:
//! 1. **Drift of the whole map** — scale, shift and curve change from frame to frame (what per-frame
//!    normalisation turns into flicker). Each frame's raw depth is mapped, value by value, onto a
//!    reference curve shared by the window: the weighted mean of the window's normalised quantile
//!    functions (histogram matching). Quantiles need no pixel correspondence, so motion does not
//!    disturb them, and a value map never moves or blurs a pixel; on a flicker-free shot the
//!    reference is the frame's own curve and nothing changes.
//! 2. **Per-pixel noise** — the matched neighbours are averaged into the frame along the motion:
//!    each neighbour is pulled back to the frame by the optical flow of the *source* frames
//!    ([`crate::motion`]), and each of its pixels counts by how well the flow explains it (a
//!    photometric and round-trip check) and how close its depth is to the frame's, so occluded,
//!    disoccluded and moving things get no weight and nothing ghosts. For a locked-off shot the
//!    flow can be skipped and the neighbours averaged in place.
//!
//! The caller cuts the window at scene cuts ([`crate::same_shot`]) before it gets here. Every
//! step is a pure function of the window's maps and alignments in frame order (no state, no
//! parallel float reductions), so a frame renders the same whatever order the host renders in.

use imaging::resize::{resize_plane, Filter};
use imaging::{warp, Plane};
use rayon::prelude::*;

use crate::motion::{working_size, Alignment};
use crate::DepthMap;

/// Percentile mapped to 0 (far).
pub const LOW_PERCENTILE: f64 = 0.02;
/// Percentile mapped to 1 (near).
pub const HIGH_PERCENTILE: f64 = 0.98;

/// Quantiles and curves read every 4th pixel of every 4th row: ~30,000 samples at 924×518.
const STRIDE: usize = 4;
/// Intervals of the quantile curves between the two percentiles: fine enough for any smooth
/// tone curve, coarse enough that 30,000 samples fill each interval.
const KNOTS: usize = 64;
/// Depth tolerance of the motion-aligned average, in normalised depth: a neighbour's pixel whose
/// depth differs from the frame's by 2× this counts 2 %, so a wrong match cannot drag an edge.
pub const DEPTH_SIGMA: f32 = 0.05;
/// Neighbour pixels the flow explains less than this are skipped (their weight rounds to 0).
pub const MIN_WEIGHT: f32 = 1e-3;

/// How Temporal Stability brings the neighbours to the frame before averaging them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Motion {
    /// Along the optical flow of the source frames, each pixel weighted by how well the flow
    /// explains it.
    Follow,
    /// In place, every pixel at full weight (a locked-off shot; no flow is computed).
    Static,
}

/// The raw maps around a frame, in frame order, and which of them is the frame being rendered.
#[derive(Clone, Copy, Debug)]
pub struct Window<'a> {
    /// Raw depth of the frames in the window, in frame order, all of the same shot and size.
    pub frames: &'a [&'a DepthMap],
    /// Index in `frames` of the frame being rendered.
    pub target: usize,
    /// Frames on each side the window was gathered over (the Window control): a neighbour's
    /// weight fades with its distance over it ([`fade`]).
    pub radius: usize,
}

/// Frame `map` alone mapped to 0–1 by its own robust percentiles (Temporal Stability off).
pub fn normalize(map: &DepthMap) -> Vec<f32> {
    let (low, high) = percentiles(sample_values(map));
    remap(&map.values, low, high)
}

/// A normalised map at model resolution resized (bilinear) to the frame's size.
pub fn to_frame_size(normalized: &[f32], map: &DepthMap, width: usize, height: usize) -> Vec<f32> {
    resize_plane(normalized, map.width, map.height, width, height, Filter::Bilinear)
}

/// The window's target frame, stabilised, at the frame's `size`. `strength` in 0–1 weights the
/// neighbours against the frame itself (faded with distance), in the reference curve and in the
/// average; 0 gives
/// exactly [`normalize`] of the target, resized.
///
/// `follow` brings the neighbours to the frame along the motion: one [`Alignment`] per frame of
/// the window (the target into that frame; the target's own entry is not read), at
/// [`working_size`]`(size, target map size)`. None averages them in place, every pixel at full
/// weight: right for a locked-off shot, where it also needs no flow.
pub fn stabilize(window: &Window<'_>, strength: f32, follow: Option<&[&Alignment]>, size: (usize, usize)) -> Vec<f32> {
    let target = window.frames[window.target];
    let Some(Plan { members, knots, weights, own }) = plan(window, strength) else {
        return to_frame_size(&normalize(target), target, size.0, size.1);
    };
    let work = working_size(size, (target.width, target.height));
    let matched: Vec<Plane> = members
        .par_iter()
        .zip(&knots)
        .map(|(&i, knots)| {
            let map = window.frames[i];
            let values = apply_knots(&map.values, knots);
            Plane { width: work.0, height: work.1, data: resize_plane(&values, map.width, map.height, work.0, work.1, Filter::Bilinear) }
        })
        .collect();

    // 2. The neighbours averaged in, along the motion.
    let centre = &matched[own];
    let pulled: Vec<Option<Plane>> = match follow {
        None => vec![None; matched.len()],
        Some(alignments) => matched.par_iter().enumerate().map(|(k, plane)| (k != own).then(|| warp(plane, &alignments[members[k]].flow))).collect(),
    };
    let mut data = vec![0.0f32; work.0 * work.1];
    data.par_chunks_mut(work.0).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let i = y * work.0 + x;
            let own_depth = centre.data[i];
            let (mut sum, mut total) = (own_depth, 1.0f32);
            for (k, plane) in matched.iter().enumerate() {
                if k == own {
                    continue;
                }
                let (depth, w) = match (follow, &pulled[k]) {
                    (Some(alignments), Some(pulled)) => {
                        let explained = alignments[members[k]].weight.data[i];
                        if explained < MIN_WEIGHT {
                            continue;
                        }
                        let depth = pulled.data[i];
                        let d = (depth - own_depth) / DEPTH_SIGMA;
                        (depth, weights[k] * explained * (-d * d).exp())
                    }
                    _ => (plane.data[i], weights[k]),
                };
                sum += w * depth;
                total += w;
            }
            *out = sum / total;
        }
    });
    if work == size {
        data
    } else {
        resize_plane(&data, work.0, work.1, size.0, size.1, Filter::Bilinear)
    }
}

/// What [`stabilize`] does per pixel, decided from the window's raw maps alone (their quantile
/// curves): the CPU path and the CUDA one (`gpu::motion::stabilize`) follow the same plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The frames of the window that have a tone curve (a flat map has none), in frame order:
    /// indices into [`Window::frames`].
    pub members: Vec<usize>,
    /// Per member: the piecewise-linear map of its raw values onto the window's reference curve,
    /// as knots (raw value ascending, ties merged to the mean of their reference values).
    pub knots: Vec<Vec<(f32, f32)>>,
    /// Per member: its weight in the motion-aligned average (the frame's own: 1).
    pub weights: Vec<f32>,
    /// Index in `members` of the frame being rendered.
    pub own: usize,
}

/// Step 1 of [`stabilize`]: every frame's tone curve, the window's reference curve (their
/// weighted mean) and each frame's map onto it. None when there is nothing to stabilise (Strength
/// 0, or the frame itself is flat): the frame is then [`normalize`]d alone.
pub fn plan(window: &Window<'_>, strength: f32) -> Option<Plan> {
    let curves: Vec<Option<(Vec<f32>, Vec<f64>)>> = window.frames.par_iter().map(|m| curves(m)).collect();
    if curves[window.target].is_none() || strength <= 0.0 {
        return None;
    }
    let weight = |i: usize| if i == window.target { 1.0 } else { strength as f64 * fade(i.abs_diff(window.target), window.radius) };
    let mut reference = vec![0.0f64; KNOTS + 1];
    let mut total = 0.0;
    for (i, curve) in curves.iter().enumerate() {
        if let Some((_, shape)) = curve {
            total += weight(i);
            for (r, c) in reference.iter_mut().zip(shape) {
                *r += weight(i) * c;
            }
        }
    }
    reference.iter_mut().for_each(|r| *r /= total);
    let members: Vec<usize> = (0..window.frames.len()).filter(|&i| curves[i].is_some()).collect();
    let knots = members.iter().map(|&i| knots(&curves[i].as_ref().expect("a member has a curve").0, &reference)).collect();
    let weights = members.iter().map(|&i| weight(i) as f32).collect();
    let own = members.iter().position(|&i| i == window.target).expect("the target has a curve");
    Some(Plan { members, knots, weights, own })
}

/// A neighbour's weight at `distance` frames in a window of `radius`, before Strength: a
/// half cosine, 1 at the frame and 0 one frame beyond the window. Frames enter and leave the
/// window gently, which makes the shared reference curve change less from frame to frame than
/// equal weights would (this taper minimises the squared weight steps for a given support).
fn fade(distance: usize, radius: usize) -> f64 {
    if distance > radius {
        return 0.0;
    }
    (std::f64::consts::FRAC_PI_2 * distance as f64 / (radius + 1) as f64).cos()
}

fn sample_values(map: &DepthMap) -> Vec<f32> {
    (0..map.height).step_by(STRIDE).flat_map(|y| map.values[y * map.width..(y + 1) * map.width].iter().step_by(STRIDE).copied()).collect()
}

/// The low and high percentiles of `values`.
fn percentiles(mut values: Vec<f32>) -> (f64, f64) {
    let Some(last) = values.len().checked_sub(1) else {
        // An empty map (a 0×0 frame) has no spread: everything maps to 0.
        return (0.0, 0.0);
    };
    let rank = |p: f64| (p * last as f64).round() as usize;
    let low = *values.select_nth_unstable_by(rank(LOW_PERCENTILE), f32::total_cmp).1 as f64;
    let high = *values.select_nth_unstable_by(rank(HIGH_PERCENTILE), f32::total_cmp).1 as f64;
    (low, high)
}

fn remap(values: &[f32], low: f64, high: f64) -> Vec<f32> {
    let (low, scale) = (low as f32, if high > low { 1.0 / (high - low) as f32 } else { 0.0 });
    values.par_iter().map(|&v| ((v - low) * scale).clamp(0.0, 1.0)).collect()
}

/// The map's quantiles at `KNOTS + 1` evenly spaced levels from the low to the high percentile
/// (the rank rule of [`percentiles`], so the ends are exactly the values [`normalize`] uses).
fn quantile_curve(map: &DepthMap) -> Vec<f32> {
    let mut values = sample_values(map);
    values.sort_unstable_by(f32::total_cmp);
    let last = values.len() - 1;
    (0..=KNOTS)
        .map(|k| {
            let p = LOW_PERCENTILE + (HIGH_PERCENTILE - LOW_PERCENTILE) * k as f64 / KNOTS as f64;
            values[(p * last as f64).round() as usize]
        })
        .collect()
}

/// The map's quantile curve and that curve normalised to 0 at the low and 1 at the high
/// percentile (the map's shape without its scale and shift). None for a flat map, which has no
/// shape.
fn curves(map: &DepthMap) -> Option<(Vec<f32>, Vec<f64>)> {
    if map.values.is_empty() {
        return None;
    }
    let curve = quantile_curve(map);
    let (low, high) = (curve[0] as f64, curve[KNOTS] as f64);
    (high > low).then(|| {
        let shape = curve.iter().map(|&q| (q as f64 - low) / (high - low)).collect();
        (curve, shape)
    })
}

/// The piecewise-linear map from a map's quantile `curve` to `reference`'s values, as knots:
/// quantiles that tie (a value shared by many pixels) become one knot at the mean of their
/// reference values.
fn knots(curve: &[f32], reference: &[f64]) -> Vec<(f32, f32)> {
    let mut knots: Vec<(f32, f64, usize)> = Vec::with_capacity(curve.len());
    for (&x, &y) in curve.iter().zip(reference) {
        match knots.last_mut() {
            Some((last, sum, n)) if *last == x => {
                *sum += y;
                *n += 1;
            }
            _ => knots.push((x, y, 1)),
        }
    }
    knots.into_iter().map(|(x, sum, n)| (x, (sum / n as f64) as f32)).collect()
}

/// Raw `values` taken onto the reference by [`knots`], clamped to 0–1 outside them.
fn apply_knots(values: &[f32], knots: &[(f32, f32)]) -> Vec<f32> {
    let (first, last) = (knots[0], knots[knots.len() - 1]);
    values
        .par_iter()
        .map(|&v| {
            let y = if v <= first.0 {
                first.1
            } else if v >= last.0 {
                last.1
            } else {
                // knots[j - 1].0 < v <= knots[j].0
                let j = knots.partition_point(|k| k.0 < v);
                let (a, b) = (knots[j - 1], knots[j]);
                a.1 + (b.1 - a.1) * ((v - a.0) / (b.0 - a.0))
            };
            y.clamp(0.0, 1.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized_curve(map: &DepthMap) -> Option<Vec<f64>> {
        curves(map).map(|(_, shape)| shape)
    }

    fn match_curve(map: &DepthMap, reference: &[f64]) -> Vec<f32> {
        apply_knots(&map.values, &knots(&quantile_curve(map), reference))
    }

    /// A static scene: a ground plane receding upwards and a near disc; disparity in 0.2–1.
    fn scene(width: usize, height: usize) -> Vec<f32> {
        let mut values = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let ground = 0.2 + 0.5 * y as f32 / height as f32;
                let (dx, dy) = (x as f32 - width as f32 * 0.4, y as f32 - height as f32 * 0.55);
                let disc = dx * dx + dy * dy < (height as f32 * 0.2).powi(2);
                values.push(if disc { 1.0 } else { ground });
            }
        }
        values
    }

    /// Deterministic pseudo-random numbers in [0, 1).
    fn noise(seed: u64) -> impl FnMut() -> f32 {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    /// What a relative-depth model does to a static shot: per frame an unrelated scale, shift and
    /// gamma (the flicker), plus a little per-pixel noise.
    fn flickering_frames(count: usize, width: usize, height: usize) -> Vec<DepthMap> {
        let base = scene(width, height);
        let mut rng = noise(7);
        (0..count)
            .map(|_| {
                let (scale, shift, gamma) = (0.5 + rng(), 2.0 * rng(), 0.8 + 0.45 * rng());
                let values = base.iter().map(|&d| scale * d.powf(gamma) + shift + 0.01 * (rng() - 0.5)).collect();
                DepthMap { width, height, values }
            })
            .collect()
    }

    fn render(frames: &[DepthMap], t: usize, radius: usize, strength: f32) -> Vec<f32> {
        let (first, last) = (t.saturating_sub(radius), (t + radius).min(frames.len() - 1));
        let window: Vec<&DepthMap> = frames[first..=last].iter().collect();
        let size = (frames[0].width, frames[0].height);
        stabilize(&Window { frames: &window, target: t - first, radius }, strength, None, size)
    }

    fn mean_change(outputs: &[Vec<f32>]) -> f32 {
        let pairs = outputs.windows(2).map(|p| p[0].iter().zip(&p[1]).map(|(a, b)| (a - b).abs()).sum::<f32>() / p[0].len() as f32);
        pairs.sum::<f32>() / (outputs.len() - 1) as f32
    }

    #[test]
    fn empty_maps_normalise_to_empty_maps() {
        let empty = DepthMap { width: 0, height: 0, values: Vec::new() };
        assert!(normalize(&empty).is_empty());
        assert!(stabilize(&Window { frames: &[&empty, &empty], target: 1, radius: 1 }, 0.8, None, (0, 0)).is_empty());
        assert!(to_frame_size(&[], &empty, 0, 0).is_empty());
    }

    #[test]
    fn flicker_on_a_static_shot_is_cut_by_at_least_70_percent() {
        let frames = flickering_frames(48, 96, 54);
        let off: Vec<Vec<f32>> = frames.iter().map(normalize).collect();
        let on: Vec<Vec<f32>> = (0..frames.len()).map(|t| render(&frames, t, 3, 1.0)).collect();
        let (before, after) = (mean_change(&off), mean_change(&on));
        let cut = 1.0 - after / before;
        println!("frame-to-frame change: off {before:.4}, on {after:.4}, cut by {:.1} %", cut * 100.0);
        assert!(cut >= 0.70, "flicker cut by only {:.1} %", cut * 100.0);
        // Still the scene: near disc white, far ground dark.
        let mid = &on[24];
        assert!(mid[54 / 2 * 96 + 38] > 0.95 && mid[2 * 96 + 80] < 0.1);
    }

    #[test]
    fn strength_zero_is_the_unstabilised_frame() {
        let frames = flickering_frames(5, 40, 30);
        assert!(render(&frames, 2, 2, 0.0) == normalize(&frames[2]));
    }

    #[test]
    fn curve_matching_removes_a_tone_curve_without_touching_the_scene() {
        // The same scene under five unrelated scale/shift/gamma curves and no noise: matched to
        // one reference, every frame gives the same map, and that map is the scene's own
        // percentile normalisation bent by one curve only (order kept, nothing blurred).
        let base = scene(64, 48);
        let curves = [(1.0, 0.0, 1.0), (0.6, 1.5, 0.8), (1.4, -0.2, 1.2), (0.9, 0.7, 1.05), (1.2, 0.3, 0.9)];
        let frames: Vec<DepthMap> =
            curves.iter().map(|&(s, t, g): &(f32, f32, f32)| DepthMap { width: 64, height: 48, values: base.iter().map(|&d| s * d.powf(g) + t).collect() }).collect();
        let shapes: Vec<Vec<f64>> = frames.iter().map(|f| normalized_curve(f).unwrap()).collect();
        let reference: Vec<f64> = (0..=KNOTS).map(|k| shapes.iter().map(|c| c[k]).sum::<f64>() / shapes.len() as f64).collect();
        let matched: Vec<Vec<f32>> = frames.iter().map(|f| match_curve(f, &reference)).collect();
        for m in &matched[1..] {
            let worst = m.iter().zip(&matched[0]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            // Within a knot interval the curves are matched linearly: close, not exact.
            assert!(worst < 5e-3, "frames differ by {worst} after matching");
        }
        let order_kept = base.iter().zip(&matched[0]).all(|(&a, &m)| base.iter().zip(&matched[0]).all(|(&b, &n)| a <= b || m >= n));
        assert!(order_kept, "matching keeps depth order");
    }

    #[test]
    fn a_flicker_free_window_changes_nothing() {
        // Identical raw maps (and identity motion): the reference is the frame's own curve, so
        // stabilising gives the per-frame normalisation.
        let frame = DepthMap { width: 64, height: 48, values: scene(64, 48) };
        let window = [&frame, &frame, &frame];
        let identity = crate::Alignment::identity(64, 48);
        let alignments = [&identity, &identity, &identity];
        let off = normalize(&frame);
        for follow in [None, Some(&alignments[..])] {
            let on = stabilize(&Window { frames: &window, target: 1, radius: 1 }, 0.8, follow, (64, 48));
            let worst = on.iter().zip(&off).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "differs by {worst}");
        }
    }

    #[test]
    fn a_neighbour_pixel_the_flow_does_not_explain_is_not_used() {
        // The neighbour is another picture entirely; with zero weight everywhere it must not count.
        let frame = DepthMap { width: 40, height: 30, values: scene(40, 30) };
        let other = DepthMap { width: 40, height: 30, values: scene(40, 30).iter().rev().copied().collect() };
        let mut unexplained = crate::Alignment::identity(40, 30);
        unexplained.weight.data.iter_mut().for_each(|w| *w = 0.0);
        let identity = crate::Alignment::identity(40, 30);
        let window = [&frame, &other];
        let on = stabilize(&Window { frames: &window, target: 0, radius: 1 }, 1.0, Some(&[&identity, &unexplained]), (40, 30));
        // What is left is the frame's own values on the shared reference curve.
        let reference: Vec<f64> = normalized_curve(&frame).unwrap().iter().zip(&normalized_curve(&other).unwrap()).map(|(a, b)| (a + b * fade(1, 1)) / (1.0 + fade(1, 1))).collect();
        let own = match_curve(&frame, &reference);
        let worst = on.iter().zip(&own).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "differs by {worst}");
    }
}
