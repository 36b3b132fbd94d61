//! What Temporal Stability knows about motion, all of it from the source frames (never from the
//! depth, which is what is being corrected): where each pixel of a frame is in a neighbour
//! (optical flow) and how far to trust that ([`Alignment`]), and where one shot ends and the next
//! begins ([`Signature`], [`same_shot`]).
//!
//! Both are computed on the source's luma at the stabiliser's working size ([`working_size`]):
//! the depth has no detail finer than the model's resolution, so a flow at 1080p would cost 4×
//! for nothing. They are cached by the content of the frames ([`MotionCache`]), so moving any
//! slider, Strength included, computes no flow again.

use std::convert::Infallible;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use imaging::resize::{resize_plane, Filter};
use imaging::{confidence, optical_flow, shrink_area, Flow, Plane};
use inference::budget::Lru;

/// Luma histogram bins of a [`Signature`].
const BINS: usize = 64;
/// Two consecutive frames whose luma histograms differ by more than this (L1 distance between
/// normalised histograms, 0–2) are in different shots: a pan or zoom replaces a few percent of
/// the picture per frame (distance ~0.02–0.1), a cut to another look most of it.
pub const CUT_DISTANCE: f32 = 0.5;
/// Width of a [`Signature`]'s thumbnail (its height keeps the frame's aspect).
const THUMB_WIDTH: usize = 16;
/// Thumbnail shifts tried, in thumbnail pixels each way: motion up to 1/8 of the frame width
/// per frame still finds its match.
const THUMB_SHIFT: i32 = 2;
/// Two consecutive frames whose thumbnails correlate less than this at the best shift are in
/// different shots, even when their histograms agree (a cut between two shots of one scene or
/// one palette). The same shot moving correlates above ~0.9; unrelated pictures near 0.
pub const CUT_CORRELATION: f32 = 0.5;
/// Thumbnails with less contrast than this (luma standard deviation) have no layout to compare.
const FLAT: f32 = 1e-3;

/// Flows computed in this process (each [`align`] runs two), for tests and benchmarks.
static FLOWS: AtomicU64 = AtomicU64::new(0);

/// How many optical flows this process has computed (cached renders compute none).
pub fn flows_computed() -> u64 {
    FLOWS.load(Ordering::Relaxed)
}

/// The size the stabiliser works at for a frame of `frame` size whose raw depth is `map` size:
/// the smaller of the two (by pixel count). Larger frames gain nothing (the depth is no finer
/// than the model's output); smaller ones are cheaper and their output needs no second resize.
pub fn working_size(frame: (usize, usize), map: (usize, usize)) -> (usize, usize) {
    if frame.0 * frame.1 <= map.0 * map.1 {
        frame
    } else {
        map
    }
}

/// What [`same_shot`] compares: a frame's luma histogram (its tones, whatever moves) and a
/// thumbnail (its layout, compared at the best small shift so motion does not count).
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    histogram: [f32; BINS],
    thumbnail: Plane,
}

