//! The CUDA render path through the built bundle, as far as this machine allows.
//!
//! Without a driver (CI): no effect declares CUDA render, the `resolve-cuda` profile refuses to
//! load with a reason, and Luma Matte Extract renders on the CPU under Resolve. A stand-in
//! `libcuda.so.1` whose `cuInit` fails (built here, found through `LD_LIBRARY_PATH` by a child
//! process) changes none of that and crashes nothing. On a machine with a CUDA device the GPU test
//! renders Luma Matte Extract through `resolve-cuda` and compares it with the CPU render; here it
//! writes its skip line. Depth Map likewise: without a driver it declares no CUDA render, renders
//! on the CPU under Resolve and says why in its Status; its GPU test (CUDA render through
//! `resolve-cuda` against the CPU render) skips loudly here. Magic Mask too, for a stored mask:
//! without a driver it declares no CUDA render and renders the mask on the CPU under Resolve; its
//! GPU test renders each view through `resolve-cuda` against the CPU render, and checks that a
//! frame Track on Render would track goes back to the CPU.

mod common;

use std::process::Command;

use common::{bundle_path, load, model_folder_with, test_image};
use ofx_host::{BitDepth, Bundle, ClipSource, Components, Context, HostProfile, Image, Instance, ParamValue, Rect, RenderOptions};

const LME: &str = "org.deepmatte.LumaMatteExtract";
const DEPTH_MAP: &str = "org.deepmatte.DepthMap";
const MAGIC_MASK: &str = "org.deepmatte.MagicMask";

