//! Hostile input through the built bundle: control values no host should send (out of range, NaN,
//! infinite — what a host that does not clamp, an expression or a damaged project file hands a
//! plugin), frames of no size or extreme shape, and project values that try to leave their folder.
//! Every case must end in a finished render with finite pixels, or a short, clear error; never an
//! abort, a hang, or a file outside the chosen folder.

mod common;

use common::{cache_models, load, model_folder_with, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamKind, ParamValue, Rect, RenderOptions};
use segment::synthetic::{iou, Scene};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const LUMA: &str = "org.deepmatte.LumaMatteExtract";
const DEPTH: &str = "org.deepmatte.DepthMap";
const MASK: &str = "org.deepmatte.MagicMask";
const DEPTH_MODEL: &str = "depth_anything_v2_small.onnx";

/// Doubles a fuzzing host sent (±1e9, ±INT_MAX, NaN, ±infinity, the smallest subnormal).
const HOSTILE_DOUBLES: [f64; 8] = [1e9, -1e9, 2147483647.0, -2147483647.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 5e-324];
/// Integers likewise (±INT_MAX, ±1e9, -1).
const HOSTILE_INTS: [i32; 5] = [i32::MAX, -i32::MAX, 1_000_000_000, -1_000_000_000, -1];

/// Longest a render of these small frames may take before it counts as a hang (a render loop
/// over a radius of 1e9 takes hours; these take well under a second).
const HANG: Duration = Duration::from_secs(120);

/// Runs `f`; if it has not returned after [`HANG`], the test process exits loudly (a hang cannot
/// be interrupted from inside, and a hung test would otherwise stall the whole suite).
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let start = std::time::Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > HANG {
                    eprintln!("{what}: no answer after {HANG:?}: the plugin hangs");
                    std::process::exit(101);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let out = f();
        done.store(true, Ordering::SeqCst);
        out
    })
}

fn assert_finite(image: &Image, what: &str) {
    let b = image.bounds();
    for y in b.y1..b.y2 {
        for x in b.x1..b.x2 {
            for c in 0..image.components().count() {
                let v = image.get(x, y, c);
                assert!(v.is_finite(), "{what}: pixel ({x},{y}) channel {c} is {v}");
            }
        }
    }
}

/// True when both images have the same bounds and bit-identical samples.
fn same_pixels(a: &Image, b: &Image) -> bool {
    let bounds = a.bounds();
    bounds == b.bounds()
        && (bounds.y1..bounds.y2).all(|y| {
            (bounds.x1..bounds.x2).all(|x| (0..a.components().count()).all(|c| a.get(x, y, c).to_bits() == b.get(x, y, c).to_bits()))
        })
}

/// The numeric controls of an instance (doubles, integers, positions), with their ranges.
fn numeric_controls(fx: &Instance) -> Vec<(String, ParamKind, Vec<f64>, Vec<f64>)> {
    fx.params()
        .into_iter()
        .filter(|p| matches!(p.kind, ParamKind::Double | ParamKind::Int | ParamKind::Double2D))
        .map(|p| (p.name, p.kind, p.min, p.max))
        .collect()
}

/// A value of `kind` with every dimension `v` (integers saturate, as a C host's cast would).
fn value(kind: ParamKind, v: f64) -> ParamValue {
    match kind {
        ParamKind::Double => ParamValue::Double(v),
        ParamKind::Double2D => ParamValue::Double2D(v, v),
        ParamKind::Int => ParamValue::Int(v as i32),
        other => unreachable!("{other:?}"),
    }
}

/// The value a control must behave as when handed `hostile`: its declared default for NaN,
/// else the nearest end of its declared range.
fn expected(hostile: f64, default: &ParamValue, min: &[f64], max: &[f64], kind: ParamKind) -> ParamValue {
    if hostile.is_nan() {
        return default.clone();
    }
    let clamp = |i: usize| hostile.clamp(min[i], max[i]);
    match kind {
        ParamKind::Double => ParamValue::Double(clamp(0)),
        ParamKind::Double2D => ParamValue::Double2D(clamp(0), clamp(1)),
        ParamKind::Int => ParamValue::Int(clamp(0) as i32),
        other => unreachable!("{other:?}"),
    }
}

