//! Magic Mask in hosts without push buttons or secret controls (MLT: Shotcut, Kdenlive): prompts
//! typed into the visible Prompts Text control and Track on Render make a sequential render track
//! the clip, storing the same masks Track Forward stores; in Resolve a render never tracks unasked.

mod common;

use common::{cache_models, load, model_runs};
use deepmatte_ofx::effects::magic_mask_controls as mm;
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};
use segment::synthetic::{iou, Scene};
use std::collections::BTreeMap;
use std::path::Path;

const ID: &str = "org.deepmatte.MagicMask";

/// Turns for the process-wide model-run counter.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A frame of the scene as a 16-bit host image (y up): MLT hands over 16-bit for deep sources.
fn host_image(scene: &Scene, frame: i32) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), BitDepth::U16, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

fn binary(out: &Image) -> Vec<bool> {
    let (w, h) = (out.width() as i32, out.height() as i32);
    (0..h).flat_map(|row| (0..w).map(move |x| (x, h - 1 - row))).map(|(x, y)| out.get(x, y, 0) >= 0.5).collect()
}

fn instance(profile: HostProfile, scene: &Scene, store: &Path) -> Instance {
    let mut fx = load(profile).create_instance(ID, Context::Filter).unwrap();
    fx.set_param_text(mm::MODEL_FOLDER.name, cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text(mm::STORE_FOLDER.name, store.to_str().unwrap()).unwrap();
    // By label: MLT matches choices by their label only.
    fx.set_param_text(mm::VIEW.name, "Matte").unwrap();
    let frames: BTreeMap<i32, Image> = (0..scene.frames).map(|f| (f, host_image(scene, f))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, f64::from(scene.frames - 1));
    fx
}

fn text(fx: &Instance, name: &str) -> String {
    match fx.param_value(name, 0.0).unwrap() {
        ParamValue::String(s) => s,
        other => panic!("{name}: {other:?}"),
    }
}

/// Every stored mask of the only store under `root`, by frame.
fn stored_masks(root: &Path) -> BTreeMap<i32, Vec<u16>> {
    let stores: Vec<_> = std::fs::read_dir(root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    assert_eq!(stores.len(), 1, "one store in {}: {stores:?}", root.display());
    let store = segment::MaskStore::open_folder(&stores[0]).unwrap();
    store.frames().map(|(f, _)| (f, store.read(f).unwrap().coverage)).collect()
}

/// The button-driven path: one click on frame 0, Track Forward. Returns the typed prompts, the
/// stored masks and the model runs it took.
fn by_buttons(scene: &Scene) -> (String, BTreeMap<i32, Vec<u16>>, u64) {
    let store = tempfile::tempdir().unwrap();
    let mut fx = instance(HostProfile::Generic, scene, store.path());
    let before = model_runs();
    let (x, y, _) = scene.object(0);
    fx.set_param(mm::POINT.name, ParamValue::Double2D(f64::from(x), scene.height as f64 - f64::from(y))).unwrap();
    fx.press(mm::ADD_POSITIVE.name, 0.0).unwrap();
    fx.press(mm::TRACK_FORWARD.name, 0.0).unwrap();
    let runs = model_runs() - before;
    (text(&fx, mm::PROMPTS.name), stored_masks(store.path()), runs)
}

#[test]
fn a_sequential_mlt_render_with_typed_prompts_stores_the_masks_track_forward_stores() {
    let _turn = serial();
    let scene = Scene::new(60);
    let (prompts, want, button_runs) = by_buttons(&scene);
    assert_eq!(want.len(), 60);

    let store = tempfile::tempdir().unwrap();
    let mut fx = instance(HostProfile::Mlt, &scene, store.path());
    assert_eq!(fx.param_value(mm::TRACK_ON_RENDER.name, 0.0).unwrap(), ParamValue::Bool(true), "on by default where there are no buttons");
    // Typed as a Shotcut user (or a melt property) would: one line.
    let typed = prompts.trim().replace('\n', "; ");
    fx.set_param_text(mm::PROMPTS.name, &typed).unwrap();
    let before = model_runs();
    let mut ious = Vec::new();
    fx.render_sequence(0, 59, &RenderOptions::default(), |f, out| {
        ious.push(iou(&binary(&out), &scene.truth(f)));
        Ok(())
    })
    .unwrap();
    let runs = model_runs() - before;
    let got = stored_masks(store.path());
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "every frame of the render is stored");
    let (mut worst, mut differing, mut total) = (0u16, 0usize, 0usize);
    for (f, mask) in &got {
        assert_eq!(mask.len(), want[f].len(), "frame {f}: mask size");
        for (a, b) in mask.iter().zip(&want[f]) {
            worst = worst.max(a.abs_diff(*b));
            differing += usize::from(a != b);
        }
        total += mask.len();
    }
    let mean = ious.iter().sum::<f64>() / ious.len() as f64;
    println!(
        "Track on Render under MLT: 60 frames, {runs} model runs (Track Forward: {button_runs}), \
         {differing} of {total} mask pixels differ, by at most {worst}/65535; mean IoU {mean:.4}"
    );
    // The same loop on the same pixels; the models' float sums may round a last bit differently
    // (Natron measured the same: a few pixels one 16-bit step off).
    assert!(worst <= 2, "the masks equal Track Forward's within 2/65535: {worst}");
    assert!(differing * 1000 <= total, "{differing} of {total} pixels differ");
    assert!(mean >= 0.9, "the rendered mattes follow the object: mean IoU {mean:.4}");
    // Each frame tracked once: a run per frame from frame 0 would take far more.
    assert!(runs <= button_runs + 2, "{runs} model runs for 60 frames (Track Forward took {button_runs})");
}

#[test]
fn a_render_in_resolve_never_tracks_unasked() {
    let _turn = serial();
    let scene = Scene::new(8);
    let (prompts, _, _) = by_buttons(&scene);
    let store = tempfile::tempdir().unwrap();
    let mut fx = instance(HostProfile::Resolve, &scene, store.path());
    assert_eq!(fx.param_value(mm::TRACK_ON_RENDER.name, 0.0).unwrap(), ParamValue::Bool(false), "off where buttons exist");
    fx.set_param_text(mm::PROMPTS.name, &prompts).unwrap();
    let before = model_runs();
    for f in [0, 5] {
        let out = fx.render(f64::from(f), &RenderOptions::default()).unwrap();
        assert!(binary(&out).iter().all(|&m| !m), "frame {f}: not tracked, empty matte");
    }
    assert_eq!(model_runs(), before, "no model ran during playback");
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 0, "nothing stored");

    // Switched on, the same render tracks (here from the prompted frame 0 to frame 5).
    fx.set_param_text(mm::TRACK_ON_RENDER.name, "true").unwrap();
    let out = fx.render(5.0, &RenderOptions::default()).unwrap();
    assert!(iou(&binary(&out), &scene.truth(5)) >= 0.9);
    assert_eq!(stored_masks(store.path()).len(), 6, "frames 0–5 passed, all stored");
}

