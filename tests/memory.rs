//! Memory through the built bundle: PurgeCaches gives back what the effects cached (the next render
//! has to run the model again), and tiled renders cost their own pixels, never another whole frame.

mod common;

use common::{load, model_folder_with, model_runs, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Instance, ParamValue, Rect, RenderOptions};

/// The model-run counter is process-wide: tests in this binary take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn depth_map(profile: HostProfile) -> (Instance, tempfile::TempDir) {
    let folder = model_folder_with(depth::standin::EXACT_FILE, depth::FILE);
    let mut fx = load(profile).create_instance("org.deepmatte.DepthMap", Context::Filter).unwrap();
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    (fx, folder)
}

#[test]
fn purge_caches_frees_depth_so_the_next_render_runs_the_model_again() {
    let _turn = serial();
    let (mut fx, _models) = depth_map(HostProfile::Generic);
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 96, 54), BitDepth::F32, Components::Rgba, 11)));
    let first = fx.render(0.0, &RenderOptions::default()).unwrap();
    let runs = model_runs();
    let again = fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(model_runs(), runs, "a second render of the same frame is cached");
    fx.purge_caches().unwrap();
    let after = fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(model_runs(), runs + 1, "after PurgeCaches the raw depth is gone: the model runs again");
    assert_eq!(max_difference(&first, &again), 0.0);
    assert_eq!(max_difference(&first, &after), 0.0, "a purge changes no pixel");
}

/// The largest difference between two images of the same bounds, over every channel.
fn max_difference(a: &ofx_host::Image, b: &ofx_host::Image) -> f32 {
    assert_eq!(a.bounds(), b.bounds());
    let r = a.bounds();
    let mut worst = 0.0f32;
    for y in r.y1..r.y2 {
        for x in r.x1..r.x2 {
            for (p, q) in a.rgba(x, y).iter().zip(b.rgba(x, y)) {
                worst = worst.max((p - q).abs());
            }
        }
    }
    worst
}

fn tiles(n: usize) -> RenderOptions {
    RenderOptions { tiles: Some(n), ..RenderOptions::default() }
}

#[test]
fn depth_map_in_sixteen_tiles_matches_one_whole_render() {
    let _turn = serial();
    let (mut fx, _models) = depth_map(HostProfile::Nuke);
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 120, 64), BitDepth::F32, Components::Rgba, 5)));
    fx.set_param("post_processing", ParamValue::Bool(true)).unwrap();
    fx.set_param("post_filter", ParamValue::Double(3.0)).unwrap();
    fx.set_param("blur", ParamValue::Double(2.0)).unwrap();
    let whole = fx.render(0.0, &tiles(1)).unwrap();
    fx.purge_caches().unwrap();
    let tiled = fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!(max_difference(&whole, &tiled), 0.0, "each tile is the whole frame's finished matte, cut");
}

/// The tiles of a frame share one content hash of the source while they hold it (`ofx::Image::content_hash`):
/// a new frame of the same size, rendered after them (the host free to hand it over the same
/// memory), is hashed afresh and never gets the old finished frame.
#[test]
fn tiles_sharing_a_hash_never_serve_the_previous_frame() {
    let _turn = serial();
    let (mut fx, _models) = depth_map(HostProfile::Nuke);
    fx.set_param("post_processing", ParamValue::Bool(true)).unwrap();
    fx.set_param("post_filter", ParamValue::Double(2.0)).unwrap();
    let frames: Vec<_> = [5, 6, 5].iter().map(|&seed| test_image(Rect::new(0, 0, 240, 136), BitDepth::F32, Components::Rgba, seed)).collect();
    let mut whole = Vec::new();
    for frame in &frames[..2] {
        fx.purge_caches().unwrap();
        fx.set_input("Source", ClipSource::Still(frame.clone()));
        whole.push(fx.render(0.0, &tiles(1)).unwrap());
    }
    assert!(max_difference(&whole[0], &whole[1]) > 0.01, "the two frames have different depth");
    fx.purge_caches().unwrap();
    for (i, frame) in frames.iter().enumerate() {
        fx.set_input("Source", ClipSource::Still(frame.clone()));
        for round in 0..2 {
            let tiled = fx.render(0.0, &tiles(16)).unwrap();
            assert_eq!(max_difference(&tiled, &whole[i % 2]), 0.0, "frame {i}, tiled render {round}: not the whole render of this frame");
        }
    }
}

#[test]
fn auto_subject_runs_u2netp_once_per_frame_whatever_the_tiles() {
    let _turn = serial();
    let mut fx = load(HostProfile::Nuke).create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    fx.set_param_text("model_folder", common::cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("mode", "auto_subject").unwrap();
    fx.set_param_text("view", "matte").unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 96, 72), BitDepth::U8, Components::Rgba, 3)));
    fx.purge_caches().unwrap();
    let runs = model_runs();
    let tiled = fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!(model_runs(), runs + 1, "one U²-Netp run for sixteen tiles");
    let whole = fx.render(0.0, &tiles(1)).unwrap();
    fx.set_param("blur", ParamValue::Double(1.5)).unwrap();
    fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!(model_runs(), runs + 1, "re-renders and other finesse settings reuse the saliency map");
    assert_eq!(max_difference(&whole, &tiled), 0.0);
}

#[test]
fn magic_mask_tiles_read_the_store_once_and_a_purge_reads_it_again() {
    let _turn = serial();
    let root = tempfile::tempdir().unwrap();
    let id = "mm-00000000000000a1";
    let (w, h) = (64usize, 40usize);
    // The left half is the object.
    let mask = segment::Mask { width: w, height: h, coverage: (0..w * h).map(|i| if i % w < w / 2 { 65535 } else { 0 }).collect() };
    let mut store = segment::MaskStore::open(root.path(), id).unwrap();
    store.write(0, &mask, "sam2.1", "better", "hash", segment::Direction::Forward).unwrap();

    let mut fx = load(HostProfile::Nuke).create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    fx.set_param_text("store_folder", root.path().to_str().unwrap()).unwrap();
    fx.set_param_text("store_id", id).unwrap();
    fx.set_param_text("view", "matte").unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, w as i32, h as i32), BitDepth::F32, Components::Rgba, 9)));
    let matte_at = |out: &ofx_host::Image, x: i32| out.get(x, h as i32 / 2, 0);
    let first = fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!((matte_at(&first, 2), matte_at(&first, w as i32 - 2)), (1.0, 0.0));

    // The PNG is damaged behind the manifest's back: tiles and re-renders never read it again...
    std::fs::write(store.folder().join("frame_000000.png"), b"not a png").unwrap();
    let again = fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!(max_difference(&first, &again), 0.0, "the finished matte came from memory, not the store");
    // ...until the host purges caches: then the store is read, and the damage shows.
    fx.purge_caches().unwrap();
    let purged = fx.render(0.0, &tiles(16)).unwrap();
    assert_eq!(matte_at(&purged, 2), 0.0, "after PurgeCaches the damaged file is read: empty matte");
}
