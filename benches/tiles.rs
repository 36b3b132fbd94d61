//! A frame in 16 tiles against one whole render, through the built bundle under the Nuke profile
//! (a tiled host), for Depth Map and Magic Mask. Target: 16 tiles cost at most 1.3× the whole render.
//!
//! Each pair is measured after a slider move (Far Limit / Blur), so the finished matte is made again
//! but the model does not run (the raw depth is cached): what is left is exactly the per-tile work
//! the finished-frame cache removes. Depth Map's Post Filter and Magic Mask's Blur are on, so a
//! tile that redid the whole-frame finesse would cost a whole frame.
//!
//! `cargo xtask bundle && cargo bench -p deepmatte-plugin --bench tiles`

use ofx_host::{BitDepth, Bundle, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

/// Median time of a render in `tiles` strips, each after moving `param` to a new value.
fn timed(fx: &mut Instance, tiles: usize, param: &str, base: f64) -> f64 {
    let options = RenderOptions { tiles: Some(tiles), ..RenderOptions::default() };
    let times = (0..RUNS)
        .map(|i| {
            fx.set_param(param, ParamValue::Double(base + 0.01 * (i + tiles) as f64)).unwrap();
            let t = Instant::now();
            fx.render(0.0, &options).expect("render");
            t.elapsed()
        })
        .collect();
    median(times)
}

fn report(effect: &str, fx: &mut Instance, param: &str, base: f64) {
    // Warm the model's output first: the first render runs it.
    fx.render(0.0, &RenderOptions { tiles: Some(1), ..RenderOptions::default() }).expect("first render");
    let whole = timed(fx, 1, param, base);
    let tiled = timed(fx, 16, param, base);
    println!(
        "{effect}, 1920x1080 float RGBA, Nuke profile: whole frame {whole:.1} ms, 16 tiles {tiled:.1} ms (median of {RUNS}, after moving {param}): {:.2}x (target <= 1.3)",
        tiled / whole
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bundle_dir = std::env::var_os("DEEPMATTE_BUNDLE").map(PathBuf::from).unwrap_or_else(|| root.join("target/bundle/DeepMatte.ofx.bundle"));
    let bundle = Bundle::load(&bundle_dir, HostProfile::Nuke).expect("run `cargo xtask bundle` first");
    let bounds = Rect::new(0, 0, 1920, 1080);
    let source = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
        ((x as f32 * 0.013 + c as f32).sin() * 0.25 + (y as f32 * 0.021).cos() * 0.25 + 0.5).clamp(0.0, 1.0)
    });

    let models = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root.join(".cache/models/depth_standin_exact.onnx"), models.path().join("depth_anything_v2_small.onnx")).expect("run `cargo xtask setup` first");
    let mut depth = bundle.create_instance("org.deepmatte.DepthMap", Context::Filter).expect("Depth Map");
    depth.set_param_text("model_folder", models.path().to_str().unwrap()).unwrap();
    depth.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    depth.set_param("post_processing", ParamValue::Bool(true)).unwrap();
    depth.set_param("post_filter", ParamValue::Double(4.0)).unwrap();
    depth.set_input("Source", ClipSource::Still(source.clone()));
    report("Depth Map (Post Filter 4)", &mut depth, "far_limit", 0.05);

    let store = tempfile::tempdir().expect("temp dir");
    let id = "mm-00000000000000b2";
    let (w, h) = (1920usize, 1080usize);
    let mask = segment::Mask { width: w, height: h, coverage: (0..w * h).map(|i| if (i % w) < w / 2 { 65535 } else { 0 }).collect() };
    segment::MaskStore::open(store.path(), id).unwrap().write(0, &mask, "sam2.1", "better", "bench", segment::Direction::Forward).unwrap();
    let mut magic = bundle.create_instance("org.deepmatte.MagicMask", Context::Filter).expect("Magic Mask");
    magic.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    magic.set_param_text("store_id", id).unwrap();
    magic.set_input("Source", ClipSource::Still(source));
    report("Magic Mask (stored mask, Blur)", &mut magic, "blur", 3.0);

    // For scale: what a host that copied the frame for every tile's clipGetImage would add (this
    // host, like those with an image cache, hands the tiles of one render one buffer).
    let image = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |_, _, _| 0.5);
    let t = Instant::now();
    for _ in 0..16 {
        std::hint::black_box(image.clone());
    }
    println!("(for scale: copying the source frame 16 times, once per tile, takes {:.1} ms)", t.elapsed().as_secs_f64() * 1e3);

    // What every tile still pays for the whole frame: the content hash that finds the finished
    // frame (it must read every pixel, or a changed source could get a stale matte).
    let pixels: Vec<f32> = (0..1920 * 1080 * 4).map(|i| (i % 1013) as f32 / 1013.0).collect();
    let hash = || {
        let rows = pixels.chunks(1920 * 4).map(imaging::RowRef::F32).collect();
        std::hint::black_box(imaging::ImageRef::new(imaging::Rect { x1: 0, y1: 0, x2: 1920, y2: 1080 }, imaging::Components::Rgba, rows).content_hash());
    };
    let time_of = |f: &dyn Fn()| median((0..9).map(|_| { let t = Instant::now(); f(); t.elapsed() }).collect());
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let serial = time_of(&|| one.install(hash));
    let parallel = time_of(&hash);
    println!(
        "(per tile: the source's content hash, 1920x1080 float RGBA, {parallel:.2} ms on {} threads, {serial:.2} ms on one: x16 tiles = {:.1} ms)",
        rayon::current_num_threads(),
        16.0 * parallel
    );
}
