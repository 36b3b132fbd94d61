//! Luma Matte Extract through the built bundle, checked against a closed-form reference computed
//! here in f64 from the pixels the host delivered.

mod common;

use common::{load, test_image, PROFILES};
use deepmatte_ofx::effects::luma_matte_extract_controls as lme;
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, MessageKind, ParamValue, Rect, RenderOptions};
use std::collections::BTreeMap;

const ID: &str = "org.deepmatte.LumaMatteExtract";

/// The controls as the reference sees them.
#[derive(Clone, Copy, Debug)]
struct Look {
    channel: &'static str,
    black: f64,
    white: f64,
    gamma: f64,
    invert: bool,
    output: &'static str,
}

const DEFAULT: Look = Look { channel: "luma709", black: 0.0, white: 1.0, gamma: 1.0, invert: false, output: "alpha_premultiplied" };

fn apply(fx: &mut Instance, look: &Look) {
    fx.set_param_text(lme::CHANNEL.name, look.channel).unwrap();
    fx.set_param(lme::BLACK_CLIP.name, ParamValue::Double(look.black)).unwrap();
    fx.set_param(lme::WHITE_CLIP.name, ParamValue::Double(look.white)).unwrap();
    fx.set_param(lme::GAMMA.name, ParamValue::Double(look.gamma)).unwrap();
    fx.set_param(lme::INVERT.name, ParamValue::Bool(look.invert)).unwrap();
    fx.set_param_text(lme::OUTPUT.name, look.output).unwrap();
}

/// A pixel as the effect reads it: RGB gets alpha 1, a single channel is grey with that alpha.
fn as_rgba(img: &Image, x: i32, y: i32) -> [f64; 4] {
    let g = |c| f64::from(img.get(x, y, c));
    match img.components() {
        Components::Rgba => [g(0), g(1), g(2), g(3)],
        Components::Rgb => [g(0), g(1), g(2), 1.0],
        Components::Alpha => [g(0); 4],
    }
}

fn channel_value(channel: &str, p: [f64; 4]) -> f64 {
    let [r, g, b, a] = p;
    match channel {
        "luma709" => 0.2126 * r + 0.7152 * g + 0.0722 * b,
        "luma2020" => 0.2627 * r + 0.6780 * g + 0.0593 * b,
        "luma601" => 0.299 * r + 0.587 * g + 0.114 * b,
        "average" => (r + g + b) / 3.0,
        "max" => r.max(g).max(b),
        "red" => r,
        "green" => g,
        "blue" => b,
        "alpha" => a,
        other => panic!("unknown channel {other}"),
    }
}

/// The closed form: m = clamp((Y − black)/(white − black)), ^(1/gamma), inverted; then placed.
fn reference(look: &Look, src: [f64; 4], matte_px: [f64; 4]) -> [f64; 4] {
    let v = channel_value(look.channel, matte_px);
    let mut m = if look.white == look.black {
        f64::from(v >= look.black)
    } else {
        ((v - look.black) / (look.white - look.black)).clamp(0.0, 1.0)
    };
    m = m.powf(1.0 / look.gamma);
    if look.invert {
        m = 1.0 - m;
    }
    match look.output {
        "alpha_premultiplied" => [src[0] * m, src[1] * m, src[2] * m, m],
        "alpha_straight" => [src[0], src[1], src[2], m],
        "matte_rgba" => [m, m, m, 1.0],
        other => panic!("unknown output {other}"),
    }
}

/// Quantisation step of a depth: integer outputs may differ by one code value.
fn tolerance(depth: BitDepth) -> f64 {
    match depth {
        BitDepth::U8 => 1.0 / 255.0 + 1e-6,
        BitDepth::U16 => 1.0 / 65535.0 + 1e-6,
        BitDepth::F32 => 2e-5,
    }
}

