//! The engine end to end on the ONNX stand-ins of `models/standins.py` (made by `cargo xtask setup`):
//! pixels against the closed form, flicker cut and render-order independence through the depth
//! cache, no inference on re-render, and the errors a user can meet.

use std::path::PathBuf;
use std::sync::Arc;

use depth::{normalize, stabilize, standin, to_frame_size, DepthEstimator, DepthMap, Frame, Quality, Window};
use imaging::resize::{IMAGENET_MEAN, IMAGENET_STD};
use inference::{InferenceError, Model, Runtime, SessionOptions};

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache")
}

fn runtime() -> Runtime {
    let library = cache().join("onnxruntime").join(inference::ORT_LIBRARY_FILE);
    Runtime::load(&library).unwrap_or_else(|e| panic!("{e}\n(run `cargo xtask setup` first)"))
}

fn open(file: &str) -> Arc<Model> {
    let path = cache().join("models").join(file);
    runtime().open(&path, &depth::CONTRACT, &SessionOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// RGBA with colour detail everywhere, values in [0, 1].
fn picture(width: usize, height: usize, offset: f32) -> Vec<f32> {
    let mut pixels = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        for x in 0..width {
            let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
            let ripple = 0.5 + 0.45 * ((x as f32 * 0.31).sin() * (y as f32 * 0.17).cos());
            pixels.extend_from_slice(&[u + offset, 1.0 - v + offset, ripple + offset, 1.0]);
        }
    }
    pixels
}

/// Keys' cubic, a = −0.75 (OpenCV's and PyTorch's bicubic).
fn cubic(x: f64) -> f64 {
    let (a, x) = (-0.75, x.abs());
    if x <= 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    } else {
        0.0
    }
}

/// A direct 2-D bicubic sample of channel `c` at output pixel `(ox, oy)` of a `new` (width, height)
/// image (half-pixel centres, edges repeated): written independently of the separable,
/// multi-threaded resize in crates/inference.
fn bicubic_at(pixels: &[f32], (width, height): (usize, usize), c: usize, (ox, oy): (usize, usize), (new_w, new_h): (usize, usize)) -> f64 {
    let sx = (ox as f64 + 0.5) * width as f64 / new_w as f64 - 0.5;
    let sy = (oy as f64 + 0.5) * height as f64 / new_h as f64 - 0.5;
    let (fx, fy) = (sx.floor(), sy.floor());
    let mut sum = 0.0;
    for j in -1..=2 {
        for i in -1..=2 {
            let px = (fx as i64 + i).clamp(0, width as i64 - 1) as usize;
            let py = (fy as i64 + j).clamp(0, height as i64 - 1) as usize;
            sum += cubic(sx - (fx + i as f64)) * cubic(sy - (fy + j as f64)) * pixels[(py * width + px) * 4 + c] as f64;
        }
    }
    sum
}

#[test]
fn exact_standin_matches_the_closed_form() {
    let (width, height) = (200, 120);
    let pixels = picture(width, height, 0.0);
    let estimator = DepthEstimator::new(open(standin::EXACT_FILE), 1 << 26);
    let frame = Frame { pixels: &pixels, width, height, channels: 4 };
    let map = estimator.depth(&frame, Quality::Faster).unwrap();
    assert_eq!((map.width, map.height), depth::inference_size(width, height, Quality::Faster));
    assert_eq!((map.width, map.height), (448, 266));
    let mut worst = 0.0f64;
    for oy in 0..map.height {
        for ox in 0..map.width {
            let rgb = [0, 1, 2].map(|c| bicubic_at(&pixels, (width, height), c, (ox, oy), (map.width, map.height)) as f32);
            let expected = standin::exact_depth(rgb) as f64;
            worst = worst.max((map.values[oy * map.width + ox] as f64 - expected).abs());
        }
    }
    println!("exact stand-in: max |engine - closed form| = {worst:.2e}");
    // f32 arithmetic through resize, normalisation and the model, on values of order 1.
    assert!(worst < 1e-5, "max abs difference {worst}");
    // The constants the closed form uses are the engine's.
    assert_eq!(IMAGENET_MEAN, [0.485, 0.456, 0.406]);
    assert_eq!(IMAGENET_STD, [0.229, 0.224, 0.225]);
}

#[test]
fn changing_a_slider_reruns_no_inference() {
    let (width, height) = (96, 54);
    let pixels = picture(width, height, 0.0);
    let frame = Frame { pixels: &pixels, width, height, channels: 4 };
    let estimator = DepthEstimator::new(open(standin::EXACT_FILE), 1 << 26);
    let first = estimator.depth(&frame, Quality::Better).unwrap();
    assert_eq!(estimator.inferences(), 1);
    // Levels, isolate, finesse and output act after the cache: the same frame comes back.
    let again = estimator.depth(&frame, Quality::Better).unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(estimator.inferences(), 1, "a re-render must not run the model");
    estimator.depth(&frame, Quality::Faster).unwrap();
    assert_eq!(estimator.inferences(), 2, "another quality is another estimate");
    let changed = picture(width, height, 0.01);
    estimator.depth(&Frame { pixels: &changed, ..frame }, Quality::Better).unwrap();
    assert_eq!(estimator.inferences(), 3, "new pixels under any frame number are a new estimate");
}

