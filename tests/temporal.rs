//! Depth Map's Temporal Stability through the built bundle on generated shots with exact
//! ground-truth motion (tests/common/sequences.rs): a pan, a zoom, an object crossing a still
//! background and a cut, with the deterministic stand-in (no flicker of its own: stability must
//! change nothing) and the flicker stand-in (per-frame scale, shift and curve: stability must
//! remove it without smearing).

mod common;

use common::sequences::{self, aligned_flicker, mean_difference, sharpness, Matte, Sequence, Truth, CUT_AT, FRAMES};
use common::{bundle_path, load, model_folder_with, model_runs};
use deepmatte_ofx::effects::depth_map_controls as dm;
use depth::standin::{EXACT_FILE, FLICKER_FILE};
use ofx_host::{ClipSource, Context, HostProfile, Instance, ParamValue, RenderOptions};
use std::collections::BTreeMap;

const ID: &str = "org.deepmatte.DepthMap";
const MODEL: &str = "depth_anything_v2_small.onnx";
/// Test frames: small, so the whole file runs in seconds; the benchmark runs 1080p.
const SIZE: (usize, usize) = (128, 72);

/// The model-run and flow counters are process-wide, and a purge empties caches for everyone:
/// tests in this binary take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Optical flows the loaded plugin has computed (its `DeepMatteFlowRuns` export).
fn flow_runs() -> u64 {
    ofx_host::plugin_counter(&bundle_path(), "DeepMatteFlowRuns").expect("DeepMatteFlowRuns exported")
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Off,
    Static,
    Follow,
}

fn instance(model_file: &str, sequence: &Sequence, frames: std::ops::Range<i32>) -> (Instance, tempfile::TempDir) {
    let folder = model_folder_with(model_file, MODEL);
    let mut fx = load(HostProfile::Generic).create_instance(ID, Context::Filter).unwrap();
    fx.set_param_text(dm::MODEL_FOLDER.name, folder.path().to_str().unwrap()).unwrap();
    fx.set_param_text(dm::OUTPUT.name, "matte").unwrap();
    let clip: BTreeMap<i32, ofx_host::Image> = sequence.frames.range(frames.clone()).map(|(f, i)| (*f, i.clone())).collect();
    fx.set_input("Source", ClipSource::Frames(clip));
    fx.set_frame_range(f64::from(frames.start), f64::from(frames.end - 1));
    (fx, folder)
}

fn set_mode(fx: &mut Instance, mode: Mode) {
    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(mode != Mode::Off)).unwrap();
    let motion = if mode == Mode::Static { dm::MOTION_STATIC_ID } else { dm::MOTION_FOLLOW_ID };
    fx.set_param_text(dm::TEMPORAL_MOTION.name, motion).unwrap();
}

/// Renders `order`, returns the mattes in frame order.
fn render(fx: &Instance, order: &[i32]) -> BTreeMap<i32, ofx_host::Image> {
    order.iter().map(|&f| (f, fx.render(f64::from(f), &RenderOptions::default()).unwrap())).collect()
}

fn mattes(images: &BTreeMap<i32, ofx_host::Image>) -> Vec<Matte> {
    images.values().map(Matte::of).collect()
}

/// Every frame of the sequence, in frame order, under `mode` (caches purged first, so nothing
/// of an earlier mode is reused).
fn render_mode(fx: &mut Instance, mode: Mode) -> Vec<Matte> {
    fx.purge_caches().unwrap();
    set_mode(fx, mode);
    mattes(&render(fx, &(0..FRAMES).collect::<Vec<_>>()))
}