/// Renders `fx` with each numeric control at each hostile value in turn (the others at their
/// test values), and checks the render finishes, has finite pixels, and equals the render with
/// the value the control declares for it: its default for NaN, else the nearest end of its
/// range. Returns how many renders ran.
fn fuzz_controls(fx: &mut Instance, effect: &str, time: f64) -> usize {
    let options = RenderOptions::default();
    let mut renders = 0;
    for (name, kind, min, max) in numeric_controls(fx) {
        let info = fx.params().into_iter().find(|p| p.name == name).unwrap();
        let before = fx.param_value(&name, time).unwrap();
        let hostile: Vec<f64> = match kind {
            ParamKind::Int => HOSTILE_INTS.iter().map(|&v| f64::from(v)).collect(),
            _ => HOSTILE_DOUBLES.to_vec(),
        };
        for v in hostile {
            let what = format!("{effect}: {name} = {v}");
            fx.set_param_unchecked(&name, value(kind, v)).unwrap();
            let got = bounded(&what, || fx.render(time, &options)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_finite(&got, &what);
            fx.set_param_unchecked(&name, expected(v, &info.default, &min, &max, kind)).unwrap();
            let want = fx.render(time, &options).unwrap();
            assert!(same_pixels(&got, &want), "{what}: renders differently from the value its declared range gives");
            renders += 2;
        }
        fx.set_param_unchecked(&name, before).unwrap();
    }
    renders
}

fn frames(n: i32, bounds: Rect) -> ClipSource {
    ClipSource::Frames((0..n).map(|f| (f, test_image(bounds, BitDepth::F32, Components::Rgba, f as u32 + 1))).collect())
}

#[test]
fn luma_matte_extract_survives_every_hostile_control_value() {
    let mut fx = load(HostProfile::Generic).create_instance(LUMA, Context::General).unwrap();
    fx.set_input("Source", frames(3, Rect::from_size(40, 24)));
    fx.set_input("Matte", frames(3, Rect::from_size(40, 24)));
    fx.set_param("use_matte_input", ParamValue::Bool(true)).unwrap();
    let renders = fuzz_controls(&mut fx, "Luma Matte Extract", 1.0);
    println!("Luma Matte Extract: {renders} renders with hostile control values");
}

#[test]
fn depth_map_survives_every_hostile_control_value() {
    let folder = model_folder_with("depth_standin_exact.onnx", DEPTH_MODEL);
    let mut fx = load(HostProfile::Generic).create_instance(DEPTH, Context::Filter).unwrap();
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.set_input("Source", frames(5, Rect::from_size(48, 32)));
    fx.set_frame_range(0.0, 4.0);
    // Every pass on: isolate, finesse and temporal stability read their controls.
    for on in ["isolate", "post_processing", "temporal_stability"] {
        fx.set_param(on, ParamValue::Bool(true)).unwrap();
    }
    fx.set_param_text("output", "matte").unwrap();
    let renders = fuzz_controls(&mut fx, "Depth Map", 2.0);
    println!("Depth Map: {renders} renders with hostile control values");
    // The exact case: a tiny gamma and a NaN expand/contract together.
    fx.set_param_unchecked("gamma", ParamValue::Double(5e-324)).unwrap();
    fx.set_param_unchecked("expand_contract", ParamValue::Double(f64::NAN)).unwrap();
    assert_finite(&fx.render(2.0, &RenderOptions::default()).unwrap(), "gamma 5e-324 with NaN expand");
}

/// A Magic Mask with frame 0 tracked from one click, viewed as a matte.
fn tracked_magic_mask(scene: &Scene) -> (Instance, tempfile::TempDir) {
    let mut fx = load(HostProfile::Generic).create_instance(MASK, Context::Filter).unwrap();
    let store = tempfile::tempdir().unwrap();
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    fx.set_param_text("view", "matte").unwrap();
    fx.set_input("Source", ClipSource::Frames((0..scene.frames).map(|f| (f, scene_image(scene, f))).collect()));
    fx.set_frame_range(0.0, f64::from(scene.frames - 1));
    let (x, y, _) = scene.object(0);
    fx.set_param("point", ParamValue::Double2D(f64::from(x), scene.height as f64 - f64::from(y))).unwrap();
    fx.press("add_positive", 0.0).unwrap();
    (fx, store)
}

/// A frame of the synthetic scene as a host image (y up).
fn scene_image(scene: &Scene, frame: i32) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), BitDepth::F32, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

