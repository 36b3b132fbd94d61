//! The host's pipeline checked against a mock plugin: a main entry in this test binary
//! that uses the host's suites exactly as a C plugin would (a gain on Source into
//! Output), recording what it saw so the tests can assert on the host's behaviour per
//! profile without the real bundle.

use crate::bundle::Bundle;
use crate::image::{BitDepth, Components, Image, Rect};
use crate::instance::ClipSource;
use crate::journal::{MessageKind, ProgressEvent};
use crate::params::ParamValue;
use crate::profile::HostProfile;
use crate::render::RenderOptions;
use crate::status::{self, OfxStatus};
use crate::suites;
use crate::{Context, HostError};
use openfx_sys as sys;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CStr};

extern "C" {
    fn ofxh_paramGetValue(h: sys::OfxParamHandle, ...) -> OfxStatus;
    fn ofxh_message(h: *mut c_void, kind: *const c_char, id: *const c_char, format: *const c_char, ...) -> OfxStatus;
}

/// What the mock saw, per thread (the host calls it on the test's thread).
#[derive(Clone, Debug, PartialEq)]
enum Seen {
    Action(String),
    /// (status of reading the Source depth) during CreateInstance.
    CreateSawSourceDepth(OfxStatus),
    Render {
        window: Rect,
        source: Option<(Rect, isize)>,
        source_connected: i32,
        output: (Rect, isize),
        /// The output image's `kOfxImageEffectPropPreMultiplication`.
        output_premult: String,
    },
    Changed {
        name: String,
        reason: String,
    },
    Progress {
        updates: Vec<OfxStatus>,
        abort: c_int,
    },
    Pen {
        x: f64,
        y: f64,
        effect_matches: bool,
    },
    Key {
        down: bool,
        sym: c_int,
        text: String,
    },
}

thread_local! {
    static SEEN: RefCell<Vec<Seen>> = const { RefCell::new(Vec::new()) };
}

fn seen() -> Vec<Seen> {
    SEEN.with(|s| s.borrow().clone())
}

fn record(s: Seen) {
    SEEN.with(|v| v.borrow_mut().push(s));
}

fn c(bytes: &[u8]) -> &CStr {
    CStr::from_bytes_with_nul(bytes).expect("NUL-terminated")
}

// Thin wrappers over the suites, as a C plugin would call them.
fn props() -> &'static sys::OfxPropertySuiteV1 {
    &suites::property::SUITE
}

fn fx() -> &'static sys::OfxImageEffectSuiteV1 {
    &suites::effect::SUITE
}

unsafe fn set_str(h: sys::OfxPropertySetHandle, name: &[u8], i: c_int, v: &CStr) {
    assert_eq!(unsafe { props().propSetString.unwrap()(h, c(name).as_ptr(), i, v.as_ptr()) }, status::OK);
}

unsafe fn set_dbl(h: sys::OfxPropertySetHandle, name: &[u8], v: f64) {
    assert_eq!(unsafe { props().propSetDouble.unwrap()(h, c(name).as_ptr(), 0, v) }, status::OK);
}

unsafe fn set_int(h: sys::OfxPropertySetHandle, name: &[u8], v: c_int) {
    assert_eq!(unsafe { props().propSetInt.unwrap()(h, c(name).as_ptr(), 0, v) }, status::OK);
}

unsafe fn get_int(h: sys::OfxPropertySetHandle, name: &[u8], i: c_int) -> c_int {
    let mut v = 0;
    assert_eq!(unsafe { props().propGetInt.unwrap()(h, c(name).as_ptr(), i, &mut v) }, status::OK);
    v
}

unsafe fn get_dbl(h: sys::OfxPropertySetHandle, name: &[u8]) -> f64 {
    let mut v = 0.0;
    assert_eq!(unsafe { props().propGetDouble.unwrap()(h, c(name).as_ptr(), 0, &mut v) }, status::OK);
    v
}

unsafe fn get_str(h: sys::OfxPropertySetHandle, name: &[u8]) -> String {
    let mut v: *mut c_char = std::ptr::null_mut();
    assert_eq!(unsafe { props().propGetString.unwrap()(h, c(name).as_ptr(), 0, &mut v) }, status::OK);
    unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned()
}

unsafe fn rect(h: sys::OfxPropertySetHandle, name: &[u8]) -> Rect {
    unsafe { Rect::new(get_int(h, name, 0), get_int(h, name, 1), get_int(h, name, 2), get_int(h, name, 3)) }
}

