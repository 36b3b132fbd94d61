//! An incomplete host: the official OpenFX example host answers kOfxStatErrMissingHostFeature
//! when a plugin reads an integer or a choice. The effect then renders with the declared
//! defaults and logs one line per control, instead of failing every render. Its own test
//! binary, because the plugin picks its log folder once per process.

mod common;

use common::{load, test_image};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, ParamKind, Rect, RenderOptions};

#[test]
fn unreadable_ints_and_choices_fall_back_to_their_defaults_with_one_log_line() {
    let home = tempfile::tempdir().unwrap();
    // Before the bundle loads: the plugin's log goes to $XDG_CACHE_HOME/DeepMatte.
    std::env::set_var("XDG_CACHE_HOME", home.path());
    let bundle = load(HostProfile::Generic);
    let source = test_image(Rect::from_size(24, 16), BitDepth::F32, Components::Rgba, 7);
    let render = |unreadable: &[ParamKind]| {
        let mut fx = bundle.create_instance("org.deepmatte.LumaMatteExtract", Context::General).unwrap();
        fx.set_input("Source", ClipSource::Still(source.clone()));
        // Not the defaults (Rec.709 luminance, premultiplied, offset 0): an unreadable host
        // cannot deliver them, so the defaults must be what renders.
        fx.set_param_text("channel", "red").unwrap();
        fx.set_param_text("output", "matte_rgba").unwrap();
        fx.set_param_text("matte_frame_offset", "3").unwrap();
        fx.set_unreadable_params(unreadable);
        for _ in 0..4 {
            fx.render(0.0, &RenderOptions::default()).expect("an unreadable control is not a failed render");
        }
        fx.render(0.0, &RenderOptions::default()).unwrap()
    };
    let out = render(&[ParamKind::Int, ParamKind::Choice]);
    for y in 0..16 {
        for x in 0..24 {
            let p = source.rgba(x, y);
            let m = (0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]).clamp(0.0, 1.0);
            let want = [p[0] * m, p[1] * m, p[2] * m, m];
            let got = out.rgba(x, y);
            for c in 0..4 {
                assert!((got[c] - want[c]).abs() < 1e-5, "({x},{y}) channel {c}: got {} want {} (the defaults)", got[c], want[c]);
            }
        }
    }
    let readable = render(&[]);
    let p = source.rgba(3, 2);
    assert!((readable.rgba(3, 2)[0] - p[0]).abs() < 1e-5, "a complete host delivers channel=red, output=matte_rgba");
    let log = std::fs::read_to_string(home.path().join("DeepMatte/deepmatte.log")).expect("the plugin writes its log there");
    for name in ["channel", "output", "matte_frame_offset"] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(&format!("cannot read control '{name}'"))).collect();
        assert_eq!(lines.len(), 1, "one log line for '{name}' over many renders: {log}");
    }
}