#[test]
fn magic_mask_survives_every_hostile_control_value() {
    let scene = Scene::new(2);
    let (mut fx, _store) = tracked_magic_mask(&scene);
    let renders = fuzz_controls(&mut fx, "Magic Mask", 0.0);
    println!("Magic Mask: {renders} renders with hostile control values");
    // Auto Subject runs its model on every render: every control at once per hostile value.
    fx.set_param_text("mode", "auto_subject").unwrap();
    for v in HOSTILE_DOUBLES {
        for (name, kind, _, _) in numeric_controls(&fx) {
            let v = if kind == ParamKind::Int { v.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) } else { v };
            fx.set_param_unchecked(&name, value(kind, v)).unwrap();
        }
        let what = format!("Auto Subject with every control at {v}");
        assert_finite(&bounded(&what, || fx.render(0.0, &RenderOptions::default())).unwrap_or_else(|e| panic!("{what}: {e}")), &what);
    }
}

#[test]
fn empty_and_degenerate_frames_give_a_clean_result() {
    let folder = model_folder_with("depth_standin_exact.onnx", DEPTH_MODEL);
    // 0×0, a bounds rectangle inside out (x1 > x2), and single rows and columns.
    let shapes = [Rect::new(0, 0, 0, 0), Rect::new(10, 0, 4, 6), Rect::new(0, 8, 5, 2), Rect::from_size(1, 37), Rect::from_size(37, 1), Rect::from_size(1, 1)];
    for bounds in shapes {
        for (id, mode) in [(LUMA, ""), (DEPTH, ""), (MASK, "prompts"), (MASK, "auto_subject")] {
            let mut fx = load(HostProfile::Generic).create_instance(id, Context::Filter).unwrap();
            let store = tempfile::tempdir().unwrap();
            if id == MASK {
                fx.set_param_text("mode", mode).unwrap();
                fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
                fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
            }
            if id == DEPTH {
                fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
            }
            if id == DEPTH {
                fx.set_param("post_processing", ParamValue::Bool(true)).unwrap();
                fx.set_param("blur", ParamValue::Double(3.0)).unwrap();
            }
            fx.set_input("Source", ClipSource::Still(test_image(bounds, BitDepth::F32, Components::Rgba, 7)));
            let what = format!("{id} {mode} on {bounds:?}");
            let out = bounded(&what, || fx.render(0.0, &RenderOptions::default())).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_finite(&out, &what);
            if bounds.is_empty() {
                assert!(out.bounds().is_empty(), "{what}: an empty source gives an empty output");
            } else {
                assert_eq!(out.bounds(), bounds, "{what}");
            }
        }
    }
}

#[test]
fn extreme_aspect_ratios_reach_the_depth_model_bounded() {
    let folder = model_folder_with("depth_standin_exact.onnx", DEPTH_MODEL);
    let mut fx = load(HostProfile::Generic).create_instance(DEPTH, Context::Filter).unwrap();
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    fx.set_param_text("output", "depth").unwrap();
    for (w, h) in [(131, 1), (1, 131), (1600, 100), (100, 1600), (2000, 1)] {
        // A left-to-right ramp: the exact stand-in's depth follows the colour, so the matte
        // must rise along the long side whatever the model's input size.
        let bounds = Rect::from_size(w, h);
        let image = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
            if c == 3 {
                1.0
            } else {
                0.1 + 0.8 * (x.max(y) as f32 / w.max(h) as f32)
            }
        });
        fx.set_input("Source", ClipSource::Still(image));
        let what = format!("Depth Map on {w}×{h}");
        let out = bounded(&what, || fx.render(0.0, &RenderOptions::default())).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_finite(&out, &what);
        let (first, last) = if w >= h { (out.get(0, 0, 0), out.get(w as i32 - 1, 0, 0)) } else { (out.get(0, 0, 0), out.get(0, h as i32 - 1, 0)) };
        assert!(last > first + 0.5, "{what}: depth follows the ramp ({first} → {last})");
    }
}

