//! The propagation loop on the real SAM 2.1 architectures: the parts `cargo xtask export-models
//! --random-weights` exports (official sam2==1.1.0 graphs, seeded random weights) into
//! `.cache/models/real-arch`. Random weights make the masks meaningless, so these check what is
//! meaningful: the real graphs accept every memory-bank and pointer count the loop feeds them, nothing
//! non-finite comes out, masks have the frame's size, runs are deterministic and independent of the
//! order of directions, and the bank stays bounded. Without the exported parts each test says loudly
//! that it did not run (DEEPMATTE_SKIP_LOG), never that it passed.

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::PathBuf;

use inference::{ModelSearch, SessionOptions};
use segment::synthetic::Scene;
use segment::{Direction, Mask, Prompt, Prompts, Sam2Size, TrackReport, Tracker};

/// The exported real-architecture parts of `size`, or `None` after writing the skip line.
fn real_parts(test: &str, size: Sam2Size) -> Option<PathBuf> {
    let dir = common::cache().join("models").join("real-arch");
    let missing: Vec<&str> = size.files().into_iter().filter(|f| !dir.join(f).is_file()).collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let line = format!(
        "segment::real_arch::{test}: the real SAM 2.1 {size:?} graphs are not in {} (missing {}); `cargo xtask export-models --random-weights` makes them\n",
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

fn tracker(dir: &std::path::Path, size: Sam2Size) -> Tracker {
    let options = SessionOptions { cpu_only: true, ..Default::default() };
    Tracker::open_size(&common::runtime(), &ModelSearch::only(dir), &options, size).unwrap_or_else(|e| panic!("{e}"))
}

fn click(scene: &Scene, frame: i32) -> Prompts {
    let (cx, cy, _) = scene.object(frame);
    BTreeMap::from([(frame, vec![Prompt::Point { x: cx, y: cy, positive: true }])])
}

fn track(tracker: &Tracker, scene: &Scene, range: std::ops::RangeInclusive<i32>, direction: Direction, prompts: &Prompts) -> (Vec<(i32, Mask)>, TrackReport) {
    let mut masks = Vec::new();
    let report = tracker
        .track(|f| Ok(scene.frame(f)), range, direction, prompts, |f, m| {
            masks.push((f, m.clone()));
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("tracking on the real graphs: {e}"));
    assert_eq!(report.non_finite, 0, "non-finite values out of the real graphs");
    for (f, m) in &masks {
        assert_eq!((m.width, m.height), (scene.width, scene.height), "frame {f}: mask size");
    }
    (masks, report)
}

/// An 18-frame clip: enough for the recent-frame window (6 memories, 15 pointers) to fill and slide.
#[test]
fn tiny_fills_and_slides_the_memory_window_deterministically() {
    let Some(dir) = real_parts("tiny_fills_and_slides_the_memory_window_deterministically", Sam2Size::Tiny) else { return };
    let scene = Scene::new(18);
    let tracker = tracker(&dir, Sam2Size::Tiny);
    let prompts = click(&scene, 0);
    let (first, report) = track(&tracker, &scene, 0..=17, Direction::Forward, &prompts);
    assert_eq!(first.iter().map(|(f, _)| *f).collect::<Vec<_>>(), (0..18).collect::<Vec<_>>());
    // 1 conditioning frame + at most 15 recent ones, and the window is reached (17 frames tracked).
    assert_eq!(report.peak_memory_frames, 1 + 15, "memory bank peak");
    assert_eq!(report.encoder_runs, 18);
    println!(
        "real SAM 2.1 tiny, 18 frames: encoder {:?}, memory attention {:?}, decoder {:?}, memory encoder {:?}",
        report.times.encoder, report.times.memory_attention, report.times.decoder, report.times.memory_encoder
    );
    // The same prompts again (a shorter run: the cost of a second full run is minutes on CPU).
    let (again, _) = track(&tracker, &scene, 0..=4, Direction::Forward, &prompts);
    assert!(first[..5] == again[..], "the same run twice gives other masks");
}

/// One click in the middle, tracked both ways: backward then forward equals forward then backward,
/// and a click frame's mask depends only on its own prompts.
#[test]
fn tiny_directions_are_order_independent() {
    let Some(dir) = real_parts("tiny_directions_are_order_independent", Sam2Size::Tiny) else { return };
    let scene = Scene::new(9);
    let tracker = tracker(&dir, Sam2Size::Tiny);
    let prompts = click(&scene, 4);
    let (back_a, _) = track(&tracker, &scene, 0..=4, Direction::Backward, &prompts);
    let (fwd_a, _) = track(&tracker, &scene, 4..=8, Direction::Forward, &prompts);
    let (fwd_b, _) = track(&tracker, &scene, 4..=8, Direction::Forward, &prompts);
    let (back_b, _) = track(&tracker, &scene, 0..=4, Direction::Backward, &prompts);
    assert!(back_a == back_b && fwd_a == fwd_b, "the order of the two runs changes masks");
    assert_eq!(back_a[0].0, 4);
    assert!(back_a[0].1 == fwd_a[0].1, "the clicked frame's mask differs between directions");
}

/// SAM 2.1 small (Magic Mask Better) opens under its own names and tracks with a second
/// conditioning frame behind the range (pointer offsets with gaps, two cond memories).
#[test]
fn small_tracks_with_two_conditioning_frames() {
    let Some(dir) = real_parts("small_tracks_with_two_conditioning_frames", Sam2Size::Small) else { return };
    let scene = Scene::new(8);
    let tracker = tracker(&dir, Sam2Size::Small);
    let mut prompts = click(&scene, 0);
    prompts.extend(click(&scene, 5));
    let (masks, report) = track(&tracker, &scene, 0..=7, Direction::Forward, &prompts);
    assert_eq!(masks.iter().map(|(f, _)| *f).collect::<Vec<_>>(), (0..8).collect::<Vec<_>>());
    assert_eq!(report.encoder_runs, 8, "each frame encoded once (prompted frames before the run)");
}
