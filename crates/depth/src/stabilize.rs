//! From raw depth to a 0–1 map (near = 1), per frame or stabilised over a window of frames.
//!
//! Relative-depth models drift in scale and shift (and a little in shape) from frame to frame, and
//! normalising each frame by its own min/max turns that drift into flicker. Stabilising frame t
//! uses only the raw maps of the frames around it, which the caller fetches by frame number:
//! 1. each neighbour is aligned to frame t by a robust (Huber, iteratively reweighted) least-squares
//!    scale and shift; a neighbour that does not fit (a cut) is left out;
//! 2. the aligned maps are averaged, the neighbours weighted by the strength;
//! 3. the result is normalised by the 2nd and 98th percentiles of all aligned maps of the window.
//!
//! Every step is a pure function of the window's maps in frame order (no state, no parallel float
//! reductions), so frame t renders the same whatever order the host renders frames in.

use imaging::resize::{resize_plane, Filter};
use rayon::prelude::*;

use crate::DepthMap;

/// Percentile mapped to 0 (far).
pub const LOW_PERCENTILE: f64 = 0.02;
/// Percentile mapped to 1 (near).
pub const HIGH_PERCENTILE: f64 = 0.98;

/// Fits and percentiles read every 4th pixel of every 4th row: ~30,000 samples at 924×518.
const STRIDE: usize = 4;
/// Huber threshold in robust standard deviations (95 % efficiency on Gaussian residuals).
const HUBER: f64 = 1.345;
/// Reweighting rounds; the fit settles in 3–5 on real drift.
const ROUNDS: usize = 8;
/// A neighbour whose median alignment error exceeds this fraction of frame t's depth range is
/// another shot (a cut, a flash) and is left out.
const CUT: f64 = 0.15;

/// The raw maps around a frame, in frame order, and which of them is the frame being rendered.
#[derive(Clone, Copy, Debug)]
pub struct Window<'a> {
    /// Raw depth of the frames in the window, in frame order (missing frames at the ends of a clip
    /// are simply absent).
    pub frames: &'a [&'a DepthMap],
    /// Index in `frames` of the frame being rendered.
    pub target: usize,
}

/// Frame `map` alone mapped to 0–1 by its own robust percentiles (Temporal Stability off).
pub fn normalize(map: &DepthMap) -> Vec<f32> {
    let (low, high) = percentiles(sample(map));
    remap(&map.values, low, high)
}

/// The window's target frame, aligned with its neighbours and mapped to 0–1 by percentiles shared
/// across the window. `strength` in 0–1 weights the neighbours against the frame itself; 0 gives
/// exactly [`normalize`] of the target.
pub fn stabilize(window: &Window<'_>, strength: f32) -> Vec<f32> {
    let target = window.frames[window.target];
    if target.values.is_empty() {
        return Vec::new();
    }
    let target_samples = sample(target);
    let (low, high) = percentiles(target_samples.clone());
    let range = (high - low).max(f64::EPSILON);

    // (map, scale, shift, weight) of every frame taking part, the target first.
    let mut members: Vec<(&DepthMap, f64, f64, f64)> = vec![(target, 1.0, 0.0, 1.0)];
    if strength > 0.0 {
        for (i, &frame) in window.frames.iter().enumerate() {
            if i == window.target || (frame.width, frame.height) != (target.width, target.height) {
                continue;
            }
            let fit = robust_fit(&sample(frame), &target_samples);
            // Depth order cannot invert within a shot: a negative scale means another shot too.
            if fit.scale > 0.0 && fit.median_error <= CUT * range {
                members.push((frame, fit.scale, fit.shift, strength as f64));
            }
        }
    }

    let mut pooled = Vec::with_capacity(target_samples.len() * members.len());
    for &(map, scale, shift, _) in &members {
        pooled.extend(sample(map).iter().map(|&v| (scale * v as f64 + shift) as f32));
    }
    let (low, high) = percentiles(pooled);

    let total: f64 = members.iter().map(|m| m.3).sum();
    let mut combined = vec![0.0f32; target.values.len()];
    combined.par_chunks_mut(target.width).enumerate().for_each(|(y, row)| {
        let start = y * target.width;
        for (x, out) in row.iter_mut().enumerate() {
            let sum: f64 = members.iter().map(|&(m, s, b, w)| w * (s * m.values[start + x] as f64 + b)).sum();
            *out = (sum / total) as f32;
        }
    });
    remap(&combined, low, high)
}

