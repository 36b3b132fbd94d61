//! Generated shots with exact ground-truth motion, for Temporal Stability's tests and benchmark:
//! a pan, a zoom, an object crossing a static background, and a cut between two shots. Every
//! frame is rendered from one continuous scene function (nothing is resampled), so where a point
//! of frame f is in frame f + 1 is known exactly; each frame also gets its own faint sensor noise,
//! so even a still scene never gives two identical frames.
//!
//! And the measures taken on rendered mattes: flicker along the true motion, sharpness, and
//! differences between renders.
#![allow(dead_code)] // the tests and the benchmark use different subsets

use ofx_host::{BitDepth, Components, Image, Rect};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Frames in every sequence.
pub const FRAMES: i32 = 24;
/// Pan speed in pixels per frame at 72 rows (the measured pan moved 6 px a frame).
pub const PAN_SPEED: f32 = 6.0;
/// Zoom per frame (2 %: the shot is 1.6× tighter after 24 frames).
pub const ZOOM_STEP: f32 = 1.02;
/// The crossing object's speed, pixels per frame at 72 rows, and its radius.
pub const OBJECT_SPEED: f32 = 4.0;
pub const OBJECT_RADIUS: f32 = 12.0;
/// First frame of the second shot in the cut sequence.
pub const CUT_AT: i32 = 12;

/// Where the content of a pixel goes from one frame to the next.
#[derive(Clone, Copy, Debug)]
pub enum Truth {
    /// Everything moves left by this many pixels a frame.
    Pan(f32),
    /// Everything moves away from the centre by this factor a frame.
    Zoom(f32),
    /// A disc of this radius moves right by `speed` a frame over a still background; its
    /// centre in frame f is `start + speed·f`.
    Object { start: (f32, f32), speed: f32, radius: f32 },
    /// A pan up to `at`, then another scene zooming.
    Cut { at: i32, pan: f32, zoom: f32 },
}

/// A generated shot.
pub struct Sequence {
    pub name: &'static str,
    pub width: usize,
    pub height: usize,
    pub frames: BTreeMap<i32, Image>,
    pub truth: Truth,
}

impl Truth {
    /// Where pixel (x, y) of frame f shows up in frame f + 1; None when it does not (it leaves
    /// the frame, is covered or uncovered by the object, or the next frame is another shot).
    pub fn next(&self, f: i32, x: f32, y: f32, size: (usize, usize)) -> Option<(f32, f32)> {
        let centre = (size.0 as f32 / 2.0, size.1 as f32 / 2.0);
        let to = match *self {
            Truth::Pan(speed) => (x - speed, y),
            Truth::Zoom(step) => (centre.0 + (x - centre.0) * step, centre.1 + (y - centre.1) * step),
            Truth::Object { start, speed, radius } => {
                let inside = |f: i32, x: f32, y: f32, margin: f32| (x - start.0 - speed * f as f32).hypot(y - start.1) < radius + margin;
                if inside(f, x, y, 1.5) && !inside(f, x, y, -1.5) || inside(f + 1, x, y, 1.5) && !inside(f, x, y, -1.5) {
                    return None; // the object's edge, or background it covers next
                }
                if inside(f, x, y, 0.0) {
                    (x + speed, y)
                } else {
                    (x, y)
                }
            }
            Truth::Cut { at, pan, zoom } => {
                if f + 1 == at {
                    return None;
                }
                return if f < at { Truth::Pan(pan) } else { Truth::Zoom(zoom) }.next(f, x, y, size);
            }
        };
        let inside = to.0 >= 1.0 && to.1 >= 1.0 && to.0 <= size.0 as f32 - 2.0 && to.1 <= size.1 as f32 - 2.0;
        inside.then_some(to)
    }
}

fn hash(i: i32, j: i32, seed: u32) -> f32 {
    let mut h = (i as u32).wrapping_mul(0x9E37_79B1) ^ (j as u32).wrapping_mul(0x85EB_CA77) ^ seed.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h % 10_000) as f32 / 10_000.0
}

/// Smooth value noise of period 1.
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (i, j) = (x.floor() as i32, y.floor() as i32);
    let (fx, fy) = (x - x.floor(), y - y.floor());
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let top = hash(i, j, seed) + (hash(i + 1, j, seed) - hash(i, j, seed)) * sx;
    let bottom = hash(i, j + 1, seed) + (hash(i + 1, j + 1, seed) - hash(i, j + 1, seed)) * sx;
    top + (bottom - top) * sy
}

