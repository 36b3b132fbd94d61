//! Magic Mask through the built bundle with the project's SAM 2 stand-ins, driven as a user
//! would: the Point control and buttons, or pen events in the viewer; then checked against the
//! synthetic clip's exact ground truth.

mod common;

use common::{cache_models, load, model_runs};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, Modifiers, ParamValue, ProgressEvent, Rect, RenderOptions};
use segment::synthetic::{covered, iou, Scene};
use std::collections::BTreeMap;

const ID: &str = "org.deepmatte.MagicMask";

/// Turns for the process-wide model-run counter (see depth_map.rs).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A frame of the scene as a host image (y up).
fn host_image(scene: &Scene, frame: i32, depth: BitDepth) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), depth, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

/// The rendered matte as a top-down binary mask, like the scene's truth.
fn binary(out: &Image) -> Vec<bool> {
    let (w, h) = (out.width() as i32, out.height() as i32);
    (0..h).flat_map(|row| (0..w).map(move |x| (x, h - 1 - row))).map(|(x, y)| out.get(x, y, 0) >= 0.5).collect()
}

/// Canonical (y up) position of a top-down pixel position.
fn canonical(scene: &Scene, x: f32, y: f32) -> (f64, f64) {
    (f64::from(x), scene.height as f64 - f64::from(y))
}

struct Setup {
    fx: Instance,
    store: tempfile::TempDir,
}

fn setup(scene: &Scene) -> Setup {
    let mut fx = load(HostProfile::Generic).create_instance(ID, Context::Filter).unwrap();
    let store = tempfile::tempdir().unwrap();
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    fx.set_param_text("view", "matte").unwrap();
    let frames: BTreeMap<i32, Image> = (0..scene.frames).map(|f| (f, host_image(scene, f, BitDepth::F32))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, f64::from(scene.frames - 1));
    Setup { fx, store }
}

fn click(fx: &mut Instance, scene: &Scene, frame: i32, at: (f32, f32), button: &str) {
    let (x, y) = canonical(scene, at.0, at.1);
    fx.set_param("point", ParamValue::Double2D(x, y)).unwrap();
    fx.press(button, f64::from(frame)).unwrap();
}

fn object_centre(scene: &Scene, frame: i32) -> (f32, f32) {
    let (x, y, _) = scene.object(frame);
    (x, y)
}

fn mean_iou(fx: &Instance, scene: &Scene, frames: impl Iterator<Item = i32>) -> f64 {
    let ious: Vec<f64> = frames.map(|f| iou(&binary(&fx.render(f64::from(f), &RenderOptions::default()).unwrap()), &scene.truth(f))).collect();
    let mean = ious.iter().sum::<f64>() / ious.len() as f64;
    println!("mean IoU {mean:.4} over {} frames, worst {:.4}", ious.len(), ious.iter().cloned().fold(1.0, f64::min));
    mean
}