#[test]
fn a_ten_thousand_character_model_folder_gives_a_short_message() {
    let mut fx = load(HostProfile::Generic).create_instance(DEPTH, Context::Filter).unwrap();
    let folder = format!("/nonexistent/{}", "m".repeat(10_000));
    fx.set_param_text("model_folder", &folder).unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::from_size(16, 8), BitDepth::F32, Components::Rgba, 1)));
    let err = fx.render(0.0, &RenderOptions::default()).expect_err("no model there");
    let messages = fx.messages();
    assert!(!messages.is_empty(), "the failure is told: {err}");
    for m in messages {
        assert!(m.text.chars().count() <= 1000, "a {}-character message", m.text.chars().count());
        assert!(m.text.contains("/nonexistent/mmm"), "it still names the folder: {}", &m.text[..80]);
    }
}

#[test]
fn a_store_id_from_a_project_file_cannot_leave_the_store_folder() {
    let scene = Scene::new(3);
    let (mut fx, store) = tracked_magic_mask(&scene);
    let outside = tempfile::tempdir().unwrap();
    let long = "a".repeat(10_000);
    let hostile = [
        outside.path().join("x").to_string_lossy().into_owned(),
        format!("../{}", outside.path().file_name().unwrap().to_string_lossy()),
        "../../x".to_string(),
        "mm-0123/../../x".to_string(),
        "a\\b".to_string(),
        "mm-\u{0}123456789abcde".to_string(),
        long,
        "mm-0123456789ABCDEF".to_string(),
    ];
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    };
    let store_before = listing(store.path());
    for id in &hostile {
        fx.set_param_unchecked("store_id", ParamValue::String(id.clone())).unwrap();
        fx.take_messages();
        let err = fx.press("track_forward", 0.0).expect_err("an id the plugin did not make is refused");
        let text = err.to_string();
        assert!(text.contains("is not one Magic Mask makes"), "{id:?}: {text}");
        assert!(text.len() < 1200, "the id is not echoed whole ({} bytes)", text.len());
        // Rendering with it says so on the node and shows an empty matte.
        let out = fx.render(1.0, &RenderOptions::default()).unwrap();
        assert!((0..scene.width as i32).all(|x| out.get(x, 10, 0) == 0.0));
        assert!(fx.persistent_message().is_some_and(|m| m.text.contains("Press Clear") || m.text.contains("press Clear")));
    }
    assert!(listing(outside.path()).is_empty(), "nothing written outside the store folder");
    assert_eq!(listing(store.path()), store_before, "nor anything new inside it");
    // Clear starts a new store with an id of the plugin's own.
    fx.press("clear_prompts", 0.0).unwrap();
    let ParamValue::String(id) = fx.param_value("store_id", 0.0).unwrap() else { panic!() };
    assert!(id.starts_with("mm-") && id.len() == 19, "{id}");
    let (x, y, _) = scene.object(0);
    fx.set_param("point", ParamValue::Double2D(f64::from(x), scene.height as f64 - f64::from(y))).unwrap();
    fx.press("add_positive", 0.0).unwrap();
    assert!(store.path().join(&id).join("manifest.json").is_file());
}

#[test]
fn export_template_cannot_leave_the_export_folder() {
    let scene = Scene::new(2);
    let (mut fx, _store) = tracked_magic_mask(&scene);
    let export = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fx.set_param_text("export_folder", export.path().to_str().unwrap()).unwrap();
    let absolute = format!("{}/{{frame}}.png", outside.path().display());
    for template in [absolute.as_str(), "../{frame}.png", "..\\{frame}.png", "C:{frame}.png", "{frame}\n.png"] {
        fx.set_param_unchecked("export_template", ParamValue::String(template.to_string())).unwrap();
        let err = fx.press("export_matte", 0.0).expect_err("a path is not a file name");
        assert!(err.to_string().contains("must give a file name"), "{template:?}: {err}");
    }
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    assert!(std::fs::read_dir(export.path()).unwrap().next().is_none());
    assert!(std::fs::read_dir(export.path().parent().unwrap()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".png")));
}

