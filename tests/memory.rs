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
