//! Depth Map and Magic Mask through the built bundle on the real architectures: the graphs
//! `cargo xtask export-models --random-weights` exports into `.cache/models/real-arch` (Depth
//! Anything V2 Small and SAM 2.1 tiny, the official model code with seeded random weights). The
//! weights are random, so nothing here checks what the depth or the masks look like: it checks that
//! the effects run the real graphs at real sizes with no contract, shape or NaN failure, and that
//! tracking and re-tracking store exactly the frames they should. Without the exported graphs each
//! test says loudly that it did not run (DEEPMATTE_SKIP_LOG), never that it passed.

mod common;

use common::{load, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, ProgressEvent, Rect, RenderOptions};
use segment::synthetic::Scene;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `.cache/models/real-arch` when it holds `files`, else `None` after writing the skip line.
fn real_arch(test: &str, files: &[&str]) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/models/real-arch");
    let missing: Vec<&str> = files.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let line = format!(
        "real_arch::{test}: the real-architecture graphs are not in {} (missing {}); `cargo xtask export-models --random-weights` makes them\n",
        dir.display(),
        missing.join(", ")
    );
    eprintln!("SKIPPED (loudly) {line}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| f.write_all(line.as_bytes()));
    }
    None
}

fn assert_finite_unit(out: &Image, what: &str) {
    let b = out.bounds();
    for y in (b.y1..b.y2).step_by(7) {
        for x in (b.x1..b.x2).step_by(5) {
            for c in 0..4 {
                let v = out.get(x, y, c);
                assert!(v.is_finite() && (-1e-6..=1.0 + 1e-6).contains(&v), "{what}: ({x},{y}) channel {c} = {v}");
            }
        }
    }
}

#[test]
fn depth_map_renders_1080p_on_the_real_graph_at_both_qualities() {
    let Some(dir) = real_arch("depth_map_renders_1080p_on_the_real_graph_at_both_qualities", &["depth_anything_v2_small.onnx"]) else { return };
    let mut fx = load(HostProfile::Generic).create_instance("org.deepmatte.DepthMap", Context::Filter).unwrap();
    fx.set_param_text("model_folder", dir.to_str().unwrap()).unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    fx.set_param_text("output", "depth").unwrap();
    let source = test_image(Rect::new(0, 0, 1920, 1080), BitDepth::F32, Components::Rgba, 11);
    fx.set_input("Source", ClipSource::Still(source));
    for quality in ["faster", "better"] {
        fx.set_param_text("quality", quality).unwrap();
        fx.take_messages();
        let out = fx.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{quality}: {e}"));
        assert_eq!((out.width(), out.height()), (1920, 1080), "{quality}");
        assert!(fx.messages().is_empty(), "{quality}: {:?}", fx.messages());
        assert_finite_unit(&out, quality);
        let status = fx.param_value("status", 0.0).unwrap();
        assert!(matches!(&status, ParamValue::String(s) if s.starts_with("Model runs on")), "{quality}: {status:?}");
    }
}

/// A frame of the scene as a host image (y up).
fn host_image(scene: &Scene, frame: i32) -> Image {
    let f = scene.frame(frame);
    let h = scene.height as i32;
    Image::from_fn(Rect::new(0, 0, scene.width as i32, h), BitDepth::F32, Components::Rgba, |x, y, c| {
        f.rgba[(((h - 1 - y) as usize) * scene.width + x as usize) * 4 + c]
    })
}

fn press_counting(fx: &mut Instance, button: &str, frame: i32) -> usize {
    let before = fx.progress_events().len();
    fx.press(button, f64::from(frame)).unwrap_or_else(|e| panic!("{button} on frame {frame}: {e}"));
    fx.progress_events()[before..].iter().filter(|e| matches!(e, ProgressEvent::Update(_))).count()
}

fn matte(fx: &Instance, frame: i32) -> Vec<f32> {
    let out = fx.render(f64::from(frame), &RenderOptions::default()).unwrap_or_else(|e| panic!("frame {frame}: {e}"));
    assert_finite_unit(&out, &format!("frame {frame}"));
    let b = out.bounds();
    (b.y1..b.y2).flat_map(|y| (b.x1..b.x2).map(move |x| (x, y))).map(|(x, y)| out.get(x, y, 0)).collect()
}

#[test]
fn magic_mask_tracks_60_frames_both_ways_and_retracks_only_what_an_edit_reaches() {
    let files = segment::Sam2Size::Tiny.files();
    let Some(dir) = real_arch("magic_mask_tracks_60_frames_both_ways_and_retracks_only_what_an_edit_reaches", &files) else { return };
    let scene = Scene::new(60);
    let mut fx = load(HostProfile::Generic).create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    let store = tempfile::tempdir().unwrap();
    fx.set_param_text("model_folder", dir.to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    fx.set_param_text("quality", "faster").unwrap();
    fx.set_param_text("view", "matte").unwrap();
    let frames: BTreeMap<i32, Image> = (0..60).map(|f| (f, host_image(&scene, f))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, 59.0);

    // One click on frame 30 (it tracks that frame), then Track Both: 0..=30 backward, 30..=59 forward.
    let (cx, cy, _) = scene.object(30);
    fx.set_param("point", ParamValue::Double2D(f64::from(cx), scene.height as f64 - f64::from(cy))).unwrap();
    assert_eq!(press_counting(&mut fx, "add_positive", 30), 1, "a click tracks its own frame");
    assert_eq!(press_counting(&mut fx, "track_both", 30), 31 + 30, "Track Both from frame 30");
    let status = fx.param_value("status", 0.0).unwrap();
    assert!(matches!(&status, ParamValue::String(s) if s.contains("60 frames stored")), "{status:?}");
    fx.take_messages();
    let before: Vec<Vec<f32>> = (0..60).map(|f| matte(&fx, f)).collect();
    assert!(fx.messages().iter().all(|m| !m.text.contains("not tracked") && !m.text.contains("out of date")), "{:?}", fx.messages());

    // A negative click on frame 45 (tracked forward) re-tracks 45..=59 forward and nothing else.
    let (dx, dy) = (scene.width as f32 * 0.1, scene.height as f32 * 0.1);
    fx.set_param("point", ParamValue::Double2D(f64::from(dx), scene.height as f64 - f64::from(dy))).unwrap();
    assert_eq!(press_counting(&mut fx, "add_negative", 45), 15, "the edit re-tracks frames 45..=59");
    fx.take_messages();
    for f in 0..45 {
        assert!(matte(&fx, f) == before[f as usize], "frame {f}, which the edit does not reach, changed");
    }
    for f in 45..60 {
        matte(&fx, f);
    }
    assert!(fx.messages().iter().all(|m| !m.text.contains("not tracked") && !m.text.contains("out of date")), "{:?}", fx.messages());
}
