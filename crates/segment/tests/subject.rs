//! Auto Subject with the real U²-Netp network on the synthetic clip.

mod common;

use inference::{u2netp, SessionOptions};
use segment::subject;
use segment::synthetic::{iou, Scene};

#[test]
fn click_on_the_salient_object_selects_it() {
    let path = common::cache().join("models").join(u2netp::FILE);
    assert!(path.exists(), "{} is missing: run `cargo xtask setup` first", path.display());
    let options = SessionOptions { cpu_only: true, ..Default::default() };
    let model = common::runtime().open(&path, &u2netp::CONTRACT, &options).unwrap();
    let scene = Scene::new(60);
    let frame = scene.frame(30);
    let (cx, cy, _) = scene.object(30);
    let mask = subject::select(&model, &frame, cx as usize, cy as usize).unwrap().expect("the object is salient");
    let score = iou(&mask.binary(), &scene.truth(30));
    println!("Auto Subject IoU {score:.4}");
    assert!(score > 0.8, "IoU {score:.3}");
    assert!(subject::select(&model, &frame, 5, 5).unwrap().is_none(), "the background corner is not salient");
}
