//! Depth Map through the built bundle with the project's stand-in depth models: closed-form
//! pixels, temporal stability, the depth cache, and every failure a user can meet.

mod common;

use common::{load, model_folder_with, model_runs};
use deepmatte_ofx::effects::depth_map_controls as dm;
use depth::standin::{exact_depth, EXACT_FILE, FLICKER_FILE, WRONG_NAMES_FILE};
use ofx_host::{BitDepth, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};
use std::collections::BTreeMap;

const ID: &str = "org.deepmatte.DepthMap";

/// The model-run counter is process-wide: tests in this binary take turns so one test's count
/// never includes another's inference.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
const MODEL: &str = "depth_anything_v2_small.onnx";

/// Four vertical bands, darkest (farthest for the exact stand-in) on the left.
const BANDS: [[f32; 3]; 4] = [[0.1, 0.1, 0.1], [0.3, 0.35, 0.3], [0.6, 0.6, 0.5], [0.9, 0.9, 0.8]];

fn band_of(x: i32, bounds: Rect) -> usize {
    ((x - bounds.x1) as usize * 4 / bounds.width()).min(3)
}

fn bands_image(bounds: Rect, depth: BitDepth, components: Components) -> Image {
    Image::from_fn(bounds, depth, components, |x, _, c| if c < 3 { BANDS[band_of(x, bounds)][c] } else { 1.0 })
}

/// Normalised depth of each band: the percentiles of a four-band frame are the outer bands.
fn normalised_bands() -> [f64; 4] {
    let d: Vec<f64> = BANDS.iter().map(|c| f64::from(exact_depth(*c))).collect();
    assert!(d.windows(2).all(|w| w[0] < w[1]), "bands get increasing depth: {d:?}");
    [0, 1, 2, 3].map(|i| (d[i] - d[0]) / (d[3] - d[0]))
}

#[derive(Clone, Copy, Debug)]
struct Look {
    far: f64,
    near: f64,
    gamma: f64,
    isolate: Option<(f64, f64, f64)>,
    invert: bool,
}

fn matte_reference(look: &Look, n: f64) -> f64 {
    let mut m = ((n - look.far) / (look.near - look.far)).clamp(0.0, 1.0).powf(1.0 / look.gamma);
    if let Some((target, tolerance, softness)) = look.isolate {
        let distance = (m - target).abs() - tolerance;
        m = if distance <= 0.0 { 1.0 } else if softness <= 0.0 { 0.0 } else { (1.0 - distance / softness).max(0.0) };
    }
    if look.invert {
        1.0 - m
    } else {
        m
    }
}

fn instance(profile: HostProfile, model_file: &str) -> (Instance, tempfile::TempDir) {
    let folder = model_folder_with(model_file, MODEL);
    let mut fx = load(profile).create_instance(ID, Context::Filter).unwrap();
    fx.set_param_text(dm::MODEL_FOLDER.name, folder.path().to_str().unwrap()).unwrap();
    (fx, folder)
}

fn apply(fx: &mut Instance, look: &Look) {
    fx.set_param(dm::FAR_LIMIT.name, ParamValue::Double(look.far)).unwrap();
    fx.set_param(dm::NEAR_LIMIT.name, ParamValue::Double(look.near)).unwrap();
    fx.set_param(dm::GAMMA.name, ParamValue::Double(look.gamma)).unwrap();
    fx.set_param(dm::ISOLATE.name, ParamValue::Bool(look.isolate.is_some())).unwrap();
    if let Some((t, tol, soft)) = look.isolate {
        fx.set_param(dm::TARGET_DEPTH.name, ParamValue::Double(t)).unwrap();
        fx.set_param(dm::TOLERANCE.name, ParamValue::Double(tol)).unwrap();
        fx.set_param(dm::SOFTNESS.name, ParamValue::Double(soft)).unwrap();
    }
    fx.set_param(dm::INVERT.name, ParamValue::Bool(look.invert)).unwrap();
}