/// The scene's colour at continuous point (u, v), in pixels of a 72-row frame. Seed 1: textured
/// ground that gets nearer (greener) towards the bottom, and a row of discs and boxes with sharp
/// edges. Any other seed: an unrelated cool interior lit from the left.
fn scene(u: f32, v: f32, seed: u32) -> [f32; 3] {
    let texture = 0.5 * value_noise(u / 24.0, v / 24.0, seed) + 0.3 * value_noise(u / 9.0, v / 9.0, seed + 1) + 0.2 * value_noise(u / 4.0, v / 4.0, seed + 2);
    if seed != 1 {
        // The other scene: an interior, lit from the left, cool and brighter, no objects.
        let light = 1.0 - (u - 500.0).rem_euclid(400.0) / 400.0;
        return [0.45 + 0.3 * texture * light, 0.5 + 0.25 * light, 0.6 + 0.35 * texture];
    }
    let ground = v / 72.0;
    let mut rgb = [0.25 + 0.4 * texture, 0.15 + 0.35 * ground + 0.3 * texture, 0.5 - 0.3 * texture];
    // Objects every 56 px along u, alternating discs and boxes, each its own colour.
    let cell = (u / 56.0).floor();
    let (cu, cv) = (cell * 56.0 + 28.0, 30.0 + 10.0 * hash(cell as i32, 0, seed));
    let tint = hash(cell as i32, 1, seed);
    let inside = if (cell as i32).rem_euclid(2) == 0 { (u - cu).hypot(v - cv) < 14.0 } else { (u - cu).abs() < 12.0 && (v - cv).abs() < 10.0 };
    if inside {
        let fine = 0.1 * value_noise(u / 3.0, v / 3.0, seed + 7);
        rgb = [0.2 + 0.7 * tint + fine, 0.75 - 0.5 * tint + fine, 0.3 + fine];
    }
    rgb
}

/// Renders `size` frames: pixel (x, y) of frame f shows the scene at `at(f, x, y)` (in 72-row
/// pixels) in `seed`'s scene, with `object` (centre and radius in frame pixels) drawn over it.
fn render(size: (usize, usize), frames: i32, at: impl Fn(i32, f32, f32) -> (f32, f32, u32) + Sync, object: impl Fn(i32) -> Option<((f32, f32), f32)> + Sync) -> BTreeMap<i32, Image> {
    let (w, h) = size;
    let scale = 72.0 / h as f32;
    (0..frames)
        .map(|f| {
            let disc = object(f);
            let pixels: Vec<[f32; 3]> = (0..w * h)
                .into_par_iter()
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    if let Some(((cx, cy), r)) = disc {
                        if (x - cx).hypot(y - cy) < r {
                            return [0.95, 0.55, 0.1];
                        }
                    }
                    let (u, v, seed) = at(f, x, y);
                    let rgb = scene(u * scale, v * scale, seed);
                    // Faint sensor noise, different on every frame.
                    let n = |c: u32| 0.004 * (hash(i as i32, f * 3 + c as i32, 99) - 0.5);
                    [rgb[0] + n(0), rgb[1] + n(1), rgb[2] + n(2)]
                })
                .collect();
            let image = Image::from_fn(Rect::new(0, 0, w as i32, h as i32), BitDepth::F32, Components::Rgba, |x, y, c| {
                if c == 3 {
                    1.0
                } else {
                    pixels[y as usize * w + x as usize][c]
                }
            });
            (f, image)
        })
        .collect()
}

/// The camera pans right over the scene: content moves left [`PAN_SPEED`] (scaled) a frame.
pub fn pan(size: (usize, usize)) -> Sequence {
    let speed = PAN_SPEED * size.1 as f32 / 72.0;
    let frames = render(size, FRAMES, |f, x, y| (x + speed * f as f32, y, 1), |_| None);
    Sequence { name: "pan", width: size.0, height: size.1, frames, truth: Truth::Pan(speed) }
}

fn zoom_at(size: (usize, usize), f: i32, x: f32, y: f32) -> (f32, f32) {
    let (cx, cy) = (size.0 as f32 / 2.0, size.1 as f32 / 2.0);
    let s = ZOOM_STEP.powi(f);
    (cx + (x - cx) / s, cy + (y - cy) / s)
}

