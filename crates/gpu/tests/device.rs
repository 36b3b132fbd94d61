//! GPU tests: the kernels on a real CUDA device against their crates/imaging twins, with per-kernel
//! times. They need a device (and NVRTC 13.0: `DEEPMATTE_NVRTC_DIR`); without one each writes its
//! skip line and returns. None of these has run yet: no GPU was available where they were written.

use std::time::Instant;

use gpu::exec::Exec;
use gpu::host::HostCuda;
use gpu::ops::{self, DeviceImage};
use gpu::Device;
use imaging::resize::{normalize_planes, resize_plane, resize_to_planes, resize_to_planes_pil_bicubic, Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{Components, Finesse, ImageMut, ImageRef, LumaChannel, MatteLevels, MatteOutput, Plane, Rect, RowMut, RowRef, SourceColour};

fn skip(test: &str, reason: &str) {
    let line = format!("{test}: {reason}\n");
    eprintln!("SKIPPED (loudly) {line}");
    if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// The host side (context, stream) and the plugin side (kernels on that stream), or a skip.
fn device(test: &str) -> Option<(HostCuda, Device)> {
    let host = match HostCuda::new() {
        Ok(h) => h,
        Err(e) => {
            skip(test, &format!("no CUDA device ({e}); GPU test not run"));
            return None;
        }
    };
    match Device::current(host.stream()) {
        Ok(d) => Some((host, d)),
        Err(e) => panic!("a CUDA device exists but the kernels cannot run on it: {e}"),
    }
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn floats(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn download(host: &HostCuda, ptr: u64, n: usize) -> Vec<f32> {
    let mut out = vec![0u8; n * 4];
    host.download(ptr, &mut out).unwrap();
    floats(&out)
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    println!("{what}: max |GPU − CPU| = {worst:e}");
    assert!(worst <= tol, "{what}: {worst} > {tol}");
}

fn pixels(w: usize, h: usize, seed: u32) -> Vec<f32> {
    (0..w * h * 4).map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 10007) as f32 / 10006.0).collect()
}

/// 1920×1080 Luma Matte Extract and the Depth Map and SAM 2 pre-processes at 1080p, timed (wall
/// clock around the launch and a stream wait, so launch overhead included).
#[test]
fn gpu_kernels_equal_their_cpu_twins() {
    let Some((host, dev)) = device("gpu::device::gpu_kernels_equal_their_cpu_twins") else { return };
    let (w, h) = (1920usize, 1080usize);
    let bounds = Rect { x1: 3, y1: -2, x2: 3 + w as i32, y2: h as i32 - 2 };
    let src = pixels(w, h, 7);
    let src_dev = host.upload(&bytes(&src)).unwrap();
    let out_dev = host.upload(&vec![0u8; w * h * 16]).unwrap();
    let image = |data| DeviceImage { data, row_bytes: (w * 16) as i64, bounds };
    let levels = MatteLevels { black: 0.1, white: 0.9, gamma: 1.4, invert: false };

    let t = Instant::now();
    ops::luma_matte(&dev, &image(out_dev), bounds, &image(src_dev), None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied).unwrap();
    dev.finish().unwrap();
    println!("luma_matte 1080p: {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let got = download(&host, out_dev, w * h * 4);
    let mut want = vec![0.0f32; w * h * 4];
    {
        let view = ImageRef::new(bounds, Components::Rgba, src.chunks_exact(w * 4).map(RowRef::F32).collect());
        let mut out = ImageMut::new(bounds, Components::Rgba, want.chunks_exact_mut(w * 4).map(RowMut::F32).collect());
        imaging::extract_matte(&mut out, bounds, &view, None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied);
    }
    close("luma_matte", &got, &want, 1e-5);

    let (mw, mh) = (924usize, 518usize);
    let tensor = dev.alloc(mw * mh * 12).unwrap();
    let t = Instant::now();
    ops::image_to_planes(&dev, &image(src_dev), tensor, (mw, mh), Filter::Bicubic, SourceColour::Linear, IMAGENET_MEAN, IMAGENET_STD).unwrap();
    dev.finish().unwrap();
    println!("Depth Map pre-process 1080p → 924×518: {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let got = download(&host, tensor, mw * mh * 3);
    // Scene-linear for Depth Map and ACEScg for SAM 2, so the device's powf meets the CPU's.
    let top_down: Vec<f32> = src.chunks_exact(w * 4).rev().flatten().copied().collect();
    let mut linear = top_down.clone();
    imaging::encode_for_network(&mut linear, SourceColour::Linear);
    let mut want = resize_to_planes(&linear, w, h, 4, 3, mw, mh, Filter::Bicubic);
    normalize_planes(&mut want, IMAGENET_MEAN, IMAGENET_STD);
    close("image_to_planes", &got, &want, 1e-5);

    let sam = dev.alloc(1024 * 1024 * 12).unwrap();
    let t = Instant::now();
    ops::image_to_planes_pil_bicubic(&dev, &image(src_dev), sam, (1024, 1024), SourceColour::AcesCg, IMAGENET_MEAN, IMAGENET_STD).unwrap();
    dev.finish().unwrap();
    println!("SAM 2 pre-process 1080p → 1024² (PIL bicubic): {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let got = download(&host, sam, 1024 * 1024 * 3);
    let mut acescg = top_down;
    imaging::encode_for_network(&mut acescg, SourceColour::AcesCg);
    let mut want = resize_to_planes_pil_bicubic(&acescg, w, h, 4, 3, 1024, 1024);
    normalize_planes(&mut want, IMAGENET_MEAN, IMAGENET_STD);
    close("image_to_planes_pil_bicubic", &got, &want, 1e-5);
    dev.free(sam).unwrap();

    let depth: Vec<f32> = (0..mw * mh).map(|i| 2.0 + ((i * 7919) % 1013) as f32 / 50.0).collect();
    let depth_dev = host.upload(&bytes(&depth)).unwrap();
    let plane = dev.alloc(w * h * 4).unwrap();
    let t = Instant::now();
    ops::resize_plane(&dev, depth_dev, (mw, mh), plane, (w, h), Filter::Bilinear).unwrap();
    ops::depth_matte(&dev, plane, (w, h), true, levels, Some((None, true))).unwrap();
    let finesse = Finesse { expand_contract: 2.5, blur: 4.0, edge_radius: 6.0 };
    ops::finesse(&dev, &finesse, plane, (w, h), &image(src_dev), 1.0).unwrap();
    dev.finish().unwrap();
    println!("Depth Map post-process 1080p (resize, normalise, levels, invert, finesse): {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let got = download(&host, plane, w * h);
    let mut want = Plane { width: w, height: h, data: resize_plane(&depth, mw, mh, w, h, Filter::Bilinear) };
    let range = imaging::depth::histogram_range(&want.data, w, h);
    imaging::depth::depth_matte(&mut want.data, Some(range), levels, Some((None, true)));
    let view = ImageRef::new(bounds, Components::Rgba, src.chunks_exact(w * 4).map(RowRef::F32).collect());
    finesse.apply(&mut want, &view, 1.0);
    close("depth post-process", &got, &want.data, 1e-4);
    for p in [src_dev, out_dev, depth_dev] {
        host.free(p).unwrap();
    }
    dev.free(tensor).unwrap();
    dev.free(plane).unwrap();
    dev.finish().unwrap();
}

/// The depth cache's pieces on a device: the fingerprint equals its CPU twin on a 1080p frame
/// (timed), and a resident buffer written on one render's stream is read on another's and freed
/// from a thread with no context current, without a stream wait.
#[test]
fn gpu_fingerprint_and_resident_buffers() {
    let Some((host, dev)) = device("gpu::device::gpu_fingerprint_and_resident_buffers") else {
        return;
    };
    let (w, h) = (1920usize, 1080usize);
    let bounds = Rect { x1: -1, y1: 4, x2: w as i32 - 1, y2: h as i32 + 4 };
    let src = pixels(w, h, 11);
    let src_dev = host.upload(&bytes(&src)).unwrap();
    let image = DeviceImage { data: src_dev, row_bytes: (w * 16) as i64, bounds };
    let t = Instant::now();
    let got = ops::fingerprint(&dev, &image).unwrap();
    println!("fingerprint 1080p (kernel and 16-byte read back): {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let view = ImageRef::new(bounds, Components::Rgba, src.chunks_exact(w * 4).map(RowRef::F32).collect());
    assert_eq!(got, view.fingerprint().unwrap(), "device fingerprint = imaging's");

    let n = 1000usize;
    let values: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let staged = host.upload(&bytes(&values)).unwrap();
    let kept = dev.resident(4 * n).unwrap();
    dev.with_resident(&kept, |ptr| dev.copy(ptr, staged, 4 * n)).unwrap();
    // Another "render": the host's default stream instead of its own.
    let other = Device::current(0).unwrap();
    let out = other.alloc(4 * n).unwrap();
    other.with_resident(&kept, |ptr| other.copy(out, ptr, 4 * n)).unwrap();
    other.finish().unwrap();
    close("resident buffer read on another stream", &download(&host, out, n), &values, 0.0);
    std::thread::spawn(move || drop(kept)).join().unwrap();
    other.free(out).unwrap();
    host.free(staged).unwrap();
    host.free(src_dev).unwrap();
    dev.finish().unwrap();
}

/// Temporal Stability's motion on a device: the alignment of two 924×518 working frames (1080p's
/// working size: flows at half of it, as the CPU computes them) against `depth::align`, timed.
/// A GPU's expf and division round unlike the C library's, and the Gauss–Newton steps carry that
/// on: the flows are held to 0.05 px, the confidences to 0.02.
#[test]
fn gpu_alignment_equals_the_cpu() {
    let Some((host, dev)) = device("gpu::device::gpu_alignment_equals_the_cpu") else { return };
    let (w, h) = (924usize, 518usize);
    let texture = |shift: f32| -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 + shift, (i / w) as f32);
                0.5 + 0.25 * (x * 0.031).sin() * (y * 0.023).cos() + 0.2 * (x * 0.007 + y * 0.011).sin()
            })
            .collect()
    };
    let (a, b) = (texture(0.0), texture(3.5));
    let (pa, pb) = (host.upload(&bytes(&a)).unwrap(), host.upload(&bytes(&b)).unwrap());
    let buffers = || gpu::motion::AlignmentBuffers {
        flow: gpu::motion::FlowBuffers { dx: dev.alloc(4 * w * h).unwrap(), dy: dev.alloc(4 * w * h).unwrap() },
        weight: dev.alloc(4 * w * h).unwrap(),
    };
    let (forward, backward) = (buffers(), buffers());
    let t = Instant::now();
    gpu::motion::align(&dev, pa, pb, (w, h), depth::aligns_at_half(w, h), forward, backward).unwrap();
    dev.finish().unwrap();
    println!("alignment of a 924×518 pair (2 flows at 462×259, 2 confidences, back to full size): {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let plane = |data: Vec<f32>| Plane { width: w, height: h, data };
    let t = Instant::now();
    let (want, _) = depth::align(&plane(a), &plane(b));
    println!("the same on the CPU: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    close("forward dx", &download(&host, forward.flow.dx, w * h), &want.flow.dx, 0.05);
    close("forward dy", &download(&host, forward.flow.dy, w * h), &want.flow.dy, 0.05);
    close("forward confidence", &download(&host, forward.weight, w * h), &want.weight.data, 0.02);
    for a in [forward, backward] {
        for p in [a.flow.dx, a.flow.dy, a.weight] {
            dev.free(p).unwrap();
        }
    }
    host.free(pa).unwrap();
    host.free(pb).unwrap();
    dev.finish().unwrap();
}