fn skip(test: &str, reason: &str) {
    let line = format!("{test}: {reason}\n");
    eprintln!("SKIPPED (loudly) {line}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// Whether this machine has a CUDA driver library at all.
fn has_driver() -> bool {
    gpu::device::driver_present()
}

/// A Luma Matte Extract render with offset bounds and a non-default look, on `profile`.
fn render_lme(bundle: &Bundle) -> ofx_host::Image {
    let mut fx = bundle.create_instance(LME, Context::Filter).unwrap();
    fx.set_param_text("channel", "luma2020").unwrap();
    fx.set_param("black_clip", ParamValue::Double(0.1)).unwrap();
    fx.set_param("gamma", ParamValue::Double(1.7)).unwrap();
    fx.set_input("Source", ClipSource::Still(test_image(Rect::new(-7, 3, 250, 144), BitDepth::F32, Components::Rgba, 4)));
    fx.render(0.0, &RenderOptions::default()).unwrap()
}

/// Run as a child with the stand-in driver on the library path: what the plugin declared and
/// whether a render works, on one line.
#[test]
fn child_report() {
    if std::env::var_os("DEEPMATTE_CUDA_CHILD").is_none() {
        return;
    }
    let bundle = load(HostProfile::Resolve);
    let declared: Vec<String> = bundle.plugins().iter().filter(|p| p.cuda_render).map(|p| p.id.clone()).collect();
    let out = render_lme(&bundle);
    let cuda = Bundle::load(&bundle_path(), HostProfile::ResolveCuda).err().map(|e| e.to_string());
    println!("REPORT declared={declared:?} rendered={} resolve_cuda={cuda:?}", out.width());
}

#[test]
fn without_a_driver_nothing_declares_cuda_and_resolve_cuda_says_why() {
    if has_driver() {
        return skip("cuda_render::without_a_driver_nothing_declares_cuda_and_resolve_cuda_says_why", "this machine has a CUDA driver");
    }
    let bundle = load(HostProfile::Resolve);
    assert!(bundle.plugins().iter().all(|p| !p.cuda_render), "no CUDA render declared without a driver");
    let out = render_lme(&bundle);
    assert_eq!((out.width(), out.height()), (257, 141), "rendered on the CPU");
    let err = Bundle::load(&bundle_path(), HostProfile::ResolveCuda).err().expect("resolve-cuda needs a device").to_string();
    assert!(err.contains("needs a CUDA device") && err.contains("no CUDA driver"), "{err}");
}

#[test]
fn a_stand_in_driver_whose_cuinit_fails_changes_nothing() {
    if has_driver() {
        return skip("cuda_render::a_stand_in_driver_whose_cuinit_fails_changes_nothing", "this machine has a real CUDA driver");
    }
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("standin.c");
    std::fs::write(&c, "int cuInit(unsigned int flags) { (void)flags; return 100; /* CUDA_ERROR_NO_DEVICE */ }\n").unwrap();
    let lib = dir.path().join("libcuda.so.1");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-Wl,-soname,libcuda.so.1", "-o"])
        .arg(&lib)
        .arg(&c)
        .status()
        .expect("a C compiler");
    assert!(status.success());
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_report", "--nocapture", "--test-threads=1"])
        .env("DEEPMATTE_CUDA_CHILD", "1")
        .env("LD_LIBRARY_PATH", dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(out.status.success(), "the child crashed: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("REPORT declared=[] rendered=257"), "{text}");
    assert!(text.contains("needs a CUDA device") && text.contains("CUDA_ERROR_NO_DEVICE"), "{text}");
}

/// GPU test: Luma Matte Extract rendered on CUDA through `resolve-cuda` equals the CPU render
/// (within 1e-5: powf on the device may differ by an ulp), with no frame copied by the plugin.
#[test]
fn gpu_luma_matte_extract_on_cuda_equals_the_cpu() {
    let Ok(cuda) = Bundle::load(&bundle_path(), HostProfile::ResolveCuda) else {
        return skip("cuda_render::gpu_luma_matte_extract_on_cuda_equals_the_cpu", "no CUDA device on this machine (GPU test not run)");
    };
    assert!(cuda.plugins().iter().any(|p| p.id == LME && p.cuda_render), "the self-test passed, so LME declares CUDA render: {:?}", cuda.messages());
    let copies = || ofx_host::plugin_counter(&bundle_path(), "DeepMatteCudaFrameCopies").unwrap();
    let before = copies();
    let started = std::time::Instant::now();
    let gpu = render_lme(&cuda);
    let gpu_time = started.elapsed();
    let after = copies();
    let started = std::time::Instant::now();
    let cpu = render_lme(&load(HostProfile::Resolve));
    println!("LME 257x141: CUDA render {:.2} ms (incl. host upload/readback), CPU {:.2} ms, plugin frame copies {}", gpu_time.as_secs_f64() * 1e3, started.elapsed().as_secs_f64() * 1e3, after - before);
    assert_eq!(after - before, 0, "the plugin copied no frame");
    let b = cpu.bounds();
    for y in b.y1..b.y2 {
        for x in b.x1..b.x2 {
            for c in 0..4 {
                let (g, w) = (gpu.get(x, y, c), cpu.get(x, y, c));
                assert!((g - w).abs() <= 1e-5, "({x},{y}) channel {c}: CUDA {g}, CPU {w}");
            }
        }
    }
}

#[test]
fn the_binary_is_stamped_with_the_kernels_it_carries() {
    // build.rs hashes the kernel files itself; gpu hashes the sources it compiles in.
    assert!(deepmatte_ofx::BUILD.contains(gpu::kernels::source_hash()), "{} vs {}", deepmatte_ofx::BUILD, gpu::kernels::source_hash());
    assert!(deepmatte_ofx::BUILD.starts_with(env!("CARGO_PKG_VERSION")));
}

/// A Depth Map render of a smooth image with offset bounds (the exact stand-in model, Temporal
/// Stability off so the whole render may run on CUDA), with levels, Isolate and Blur set, on `bundle`.
fn render_depth_map(bundle: &Bundle, output: &str) -> (Image, String) {
    let folder = model_folder_with(depth::standin::EXACT_FILE, depth::FILE);
    let mut fx = bundle.create_instance(DEPTH_MAP, Context::Filter).unwrap();
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    fx.set_param("gamma", ParamValue::Double(1.4)).unwrap();
    fx.set_param("far_limit", ParamValue::Double(0.1)).unwrap();
    fx.set_param("isolate", ParamValue::Bool(true)).unwrap();
    fx.set_param("post_processing", ParamValue::Bool(true)).unwrap();
    fx.set_param("blur", ParamValue::Double(3.0)).unwrap();
    fx.set_param_text("output", output).unwrap();
    let bounds = Rect::new(-5, 7, 315, 187);
    let source = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
        let (u, v) = ((x - bounds.x1) as f32 / 320.0, (y - bounds.y1) as f32 / 180.0);
        [0.15 + 0.7 * u, 0.2 + 0.5 * v, 0.6 - 0.4 * u * v, 1.0][c]
    });
    fx.set_input("Source", ClipSource::Still(source));
    let out = fx.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{e}: {:?}", fx.messages()));
    let status = match fx.param_value("status", 0.0).unwrap() {
        ParamValue::String(s) => s,
        other => panic!("{other:?}"),
    };
    drop(folder);
    (out, status)
}

#[test]
fn without_a_driver_depth_map_declares_no_cuda_renders_on_the_cpu_under_resolve_and_says_why() {
    if has_driver() {
        return skip("cuda_render::without_a_driver_depth_map_declares_no_cuda_renders_on_the_cpu_under_resolve_and_says_why", "this machine has a CUDA driver");
    }
    let resolve = load(HostProfile::Resolve);
    let info = resolve.plugins().iter().find(|p| p.id == DEPTH_MAP).expect("Depth Map is in the bundle").clone();
    assert!(!info.cuda_render, "no CUDA render declared without a driver");
    let (cpu, status) = render_depth_map(&resolve, "matte");
    let (generic, _) = render_depth_map(&load(HostProfile::Generic), "matte");
    assert_eq!((cpu.width(), cpu.height()), (320, 180));
    let b = cpu.bounds();
    let mut spread = (f32::INFINITY, f32::NEG_INFINITY);
    for y in b.y1..b.y2 {
        for x in b.x1..b.x2 {
            let v = cpu.get(x, y, 0);
            assert_eq!(v, generic.get(x, y, 0), "({x},{y}): Resolve renders Depth Map as any CPU host");
            spread = (spread.0.min(v), spread.1.max(v));
        }
    }
    assert!(spread.1 - spread.0 > 0.5, "a real matte, not a flat frame: {spread:?}");
    println!("Status: {status}");
    assert!(status.contains("CPU: no CUDA driver"), "the Status says why the CPU renders: {status}");
}

/// GPU test: Depth Map rendered on CUDA through `resolve-cuda` (device images, the model on ONNX
/// Runtime's CUDA provider) against the CPU render of the same frame, with no frame copied by the
/// plugin. Tolerance: the CUDA path normalises from a 2/98 % histogram of the frame-size plane
/// (imaging::depth::histogram_range), the CPU path from exact percentiles at model size, so the
/// mattes agree to 0.03 per pixel and 0.005 on average, not bit for bit.
#[test]
fn gpu_depth_map_on_cuda_equals_the_cpu() {
    const NAME: &str = "cuda_render::gpu_depth_map_on_cuda_equals_the_cpu";
    let Ok(cuda) = Bundle::load(&bundle_path(), HostProfile::ResolveCuda) else {
        return skip(NAME, "no CUDA device on this machine (GPU test not run)");
    };
    if !cuda.plugins().iter().any(|p| p.id == DEPTH_MAP && p.cuda_render) {
        let (_, status) = render_depth_map(&cuda, "matte");
        return skip(NAME, &format!("Depth Map declares no CUDA render here (GPU test not run): {status}"));
    }
    let copies = || ofx_host::plugin_counter(&bundle_path(), "DeepMatteCudaFrameCopies").unwrap();
    for output in ["alpha", "matte", "depth"] {
        let before = copies();
        let started = std::time::Instant::now();
        let (gpu, status) = render_depth_map(&cuda, output);
        let gpu_time = started.elapsed();
        let after = copies();
        let (cpu, _) = render_depth_map(&load(HostProfile::Resolve), output);
        println!("Depth Map {output} 320x180 on CUDA: {:.2} ms (first render includes the session build), plugin frame copies {}; {status}", gpu_time.as_secs_f64() * 1e3, after - before);
        assert_eq!(after - before, 0, "the plugin copied no frame");
        assert!(status.contains("model CUDA"), "{status}");
        let b = cpu.bounds();
        let (mut worst, mut total, mut n) = (0.0f32, 0.0f64, 0usize);
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                for c in 0..4 {
                    let d = (gpu.get(x, y, c) - cpu.get(x, y, c)).abs();
                    worst = worst.max(d);
                    total += f64::from(d);
                    n += 1;
                }
            }
        }
        println!("  CUDA vs CPU: max difference {worst:.5}, mean {:.6}", total / n as f64);
        assert!(worst <= 0.03 && total / (n as f64) <= 0.005, "{output}: max {worst}, mean {}", total / n as f64);
    }
}

