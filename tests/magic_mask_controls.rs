//! Magic Mask's Matte Finesse controls, views, Quality, Track Both and Remove Point through the
//! built bundle, each checked against a reference computed here from the stored matte and the
//! source (brute force from the controls' definitions, no `imaging` code).

mod common;

use common::reference::{blur, expand_contract, guided_matte, luma709, Grid};
use common::{cache_models, load};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};
use segment::synthetic::{covered, iou, Scene};

const ID: &str = "org.deepmatte.MagicMask";

/// The Overlay view's tint and its opacity (the effect's look; stated here as the spec).
const TINT: [f64; 3] = [1.0, 0.2, 0.45];
const TINT_OPACITY: f64 = 0.5;

fn host_image(scene: &Scene, frame: i32) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), BitDepth::F32, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

fn setup(scene: &Scene) -> (Instance, tempfile::TempDir) {
    let mut fx = load(HostProfile::Generic).create_instance(ID, Context::Filter).unwrap();
    let store = tempfile::tempdir().unwrap();
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    fx.set_param_text("view", "matte").unwrap();
    fx.set_input("Source", ClipSource::Frames((0..scene.frames).map(|f| (f, host_image(scene, f))).collect()));
    fx.set_frame_range(0.0, f64::from(scene.frames - 1));
    (fx, store)
}

/// Sets Point to a top-down pixel position of the scene and presses `button` on `frame`.
fn click(fx: &mut Instance, scene: &Scene, frame: i32, (x, y): (f32, f32), button: &str) {
    fx.set_param("point", ParamValue::Double2D(f64::from(x), scene.height as f64 - f64::from(y))).unwrap();
    fx.press(button, f64::from(frame)).unwrap();
}

fn centre(scene: &Scene, frame: i32) -> (f32, f32) {
    let (x, y, _) = scene.object(frame);
    (x, y)
}

/// Channel `c` of a render, top-down.
fn grid(img: &Image, c: usize) -> Grid {
    let b = img.bounds();
    let data = (0..b.height() as i32).flat_map(|row| (b.x1..b.x2).map(move |x| (x, b.y2 - 1 - row))).map(|(x, y)| f64::from(img.get(x, y, c))).collect();
    Grid { width: b.width(), height: b.height(), data }
}

fn binary(img: &Image) -> Vec<bool> {
    grid(img, 0).data.iter().map(|&v| v >= 0.5).collect()
}

fn worst(a: &Grid, b: &Grid) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

fn render(fx: &Instance, frame: i32) -> Image {
    fx.render(f64::from(frame), &RenderOptions::default()).unwrap()
}

#[test]
fn matte_finesse_views_and_quality_follow_their_definitions() {
    let scene = Scene::new(2);
    let (mut fx, _store) = setup(&scene);
    click(&mut fx, &scene, 0, centre(&scene, 0), "add_positive");
    let matte = grid(&render(&fx, 0), 0);
    assert!(iou(&matte.data.iter().map(|&v| v >= 0.5).collect::<Vec<_>>(), &scene.truth(0)) >= 0.9, "the stored matte is the object");
    let source = host_image(&scene, 0);
    let luma = {
        let (r, g, b) = (grid(&source, 0), grid(&source, 1), grid(&source, 2));
        Grid { data: (0..r.data.len()).map(|i| luma709([r.data[i], g.data[i], b.data[i]])).collect(), ..r }
    };
    let set = |fx: &mut Instance, name: &str, v: f64| fx.set_param(name, ParamValue::Double(v)).unwrap();

    // Black and White Clip: a linear remap clamped to 0..1.
    set(&mut fx, "black_clip", 0.2);
    set(&mut fx, "white_clip", 0.7);
    let want = Grid { data: matte.data.iter().map(|&m| ((m - 0.2) / 0.5).clamp(0.0, 1.0)).collect(), ..matte.clone() };
    assert!(worst(&grid(&render(&fx, 0), 0), &want) < 1e-4, "black/white clip");
    set(&mut fx, "black_clip", 0.0);
    set(&mut fx, "white_clip", 1.0);

    // Invert.
    fx.set_param("invert", ParamValue::Bool(true)).unwrap();
    let want = Grid { data: matte.data.iter().map(|&m| 1.0 - m).collect(), ..matte.clone() };
    assert!(worst(&grid(&render(&fx, 0), 0), &want) < 1e-4, "invert");
    fx.set_param("invert", ParamValue::Bool(false)).unwrap();

    // Expand/Contract and Blur, against the brute-force passes.
    for (expand, blur_radius) in [(4.0, 0.0), (-3.0, 0.0), (0.0, 8.0), (2.5, 5.0)] {
        set(&mut fx, "expand_contract", expand);
        set(&mut fx, "blur", blur_radius);
        let got = grid(&render(&fx, 0), 0);
        let want = blur(&expand_contract(&matte, expand), blur_radius);
        assert!(worst(&got, &want) < 1e-4, "expand {expand}, blur {blur_radius}: {}", worst(&got, &want));
        assert!(worst(&want, &matte) > 0.1, "the pass changes the matte");
    }
    set(&mut fx, "expand_contract", 0.0);
    set(&mut fx, "blur", 0.0);

    // Smart Refine: the guided filter, at either Quality (Quality picks the network).
    set(&mut fx, "smart_refine", 6.0);
    let better = grid(&render(&fx, 0), 0);
    let want = guided_matte(&matte, &luma, 6, 1e-3);
    assert!(worst(&better, &want) < 1e-4, "smart refine: {}", worst(&better, &want));
    assert!(worst(&want, &matte) > 0.01, "smart refine changes the matte");
    // Faster tracks with SAM 2.1 tiny and keeps its own masks: frame 0 is not tracked there yet.
    fx.set_param_text("quality", "faster").unwrap();
    fx.take_messages();
    assert!(grid(&render(&fx, 0), 0).data.iter().all(|&v| v == 0.0), "Faster has no mask for frame 0 yet");
    assert!(fx.messages().iter().any(|m| m.text.contains("frame 0 is not tracked")), "{:?}", fx.messages());
    fx.press("track_frame", 0.0).unwrap();
    let faster = grid(&render(&fx, 0), 0);
    // The tiny stand-ins are the small ones: the same mask, refined the same way.
    assert!(worst(&faster, &want) < 1e-4, "Smart Refine at Faster: {}", worst(&faster, &want));
    fx.set_param_text("quality", "better").unwrap();
    set(&mut fx, "smart_refine", 0.0);

    // Views: Matte is grey and opaque; Alpha over source keeps the colour and puts the matte in
    // alpha; Overlay tints the object and keeps the source's alpha.
    let grey = render(&fx, 0);
    assert!(worst(&grid(&grey, 1), &matte) < 1e-6 && grid(&grey, 3).data.iter().all(|&a| a == 1.0), "Matte view");
    fx.set_param_text("view", "alpha").unwrap();
    let alpha = render(&fx, 0);
    for c in 0..3 {
        assert!(worst(&grid(&alpha, c), &grid(&source, c)) < 1e-6, "Alpha view keeps channel {c}");
    }
    assert!(worst(&grid(&alpha, 3), &matte) < 1e-6, "Alpha view: the matte in alpha");
    fx.set_param_text("view", "overlay").unwrap();
    let overlay = render(&fx, 0);
    for (c, tint) in TINT.iter().enumerate() {
        let s = grid(&source, c);
        let want = Grid { data: s.data.iter().zip(&matte.data).map(|(&v, &m)| v + (tint - v) * TINT_OPACITY * m).collect(), ..s };
        assert!(worst(&grid(&overlay, c), &want) < 1e-5, "Overlay view channel {c}");
    }
    assert!(worst(&grid(&overlay, 3), &grid(&source, 3)) < 1e-6, "Overlay keeps the source's alpha");
}

