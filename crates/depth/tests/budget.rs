//! The process-wide memory budget on the real engine (its own test binary, so the budget it sets
//! is no other test's): raw depth counts against it, and an opened model no render holds closes
//! when the budget needs room, to reopen on the next render.

use std::path::PathBuf;

use depth::{standin, DepthEstimator, Frame, Quality};
use inference::{budget, Runtime, SessionOptions};

fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache")
}

#[test]
fn the_budget_evicts_raw_depth_and_closes_an_unused_model() {
    let library = cache().join("onnxruntime").join(inference::ORT_LIBRARY_FILE);
    let runtime = Runtime::load(&library).unwrap_or_else(|e| panic!("{e}\n(run `cargo xtask setup` first)"));
    let path = cache().join("models").join(standin::EXACT_FILE);
    let options = SessionOptions::default();
    let pixels: Vec<f32> = (0..64 * 48 * 4).map(|i| (i % 97) as f32 / 97.0).collect();
    let frame = Frame { pixels: &pixels, width: 64, height: 48, channels: 4 };

    let estimator = DepthEstimator::shared(&runtime, &path, &options).unwrap();
    estimator.depth(&frame, Quality::Faster).unwrap();
    assert_eq!(estimator.inferences(), 1);
    let held = budget::used();
    let model_bytes = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(held > model_bytes, "the budget counts the open model ({model_bytes} B) and the raw map: {held} B");

    // While a render holds the estimator its model stays usable; the cached map is freed.
    budget::set_limit(0);
    estimator.depth(&frame, Quality::Faster).unwrap();
    assert_eq!(estimator.inferences(), 2, "the raw map did not fit the budget: computed again");
    let model = estimator.backend().to_string();
    let session = std::sync::Arc::downgrade(&runtime.open(&path, &depth::CONTRACT, &options).unwrap());
    drop(estimator);
    budget::set_limit(0);
    assert_eq!(budget::used(), 0, "nothing is kept over a zero budget");
    assert!(session.upgrade().is_none(), "the session closed once no render held it");

    budget::set_limit(1 << 30);
    let reopened = DepthEstimator::shared(&runtime, &path, &options).unwrap();
    reopened.depth(&frame, Quality::Faster).unwrap();
    assert_eq!(reopened.inferences(), 3, "the shared cache survived the model's closing, its map did not");
    reopened.depth(&frame, Quality::Faster).unwrap();
    assert_eq!(reopened.inferences(), 3, "within the budget the map is kept again");
    assert_eq!(reopened.backend().to_string(), model);
}
