//! Per-frame cost of the Depth Map engine on a 1920×1080 float RGBA frame, at Faster and Better:
//! pre-processing, inference, post-processing (normalise + resize back), the overhead ratio
//! (pre+post)/inference, the cached re-render, and the same pre+post in Python/numpy for comparison.
//!
//! Model: `$DEEPMATTE_BENCH_MODEL`, else the real `depth_anything_v2_small.onnx` when it is in
//! `.cache/models`, else the real architecture with random weights from `cargo xtask export-models
//! --random-weights` (`.cache/models/real-arch`), else the cost-equivalent stand-in `depth_standin_cost.onnx` (ViT-S/14 + DPT head,
//! random weights; generated on demand by `models/cost_standin.py`), else the exact stand-in (then the
//! inference figure is not representative, and the benchmark says so).
//! Run: `cargo bench -p depth` after `cargo xtask setup`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use depth::{normalize, to_frame_size, DepthEstimator, Frame, Quality};
use inference::{Runtime, SessionOptions};

const WIDTH: usize = 1920;
const HEIGHT: usize = 1080;
const RUNS: u32 = 5;

fn main() {
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache");
    let runtime = Runtime::load(&cache.join("onnxruntime").join(inference::ORT_LIBRARY_FILE)).unwrap_or_else(|e| panic!("{e}"));
    let (model_path, representative) = choose_model(&cache.join("models"));
    let model = runtime.open(&model_path, &depth::CONTRACT, &SessionOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    println!("model: {} on {}", model_path.display(), model.backend());
    if !representative {
        println!("!! no real or cost-equivalent depth model in .cache/models: the inference time below is");
        println!("!! the exact stand-in's (a 1x1 convolution), not Depth Anything's.");
    }
    let estimator = DepthEstimator::new(model, 1 << 30);
    let pixels = test_frame();
    let frame = Frame { pixels: &pixels, width: WIDTH, height: HEIGHT, channels: 4 };

    for quality in [Quality::Faster, Quality::Better] {
        measure(&estimator, &frame, quality);
    }
    cached_and_numpy(&estimator, &frame, &cache);
}

fn measure(estimator: &DepthEstimator, frame: &Frame<'_>, quality: Quality) {
    estimator.estimate(frame, quality).unwrap(); // warm-up: first run allocates and plans
    let (mut pre, mut inference, mut post) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..RUNS {
        let (map, timings) = estimator.estimate(frame, quality).unwrap();
        pre += timings.preprocess;
        inference += timings.inference;
        let start = Instant::now();
        let out = to_frame_size(&normalize(&map), &map, WIDTH, HEIGHT);
        post += start.elapsed();
        assert_eq!(out.len(), WIDTH * HEIGHT);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0 / RUNS as f64;
    let (pre, inference, post) = (ms(pre), ms(inference), ms(post));
    let (w, h) = depth::inference_size(WIDTH, HEIGHT, quality);
    println!("1920x1080 RGBA f32, {quality:?} ({w}x{h}), mean of {RUNS} runs:");
    println!("  pre-processing   {pre:8.2} ms");
    println!("  inference        {inference:8.2} ms");
    println!("  post-processing  {post:8.2} ms");
    println!("  overhead (pre+post)/inference = {:.3} (target <= 0.10)", (pre + post) / inference);
}

fn cached_and_numpy(estimator: &DepthEstimator, frame: &Frame<'_>, cache: &Path) {
    let first = Instant::now();
    let map = estimator.depth(frame, Quality::Better).unwrap();
    to_frame_size(&normalize(&map), &map, WIDTH, HEIGHT);
    let first = first.elapsed();
    let runs_before = estimator.inferences();
    let again = Instant::now();
    let map = estimator.depth(frame, Quality::Better).unwrap();
    to_frame_size(&normalize(&map), &map, WIDTH, HEIGHT);
    let again = again.elapsed();
    assert_eq!(estimator.inferences(), runs_before, "a cached re-render runs no inference");
    println!(
        "  first render {:.1} ms, cached re-render {:.1} ms (hash + normalise + resize): {:.1}x faster",
        first.as_secs_f64() * 1e3,
        again.as_secs_f64() * 1e3,
        first.as_secs_f64() / again.as_secs_f64()
    );

    match numpy_reference(cache) {
        Some(numpy) => println!("  numpy pre+post (Better) {numpy:8.2} ms"),
        None => println!("  numpy reference not run (no .cache/venv: run `cargo xtask setup`)"),
    }
}

fn choose_model(models: &Path) -> (PathBuf, bool) {
    if let Some(path) = std::env::var_os("DEEPMATTE_BENCH_MODEL") {
        return (PathBuf::from(path), true);
    }
    for real in [models.join(depth::FILE), models.join("real-arch").join(depth::FILE)] {
        if real.is_file() {
            return (real, true);
        }
    }
    if !models.join(depth::FILE).is_file() {
        let python = models.join("../venv/bin/python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/cost_standin.py");
        let made = Command::new(python).arg(script).arg(models.join("depth_standin_cost.onnx")).status();
        if !made.is_ok_and(|s| s.success()) {
            println!("!! could not generate the cost-equivalent stand-in (run `cargo xtask setup` first)");
        }
    }
    for file in [depth::FILE, "depth_standin_cost.onnx"] {
        if models.join(file).is_file() {
            return (models.join(file), true);
        }
    }
    (models.join(depth::standin::EXACT_FILE), false)
}

/// A frame with detail everywhere (so no resampling shortcut applies): gradients and a ripple.
fn test_frame() -> Vec<f32> {
    let mut pixels = Vec::with_capacity(WIDTH * HEIGHT * 4);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (u, v) = (x as f32 / WIDTH as f32, y as f32 / HEIGHT as f32);
            let ripple = 0.5 + 0.5 * ((x as f32 * 0.05).sin() * (y as f32 * 0.07).cos());
            pixels.extend_from_slice(&[u, v, ripple, 1.0]);
        }
    }
    pixels
}

/// Milliseconds the numpy twin of our pre+post takes (models/bench_prepost.py), if the venv exists.
fn numpy_reference(cache: &Path) -> Option<f64> {
    let python = cache.join("venv").join("bin").join("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/bench_prepost.py");
    let output = Command::new(python).arg(script).args([WIDTH.to_string(), HEIGHT.to_string()]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).lines().last()?.trim().parse().ok()
}
