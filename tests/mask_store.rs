//! Magic Mask's mask store through the built bundle: a duplicated node never overwrites its
//! original's frames, a frame tracked from other prompts shows as stale (message and tint) and
//! never as current, an edit keeps the frames it does not reach current, and the default store
//! folder is the per-user data folder.

mod common;

use common::{cache_models, load};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};
use segment::synthetic::{iou, Scene};
use std::collections::BTreeMap;
use std::path::Path;

const ID: &str = "org.deepmatte.MagicMask";

/// A frame of the scene as a host image (y up).
fn host_image(scene: &Scene, frame: i32) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), BitDepth::F32, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

fn binary(out: &Image) -> Vec<bool> {
    let (w, h) = (out.width() as i32, out.height() as i32);
    (0..h).flat_map(|row| (0..w).map(move |x| (x, h - 1 - row))).map(|(x, y)| out.get(x, y, 0) >= 0.5).collect()
}

fn instance(scene: &Scene, store: &Path) -> Instance {
    let mut fx = load(HostProfile::Generic).create_instance(ID, Context::Filter).unwrap();
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.to_str().unwrap()).unwrap();
    fx.set_param_text("view", "matte").unwrap();
    let frames: BTreeMap<i32, Image> = (0..scene.frames).map(|f| (f, host_image(scene, f))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, f64::from(scene.frames - 1));
    fx
}

fn click(fx: &mut Instance, scene: &Scene, frame: i32, at: (f32, f32), button: &str) {
    fx.set_param("point", ParamValue::Double2D(f64::from(at.0), scene.height as f64 - f64::from(at.1))).unwrap();
    fx.press(button, f64::from(frame)).unwrap();
}

fn centre(scene: &Scene, frame: i32) -> (f32, f32) {
    let (x, y, _) = scene.object(frame);
    (x, y)
}

fn text(fx: &Instance, name: &str) -> String {
    match fx.param_value(name, 0.0).unwrap() {
        ParamValue::String(s) => s,
        other => panic!("{other:?}"),
    }
}

/// Every file of a store folder with its bytes.
fn snapshot(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

fn persistent_text(fx: &Instance) -> String {
    fx.persistent_message().map(|m| m.text).unwrap_or_default()
}

#[test]
fn a_duplicated_node_forks_its_store_and_never_overwrites_the_original() {
    let scene = Scene::new(6);
    let store = tempfile::tempdir().unwrap();
    let mut original = instance(&scene, store.path());
    click(&mut original, &scene, 0, centre(&scene, 0), "add_positive");
    original.press("track_forward", 0.0).unwrap();
    let id = text(&original, "store_id");
    let before = snapshot(&store.path().join(&id));
    original.render(3.0, &RenderOptions::default()).unwrap();

    // Copy and paste in the host: a new node with the same saved values.
    let mut copy = instance(&scene, store.path());
    copy.set_param_text("store_id", &id).unwrap();
    copy.set_param_text("prompts", &text(&original, "prompts")).unwrap();
    assert!(iou(&binary(&copy.render(3.0, &RenderOptions::default()).unwrap()), &scene.truth(3)) >= 0.9, "the copy shows the shared masks");
    // The copy is edited: a negative click in a corner, which re-tracks from frame 0.
    click(&mut copy, &scene, 0, (2.0, 2.0), "add_negative");
    let forked = text(&copy, "store_id");
    assert_ne!(forked, id, "the copy continues in a store of its own");
    assert!(forked.starts_with("mm-"));
    assert_eq!(snapshot(&store.path().join(&id)), before, "not one byte of the original's store changed");
    assert_eq!(snapshot(&store.path().join(&forked)).len(), before.len(), "the fork holds every frame");
    assert!(iou(&binary(&original.render(3.0, &RenderOptions::default()).unwrap()), &scene.truth(3)) >= 0.9);
}

#[test]
fn frames_tracked_from_other_prompts_show_as_stale_and_an_edit_keeps_unreached_frames_current() {
    let scene = Scene::new(10);
    let store = tempfile::tempdir().unwrap();
    let mut fx = instance(&scene, store.path());
    click(&mut fx, &scene, 0, centre(&scene, 0), "add_positive");
    fx.press("track_forward", 0.0).unwrap();
    fx.render(2.0, &RenderOptions::default()).unwrap();
    assert!(!persistent_text(&fx).contains("out of date"), "freshly tracked frames are current: {}", persistent_text(&fx));

    // An edit on frame 6 re-tracks 6..9 only; frames 0..5 stay current.
    click(&mut fx, &scene, 6, centre(&scene, 6), "add_positive");
    fx.render(2.0, &RenderOptions::default()).unwrap();
    assert!(!persistent_text(&fx).contains("out of date"), "frame 2 is not reached by an edit on frame 6: {}", persistent_text(&fx));
    fx.render(8.0, &RenderOptions::default()).unwrap();
    assert!(!persistent_text(&fx).contains("out of date"), "frame 8 was re-tracked");

    // The prompts change behind the store's back (undo, a script, an older project file).
    let prompts = text(&fx, "prompts");
    let overlay = |fx: &mut Instance| {
        fx.set_param_text("view", "overlay").unwrap();
        let out = fx.render(2.0, &RenderOptions::default()).unwrap();
        let (x, y) = centre(&scene, 2);
        out.rgba(x as i32, scene.height as i32 - 1 - y as i32)
    };
    let current = overlay(&mut fx);
    fx.set_param_text("prompts", &format!("{prompts}0 - 3 3\n")).unwrap();
    let stale = overlay(&mut fx);
    let message = persistent_text(&fx);
    assert!(message.contains("frame 2") && message.contains("out of date") && message.contains("Track"), "{message}");
    assert!(stale[2] > current[2] + 0.1 && current[0] > stale[0] + 0.1, "a stale mask is tinted blue-grey, not red: {current:?} → {stale:?}");
    fx.set_param_text("view", "matte").unwrap();
    let matte = fx.render(2.0, &RenderOptions::default()).unwrap();
    assert!(iou(&binary(&matte), &scene.truth(2)) >= 0.9, "the matte itself is kept (shown stale, not lost)");
}

/// The `deepmatte` binary `cargo xtask test` builds beside the bundle.
fn cli() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let cli = target.join("release/deepmatte");
    assert!(cli.is_file(), "no {}: run `cargo xtask test` (it builds the CLI)", cli.display());
    cli
}