unsafe fn effect_props(e: sys::OfxImageEffectHandle) -> sys::OfxPropertySetHandle {
    let mut p = std::ptr::null_mut();
    assert_eq!(unsafe { fx().getPropertySet.unwrap()(e, &mut p) }, status::OK);
    p
}

unsafe fn param(e: sys::OfxImageEffectHandle, name: &CStr) -> sys::OfxParamHandle {
    let (mut set, mut h) = (std::ptr::null_mut(), std::ptr::null_mut());
    unsafe {
        fx().getParamSet.unwrap()(e, &mut set);
        assert_eq!(
            suites::param::SUITE.paramGetHandle.unwrap()(set, name.as_ptr(), &mut h, std::ptr::null_mut()),
            status::OK
        );
    }
    h
}

unsafe fn define_param(set: sys::OfxParamSetHandle, kind: &[u8], name: &CStr, range: Option<(f64, f64, f64)>) {
    let mut p = std::ptr::null_mut();
    unsafe {
        assert_eq!(suites::param::SUITE.paramDefine.unwrap()(set, c(kind).as_ptr(), name.as_ptr(), &mut p), status::OK);
        if let Some((default, lo, hi)) = range {
            let int = kind == sys::kOfxParamTypeInteger;
            for (key, v) in [
                (sys::kOfxParamPropDefault as &[u8], default),
                (sys::kOfxParamPropMin, lo),
                (sys::kOfxParamPropMax, hi),
                (sys::kOfxParamPropDisplayMin, lo),
                (sys::kOfxParamPropDisplayMax, hi),
            ] {
                if int {
                    set_int(p, key, v as c_int);
                } else {
                    set_dbl(p, key, v);
                }
            }
        }
    }
}

unsafe fn clip(e: sys::OfxImageEffectHandle, name: &CStr) -> sys::OfxImageClipHandle {
    let mut h = std::ptr::null_mut();
    assert_eq!(unsafe { fx().clipGetHandle.unwrap()(e, name.as_ptr(), &mut h, std::ptr::null_mut()) }, status::OK);
    h
}

unsafe fn describe_in_context(e: sys::OfxImageEffectHandle) {
    unsafe {
        for name in [c"Source", c"Output"] {
            let mut p = std::ptr::null_mut();
            assert_eq!(fx().clipDefine.unwrap()(e, name.as_ptr(), &mut p), status::OK);
            set_str(p, sys::kOfxImageEffectPropSupportedComponents, 0, c(sys::kOfxImageComponentRGBA));
        }
        let mut set = std::ptr::null_mut();
        fx().getParamSet.unwrap()(e, &mut set);
        define_param(set, sys::kOfxParamTypeDouble, c"gain", Some((1.0, 0.0, 4.0)));
        define_param(set, sys::kOfxParamTypeInteger, c"fetch_offset", Some((0.0, -10.0, 10.0)));
        define_param(set, sys::kOfxParamTypeBoolean, c"leak", None);
        define_param(set, sys::kOfxParamTypePushButton, c"run", None);
        let mut mode = std::ptr::null_mut();
        suites::param::SUITE.paramDefine.unwrap()(set, c(sys::kOfxParamTypeChoice).as_ptr(), c"mode".as_ptr(), &mut mode);
        set_str(mode, sys::kOfxParamPropChoiceOption, 0, c"Plain Gain");
        set_str(mode, sys::kOfxParamPropChoiceOption, 1, c"Doubled");
        set_str(mode, b"DeepMatteParamPropChoiceIds\0", 0, c"plain");
        set_str(mode, b"DeepMatteParamPropChoiceIds\0", 1, c"doubled");
        let mut hidden = std::ptr::null_mut();
        suites::param::SUITE.paramDefine.unwrap()(set, c(sys::kOfxParamTypeInteger).as_ptr(), c"hidden".as_ptr(), &mut hidden);
        set_int(hidden, sys::kOfxParamPropSecret, 1);
    }
}

