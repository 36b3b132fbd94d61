//! `cargo xtask sample`: paints the shipped sample image `samples/hills-640x360.png`, a small
//! synthetic landscape (sky gradient, clouds, sun, layered hills, textured grass, a shaded ball
//! and a house) with the tonal range a luma matte needs: bright sky, mid-grey hills, dark shadows.
//! The PNG is committed; this generator is kept so it can be remade or varied.

use std::path::PathBuf;

use anyhow::Result;

use crate::pixels::{mix, to_rgba8, Picture};
use crate::util;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// The shipped sample, relative to the repository root.
pub const SAMPLE: &str = "samples/hills-640x360.png";

/// Direction towards the sun, for shading (x right, y up, z towards the viewer).
const LIGHT: [f32; 3] = [0.55, 0.6, 0.58];

/// Writes the sample PNG and prints its path.
pub fn run() -> Result<()> {
    let path: PathBuf = util::root().join(SAMPLE);
    std::fs::create_dir_all(path.parent().expect("sample path has a folder"))?;
    Picture::from_fn(WIDTH, HEIGHT, |x, y| to_rgba8(scene(x as f32, y as f32))).save_png(&path, false)?;
    println!("sample: {}", path.display());
    Ok(())
}

/// The colour at pixel (x, y), y downwards; painted back to front.
fn scene(x: f32, y: f32) -> [f32; 3] {
    let (u, v) = (x / WIDTH as f32, y / HEIGHT as f32);
    let mut c = sky(x, y, u, v);

    let far = 0.47 - 0.14 * fbm(x / 160.0, 3.0, 5);
    if v > far {
        let rock = 0.88 + 0.24 * fbm(x / 40.0, y / 14.0, 4);
        c = scale(mix([0.52, 0.58, 0.7], [0.38, 0.45, 0.5], (v - far) / 0.2), rock);
    }
    let near = 0.62 - 0.08 * fbm(x / 90.0, 11.0, 4);
    if v > near {
        let slope = fbm((x + 1.5) / 90.0, 11.0, 4) - fbm((x - 1.5) / 90.0, 11.0, 4);
        // Slope shading only along the ridge; lower down, broad patches of light and shade.
        let ridge = (1.0 - (v - near) / 0.06).max(0.0);
        let lit = 1.0 + (slope * 12.0).clamp(-0.3, 0.3) * ridge + 0.35 * (fbm(x / 110.0, y / 35.0, 3) - 0.5);
        let grass = 0.85 + 0.3 * fbm(x / 5.0, y / 2.5, 2);
        let depth = ((v - near) / (1.0 - near)).clamp(0.0, 1.0);
        let base = mix([0.42, 0.58, 0.27], [0.2, 0.38, 0.12], depth);
        c = scale(base, lit * grass);
    }

    c = house(c, x, y);
    c = tree(c, x, y);
    ball(c, x, y)
}

fn sky(x: f32, y: f32, u: f32, v: f32) -> [f32; 3] {
    let mut c = mix([0.22, 0.42, 0.78], [0.82, 0.88, 0.94], (v / 0.6).powf(1.4));
    let cloud = (fbm(x / 80.0, y / 30.0, 5) - 0.52).max(0.0) * 4.0 * (1.0 - v / 0.55).max(0.0);
    c = mix(c, [0.97, 0.97, 0.98], cloud);
    let sun = ((u - 0.8) * 16.0 / 9.0).hypot(v - 0.16);
    if sun < 0.05 {
        return [1.0, 0.97, 0.85];
    }
    mix(c, [1.0, 0.9, 0.7], (0.25 - sun).max(0.0) * 2.0)
}

