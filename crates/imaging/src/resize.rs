//! Image to tensor and back: separable resizing and ImageNet normalisation, multi-threaded.
//!
//! The conventions are those of the models' reference code, so our tensors match theirs:
//! half-pixel centres (`align_corners=False`), edge pixels repeated past the border, no
//! anti-aliasing when shrinking (as OpenCV's `INTER_LINEAR`/`INTER_CUBIC` and PyTorch's
//! `interpolate`), cubic coefficient a = −0.75 (OpenCV's and PyTorch's bicubic).
//! `models/reference_u2netp.py` implements the same filters in numpy for the reference tests.
//!
//! SAM 2's reference resizes frames with PIL instead (`Image.resize`, bicubic by default, which
//! *does* anti-alias when shrinking, with a = −0.5): [`resize_to_planes_pil_bicubic`] is that filter,
//! for SAM 2's encoder input only. Its CUDA twin is `gpu::ops::image_to_planes_pil_bicubic`
//! (crates/gpu/kernels/resize.cu), which computes the same taps in the same double arithmetic.

use rayon::prelude::*;

/// ImageNet channel means (RGB) used by Depth Anything, U²-Netp and SAM 2.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Interpolation filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Two taps per axis.
    Bilinear,
    /// Four taps per axis, Keys cubic with a = −0.75.
    Bicubic,
}

/// For each output position along one axis: the source indices and weights it reads.
struct Taps {
    per_output: usize,
    index: Vec<usize>,
    weight: Vec<f32>,
}

impl Taps {
    fn new(filter: Filter, src: usize, dst: usize) -> Taps {
        let per_output = match filter {
            Filter::Bilinear => 2,
            Filter::Bicubic => 4,
        };
        let mut taps = Taps { per_output, index: Vec::with_capacity(dst * per_output), weight: Vec::with_capacity(dst * per_output) };
        let last = src as i64 - 1;
        // The half-pixel centre (d + 0.5)·src/dst − 0.5 = ((2d + 1)·src − dst) / (2·dst), split into
        // its floor and fraction in integers: exact, and what the CUDA twin (prelude.cuh) computes.
        let den = 2 * dst as i64;
        for d in 0..dst {
            let num = (2 * d as i64 + 1) * src as i64 - dst as i64;
            let floor = num.div_euclid(den);
            let t = num.rem_euclid(den) as f64 / den as f64;
            let (first, weights): (i64, Vec<f64>) = match filter {
                Filter::Bilinear if num < 0 => (0, vec![1.0, 0.0]),
                Filter::Bilinear => (floor, vec![1.0 - t, t]),
                Filter::Bicubic => (floor - 1, vec![cubic(1.0 + t), cubic(t), cubic(1.0 - t), cubic(2.0 - t)]),
            };
            for (k, w) in weights.into_iter().enumerate() {
                taps.index.push((first + k as i64).clamp(0, last) as usize);
                taps.weight.push(w as f32);
            }
        }
        taps
    }

    /// PIL's bicubic (`ImagingResample`): Keys a = −0.5 stretched by the shrink factor (so it
    /// averages every source pixel it covers), taps past the border dropped and the rest
    /// renormalised.
    fn pil_bicubic(src: usize, dst: usize) -> Taps {
        let scale = src as f64 / dst as f64;
        let stretch = scale.max(1.0);
        let support = PIL_BICUBIC_SUPPORT * stretch;
        let per_output = pil_bicubic_taps_per_output(src, dst);
        let mut taps = Taps { per_output, index: Vec::with_capacity(dst * per_output), weight: Vec::with_capacity(dst * per_output) };
        for d in 0..dst {
            let centre = (d as f64 + 0.5) * scale;
            let first = ((centre - support + 0.5) as i64).max(0) as usize;
            let end = ((centre + support + 0.5) as i64).min(src as i64) as usize;
            let weights: Vec<f64> = (first..end).map(|x| pil_cubic((x as f64 - centre + 0.5) / stretch)).collect();
            let total: f64 = weights.iter().sum();
            for k in 0..per_output {
                let w = weights.get(k).map_or(0.0, |w| if total != 0.0 { w / total } else { 0.0 });
                taps.index.push((first + k).min(src - 1));
                taps.weight.push(w as f32);
            }
        }
        taps
    }

    fn of(&self, output: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let range = output * self.per_output..(output + 1) * self.per_output;
        self.index[range.clone()].iter().copied().zip(self.weight[range].iter().copied())
    }
}

/// PIL's bicubic support radius in source pixels before stretching (its `bicubic_filter`).
const PIL_BICUBIC_SUPPORT: f64 = 2.0;

/// How many taps each output position of PIL's bicubic from `src` to `dst` samples reads (the
/// support stretched by the shrink factor, both sides, plus one; positions that reach fewer source
/// pixels pad with zero weights). The CUDA twin sizes its tap tables with it.
pub fn pil_bicubic_taps_per_output(src: usize, dst: usize) -> usize {
    let support = PIL_BICUBIC_SUPPORT * (src as f64 / dst as f64).max(1.0);
    (support.ceil() as usize) * 2 + 1
}

