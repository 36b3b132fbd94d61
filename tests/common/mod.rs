//! Shared helpers for the tests that drive the built bundle through `ofx-host`.
#![allow(dead_code)] // each test binary uses its own subset

pub mod reference;

use ofx_host::{BitDepth, Bundle, Components, HostProfile, Image, Rect};
use std::path::PathBuf;

/// The built bundle: `DEEPMATTE_BUNDLE`, else `target/bundle/DeepMatte.ofx.bundle`.
pub fn bundle_path() -> PathBuf {
    let path = std::env::var_os("DEEPMATTE_BUNDLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bundle/DeepMatte.ofx.bundle"));
    assert!(
        path.join("Contents").is_dir(),
        "no bundle at {}: run `cargo xtask test` (or `cargo xtask bundle` first)",
        path.display()
    );
    path
}

/// Loads the bundle under a host profile.
pub fn load(profile: HostProfile) -> Bundle {
    Bundle::load(&bundle_path(), profile).unwrap_or_else(|e| panic!("loading the bundle as {profile:?}: {e}"))
}

/// Every host profile.
pub const PROFILES: [HostProfile; 5] =
    [HostProfile::Generic, HostProfile::Resolve, HostProfile::Nuke, HostProfile::Natron, HostProfile::Mlt];

/// A deterministic pseudo-random value in 0..1 for pixel (x, y), channel c, frame seed.
pub fn noise(x: i32, y: i32, c: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ (c as u32 + 1).wrapping_mul(0xC2B2_AE3D) ^ seed.wrapping_mul(0x27D4_EB2F);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h % 10_007) as f32 / 10_006.0
}

/// A test image full of varied values (smooth ramps plus noise, so every level gets exercised).
pub fn test_image(bounds: Rect, depth: BitDepth, components: Components, seed: u32) -> Image {
    let w = bounds.width().max(1) as f32;
    Image::from_fn(bounds, depth, components, |x, y, c| {
        let ramp = (x - bounds.x1) as f32 / w;
        0.5 * ramp + 0.5 * noise(x, y, c, seed)
    })
}

/// How many times any model ran inside the loaded plugin (its `DeepMatteModelRuns` export).
pub fn model_runs() -> u64 {
    ofx_host::plugin_counter(&bundle_path(), "DeepMatteModelRuns").expect("DeepMatteModelRuns exported")
}

/// The project's generated models (`cargo xtask setup` makes them).
pub fn cache_models() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/models");
    assert!(dir.is_dir(), "no {}: run `cargo xtask setup`", dir.display());
    dir
}

/// A fresh folder holding `file` from `.cache/models` under the name the effect looks for.
pub fn model_folder_with(file: &str, as_name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(cache_models().join(file), dir.path().join(as_name)).expect("copy the stand-in");
    dir
}