/// out = gain × Source(time + fetch_offset) inside the render window (float RGBA only).
unsafe fn render(e: sys::OfxImageEffectHandle, in_args: sys::OfxPropertySetHandle) -> OfxStatus {
    unsafe {
        let time = get_dbl(in_args, sys::kOfxPropTime);
        let window = rect(in_args, sys::kOfxImageEffectPropRenderWindow);
        let (mut gain, mut offset, mut leak) = (0.0f64, 0 as c_int, 0 as c_int);
        ofxh_paramGetValue(param(e, c"gain"), &mut gain as *mut f64);
        ofxh_paramGetValue(param(e, c"fetch_offset"), &mut offset as *mut c_int);
        ofxh_paramGetValue(param(e, c"leak"), &mut leak as *mut c_int);
        let (src_clip, out_clip) = (clip(e, c"Source"), clip(e, c"Output"));
        let mut clip_props = std::ptr::null_mut();
        fx().clipGetPropertySet.unwrap()(src_clip, &mut clip_props);
        let source_connected = get_int(clip_props, sys::kOfxImageClipPropConnected, 0);
        let (mut src, mut out) = (std::ptr::null_mut(), std::ptr::null_mut());
        let have_source =
            fx().clipGetImage.unwrap()(src_clip, time + offset as f64, std::ptr::null(), &mut src) == status::OK;
        assert_eq!(fx().clipGetImage.unwrap()(out_clip, time, std::ptr::null(), &mut out), status::OK);
        let layout = |img| {
            let mut data = std::ptr::null_mut();
            props().propGetPointer.unwrap()(img, c(sys::kOfxImagePropData).as_ptr(), 0, &mut data);
            assert_eq!(get_str(img, sys::kOfxImageEffectPropPixelDepth), "OfxBitDepthFloat");
            assert_eq!(get_str(img, sys::kOfxImageEffectPropComponents), "OfxImageComponentRGBA");
            (data as *mut u8, rect(img, sys::kOfxImagePropBounds), get_int(img, sys::kOfxImagePropRowBytes, 0) as isize)
        };
        let (out_data, out_bounds, out_rb) = layout(out);
        let source = have_source.then(|| layout(src));
        let at = |(data, b, rb): (*mut u8, Rect, isize), x: i32, y: i32, ch: i32| {
            data.offset((y - b.y1) as isize * rb + ((x - b.x1) * 16 + ch * 4) as isize) as *mut f32
        };
        for y in window.y1..window.y2 {
            for x in window.x1..window.x2 {
                for ch in 0..4 {
                    let v = match source {
                        Some(s) if s.1.contains(x, y) => *at(s, x, y, ch) * gain as f32,
                        _ => 0.0,
                    };
                    *at((out_data, out_bounds, out_rb), x, y, ch) = v;
                }
            }
        }
        let output_premult = get_str(out, sys::kOfxImageEffectPropPreMultiplication);
        fx().clipReleaseImage.unwrap()(out);
        if have_source && leak == 0 {
            assert_eq!(fx().clipReleaseImage.unwrap()(src), status::OK);
            assert_eq!(fx().clipReleaseImage.unwrap()(src), status::ERR_BAD_HANDLE, "released twice");
        }
        record(Seen::Render {
            window,
            source: source.map(|s| (s.1, s.2)),
            source_connected,
            output: (out_bounds, out_rb),
            output_premult,
        });
        status::OK
    }
}

/// The "run" button: five progress updates, checking for abort.
unsafe fn run(e: sys::OfxImageEffectHandle) {
    let p = &suites::progress::SUITE_V1;
    unsafe {
        p.progressStart.unwrap()(e as *mut c_void, c"Running".as_ptr());
        let updates = (0..5).map(|i| p.progressUpdate.unwrap()(e as *mut c_void, i as f64 / 5.0)).collect();
        let abort = fx().abort.unwrap()(e);
        p.progressEnd.unwrap()(e as *mut c_void);
        record(Seen::Progress { updates, abort });
    }
}