/// Keys' cubic convolution kernel with a = −0.75, for |x| ≤ 2.
fn cubic(x: f64) -> f64 {
    const A: f64 = -0.75;
    let x = x.abs();
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    }
}

/// PIL's bicubic kernel, a = −0.5.
fn pil_cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// [`resize_to_planes`] with PIL's bicubic filter (anti-aliased when shrinking): SAM 2's reference
/// pre-processing (`sam2/utils/misc.py`, `Image.resize((1024, 1024))`), on float pixels.
#[allow(clippy::too_many_arguments)]
pub fn resize_to_planes_pil_bicubic(src: &[f32], width: usize, height: usize, channels: usize, keep: usize, new_width: usize, new_height: usize) -> Vec<f32> {
    assert_eq!(src.len(), width * height * channels, "image size does not match its dimensions");
    assert!(keep <= channels, "cannot keep {keep} of {channels} channels");
    if width == 0 || height == 0 || new_width == 0 || new_height == 0 {
        return vec![0.0; keep * new_width * new_height];
    }
    let (across, down) = (Taps::pil_bicubic(width, new_width), Taps::pil_bicubic(height, new_height));
    resize_with(src, width, height, channels, keep, new_width, new_height, &across, &down)
}

/// Resizes an interleaved image of `channels` channels to `new_width`×`new_height`, keeping its first
/// `keep` channels, and returns them as planes (`keep` planes of `new_width * new_height`), the layout
/// a CHW tensor needs.
#[allow(clippy::too_many_arguments)]
pub fn resize_to_planes(
    src: &[f32],
    width: usize,
    height: usize,
    channels: usize,
    keep: usize,
    new_width: usize,
    new_height: usize,
    filter: Filter,
) -> Vec<f32> {
    assert_eq!(src.len(), width * height * channels, "image size does not match its dimensions");
    assert!(keep <= channels, "cannot keep {keep} of {channels} channels");
    if width == 0 || height == 0 || new_width == 0 || new_height == 0 {
        // Nothing to sample from, or nothing to make: an empty frame resizes to black.
        return vec![0.0; keep * new_width * new_height];
    }
    let across = Taps::new(filter, width, new_width);
    let down = Taps::new(filter, height, new_height);
    resize_with(src, width, height, channels, keep, new_width, new_height, &across, &down)
}

/// The two separable passes with the given taps, then the kept channels as planes.
#[allow(clippy::too_many_arguments)]
fn resize_with(src: &[f32], width: usize, height: usize, channels: usize, keep: usize, new_width: usize, new_height: usize, across: &Taps, down: &Taps) -> Vec<f32> {
    // Horizontal pass first, on the source rows before the image shrinks vertically. The kept
    // channels stay interleaved so each source pixel is read once for all of them.
    let mut rows = vec![0.0f32; height * new_width * keep];
    rows.par_chunks_mut(new_width * keep).enumerate().for_each(|(y, row)| {
        let line = &src[y * width * channels..(y + 1) * width * channels];
        match keep {
            1 => horizontal::<1>(line, channels, across, row),
            3 => horizontal::<3>(line, channels, across, row),
            4 => horizontal::<4>(line, channels, across, row),
            _ => horizontal_any(line, channels, keep, across, row),
        }
    });

    // Vertical pass on whole interleaved rows: contiguous multiply-adds the compiler vectorises.
    let mut resized = vec![0.0f32; new_height * new_width * keep];
    resized.par_chunks_mut(new_width * keep).enumerate().for_each(|(y, row)| {
        for (sy, w) in down.of(y) {
            for (out, v) in row.iter_mut().zip(&rows[sy * new_width * keep..(sy + 1) * new_width * keep]) {
                *out += w * v;
            }
        }
    });
    if keep == 1 {
        return resized;
    }

    let mut planes = vec![0.0f32; keep * new_height * new_width];
    planes.par_chunks_mut(new_width).enumerate().for_each(|(i, row)| {
        let (c, y) = (i / new_height, i % new_height);
        let line = &resized[y * new_width * keep..(y + 1) * new_width * keep];
        for (out, pixel) in row.iter_mut().zip(line.chunks_exact(keep)) {
            *out = pixel[c];
        }
    });
    planes
}

/// One row of the horizontal pass for `K` kept channels, known at compile time so the channel loop
/// unrolls (the common cases: a plane, RGB of RGB(A)).
fn horizontal<const K: usize>(line: &[f32], channels: usize, across: &Taps, row: &mut [f32]) {
    let n = across.per_output;
    for (x, out) in row.chunks_exact_mut(K).enumerate() {
        let mut acc = [0.0f32; K];
        for k in x * n..(x + 1) * n {
            let (w, p) = (across.weight[k], across.index[k] * channels);
            let pixel = &line[p..p + K];
            for c in 0..K {
                acc[c] += w * pixel[c];
            }
        }
        out.copy_from_slice(&acc);
    }
}

