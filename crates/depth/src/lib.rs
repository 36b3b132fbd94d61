//! The Depth Map engine: Depth Anything V2 Small from an RGB(A) frame to a normalised depth map
//! (near = 1), with a depth cache and a temporal stabiliser. It knows nothing of OFX, so it is tested
//! on its own; the Depth Map effect feeds it frames and reads maps.
//!
//! A render reads top to bottom as its steps:
//! 1. [`DepthEstimator::depth`]: the raw model output for a frame at model resolution, from the
//!    [`DepthCache`] when the same pixels were seen at the same [`Quality`] and source colour, else
//!    encoding for the network ([`imaging::encode_for_network`]), pre-processing
//!    ([`estimator::preprocess`]), inference and conversion to a [`DepthMap`].
//! 2. [`normalize`] (Temporal Stability off) or [`stabilize`] (on, given the raw maps of the frame's
//!    window): a map in 0–1, near = 1, at model resolution.
//! 3. [`to_frame_size`]: bilinear back to the frame's size; [`FrameDepthCache`] keeps the result
//!    for the next render that gets the same raw maps.

mod cache;
mod frame_cache;
pub mod estimator;
mod motion;
mod stabilize;
pub mod standin;

pub use cache::{CacheKey, DepthCache};
pub use frame_cache::FrameDepthCache;
pub use estimator::{inference_size, DepthEstimator, Frame, Quality, Timings, CONTRACT, FILE};
pub use motion::{align, aligns_at_half, count_flows, flows_computed, same_shot, working_size, Alignment, MotionCache, Signature, CUT_DISTANCE};
pub use stabilize::{normalize, plan, stabilize, to_frame_size, Motion, Plan, Window, DEPTH_SIGMA, HIGH_PERCENTILE, LOW_PERCENTILE, MIN_WEIGHT};

/// Raw model output for one frame: relative inverse depth (larger = nearer, unknown scale and
/// shift), at the resolution the model ran at.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthMap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major values, `width * height` of them.
    pub values: Vec<f32>,
}

impl DepthMap {
    /// Memory the values take, as caches charge it.
    pub fn bytes(&self) -> usize {
        self.values.len() * std::mem::size_of::<f32>()
    }
}