/// The `resolve-cuda` bundle when Depth Map renders on CUDA here, else None after the skip line.
fn depth_map_on_cuda(test: &str) -> Option<Bundle> {
    let Ok(cuda) = Bundle::load(&bundle_path(), HostProfile::ResolveCuda) else {
        skip(test, "no CUDA device on this machine (GPU test not run)");
        return None;
    };
    if !cuda.plugins().iter().any(|p| p.id == DEPTH_MAP && p.cuda_render) {
        skip(test, "Depth Map declares no CUDA render here (GPU test not run)");
        return None;
    }
    Some(cuda)
}

/// GPU test: the CUDA path's depth cache. A second render of the same frame with another look
/// (Gamma, Output) runs no model, a changed frame runs it once, and going back to the first frame
/// finds it again; no frame is copied between host and device for any of it.
#[test]
fn gpu_depth_map_slider_changes_on_cuda_run_no_model() {
    const NAME: &str = "cuda_render::gpu_depth_map_slider_changes_on_cuda_run_no_model";
    let Some(cuda) = depth_map_on_cuda(NAME) else { return };
    let counter = |name: &str| ofx_host::plugin_counter(&bundle_path(), name).unwrap();
    let folder = model_folder_with(depth::standin::EXACT_FILE, depth::FILE);
    let mut fx = cuda.create_instance(DEPTH_MAP, Context::Filter).unwrap();
    fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
    fx.set_param("temporal_stability", ParamValue::Bool(false)).unwrap();
    let frame = |shift: f32| {
        let bounds = Rect::new(0, 0, 300, 170);
        Image::from_fn(bounds, BitDepth::F32, Components::Rgba, move |x, y, c| [0.1 + x as f32 / 400.0 + shift, 0.2 + y as f32 / 300.0, 0.5, 1.0][c])
    };
    let (runs, copies) = (counter("DeepMatteModelRuns"), counter("DeepMatteCudaFrameCopies"));
    let render = |fx: &mut ofx_host::Instance, what: &str| {
        let before = counter("DeepMatteModelRuns");
        let out = fx.render(0.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}: {:?}", fx.messages()));
        let ran = counter("DeepMatteModelRuns") - before;
        println!("Depth Map on CUDA, {what}: model runs {ran}");
        (out, ran)
    };
    fx.set_input("Source", ClipSource::Still(frame(0.0)));
    assert_eq!(render(&mut fx, "first render").1, 1);
    fx.set_param("gamma", ParamValue::Double(1.6)).unwrap();
    assert_eq!(render(&mut fx, "Gamma changed").1, 0, "a slider change re-renders from the cached depth");
    fx.set_param_text("output", "depth").unwrap();
    let (depth_view, ran) = render(&mut fx, "Output changed");
    assert_eq!(ran, 0);
    fx.set_input("Source", ClipSource::Still(frame(0.2)));
    let (_, ran) = render(&mut fx, "another frame");
    assert_eq!(ran, 1, "new pixels run the model");
    fx.set_input("Source", ClipSource::Still(frame(0.0)));
    let (again, ran) = render(&mut fx, "the first frame again");
    assert_eq!(ran, 0, "found again by its fingerprint");
    assert_eq!(again.get(150, 80, 0), depth_view.get(150, 80, 0));
    assert_eq!(counter("DeepMatteCudaFrameCopies"), copies, "no frame crossed");
    assert_eq!(counter("DeepMatteModelRuns") - runs, 2);
    drop(folder);
}