/// A normalised map at model resolution resized (bilinear) to the frame's size.
pub fn to_frame_size(normalized: &[f32], map: &DepthMap, width: usize, height: usize) -> Vec<f32> {
    resize_plane(normalized, map.width, map.height, width, height, Filter::Bilinear)
}

fn sample(map: &DepthMap) -> Vec<f32> {
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

struct Fit {
    scale: f64,
    shift: f64,
    median_error: f64,
}

/// Scale and shift taking `x` onto `y` by Huber-weighted least squares (IRLS).
fn robust_fit(x: &[f32], y: &[f32]) -> Fit {
    let mut weights = vec![1.0f64; x.len()];
    let mut fit = Fit { scale: 1.0, shift: 0.0, median_error: f64::INFINITY };
    let mut errors = vec![0.0f64; x.len()];
    for _ in 0..ROUNDS {
        let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&xi, &yi), &w) in x.iter().zip(y).zip(&weights) {
            let (xi, yi) = (xi as f64, yi as f64);
            sw += w;
            sx += w * xi;
            sy += w * yi;
            sxx += w * xi * xi;
            sxy += w * xi * yi;
        }
        let det = sw * sxx - sx * sx;
        fit.scale = if det.abs() > f64::EPSILON * sw * sxx { (sw * sxy - sx * sy) / det } else { 0.0 };
        fit.shift = (sy - fit.scale * sx) / sw;
        for ((e, &xi), &yi) in errors.iter_mut().zip(x).zip(y) {
            *e = (fit.scale * xi as f64 + fit.shift - yi as f64).abs();
        }
        let mut sorted = errors.clone();
        let middle = sorted.len() / 2;
        fit.median_error = *sorted.select_nth_unstable_by(middle, f64::total_cmp).1;
        let threshold = (HUBER * 1.4826 * fit.median_error).max(1e-12);
        for (w, &e) in weights.iter_mut().zip(&errors) {
            *w = if e <= threshold { 1.0 } else { threshold / e };
        }
    }
    fit
}

#[cfg(test)]
mod tests {
    use super::*;

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
        stabilize(&Window { frames: &window, target: t - first }, strength)
    }

    fn mean_change(outputs: &[Vec<f32>]) -> f32 {
        let pairs = outputs.windows(2).map(|p| p[0].iter().zip(&p[1]).map(|(a, b)| (a - b).abs()).sum::<f32>() / p[0].len() as f32);
        pairs.sum::<f32>() / (outputs.len() - 1) as f32
    }

    #[test]
    fn empty_maps_normalise_to_empty_maps() {
        let empty = DepthMap { width: 0, height: 0, values: Vec::new() };
        assert!(normalize(&empty).is_empty());
        assert!(stabilize(&Window { frames: &[&empty, &empty], target: 1 }, 0.8).is_empty());
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
    fn a_neighbour_from_another_shot_is_left_out() {
        let mut frames = flickering_frames(5, 40, 30);
        let other: Vec<f32> = scene(40, 30).iter().rev().copied().collect();
        frames[3].values = other;
        let with_cut = render(&frames, 2, 2, 1.0);
        let without: Vec<DepthMap> = frames.iter().enumerate().filter(|(i, _)| *i != 3).map(|(_, f)| f.clone()).collect();
        assert!(with_cut == render(&without, 2, 2, 1.0), "the cut frame changed the output");
    }

    #[test]
    fn robust_fit_ignores_outliers() {
        let x: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let mut y: Vec<f32> = x.iter().map(|v| 3.0 * v - 0.5).collect();
        for v in y.iter_mut().step_by(10) {
            *v += 5.0; // 10 % of the samples are wrong
        }
        let fit = robust_fit(&x, &y);
        assert!((fit.scale - 3.0).abs() < 1e-3 && (fit.shift + 0.5).abs() < 1e-3, "{} {}", fit.scale, fit.shift);
    }
}