impl Signature {
    /// The signature of a frame's luma: its normalised histogram (values clamped to 0–1, each
    /// split linearly between its two nearest bins, so sensor noise does not flip values between
    /// bins) and its area-averaged thumbnail, normalised to zero mean and unit deviation (so an
    /// exposure change does not count as a cut).
    pub fn of(luma: &Plane) -> Signature {
        let mut histogram = [0.0f64; BINS];
        for &v in &luma.data {
            let position = v.clamp(0.0, 1.0) * (BINS - 1) as f32;
            let low = (position as usize).min(BINS - 2);
            let frac = (position - low as f32) as f64;
            histogram[low] += 1.0 - frac;
            histogram[low + 1] += frac;
        }
        let total = luma.data.len().max(1) as f64;
        let width = THUMB_WIDTH.min(luma.width).max(1);
        let height = ((luma.height * width) as f64 / luma.width.max(1) as f64).round().clamp(1.0, luma.height.max(1) as f64) as usize;
        let mut thumbnail = if luma.data.is_empty() { Plane::filled(width, height, 0.0) } else { shrink_area(luma, width, height) };
        let n = thumbnail.data.len() as f32;
        let mean = thumbnail.data.iter().sum::<f32>() / n;
        let deviation = (thumbnail.data.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt();
        let scale = if deviation > FLAT { 1.0 / deviation } else { 0.0 };
        thumbnail.data.iter_mut().for_each(|v| *v = (*v - mean) * scale);
        Signature { histogram: histogram.map(|h| (h / total) as f32), thumbnail }
    }

    /// L1 distance between the histograms (0 = same tones, 2 = disjoint).
    pub fn distance(&self, other: &Signature) -> f32 {
        self.histogram.iter().zip(&other.histogram).map(|(a, b)| (a - b).abs()).sum()
    }

    /// Correlation of the thumbnails at the best shift of up to [`THUMB_SHIFT`] pixels, over
    /// their overlap (1 = same layout); 1 when either is flat (nothing to compare).
    pub fn correlation(&self, other: &Signature) -> f32 {
        let (a, b) = (&self.thumbnail, &other.thumbnail);
        let flat = |p: &Plane| p.data.iter().all(|&v| v == 0.0);
        if (a.width, a.height) != (b.width, b.height) || flat(a) || flat(b) {
            return 1.0;
        }
        let (w, h) = (a.width as i32, a.height as i32);
        let mut best = f32::MIN;
        for dy in -THUMB_SHIFT..=THUMB_SHIFT {
            for dx in -THUMB_SHIFT..=THUMB_SHIFT {
                let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
                for y in 0.max(-dy)..h.min(h - dy) {
                    for x in 0.max(-dx)..w.min(w - dx) {
                        let (va, vb) = (a.at(x as usize, y as usize), b.at((x + dx) as usize, (y + dy) as usize));
                        ab += va * vb;
                        aa += va * va;
                        bb += vb * vb;
                    }
                }
                if aa > 0.0 && bb > 0.0 {
                    best = best.max(ab / (aa * bb).sqrt());
                }
            }
        }
        best
    }

    /// Whether the frame after this one (`next`) starts another shot.
    pub fn is_cut(&self, next: &Signature) -> bool {
        self.distance(next) > CUT_DISTANCE || self.correlation(next) < CUT_CORRELATION
    }
}

/// The frames of `signatures` (consecutive frames in frame order) in the same shot as
/// `target`: the run around it with no cut between neighbours.
pub fn same_shot(signatures: &[&Signature], target: usize) -> Range<usize> {
    let cut = |i: usize| signatures[i].is_cut(signatures[i + 1]);
    let mut first = target;
    while first > 0 && !cut(first - 1) {
        first -= 1;
    }
    let mut last = target;
    while last + 1 < signatures.len() && !cut(last) {
        last += 1;
    }
    first..last + 1
}

/// Where each pixel of one frame is in another, and how well that explains it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    /// Flow from the frame to the other.
    pub flow: Flow,
    /// Per pixel of the frame, 0–1: how well the flow explains it ([`imaging::confidence`]);
    /// 0 where it is occluded, disoccluded or moves unlike its surroundings.
    pub weight: Plane,
}

impl Alignment {
    /// A frame against itself: no motion, full weight.
    pub fn identity(width: usize, height: usize) -> Alignment {
        Alignment { flow: Flow::zero(width, height), weight: Plane::filled(width, height, 1.0) }
    }

    fn bytes(&self) -> usize {
        self.flow.bytes() + self.weight.data.len() * std::mem::size_of::<f32>()
    }
}

/// Frames whose long side exceeds this are aligned at half size and the result scaled up: the
/// flow of a 924×518 working frame (1080p) costs a quarter, and the depth it warps, upsampled by
/// the model's head from 14-pixel patches, has no motion detail the half-size flow misses.
pub const FLOW_SIDE: usize = 512;

/// Whether [`align`] computes the flows of frames of this size at half of it (the CUDA twin,
/// `gpu::motion::align`, asks here).
pub fn aligns_at_half(width: usize, height: usize) -> bool {
    width.max(height) > FLOW_SIDE && width >= 2 && height >= 2
}

/// Counts `n` optical flows computed elsewhere (on the device) in [`flows_computed`].
pub fn count_flows(n: u64) {
    FLOWS.fetch_add(n, Ordering::Relaxed);
}

