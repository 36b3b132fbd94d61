//! What a host notices about a plugin that misbehaves — an image never released, a control set
//! during a render, a number without a display range (Resolve clamps it to ±1) — must never be
//! noticed about ours, in any profile, for any effect.

mod common;

use common::{cache_models, load, test_image, PROFILES};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Rect, RenderOptions};

#[test]
fn no_effect_leaves_a_host_warning_in_any_profile() {
    let models = tempfile::tempdir().unwrap();
    std::fs::copy(cache_models().join("depth_standin_exact.onnx"), models.path().join("depth_anything_v2_small.onnx")).unwrap();
    // Both Qualities' networks: Better (the default) tracks with SAM 2.1 small, Faster with tiny.
    let sam2 = ["image_encoder", "mask_decoder", "memory_encoder", "memory_attention"];
    let files = sam2.iter().flat_map(|part| [format!("sam2_{part}.onnx"), format!("sam2_small_{part}.onnx")]).chain(["u2netp.onnx".to_owned()]);
    for file in files {
        std::fs::copy(cache_models().join(&file), models.path().join(&file)).unwrap();
    }
    let store = tempfile::tempdir().unwrap();
    for profile in PROFILES {
        let bundle = load(profile);
        for id in ["luma-matte-extract", "depth-map", "magic-mask"] {
            let mut fx = bundle.create_instance(id, Context::Filter).unwrap();
            if id != "luma-matte-extract" {
                fx.set_param_text("model_folder", models.path().to_str().unwrap()).unwrap();
            }
            let depth = if profile == HostProfile::Nuke { BitDepth::F32 } else { BitDepth::U8 };
            fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 64, 36), depth, Components::Rgba, 3)));
            if id == "magic-mask" {
                fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
                // MLT has no live instance to click in: it only renders what is stored.
                if profile != HostProfile::Mlt {
                    fx.set_param_text("point", "20,12").unwrap();
                    fx.press("add_positive", 0.0).unwrap();
                }
            }
            fx.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{profile:?} {id}: {e}"));
            assert!(fx.warnings().is_empty(), "{profile:?} {id}: {:?}", fx.warnings());
        }
        assert!(bundle.messages().iter().all(|m| m.kind != ofx_host::MessageKind::Error), "{profile:?}: {:?}", bundle.messages());
    }
}