/// The camera zooms in on the centre by [`ZOOM_STEP`] a frame.
pub fn zoom(size: (usize, usize)) -> Sequence {
    let frames = render(size, FRAMES, |f, x, y| {
        let (u, v) = zoom_at(size, f, x, y);
        (u, v, 1)
    }, |_| None);
    Sequence { name: "zoom", width: size.0, height: size.1, frames, truth: Truth::Zoom(ZOOM_STEP) }
}

/// A still camera; an orange disc crosses the frame left to right.
pub fn moving_object(size: (usize, usize)) -> Sequence {
    let scale = size.1 as f32 / 72.0;
    let (start, speed, radius) = ((20.0 * scale, size.1 as f32 * 0.5), OBJECT_SPEED * scale, OBJECT_RADIUS * scale);
    let frames = render(size, FRAMES, |_, x, y| (x, y, 1), |f| Some(((start.0 + speed * f as f32, start.1), radius)));
    Sequence { name: "moving object", width: size.0, height: size.1, frames, truth: Truth::Object { start, speed, radius } }
}

/// The pan up to [`CUT_AT`], then a zoom on an unrelated scene. Rendering frames `range` only
/// gives that shot alone.
pub fn cut(size: (usize, usize)) -> Sequence {
    let speed = PAN_SPEED * size.1 as f32 / 72.0;
    let frames = render(
        size,
        FRAMES,
        |f, x, y| {
            if f < CUT_AT {
                (x + speed * f as f32, y, 1)
            } else {
                let (u, v) = zoom_at(size, f - CUT_AT, x, y);
                (u + 500.0, v, 5)
            }
        },
        |_| None,
    );
    Sequence { name: "cut", width: size.0, height: size.1, frames, truth: Truth::Cut { at: CUT_AT, pan: speed, zoom: ZOOM_STEP } }
}

/// Channel 0 of a rendered matte as rows of floats (x, y as the host's).
pub struct Matte {
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
}

impl Matte {
    pub fn of(image: &Image) -> Matte {
        let b = image.bounds();
        let (w, h) = (b.width(), b.height());
        let values = (0..h * w).map(|i| image.get(b.x1 + (i % w) as i32, b.y1 + (i / w) as i32, 0)).collect();
        Matte { width: w, height: h, values }
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }

    /// Bilinear value at (x, y), inside the matte.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) + (self.at(x1, y0) - self.at(x0, y0)) * fx;
        let bottom = self.at(x0, y1) + (self.at(x1, y1) - self.at(x0, y1)) * fx;
        top + (bottom - top) * fy
    }
}

/// Mean |matte(f) − matte(f + 1) at the same content| over every pixel whose content the truth
/// follows into the next frame: flicker that motion does not explain.
pub fn aligned_flicker(mattes: &[Matte], truth: Truth) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (f, pair) in mattes.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        for y in 0..a.height {
            for x in 0..a.width {
                if let Some((nx, ny)) = truth.next(f as i32, x as f32, y as f32, (a.width, a.height)) {
                    sum += (a.at(x, y) - b.sample(nx, ny)).abs() as f64;
                    n += 1;
                }
            }
        }
    }
    sum / n.max(1) as f64
}

/// Mean gradient magnitude (forward differences) over all frames: how sharp the mattes are.
pub fn sharpness(mattes: &[Matte]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for m in mattes {
        for y in 0..m.height - 1 {
            for x in 0..m.width - 1 {
                let (dx, dy) = (m.at(x + 1, y) - m.at(x, y), m.at(x, y + 1) - m.at(x, y));
                sum += dx.hypot(dy) as f64;
                n += 1;
            }
        }
    }
    sum / n as f64
}

/// Mean |a − b| over all frames and pixels, or over the pixels `keep(frame, x, y)` selects.
pub fn mean_difference(a: &[Matte], b: &[Matte], keep: impl Fn(usize, usize, usize) -> bool) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for (f, (ma, mb)) in a.iter().zip(b).enumerate() {
        for y in 0..ma.height {
            for x in 0..ma.width {
                if keep(f, x, y) {
                    sum += (ma.at(x, y) - mb.at(x, y)).abs() as f64;
                    n += 1;
                }
            }
        }
    }
    sum / n.max(1) as f64
}