fn cli() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let cli = target.join("release/deepmatte");
    assert!(cli.is_file(), "no {}: run `cargo xtask test` (it builds the CLI)", cli.display());
    cli
}

#[test]
fn a_farm_render_from_the_cli_tracks_from_the_prompted_frame_to_its_range() {
    let _turn = serial();
    let scene = Scene::new(10);
    let (prompts, want, _) = by_buttons(&scene);
    let input = tempfile::tempdir().unwrap();
    for f in 0..10 {
        host_image(&scene, f).save(&input.path().join(format!("{f:04}.png"))).unwrap();
    }
    let (out, store) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A farm node's share: frames 6–9, the click on frame 0.
    let result = std::process::Command::new(cli())
        .args(["render", "--effect", "magic-mask", "--bundle"])
        .arg(common::bundle_path())
        .arg("--input")
        .arg(input.path().join("%04d.png"))
        .arg("--output")
        .arg(out.path().join("%04d.png"))
        .args(["--frames", "6-9", "--set", &format!("{}={}", mm::PROMPTS.name, prompts.trim().replace('\n', ";"))])
        .args(["--set", &format!("{}=true", mm::TRACK_ON_RENDER.name), "--set", &format!("{}=matte", mm::VIEW.name)])
        .args(["--set", &format!("{}={}", mm::MODEL_FOLDER.name, cache_models().display())])
        .args(["--set", &format!("{}={}", mm::STORE_FOLDER.name, store.path().display())])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}\n{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    for f in 6..10 {
        let matte = Image::load(&out.path().join(format!("{f:04}.png"))).unwrap();
        let score = iou(&binary(&matte), &scene.truth(f));
        assert!(score >= 0.9, "frame {f}: IoU {score:.3}");
    }
    let got = stored_masks(store.path());
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), (0..10).collect::<Vec<_>>(), "frames 0–5 on the way are stored too");
    for (f, mask) in &got {
        let worst = mask.iter().zip(&want[f]).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        assert!(worst <= 2, "frame {f}: {worst}/65535 from Track Forward's mask");
    }
}
