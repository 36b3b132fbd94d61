//! Temporal Stability at 1920×1080 on the four generated shots of the tests (pan, zoom, moving
//! object, cut; tests/common/sequences.rs), Off / Static shot / Follow motion side by side:
//! motion-aligned flicker, sharpness (mean gradient magnitude) and cost per frame through the
//! built bundle, every mode from cold caches. Then what the optical flow costs per 1080p frame on
//! its own (luma at the working size, and the flows and confidences of a ±2 window), and what a
//! Strength change costs once the flows are cached.
//!
//! The depth model is the flicker stand-in (cheap; per-frame scale, shift and curve like a real
//! relative-depth model), so the cost columns are the stabiliser's and the pipeline's, not a real
//! model's: see the depth_map_rerender benchmark for that.
//!
//! `cargo xtask bundle && cargo bench -p deepmatte-plugin --bench temporal_stability`

#[path = "../tests/common/sequences.rs"]
mod sequences;

use imaging::{luma_plane, shrink_area, Components as ImagingComponents, ImageRef, Plane, Rect as ImagingRect, RowRef};
use ofx_host::{Bundle, ClipSource, Context, HostProfile, Image, Instance, ParamValue, RenderOptions};
use sequences::{aligned_flicker, sharpness, Matte, Sequence, FRAMES};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SIZE: (usize, usize) = (1920, 1080);

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundle_dir = std::env::var_os("DEEPMATTE_BUNDLE").map(PathBuf::from).unwrap_or_else(|| root.join("target/bundle/DeepMatte.ofx.bundle"));
    let folder = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join(".cache/models").join(depth::standin::FLICKER_FILE), folder.path().join("depth_anything_v2_small.onnx"))
        .expect("the flicker stand-in (cargo xtask setup)");
    let bundle = Bundle::load(&bundle_dir, HostProfile::Resolve).expect("run `cargo xtask bundle` first");
    let flows = || ofx_host::plugin_counter(&bundle_dir, "DeepMatteFlowRuns").expect("DeepMatteFlowRuns");

    println!("temporal stability benchmark: {}x{} float RGBA, {FRAMES} frames per shot, flicker stand-in, Strength 0.8, Window 2", SIZE.0, SIZE.1);
    // Times are wall clock on a machine others may be using: say how busy it was.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {} ({} threads here)", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "), rayon::current_num_threads());
    }
    println!();
    println!("{:<14} | {:>27} | {:>27} | {:>33}", "", "flicker (motion-aligned)", "sharpness", "ms per frame, cold");
    println!("{:<14} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>9} | {:>8} {:>8} {:>15}", "shot", "off", "static", "follow", "off", "static", "follow", "off", "static", "follow (flows)");
    // One shot in memory at a time (24 float 1080p frames are 800 MB); the pan is kept for the end.
    let pan = sequences::pan(SIZE);
    let makers: [fn((usize, usize)) -> Sequence; 3] = [sequences::zoom, sequences::moving_object, sequences::cut];
    for shot in std::iter::once(None).chain(makers.iter().map(Some)) {
        let generated = shot.map(|make| make(SIZE));
        let shot = generated.as_ref().unwrap_or(&pan);
        let mut fx = bundle.create_instance("depth-map", Context::Filter).expect("Depth Map");
        fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
        fx.set_param_text("output", "matte").unwrap();
        fx.set_input("Source", ClipSource::Frames(shot.frames.clone()));
        fx.set_frame_range(0.0, f64::from(FRAMES - 1));
        let mut row = Vec::new();
        for mode in [None, Some("static"), Some("follow")] {
            let before = flows();
            let (mattes, per_frame) = run(&mut fx, mode);
            row.push((aligned_flicker(&mattes, shot.truth), sharpness(&mattes), per_frame, (flows() - before) as f64 / f64::from(FRAMES)));
        }
        println!(
            "{:<14} | {:>8.4} {:>8.4} {:>9.4} | {:>8.4} {:>8.4} {:>9.4} | {:>8.1} {:>8.1} {:>8.1} ({:.1})",
            shot.name,
            row[0].0,
            row[1].0,
            row[2].0,
            row[0].1,
            row[1].1,
            row[2].1,
            ms(row[0].2),
            ms(row[1].2),
            ms(row[2].2),
            row[2].3
        );
    }
    println!("(flows) = optical flows computed per frame; 'off' and 'static' compute none.");
    println!();
    flow_cost(&pan);
    strength_change(&bundle, folder.path().to_str().unwrap(), &pan);
}