unsafe extern "C" fn mock_entry(
    action: *const c_char,
    handle: *const c_void,
    in_args: sys::OfxPropertySetHandle,
    out_args: sys::OfxPropertySetHandle,
) -> OfxStatus {
    let e = handle as sys::OfxImageEffectHandle;
    let action = unsafe { CStr::from_ptr(action) }.to_bytes_with_nul();
    record(Seen::Action(crate::objects::ofx_str_dyn(action).to_string()));
    unsafe {
        if action == sys::kOfxActionDescribe {
            let p = effect_props(e);
            set_str(p, sys::kOfxImageEffectPropSupportedContexts, 0, c(sys::kOfxImageEffectContextFilter));
            set_str(p, sys::kOfxImageEffectPropSupportedContexts, 1, c(sys::kOfxImageEffectContextGeneral));
            set_str(p, sys::kOfxImageEffectPropSupportedPixelDepths, 0, c(sys::kOfxBitDepthFloat));
            set_str(p, sys::kOfxImageEffectPluginRenderThreadSafety, 0, c(sys::kOfxImageEffectRenderInstanceSafe));
            set_str(p, sys::kOfxPropLabel, 0, c"Mock Gain");
            let overlay = c(sys::kOfxImageEffectPluginPropOverlayInteractV1).as_ptr();
            assert_eq!(props().propSetPointer.unwrap()(p, overlay, 0, mock_interact as *mut c_void), status::OK);
        } else if action == sys::kOfxImageEffectActionDescribeInContext {
            describe_in_context(e);
        } else if action == sys::kOfxActionCreateInstance {
            let mut clip_props = std::ptr::null_mut();
            fx().clipGetPropertySet.unwrap()(clip(e, c"Source"), &mut clip_props);
            let mut depth: *mut c_char = std::ptr::null_mut();
            let st = props().propGetString.unwrap()(
                clip_props,
                c(sys::kOfxImageEffectPropPixelDepth).as_ptr(),
                0,
                &mut depth,
            );
            record(Seen::CreateSawSourceDepth(st));
            ofxh_message(
                e as *mut c_void,
                c"OfxMessageLog".as_ptr(),
                std::ptr::null(),
                c"created with gain %g".as_ptr(),
                1.0f64,
            );
        } else if action == sys::kOfxImageEffectActionGetClipPreferences {
            // Asks for a premultiplied output, which MLT overrides.
            set_str(out_args, sys::kOfxImageEffectPropPreMultiplication, 0, c(sys::kOfxImagePreMultiplied));
        } else if action == sys::kOfxImageEffectActionRender {
            return render(e, in_args);
        } else if action == sys::kOfxActionInstanceChanged {
            let name = get_str(in_args, sys::kOfxPropName);
            if name == "run" {
                run(e);
            }
            record(Seen::Changed { name, reason: get_str(in_args, sys::kOfxPropChangeReason) });
        } else {
            return status::REPLY_DEFAULT;
        }
    }
    status::OK
}

/// The overlay: draws a line and a label, takes pen-downs and key-downs.
unsafe extern "C" fn mock_interact(
    action: *const c_char,
    handle: *const c_void,
    in_args: sys::OfxPropertySetHandle,
    _out: sys::OfxPropertySetHandle,
) -> OfxStatus {
    let action = unsafe { CStr::from_ptr(action) }.to_bytes_with_nul();
    let draw = &suites::interact::DRAW_SUITE;
    unsafe {
        if action == sys::kOfxInteractActionDraw {
            let mut ctx = std::ptr::null_mut();
            props().propGetPointer.unwrap()(in_args, c(sys::kOfxInteractPropDrawContext).as_ptr(), 0, &mut ctx);
            let ctx = ctx as sys::OfxDrawContextHandle;
            let mut colour = sys::OfxRGBAColourF { r: 0.0, g: 0.0, b: 0.0, a: 0.0 };
            draw.getColour.unwrap()(ctx, sys::OfxStandardColour_kOfxStandardColourOverlayActive, &mut colour);
            draw.setColour.unwrap()(ctx, &colour);
            let points = [sys::OfxPointD { x: 1.0, y: 2.0 }, sys::OfxPointD { x: 3.0, y: 4.0 }];
            draw.draw.unwrap()(ctx, sys::OfxDrawPrimitive_kOfxDrawPrimitiveLines, points.as_ptr(), 2);
            draw.drawText.unwrap()(ctx, c"label".as_ptr(), &points[0], 1);
        } else if action == sys::kOfxInteractActionPenDown {
            let pos = |i| {
                let mut v = 0.0;
                props().propGetDouble.unwrap()(in_args, c(sys::kOfxInteractPropPenPosition).as_ptr(), i, &mut v);
                v
            };
            let mut interact_props = std::ptr::null_mut();
            let suite = &suites::interact::SUITE;
            suite.interactGetPropertySet.unwrap()(handle as _, &mut interact_props);
            let (mut mine, mut given) = (std::ptr::null_mut(), std::ptr::null_mut());
            props().propGetPointer.unwrap()(interact_props, c(sys::kOfxPropEffectInstance).as_ptr(), 0, &mut mine);
            props().propGetPointer.unwrap()(in_args, c(sys::kOfxPropEffectInstance).as_ptr(), 0, &mut given);
            record(Seen::Pen { x: pos(0), y: pos(1), effect_matches: !mine.is_null() && mine == given });
            suite.interactRedraw.unwrap()(handle as _);
        } else if action == sys::kOfxInteractActionKeyDown || action == sys::kOfxInteractActionKeyUp {
            let down = action == sys::kOfxInteractActionKeyDown;
            record(Seen::Key {
                down,
                sym: get_int(in_args, sys::kOfxPropKeySym, 0),
                text: get_str(in_args, sys::kOfxPropKeyString),
            });
            if !down {
                return status::REPLY_DEFAULT;
            }
        } else {
            return status::REPLY_DEFAULT;
        }
    }
    status::OK
}