/// GPU test: Temporal Stability on the CUDA path (the model, the optical flows, the curve matching
/// and the aligned average on the device) against the CPU render of the same frame of a panning
/// sequence: within the CUDA path's tolerance (0.03 per pixel, 0.005 mean; the working-size map
/// is resized to the frame on the device, after the stabiliser rather than inside it), no frame
/// copied, the model run once per frame of the window, 8 flows (the frame both ways with each
/// neighbour), and a slider change after it running neither.
#[test]
fn gpu_depth_map_temporal_stability_on_cuda_equals_the_cpu() {
    const NAME: &str = "cuda_render::gpu_depth_map_temporal_stability_on_cuda_equals_the_cpu";
    let Some(cuda) = depth_map_on_cuda(NAME) else { return };
    let counter = |name: &str| ofx_host::plugin_counter(&bundle_path(), name).unwrap();
    let folder = model_folder_with(depth::standin::EXACT_FILE, depth::FILE);
    let bounds = Rect::new(0, 0, 320, 180);
    let frames: std::collections::BTreeMap<i32, Image> = (0..5)
        .map(|f| {
            let shift = f as f32 * 3.0;
            let image = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, move |x, y, c| {
                let (u, v) = ((x as f32 + shift) / 320.0, y as f32 / 180.0);
                [0.15 + 0.6 * u + 0.1 * (u * 40.0).sin(), 0.2 + 0.5 * v, 0.6 - 0.4 * u * v, 1.0][c]
            });
            (f, image)
        })
        .collect();
    let instance = |bundle: &Bundle| {
        let mut fx = bundle.create_instance(DEPTH_MAP, Context::Filter).unwrap();
        fx.set_param_text("model_folder", folder.path().to_str().unwrap()).unwrap();
        fx.set_param("temporal_stability", ParamValue::Bool(true)).unwrap();
        fx.set_input("Source", ClipSource::Frames(frames.clone()));
        fx
    };
    let render = |fx: &mut Instance| fx.render(2.0, &RenderOptions::default()).unwrap_or_else(|e| panic!("{e}: {:?}", fx.messages()));
    let (copies, runs, flows) = (counter("DeepMatteCudaFrameCopies"), counter("DeepMatteModelRuns"), counter("DeepMatteFlowRuns"));
    let mut on_gpu = instance(&cuda);
    let gpu = render(&mut on_gpu);
    let (copied, ran, flowed) = (counter("DeepMatteCudaFrameCopies") - copies, counter("DeepMatteModelRuns") - runs, counter("DeepMatteFlowRuns") - flows);
    println!("first CUDA render: {flowed} optical flows (on the device)");
    assert_eq!(flowed, 8, "the frame aligned both ways with each of its 4 neighbours");
    // A slider change re-renders from the device caches: no model, no flow.
    on_gpu.set_param("far_limit", ParamValue::Double(0.1)).unwrap();
    render(&mut on_gpu);
    assert_eq!((counter("DeepMatteModelRuns") - runs, counter("DeepMatteFlowRuns") - flows), (5, 8), "a slider change ran the model or a flow");
    let cpu = render(&mut instance(&load(HostProfile::Resolve)));
    let (mut worst, mut total, mut n) = (0.0f32, 0.0f64, 0usize);
    for y in bounds.y1..bounds.y2 {
        for x in bounds.x1..bounds.x2 {
            let d = (gpu.get(x, y, 3) - cpu.get(x, y, 3)).abs();
            worst = worst.max(d);
            total += f64::from(d);
            n += 1;
        }
    }
    println!("Temporal Stability on CUDA vs CPU: max {worst:.5}, mean {:.6}; model runs {ran}, frame copies {copied}", total / n as f64);
    assert_eq!(copied, 0, "no frame crossed");
    assert_eq!(ran, 5, "one model run per frame of the window");
    assert!(worst <= 0.03 && total / (n as f64) <= 0.005, "max {worst}, mean {}", total / n as f64);
    drop(folder);
}

