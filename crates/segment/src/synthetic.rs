//! A synthetic clip with exact ground truth, for tests and benchmarks: a checkered orange disc that
//! moves across and grows over a textured green-blue background, optionally with a touching
//! "distractor" disc of nearly the same look (same texture, a greener orange).

use crate::Frame;

/// The clip's geometry.
#[derive(Clone, Copy, Debug)]
pub struct Scene {
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Number of frames (0..frames); the object's path spans them all.
    pub frames: i32,
    /// Whether the distractor disc is drawn.
    pub distractor: bool,
}

impl Scene {
    /// 320×240, `frames` frames, no distractor.
    pub fn new(frames: i32) -> Scene {
        Scene { width: 320, height: 240, frames, distractor: false }
    }

    /// The object's centre and radius on `frame`: left to right, a vertical wave, radius ×1.4.
    pub fn object(&self, frame: i32) -> (f32, f32, f32) {
        let t = frame as f32 / (self.frames - 1).max(1) as f32;
        let (w, h) = (self.width as f32, self.height as f32);
        let cx = w * (0.25 + 0.5 * t);
        let cy = h * (0.5 + 0.125 * (std::f32::consts::TAU * t).sin());
        (cx, cy, h * 0.146 * (1.0 + 0.4 * t))
    }

    /// The distractor's centre and radius: just right of the object, touching it.
    pub fn distractor(&self, frame: i32) -> (f32, f32, f32) {
        let (cx, cy, r) = self.object(frame);
        let dr = self.height as f32 / 12.0;
        (cx + r + dr, cy, dr)
    }

    /// The frame's pixels (alpha 1).
    pub fn frame(&self, frame: i32) -> Frame {
        let mut rgba = Vec::with_capacity(self.width * self.height * 4);
        for y in 0..self.height {
            for x in 0..self.width {
                rgba.extend_from_slice(&self.pixel(frame, x as f32 + 0.5, y as f32 + 0.5));
                rgba.push(1.0);
            }
        }
        Frame { width: self.width, height: self.height, rgba }
    }

    /// Which pixels are the object (pixel centres inside the disc), row-major.
    pub fn truth(&self, frame: i32) -> Vec<bool> {
        self.coverage(self.object(frame))
    }

    /// Which pixels are the distractor (outside the object), row-major.
    pub fn distractor_truth(&self, frame: i32) -> Vec<bool> {
        let object = self.truth(frame);
        self.coverage(self.distractor(frame)).into_iter().zip(object).map(|(d, o)| d && !o).collect()
    }

    fn coverage(&self, (cx, cy, r): (f32, f32, f32)) -> Vec<bool> {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| inside(x as f32 + 0.5, y as f32 + 0.5, cx, cy, r)))
            .collect()
    }

    fn pixel(&self, frame: i32, x: f32, y: f32) -> [f32; 3] {
        let checker = if ((x / 2.0).floor() + (y / 2.0).floor()) as i64 % 2 == 0 { -0.12 } else { 0.12 };
        let (cx, cy, r) = self.object(frame);
        if inside(x, y, cx, cy, r) {
            return [0.85 + checker, 0.5 + checker, 0.2 + checker];
        }
        if self.distractor {
            let (dx, dy, dr) = self.distractor(frame);
            if inside(x, y, dx, dy, dr) {
                return [0.85 + checker, 0.62 + checker, 0.2 + checker];
            }
        }
        let grain = 0.06 * (x * 1.3).sin() * (y * 1.1).sin();
        [
            0.25 + 0.08 * (x / 23.0 + y / 37.0).sin() + grain,
            0.45 + 0.06 * (x / 31.0 - y / 19.0).sin() + grain,
            0.35 + 0.05 * (y / 13.0).cos() + grain,
        ]
    }
}

fn inside(x: f32, y: f32, cx: f32, cy: f32, r: f32) -> bool {
    (x - cx).powi(2) + (y - cy).powi(2) < r * r
}

/// Intersection over union of two binary masks (1 when both are empty).
pub fn iou(a: &[bool], b: &[bool]) -> f64 {
    let inter = a.iter().zip(b).filter(|(&a, &b)| a && b).count();
    let union = a.iter().zip(b).filter(|(&a, &b)| a || b).count();
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// The fraction of `region`'s pixels that `mask` covers.
pub fn covered(mask: &[bool], region: &[bool]) -> f64 {
    let total = region.iter().filter(|&&r| r).count().max(1);
    mask.iter().zip(region).filter(|(&m, &r)| m && r).count() as f64 / total as f64
}