const ID: &str = "org.test.MockGain";

fn bundle(profile: HostProfile) -> Bundle {
    Bundle::from_entry(mock_entry, ID, profile)
}

fn source(value: impl Fn(i32, i32, usize) -> f32) -> Image {
    Image::from_fn(Rect::from_size(8, 6), BitDepth::U8, Components::Rgba, value)
}

fn ramp(x: i32, y: i32, c: usize) -> f32 {
    (x * 10 + y * 3 + c as i32 * 20) as f32 / 255.0
}

fn renders() -> Vec<Seen> {
    seen().into_iter().filter(|s| matches!(s, Seen::Render { .. })).collect()
}

#[test]
fn generic_profile_runs_the_whole_pipeline_on_converted_inputs() {
    let b = bundle(HostProfile::Generic);
    let info = &b.plugins()[0];
    assert_eq!((info.short_name.as_str(), info.label.as_str()), ("mock-gain", "Mock Gain"));
    assert_eq!(b.resolve_id("MOCK-GAIN").unwrap(), ID);
    let err = b.resolve_id("nope").unwrap_err().to_string();
    assert!(err.contains("org.test.MockGain (mock-gain)"), "{err}");
    let d = b.describe(ID, Context::Filter).unwrap();
    assert_eq!(d.clips.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Source", "Output"]);
    assert_eq!(d.params[0].display_max, vec![4.0]);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    assert_eq!(fx.messages()[0].text, "created with gain 1");
    assert_eq!(fx.messages()[0].kind, MessageKind::Log);
    fx.set_input("Source", ClipSource::Still(source(ramp)));
    fx.set_param_text("gain", "0.5").unwrap();
    assert!(seen().contains(&Seen::Changed { name: "gain".into(), reason: "OfxChangeUserEdited".into() }));
    let out = fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!((out.bounds(), out.depth(), out.components()), (Rect::from_size(8, 6), BitDepth::F32, Components::Rgba));
    for (x, y, ch) in [(0, 0, 0), (7, 5, 3), (3, 2, 1)] {
        let want = (ramp(x, y, ch) * 255.0).round() / 255.0 * 0.5;
        assert!((out.get(x, y, ch) - want).abs() < 1e-6, "({x},{y},{ch})");
    }
    let actions: Vec<Seen> = seen().into_iter().filter(|s| matches!(s, Seen::Action(_))).collect();
    let order = [
        "OfxImageEffectActionBeginSequenceRender",
        "OfxImageEffectActionGetClipPreferences",
        "OfxImageEffectActionGetRegionOfDefinition",
        "OfxImageEffectActionIsIdentity",
        "OfxImageEffectActionGetRegionsOfInterest",
        "OfxImageEffectActionRender",
        "OfxImageEffectActionEndSequenceRender",
    ];
    let tail: Vec<Seen> = actions[actions.len() - order.len()..].to_vec();
    assert_eq!(tail, order.map(|a| Seen::Action(a.into())).to_vec());
    assert!(fx.warnings().is_empty(), "{:?}", fx.warnings());
}

#[test]
fn forced_offsets_negative_rows_windows_and_tiles_reach_the_plugin() {
    let b = bundle(HostProfile::Generic);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source(ramp)));
    let options = RenderOptions {
        window: Some(Rect::new(1, 1, 6, 5)),
        negative_row_bytes: true,
        bounds_offset: (100, -40),
        tiles: Some(2),
        ..RenderOptions::default()
    };
    let out = fx.render(0.0, &options).unwrap();
    assert_eq!(out.bounds(), Rect::new(100, -40, 108, -34), "the output covers the moved RoD");
    assert!(out.row_bytes() < 0);
    let window = Rect::new(101, -39, 106, -35);
    let r = renders();
    assert_eq!(r.len(), 2);
    for s in &r {
        let Seen::Render { window: w, source: Some((sb, srb)), output: (ob, orb), .. } = s else { panic!("{s:?}") };
        assert!(*srb < 0 && *orb < 0);
        assert_eq!(*ob, out.bounds(), "the render window is smaller than the output image");
        assert_eq!(w.intersect(&window), *w);
        assert_eq!(*sb, *w, "tiled renders get inputs cropped to the (default) RoI");
    }
    for y in out.bounds().y1..out.bounds().y2 {
        for x in out.bounds().x1..out.bounds().x2 {
            let want = if window.contains(x, y) { (ramp(x - 100, y + 40, 2) * 255.0).round() / 255.0 } else { 0.0 };
            assert!((out.get(x, y, 2) - want).abs() < 1e-6, "({x},{y})");
        }
    }
}