/// Checks band interiors (3 pixels from band edges) of `out` against the reference.
fn check_bands(out: &Image, source: &Image, look: &Look, output: &str) {
    let n = normalised_bands();
    let b = out.bounds();
    let tol = match out.depth() {
        BitDepth::U8 => 1.0 / 255.0 + 1e-3,
        BitDepth::U16 => 1e-3,
        BitDepth::F32 => 1e-3,
    };
    let mut checked = 0;
    for y in b.y1..b.y2 {
        for x in b.x1..b.x2 {
            let band = band_of(x, b);
            if band != band_of(x - 3, b) || band != band_of(x + 3, b) {
                continue;
            }
            let (m, d) = (matte_reference(look, n[band]), matte_reference(&Look { isolate: None, invert: false, ..*look }, n[band]));
            let want = match output {
                "alpha" => [source.get(x, y, 0) as f64, source.get(x, y, 1) as f64, source.get(x, y, 2) as f64, m],
                "matte" => [m, m, m, 1.0],
                "depth" => [d, d, d, 1.0],
                other => panic!("{other}"),
            };
            for c in 0..4 {
                let got = out.get(x, y, c) as f64;
                assert!((got - want[c]).abs() <= tol, "({x},{y}) band {band} channel {c}: got {got}, want {} ({look:?}, {output})", want[c]);
            }
            checked += 1;
        }
    }
    assert!(checked > b.width() * b.height() / 2, "most pixels are band interiors");
}

#[test]
fn exact_standin_matches_the_closed_form_for_every_control() {
    let _turn = serial();
    let looks = [
        Look { far: 0.0, near: 1.0, gamma: 1.0, isolate: None, invert: false },
        Look { far: 0.2, near: 0.8, gamma: 1.8, isolate: None, invert: false },
        Look { far: 0.1, near: 0.9, gamma: 0.7, isolate: None, invert: true },
        Look { far: 0.0, near: 1.0, gamma: 1.0, isolate: Some((0.5, 0.1, 0.2)), invert: false },
        Look { far: 0.05, near: 0.95, gamma: 1.2, isolate: Some((0.3, 0.05, 0.0)), invert: true },
    ];
    let (mut fx, _models) = instance(HostProfile::Generic, EXACT_FILE);
    let bounds = Rect::new(0, 0, 160, 90);
    for (depth, components) in [(BitDepth::F32, Components::Rgba), (BitDepth::U16, Components::Rgb), (BitDepth::U8, Components::Rgba)] {
        let source = bands_image(bounds, depth, components);
        fx.set_input("Source", ClipSource::Still(source.clone()));
        for look in &looks {
            apply(&mut fx, look);
            for output in ["alpha", "matte", "depth"] {
                fx.set_param_text(dm::OUTPUT.name, output).unwrap();
                let out = fx.render(0.0, &RenderOptions::default()).unwrap();
                assert_eq!(out.depth(), depth);
                check_bands(&out, &source, look, output);
            }
        }
    }
    // Depth Map Preview shows the levelled depth whatever the output.
    fx.set_param_text(dm::OUTPUT.name, "alpha").unwrap();
    fx.set_param(dm::PREVIEW.name, ParamValue::Bool(true)).unwrap();
    let out = fx.render(0.0, &RenderOptions::default()).unwrap();
    let source = bands_image(bounds, BitDepth::U8, Components::Rgba);
    check_bands(&out, &source, looks.last().unwrap(), "depth");
}

