//! The propagation loop end to end on the stand-ins and a synthetic clip with exact ground truth.

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use segment::synthetic::{covered, iou, Scene};
use segment::{Direction, Mask, Prompt, Prompts, SegmentError};

fn click(scene: &Scene, frame: i32) -> Prompts {
    let (cx, cy, _) = scene.object(frame);
    BTreeMap::from([(frame, vec![Prompt::Point { x: cx, y: cy, positive: true }])])
}

/// Tracks and returns (frame, mask) in tracking order.
fn track(scene: &Scene, range: std::ops::RangeInclusive<i32>, direction: Direction, prompts: &Prompts) -> Vec<(i32, Mask)> {
    let mut masks = Vec::new();
    let report = common::tracker()
        .track(|f| Ok(scene.frame(f)), range, direction, prompts, |f, m| {
            masks.push((f, m.clone()));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(!report.cancelled);
    assert!(report.peak_memory_frames <= 1 + 15, "memory bank held {} frames", report.peak_memory_frames);
    masks
}

fn mean_iou(scene: &Scene, masks: &[(i32, Mask)]) -> f64 {
    let ious: Vec<f64> = masks.iter().map(|(f, m)| iou(&m.binary(), &scene.truth(*f))).collect();
    let worst = ious.iter().cloned().fold(1.0, f64::min);
    let mean = ious.iter().sum::<f64>() / ious.len() as f64;
    println!("mean IoU {mean:.4}, worst {worst:.4} over {} frames", ious.len());
    mean
}

#[test]
fn one_click_on_frame_0_tracks_forward() {
    let scene = Scene::new(60);
    let masks = track(&scene, 0..=59, Direction::Forward, &click(&scene, 0));
    assert_eq!(masks.iter().map(|(f, _)| *f).collect::<Vec<_>>(), (0..60).collect::<Vec<_>>());
    assert!(mean_iou(&scene, &masks) >= 0.9);
}

#[test]
fn one_click_on_frame_59_tracks_backward() {
    let scene = Scene::new(60);
    let masks = track(&scene, 0..=59, Direction::Backward, &click(&scene, 59));
    assert_eq!(masks.iter().map(|(f, _)| *f).collect::<Vec<_>>(), (0..60).rev().collect::<Vec<_>>());
    assert!(mean_iou(&scene, &masks) >= 0.9);
}

#[test]
fn negative_click_removes_a_touching_distractor() {
    let scene = Scene { distractor: true, ..Scene::new(60) };
    let positive = click(&scene, 0);
    let only_positive = track(&scene, 0..=0, Direction::Forward, &positive);
    let distractor = scene.distractor_truth(0);
    let before = covered(&only_positive[0].1.binary(), &distractor);
    assert!(before > 0.5, "the distractor should look like the object to a single click ({before:.3} covered)");

    let (dx, dy, _) = scene.distractor(0);
    let mut prompts = positive.clone();
    prompts.get_mut(&0).unwrap().push(Prompt::Point { x: dx, y: dy, positive: false });
    let masks = track(&scene, 0..=19, Direction::Forward, &prompts);
    for (f, mask) in &masks {
        let binary = mask.binary();
        let left = covered(&binary, &scene.distractor_truth(*f));
        assert!(left < 0.05, "frame {f}: {left:.3} of the distractor still selected");
    }
    assert!(mean_iou(&scene, &masks) >= 0.9);
}

#[test]
fn tracking_starts_at_the_first_prompted_frame_in_its_direction() {
    let scene = Scene::new(60);
    let masks = track(&scene, 0..=20, Direction::Forward, &click(&scene, 15));
    assert_eq!(masks.first().map(|m| m.0), Some(15));
    assert_eq!(masks.last().map(|m| m.0), Some(20));
    let err = common::tracker()
        .track(|f| Ok(scene.frame(f)), 0..=10, Direction::Forward, &click(&scene, 15), |_, _| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(matches!(err, SegmentError::NoStartFrame { .. }), "{err}");
    // A prompted frame behind the range carries the object into it.
    let masks = track(&scene, 20..=25, Direction::Forward, &click(&scene, 15));
    assert_eq!(masks.iter().map(|m| m.0).collect::<Vec<_>>(), (20..=25).collect::<Vec<_>>());
    assert!(mean_iou(&scene, &masks) >= 0.9);
    let err = common::tracker()
        .track(|f| Ok(scene.frame(f)), 0..=10, Direction::Forward, &Prompts::new(), |_, _| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(matches!(err, SegmentError::NoPrompts), "{err}");
}

#[test]
fn a_box_selects_the_object() {
    let scene = Scene::new(60);
    let (cx, cy, r) = scene.object(0);
    let prompts = BTreeMap::from([(0, vec![Prompt::Box { x0: cx - r, y0: cy - r, x1: cx + r, y1: cy + r }])]);
    let masks = track(&scene, 0..=0, Direction::Forward, &prompts);
    assert!(mean_iou(&scene, &masks) >= 0.9);
}

#[test]
fn a_negative_only_correction_on_a_tracked_frame_keeps_the_object() {
    let scene = Scene { distractor: true, ..Scene::new(20) };
    let mut prompts = click(&scene, 0);
    let (dx, dy, _) = scene.distractor(10);
    prompts.insert(10, vec![Prompt::Point { x: dx, y: dy, positive: false }]);
    let masks = track(&scene, 0..=19, Direction::Forward, &prompts);
    let corrected = &masks.iter().find(|(f, _)| *f == 10).expect("frame 10 tracked").1;
    let object = iou(&corrected.binary(), &scene.truth(10));
    let left = covered(&corrected.binary(), &scene.distractor_truth(10));
    println!("corrected frame 10: object IoU {object:.3}, distractor covered {left:.3}");
    assert!(object >= 0.9, "the object stays selected on the corrected frame ({object:.3})");
    assert!(left < 0.05, "the negative click removes the distractor ({left:.3})");
}
