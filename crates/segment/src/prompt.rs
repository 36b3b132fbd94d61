//! The user's prompts and what the decoder receives for them.

use std::collections::BTreeMap;

use xxhash_rust::xxh3::Xxh3;

use crate::frame::MODEL_SIZE;

/// One prompt, in frame pixel coordinates (x right, y down, origin at the top-left corner).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prompt {
    /// A click: positive (in the object) or negative (not in it).
    Point {
        /// x in pixels.
        x: f32,
        /// y in pixels.
        y: f32,
        /// true = the object is here, false = it is not.
        positive: bool,
    },
    /// A box around the object. A frame uses its last box (SAM 2 takes one per frame).
    Box {
        /// Left edge.
        x0: f32,
        /// Top edge.
        y0: f32,
        /// Right edge.
        x1: f32,
        /// Bottom edge.
        y1: f32,
    },
}

/// Prompts per frame; a frame with prompts is a conditioning frame.
pub type Prompts = BTreeMap<i32, Vec<Prompt>>;

/// The decoder's `point_coords` and `point_labels` for one step.
pub(crate) struct DecoderPoints {
    pub coords: Vec<f32>,
    pub labels: Vec<f32>,
}

impl DecoderPoints {
    /// "No prompt": one point (0, 0) labelled −1, as SAM 2 does on propagated frames.
    pub fn none() -> DecoderPoints {
        DecoderPoints { coords: vec![0.0, 0.0], labels: vec![-1.0] }
    }
}

/// The decoder runs for a frame's prompts, as SAM 2's interactive predictor makes them: the box first,
/// then one more click per run, each run seeing every earlier prompt (and the previous run's mask).
/// Coordinates go from frame pixels to the 1024² input.
pub(crate) fn decoder_steps(prompts: &[Prompt], width: usize, height: usize) -> Vec<DecoderPoints> {
    let (sx, sy) = (MODEL_SIZE as f32 / width as f32, MODEL_SIZE as f32 / height as f32);
    let mut current = DecoderPoints { coords: Vec::new(), labels: Vec::new() };
    let mut steps = Vec::new();
    let last_box = prompts.iter().rev().find_map(|p| match *p {
        Prompt::Box { x0, y0, x1, y1 } => Some((x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1))),
        Prompt::Point { .. } => None,
    });
    if let Some((x0, y0, x1, y1)) = last_box {
        current.coords.extend([x0 * sx, y0 * sy, x1 * sx, y1 * sy]);
        current.labels.extend([2.0, 3.0]);
        steps.push(DecoderPoints { coords: current.coords.clone(), labels: current.labels.clone() });
    }
    for prompt in prompts {
        if let Prompt::Point { x, y, positive } = *prompt {
            current.coords.extend([x * sx, y * sy]);
            current.labels.push(if positive { 1.0 } else { 0.0 });
            steps.push(DecoderPoints { coords: current.coords.clone(), labels: current.labels.clone() });
        }
    }
    steps
}

/// A hash of every prompt on every frame (hex), recorded with each stored mask so the effect can tell
/// which masks were made from the prompts it has now.
pub fn prompt_hash(prompts: &Prompts) -> String {
    let mut hasher = Xxh3::new();
    for (frame, list) in prompts.iter().filter(|(_, list)| !list.is_empty()) {
        hasher.update(&frame.to_le_bytes());
        hasher.update(&(list.len() as u64).to_le_bytes());
        for prompt in list {
            let (kind, values) = match *prompt {
                Prompt::Point { x, y, positive } => (u8::from(positive), [x, y, 0.0, 0.0]),
                Prompt::Box { x0, y0, x1, y1 } => (2, [x0, y0, x1, y1]),
            };
            hasher.update(&[kind]);
            values.iter().for_each(|v| hasher.update(&v.to_le_bytes()));
        }
    }
    format!("{:016x}", hasher.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_goes_first_and_clicks_accumulate() {
        let prompts = [
            Prompt::Point { x: 10.0, y: 20.0, positive: true },
            Prompt::Box { x0: 50.0, y0: 40.0, x1: 5.0, y1: 4.0 },
            Prompt::Point { x: 30.0, y: 10.0, positive: false },
        ];
        let steps = decoder_steps(&prompts, 512, 256);
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].labels, vec![2.0, 3.0]);
        assert_eq!(steps[0].coords, vec![10.0, 16.0, 100.0, 160.0]);
        assert_eq!(steps[2].labels, vec![2.0, 3.0, 1.0, 0.0]);
        assert_eq!(steps[2].coords[4..], [20.0, 80.0, 60.0, 40.0]);
    }

    #[test]
    fn hash_changes_with_any_prompt_and_ignores_empty_frames() {
        let mut a = Prompts::new();
        a.insert(3, vec![Prompt::Point { x: 1.0, y: 2.0, positive: true }]);
        let mut b = a.clone();
        b.insert(7, Vec::new());
        assert_eq!(prompt_hash(&a), prompt_hash(&b));
        b.insert(7, vec![Prompt::Point { x: 1.0, y: 2.0, positive: false }]);
        assert_ne!(prompt_hash(&a), prompt_hash(&b));
    }
}