#[test]
fn render_window_tiles_and_render_scale() {
    let _turn = serial();
    let look = Look { far: 0.1, near: 0.9, gamma: 1.5, isolate: None, invert: false };
    for profile in [HostProfile::Nuke, HostProfile::Natron] {
        let (mut fx, _models) = instance(profile, EXACT_FILE);
        apply(&mut fx, &look);
        fx.set_param_text(dm::OUTPUT.name, "matte").unwrap();
        let source = bands_image(Rect::new(0, 0, 200, 112), BitDepth::F32, Components::Rgba);
        fx.set_input("Source", ClipSource::Still(source.clone()));
        let full = fx.render(0.0, &RenderOptions::default()).unwrap();
        check_bands(&full, &source, &look, "matte");
        let half = fx.render(0.0, &RenderOptions { render_scale: (0.5, 0.5), ..RenderOptions::default() }).unwrap();
        assert_eq!((half.width(), half.height()), (100, 56));
        check_bands(&half, &source.scaled(0.5, 0.5), &look, "matte");
        let window = Rect::new(20, 10, 150, 90);
        let part = fx.render(0.0, &RenderOptions { window: Some(window), ..RenderOptions::default() }).unwrap();
        for y in window.y1..window.y2 {
            for x in window.x1..window.x2 {
                assert_eq!(part.get(x, y, 0), full.get(x, y, 0), "{profile:?} window pixel ({x},{y})");
            }
        }
    }
}

#[test]
fn changing_a_slider_runs_no_inference() {
    let _turn = serial();
    let (mut fx, _models) = instance(HostProfile::Generic, EXACT_FILE);
    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(false)).unwrap();
    // A frame no other test renders, so the first render must run the model.
    let source = Image::from_fn(Rect::new(0, 0, 96, 54), BitDepth::F32, Components::Rgba, |x, y, c| ((x * 3 + y * 5 + c as i32 * 7) % 97) as f32 / 97.0);
    fx.set_input("Source", ClipSource::Still(source));
    let before = model_runs();
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(model_runs(), before + 1, "the first render runs the model once");
    for far in [0.1, 0.2, 0.3] {
        fx.set_param(dm::FAR_LIMIT.name, ParamValue::Double(far)).unwrap();
        fx.render(0.0, &RenderOptions::default()).unwrap();
    }
    fx.set_param(dm::POST_PROCESSING.name, ParamValue::Bool(true)).unwrap();
    fx.set_param(dm::BLUR.name, ParamValue::Double(3.0)).unwrap();
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(model_runs(), before + 1, "slider changes re-render from the depth cache");
    let status = fx.param_value(dm::STATUS.name, 0.0).unwrap();
    assert!(matches!(&status, ParamValue::String(s) if s.starts_with("Model runs on CPU") && s.contains("CUDA")), "the backend and why not CUDA: {status:?}");
}

/// Mean absolute change of the matte between consecutive frames.
fn flicker(frames: &[Image]) -> f64 {
    let mut total = 0.0;
    let mut n = 0usize;
    for pair in frames.windows(2) {
        let b = pair[0].bounds();
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                total += (pair[0].get(x, y, 0) - pair[1].get(x, y, 0)).abs() as f64;
                n += 1;
            }
        }
    }
    total / n as f64
}

fn static_sequence(frames: i32) -> BTreeMap<i32, Image> {
    let bounds = Rect::new(0, 0, 112, 64);
    (0..frames)
        .map(|f| {
            let img = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
                let base = if c == 3 { 1.0 } else { 0.15 + 0.7 * (x as f32 / 112.0) * (0.6 + 0.4 * (y as f32 / 64.0)) };
                // Sensor noise: tiny, different on every frame.
                base + if c < 3 { 0.004 * common::noise(x, y, c, f as u32 + 1) } else { 0.0 }
            });
            (f, img)
        })
        .collect()
}

fn render_order(fx: &Instance, order: &[i32]) -> BTreeMap<i32, Image> {
    order.iter().map(|&f| (f, fx.render(f as f64, &RenderOptions::default()).unwrap())).collect()
}