/// Magic Mask's store id in these tests, and the prompts its frame 0 was tracked from.
const MM_ID: &str = "mm-00000000000000c7";
const MM_PROMPTS: &str = "0 + 4 8";

/// A store folder whose frame 0 holds a soft disc, 40×24 (smaller than the frames rendered, so
/// both paths resize it), tracked from [`MM_PROMPTS`] by Quality Better's network: current.
fn magic_mask_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (40usize, 24usize);
    let coverage = (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 - 17.0, (i / w) as f32 - 11.0);

            let r = (x * x + y * y).sqrt();
            ((1.0 - (r - 7.0) / 3.0).clamp(0.0, 1.0) * 65535.0) as u16
        })
        .collect();
    let mask = segment::Mask { width: w, height: h, coverage };
    let prompts = std::collections::BTreeMap::from([(0, vec![segment::Prompt::Point { x: 4.0, y: -8.0, positive: true }])]);
    let model = segment::Sam2Size::Small.model_name();
    segment::MaskStore::open(dir.path(), MM_ID).unwrap().write(0, &mask, model, "better", &segment::prompt_hash(&prompts), segment::Direction::Forward).unwrap();
    dir
}

/// Magic Mask rendering frame `frame` of `store` in `view` with every Matte Finesse control set,
/// over a source with offset bounds, on `bundle`; `prompts` are the node's (other than
/// [`MM_PROMPTS`]: the mask is stale). Returns the render and the node's warnings.
fn render_magic_mask(bundle: &Bundle, store: &std::path::Path, view: &str, prompts: &str, frame: i32, track_on_render: bool) -> (Result<Image, String>, Vec<String>) {
    let mut fx = bundle.create_instance(MAGIC_MASK, Context::Filter).unwrap();
    fx.set_param_text("store_folder", store.to_str().unwrap()).unwrap();
    fx.set_param_text("store_id", MM_ID).unwrap();
    fx.set_param_text("prompts", prompts).unwrap();
    // No models here: a frame that needs one fails on the CPU after the CUDA render handed it back.
    fx.set_param_text("model_folder", store.to_str().unwrap()).unwrap();
    fx.set_param("track_on_render", ParamValue::Bool(track_on_render)).unwrap();
    fx.set_param_text("view", view).unwrap();
    fx.set_param("black_clip", ParamValue::Double(0.05)).unwrap();
    fx.set_param("white_clip", ParamValue::Double(0.9)).unwrap();
    fx.set_param("expand_contract", ParamValue::Double(1.5)).unwrap();
    fx.set_param("blur", ParamValue::Double(2.0)).unwrap();
    fx.set_param("smart_refine", ParamValue::Double(3.0)).unwrap();
    fx.set_param("invert", ParamValue::Bool(view == "alpha")).unwrap();
    let bounds = Rect::new(-6, 4, 77, 51);
    let source = Image::from_fn(bounds, BitDepth::F32, Components::Rgba, |x, y, c| {
        let (u, v) = ((x - bounds.x1) as f32 / 83.0, (y - bounds.y1) as f32 / 47.0);
        [0.1 + 0.8 * u, 0.3 + 0.4 * v, if (x / 9 + y / 7) % 2 == 0 { 0.8 } else { 0.2 }, 1.0][c]
    });
    let frames = std::collections::BTreeMap::from([(frame, source)]);
    fx.set_input("Source", ClipSource::Frames(frames));
    fx.set_frame_range(f64::from(frame), f64::from(frame));
    let out = fx.render(f64::from(frame), &RenderOptions::default()).map_err(|e| e.to_string());
    (out, fx.warnings())
}