/// Checks every pixel of `window` in `out` against the reference; returns the largest error.
fn check(out: &Image, source: &Image, matte: Option<&Image>, window: Rect, look: &Look) -> f64 {
    assert_eq!(out.components(), Components::Rgba, "output is RGBA");
    let tol = tolerance(out.depth()).max(tolerance(source.depth()));
    let mut worst = 0.0f64;
    for y in window.y1..window.y2 {
        for x in window.x1..window.x2 {
            let s = as_rgba(source, x, y);
            let want = reference(look, s, matte.map_or(s, |m| as_rgba(m, x, y)));
            let got = as_rgba(out, x, y);
            for c in 0..4 {
                let err = (got[c] - want[c]).abs();
                worst = worst.max(err);
                assert!(err <= tol, "pixel ({x},{y}) channel {c}: got {} want {} (err {err}, tol {tol}) with {look:?}", got[c], want[c]);
            }
        }
    }
    worst
}

#[test]
fn every_profile_loads_describes_and_renders_every_context() {
    for profile in PROFILES {
        let bundle = load(profile);
        let info = bundle.plugins().into_iter().find(|p| p.id == ID).expect("Luma Matte Extract in the bundle");
        assert_eq!(info.grouping, "DeepMatte");
        assert_eq!(bundle.resolve_id("luma-matte-extract").unwrap(), ID);
        // MLT (Shotcut, Kdenlive) offers the Filter context only.
        let contexts: &[Context] = if profile == HostProfile::Mlt { &[Context::Filter] } else { &[Context::Filter, Context::General] };
        for &context in contexts {
            let description = bundle.describe(ID, context).unwrap_or_else(|e| panic!("{profile:?} {context:?}: {e}"));
            let names: Vec<String> = description.params.iter().map(|p| p.name.clone()).collect();
            for want in ["channel", "black_clip", "white_clip", "gamma", "invert", "use_matte_input", "matte_frame_offset", "output"] {
                assert!(names.iter().any(|n| n == want), "{profile:?} {context:?}: missing {want} in {names:?}");
            }
            let output = description.params.iter().find(|p| p.name == "output").unwrap();
            assert!(output.hint.contains("MLT") && output.hint.contains("straight"), "the hint says what MLT does: {}", output.hint);
            let mut fx = bundle.create_instance(ID, context).unwrap();
            let source = test_image(Rect::new(0, 0, 48, 32), BitDepth::U8, Components::Rgba, 1);
            fx.set_input("Source", ClipSource::Still(source.clone()));
            let out = fx.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{profile:?} {context:?}: {e}"));
            assert_eq!((out.width(), out.height()), (48, 32), "{profile:?} {context:?}");
            let delivered = source.converted(out.depth(), source.components());
            // MLT composites straight alpha: a premultiplied output would be darkened twice.
            let look = if profile == HostProfile::Mlt { Look { output: "alpha_straight", ..DEFAULT } } else { DEFAULT };
            check(&out, &delivered, None, out.bounds(), &look);
        }
    }
}

#[test]
fn matches_closed_form_for_every_depth_and_layout() {
    let bundle = load(HostProfile::Generic);
    let look = Look { channel: "luma601", black: 0.12, white: 0.83, gamma: 1.7, invert: false, output: "alpha_premultiplied" };
    for depth in [BitDepth::U8, BitDepth::U16, BitDepth::F32] {
        for components in [Components::Rgba, Components::Rgb, Components::Alpha] {
            let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
            apply(&mut fx, &look);
            let source = test_image(Rect::new(0, 0, 37, 23), depth, components, 7);
            fx.set_input("Source", ClipSource::Still(source.clone()));
            let out = fx.render(0.0, &RenderOptions::default()).unwrap();
            assert_eq!(out.depth(), depth, "output keeps the source depth");
            check(&out, &source, None, out.bounds(), &look);
        }
    }
}