#[test]
fn temporal_stability_cuts_flicker_and_ignores_render_order() {
    let _turn = serial();
    let (mut fx, _models) = instance(HostProfile::Generic, FLICKER_FILE);
    fx.set_param_text(dm::OUTPUT.name, "matte").unwrap();
    fx.set_input("Source", ClipSource::Frames(static_sequence(48)));
    fx.set_frame_range(0.0, 47.0);
    let forward: Vec<i32> = (0..48).collect();

    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(false)).unwrap();
    let off: Vec<Image> = render_order(&fx, &forward).into_values().collect();
    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(true)).unwrap();
    fx.set_param(dm::TEMPORAL_STRENGTH.name, ParamValue::Double(1.0)).unwrap();
    fx.set_param(dm::TEMPORAL_WINDOW.name, ParamValue::Int(3)).unwrap();
    let needed = fx.frames_needed(10.0).unwrap();
    assert!(needed.iter().any(|(c, a, b)| c == "Source" && *a == 7.0 && *b == 13.0), "window of ±3 frames: {needed:?}");
    let sequential = render_order(&fx, &forward);
    let on: Vec<Image> = sequential.values().cloned().collect();
    let (f_off, f_on) = (flicker(&off), flicker(&on));
    println!("matte flicker: off {f_off:.5}, on {f_on:.5}, cut {:.1} %", 100.0 * (1.0 - f_on / f_off));
    assert!(f_off > 0.005, "the flicker stand-in flickers ({f_off})");
    assert!(f_on <= 0.3 * f_off, "temporal stability cuts flicker by at least 70 %: {f_off} -> {f_on}");

    let reversed: Vec<i32> = forward.iter().rev().copied().collect();
    let shuffled: Vec<i32> = (0..48).map(|i| (i * 29 + 11) % 48).collect();
    for (name, order) in [("reversed", reversed), ("shuffled", shuffled)] {
        // Cold caches for every order: with the depth and finished-plane caches warm, any
        // order would get the first order's planes back and the check could not fail.
        fx.purge_caches().unwrap();
        let runs = model_runs();
        let again = render_order(&fx, &order);
        assert!(model_runs() - runs >= 48, "{name}: every frame's depth is estimated again after the purge ({} runs)", model_runs() - runs);
        for (f, img) in &again {
            let first = &sequential[f];
            let b = img.bounds();
            for y in b.y1..b.y2 {
                for x in b.x1..b.x2 {
                    assert_eq!(img.raw(x, y, 0), first.raw(x, y, 0), "{name} order changes frame {f} at ({x},{y})");
                }
            }
        }
    }
}

fn render_error(fx: &Instance) -> String {
    let err = fx.render(0.0, &RenderOptions::default()).expect_err("the render fails");
    let messages: Vec<String> = fx.messages().into_iter().map(|m| m.text).collect();
    format!("{err} | {}", messages.join(" | "))
}

#[test]
fn missing_bad_and_corrupt_models_give_specific_messages() {
    let _turn = serial();
    let bundle = load(HostProfile::Resolve);
    let source = bands_image(Rect::new(0, 0, 64, 36), BitDepth::F32, Components::Rgba);

    let empty = tempfile::tempdir().unwrap();
    let mut fx = bundle.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source.clone()));
    fx.set_param_text(dm::MODEL_FOLDER.name, empty.path().to_str().unwrap()).unwrap();
    let text = render_error(&fx);
    assert!(text.contains(MODEL) && text.contains("was not found") && text.contains("`deepmatte models install depth`"), "{text}");
    assert!(text.contains(&format!("{} (Model Folder)", empty.path().display())) && text.contains("Download Model"), "{text}");

    let wrong = model_folder_with(WRONG_NAMES_FILE, MODEL);
    fx.set_param_text(dm::MODEL_FOLDER.name, wrong.path().to_str().unwrap()).unwrap();
    let text = render_error(&fx);
    assert!(text.contains("does not match the Depth Anything V2 contract"), "{text}");

    let corrupt = tempfile::tempdir().unwrap();
    std::fs::write(corrupt.path().join(MODEL), (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect::<Vec<u8>>()).unwrap();
    fx.set_param_text(dm::MODEL_FOLDER.name, corrupt.path().to_str().unwrap()).unwrap();
    let text = render_error(&fx);
    assert!(text.contains("could not be read as an ONNX model"), "{text}");

    // Fixing the folder is enough: the next render works.
    let good = model_folder_with(EXACT_FILE, MODEL);
    fx.set_param_text(dm::MODEL_FOLDER.name, good.path().to_str().unwrap()).unwrap();
    fx.render(0.0, &RenderOptions::default()).expect("renders once the model is there");
}