#[test]
fn without_a_driver_magic_mask_declares_no_cuda_and_renders_its_stored_mask_on_the_cpu() {
    if has_driver() {
        return skip("cuda_render::without_a_driver_magic_mask_declares_no_cuda_and_renders_its_stored_mask_on_the_cpu", "this machine has a CUDA driver");
    }
    let resolve = load(HostProfile::Resolve);
    let info = resolve.plugins().iter().find(|p| p.id == MAGIC_MASK).expect("Magic Mask is in the bundle").clone();
    assert!(!info.cuda_render, "no CUDA render declared without a driver");
    let store = magic_mask_store();
    let (cpu, _) = render_magic_mask(&resolve, store.path(), "matte", MM_PROMPTS, 0, false);
    let cpu = cpu.unwrap();
    let (generic, _) = render_magic_mask(&load(HostProfile::Generic), store.path(), "matte", MM_PROMPTS, 0, false);
    let generic = generic.unwrap();
    let b = cpu.bounds();
    assert_eq!((b.width(), b.height()), (83, 47));
    for y in b.y1..b.y2 {
        for x in b.x1..b.x2 {
            assert_eq!(cpu.get(x, y, 0), generic.get(x, y, 0), "({x},{y}): Resolve renders Magic Mask as any CPU host");
        }
    }
    // The disc's centre (mask pixel (17, 11) of 40×24, scaled to the frame) is matted, a corner not.
    let (cx, cy) = (b.x1 + (17.5 * 83.0 / 40.0) as i32, b.y2 - 1 - (11.5 * 47.0 / 24.0) as i32);
    assert!(cpu.get(cx, cy, 0) > 0.9 && cpu.get(b.x1, b.y1, 0) < 0.05, "the stored disc: {} at its centre, {} in a corner", cpu.get(cx, cy, 0), cpu.get(b.x1, b.y1, 0));
}

