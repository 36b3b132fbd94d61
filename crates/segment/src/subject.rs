//! Auto Subject: U²-Netp's salient-object matte, and the connected piece of it under a click, so a
//! click picks one subject when the network finds several.

use inference::{u2netp, InferenceError, Model};

use crate::{Frame, Mask};

/// Saliency at or above which a pixel belongs to a subject.
pub const THRESHOLD: f32 = 0.5;

/// The saliency matte in [0, 1] at frame size, from U²-Netp (`model` opened with [`u2netp::CONTRACT`]).
pub fn saliency(model: &Model, frame: &Frame) -> Result<Vec<f32>, InferenceError> {
    u2netp::matte(model, &frame.rgba, frame.width, frame.height, 4)
}

/// Auto Subject for a click at (`x`, `y`) on `frame`: the salient subject under it as a mask whose
/// coverage is the saliency inside that subject and 0 elsewhere; `None` when nothing salient is there.
pub fn select(model: &Model, frame: &Frame, x: usize, y: usize) -> Result<Option<Mask>, InferenceError> {
    let saliency = saliency(model, frame)?;
    Ok(component_at(&saliency, frame.width, frame.height, x, y).map(|picked| Mask {
        width: frame.width,
        height: frame.height,
        // s ≥ 0.5 maps to ≥ 32768, so the mask's threshold is exactly the component.
        coverage: picked.iter().zip(&saliency).map(|(&p, &s)| if p { (s.clamp(0.0, 1.0) * 65535.0).round() as u16 } else { 0 }).collect(),
    }))
}

/// The 8-connected component of `saliency ≥ 0.5` containing pixel (`x`, `y`), row-major; `None` when
/// the click is outside the image or on a non-salient pixel.
pub fn component_at(saliency: &[f32], width: usize, height: usize, x: usize, y: usize) -> Option<Vec<bool>> {
    assert_eq!(saliency.len(), width * height, "saliency size does not match its dimensions");
    if x >= width || y >= height || saliency[y * width + x] < THRESHOLD {
        return None;
    }
    let mut selected = vec![false; width * height];
    let mut stack = vec![(x, y)];
    selected[y * width + x] = true;
    while let Some((px, py)) = stack.pop() {
        for ny in py.saturating_sub(1)..=(py + 1).min(height - 1) {
            for nx in px.saturating_sub(1)..=(px + 1).min(width - 1) {
                let i = ny * width + nx;
                if !selected[i] && saliency[i] >= THRESHOLD {
                    selected[i] = true;
                    stack.push((nx, ny));
                }
            }
        }
    }
    Some(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two blobs, one made of two squares touching only at a corner (joined by 8-connectivity).
    #[test]
    fn click_selects_its_eight_connected_component() {
        #[rustfmt::skip]
        let map: Vec<f32> = [
            "##....",
            "##....",
            "..#..#",
            "......",
            "....##",
        ].concat().chars().map(|c| if c == '#' { 0.9 } else { 0.1 }).collect();
        let picked = component_at(&map, 6, 5, 0, 0).unwrap();
        let expect: Vec<bool> = ["##....", "##....", "..#...", "......", "......"].concat().chars().map(|c| c == '#').collect();
        assert_eq!(picked, expect);
        let other = component_at(&map, 6, 5, 5, 4).unwrap();
        assert_eq!(other.iter().filter(|&&b| b).count(), 2);
        assert!(component_at(&map, 6, 5, 3, 0).is_none());
        assert!(component_at(&map, 6, 5, 9, 0).is_none());
    }

    #[test]
    fn threshold_is_inclusive() {
        assert!(component_at(&[0.5, 0.49], 2, 1, 0, 0).unwrap() == vec![true, false]);
    }
}