/// [`horizontal`] for any number of kept channels.
fn horizontal_any(line: &[f32], channels: usize, keep: usize, across: &Taps, row: &mut [f32]) {
    for (x, out) in row.chunks_exact_mut(keep).enumerate() {
        for (sx, w) in across.of(x) {
            for (o, v) in out.iter_mut().zip(&line[sx * channels..sx * channels + keep]) {
                *o += w * v;
            }
        }
    }
}

/// Resizes one plane (a single-channel image).
pub fn resize_plane(src: &[f32], width: usize, height: usize, new_width: usize, new_height: usize, filter: Filter) -> Vec<f32> {
    resize_to_planes(src, width, height, 1, 1, new_width, new_height, filter)
}

/// Normalises RGB planes in place: `(x - mean[c]) / std[c]` on plane `c`.
pub fn normalize_planes(planes: &mut [f32], mean: [f32; 3], std: [f32; 3]) {
    let plane_len = planes.len() / 3;
    if plane_len == 0 {
        return;
    }
    planes.par_chunks_mut(plane_len).enumerate().for_each(|(c, plane)| {
        let (m, s) = (mean[c], 1.0 / std[c]);
        plane.iter_mut().for_each(|v| *v = (*v - m) * s);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_identity_size_is_exact() {
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            let taps = Taps::new(filter, 37, 11);
            for o in 0..11 {
                let sum: f32 = taps.of(o).map(|(_, w)| w).sum();
                assert!((sum - 1.0).abs() < 1e-6, "{filter:?} {o}: {sum}");
            }
            let src: Vec<f32> = (0..5 * 4 * 3).map(|v| v as f32).collect();
            assert_eq!(resize_to_planes(&src, 5, 4, 3, 3, 5, 4, filter)[..20], (0..20).map(|i| (i * 3) as f32).collect::<Vec<_>>()[..]);
        }
    }

    #[test]
    fn pil_bicubic_averages_what_it_shrinks_and_keeps_constants() {
        // Shrinking 4:1 a line every 4 pixels gives its mean, 0.25 (no aliasing), where the
        // unfiltered bicubic sees the line only at its negative lobe.
        let src: Vec<f32> = (0..64).map(|x| f32::from(x % 4 == 0)).collect();
        let pil = resize_to_planes_pil_bicubic(&src, 64, 1, 1, 1, 16, 1);
        assert!(pil[2..14].iter().all(|v| (v - 0.25).abs() < 0.01), "{pil:?}");
        let plain = resize_plane(&src, 64, 1, 16, 1, Filter::Bicubic);
        assert!(plain[2..14].iter().all(|v| (v - 0.25).abs() > 0.2), "{plain:?}");
        let flat = vec![0.3f32; 7 * 5 * 4];
        assert!(resize_to_planes_pil_bicubic(&flat, 7, 5, 4, 3, 23, 2).iter().all(|v| (v - 0.3).abs() < 1e-6));
        let taps = Taps::pil_bicubic(1920, 1024);
        for o in 0..1024 {
            let sum: f32 = taps.of(o).map(|(_, w)| w).sum();
            assert!((sum - 1.0).abs() < 1e-5, "{o}: {sum}");
        }
    }

    #[test]
    fn bilinear_doubling_matches_half_pixel_convention() {
        // align_corners=False: output 1 of a 2→4 upscale samples source x = 0.25.
        let out = resize_plane(&[0.0, 1.0], 2, 1, 4, 1, Filter::Bilinear);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn empty_sizes_give_empty_or_black_results() {
        assert!(resize_plane(&[], 0, 0, 0, 0, Filter::Bilinear).is_empty());
        assert!(resize_plane(&[], 0, 5, 3, 2, Filter::Bicubic).iter().all(|&v| v == 0.0));
        assert_eq!(resize_plane(&[], 0, 5, 3, 2, Filter::Bicubic).len(), 6);
        assert!(resize_plane(&[1.0, 2.0], 2, 1, 0, 7, Filter::Bilinear).is_empty());
        assert!(resize_to_planes(&[], 0, 0, 4, 3, 0, 0, Filter::Bicubic).is_empty());
        normalize_planes(&mut [], IMAGENET_MEAN, IMAGENET_STD);
    }

    #[test]
    fn keeps_requested_channels_as_planes() {
        let rgba = [1.0, 2.0, 3.0, 9.0, 1.0, 2.0, 3.0, 9.0];
        let planes = resize_to_planes(&rgba, 2, 1, 4, 3, 3, 2, Filter::Bicubic);
        let expect: Vec<f32> = [1.0f32, 2.0, 3.0].iter().flat_map(|&v| [v; 6]).collect();
        for (a, b) in planes.iter().zip(&expect) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
