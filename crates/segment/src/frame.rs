//! Frames in, masks out: the pixel conventions of SAM 2's reference code (`models/sam2/CONTRACT.md` §5).

use imaging::resize::{normalize_planes, resize_plane, resize_to_planes_pil_bicubic, Filter, IMAGENET_MEAN, IMAGENET_STD};

/// The image encoder's input size (both sides); frames are resized to it ignoring their aspect ratio.
pub(crate) const MODEL_SIZE: usize = 1024;
/// The decoder's low-resolution mask size (both sides).
pub(crate) const LOWRES: usize = 256;

/// One frame: interleaved RGBA, f32 with 0..1 nominal, `width * height * 4` values, top row first.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The pixels.
    pub rgba: Vec<f32>,
}

/// A tracked frame's mask at frame size: per pixel `sigmoid(logit)` in 16 bits, so the store and the
/// exported mattes keep SAM's soft edges while "in the object" stays exactly "logit > 0"
/// (value ≥ [`Mask::THRESHOLD`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Coverage per pixel, row-major, top row first.
    pub coverage: Vec<u16>,
}

impl Mask {
    /// Coverage at or above which a pixel is in the object.
    pub const THRESHOLD: u16 = 32768;

    /// An empty mask (no pixel in the object).
    pub fn empty(width: usize, height: usize) -> Mask {
        Mask { width, height, coverage: vec![0; width * height] }
    }

    /// Whether pixel (x, y) is in the object.
    pub fn contains(&self, x: usize, y: usize) -> bool {
        self.coverage[y * self.width + x] >= Self::THRESHOLD
    }

    /// The binary mask, row-major.
    pub fn binary(&self) -> Vec<bool> {
        self.coverage.iter().map(|&c| c >= Self::THRESHOLD).collect()
    }

    /// From logits at frame size: sigmoid quantised to 16 bits, nudged so the threshold is exact.
    fn from_logits(width: usize, height: usize, logits: &[f32]) -> Mask {
        let coverage = logits
            .iter()
            .map(|&l| {
                let q = (65535.0 / (1.0 + (-l).exp())).round() as u16;
                if l > 0.0 {
                    q.max(Self::THRESHOLD)
                } else {
                    q.min(Self::THRESHOLD - 1)
                }
            })
            .collect();
        Mask { width, height, coverage }
    }
}

impl Frame {
    /// The encoder input [1,3,1024,1024]: RGB resized as SAM 2's reference does (PIL bicubic,
    /// anti-aliased; aspect ignored), ImageNet mean/std.
    pub(crate) fn to_model_input(&self) -> Vec<f32> {
        let mut planes = resize_to_planes_pil_bicubic(&self.rgba, self.width, self.height, 4, 3, MODEL_SIZE, MODEL_SIZE);
        normalize_planes(&mut planes, IMAGENET_MEAN, IMAGENET_STD);
        planes
    }
}

/// The decoder's 256² logits resized bilinearly (align_corners = False) to the frame.
pub(crate) fn mask_from_lowres(lowres: &[f32], width: usize, height: usize) -> Mask {
    Mask::from_logits(width, height, &resize_plane(lowres, LOWRES, LOWRES, width, height, Filter::Bilinear))
}

/// The memory encoder's `mask_for_mem`: the 256² logits upsampled to 1024², binarised to ±1e4 for a
/// prompted frame (A binarises masks from clicks) and soft for a propagated one.
pub(crate) fn mask_for_memory(lowres: &[f32], binarise: bool) -> Vec<f32> {
    let mut hi = resize_plane(lowres, LOWRES, LOWRES, MODEL_SIZE, MODEL_SIZE, Filter::Bilinear);
    if binarise {
        hi.iter_mut().for_each(|v| *v = if *v > 0.0 { 1e4 } else { -1e4 });
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_exactly_positive_logits() {
        let mask = Mask::from_logits(4, 1, &[-1e-7, 0.0, 1e-7, 30.0]);
        assert_eq!(mask.binary(), vec![false, false, true, true]);
        assert_eq!(mask.coverage[3], 65535);
    }

    #[test]
    fn lowres_logits_reach_frame_size() {
        let mut lowres = vec![-5.0; LOWRES * LOWRES];
        lowres[..LOWRES * LOWRES / 2].iter_mut().for_each(|v| *v = 5.0);
        let mask = mask_from_lowres(&lowres, 30, 20);
        assert!(mask.contains(3, 2) && !mask.contains(3, 17));
    }
}
