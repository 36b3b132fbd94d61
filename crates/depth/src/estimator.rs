//! Depth Anything V2 Small, from a frame to its raw depth map, following the reference
//! pre-processing (`image2tensor` in the official `dpt.py`): RGB in [0, 1], bicubic resize so the short
//! side is 518 (Better) or 266 (Faster) and the long side the nearest multiple of 14, ImageNet
//! mean/std, CHW with a batch axis. The output stays at model resolution; see [`crate::to_frame_size`].

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imaging::resize::{normalize_planes, resize_to_planes, Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{encode_for_network, SourceColour};
use inference::{BackendReport, Contract, Dim, InferenceError, Model, Runtime, SessionOptions, TensorSpec, TensorView};

use crate::{CacheKey, DepthCache, DepthMap};

impl SharedDepth {
    fn new(cache_budget_bytes: usize) -> SharedDepth {
        SharedDepth { cache: DepthCache::new(cache_budget_bytes), inferences: AtomicU64::new(0) }
    }
}

/// The depth model's file name in the model folder (public interface of the Depth Map effect).
pub const FILE: &str = "depth_anything_v2_small.onnx";

/// Input `image` (or `pixel_values`) f32 [1,3,H,W], output `depth` (or `predicted_depth`) f32
/// [1,H,W], H and W dynamic: the widely used exports and the Optimum one both pass.
pub const CONTRACT: Contract = Contract {
    name: "Depth Anything V2",
    inputs: &[TensorSpec {
        names: &["image", "pixel_values"],
        dims: &[("batch", Dim::Fixed(1)), ("channels", Dim::Fixed(3)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
    }],
    outputs: &[TensorSpec {
        names: &["depth", "predicted_depth"],
        dims: &[("batch", Dim::Fixed(1)), ("H", Dim::Dynamic), ("W", Dim::Dynamic)],
    }],
};

/// The ViT-S patch size: the model's input sides must be multiples of it.
const PATCH: usize = 14;

/// Default budget of the depth cache: ~130 raw maps at Better quality for 16:9 (1.9 MB each).
const CACHE_BUDGET_BYTES: usize = 256 << 20;

/// The effect's Quality control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    /// Short side 266 (19 patches): about 4× fewer pixels than Better.
    Faster,
    /// Short side 518 (37 patches), the resolution the model was trained at.
    Better,
}

impl Quality {
    /// The model input's short side in pixels.
    pub fn short_side(self) -> usize {
        match self {
            Quality::Faster => 19 * PATCH,
            Quality::Better => 37 * PATCH,
        }
    }
}

/// An interleaved frame with 3 (RGB) or 4 (RGBA) channels in [0, 1]; the engine reads RGB only.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Row-major, interleaved samples.
    pub pixels: &'a [f32],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Samples per pixel (3 or 4).
    pub channels: usize,
}

/// Where the time of one uncached depth estimate went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Resize, normalise, lay out as CHW.
    pub preprocess: Duration,
    /// The model run, including reading its output.
    pub inference: Duration,
}

/// The widest aspect ratio the model sees at its full short side: 4:1 holds every delivery
/// format (2.39:1 scope, 32:9 panoramas at 3.56:1).
const MAX_ASPECT: usize = 4;

/// The model input size (width, height) for a frame: the short side is the quality's, the long side
/// the multiple of 14 nearest to keeping the aspect ratio (1920×1080 at Better → 924×518).
///
/// Both sides are bounded whatever the frame: the long side is at most [`MAX_ASPECT`] times the
/// quality's short side, and a frame more extreme than that (a 131×1 strip, a 16:1 banner) keeps
/// its aspect ratio by shrinking the short side instead (never below one patch). Without the cap
/// a 131×1 source would make a 518 × 67,858 input.
pub fn inference_size(width: usize, height: usize, quality: Quality) -> (usize, usize) {
    let short = quality.short_side();
    let max_long = MAX_ASPECT * short;
    let patches = |exact: f64| ((exact / PATCH as f64).round().max(1.0) as usize) * PATCH;
    let sides = |long_in: usize, short_in: usize| {
        let (long_in, short_in) = (long_in.max(1) as f64, short_in.max(1) as f64);
        let long = patches(long_in * short as f64 / short_in);
        if long <= max_long {
            (long, short)
        } else {
            (max_long, patches(max_long as f64 * short_in / long_in).min(short))
        }
    };
    if width >= height {
        sides(width, height)
    } else {
        let (long, short) = sides(height, width);
        (short, long)
    }
}

