//! Procedural 128×128 icons, one per effect, so the repository holds no binary art. Hosts show
//! `Contents/Resources/<plugin id>.png` in their effect browsers.

use crate::pixels::{mix, to_rgba8, Picture};

const SIZE: u32 = 128;

/// The icon for a plugin id, or `None` for an id without one.
pub fn for_plugin(id: &str) -> Option<Picture> {
    let paint: fn(f32, f32) -> [f32; 3] = match id {
        "org.deepmatte.LumaMatteExtract" => luma_matte_extract,
        "org.deepmatte.DepthMap" => depth_map,
        "org.deepmatte.MagicMask" => magic_mask,
        _ => return None,
    };
    Some(Picture::from_fn(SIZE, SIZE, |x, y| {
        let (u, v) = ((x as f32 + 0.5) / SIZE as f32, (y as f32 + 0.5) / SIZE as f32);
        let mut rgba = to_rgba8(paint(u, v));
        rgba[3] = rounded_square_alpha(u, v);
        rgba
    }))
}

/// Anti-aliased rounded-square silhouette shared by all icons.
fn rounded_square_alpha(u: f32, v: f32) -> u8 {
    let (r, half) = (0.18, 0.5);
    let dx = ((u - 0.5).abs() - (half - r)).max(0.0);
    let dy = ((v - 0.5).abs() - (half - r)).max(0.0);
    let outside = (dx * dx + dy * dy).sqrt() - r;
    ((0.5 - outside * SIZE as f32).clamp(0.0, 1.0) * 255.0).round() as u8
}

/// A colour wheel slice turning into a grey ramp: colour in, luminance matte out.
fn luma_matte_extract(u: f32, v: f32) -> [f32; 3] {
    let colour = mix([0.95, 0.55, 0.15], [0.2, 0.45, 0.95], v);
    let luma = 0.2126 * colour[0] + 0.7152 * colour[1] + 0.0722 * colour[2];
    if u < 0.5 {
        colour
    } else {
        let t = ((u - 0.5) * 8.0).min(1.0);
        mix(colour, [luma; 3], t)
    }
}

/// Bands of near-warm to far-cool, like a depth map over rolling hills.
fn depth_map(u: f32, v: f32) -> [f32; 3] {
    let ridge = |height: f32, phase: f32| height + 0.06 * (u * 9.0 + phase).sin();
    let layer = if v > ridge(0.75, 0.0) {
        1.0
    } else if v > ridge(0.55, 2.0) {
        0.7
    } else if v > ridge(0.38, 4.0) {
        0.45
    } else {
        0.15
    };
    mix([0.05, 0.05, 0.25], [1.0, 0.85, 0.4], layer)
}

/// A white mask shape on dark purple with a green "include" point and a red "exclude" point.
fn magic_mask(u: f32, v: f32) -> [f32; 3] {
    let dot = |cx: f32, cy: f32, r: f32| ((u - cx).powi(2) + (v - cy).powi(2)).sqrt() < r;
    if dot(0.42, 0.45, 0.06) {
        [0.2, 0.85, 0.3]
    } else if dot(0.78, 0.78, 0.06) {
        [0.9, 0.2, 0.2]
    } else if ((u - 0.45) / 0.28).powi(2) + ((v - 0.48) / 0.33).powi(2) < 1.0 {
        [0.95, 0.95, 0.95]
    } else {
        mix([0.3, 0.1, 0.45], [0.12, 0.05, 0.2], v)
    }
}