#[test]
fn a_failed_render_s_error_is_cleared_by_the_next_good_render() {
    let source = ClipSource::Still(test_image(Rect::from_size(32, 16), BitDepth::F32, Components::Rgba, 3));
    // Depth Map: no model, then the model.
    let mut fx = load(HostProfile::Generic).create_instance(DEPTH, Context::Filter).unwrap();
    fx.set_input("Source", source.clone());
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    fx.set_param_text("model_folder", "/nonexistent/models").unwrap();
    assert!(fx.render(0.0, &RenderOptions::default()).is_err());
    assert!(fx.persistent_message().is_some(), "the failure is on the node");
    let folder = model_folder_with("depth_standin_exact.onnx", DEPTH_MODEL);
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(fx.persistent_message(), None, "Depth Map: the good render clears it");

    // Auto Subject: likewise.
    let mut fx = load(HostProfile::Generic).create_instance(MASK, Context::Filter).unwrap();
    fx.set_input("Source", source);
    fx.set_param_text("mode", "auto_subject").unwrap();
    fx.set_param_text("model_folder", "/nonexistent/models").unwrap();
    assert!(fx.render(0.0, &RenderOptions::default()).is_err());
    assert!(fx.persistent_message().is_some());
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(fx.persistent_message(), None, "Auto Subject: the good render clears it");
}

/// Clicks are canonical positions: at proxy scale 0.5 and on 2:1 anamorphic footage they must
/// land on the same object as at full resolution with square pixels.
#[test]
fn clicks_land_on_the_object_at_render_scale_half_and_pixel_aspect_two() {
    let scene = Scene::new(4);
    let truth = |f: i32| scene.truth(f);
    let binary = |out: &Image| -> Vec<bool> {
        let (w, h) = (out.width() as i32, out.height() as i32);
        (0..h).flat_map(|row| (0..w).map(move |x| (x, h - 1 - row))).map(|(x, y)| out.get(x, y, 0) >= 0.5).collect()
    };
    let half = |mask: &[bool]| -> Vec<bool> {
        // The truth at half resolution (nearest, as the host scales).
        let (w, h) = (scene.width, scene.height);
        (0..h / 2).flat_map(|y| (0..w / 2).map(move |x| (x, y))).map(|(x, y)| mask[(2 * y) * w + 2 * x]).collect()
    };
    for (scale, par) in [(0.5, 1.0), (1.0, 2.0), (0.5, 2.0)] {
        let mut fx = load(HostProfile::Natron).create_instance(MASK, Context::Filter).unwrap();
        let store = tempfile::tempdir().unwrap();
        fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
        fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
        fx.set_param_text("view", "matte").unwrap();
        fx.set_pixel_aspect(par);
        fx.set_proxy_scale((scale, scale));
        fx.set_input("Source", ClipSource::Frames((0..scene.frames).map(|f| (f, scene_image(&scene, f))).collect()));
        fx.set_frame_range(0.0, f64::from(scene.frames - 1));
        // The user clicks the object's centre; the viewer reports it in canonical units.
        let (x, y, _) = scene.object(0);
        let canonical = (f64::from(x) * par, scene.height as f64 - f64::from(y));
        fx.set_param("point", ParamValue::Double2D(canonical.0, canonical.1)).unwrap();
        fx.press("add_positive", 0.0).unwrap();
        fx.press("track_forward", 0.0).unwrap();
        let options = RenderOptions { render_scale: (scale, scale), ..RenderOptions::default() };
        for f in 0..scene.frames {
            let out = fx.render(f64::from(f), &options).unwrap();
            let want = if scale == 0.5 { half(&truth(f)) } else { truth(f) };
            let score = iou(&binary(&out), &want);
            assert!(score >= 0.85, "scale {scale}, PAR {par}, frame {f}: IoU {score:.3}");
        }
        // Auto Subject's pick converts the same way.
        fx.set_param_text("mode", "auto_subject").unwrap();
        let picked = binary(&fx.render(0.0, &options).unwrap());
        let want = if scale == 0.5 { half(&truth(0)) } else { truth(0) };
        let score = iou(&picked, &want);
        assert!(score >= 0.7, "Auto Subject at scale {scale}, PAR {par}: IoU {score:.3}");
    }
}