#[test]
fn a_pan_and_a_zoom_without_flicker_are_left_as_they_are() {
    let _turn = serial();
    for sequence in [sequences::pan(SIZE), sequences::zoom(SIZE)] {
        let (mut fx, _models) = instance(EXACT_FILE, &sequence, 0..FRAMES);
        let off = render_mode(&mut fx, Mode::Off);
        let on = render_mode(&mut fx, Mode::Follow);
        let difference = mean_difference(&on, &off, |_, _, _| true);
        let (sharp_off, sharp_on) = (sharpness(&off), sharpness(&on));
        // Not asserted: the floor that content change and resampling leave on any method.
        let (flicker_off, flicker_on) = (aligned_flicker(&off, sequence.truth), aligned_flicker(&on, sequence.truth));
        println!(
            "{} (deterministic stand-in): on vs off mean |diff| {difference:.4} (max 0.01); sharpness off {sharp_off:.4}, on {sharp_on:.4} ({:.1} %, min 90 %); motion-aligned flicker off {flicker_off:.4}, on {flicker_on:.4}",
            sequence.name,
            100.0 * sharp_on / sharp_off
        );
        assert!(difference <= 0.01, "{}: on differs from off by {difference}", sequence.name);
        assert!(sharp_on >= 0.9 * sharp_off, "{}: sharpness {sharp_off} -> {sharp_on}", sequence.name);
    }
}

#[test]
fn flicker_on_a_pan_and_a_zoom_is_cut_along_the_motion_without_blur() {
    let _turn = serial();
    for sequence in [sequences::pan(SIZE), sequences::zoom(SIZE)] {
        let (mut fx, _models) = instance(FLICKER_FILE, &sequence, 0..FRAMES);
        let off = render_mode(&mut fx, Mode::Off);
        let on = render_mode(&mut fx, Mode::Follow);
        let (flicker_off, flicker_on) = (aligned_flicker(&off, sequence.truth), aligned_flicker(&on, sequence.truth));
        let (sharp_off, sharp_on) = (sharpness(&off), sharpness(&on));
        let cut = 1.0 - flicker_on / flicker_off;
        println!(
            "{} (flicker stand-in): motion-aligned flicker off {flicker_off:.4}, on {flicker_on:.4}, cut {:.1} % (min 70 %); sharpness off {sharp_off:.4}, on {sharp_on:.4} ({:.1} %, min 90 %)",
            sequence.name,
            100.0 * cut,
            100.0 * sharp_on / sharp_off
        );
        assert!(flicker_off > 0.01, "{}: the flicker stand-in flickers ({flicker_off})", sequence.name);
        assert!(cut >= 0.70, "{}: flicker cut by only {:.1} %", sequence.name, 100.0 * cut);
        assert!(sharp_on >= 0.9 * sharp_off, "{}: sharpness {sharp_off} -> {sharp_on}", sequence.name);
    }
}

#[test]
fn a_moving_object_leaves_no_ghost() {
    let _turn = serial();
    let sequence = sequences::moving_object(SIZE);
    let Truth::Object { start, speed, radius } = sequence.truth else { unreachable!() };
    let (mut fx, _models) = instance(EXACT_FILE, &sequence, 0..FRAMES);
    let off = render_mode(&mut fx, Mode::Off);
    let follow = render_mode(&mut fx, Mode::Follow);
    let still = render_mode(&mut fx, Mode::Static);
    // The band within 3 px of the object's true edge, where a ghost or a smear would show.
    let band = |f: usize, x: usize, y: usize| ((x as f32 - start.0 - speed * f as f32).hypot(y as f32 - start.1) - radius).abs() <= 3.0;
    let (ghost_follow, ghost_static) = (mean_difference(&follow, &off, band), mean_difference(&still, &off, band));
    println!("moving object (deterministic stand-in): edge band vs per-frame mean |diff| Follow motion {ghost_follow:.4} (max 0.02), Static shot {ghost_static:.4}");
    assert!(ghost_follow <= 0.02, "the object ghosts: {ghost_follow}");
}

