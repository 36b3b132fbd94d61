//! Single-channel float planes (depth maps, mattes) and the refinements applied to them:
//! expand/contract, blur and an edge-aware guided filter. Every pass is separable and O(1) per
//! pixel in its radius (running sums, van Herk/Gil-Werman min/max), so a 50-pixel radius costs
//! what a 1-pixel one does.

use rayon::prelude::*;

/// A row-major single-channel image.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    /// A plane of `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Plane {
        Plane { width, height, data: vec![value; width * height] }
    }

    /// A plane of `value` whose size comes from outside (a host's image bounds): an impossible
    /// size or a failed allocation is an error the caller can report, never an abort.
    pub fn try_filled(width: usize, height: usize, value: f32) -> Result<Plane, crate::AllocError> {
        let n = width.checked_mul(height).ok_or(crate::AllocError { width, height })?;
        let mut data = Vec::new();
        data.try_reserve_exact(n).map_err(|_| crate::AllocError { width, height })?;
        data.resize(n, value);
        Ok(Plane { width, height, data })
    }

    /// The largest radius that changes anything: a window this wide already covers every row
    /// and column, so larger radii from a control are cut to it (bounding time and memory).
    fn reach(&self) -> usize {
        self.width.max(self.height)
    }

    /// Value at (x, y).
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Applies `f` to every value in parallel.
    pub fn map(&mut self, f: impl Fn(f32) -> f32 + Sync) {
        self.data.par_iter_mut().for_each(|v| *v = f(*v));
    }

    /// The plane with rows and columns swapped (separable passes run along rows only).
    fn transposed(&self) -> Plane {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0.0; w * h];
        out.par_chunks_mut(h).enumerate().for_each(|(x, col)| {
            for (y, v) in col.iter_mut().enumerate() {
                *v = self.data[y * w + x];
            }
        });
        Plane { width: h, height: w, data: out }
    }

    /// Runs `pass` on every row, then on every column.
    fn separable(&mut self, pass: impl Fn(&mut [f32]) + Sync) {
        let w = self.width;
        self.data.par_chunks_mut(w).for_each(&pass);
        let mut t = self.transposed();
        let h = t.width;
        t.data.par_chunks_mut(h).for_each(&pass);
        *self = t.transposed();
    }
}

/// Sliding max (or min) of a row over `[i − r, i + r]`, edges clamped (van Herk/Gil-Werman).
fn sliding_extreme(row: &mut [f32], r: usize, take_max: bool) {
    let n = row.len();
    if r == 0 || n == 0 {
        return;
    }
    // A window of the whole row gives the row's extreme everywhere; wider ones give the same.
    let r = r.min(n);
    let pick = |a: f32, b: f32| if take_max { a.max(b) } else { a.min(b) };
    let k = 2 * r + 1;
    // Pad by r on each side with edge values, so every window is whole.
    let padded: Vec<f32> = (0..n + 2 * r).map(|i| row[i.saturating_sub(r).min(n - 1)]).collect();
    let m = padded.len();
    let mut prefix = padded.clone();
    let mut suffix = padded.clone();
    for i in 1..m {
        if i % k != 0 {
            prefix[i] = pick(prefix[i - 1], padded[i]);
        }
    }
    for i in (0..m - 1).rev() {
        if (i + 1) % k != 0 {
            suffix[i] = pick(suffix[i + 1], padded[i]);
        }
    }
    for (i, v) in row.iter_mut().enumerate() {
        // Window in padded coordinates: [i, i + 2r].
        *v = pick(suffix[i], prefix[i + 2 * r]);
    }
}

/// Grows (`radius` > 0) or shrinks (`radius` < 0) the bright areas by `radius` pixels with a
/// square structuring element. A fractional radius blends the two nearest whole radii, so the
/// control animates smoothly.
pub fn expand_contract(plane: &mut Plane, radius: f32) {
    if radius == 0.0 || radius.is_nan() || plane.data.is_empty() {
        return;
    }
    let take_max = radius > 0.0;
    // Beyond the plane's size every window holds the whole plane: same result, bounded cost.
    let r = radius.abs().min(plane.reach() as f32);
    let (lo, frac) = (r.floor() as usize, r.fract());
    let run = |radius: usize| {
        let mut p = plane.clone();
        p.separable(|row| sliding_extreme(row, radius, take_max));
        p
    };
    let low = run(lo);
    if frac == 0.0 {
        *plane = low;
        return;
    }
    let high = run(lo + 1);
    plane.data.par_iter_mut().zip(low.data.par_iter().zip(&high.data)).for_each(|(v, (a, b))| *v = a + (b - a) * frac);
}