/// The [1,3,H,W] input tensor for `frame` at `quality`, and its (width, height).
pub fn preprocess(frame: &Frame<'_>, quality: Quality) -> (Vec<f32>, usize, usize) {
    let (width, height) = inference_size(frame.width, frame.height, quality);
    let mut planes =
        resize_to_planes(frame.pixels, frame.width, frame.height, frame.channels, 3, width, height, Filter::Bicubic);
    normalize_planes(&mut planes, IMAGENET_MEAN, IMAGENET_STD);
    (planes, width, height)
}

/// A Depth Anything V2 model with its depth cache. [`DepthEstimator::shared`] hands every caller
/// of one model file the same cache; the model itself is held only as long as the estimator is, so
/// the process-wide budget can close a model no render uses (its cache stays, for when it reopens).
pub struct DepthEstimator {
    model: Arc<Model>,
    shared: Arc<SharedDepth>,
}

/// What outlives one render: the raw-depth cache and the run count.
struct SharedDepth {
    cache: DepthCache,
    inferences: AtomicU64,
}

/// The cache of each model file ([`Model::identity`]), so instances of the effect share one.
static SHARED: Mutex<Vec<(u64, Arc<SharedDepth>)>> = Mutex::new(Vec::new());

impl DepthEstimator {
    /// The estimator for the model at `path` (opened and contract-checked by `runtime`), sharing
    /// its depth cache with every caller that opens the same file with the same options. Hold it
    /// for one render, not longer: it keeps the model open.
    pub fn shared(runtime: &Runtime, path: &Path, options: &SessionOptions) -> Result<Arc<DepthEstimator>, InferenceError> {
        let model = runtime.open(path, &CONTRACT, options)?;
        let identity = model.identity();
        let mut registry = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        // Caches of files that changed or are gone, emptied by the budget and used by no one.
        registry.retain(|(id, s)| *id == identity || !s.cache.is_empty() || Arc::strong_count(s) > 1);
        let shared = match registry.iter().find(|(id, _)| *id == identity) {
            Some((_, shared)) => shared.clone(),
            None => {
                let shared = Arc::new(SharedDepth::new(CACHE_BUDGET_BYTES));
                registry.push((identity, shared.clone()));
                shared
            }
        };
        Ok(Arc::new(DepthEstimator { model, shared }))
    }

    /// An estimator of its own (not shared) over an opened model, with a cache of `cache_budget_bytes`.
    pub fn new(model: Arc<Model>, cache_budget_bytes: usize) -> DepthEstimator {
        DepthEstimator { model, shared: Arc::new(SharedDepth::new(cache_budget_bytes)) }
    }

    /// Whether `other` shares this estimator's depth cache.
    pub fn shares_cache_with(&self, other: &DepthEstimator) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The backend the model runs on and why faster ones are not used.
    pub fn backend(&self) -> &BackendReport {
        self.model.backend()
    }

    /// How many times the model has run (cache misses), for tests and benchmarks.
    pub fn inferences(&self) -> u64 {
        self.shared.inferences.load(Ordering::Relaxed)
    }

    /// The raw depth of `frame` at `quality`, from the cache when these pixels were seen before.
    pub fn depth(&self, frame: &Frame<'_>, quality: Quality) -> Result<Arc<DepthMap>, InferenceError> {
        let content = CacheKey::new(frame, quality);
        self.shared.cache.get_or_compute(&content, || Ok(self.estimate(frame, quality)?.0))
    }