#[test]
fn threads_missing_the_same_frame_run_the_model_once() {
    let (width, height) = (96, 54);
    let pixels = picture(width, height, 0.37);
    let frame = Frame { pixels: &pixels, width, height, channels: 4 };
    let estimator = DepthEstimator::new(open(standin::EXACT_FILE), 1 << 26);
    let maps: Vec<Arc<DepthMap>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6).map(|_| s.spawn(|| estimator.depth(&frame, Quality::Better).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(estimator.inferences(), 1, "overlapping temporal windows must not run the model twice on a frame");
    assert!(maps.iter().all(|m| Arc::ptr_eq(m, &maps[0])));
}

const FRAMES: usize = 48;
const RADIUS: usize = 3;

/// A static shot: the same picture with per-frame exposure jitter of ±0.002 and a little grain, as a
/// camera delivers it; the flicker stand-in turns that into unrelated scale, shift and gamma.
fn shot(width: usize, height: usize) -> Vec<Vec<f32>> {
    let mut state = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let base = picture(width, height, 0.0);
    (0..FRAMES)
        .map(|_| {
            let exposure = 0.004 * (next() - 0.5);
            base.iter().map(|&v| v + exposure + 0.001 * (next() - 0.5)).collect()
        })
        .collect()
}

/// Renders frame `t` as the effect does, fetching its window's raw depth through the estimator.
fn render(estimator: &DepthEstimator, shot: &[Vec<f32>], t: usize, width: usize, height: usize, stable: bool) -> Vec<f32> {
    let raw = |i: usize| estimator.depth(&Frame { pixels: &shot[i], width, height, channels: 4 }, Quality::Faster).unwrap();
    let target = raw(t);
    let normalised = if stable {
        let (first, last) = (t.saturating_sub(RADIUS), (t + RADIUS).min(FRAMES - 1));
        let maps: Vec<Arc<DepthMap>> = (first..=last).map(raw).collect();
        let frames: Vec<&DepthMap> = maps.iter().map(|m| m.as_ref()).collect();
        stabilize(&Window { frames: &frames, target: t - first }, 1.0)
    } else {
        normalize(&target)
    };
    to_frame_size(&normalised, &target, width, height)
}

fn mean_change(outputs: &[Vec<f32>]) -> f64 {
    let total: f64 = outputs
        .windows(2)
        .map(|p| p[0].iter().zip(&p[1]).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / p[0].len() as f64)
        .sum();
    total / (outputs.len() - 1) as f64
}

#[test]
fn flicker_is_cut_and_output_does_not_depend_on_render_order() {
    let (width, height) = (64, 36);
    let shot = shot(width, height);
    let model = open(standin::FLICKER_FILE);

    let estimator = DepthEstimator::new(model.clone(), 1 << 28);
    let off: Vec<Vec<f32>> = (0..FRAMES).map(|t| render(&estimator, &shot, t, width, height, false)).collect();
    let sequential: Vec<Vec<f32>> = (0..FRAMES).map(|t| render(&estimator, &shot, t, width, height, true)).collect();
    let (before, after) = (mean_change(&off), mean_change(&sequential));
    let cut = 1.0 - after / before;
    println!("flicker stand-in, {FRAMES} frames: mean frame-to-frame change off {before:.4}, on {after:.4}: cut by {:.1} %", cut * 100.0);
    assert!(cut >= 0.70, "flicker cut by only {:.1} %", cut * 100.0);

    // Reversed and shuffled orders, each with a fresh cache (one far too small to hold the window,
    // so maps are recomputed on the way): frame t must come out bit for bit the same.
    let mut shuffled: Vec<usize> = (0..FRAMES).collect();
    let mut state = 12345u64;
    for i in (1..FRAMES).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
        shuffled.swap(i, (state >> 33) as usize % (i + 1));
    }
    let reversed: Vec<usize> = (0..FRAMES).rev().collect();
    for (name, order, budget) in [("reversed", reversed, 1 << 28), ("shuffled", shuffled, 3 * 448 * 266 * 4)] {
        let fresh = DepthEstimator::new(model.clone(), budget);
        for &t in &order {
            let out = render(&fresh, &shot, t, width, height, true);
            assert!(out == sequential[t], "{name} order: frame {t} differs from the sequential render");
        }
    }
}

#[test]
fn estimators_are_shared_and_wrong_models_are_reported() {
    let runtime = runtime();
    let models = cache().join("models");
    let options = SessionOptions::default();
    let a = DepthEstimator::shared(&runtime, &models.join(standin::EXACT_FILE), &options).unwrap();
    let b = DepthEstimator::shared(&runtime, &models.join(standin::EXACT_FILE), &options).unwrap();
    assert!(a.shares_cache_with(&b), "instances using the same model share one depth cache");
    println!("backend: {}", a.backend());

    let err = DepthEstimator::shared(&runtime, &models.join(standin::WRONG_NAMES_FILE), &options).err().unwrap();
    assert!(matches!(err, InferenceError::ContractMismatch { .. }), "{err}");
    assert!(err.to_string().contains("input 0 is named `input`, expected `image` or `pixel_values`"), "{err}");

    let folder = inference::model_folder(None, &models);
    let err = inference::locate_model(&folder, depth::FILE).err().unwrap();
    assert!(err.to_string().contains("`depth_anything_v2_small.onnx` was not found"), "{err}");
}
