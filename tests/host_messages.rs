//! How a render problem reaches the user in hosts that show messages differently
//! (`shared/HOSTS.md`): NatronRenderer shows no persistent messages, only ordinary ones.

mod common;

use common::{load, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, MessageKind, Rect, RenderOptions};

const DEPTH_MAP: &str = "org.deepmatte.DepthMap";
const MAGIC_MASK: &str = "org.deepmatte.MagicMask";

/// The failure mark (`imaging::failure_stripes`): diagonal stripes 16 pixels wide, every other
/// one pure red, the rest the opaque source.
fn assert_failure_stripes(out: &Image, source: &Image) {
    let (mut red, mut kept) = (0, 0);
    for y in 0..source.height() as i32 {
        for x in 0..source.width() as i32 {
            let got = out.rgba(x, y);
            let want = if (x + y) / 16 % 2 == 0 {
                red += 1;
                [1.0, 0.0, 0.0, 1.0]
            } else {
                kept += 1;
                let p = source.rgba(x, y);
                [p[0], p[1], p[2], 1.0]
            };
            for c in 0..4 {
                assert!((got[c] - want[c]).abs() < 1e-6, "({x},{y}) channel {c}: got {} want {}", got[c], want[c]);
            }
        }
    }
    assert!(red > 300 && kept > 300, "{red} red, {kept} source pixels");
}

/// A Depth Map whose model folder is empty: every render fails for want of the model.
fn depth_map_without_model(profile: HostProfile, empty: &std::path::Path) -> Instance {
    let mut fx = load(profile).create_instance(DEPTH_MAP, Context::Filter).unwrap();
    fx.set_param_text("model_folder", empty.to_str().unwrap()).unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::from_size(32, 18), BitDepth::F32, Components::Rgba, 2)));
    fx
}

#[test]
fn a_background_host_gets_one_ordinary_message_per_cause_a_gui_host_the_persistent_one() {
    let empty = tempfile::tempdir().unwrap();
    for profile in [HostProfile::NatronRenderer, HostProfile::Natron] {
        let fx = depth_map_without_model(profile, empty.path());
        for frame in 0..4 {
            assert!(fx.render(f64::from(frame), &RenderOptions::default()).is_err(), "{profile:?}: no model, no depth");
        }
        let ordinary: Vec<_> =
            fx.messages().into_iter().filter(|m| !m.persistent && m.kind == MessageKind::Error).collect();
        if profile == HostProfile::NatronRenderer {
            assert!(fx.persistent_message().is_none(), "NatronRenderer shows persistent messages nowhere");
            assert_eq!(ordinary.len(), 1, "one ordinary message for four failed frames: {ordinary:?}");
            assert!(ordinary[0].text.contains("was not found"), "it carries the reason: {}", ordinary[0].text);
        } else {
            let shown = fx.persistent_message().expect("Natron's GUI shows the reason on the node");
            assert!(shown.text.contains("was not found"), "{}", shown.text);
            assert!(ordinary.is_empty(), "a GUI host gets no dialog per frame: {ordinary:?}");
        }
    }
}

#[test]
fn without_a_message_area_a_missing_model_is_marked_in_the_picture() {
    let empty = tempfile::tempdir().unwrap();
    let source = test_image(Rect::from_size(40, 24), BitDepth::U8, Components::Rgba, 5);
    // MLT shows no plugin messages and the source for a failed render: the picture says it.
    let mut mlt = load(HostProfile::Mlt).create_instance(DEPTH_MAP, Context::Filter).unwrap();
    mlt.set_param_text("model_folder", empty.path().to_str().unwrap()).unwrap();
    mlt.set_input("Source", ClipSource::Still(source.clone()));
    let out = mlt.render(0.0, &RenderOptions::default()).expect("under MLT the failure is drawn, not returned");
    assert_failure_stripes(&out, &source);
    // A host with a message area keeps the message and the untouched source (a failed render).
    let natron = depth_map_without_model(HostProfile::Natron, empty.path());
    assert!(natron.render(0.0, &RenderOptions::default()).is_err());
    assert!(natron.persistent_message().is_some_and(|m| m.text.contains("was not found")));
}

#[test]
fn without_a_message_area_a_magic_mask_missing_its_model_is_marked_in_the_picture() {
    let (empty, store) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = test_image(Rect::from_size(40, 24), BitDepth::U8, Components::Rgba, 7);
    // Both ways a render runs a model: Auto Subject (U²-Netp) and Track on Render (SAM 2).
    for (mode, prompts) in [("Auto Subject", ""), ("Prompts", "0 + 20 12")] {
        let magic_mask = |profile: HostProfile| {
            let mut fx = load(profile).create_instance(MAGIC_MASK, Context::Filter).unwrap();
            fx.set_param_text("model_folder", empty.path().to_str().unwrap()).unwrap();
            fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
            fx.set_param_text("prompts", prompts).unwrap();
            fx.set_param_text("track_on_render", "true").unwrap();
            fx.set_input("Source", ClipSource::Still(source.clone()));
            fx
        };
        let mut mlt = magic_mask(HostProfile::Mlt);
        mlt.set_param_text("mode", mode).unwrap();
        let out = mlt.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{mode}: under MLT the failure is drawn, not returned: {e}"));
        assert_failure_stripes(&out, &source);
        // A host with a message area keeps the message and the untouched source (a failed render).
        let mut natron = magic_mask(HostProfile::Natron);
        natron.set_param_text("mode", if mode == "Prompts" { "prompts" } else { "auto_subject" }).unwrap();
        assert!(natron.render(0.0, &RenderOptions::default()).is_err(), "{mode}: Natron gets the failure");
        let shown = natron.persistent_message().unwrap_or_else(|| panic!("{mode}: Natron shows the reason on the node"));
        assert!(shown.text.contains("not found"), "{mode}: {}", shown.text);
    }
}