#[test]
fn with_no_store_folder_masks_live_in_the_per_user_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let id = "mm-00000000000000d4";
    let masks = data.path().join("DeepMatte").join("masks");
    std::fs::create_dir_all(&masks).unwrap();
    let (w, h) = (32usize, 16usize);
    let mask = segment::Mask { width: w, height: h, coverage: (0..w * h).map(|i| if i % w < w / 2 { 65535 } else { 0 }).collect() };
    let prompts = "0 + 4 8";
    let hash = segment::prompt_hash(&BTreeMap::from([(0, vec![segment::Prompt::Point { x: 4.0, y: -8.0, positive: true }])]));
    segment::MaskStore::open(&masks, id).unwrap().write(0, &mask, "sam2.1", "better", &hash, segment::Direction::Forward).unwrap();

    let input = tempfile::tempdir().unwrap();
    Image::from_fn(Rect::new(0, 0, w as i32, h as i32), BitDepth::U16, Components::Rgba, |_, _, _| 0.5).save(&input.path().join("0000.png")).unwrap();
    let out = tempfile::tempdir().unwrap();
    // A fresh process whose per-user data folder is `data` (XDG_DATA_HOME), and no Store Folder.
    let result = std::process::Command::new(cli())
        .env("XDG_DATA_HOME", data.path())
        .args(["render", "--effect", "magic-mask", "--profile", "resolve", "--bundle"])
        .arg(common::bundle_path())
        .arg("--input")
        .arg(input.path().join("%04d.png"))
        .arg("--output")
        .arg(out.path().join("%04d.png"))
        .args(["--set", &format!("store_id={id}"), "--set", &format!("prompts={prompts}"), "--set", "view=matte"])
        .output()
        .unwrap();
    assert!(result.status.success(), "{}\n{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    let matte = Image::load(&out.path().join("0000.png")).unwrap();
    assert_eq!((matte.get(2, 8, 0), matte.get(w as i32 - 2, 8, 0)), (1.0, 0.0), "the mask came from <user data>/masks/{id}");
}