#[test]
fn track_both_tracks_to_both_ends_from_the_clicked_frame() {
    let scene = Scene::new(12);
    let (mut fx, store) = setup(&scene);
    click(&mut fx, &scene, 6, centre(&scene, 6), "add_positive");
    fx.press("track_both", 6.0).unwrap();
    for f in 0..12 {
        let score = iou(&binary(&render(&fx, f)), &scene.truth(f));
        assert!(score >= 0.9, "frame {f}: IoU {score:.3}");
    }
    let ParamValue::String(id) = fx.param_value("store_id", 0.0).unwrap() else { panic!() };
    let manifest = std::fs::read_to_string(store.path().join(id).join("manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let direction = |f: i32| manifest["frames"][f.to_string()]["direction"].as_str().unwrap().to_owned();
    assert!((0..6).all(|f| direction(f) == "backward"), "frames before the click are tracked backward");
    assert!((7..12).all(|f| direction(f) == "forward"), "frames after it forward");
}

#[test]
fn remove_point_removes_the_nearest_prompt_and_re_tracks() {
    // The look-alike touches the object: one positive click takes both, a negative click on the
    // look-alike drops it. Removing that negative click must bring it back on every frame.
    let scene = Scene { distractor: true, ..Scene::new(6) };
    let (mut fx, _store) = setup(&scene);
    let (dx, dy, _) = scene.distractor(0);
    click(&mut fx, &scene, 0, centre(&scene, 0), "add_positive");
    click(&mut fx, &scene, 0, (dx, dy), "add_negative");
    fx.press("track_forward", 0.0).unwrap();
    for f in 0..6 {
        assert!(covered(&binary(&render(&fx, f)), &scene.distractor_truth(f)) < 0.05, "frame {f}: the negative click drops the look-alike");
    }

    // Point a few pixels off the negative click: Remove Point takes the nearest prompt.
    click(&mut fx, &scene, 0, (dx + 3.0, dy - 2.0), "remove_point");
    let ParamValue::String(prompts) = fx.param_value("prompts", 0.0).unwrap() else { panic!() };
    assert!(prompts.lines().count() == 1 && prompts.contains("0 +"), "the positive click is left: {prompts:?}");
    for f in 0..6 {
        let mask = binary(&render(&fx, f));
        assert!(covered(&mask, &scene.distractor_truth(f)) > 0.5, "frame {f}: re-tracked without the negative click");
        assert!(covered(&mask, &scene.truth(f)) > 0.9, "frame {f}: the object stays");
    }
    // On a frame without prompts it says so.
    fx.set_param("point", ParamValue::Double2D(10.0, 10.0)).unwrap();
    let err = fx.press("remove_point", 4.0).expect_err("nothing to remove on frame 4");
    assert!(err.to_string().contains("no prompt on frame 4"), "{err}");
}
