//! Depth Map's per-pixel post-process, and the histogram normalisation its CUDA path uses: the CPU
//! twins of `crates/gpu/kernels/depth_post.cu`.
//!
//! The CPU path normalises with exact percentiles of the strided samples (crates/depth); a device
//! cannot sort cheaply, so the CUDA path bins the same samples into [`HISTOGRAM_BINS`] bins between
//! their minimum and maximum and interpolates within the bin: the result is within one bin width,
//! (max − min) / 4096, of the exact percentile.

use crate::MatteLevels;

/// Every `SAMPLE_STRIDE`-th column of every `SAMPLE_STRIDE`-th row is sampled (as crates/depth does).
pub const SAMPLE_STRIDE: usize = 4;
/// Histogram bins between the samples' minimum and maximum.
pub const HISTOGRAM_BINS: usize = 4096;
/// The robust range's percentiles (crates/depth's).
pub const LOW_PERCENTILE: f64 = 0.02;
pub const HIGH_PERCENTILE: f64 = 0.98;

/// Isolate Specific Depth: a band around a target depth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IsolateBand {
    pub target: f32,
    pub tolerance: f32,
    pub softness: f32,
}

impl IsolateBand {
    /// 1 within `tolerance` of the target, falling linearly to 0 over `softness` beyond it.
    pub fn apply(&self, d: f32) -> f32 {
        let distance = (d - self.target).abs() - self.tolerance;
        if distance <= 0.0 {
            1.0
        } else if self.softness <= 0.0 {
            0.0
        } else {
            (1.0 - distance / self.softness).max(0.0)
        }
    }
}

/// The remap's (offset, scale) from the 2/98 % histogram percentiles of the strided samples of a
/// `width`-wide plane: `(v − offset) · scale` maps the range onto 0..1 (scale 0 for a flat map).
/// NaN samples are left out.
pub fn histogram_range(values: &[f32], width: usize, height: usize) -> (f32, f32) {
    let samples: Vec<f32> = (0..height)
        .step_by(SAMPLE_STRIDE)
        .flat_map(|y| values[y * width..(y + 1) * width].iter().step_by(SAMPLE_STRIDE).copied())
        .filter(|v| !v.is_nan())
        .collect();
    let (lo, hi) = samples.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = (lo as f64, hi as f64);
    let mut counts = vec![0u32; HISTOGRAM_BINS];
    for &v in &samples {
        let bin = if hi > lo { ((v as f64 - lo) * (HISTOGRAM_BINS as f64 / (hi - lo))) as i32 } else { 0 };
        counts[bin.clamp(0, HISTOGRAM_BINS as i32 - 1) as usize] += 1;
    }
    let n = samples.len() as u64;
    let at = |p: f64| {
        if n == 0 {
            return 0.0;
        }
        let rank = (p * (n - 1) as f64).round() as u64;
        let mut before = 0u64;
        for (b, &c) in counts.iter().enumerate() {
            if rank < before + u64::from(c) {
                return lo + (b as f64 + ((rank - before) as f64 + 0.5) / f64::from(c)) * ((hi - lo) / HISTOGRAM_BINS as f64);
            }
            before += u64::from(c);
        }
        0.0
    };
    let (low, high) = (at(LOW_PERCENTILE), at(HIGH_PERCENTILE));
    (low as f32, if high > low { (1.0 / (high - low)) as f32 } else { 0.0 })
}

/// Per pixel: the remap by `range` (when given, clamped to 0..1), the levels, then for a matte
/// (`matte` = Some((isolate, invert))) Isolate and Invert.
pub fn depth_matte(plane: &mut [f32], range: Option<(f32, f32)>, levels: MatteLevels, matte: Option<(Option<IsolateBand>, bool)>) {
    let levels = levels.prepared();
    for d in plane.iter_mut() {
        let mut v = *d;
        if let Some((offset, scale)) = range {
            // max/min as the kernel's fmaxf/fminf: a NaN becomes 0 (clamp would keep it).
            #[allow(clippy::manual_clamp)]
            {
                v = ((v - offset) * scale).max(0.0).min(1.0);
            }
        }
        v = levels.apply(v);
        if let Some((isolate, invert)) = matte {
            if let Some(band) = isolate {
                v = band.apply(v);
            }
            if invert {
                v = 1.0 - v;
            }
        }
        *d = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_range_is_within_a_bin_of_the_exact_percentiles() {
        let (w, h) = (203, 117);
        let values: Vec<f32> = (0..w * h).map(|i| ((i as u64 * 2654435761) % 100_003) as f32 / 1000.0).collect();
        let mut samples: Vec<f32> =
            (0..h).step_by(SAMPLE_STRIDE).flat_map(|y| values[y * w..(y + 1) * w].iter().step_by(SAMPLE_STRIDE).copied()).collect();
        samples.sort_by(f32::total_cmp);
        let last = samples.len() - 1;
        let exact = |p: f64| samples[(p * last as f64).round() as usize];
        let bin = (samples[last] - samples[0]) / HISTOGRAM_BINS as f32;
        let (offset, scale) = histogram_range(&values, w, h);
        assert!((offset - exact(LOW_PERCENTILE)).abs() <= bin, "{offset} vs {}", exact(LOW_PERCENTILE));
        let high = offset + 1.0 / scale;
        assert!((high - exact(HIGH_PERCENTILE)).abs() <= 2.0 * bin, "{high} vs {}", exact(HIGH_PERCENTILE));
        assert_eq!(histogram_range(&[0.5; 64], 8, 8), (0.5, 0.0), "a flat map has no range");
    }

    #[test]
    fn isolate_band_is_flat_then_linear() {
        let band = IsolateBand { target: 0.5, tolerance: 0.1, softness: 0.2 };
        assert_eq!(band.apply(0.55), 1.0);
        assert!((band.apply(0.7) - 0.5).abs() < 1e-6);
        assert_eq!(band.apply(0.95), 0.0);
    }
}