#[test]
fn one_click_and_track_forward_follows_the_object_with_progress() {
    let _turn = serial();
    let scene = Scene::new(60);
    let Setup { mut fx, store: _store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    let before = fx.progress_events().len();
    fx.press("track_forward", 0.0).unwrap();
    let updates = fx.progress_events()[before..].iter().filter(|e| matches!(e, ProgressEvent::Update(_))).count();
    assert_eq!(updates, 60, "one progress update per tracked frame");
    assert!(mean_iou(&fx, &scene, 0..60) >= 0.9);
    let status = fx.param_value("status", 0.0).unwrap();
    assert!(matches!(&status, ParamValue::String(s) if s.contains("Tracked 60 frames") && s.contains("Models on CPU")), "{status:?}");
}

#[test]
fn track_backward_from_the_last_frame() {
    let _turn = serial();
    let scene = Scene::new(60);
    let Setup { mut fx, store: _store } = setup(&scene);
    click(&mut fx, &scene, 59, object_centre(&scene, 59), "add_positive");
    fx.press("track_backward", 59.0).unwrap();
    assert!(mean_iou(&fx, &scene, 0..60) >= 0.9);
}

#[test]
fn a_negative_click_removes_a_touching_distractor() {
    let _turn = serial();
    let scene = Scene { distractor: true, ..Scene::new(20) };
    let Setup { mut fx, store: _store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    let first = binary(&fx.render(0.0, &RenderOptions::default()).unwrap());
    assert!(covered(&first, &scene.distractor_truth(0)) > 0.5, "one click also takes the look-alike");
    let (dx, dy, _) = scene.distractor(0);
    click(&mut fx, &scene, 0, (dx, dy), "add_negative");
    fx.press("track_forward", 0.0).unwrap();
    for f in 0..20 {
        let mask = binary(&fx.render(f64::from(f), &RenderOptions::default()).unwrap());
        assert!(covered(&mask, &scene.distractor_truth(f)) < 0.05, "frame {f}: distractor still selected");
    }
    assert!(mean_iou(&fx, &scene, 0..20) >= 0.9);
}

#[test]
fn cancel_keeps_every_frame_already_tracked() {
    let _turn = serial();
    let scene = Scene::new(60);
    let Setup { mut fx, store: _store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    fx.cancel_after_progress_updates(Some(31));
    fx.press("track_forward", 0.0).unwrap();
    fx.cancel_after_progress_updates(None);
    let status = fx.param_value("status", 0.0).unwrap();
    assert!(matches!(&status, ParamValue::String(s) if s.contains("Cancelled") && s.contains("31 frames stored")), "{status:?}");
    assert!(mean_iou(&fx, &scene, 0..31) >= 0.9, "frames 0–30 are kept");
    fx.take_messages();
    let untracked = fx.render(31.0, &RenderOptions::default()).unwrap();
    assert!(binary(&untracked).iter().all(|&m| !m), "frame 31 renders an empty matte");
    assert!(fx.messages().iter().any(|m| m.text.contains("frame 31 is not tracked")), "and says so: {:?}", fx.messages());
}

#[test]
fn pen_events_edit_prompts_exactly_as_the_buttons_do() {
    let _turn = serial();
    let scene = Scene::new(5);
    let (a, b) = (object_centre(&scene, 2), (40.0, 30.0));
    let by_buttons = {
        let Setup { mut fx, store: _store } = setup(&scene);
        click(&mut fx, &scene, 2, a, "add_positive");
        click(&mut fx, &scene, 2, b, "add_negative");
        fx.param_value("prompts", 0.0).unwrap()
    };
    let Setup { mut fx, store: _store } = setup(&scene);
    let mut overlay = fx.overlay().expect("Magic Mask has a viewer overlay");
    let (ax, ay) = canonical(&scene, a.0, a.1);
    let (bx, by) = canonical(&scene, b.0, b.1);
    assert!(overlay.pen_down(ax, ay, 2.0, Modifiers::NONE).unwrap());
    overlay.pen_up(ax, ay, 2.0, Modifiers::NONE).unwrap();
    overlay.pen_down(bx, by, 2.0, Modifiers::ALT).unwrap();
    overlay.pen_up(bx, by, 2.0, Modifiers::ALT).unwrap();
    assert_eq!(fx.param_value("prompts", 0.0).unwrap(), by_buttons);
    assert!(!overlay.draw(2.0).unwrap().is_empty(), "prompts are drawn on their frame");

    // Drag the negative point away, then select and delete it.
    overlay.pen_down(bx, by, 2.0, Modifiers::NONE).unwrap();
    overlay.pen_motion(bx + 20.0, by, 2.0, Modifiers::NONE).unwrap();
    overlay.pen_up(bx + 30.0, by + 5.0, 2.0, Modifiers::NONE).unwrap();
    let moved = fx.param_value("prompts", 0.0).unwrap();
    assert!(matches!(&moved, ParamValue::String(s) if s.contains(&format!("2 - {} {}", bx + 30.0, by + 5.0))), "{moved:?}");
    overlay.pen_down(bx + 30.0, by + 5.0, 2.0, Modifiers::NONE).unwrap();
    overlay.pen_up(bx + 30.0, by + 5.0, 2.0, Modifiers::NONE).unwrap();
    assert!(overlay.key_down(0xffff).unwrap(), "Delete removes the selected point");
    let after = fx.param_value("prompts", 0.0).unwrap();
    assert!(matches!(&after, ParamValue::String(s) if s.lines().count() == 1 && s.contains("2 +")), "{after:?}");
}

#[test]
fn exported_mattes_come_back_through_luma_matte_extract_bit_for_bit() {
    let _turn = serial();
    let scene = Scene::new(6);
    let Setup { mut fx, store: _store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    fx.press("track_forward", 0.0).unwrap();
    let export = tempfile::tempdir().unwrap();
    fx.set_param_text("export_folder", export.path().to_str().unwrap()).unwrap();
    fx.set_param_text("export_template", "shot_{frame:04}.png").unwrap();
    fx.press("export_matte", 0.0).unwrap();

    let bundle = load(HostProfile::Generic);
    let mut luma = bundle.create_instance("luma-matte-extract", Context::Filter).unwrap();
    luma.set_param_text("channel", "red").unwrap();
    luma.set_param_text("output", "matte_rgba").unwrap();
    let frames: BTreeMap<i32, Image> = (0..6).map(|f| (f, host_image(&scene, f, BitDepth::U16))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    for f in 0..6 {
        let file = export.path().join(format!("shot_{f:04}.png"));
        let matte = Image::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(matte.depth(), BitDepth::U16, "exported as 16-bit");
        luma.set_input("Source", ClipSource::Still(matte));
        let back = luma.render(f64::from(f), &RenderOptions::default()).unwrap();
        let rendered = fx.render(f64::from(f), &RenderOptions::default()).unwrap();
        assert_eq!(rendered.depth(), BitDepth::U16);
        let b = rendered.bounds();
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                assert_eq!(back.raw(x, y, 3), 65535);
                assert_eq!(back.raw(x, y, 0), rendered.raw(x, y, 0), "frame {f} ({x},{y})");
            }
        }
    }
}

#[test]
fn damaged_missing_and_read_only_stores_give_specific_messages() {
    let _turn = serial();
    let scene = Scene::new(4);
    let Setup { mut fx, store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    fx.press("track_forward", 0.0).unwrap();
    let id = match fx.param_value("store_id", 0.0).unwrap() {
        ParamValue::String(s) => s,
        other => panic!("{other:?}"),
    };
    let png = store.path().join(&id).join("frame_000002.png");
    std::fs::write(&png, b"not a png").unwrap();
    fx.take_messages();
    let damaged = fx.render(2.0, &RenderOptions::default()).expect("a damaged frame is a message, not a failed render");
    assert!(binary(&damaged).iter().all(|&m| !m));
    let text: Vec<String> = fx.messages().into_iter().map(|m| m.text).collect();
    assert!(text.iter().any(|t| t.contains("frame_000002.png") && t.contains("Track This Frame")), "{text:?}");
    assert!(mean_iou(&fx, &scene, [0, 1, 3].into_iter()) >= 0.9, "nothing else is lost");
    fx.press("track_frame", 2.0).unwrap();
    assert!(mean_iou(&fx, &scene, 2..3) >= 0.9, "re-tracked on request");

    fx.set_param_text("store_folder", "/nonexistent/deepmatte-store").unwrap();
    let err = fx.press("track_forward", 0.0).expect_err("no folder, no tracking");
    assert!(err.to_string().contains("/nonexistent/deepmatte-store"), "{err}");

    let read_only = tempfile::tempdir().unwrap();
    let mut perms = std::fs::metadata(read_only.path()).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(read_only.path(), perms.clone()).unwrap();
    fx.set_param_text("store_folder", read_only.path().to_str().unwrap()).unwrap();
    let err = fx.press("track_forward", 0.0).expect_err("read-only folder");
    assert!(err.to_string().to_lowercase().contains("read-only"), "{err}");
    // Writable again so the temporary folder can be removed.
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(read_only.path(), perms).unwrap();
}

#[test]
fn reopening_the_project_renders_every_frame_without_the_model() {
    let _turn = serial();
    let scene = Scene::new(60);
    let Setup { mut fx, store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    fx.press("track_forward", 0.0).unwrap();
    let saved: Vec<(String, String)> = ["prompts", "store_id"]
        .iter()
        .map(|n| match fx.param_value(n, 0.0).unwrap() {
            ParamValue::String(s) => (n.to_string(), s),
            other => panic!("{other:?}"),
        })
        .collect();
    drop(fx);

    // A new instance with the project's saved values, its models folder pointing nowhere.
    let runs = model_runs();
    let mut reopened = load(HostProfile::Resolve).create_instance(ID, Context::Filter).unwrap();
    for (name, value) in &saved {
        reopened.set_param_text(name, value).unwrap();
    }
    reopened.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    reopened.set_param_text("model_folder", "/nonexistent/models").unwrap();
    reopened.set_param_text("view", "matte").unwrap();
    let frames: BTreeMap<i32, Image> = (0..60).map(|f| (f, host_image(&scene, f, BitDepth::F32))).collect();
    reopened.set_input("Source", ClipSource::Frames(frames));
    reopened.set_frame_range(0.0, 59.0);
    assert!(mean_iou(&reopened, &scene, 0..60) >= 0.9);
    assert_eq!(model_runs(), runs, "rendering from the store runs no model");
}

#[test]
fn auto_subject_mattes_the_salient_object_and_a_click_picks_one() {
    let _turn = serial();
    let scene = Scene { distractor: false, ..Scene::new(3) };
    let Setup { mut fx, store: _store } = setup(&scene);
    fx.set_param_text("mode", "auto_subject").unwrap();
    let salient = binary(&fx.render(1.0, &RenderOptions::default()).unwrap());
    let score = iou(&salient, &scene.truth(1));
    println!("Auto Subject IoU with U²-Netp: {score:.4}");
    assert!(score >= 0.8, "U²-Netp finds the disc ({score})");
    // A positive click on the background selects nothing; one on the object keeps it.
    click(&mut fx, &scene, 1, (8.0, 8.0), "add_positive");
    assert!(binary(&fx.render(1.0, &RenderOptions::default()).unwrap()).iter().all(|&m| !m));
    fx.press("clear_prompts", 1.0).unwrap();
    click(&mut fx, &scene, 1, object_centre(&scene, 1), "add_positive");
    let picked = binary(&fx.render(1.0, &RenderOptions::default()).unwrap());
    assert!(iou(&picked, &scene.truth(1)) >= 0.8);
}

/// The `deepmatte` binary `cargo xtask test` builds beside the bundle.
fn cli() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let cli = target.join("release/deepmatte");
    assert!(cli.is_file(), "no {}: run `cargo xtask test` (it builds the CLI)", cli.display());
    cli
}

#[test]
fn another_process_renders_the_tracked_clip_from_the_store_without_models() {
    let _turn = serial();
    let scene = Scene::new(60);
    let Setup { mut fx, store } = setup(&scene);
    click(&mut fx, &scene, 0, object_centre(&scene, 0), "add_positive");
    fx.press("track_forward", 0.0).unwrap();
    let text = |name: &str| match fx.param_value(name, 0.0).unwrap() {
        ParamValue::String(s) => s,
        other => panic!("{other:?}"),
    };
    let (prompts, store_id) = (text("prompts"), text("store_id"));

    let clip = tempfile::tempdir().unwrap();
    for f in 0..60 {
        host_image(&scene, f, BitDepth::U16).save(&clip.path().join(format!("{f:04}.png"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    // A new process, the project's saved values, and a model folder with no model in it: any
    // model run would fail the render.
    let result = std::process::Command::new(cli())
        .args(["render", "--effect", "magic-mask", "--profile", "resolve", "--bundle"])
        .arg(common::bundle_path())
        .arg("--input")
        .arg(clip.path().join("%04d.png"))
        .arg("--output")
        .arg(out.path().join("%04d.png"))
        .args(["--set", &format!("store_folder={}", store.path().display())])
        .args(["--set", &format!("store_id={store_id}")])
        .args(["--set", &format!("prompts={prompts}")])
        .args(["--set", "model_folder=/nonexistent/models", "--set", "view=matte"])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}\n{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    let ious: Vec<f64> = (0..60)
        .map(|f| {
            let matte = Image::load(&out.path().join(format!("{f:04}.png"))).unwrap();
            iou(&binary(&matte), &scene.truth(f))
        })
        .collect();
    let mean = ious.iter().sum::<f64>() / 60.0;
    println!("second process: mean IoU {mean:.4} over 60 frames");
    assert!(mean >= 0.9);
}

/// The inverse of the sRGB encoding (IEC 61966-2-1) in double precision: a display-referred value
/// as the scene-linear one a float plate would hold.
fn srgb_decode(v: f64) -> f64 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The scene's frames as a scene-linear plate: the display-referred pixels decoded from sRGB.
fn linear_frames(scene: &Scene) -> BTreeMap<i32, Image> {
    (0..scene.frames)
        .map(|f| {
            let display = host_image(scene, f, BitDepth::F32);
            let linear = Image::from_fn(display.bounds(), BitDepth::F32, Components::Rgba, |x, y, c| {
                let v = f64::from(display.get(x, y, c));
                if c == 3 { v as f32 } else { srgb_decode(v) as f32 }
            });
            (f, linear)
        })
        .collect()
}

/// The rendered matte (channel 0 of the Matte view) of every frame.
fn mattes(fx: &Instance, frames: std::ops::Range<i32>) -> Vec<Vec<f32>> {
    frames
        .map(|f| {
            let out = fx.render(f64::from(f), &RenderOptions::default()).unwrap();
            let b = out.bounds();
            (b.y1..b.y2).flat_map(|y| (b.x1..b.x2).map(move |x| (x, y))).map(|(x, y)| out.get(x, y, 0)).collect()
        })
        .collect()
}

fn largest_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn scene_linear_frames_reach_both_networks_encoded_to_srgb() {
    let _turn = serial();
    let scene = Scene::new(4);
    // The same pictures twice: display-referred marked so, and decoded to scene-linear marked so.
    let Setup { fx: mut display, store: _display_store } = setup(&scene);
    let Setup { fx: mut linear, store: _linear_store } = setup(&scene);
    linear.set_input("Source", ClipSource::Frames(linear_frames(&scene)));
    linear.set_param_text("source_colour", "linear").unwrap();

    // Auto Subject (U²-Netp).
    for fx in [&mut display, &mut linear] {
        fx.set_param_text("mode", "auto_subject").unwrap();
    }
    let (a, b) = (mattes(&display, 0..2), mattes(&linear, 0..2));
    let same = largest_difference(&a, &b);
    linear.set_param_text("source_colour", "display").unwrap();
    let unconverted = largest_difference(&a, &mattes(&linear, 0..2));
    println!("Auto Subject: linear marked linear vs display: {same:e}; linear marked display: {unconverted:.4}");
    assert!(same <= 1e-3, "a linear plate marked linear gives the display-referred saliency ({same})");
    assert!(unconverted > same, "marked display-referred, the linear plate reaches U²-Netp darker ({unconverted})");

    // SAM 2.1 tracking: one click, Track Forward.
    linear.set_param_text("source_colour", "linear").unwrap();
    for fx in [&mut display, &mut linear] {
        fx.set_param_text("mode", "prompts").unwrap();
        click(fx, &scene, 0, object_centre(&scene, 0), "add_positive");
        fx.press("track_forward", 0.0).unwrap();
    }
    let (a, b) = (mattes(&display, 0..scene.frames), mattes(&linear, 0..scene.frames));
    let same = largest_difference(&a, &b);
    println!("SAM 2.1 tracking: linear marked linear vs display: {same:e}");
    assert!(same <= 1e-3, "tracking a linear plate marked linear gives the display-referred masks ({same})");
}