/// Channel `c` of an image as a top-down grid.
fn grid_of(img: &Image, c: usize) -> common::reference::Grid {
    let b = img.bounds();
    let data = (0..b.height() as i32).flat_map(|row| (b.x1..b.x2).map(move |x| (x, b.y2 - 1 - row))).map(|(x, y)| f64::from(img.get(x, y, c))).collect();
    common::reference::Grid { width: b.width(), height: b.height(), data }
}

#[test]
fn map_finesse_matches_a_brute_force_reference() {
    use common::reference::{finesse, luma709, Grid};
    let _turn = serial();
    let (mut fx, _models) = instance(HostProfile::Generic, EXACT_FILE);
    fx.set_param_text(dm::OUTPUT.name, "matte").unwrap();
    // Bands plus a diagonal edge and noise, so every pass has edges and texture to act on.
    let bounds = Rect::new(0, 0, 96, 54);
    let source = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
        if c == 3 {
            return 1.0;
        }
        let band = BANDS[band_of(x, bounds)][c];
        if x + y > 70 { band * 0.6 + 0.05 * common::noise(x, y, c, 9) } else { band }
    });
    fx.set_input("Source", ClipSource::Still(source.clone()));
    apply(&mut fx, &Look { far: 0.0, near: 1.0, gamma: 1.0, isolate: Some((0.6, 0.1, 0.1)), invert: false });
    let plain = grid_of(&fx.render(0.0, &RenderOptions::default()).unwrap(), 0);
    let luma = {
        let g = |c| grid_of(&source, c);
        let (r, gr, b) = (g(0), g(1), g(2));
        Grid { data: (0..r.data.len()).map(|i| luma709([r.data[i], gr.data[i], b.data[i]])).collect(), ..r }
    };
    fx.set_param(dm::POST_PROCESSING.name, ParamValue::Bool(true)).unwrap();
    for (expand, blur, edge) in [(3.0, 0.0, 0.0), (-2.5, 0.0, 0.0), (0.0, 6.0, 0.0), (0.0, 0.0, 4.0), (3.0, 4.0, 5.0)] {
        fx.set_param(dm::EXPAND_CONTRACT.name, ParamValue::Double(expand)).unwrap();
        fx.set_param(dm::BLUR.name, ParamValue::Double(blur)).unwrap();
        fx.set_param(dm::POST_FILTER.name, ParamValue::Double(edge)).unwrap();
        let refined = grid_of(&fx.render(0.0, &RenderOptions::default()).unwrap(), 0);
        let want = finesse(&plain, &luma, expand, blur, edge);
        let worst = want.data.iter().zip(&refined.data).map(|(a, b)| (a - b).abs()).fold(0.0f64, f64::max);
        let moved = want.data.iter().zip(&plain.data).map(|(a, b)| (a - b).abs()).fold(0.0f64, f64::max);
        println!("Map Finesse ({expand}, {blur}, {edge}): worst difference from the brute-force reference {worst:.2e}");
        assert!(worst < 1e-4, "expand {expand}, blur {blur}, post filter {edge}: the bundle differs from the reference by {worst}");
        assert!(moved > 0.05, "the refinement changes the matte ({moved})");
    }
}