/// Every frame in order from cold caches; the mattes and the mean time per frame.
fn run(fx: &mut Instance, mode: Option<&str>) -> (Vec<Matte>, Duration) {
    fx.purge_caches().unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(mode.is_some())).unwrap();
    fx.set_param_text("temporal_motion", mode.unwrap_or("follow")).unwrap();
    let t = Instant::now();
    let images: Vec<Image> = (0..FRAMES).map(|f| fx.render(f64::from(f), &RenderOptions::default()).unwrap()).collect();
    let per_frame = t.elapsed() / FRAMES as u32;
    (images.iter().map(Matte::of).collect(), per_frame)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Luma of a host image at `size` (what the effect computes the flow on).
fn luma(image: &Image, size: (usize, usize)) -> Plane {
    let b = image.bounds();
    let rows: Vec<Vec<f32>> = (b.y1..b.y2).map(|y| (b.x1..b.x2).flat_map(|x| (0..4).map(move |c| (x, c))).map(|(x, c)| image.get(x, y, c)).collect()).collect();
    let view = ImageRef::new(ImagingRect { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 }, ImagingComponents::Rgba, rows.iter().map(|r| RowRef::F32(r)).collect());
    shrink_area(&luma_plane(&view), size.0, size.1)
}

/// The optical flow's own cost per 1080p frame at Window 2: each frame's luma once, and two
/// pairs (each pair is two flows and two confidences, shared by both frames' windows).
fn flow_cost(shot: &Sequence) {
    let work = depth::working_size(SIZE, depth::inference_size(SIZE.0, SIZE.1, depth::Quality::Better));
    let images: Vec<&Image> = shot.frames.values().take(3).collect();
    let t = Instant::now();
    let lumas: Vec<Plane> = images.iter().map(|i| luma(i, work)).collect();
    let luma_ms = ms(t.elapsed()) / 3.0;
    let mut align = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(depth::align(&lumas[0], &lumas[2]));
        align.push(t.elapsed());
    }
    align.sort();
    let pair = ms(align[1]);
    println!(
        "optical flow per 1080p frame (working size {}x{}, flows at half of it, {}): luma {luma_ms:.1} ms (this benchmark's own slow read of the host image through Image::get) + 2 pairs x {pair:.1} ms (2 flows + 2 confidences each, median of 3) = {:.1} ms; on {} threads",
        work.0,
        work.1,
        format_args!("{}x{}", work.0 / 2, work.1 / 2),
        luma_ms + 2.0 * pair,
        rayon::current_num_threads()
    );
}

/// A Strength change re-stabilises from cached raw depth and flows: the warps and the average only.
fn strength_change(bundle: &Bundle, models: &str, shot: &Sequence) {
    let mut fx = bundle.create_instance("depth-map", Context::Filter).expect("Depth Map");
    fx.set_param_text("model_folder", models).unwrap();
    fx.set_input("Source", ClipSource::Frames(shot.frames.clone()));
    fx.set_frame_range(0.0, f64::from(FRAMES - 1));
    fx.render(10.0, &RenderOptions::default()).unwrap();
    let mut times = Vec::new();
    for strength in [0.5, 0.6, 0.7, 0.9, 1.0] {
        fx.set_param("temporal_strength", ParamValue::Double(strength)).unwrap();
        let t = Instant::now();
        fx.render(10.0, &RenderOptions::default()).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!("re-render after a Strength change at 1080p, Follow motion (cached depth and flows: curve match, warps, average, resize): {:.1} ms (median of 5)", ms(times[2]));
}