/// The alignments of `a` into `b` and of `b` into `a` (two flows; each needs the other's for
/// its forward–backward check), at the frames' size, computed at half of it above [`FLOW_SIDE`].
pub fn align(a: &Plane, b: &Plane) -> (Alignment, Alignment) {
    let (w, h) = (a.width, a.height);
    if !aligns_at_half(w, h) {
        return align_at_size(a, b);
    }
    let (hw, hh) = (w / 2, h / 2);
    let (small_a, small_b) = (shrink_area(a, hw, hh), shrink_area(b, hw, hh));
    let (forward, backward) = align_at_size(&small_a, &small_b);
    let grow = |alignment: Alignment| Alignment {
        flow: alignment.flow.resized(w, h),
        weight: Plane { width: w, height: h, data: resize_plane(&alignment.weight.data, hw, hh, w, h, Filter::Bilinear) },
    };
    (grow(forward), grow(backward))
}

fn align_at_size(a: &Plane, b: &Plane) -> (Alignment, Alignment) {
    let (forward, backward) = rayon::join(|| optical_flow(a, b), || optical_flow(b, a));
    FLOWS.fetch_add(2, Ordering::Relaxed);
    let (wa, wb) = rayon::join(|| confidence(a, b, &forward, &backward), || confidence(b, a, &backward, &forward));
    (Alignment { flow: forward, weight: wa }, Alignment { flow: backward, weight: wb })
}

/// Identifies a frame's content at a working size (the caller hashes the source's pixels).
type FrameKey = (u128, (usize, usize));

/// Signatures and alignments of frames by content, least recently used evicted beyond their own
/// budget and the process-wide one ([`inference::budget`], which a purge empties).
pub struct MotionCache {
    signatures: Lru<FrameKey, Signature>,
    alignments: Lru<(FrameKey, u128), Alignment>,
}

/// Bytes charged for a signature (histogram and a 16-wide thumbnail; tiny next to a flow).
const SIGNATURE_BYTES: usize = 4 * (BINS + THUMB_WIDTH * THUMB_WIDTH);

impl MotionCache {
    /// A cache holding at most `budget_bytes` of alignments (and a little for signatures).
    pub fn new(budget_bytes: usize) -> MotionCache {
        MotionCache { signatures: Lru::new(budget_bytes / 64), alignments: Lru::new(budget_bytes) }
    }

    /// The signature of the frame with content hash `content` at `size`; `luma` (its luma at
    /// `size`) is called only when it is not cached.
    pub fn signature(&self, content: u128, size: (usize, usize), luma: impl FnOnce() -> Arc<Plane>) -> Arc<Signature> {
        let computed = self.signatures.get_or_try_insert_with(&(content, size), |_| SIGNATURE_BYTES, || Ok::<_, Infallible>(Signature::of(&luma())));
        match computed {
            Ok(signature) => signature,
            Err(never) => match never {},
        }
    }

    /// How the frame with content `from` maps into the frame with content `to`, at `size`;
    /// `lumas` (both frames' luma at `size`) is called only when it is not cached. Computing one
    /// direction caches the other too; one thread computes a pair while others wanting it wait.
    pub fn alignment(&self, from: u128, to: u128, size: (usize, usize), lumas: impl FnOnce() -> (Arc<Plane>, Arc<Plane>)) -> Arc<Alignment> {
        if from == to {
            return Arc::new(Alignment::identity(size.0, size.1));
        }
        let computed = self.alignments.get_or_try_insert_with(&((from, size), to), Alignment::bytes, || {
            let (a, b) = lumas();
            let (forward, backward) = align(&a, &b);
            let bytes = backward.bytes();
            self.alignments.insert(((to, size), from), Arc::new(backward), bytes);
            Ok::<_, Infallible>(forward)
        });
        match computed {
            Ok(alignment) => alignment,
            Err(never) => match never {},
        }
    }

    /// Drops everything (the host asked to free memory).
    pub fn clear(&self) {
        self.signatures.clear();
        self.alignments.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: usize, height: usize, offset: f32) -> Plane {
        let data = (0..height).flat_map(|y| (0..width).map(move |x| ((x as f32 + offset) * 0.013 + y as f32 * 0.007).fract())).collect();
        Plane { width, height, data }
    }

