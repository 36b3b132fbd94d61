//! The plugin's log file through the built bundle: a message a render repeats is logged once per
//! instance, not at warning level on every render, and a corrected control value once. One test
//! in its own binary, because the plugin picks its log folder once per process.

mod common;

use common::{cache_models, load};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, ParamValue, Rect, RenderOptions};

#[test]
fn repeated_render_messages_are_logged_once() {
    let home = tempfile::tempdir().unwrap();
    // Before the bundle loads: the plugin's log goes to $XDG_CACHE_HOME/DeepMatte.
    std::env::set_var("XDG_CACHE_HOME", home.path());
    let store = tempfile::tempdir().unwrap();
    let mut fx = load(HostProfile::Generic).create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    fx.set_param_text("model_folder", cache_models().to_str().unwrap()).unwrap();
    fx.set_param_text("store_folder", store.path().to_str().unwrap()).unwrap();
    fx.set_input("Source", ClipSource::Still(common::test_image(Rect::from_size(32, 16), BitDepth::F32, Components::Rgba, 1)));
    fx.set_param_unchecked("blur", ParamValue::Double(f64::NAN)).unwrap();
    for _ in 0..20 {
        fx.render(3.0, &RenderOptions::default()).unwrap();
    }
    assert!(fx.persistent_message().is_some_and(|m| m.text.contains("frame 3 is not tracked yet")), "the node says so every time");
    let log = std::fs::read_to_string(home.path().join("DeepMatte/deepmatte.log")).expect("the plugin writes its log there");
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).collect::<Vec<_>>();
    let untracked = lines("is not tracked yet");
    assert_eq!(untracked.len(), 1, "logged once for 20 renders: {untracked:#?}");
    assert!(!untracked[0].contains(" WARN "), "and not as a warning: {}", untracked[0]);
    assert_eq!(lines("control 'blur'").len(), 1, "a corrected value is logged once: {log}");
}