#[test]
fn nuke_renders_float_strips_and_scale_halves_the_images() {
    let b = bundle(HostProfile::Nuke);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source(ramp)));
    let out = fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(renders().len(), 4, "Nuke renders four strips");
    assert_eq!(out.get(7, 5, 0), (ramp(7, 5, 0) * 255.0).round() / 255.0);
    let half = fx
        .render(0.0, &RenderOptions { render_scale: (0.5, 0.5), tiles: Some(1), ..RenderOptions::default() })
        .unwrap();
    assert_eq!(half.bounds(), Rect::from_size(4, 3));
    assert_eq!(
        half.get(1, 1, 0),
        (ramp(3, 3, 0) * 255.0).round() / 255.0,
        "nearest neighbour: pixel centre 1.5 maps to 3"
    );
}

#[test]
fn resolve_reports_unset_clips_connected_but_hands_out_no_image() {
    for (profile, connected) in [(HostProfile::Resolve, 1), (HostProfile::Natron, 0)] {
        let b = bundle(profile);
        let fx = b.create_instance(ID, Context::Filter).unwrap();
        let out = fx.render(0.0, &RenderOptions::default()).unwrap();
        assert_eq!(out.bounds(), Rect::from_size(1920, 1080), "no input: the project size");
        let last = renders().pop().unwrap();
        let Seen::Render { source, source_connected, .. } = last else { unreachable!() };
        assert_eq!((source, source_connected), (None, connected), "{profile:?}");
    }
}