#[test]
fn mlt_renders_frame_after_frame_without_neighbours_and_says_so() {
    let _turn = serial();
    // MLT reloads the plugin around every frame and has no temporal access: the model and its
    // cache live at process level, and Temporal Stability turns itself off with a message.
    let (mut fx, _models) = instance(HostProfile::Mlt, EXACT_FILE);
    fx.set_param_text(dm::OUTPUT.name, "Matte").unwrap();
    let source = bands_image(Rect::new(0, 0, 96, 54), BitDepth::U8, Components::Rgba);
    let frames: BTreeMap<i32, Image> = (0..3).map(|f| (f, source.clone())).collect();
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(0.0, 2.0);
    let before = model_runs();
    for f in 0..3 {
        let out = fx.render(f64::from(f), &RenderOptions::default()).unwrap();
        check_bands(&out, &source, &Look { far: 0.0, near: 1.0, gamma: 1.0, isolate: None, invert: false }, "matte");
    }
    assert!(model_runs() <= before + 1, "one model run for three identical frames across reloads");
    let messages: Vec<String> = fx.messages().into_iter().map(|m| m.text).collect();
    assert!(messages.iter().any(|m| m.contains("no access to neighbouring frames")), "{messages:?}");
}

/// The sRGB encoding (IEC 61966-2-1) in double precision, of a value clamped to [0, 1].
fn srgb(linear: f64) -> f64 {
    let x = linear.clamp(0.0, 1.0);
    if x < 0.003_130_8 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

/// ACEScg to linear Rec.709, white adapted with Bradford (colour-science's `RGB_to_RGB`).
const ACESCG_TO_REC709: [[f64; 3]; 3] =
    [[1.705_050_992_7, -0.621_792_120_7, -0.083_258_872_0], [-0.130_256_417_5, 1.140_804_736_6, -0.010_548_319_1], [-0.024_003_356_8, -0.128_968_976_1, 1.152_972_332_9]];

/// A scene-linear frame: ramps across and down, each channel its own, with highlights above 1 and
/// a few negative values (as float plates have).
fn linear_plate(bounds: Rect, seed: f64) -> Image {
    Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
        let (u, v) = (f64::from(x) / f64::from(bounds.x2 - 1), f64::from(y) / f64::from(bounds.y2 - 1));
        let value = match c {
            0 => 1.6 * u * u - 0.05 + seed,
            1 => 0.02 + 0.7 * u * v,
            2 => 0.4 * (1.0 - v) + 0.01 * u,
            _ => 1.0,
        };
        value as f32
    })
}

/// `image` with every pixel's RGB replaced by `f(rgb)` (alpha kept).
fn mapped(image: &Image, f: impl Fn([f64; 3]) -> [f64; 3]) -> Image {
    Image::from_fn(image.bounds(), image.depth(), image.components(), |x, y, c| {
        if c == 3 {
            return image.get(x, y, 3);
        }
        let rgb = [0, 1, 2].map(|k| f64::from(image.get(x, y, k)));
        f(rgb)[c] as f32
    })
}

fn largest_difference(a: &Image, b: &Image) -> f64 {
    let bounds = a.bounds();
    let mut worst = 0.0f64;
    for y in bounds.y1..bounds.y2 {
        for x in bounds.x1..bounds.x2 {
            for c in 0..4 {
                worst = worst.max((f64::from(a.get(x, y, c)) - f64::from(b.get(x, y, c))).abs());
            }
        }
    }
    worst
}

fn render_as(fx: &mut Instance, source: &Image, colour: &str) -> Image {
    fx.set_input("Source", ClipSource::Still(source.clone()));
    fx.set_param_text(dm::SOURCE_COLOUR.name, colour).unwrap();
    fx.render(0.0, &RenderOptions::default()).unwrap()
}