/// Box mean of a row over `[i − r, i + r]`, edges clamped, by running sum.
fn box_mean(row: &mut [f32], r: usize) {
    let n = row.len();
    if r == 0 || n == 0 {
        return;
    }
    // The running sum's set-up costs O(r): a radius past the row's length (where the window
    // is nearly all repeated edge values) is cut to it, so a huge control value cannot hang.
    let r = r.min(n);
    let src: Vec<f32> = row.to_vec();
    let at = |i: isize| src[i.clamp(0, n as isize - 1) as usize] as f64;
    let mut sum: f64 = (-(r as isize)..=r as isize).map(at).sum();
    let norm = 1.0 / (2 * r + 1) as f64;
    for i in 0..n as isize {
        row[i as usize] = (sum * norm) as f32;
        sum += at(i + r as isize + 1) - at(i - r as isize);
    }
}

/// Box blur of radius `r` in both directions.
pub fn box_blur(plane: &mut Plane, r: usize) {
    if r > 0 && !plane.data.is_empty() {
        plane.separable(|row| box_mean(row, r));
    }
}

/// Gaussian-like blur of standard deviation `sigma` pixels: three box passes whose widths match
/// the Gaussian's variance (Wells 1986), so the cost does not grow with the radius.
pub fn gaussian_blur(plane: &mut Plane, sigma: f32) {
    let Some(r) = gaussian_box_radius(sigma, plane.reach()) else { return };
    if plane.data.is_empty() {
        return;
    }
    for _ in 0..3 {
        box_blur(plane, r);
    }
}

/// The radius of each of [`gaussian_blur`]'s three box passes for `sigma`, or None below half a
/// pixel (no blur). The CUDA twin runs the same passes.
/// `reach` is the plane's larger side: a wider blur changes nothing more (bounded cost).
pub fn gaussian_box_radius(sigma: f32, reach: usize) -> Option<usize> {
    if sigma.is_nan() || sigma < 0.5 {
        return None;
    }
    let sigma = sigma.min(reach as f32);
    // Each box of radius r adds r(r+1)/3 to the variance.
    let per_pass = (sigma * sigma) as f64 / 3.0;
    Some(((-1.0 + (1.0 + 12.0 * per_pass).sqrt()) / 2.0).round().max(1.0) as usize)
}

/// Edge-aware smoothing of `plane` guided by `guide` (He et al., "Guided Image Filtering"):
/// the result follows the guide's edges (hair, fine detail) while flattening the plane
/// elsewhere. `eps` sets how strong an edge must be to be kept (in guide value² units).
pub fn guided_filter(plane: &mut Plane, guide: &Plane, radius: usize, eps: f32) {
    assert_eq!((plane.width, plane.height), (guide.width, guide.height), "guide and plane sizes");
    if radius == 0 || plane.data.is_empty() {
        return;
    }
    let mean = |p: &Plane| {
        let mut p = p.clone();
        box_blur(&mut p, radius);
        p
    };
    let product = |a: &Plane, b: &Plane| Plane {
        width: a.width,
        height: a.height,
        data: a.data.par_iter().zip(&b.data).map(|(x, y)| x * y).collect(),
    };
    let mean_i = mean(guide);
    let mean_p = mean(plane);
    let corr_ip = mean(&product(guide, plane));
    let var_i = mean(&product(guide, guide));
    let n = plane.data.len();
    let mut a = Plane::filled(plane.width, plane.height, 0.0);
    let mut b = Plane::filled(plane.width, plane.height, 0.0);
    a.data.par_iter_mut().zip(b.data.par_iter_mut()).enumerate().for_each(|(i, (a, b))| {
        let var = var_i.data[i] - mean_i.data[i] * mean_i.data[i];
        let cov = corr_ip.data[i] - mean_i.data[i] * mean_p.data[i];
        *a = cov / (var + eps);
        *b = mean_p.data[i] - *a * mean_i.data[i];
    });
    let (a, b) = (mean(&a), mean(&b));
    plane.data = (0..n).into_par_iter().map(|i| a.data[i] * guide.data[i] + b.data[i]).collect();
}