#[test]
fn frames_either_side_of_a_cut_are_those_of_their_shot_alone() {
    let _turn = serial();
    let sequence = sequences::cut(SIZE);
    for mode in [Mode::Follow, Mode::Static] {
        let (mut whole, _models) = instance(FLICKER_FILE, &sequence, 0..FRAMES);
        let together = render_mode(&mut whole, mode);
        let mut alone = Vec::new();
        for shot in [0..CUT_AT, CUT_AT..FRAMES] {
            let (mut fx, _models) = instance(FLICKER_FILE, &sequence, shot.clone());
            fx.purge_caches().unwrap();
            set_mode(&mut fx, mode);
            alone.extend(mattes(&render(&fx, &shot.collect::<Vec<_>>())));
        }
        for (f, (a, b)) in together.iter().zip(&alone).enumerate() {
            assert!(a.values == b.values, "{mode:?}: frame {f} of the cut sequence differs from its shot rendered alone");
        }
    }
    println!("cut: all {FRAMES} frames equal their shot rendered alone, Follow motion and Static shot");
}

#[test]
fn render_order_does_not_matter_with_cold_caches() {
    let _turn = serial();
    let sequence = sequences::pan(SIZE);
    let (mut fx, _models) = instance(FLICKER_FILE, &sequence, 0..FRAMES);
    set_mode(&mut fx, Mode::Follow);
    let forward: Vec<i32> = (0..FRAMES).collect();
    let reversed: Vec<i32> = forward.iter().rev().copied().collect();
    let shuffled: Vec<i32> = (0..FRAMES).map(|i| (i * 7 + 5) % FRAMES).collect();
    let mut first: Option<BTreeMap<i32, ofx_host::Image>> = None;
    for (name, order) in [("sequential", forward), ("reversed", reversed), ("shuffled", shuffled)] {
        fx.purge_caches().unwrap();
        let (runs, flows) = (model_runs(), flow_runs());
        let images = render(&fx, &order);
        // Cold: every frame's model ran again, and every flow was computed again.
        assert_eq!(model_runs() - runs, FRAMES as u64, "{name}: the caches were not cold");
        assert!(flow_runs() > flows, "{name}: no flow was computed");
        match &first {
            None => first = Some(images),
            Some(reference) => {
                for (f, image) in &images {
                    let (a, b) = (Matte::of(image), Matte::of(&reference[f]));
                    let same = a.values.iter().zip(&b.values).all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "{name} order changes frame {f}");
                }
            }
        }
    }
}

#[test]
fn sliders_run_no_model_and_no_flow() {
    let _turn = serial();
    let sequence = sequences::pan(SIZE);
    let (mut fx, _models) = instance(FLICKER_FILE, &sequence, 0..FRAMES);
    fx.purge_caches().unwrap();
    set_mode(&mut fx, Mode::Follow);
    let (runs, flows) = (model_runs(), flow_runs());
    let first = Matte::of(&fx.render(10.0, &RenderOptions::default()).unwrap());
    // ±2 frames: five model runs, and the flows both ways between the frame and each neighbour.
    assert_eq!((model_runs() - runs, flow_runs() - flows), (5, 8));
    let (runs, flows) = (model_runs(), flow_runs());
    fx.set_param(dm::FAR_LIMIT.name, ParamValue::Double(0.2)).unwrap();
    fx.render(10.0, &RenderOptions::default()).unwrap();
    fx.set_param(dm::FAR_LIMIT.name, ParamValue::Double(0.0)).unwrap();
    fx.set_param(dm::TEMPORAL_STRENGTH.name, ParamValue::Double(0.5)).unwrap();
    let weaker = Matte::of(&fx.render(10.0, &RenderOptions::default()).unwrap());
    set_mode(&mut fx, Mode::Static);
    fx.render(10.0, &RenderOptions::default()).unwrap();
    assert_eq!((model_runs() - runs, flow_runs() - flows), (0, 0), "slider changes run no model and no flow");
    assert!(weaker.values != first.values, "Strength changed the result");
}
