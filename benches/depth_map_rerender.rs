//! Depth Map through the built bundle on a 1920×1080 float RGBA frame: the first render (model
//! run) against a re-render after moving Far Limit (depth cache), in one run. Target: the
//! re-render is at least 20× faster and runs no model.
//!
//! Uses the cost-equivalent stand-in (`.cache/models/depth_standin_cost.onnx`, real ViT-S/14 + DPT
//! architecture with random weights, made by `python models/cost_standin.py`) when present, else
//! the cheap exact stand-in, and says which.
//!
//! `cargo xtask bundle && cargo bench -p deepmatte-plugin --bench depth_map_rerender`

use ofx_host::{BitDepth, Bundle, ClipSource, Components, Context, HostProfile, Image, ParamValue, Rect, RenderOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundle_dir = std::env::var_os("DEEPMATTE_BUNDLE").map(PathBuf::from).unwrap_or_else(|| root.join("target/bundle/DeepMatte.ofx.bundle"));
    let cost = root.join(".cache/models/depth_standin_cost.onnx");
    let (model, which) = if cost.is_file() {
        (cost, "cost-equivalent stand-in (ViT-S/14 + DPT, random weights)")
    } else {
        (root.join(".cache/models/depth_standin_exact.onnx"), "exact stand-in (cheap; NOT cost-equivalent: run models/cost_standin.py)")
    };
    let folder = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&model, folder.path().join("depth_anything_v2_small.onnx")).expect("copy the model");
    println!("depth map re-render benchmark: model = {which}");

    let bundle = Bundle::load(&bundle_dir, HostProfile::Resolve).expect("run `cargo xtask bundle` first");
    // Temporal Stability off: one frame; on (the default, window ±2): five frames, all of which
    // the first render has to run the model on.
    for (temporal, frames) in [(false, 1), (true, 5)] {
        let mut fx = bundle.create_instance("depth-map", Context::Filter).expect("Depth Map");
        fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
        fx.set_param("temporal_stability", ParamValue::Bool(temporal)).unwrap();
        let clip: BTreeMap<i32, Image> = (0..frames)
            .map(|f| {
                let image = Image::from_fn(Rect::new(0, 0, 1920, 1080), BitDepth::F32, Components::Rgba, |x, y, c| {
                    ((x as f32 * 0.013 + c as f32 + f as f32 * 0.1).sin() * 0.25 + (y as f32 * 0.021).cos() * 0.25 + 0.5).clamp(0.0, 1.0)
                });
                (f, image)
            })
            .collect();
        fx.set_input("Source", ClipSource::Frames(clip));
        fx.set_frame_range(0.0, f64::from(frames - 1));
        let target = f64::from(frames / 2);

        let t = Instant::now();
        fx.render(target, &RenderOptions::default()).expect("first render");
        let first = t.elapsed();
        let mut rerenders = Vec::new();
        for far in [0.05, 0.1, 0.15, 0.2, 0.25] {
            fx.set_param("far_limit", ParamValue::Double(far)).unwrap();
            let t = Instant::now();
            fx.render(target, &RenderOptions::default()).expect("re-render");
            rerenders.push(t.elapsed());
        }
        rerenders.sort();
        let rerender = rerenders[rerenders.len() / 2];
        println!(
            "1920x1080 float RGBA, Temporal Stability {}: first render {:.1} ms, re-render after Far Limit {:.1} ms (median of 5), speed-up {:.1}x (target >= 20)",
            if temporal { "on (window 2)" } else { "off" },
            first.as_secs_f64() * 1e3,
            rerender.as_secs_f64() * 1e3,
            first.as_secs_f64() / rerender.as_secs_f64()
        );
    }
}