/// A stored 16-bit coverage mask (Magic Mask's store) as a matte plane in 0..1.
pub fn coverage_plane(width: usize, height: usize, coverage: &[u16]) -> Plane {
    Plane { width, height, data: coverage.iter().map(|&c| f32::from(c) / 65535.0).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_plane(w: usize, h: usize) -> Plane {
        let data = (0..w * h).map(|i| ((i * 7919) % 101) as f32 / 100.0).collect();
        Plane { width: w, height: h, data }
    }

    /// Brute force over the square window, edges clamped.
    fn naive(p: &Plane, r: isize, f: impl Fn(&[f32]) -> f32) -> Plane {
        let (w, h) = (p.width as isize, p.height as isize);
        let mut out = p.clone();
        for y in 0..h {
            for x in 0..w {
                let mut vals = Vec::new();
                for dy in -r..=r {
                    for dx in -r..=r {
                        vals.push(p.at((x + dx).clamp(0, w - 1) as usize, (y + dy).clamp(0, h - 1) as usize));
                    }
                }
                out.data[(y * w + x) as usize] = f(&vals);
            }
        }
        out
    }

    #[test]
    fn expand_and_contract_match_brute_force() {
        let p = test_plane(23, 17);
        for r in [1usize, 2, 5] {
            let mut grown = p.clone();
            expand_contract(&mut grown, r as f32);
            assert_eq!(grown, naive(&p, r as isize, |v| v.iter().copied().fold(f32::MIN, f32::max)), "expand {r}");
            let mut shrunk = p.clone();
            expand_contract(&mut shrunk, -(r as f32));
            assert_eq!(shrunk, naive(&p, r as isize, |v| v.iter().copied().fold(f32::MAX, f32::min)), "contract {r}");
        }
    }

    #[test]
    fn radii_from_hostile_controls_finish_and_stay_finite() {
        let p = test_plane(31, 7);
        let global_max = p.data.iter().copied().fold(f32::MIN, f32::max);
        let global_min = p.data.iter().copied().fold(f32::MAX, f32::min);
        for radius in [1e9f32, f32::INFINITY, 2147483647.0] {
            let mut grown = p.clone();
            expand_contract(&mut grown, radius);
            assert!(grown.data.iter().all(|&v| v == global_max), "expand {radius}: the whole plane is its max");
            let mut shrunk = p.clone();
            expand_contract(&mut shrunk, -radius);
            assert!(shrunk.data.iter().all(|&v| v == global_min), "contract {radius}");
            let mut blurred = p.clone();
            gaussian_blur(&mut blurred, radius);
            assert!(blurred.data.iter().all(|v| v.is_finite() && (global_min..=global_max).contains(v)), "blur {radius}");
            let mut boxed = p.clone();
            box_blur(&mut boxed, radius as usize);
            assert!(boxed.data.iter().all(|v| v.is_finite()), "box {radius}");
        }
        for radius in [f32::NAN, -f32::NAN] {
            let mut q = p.clone();
            expand_contract(&mut q, radius);
            gaussian_blur(&mut q, radius);
            assert_eq!(q, p, "NaN radius: nothing to do");
        }
        let guide = test_plane(31, 7);
        let mut q = p.clone();
        guided_filter(&mut q, &guide, usize::MAX, 1e-3);
        assert!(q.data.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        assert!(Plane::try_filled(usize::MAX, 2, 0.0).is_err());
        assert!(Plane::try_filled(1 << 40, 1 << 20, 0.0).is_err(), "8 EB: refused");
        assert_eq!(Plane::try_filled(3, 2, 0.5).unwrap(), Plane::filled(3, 2, 0.5));
        assert_eq!(Plane::try_filled(0, 0, 0.5).unwrap().data.len(), 0);
    }

    #[test]
    fn fractional_radius_blends_neighbours() {
        let p = test_plane(12, 9);
        let (mut one, mut two, mut half) = (p.clone(), p.clone(), p.clone());
        expand_contract(&mut one, 1.0);
        expand_contract(&mut two, 2.0);
        expand_contract(&mut half, 1.5);
        for i in 0..p.data.len() {
            assert!((half.data[i] - (one.data[i] + two.data[i]) / 2.0).abs() < 1e-6);
        }
    }

    #[test]
    fn box_blur_matches_brute_force() {
        let p = test_plane(19, 14);
        let mut b = p.clone();
        box_blur(&mut b, 3);
        let want = naive(&p, 3, |v| v.iter().sum::<f32>() / v.len() as f32);
        for (g, w) in b.data.iter().zip(&want.data) {
            assert!((g - w).abs() < 1e-5, "{g} vs {w}");
        }
    }

    #[test]
    fn gaussian_blur_keeps_the_mean_and_smooths() {
        let p = test_plane(64, 48);
        let mut b = p.clone();
        gaussian_blur(&mut b, 4.0);
        let mean = |d: &[f32]| d.iter().map(|&v| v as f64).sum::<f64>() / d.len() as f64;
        let var = |d: &[f32]| {
            let m = mean(d);
            d.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / d.len() as f64
        };
        assert!((mean(&b.data) - mean(&p.data)).abs() < 0.01);
        assert!(var(&b.data) < var(&p.data) / 20.0, "noise variance drops");
    }

    #[test]
    fn guided_filter_keeps_guide_edges_and_flattens_noise() {
        // A step edge in the guide; the plane is the same step plus noise.
        let (w, h) = (40, 20);
        let guide = Plane { width: w, height: h, data: (0..w * h).map(|i| if i % w < 20 { 0.0 } else { 1.0 }).collect() };
        let noisy: Vec<f32> = (0..w * h).map(|i| guide.data[i] + ((i * 37) % 11) as f32 / 110.0 - 0.045).collect();
        let mut p = Plane { width: w, height: h, data: noisy.clone() };
        guided_filter(&mut p, &guide, 4, 1e-3);
        let err = |d: &[f32]| d.iter().zip(&guide.data).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err(&p.data) < err(&noisy) / 2.0, "noise halves: {} vs {}", err(&p.data), err(&noisy));
        // The edge stays sharp: columns 19 and 20 stay apart.
        assert!(p.at(20, 10) - p.at(19, 10) > 0.8);
    }
}