#[test]
fn mlt_cycles_every_frame_without_temporal_access_or_early_clip_formats() {
    let frames: BTreeMap<i32, Image> = (0..3).map(|f| (f, source(move |_, _, _| f as f32 * 0.25))).collect();
    for (profile, want) in [(HostProfile::Generic, 0.25), (HostProfile::Mlt, 0.0)] {
        let b = bundle(profile);
        let mut fx = b.create_instance(ID, Context::Filter).unwrap();
        fx.set_input("Source", ClipSource::Frames(frames.clone()));
        fx.set_param("fetch_offset", ParamValue::Int(1)).unwrap();
        SEEN.with(|s| s.borrow_mut().clear());
        let out = fx.render(0.0, &RenderOptions::default()).unwrap();
        assert!((out.get(0, 0, 0) - want).abs() < 1e-3, "{profile:?}: frame 1 asked for while rendering 0");
        let log = seen();
        let loads = log.iter().filter(|s| **s == Seen::Action("OfxActionLoad".into())).count();
        let unloads = log.iter().filter(|s| **s == Seen::Action("OfxActionUnload".into())).count();
        let early = log.iter().find_map(|s| match s {
            Seen::CreateSawSourceDepth(st) => Some(*st),
            _ => None,
        });
        if profile == HostProfile::Mlt {
            assert_eq!((loads, unloads), (0, 0), "MLT 7.41 loads once, with the bundle, and unloads at exit");
            let cycle = [
                "OfxActionDescribe",
                "OfxImageEffectActionDescribeInContext",
                "OfxActionCreateInstance",
                "OfxImageEffectActionRender",
                "OfxActionDestroyInstance",
            ];
            let per_frame: Vec<&str> = log
                .iter()
                .filter_map(|s| match s {
                    Seen::Action(a) if cycle.contains(&a.as_str()) => Some(a.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                per_frame,
                cycle,
                "one fresh instance per frame"
            );
            assert_eq!(early, Some(status::ERR_UNKNOWN), "clip depth unset during CreateInstance");
            assert!(out.row_bytes() < 0, "MLT images are bottom-up");
            assert!(matches!(fx.press("run", 0.0), Err(HostError::Unsupported(_))));
            assert!(fx.frames_needed(0.0).is_err());
        } else {
            assert_eq!((loads, unloads, early), (0, 0, None));
        }
    }
}

#[test]
fn mlt_sets_choices_by_label_drops_secrets_and_buttons_and_forces_straight_output() {
    for profile in [HostProfile::Generic, HostProfile::Mlt] {
        let b = bundle(profile);
        let mut fx = b.create_instance(ID, Context::Filter).unwrap();
        fx.set_input("Source", ClipSource::Still(source(ramp)));
        let mlt = profile == HostProfile::Mlt;
        fx.set_param_text("mode", "Doubled").unwrap();
        assert_eq!(fx.param_value("mode", 0.0).unwrap(), ParamValue::Choice(1), "{profile:?}: a label selects");
        fx.set_param_text("mode", "doubled").unwrap();
        let by_id = fx.param_value("mode", 0.0).unwrap();
        assert_eq!(by_id, ParamValue::Choice(if mlt { 0 } else { 1 }), "{profile:?}: MLT knows no ids: the default");
        let names: Vec<String> = fx.params().into_iter().map(|p| p.name).collect();
        assert_eq!(names.contains(&"hidden".to_string()), !mlt, "{profile:?}: {names:?}");
        assert_eq!(names.contains(&"run".to_string()), !mlt, "{profile:?}: {names:?}");
        let secret = fx.set_param("hidden", ParamValue::Int(3));
        assert_eq!(matches!(secret, Err(HostError::Unsupported(_))), mlt, "{profile:?}: {secret:?}");
        SEEN.with(|s| s.borrow_mut().clear());
        fx.set_param_text("gain", "2").unwrap();
        fx.render(0.0, &RenderOptions::default()).unwrap();
        let changed = seen().iter().filter(|s| matches!(s, Seen::Changed { .. })).count();
        assert_eq!(changed, if mlt { 0 } else { 1 }, "{profile:?}: MLT never sends InstanceChanged");
        let premult: Vec<String> = renders()
            .into_iter()
            .map(|s| match s {
                Seen::Render { output_premult, .. } => output_premult,
                _ => unreachable!(),
            })
            .collect();
        let want = crate::ofx_str(if mlt { sys::kOfxImageUnPreMultiplied } else { sys::kOfxImagePreMultiplied });
        assert_eq!(premult, vec![want.to_string()], "{profile:?}: the output's premultiplication");
    }
}

#[test]
fn leaked_images_are_freed_and_reported() {
    let b = bundle(HostProfile::Generic);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    fx.set_input("Source", ClipSource::Still(source(ramp)));
    fx.set_param("leak", ParamValue::Bool(true)).unwrap();
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert!(fx.warnings().iter().any(|w| w.contains("did not release 1 image")), "{:?}", fx.warnings());
}

#[test]
fn cancel_after_n_updates_answers_no_and_sets_abort() {
    let b = bundle(HostProfile::Generic);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    fx.cancel_after_progress_updates(Some(2));
    fx.press("run", 3.0).unwrap();
    let progress = seen().into_iter().find(|s| matches!(s, Seen::Progress { .. })).unwrap();
    let no = status::REPLY_NO;
    assert_eq!(progress, Seen::Progress { updates: vec![0, 0, no, no, no], abort: 1 });
    let events = fx.progress_events();
    assert_eq!(events.first(), Some(&ProgressEvent::Start("Running".into())));
    assert_eq!(events.last(), Some(&ProgressEvent::End));
    assert_eq!(events.len(), 7);
    assert!(matches!(fx.press("gain", 0.0), Err(HostError::WrongType { .. })));
}

#[test]
fn edits_are_checked_and_keyframes_interpolate() {
    let b = bundle(HostProfile::Generic);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    let err = fx.set_param("gain", ParamValue::Double(9.0)).unwrap_err();
    assert!(matches!(err, HostError::OutOfRange { .. }), "{err}");
    assert!(matches!(fx.set_param("gain", ParamValue::Int(1)), Err(HostError::WrongType { .. })));
    let err = fx.set_param("gian", ParamValue::Double(1.0)).unwrap_err().to_string();
    assert!(err.contains("gain, fetch_offset, leak, run"), "{err}");
    fx.set_key("gain", 0.0, ParamValue::Double(0.0)).unwrap();
    fx.set_key_text("gain", 10.0, "2").unwrap();
    assert_eq!(fx.param_value("gain", 2.5).unwrap(), ParamValue::Double(0.5));
    fx.set_input("Source", ClipSource::Still(source(|_, _, _| 1.0)));
    let out = fx.render(5.0, &RenderOptions::default()).unwrap();
    assert_eq!(out.get(0, 0, 0), 1.0, "the plugin reads the value at the render time");
}

#[test]
fn bad_handles_are_rejected_not_dereferenced() {
    let junk = 0x0F_0008usize as *mut c_void;
    let mut out = std::ptr::null_mut();
    // SAFETY: the suites must reject these handles without touching them.
    unsafe {
        assert_eq!(fx().getPropertySet.unwrap()(junk as _, &mut out), status::ERR_BAD_HANDLE);
        assert_eq!(fx().clipGetImage.unwrap()(junk as _, 0.0, std::ptr::null(), &mut out), status::ERR_BAD_HANDLE);
        assert!(out.is_null());
        assert_eq!(fx().clipReleaseImage.unwrap()(std::ptr::null_mut()), status::ERR_BAD_HANDLE);
        assert_eq!(fx().abort.unwrap()(std::ptr::null_mut()), 0);
        let mut v = 0;
        assert_eq!(props().propGetInt.unwrap()(junk as _, c"x".as_ptr(), 0, &mut v), status::ERR_BAD_HANDLE);
        assert_eq!(suites::memory::SUITE.memoryFree.unwrap()(junk), status::ERR_BAD_HANDLE);
        assert_eq!(suites::progress::SUITE_V1.progressUpdate.unwrap()(junk, 0.5), status::ERR_BAD_HANDLE);
    }
}

#[test]
fn instances_render_from_many_threads_at_once() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<crate::Instance>();
    send_sync::<Bundle>();
    let b = bundle(HostProfile::Natron);
    let mut fx = b.create_instance(ID, Context::General).unwrap();
    fx.set_input("Source", ClipSource::Still(source(ramp)));
    fx.set_param("gain", ParamValue::Double(2.0)).unwrap();
    assert_eq!(fx.frames_needed(3.0).unwrap(), vec![("Source".to_string(), 3.0, 3.0)]);
    let one = fx.render(0.0, &RenderOptions::default()).unwrap();
    let fx = &fx;
    let all: Vec<Image> = std::thread::scope(|s| {
        let handles: Vec<_> =
            (0..8).map(|i| s.spawn(move || fx.render(i as f64, &RenderOptions::default()).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for img in all {
        let b = img.bounds();
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                assert_eq!(img.raw(x, y, 1), one.raw(x, y, 1));
            }
        }
    }
    assert!(fx.warnings().is_empty(), "{:?}", fx.warnings());
}

#[test]
fn overlays_draw_through_the_draw_suite_and_get_pen_and_key_events() {
    use crate::overlay::{DrawCommand, DrawPrimitive, Modifiers};
    let b = bundle(HostProfile::Resolve);
    assert!(b.plugins()[0].has_overlay);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    let mut overlay = fx.overlay().expect("the mock has an overlay");
    let drawn = overlay.draw(2.0).unwrap();
    assert_eq!(
        drawn,
        vec![
            DrawCommand::Colour([1.0, 1.0, 0.0, 1.0]),
            DrawCommand::Draw { primitive: DrawPrimitive::Lines, points: vec![(1.0, 2.0), (3.0, 4.0)] },
            DrawCommand::Text { text: "label".into(), position: (1.0, 2.0), alignment: 1 },
        ]
    );
    SEEN.with(|s| s.borrow_mut().clear());
    assert!(overlay.pen_down(30.0, 40.0, 2.0, Modifiers::SHIFT).unwrap());
    assert!(!overlay.pen_up(30.0, 40.0, 2.0, Modifiers::NONE).unwrap(), "pen up is not handled");
    assert!(overlay.key_down(0x61).unwrap());
    let events: Vec<Seen> = seen().into_iter().filter(|s| !matches!(s, Seen::Action(_))).collect();
    let shift = sys::kOfxKey_Shift_L as c_int;
    assert_eq!(
        events,
        vec![
            Seen::Key { down: true, sym: shift, text: String::new() },
            Seen::Pen { x: 30.0, y: 40.0, effect_matches: true },
            Seen::Key { down: false, sym: shift, text: String::new() },
            Seen::Key { down: true, sym: 0x61, text: "a".into() },
        ]
    );
    assert_eq!(overlay.redraw_requests(), 1);
    drop(overlay);
    let mlt = bundle(HostProfile::Mlt);
    assert!(mlt.create_instance(ID, Context::Filter).unwrap().overlay().is_none(), "MLT draws no overlays");
}

#[test]
fn computed_sources_are_asked_once_per_render_and_time() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let b = bundle(HostProfile::Nuke);
    let mut fx = b.create_instance(ID, Context::Filter).unwrap();
    fx.set_input(
        "Source",
        ClipSource::Func(Arc::new(move |t| {
            counter.fetch_add(1, Ordering::SeqCst);
            (t >= 0.0).then(|| source(ramp))
        })),
    );
    let before = calls.load(Ordering::SeqCst);
    fx.render(0.0, &RenderOptions::default()).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst) - before, 1, "one decode for four strips, RoD and clip preferences");
    let out = fx.render(-1.0, &RenderOptions::default()).unwrap();
    assert_eq!(out.bounds(), Rect::from_size(1920, 1080), "no frame: the project size, rendered black");
}