    #[test]
    fn a_cut_between_two_shots_of_one_palette_is_found_by_layout() {
        // The same ramp, once horizontal and once vertical: equal histograms, another layout.
        let across = Signature::of(&ramp(64, 36, 0.0));
        let down = Signature::of(&Plane { width: 64, height: 36, data: (0..36).flat_map(|y| (0..64).map(move |x| (y as f32 * 64.0 + x as f32) / 2304.0)).collect() });
        let across2 = Signature::of(&Plane { width: 64, height: 36, data: (0..36).flat_map(|y| (0..64).map(move |x| (x as f32 * 36.0 + y as f32) / 2304.0)).collect() });
        assert!(across2.distance(&down) < 0.05, "same tones");
        assert!(across2.is_cut(&down), "another layout: correlation {}", across2.correlation(&down));
        assert!(!across.is_cut(&Signature::of(&ramp(64, 36, 3.0))), "a pan is not a cut");
    }

    #[test]
    fn a_cut_splits_the_window_and_a_pan_does_not() {
        let pan: Vec<Signature> = (0..4).map(|f| Signature::of(&ramp(64, 36, 6.0 * f as f32))).collect();
        let other = Signature::of(&Plane { width: 64, height: 36, data: (0..64 * 36).map(|i| 0.8 + 0.1 * ((i % 7) as f32 / 7.0)).collect() });
        let window: Vec<&Signature> = vec![&pan[0], &pan[1], &pan[2], &other, &other];
        assert_eq!(same_shot(&window, 1), 0..3);
        assert_eq!(same_shot(&window, 4), 3..5);
        let all: Vec<&Signature> = pan.iter().collect();
        assert_eq!(same_shot(&all, 2), 0..4);
    }

    #[test]
    fn alignments_are_cached_both_ways_and_a_frame_against_itself_runs_no_flow() {
        let cache = MotionCache::new(1 << 24);
        let (a, b) = (Arc::new(ramp(48, 32, 0.0)), Arc::new(ramp(48, 32, 2.0)));
        let calls = std::cell::Cell::new(0);
        let lumas = || {
            calls.set(calls.get() + 1);
            (a.clone(), b.clone())
        };
        let forward = cache.alignment(1, 2, (48, 32), lumas);
        let backward = cache.alignment(2, 1, (48, 32), || unreachable!("cached with the forward one"));
        assert_eq!(calls.get(), 1);
        assert!(Arc::ptr_eq(&forward, &cache.alignment(1, 2, (48, 32), || unreachable!())));
        assert_ne!(forward.flow, backward.flow);
        let same = cache.alignment(3, 3, (48, 32), || unreachable!("a frame against itself needs no flow"));
        assert_eq!(*same, Alignment::identity(48, 32));
        cache.clear();
        cache.alignment(1, 2, (48, 32), || (a.clone(), b.clone()));
    }

    #[test]
    fn a_large_frame_is_aligned_at_half_size_and_comes_back_at_full_size() {
        let texture = |offset: f32| {
            let data = (0..40).flat_map(|y| (0..600).map(move |x| (x as f32 + offset, y as f32)));
            Plane { width: 600, height: 40, data: data.map(|(x, y)| 0.5 + 0.25 * (x * 0.31).sin() * (y * 0.23).cos() + 0.2 * (x * 0.07 + y * 0.11).sin()).collect() }
        };
        let (a, b) = (texture(0.0), texture(4.0));
        let (forward, backward) = align(&a, &b);
        assert_eq!((forward.flow.width, forward.flow.height, forward.weight.data.len()), (600, 40, 600 * 40));
        // Content moves 4 px left from a to b: the interior flow says so at full scale.
        let i = 20 * 600 + 300;
        assert!((forward.flow.dx[i] + 4.0).abs() < 0.3 && (backward.flow.dx[i] - 4.0).abs() < 0.3, "{} {}", forward.flow.dx[i], backward.flow.dx[i]);
    }

    #[test]
    fn working_size_is_the_smaller() {
        assert_eq!(working_size((1920, 1080), (924, 518)), (924, 518));
        assert_eq!(working_size((128, 72), (924, 518)), (128, 72));
    }
}