/// A shaded ball resting on the grass, with its shadow.
fn ball(c: [f32; 3], x: f32, y: f32) -> [f32; 3] {
    let (cx, cy, r) = (200.0, 290.0, 34.0);
    let shadow = ((x - cx - 28.0) / 46.0).powi(2) + ((y - cy - 30.0) / 9.0).powi(2);
    let c = if shadow < 1.0 { scale(c, 0.45 + 0.45 * shadow) } else { c };
    let (dx, dy) = ((x - cx) / r, (cy - y) / r);
    let d2 = dx * dx + dy * dy;
    if d2 >= 1.0 {
        return c;
    }
    let normal = [dx, dy, (1.0 - d2).sqrt()];
    let diffuse = dot(normal, LIGHT).max(0.0);
    let reflected = 2.0 * dot(normal, LIGHT) * normal[2] - LIGHT[2];
    let specular = reflected.max(0.0).powi(40);
    let base = [0.8, 0.15, 0.1];
    let lit = scale(base, 0.12 + 0.88 * diffuse);
    mix(lit, [1.0, 1.0, 1.0], specular)
}

/// A small house: lit front, shaded side, dark roof.
fn house(c: [f32; 3], x: f32, y: f32) -> [f32; 3] {
    let (left, right, side, top, bottom) = (420.0, 490.0, 520.0, 210.0, 262.0);
    let slant = (x - right) * 0.3; // the side wall recedes: its top drops, its bottom rises
    let roof_peak = top - 30.0;
    let roof_edge = |x: f32| roof_peak + (x - 455.0).abs() * 0.85;
    if (left..right).contains(&x) && y >= top && y < bottom {
        let window = (435.0..452.0).contains(&x) && (222.0..238.0).contains(&y);
        return if window { [0.95, 0.85, 0.45] } else { [0.86, 0.74, 0.56] };
    }
    if (right..side).contains(&x) && y >= top + slant * 0.5 && y < bottom - slant * 0.2 {
        return [0.5, 0.42, 0.33];
    }
    if (left - 6.0..right + 6.0).contains(&x) && y >= roof_edge(x) && y < top {
        return [0.45, 0.16, 0.12];
    }
    c
}

/// A tree: trunk and a lumpy crown of textured foliage.
fn tree(c: [f32; 3], x: f32, y: f32) -> [f32; 3] {
    if (556.0..566.0).contains(&x) && (200.0..270.0).contains(&y) {
        return [0.3, 0.2, 0.12];
    }
    let crown = ((x - 561.0) / 38.0).hypot((y - 180.0) / 48.0) + 0.25 * (fbm(x / 9.0, y / 9.0, 3) - 0.5);
    if crown < 1.0 {
        let lit = 0.65 + 0.5 * ((575.0 - x) / 60.0 + (200.0 - y) / 80.0).clamp(-0.5, 0.6);
        let leaves = 0.75 + 0.5 * fbm(x / 4.0, y / 4.0, 2);
        return scale([0.18, 0.4, 0.15], lit * leaves);
    }
    c
}

fn scale(c: [f32; 3], k: f32) -> [f32; 3] {
    [c[0] * k, c[1] * k, c[2] * k]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Fractal value noise in [0, 1]: `octaves` layers of smooth lattice noise, each twice as fine.
fn fbm(x: f32, y: f32, octaves: u32) -> f32 {
    let (mut sum, mut amplitude, mut total, mut frequency) = (0.0, 1.0, 0.0, 1.0);
    for octave in 0..octaves {
        sum += amplitude * value_noise(x * frequency, y * frequency, octave);
        total += amplitude;
        amplitude *= 0.5;
        frequency *= 2.0;
    }
    sum / total
}

/// Smoothly interpolated random values on an integer lattice; deterministic.
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (ix, iy) = (x.floor(), y.floor());
    let (fx, fy) = (x - ix, y - iy);
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let (sx, sy) = (smooth(fx), smooth(fy));
    let at = |dx: i32, dy: i32| hash(ix as i32 + dx, iy as i32 + dy, seed);
    let top = at(0, 0) + (at(1, 0) - at(0, 0)) * sx;
    let bottom = at(0, 1) + (at(1, 1) - at(0, 1)) * sx;
    top + (bottom - top) * sy
}

/// A lattice point's random value in [0, 1] (integer hash, no state).
fn hash(x: i32, y: i32, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x8da6_b343) ^ (y as u32).wrapping_mul(0xd816_3841) ^ seed.wrapping_mul(0xcb1a_b31f);
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^= h >> 15;
    (h & 0xffff) as f32 / 65535.0
}
