//! Depth Anything V2 Small, from a frame to its raw depth map, following the reference
//! pre-processing (`image2tensor` in the official `dpt.py`): RGB in [0, 1], bicubic resize so the short
//! side is 518 (Better) or 266 (Faster) and the long side the nearest multiple of 14, ImageNet
//! mean/std, CHW with a batch axis. The output stays at model resolution; see [`crate::to_frame_size`].

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use inference::image::{normalize_planes, resize_to_planes, Filter, IMAGENET_MEAN, IMAGENET_STD};
use inference::{BackendReport, Contract, Dim, InferenceError, Model, Runtime, SessionOptions, TensorSpec, TensorView};

use crate::{CacheKey, DepthCache, DepthMap};

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

/// The model input size (width, height) for a frame: the short side is the quality's, the long side
/// the multiple of 14 nearest to keeping the aspect ratio (1920×1080 at Better → 924×518).
pub fn inference_size(width: usize, height: usize, quality: Quality) -> (usize, usize) {
    let short = quality.short_side();
    let long_for = |long: usize, short_in: usize| {
        let exact = long as f64 * short as f64 / short_in as f64;
        ((exact / PATCH as f64).round() as usize).max(1) * PATCH
    };
    if width >= height {
        (long_for(width, height), short)
    } else {
        (short, long_for(height, width))
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

/// A Depth Anything V2 model with its depth cache, shared by every Depth Map instance using the file.
pub struct DepthEstimator {
    model: Arc<Model>,
    cache: DepthCache,
    inferences: AtomicU64,
    /// Frames whose depth a thread is computing now: hosts render neighbouring frames on several
    /// threads, and their temporal windows overlap, so without this two threads would run the
    /// model on the same frame one after the other.
    in_flight: Mutex<HashSet<CacheKey>>,
    finished: Condvar,
}

/// Removes a frame from the in-flight set when its computation ends, even by an error.
struct InFlight<'a> {
    estimator: &'a DepthEstimator,
    key: CacheKey,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.estimator.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.key);
        self.estimator.finished.notify_all();
    }
}

/// One estimator per opened model, so instances of the effect share one cache.
static ESTIMATORS: Mutex<Vec<Arc<DepthEstimator>>> = Mutex::new(Vec::new());

impl DepthEstimator {
    /// The estimator for the model at `path` (opened and contract-checked by `runtime`), shared
    /// process-wide with every caller that opens the same file with the same options.
    pub fn shared(runtime: &Runtime, path: &Path, options: &SessionOptions) -> Result<Arc<DepthEstimator>, InferenceError> {
        let model = runtime.open(path, &CONTRACT, options)?;
        let mut estimators = ESTIMATORS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = estimators.iter().find(|e| Arc::ptr_eq(&e.model, &model)) {
            return Ok(found.clone());
        }
        let estimator = Arc::new(DepthEstimator::new(model, CACHE_BUDGET_BYTES));
        estimators.push(estimator.clone());
        Ok(estimator)
    }

    /// Empties the depth cache of every shared estimator (the host asked to free memory); the
    /// models stay open.
    pub fn purge_shared_caches() {
        for estimator in ESTIMATORS.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            estimator.cache.clear();
        }
    }

    /// An estimator of its own (not shared) over an opened model, with a cache of `cache_budget_bytes`.
    pub fn new(model: Arc<Model>, cache_budget_bytes: usize) -> DepthEstimator {
        DepthEstimator {
            model,
            cache: DepthCache::new(cache_budget_bytes),
            inferences: AtomicU64::new(0),
            in_flight: Mutex::new(HashSet::new()),
            finished: Condvar::new(),
        }
    }

    /// The backend the model runs on and why faster ones are not used.
    pub fn backend(&self) -> &BackendReport {
        self.model.backend()
    }

    /// How many times the model has run (cache misses), for tests and benchmarks.
    pub fn inferences(&self) -> u64 {
        self.inferences.load(Ordering::Relaxed)
    }

    /// The raw depth of `frame` at `quality`, from the cache when these pixels were seen before.
    pub fn depth(&self, frame: &Frame<'_>, quality: Quality) -> Result<Arc<DepthMap>, InferenceError> {
        let content = CacheKey::new(frame, quality);
        self.cached_or(content, || Ok(self.estimate(frame, quality)?.0))
    }

    /// The raw depth of the frame with content hash `content` at `quality`: from the cache, or
    /// from the model on the pixels `frame` makes (only called on a miss).
    pub fn depth_of(
        &self,
        content: u128,
        quality: Quality,
        frame: impl FnOnce() -> (Vec<f32>, usize, usize),
    ) -> Result<Arc<DepthMap>, InferenceError> {
        self.cached_or(CacheKey::from_content(content, quality), || {
            let (pixels, width, height) = frame();
            Ok(self.estimate(&Frame { pixels: &pixels, width, height, channels: 4 }, quality)?.0)
        })
    }

    /// The cached map for `key`, else `compute`'s, computed by one thread at a time per key: a
    /// thread that finds the key in flight waits for it and then reads the cache.
    fn cached_or(&self, key: CacheKey, compute: impl FnOnce() -> Result<DepthMap, InferenceError>) -> Result<Arc<DepthMap>, InferenceError> {
        loop {
            if let Some(map) = self.cache.get(&key) {
                return Ok(map);
            }
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if !in_flight.contains(&key) {
                in_flight.insert(key);
                break;
            }
            // Another thread is on it: wait, then look in the cache again (if it failed, this
            // thread takes the key over).
            drop(self.finished.wait_while(in_flight, |set| set.contains(&key)).unwrap_or_else(|p| p.into_inner()));
        }
        let _in_flight = InFlight { estimator: self, key };
        let map = Arc::new(compute()?);
        self.cache.insert(key, map.clone());
        Ok(map)
    }

    /// Runs the model on `frame` without the cache, timing each step.
    pub fn estimate(&self, frame: &Frame<'_>, quality: Quality) -> Result<(DepthMap, Timings), InferenceError> {
        let start = Instant::now();
        let (input, width, height) = preprocess(frame, quality);
        let preprocessed = Instant::now();
        let mut outputs = self.model.run(&[TensorView { shape: &[1, 3, height, width], data: &input }])?;
        self.inferences.fetch_add(1, Ordering::Relaxed);
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
        for (w, h) in [(4096, 2160), (720, 576), (10, 3000)] {
            for q in [Quality::Faster, Quality::Better] {
                let (iw, ih) = inference_size(w, h, q);
                assert_eq!((iw % PATCH, ih % PATCH), (0, 0));
                assert_eq!(iw.min(ih), q.short_side());
            }
        }
    }
}