#[test]
fn every_channel_output_mode_and_invert() {
    let bundle = load(HostProfile::Generic);
    let source = test_image(Rect::new(0, 0, 20, 12), BitDepth::F32, Components::Rgba, 3);
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source.clone()));
    for channel in ["luma709", "luma2020", "luma601", "average", "max", "red", "green", "blue", "alpha"] {
        for output in ["alpha_premultiplied", "alpha_straight", "matte_rgba"] {
            for invert in [false, true] {
                let look = Look { channel, black: 0.2, white: 0.7, gamma: 0.6, invert, output };
                apply(&mut fx, &look);
                let out = fx.render(0.0, &RenderOptions::default()).unwrap();
                check(&out, &source, None, out.bounds(), &look);
            }
        }
    }
    // Black equal to white is a hard threshold at that value.
    let look = Look { channel: "red", black: 0.5, white: 0.5, gamma: 1.0, invert: false, output: "matte_rgba" };
    apply(&mut fx, &look);
    let out = fx.render(0.0, &RenderOptions::default()).unwrap();
    check(&out, &source, None, out.bounds(), &look);
}

#[test]
fn negative_row_bytes_offset_bounds_and_a_small_render_window() {
    let bundle = load(HostProfile::Generic);
    let look = Look { channel: "average", black: 0.05, white: 0.9, gamma: 2.2, invert: true, output: "alpha_straight" };
    for depth in [BitDepth::U8, BitDepth::U16, BitDepth::F32] {
        let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
        apply(&mut fx, &look);
        let source = test_image(Rect::new(0, 0, 40, 30), depth, Components::Rgba, 11);
        fx.set_input("Source", ClipSource::Still(source.clone()));
        let window = Rect::new(5, 3, 29, 17);
        let options = RenderOptions { window: Some(window), negative_row_bytes: true, bounds_offset: (13, -7), ..RenderOptions::default() };
        let out = fx.render(0.0, &options).unwrap();
        assert!(out.row_bytes() < 0, "host handed out bottom-up images");
        let shifted = window.offset(13, -7);
        let source = source.with_bounds_offset(13, -7);
        check(&out, &source, None, shifted, &look);
        // Outside the render window the plugin wrote nothing (the host's output starts zeroed).
        for y in out.bounds().y1..out.bounds().y2 {
            for x in out.bounds().x1..out.bounds().x2 {
                if !shifted.contains(x, y) {
                    assert_eq!(as_rgba(&out, x, y), [0.0; 4], "({x},{y}) outside the window was written");
                }
            }
        }
    }
}

#[test]
fn render_scale_renders_the_scaled_image() {
    let bundle = load(HostProfile::Natron);
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    let look = Look { gamma: 1.3, ..DEFAULT };
    apply(&mut fx, &look);
    let source = test_image(Rect::new(0, 0, 64, 48), BitDepth::F32, Components::Rgba, 5);
    fx.set_input("Source", ClipSource::Still(source.clone()));
    let out = fx.render(0.0, &RenderOptions { render_scale: (0.5, 0.5), ..RenderOptions::default() }).unwrap();
    assert_eq!((out.width(), out.height()), (32, 24));
    let delivered = source.scaled(0.5, 0.5);
    check(&out, &delivered, None, out.bounds(), &look);
}

#[test]
fn keyframed_gamma_renders_the_interpolated_value() {
    let bundle = load(HostProfile::Generic);
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    let source = test_image(Rect::new(0, 0, 24, 16), BitDepth::F32, Components::Rgba, 9);
    fx.set_input("Source", ClipSource::Still(source.clone()));
    fx.set_key(lme::GAMMA.name, 0.0, ParamValue::Double(1.0)).unwrap();
    fx.set_key(lme::GAMMA.name, 10.0, ParamValue::Double(3.0)).unwrap();
    let out = fx.render(5.0, &RenderOptions::default()).unwrap();
    check(&out, &source, None, out.bounds(), &Look { gamma: 2.0, ..DEFAULT });
    let out = fx.render(10.0, &RenderOptions::default()).unwrap();
    check(&out, &source, None, out.bounds(), &Look { gamma: 3.0, ..DEFAULT });
}

