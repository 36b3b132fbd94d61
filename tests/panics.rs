//! No panic crosses an exported symbol: a panic injected into each `extern "C"` function of the
//! built bundle (through its `DeepMatteInjectPanic` export, see `ofx::fault`) reaches the host as
//! an error status — with a message on the node where the action has one — and the host process
//! goes on, rendering normally right after. A panic that escaped would abort this test process.
//! One test in its own binary: injection points and the log folder are process-wide.

mod common;

use common::{bundle_path, load, model_folder_with, model_runs, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostError, HostProfile, MessageKind, Rect, RenderOptions};

fn arm(point: &str) {
    assert!(ofx_host::inject_panic(&bundle_path(), point).unwrap(), "{point} is an injection point");
}

fn counter(symbol: &str) -> u64 {
    ofx_host::plugin_counter(&bundle_path(), symbol).unwrap()
}

#[test]
fn a_panic_in_any_exported_symbol_is_an_error_status_and_the_host_goes_on() {
    let home = tempfile::tempdir().unwrap();
    // Before the bundle loads: the plugin's log goes to $XDG_CACHE_HOME/DeepMatte.
    std::env::set_var("XDG_CACHE_HOME", home.path());
    let bundle = load(HostProfile::Generic);
    assert_eq!(bundle.plugins().len(), 3);
    assert!(!ofx_host::inject_panic(&bundle_path(), "no such point").unwrap(), "unknown points are refused");

    // The binary's own exports, as a host loading the bundle calls them.
    arm("OfxGetNumberOfPlugins");
    assert_eq!(load(HostProfile::Generic).plugins().len(), 0, "a panicking OfxGetNumberOfPlugins reads as no plugins");
    arm("OfxGetPlugin");
    assert_eq!(load(HostProfile::Generic).plugins().len(), 2, "the plugin whose OfxGetPlugin panicked is NULL, the others load");
    arm("setHost");
    assert_eq!(load(HostProfile::Generic).plugins().len(), 3, "a panicking setHost is caught (the host was set before)");
    arm("mainEntry:OfxActionDescribe");
    assert_eq!(load(HostProfile::Generic).plugins().len(), 2, "the plugin whose Describe panicked is left out");
    assert_eq!(load(HostProfile::Generic).plugins().len(), 3, "and describes again next time");

    // mainEntry: a render that panics fails with kOfxStatFailed and says so on the node.
    let mut fx = bundle.create_instance("org.deepmatte.LumaMatteExtract", Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 32, 16), BitDepth::F32, Components::Rgba, 1)));
    let good = fx.render(0.0, &RenderOptions::default()).unwrap();
    arm("mainEntry:OfxImageEffectActionRender");
    let failed = fx.render(0.0, &RenderOptions::default()).unwrap_err();
    assert!(matches!(failed, HostError::Render { .. }) && failed.to_string().contains("kOfxStatFailed"), "{failed}");
    let message = fx.persistent_message().expect("the node says what happened");
    assert_eq!(message.kind, MessageKind::Error);
    assert!(message.text.contains("internal error in OfxImageEffectActionRender: injected panic"), "{}", message.text);
    let after = fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(after.rgba(3, 3), good.rgba(3, 3), "the next render is a normal one");

    // The report after a caught panic panics too: still an error status and a (fixed) message.
    arm("mainEntry:OfxImageEffectActionRender");
    arm("report");
    let failed = fx.render(0.0, &RenderOptions::default()).unwrap_err();
    assert!(matches!(failed, HostError::Render { .. }) && failed.to_string().contains("kOfxStatFailed"), "{failed}");
    let message = fx.persistent_message().expect("a fixed message when the report failed");
    assert!(message.text.contains("the error report itself failed"), "{}", message.text);
    fx.render(0.0, &RenderOptions::default()).unwrap();

    // Instance actions: a failed CreateInstance is an error, the next one works.
    arm("mainEntry:OfxActionCreateInstance");
    assert!(bundle.create_instance("org.deepmatte.MagicMask", Context::Filter).is_err());
    let mut magic = bundle.create_instance("org.deepmatte.MagicMask", Context::Filter).unwrap();
    magic.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 32, 16), BitDepth::F32, Components::Rgba, 1)));

    // The overlay's entry point (Magic Mask's viewer clicks).
    let mut overlay = magic.overlay().expect("Magic Mask draws in the viewer");
    arm("overlayEntry:OfxInteractActionDraw");
    assert!(overlay.draw(0.0).is_err(), "a panicking draw is an error status");
    arm("overlayEntry:OfxInteractActionDraw");
    arm("report");
    assert!(overlay.draw(0.0).is_err(), "and so is one whose log line panics too");
    overlay.draw(0.0).unwrap();

    // The diagnostic counters answer 0 rather than unwind.
    let models = model_folder_with(depth::standin::EXACT_FILE, depth::FILE);
    let mut depth_map = bundle.create_instance("org.deepmatte.DepthMap", Context::Filter).unwrap();
    depth_map.set_param_text("model_folder", models.path().to_str().unwrap()).unwrap();
    depth_map.set_input("Source", ClipSource::Still(test_image(Rect::new(0, 0, 32, 16), BitDepth::F32, Components::Rgba, 2)));
    depth_map.render(0.0, &RenderOptions::default()).unwrap();
    assert!(model_runs() >= 1);
    arm("DeepMatteModelRuns");
    assert_eq!(model_runs(), 0, "the fallback of a panicking counter");
    assert!(model_runs() >= 1, "the counter answers again");
    for symbol in ["DeepMatteFlowRuns", "DeepMatteCudaFrameCopies"] {
        arm(symbol);
        assert_eq!(counter(symbol), 0, "{symbol}");
        counter(symbol);
    }

    // The log names the caught panics.
    let log = std::fs::read_to_string(home.path().join("DeepMatte/deepmatte.log")).expect("the plugin writes its log there");
    assert!(log.contains("OfxImageEffectActionRender panicked: injected panic in mainEntry:OfxImageEffectActionRender"), "{log}");
    assert!(log.contains("overlay action panicked: injected panic in overlayEntry:OfxInteractActionDraw"), "{log}");
}
