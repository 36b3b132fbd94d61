//! Depth Map's pixel stages per frame at 1080p and 4K: pre-process (frame → 518-short-side model
//! input, bicubic, ImageNet-normalised NCHW) and post-process (depth back to frame size, histogram
//! normalisation, levels, invert, finesse), on the CPU (crates/imaging) and, where a CUDA device
//! exists, with the kernels on it. Prints figures; asserts nothing. Inference is measured by
//! crates/depth's benchmark. Target on an H200-class GPU: pre + post ≤ 1 ms at 1080p.
//!
//! `cargo bench -p gpu --bench stages`

use std::time::{Duration, Instant};

use gpu::exec::Exec;
use gpu::host::HostCuda;
use gpu::ops::{self, DeviceImage};
use imaging::resize::{normalize_planes, resize_plane, resize_to_planes, Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{Components, Finesse, ImageRef, MatteLevels, Plane, Rect, RowRef, SourceColour};

const LEVELS: MatteLevels = MatteLevels { black: 0.05, white: 0.95, gamma: 1.2, invert: false };
const FINESSE: Finesse = Finesse { expand_contract: 2.0, blur: 3.0, edge_radius: 4.0 };

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed()
    }).min().unwrap_or_default()
}

fn main() {
    let host = HostCuda::new();
    let device = host.as_ref().ok().map(|h| gpu::Device::current(h.stream()));
    for (name, w, h) in [("1080p", 1920usize, 1080usize), ("4K", 3840, 2160)] {
        let (mw, mh) = depth_model_size(w, h);
        let rgba: Vec<f32> = (0..w * h * 4).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        let depth: Vec<f32> = (0..mw * mh).map(|i| 1.0 + ((i * 104729) % 997) as f32 / 100.0).collect();
        let bounds = Rect { x1: 0, y1: 0, x2: w as i32, y2: h as i32 };
        let view = ImageRef::new(bounds, Components::Rgba, rgba.chunks_exact(w * 4).map(RowRef::F32).collect());

        let pre = best_of(3, || {
            let mut planes = resize_to_planes(&rgba, w, h, 4, 3, mw, mh, Filter::Bicubic);
            normalize_planes(&mut planes, IMAGENET_MEAN, IMAGENET_STD);
        });
        let post = best_of(3, || {
            let mut plane = Plane { width: w, height: h, data: resize_plane(&depth, mw, mh, w, h, Filter::Bilinear) };
            let range = imaging::depth::histogram_range(&plane.data, w, h);
            imaging::depth::depth_matte(&mut plane.data, Some(range), LEVELS, Some((None, true)));
            FINESSE.apply(&mut plane, &view, 1.0);
        });
        println!("{name} ({w}x{h} → model {mw}x{mh}) CPU: pre-process {:.1} ms, post-process {:.1} ms", ms(pre), ms(post));

        match (&host, &device) {
            (Ok(host), Some(Ok(dev))) => {
                let bytes: Vec<u8> = rgba.iter().flat_map(|v| v.to_le_bytes()).collect();
                let src = host.upload(&bytes).unwrap();
                let depth_dev = host.upload(&depth.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
                let tensor = dev.alloc(mw * mh * 12).unwrap();
                let plane = dev.alloc(w * h * 4).unwrap();
                let image = DeviceImage { data: src, row_bytes: (w * 16) as i64, bounds };
                let gpu_pre = best_of(10, || {
                    ops::image_to_planes(dev, &image, tensor, (mw, mh), Filter::Bicubic, SourceColour::Display, IMAGENET_MEAN, IMAGENET_STD).unwrap();
                    dev.finish().unwrap();
                });
                let gpu_post = best_of(10, || {
                    ops::resize_plane(dev, depth_dev, (mw, mh), plane, (w, h), Filter::Bilinear).unwrap();
                    ops::depth_matte(dev, plane, (w, h), true, LEVELS, Some((None, true))).unwrap();
                    ops::finesse(dev, &FINESSE, plane, (w, h), &image, 1.0).unwrap();
                    dev.finish().unwrap();
                });
                println!("{name} GPU (wall clock incl. launch and stream wait): pre-process {:.3} ms, post-process {:.3} ms", ms(gpu_pre), ms(gpu_post));
                dev.free(tensor).unwrap();
                dev.free(plane).unwrap();
                dev.finish().unwrap();
                host.free(src).unwrap();
                host.free(depth_dev).unwrap();
            }
            (Err(e), _) => println!("{name} GPU: not measured ({e})"),
            (_, Some(Err(e))) => println!("{name} GPU: not measured (the kernels cannot run: {e})"),
            _ => println!("{name} GPU: not measured"),
        }
    }
    temporal_alignment(&host, &device);
    println!("inference: not measured here (cargo bench -p depth --bench depth_frame on the CPU); on a GPU with the GPU runtime, the Depth Map render on CUDA (model on device tensors) is timed by the cuda_render GPU test and cargo xtask gpu-check");
}

/// Temporal Stability's motion stage at 1080p's working size (924×518): one neighbour pair
/// aligned both ways (`depth::align` on the CPU, `gpu::motion::align` on a device), the
/// per-neighbour cost a new frame pays once (flows are cached by content).
fn temporal_alignment(host: &Result<HostCuda, gpu::GpuError>, device: &Option<Result<gpu::Device, gpu::GpuError>>) {
    let (w, h) = (924usize, 518usize);
    let texture = |shift: f32| -> Vec<f32> {
        (0..w * h).map(|i| ((i % w) as f32 + shift, (i / w) as f32)).map(|(x, y)| 0.5 + 0.25 * (x * 0.031).sin() * (y * 0.023).cos() + 0.2 * (x * 0.007 + y * 0.011).sin()).collect()
    };
    let (a, b) = (texture(0.0), texture(3.5));
    let plane = |data: &[f32]| Plane { width: w, height: h, data: data.to_vec() };
    let (pa, pb) = (plane(&a), plane(&b));
    let cpu = best_of(3, || drop(depth::align(&pa, &pb)));
    println!("Temporal Stability alignment, 924x518 pair (2 flows at 462x259 + 2 confidences) CPU: {:.1} ms on {} threads", ms(cpu), rayon::current_num_threads());
    // What a device would launch for the pair, counted by running it in the kernel emulation.
    let emulated = gpu::emulated::Emulated::new();
    let up = |v: &[f32]| {
        let p = emulated.alloc(4 * v.len()).unwrap();
        emulated.upload(p, &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        p
    };
    let buffers: Vec<u64> = (0..6).map(|_| emulated.alloc(4 * w * h).unwrap()).collect();
    let (ea, eb) = (up(&a), up(&b));
    let pair = |p: &[u64]| gpu::motion::AlignmentBuffers { flow: gpu::motion::FlowBuffers { dx: p[0], dy: p[1] }, weight: p[2] };
    gpu::motion::align(&emulated, ea, eb, (w, h), depth::aligns_at_half(w, h), pair(&buffers[..3]), pair(&buffers[3..])).unwrap();
    println!("Temporal Stability alignment: {} kernel launches for the pair (counted in the kernel emulation)", emulated.launches());
    match (host, device) {
        (Ok(host), Some(Ok(dev))) => {
            let up = |v: &[f32]| host.upload(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
            let (da, db) = (up(&a), up(&b));
            let buffers: Vec<u64> = (0..6).map(|_| dev.alloc(4 * w * h).unwrap()).collect();
            let forward = gpu::motion::AlignmentBuffers { flow: gpu::motion::FlowBuffers { dx: buffers[0], dy: buffers[1] }, weight: buffers[2] };
            let backward = gpu::motion::AlignmentBuffers { flow: gpu::motion::FlowBuffers { dx: buffers[3], dy: buffers[4] }, weight: buffers[5] };
            let gpu_time = best_of(10, || {
                gpu::motion::align(dev, da, db, (w, h), depth::aligns_at_half(w, h), forward, backward).unwrap();
                dev.finish().unwrap();
            });
            println!("Temporal Stability alignment GPU (wall clock incl. launches and stream wait): {:.3} ms", ms(gpu_time));
            for p in buffers {
                dev.free(p).unwrap();
            }
            dev.finish().unwrap();
            host.free(da).unwrap();
            host.free(db).unwrap();
        }
        _ => println!("Temporal Stability alignment GPU: not measured (no CUDA device here)"),
    }
}

/// crates/depth's inference size at Better quality (short side 518, long side a multiple of 14).
fn depth_model_size(w: usize, h: usize) -> (usize, usize) {
    let long = ((w as f64 * 518.0 / h as f64 / 14.0).round() as usize) * 14;
    (long, 518)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