#[test]
fn scene_linear_sources_reach_the_model_encoded_to_srgb() {
    let _turn = serial();
    let (mut fx, _models) = instance(HostProfile::Generic, EXACT_FILE);
    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(false)).unwrap();
    fx.set_param_text(dm::OUTPUT.name, "matte").unwrap();
    let plate = linear_plate(Rect::new(0, 0, 128, 72), 0.0);
    let encoded = mapped(&plate, |rgb| rgb.map(srgb));
    let as_linear = render_as(&mut fx, &plate, "linear");
    let as_display = render_as(&mut fx, &plate, "display");
    let pre_encoded = render_as(&mut fx, &encoded, "display");
    // The same network input up to the f32 powf's rounding against f64's (about 1e-7).
    let same = largest_difference(&as_linear, &pre_encoded);
    let wrong = largest_difference(&as_linear, &as_display);
    println!("linear plate marked linear vs pre-encoded: {same:e}; vs marked display: {wrong:.4}");
    assert!(same <= 1e-4, "a linear plate marked linear renders as the same plate encoded to sRGB ({same})");
    assert!(wrong >= 0.05, "marking a linear plate display-referred gives another depth ({wrong})");

    let acescg = linear_plate(Rect::new(0, 0, 128, 72), 0.01);
    let encoded = mapped(&acescg, |rgb| ACESCG_TO_REC709.map(|row| srgb(row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2])));
    let as_acescg = render_as(&mut fx, &acescg, "acescg");
    let same = largest_difference(&as_acescg, &render_as(&mut fx, &encoded, "display"));
    let not_linear = largest_difference(&as_acescg, &render_as(&mut fx, &acescg, "linear"));
    println!("ACEScg plate marked acescg vs converted and encoded: {same:e}; vs marked linear: {not_linear:.4}");
    assert!(same <= 1e-4, "an ACEScg plate is converted to Rec.709 primaries, then encoded ({same})");
    assert!(not_linear >= 0.01, "ACEScg is not taken for linear Rec.709 ({not_linear})");

    // The source's pixels are not changed: Alpha over source keeps its colour exactly.
    fx.set_param_text(dm::OUTPUT.name, "alpha").unwrap();
    let out = render_as(&mut fx, &plate, "linear");
    let b = plate.bounds();
    for (x, y) in [(0, 0), (b.x2 - 1, b.y2 - 1), (40, 30)] {
        for c in 0..3 {
            assert_eq!(out.get(x, y, c).to_bits(), plate.get(x, y, c).to_bits(), "({x},{y}) channel {c}");
        }
    }
}

#[test]
fn a_source_colour_change_runs_the_model_once_and_other_sliders_none() {
    let _turn = serial();
    let (mut fx, _models) = instance(HostProfile::Generic, EXACT_FILE);
    fx.set_param(dm::TEMPORAL_STABILITY.name, ParamValue::Bool(false)).unwrap();
    // A frame no other test renders.
    let plate = linear_plate(Rect::new(0, 0, 90, 50), 0.123);
    fx.set_input("Source", ClipSource::Still(plate));
    let render = |fx: &Instance| fx.render(0.0, &RenderOptions::default()).unwrap();
    let before = model_runs();
    render(&fx);
    assert_eq!(model_runs(), before + 1, "the first render runs the model");
    fx.set_param_text(dm::SOURCE_COLOUR.name, "linear").unwrap();
    render(&fx);
    render(&fx);
    assert_eq!(model_runs(), before + 2, "a new Source Colour runs the model once");
    fx.set_param(dm::FAR_LIMIT.name, ParamValue::Double(0.2)).unwrap();
    fx.set_param(dm::GAMMA.name, ParamValue::Double(1.5)).unwrap();
    render(&fx);
    assert_eq!(model_runs(), before + 2, "other sliders re-render from the depth cache");
    fx.set_param_text(dm::SOURCE_COLOUR.name, "display").unwrap();
    render(&fx);
    assert_eq!(model_runs(), before + 2, "each Source Colour's depth stays cached");
}