    /// The raw depth of the frame with content hash `content` at `quality`: from the cache, or
    /// from the model on the RGBA pixels `frame` makes (only called on a miss), which are
    /// `colour` and are encoded for the network in place ([`imaging::encode_for_network`]) before
    /// the pre-process resizes them. One thread at a time computes a frame; others asking for it
    /// wait and read the cache.
    pub fn depth_of(
        &self,
        content: u128,
        quality: Quality,
        colour: SourceColour,
        frame: impl FnOnce() -> (Vec<f32>, usize, usize),
    ) -> Result<Arc<DepthMap>, InferenceError> {
        self.shared.cache.get_or_compute(&CacheKey::from_content(content, quality, colour), || {
            let (mut pixels, width, height) = frame();
            encode_for_network(&mut pixels, colour);
            Ok(self.estimate(&Frame { pixels: &pixels, width, height, channels: 4 }, quality)?.0)
        })
    }

    /// Runs the model on `frame` without the cache, timing each step.
    pub fn estimate(&self, frame: &Frame<'_>, quality: Quality) -> Result<(DepthMap, Timings), InferenceError> {
        let start = Instant::now();
        let (input, width, height) = preprocess(frame, quality);
        let preprocessed = Instant::now();
        let mut outputs = self.model.run(&[TensorView { shape: &[1, 3, height, width], data: &input }])?;
        self.shared.inferences.fetch_add(1, Ordering::Relaxed);
        let depth = outputs.swap_remove(0);
        let (out_height, out_width) = match depth.shape[..] {
            [_, h, w] => (h, w),
            _ => unreachable!("the contract fixes the output's rank at 3"),
        };
        let map = DepthMap { width: out_width, height: out_height, values: depth.data };
        let timings = Timings { preprocess: preprocessed - start, inference: preprocessed.elapsed() };
        Ok((map, timings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_reference_rule() {
        assert_eq!(inference_size(1920, 1080, Quality::Better), (924, 518));
        assert_eq!(inference_size(1080, 1920, Quality::Better), (518, 924));
        assert_eq!(inference_size(1920, 1080, Quality::Faster), (476, 266));
        assert_eq!(inference_size(512, 512, Quality::Better), (518, 518));
        for (w, h) in [(4096, 2160), (720, 576), (2000, 600)] {
            for q in [Quality::Faster, Quality::Better] {
                let (iw, ih) = inference_size(w, h, q);
                assert_eq!((iw % PATCH, ih % PATCH), (0, 0));
                assert_eq!(iw.min(ih), q.short_side());
            }
        }
    }

    #[test]
    fn extreme_aspect_ratios_are_bounded_on_both_sides() {
        for q in [Quality::Faster, Quality::Better] {
            let max_long = MAX_ASPECT * q.short_side();
            for (w, h) in [(131, 1), (1, 131), (1, 1), (1, 100_000), (100_000, 1), (1600, 100), (100, 1600), (0, 0), (0, 7)] {
                let (iw, ih) = inference_size(w, h, q);
                assert!(iw.max(ih) <= max_long && iw.min(ih) <= q.short_side(), "{w}×{h} at {q:?} → {iw}×{ih}");
                assert!(iw >= PATCH && ih >= PATCH && iw % PATCH == 0 && ih % PATCH == 0, "{w}×{h} → {iw}×{ih}");
            }
            // 16:1 keeps its aspect ratio (within a patch) rather than being squashed to 4:1.
            let (iw, ih) = inference_size(1600, 100, q);
            assert_eq!(iw, max_long);
            assert!((iw as f64 / ih as f64 - 16.0).abs() < 16.0 * PATCH as f64 / ih as f64, "{iw}×{ih}");
        }
        assert_eq!(inference_size(131, 1, Quality::Better), (2072, 14));
    }
}