#[test]
fn matte_input_with_frame_offset() {
    let bundle = load(HostProfile::Generic);
    let mut fx = bundle.create_instance(ID, Context::General).unwrap();
    let look = Look { channel: "green", ..DEFAULT };
    apply(&mut fx, &look);
    fx.set_param(lme::USE_MATTE_INPUT.name, ParamValue::Bool(true)).unwrap();
    fx.set_param(lme::MATTE_FRAME_OFFSET.name, ParamValue::Int(2)).unwrap();
    let bounds = Rect::new(0, 0, 30, 20);
    let source = test_image(bounds, BitDepth::U16, Components::Rgba, 1);
    let mattes: BTreeMap<i32, Image> = (0..8).map(|f| (f, test_image(bounds, BitDepth::U16, Components::Rgba, 100 + f as u32))).collect();
    fx.set_input("Source", ClipSource::Still(source.clone()));
    fx.set_input("Matte", ClipSource::Frames(mattes.clone()));
    fx.set_frame_range(0.0, 7.0);
    let needed = fx.frames_needed(3.0).unwrap();
    assert!(needed.iter().any(|(clip, a, b)| clip == "Matte" && *a == 5.0 && *b == 5.0), "Matte needs frame 5 for frame 3: {needed:?}");
    let out = fx.render(3.0, &RenderOptions::default()).unwrap();
    check(&out, &source, Some(&mattes[&5]), bounds, &look);
}

#[test]
fn resolve_null_matte_warns_and_passes_the_source_through() {
    let bundle = load(HostProfile::Resolve);
    let mut fx = bundle.create_instance(ID, Context::General).unwrap();
    fx.set_param(lme::USE_MATTE_INPUT.name, ParamValue::Bool(true)).unwrap();
    let source = test_image(Rect::new(0, 0, 32, 18), BitDepth::F32, Components::Rgba, 4);
    fx.set_input("Source", ClipSource::Still(source.clone()));
    let out = fx.render(0.0, &RenderOptions::default()).expect("a NULL matte is not a failed render");
    for y in 0..18 {
        for x in 0..32 {
            assert_eq!(as_rgba(&out, x, y), as_rgba(&source, x, y), "source passes through untouched at ({x},{y})");
        }
    }
    let messages = fx.messages();
    assert!(
        messages.iter().any(|m| m.kind == MessageKind::Warning && m.text.contains("Use Matte Input") && m.text.contains("Matte input has no image")),
        "a clear warning reaches the host: {messages:?}"
    );
}

#[test]
fn eight_threads_render_the_same_pixels_as_one() {
    let bundle = load(HostProfile::Generic);
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    let frames: BTreeMap<i32, Image> = (0..16).map(|f| (f, test_image(Rect::new(0, 0, 96, 64), BitDepth::U16, Components::Rgba, f as u32))).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, 15.0);
    fx.set_key(lme::GAMMA.name, 0.0, ParamValue::Double(0.5)).unwrap();
    fx.set_key(lme::GAMMA.name, 15.0, ParamValue::Double(2.5)).unwrap();
    let one: Vec<Image> = (0..16).map(|f| fx.render(f as f64, &RenderOptions::default()).unwrap()).collect();
    let fx = &fx;
    let many: Vec<(usize, Image)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                s.spawn(move || {
                    (0..16).filter(|f| f % 8 == t).rev().map(|f| (f, fx.render(f as f64, &RenderOptions::default()).unwrap())).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(many.len(), 16);
    for (f, img) in many {
        for y in 0..64 {
            for x in 0..96 {
                for c in 0..4 {
                    assert_eq!(img.raw(x, y, c), one[f].raw(x, y, c), "frame {f} ({x},{y}) channel {c}");
                }
            }
        }
    }
}