/// GPU test: Magic Mask's stored mask rendered on CUDA through `resolve-cuda` (every view, every
/// Matte Finesse control; a current mask, a stale one and an untracked frame) against the CPU
/// render, with no frame copied by the plugin; a frame Track on Render would track is handed back
/// to the CPU. Tolerance 1e-4: the box filters sum in f64 on the device and by running sums on the
/// CPU (within 2e-6 on the emulation), and a GPU may round its float arithmetic differently.
#[test]
fn gpu_magic_mask_on_cuda_equals_the_cpu() {
    const NAME: &str = "cuda_render::gpu_magic_mask_on_cuda_equals_the_cpu";
    let Ok(cuda) = Bundle::load(&bundle_path(), HostProfile::ResolveCuda) else {
        return skip(NAME, "no CUDA device on this machine (GPU test not run)");
    };
    assert!(cuda.plugins().iter().any(|p| p.id == MAGIC_MASK && p.cuda_render), "the self-test passed, so Magic Mask declares CUDA render: {:?}", cuda.messages());
    let cpu_bundle = load(HostProfile::Resolve);
    let store = magic_mask_store();
    let copies = || ofx_host::plugin_counter(&bundle_path(), "DeepMatteCudaFrameCopies").unwrap();
    let cases = [("overlay", MM_PROMPTS, 0), ("matte", MM_PROMPTS, 0), ("alpha", MM_PROMPTS, 0), ("overlay", "0 + 5 9", 0), ("matte", MM_PROMPTS, 3)];
    for (view, prompts, frame) in cases {
        let before = copies();
        let started = std::time::Instant::now();
        let (gpu, warnings) = render_magic_mask(&cuda, store.path(), view, prompts, frame, false);
        let gpu_time = started.elapsed();
        let after = copies();
        let gpu = gpu.unwrap();
        assert!(!warnings.iter().any(|w| w.contains("rendered again on the CPU")), "{view}: rendered on CUDA, not handed back: {warnings:?}");
        assert_eq!(after - before, 0, "the plugin copied no frame");
        let (cpu, _) = render_magic_mask(&cpu_bundle, store.path(), view, prompts, frame, false);
        let cpu = cpu.unwrap();
        let b = cpu.bounds();
        let mut worst = 0.0f32;
        for y in b.y1..b.y2 {
            for x in b.x1..b.x2 {
                for c in 0..4 {
                    worst = worst.max((gpu.get(x, y, c) - cpu.get(x, y, c)).abs());
                }
            }
        }
        println!("Magic Mask {view} (prompts {prompts:?}, frame {frame}) 83x47 on CUDA: {:.2} ms, max difference from the CPU {worst:.2e}", gpu_time.as_secs_f64() * 1e3);
        assert!(worst <= 1e-4, "{view} {prompts:?} frame {frame}: max difference {worst}");
    }
    // Frame 3 is not tracked: with Track on Render on it needs SAM 2.1, so the CUDA render hands it
    // to the CPU (which then fails for want of the model in this test's empty model folder).
    let (_, warnings) = render_magic_mask(&cuda, store.path(), "matte", MM_PROMPTS, 3, true);
    assert!(
        warnings.iter().any(|w| w.contains("rendered again on the CPU") && w.contains("Track on Render")),
        "a frame to track goes back to the CPU: {warnings:?}"
    );
}
