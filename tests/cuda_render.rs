//! The CUDA render path through the built bundle, as far as this machine allows.
//!
//! Without a driver (CI): no effect declares CUDA render, the `resolve-cuda` profile refuses to
//! load with a reason, and Luma Matte Extract renders on the CPU under Resolve. A stand-in
//! `libcuda.so.1` whose `cuInit` fails (built here, found through `LD_LIBRARY_PATH` by a child
//! process) changes none of that and crashes nothing. On a machine with a CUDA device the GPU test
//! renders Luma Matte Extract through `resolve-cuda` and compares it with the CPU render; here it
//! writes its skip line. Depth Map likewise: without a driver it declares no CUDA render, renders
//! on the CPU under Resolve and says why in its Status; its GPU test (CUDA render through
//! `resolve-cuda` against the CPU render) skips loudly here.

mod common;

use std::process::Command;

use common::{bundle_path, load, model_folder_with, test_image};
use ofx_host::{BitDepth, Bundle, ClipSource, Components, Context, HostProfile, Image, ParamValue, Rect, RenderOptions};

const LME: &str = "org.deepmatte.LumaMatteExtract";
const DEPTH_MAP: &str = "org.deepmatte.DepthMap";

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
