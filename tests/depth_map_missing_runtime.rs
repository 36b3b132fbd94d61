//! A bundle whose ONNX Runtime library cannot be loaded still loads, describes and says what is
//! missing when Depth Map renders. Its own test binary: the runtime is process-wide, and this
//! process must never load the real one.

mod common;

use common::{load, model_folder_with};
use depth::standin::EXACT_FILE;
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Rect, RenderOptions};

#[test]
fn missing_runtime_library_is_a_message_not_a_crash() {
    std::env::set_var("DEEPMATTE_ORT_LIB", "/nonexistent/libonnxruntime.so.1.31.1");
    let bundle = load(HostProfile::Resolve);
    let models = model_folder_with(EXACT_FILE, "depth_anything_v2_small.onnx");
    let mut fx = bundle.create_instance("depth-map", Context::Filter).unwrap();
    fx.set_param_text("model_folder", models.path().to_str().unwrap()).unwrap();
    fx.set_input("Source", ClipSource::Still(Image::new(Rect::new(0, 0, 32, 18), BitDepth::F32, Components::Rgba)));
    let err = fx.render(0.0, &RenderOptions::default()).expect_err("no runtime, no render");
    let messages: Vec<String> = fx.messages().into_iter().map(|m| m.text).collect();
    let text = format!("{err} | {}", messages.join(" | "));
    assert!(text.contains("ONNX Runtime library could not be loaded") && text.contains("/nonexistent/"), "{text}");
    assert!(text.contains("reinstall the bundle") && !text.contains("cargo"), "{text}");
    // Luma Matte Extract, which needs no model, still renders in the same process.
    let mut luma = bundle.create_instance("luma-matte-extract", Context::Filter).unwrap();
    luma.set_input("Source", ClipSource::Still(Image::new(Rect::new(0, 0, 8, 8), BitDepth::U8, Components::Rgba)));
    luma.render(0.0, &RenderOptions::default()).expect("other effects are unaffected");
}
