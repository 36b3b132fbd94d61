//! The kernels' logic against their crates/imaging twins: the `.cu` sources compiled as C++ (the
//! CPU emulation) and run through the same `gpu::ops` code a device runs, on random images and on
//! the shipped photo, at odd sizes, with bounds away from 0 and row pitches that are not
//! width × 16 (padded rows, and a negative pitch).
//!
//! Tolerances: 1e-6 absolute wherever both sides do the same f32 arithmetic in the same order
//! (the gamma: the CPU's imaging::pow_unit, within 1e-7 of the exact power, against powf)
//! (resizes, levels, placement, expand/contract, coverage: in practice bit-equal); 2e-6 where the
//! box filters sum in f64 directly on the device and by a running sum on the CPU (blur, guided
//! filter). SAM 2's pre-process (PIL's bicubic, anti-aliased) computes its taps in double on both
//! sides in the same order, then sums them in f32 in the same order: held to 1e-6 too, and the test
//! prints the largest difference it saw (0 in the emulation so far: bit-equal). Source Colour's
//! encoding (both pre-processes) calls powf on both sides, the C library's in the emulation: 1e-6.
//! This proves the kernels' logic, not a GPU's rounding: no GPU has run these.

use gpu::emulated::Emulated;
use gpu::exec::Exec;
use gpu::ops::{self, DeviceImage};
use imaging::resize::{normalize_planes, resize_plane, resize_to_planes, resize_to_planes_pil_bicubic, Filter, IMAGENET_MEAN, IMAGENET_STD};
use imaging::{Components, Finesse, ImageMut, ImageRef, IsolateBand, LumaChannel, MatteLevels, MatteOutput, Plane, Rect, RowMut, RowRef, SourceColour};

/// A deterministic xorshift generator: the same "random" pixels every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A host-style image: packed RGBA f32 rows `pitch` floats apart (≥ 4 × width), rows bottom-up.
#[derive(Clone)]
struct HostImage {
    bounds: Rect,
    pitch: usize,
    data: Vec<f32>,
    /// Rows stored last-first with a negative row_bytes (data points at the last row in memory).
    flipped: bool,
}

impl HostImage {
    fn new(bounds: Rect, pad: usize, flipped: bool, mut pixel: impl FnMut(i32, i32) -> [f32; 4]) -> HostImage {
        let pitch = bounds.width() * 4 + pad;
        let mut data = vec![f32::NAN; pitch * bounds.height()];
        for y in bounds.y1..bounds.y2 {
            let row = Self::row_index(bounds, y, flipped);
            for x in bounds.x1..bounds.x2 {
                let at = row * pitch + (x - bounds.x1) as usize * 4;
                data[at..at + 4].copy_from_slice(&pixel(x, y));
            }
        }
        HostImage { bounds, pitch, data, flipped }
    }

    fn random(bounds: Rect, pad: usize, flipped: bool, seed: u64) -> HostImage {
        let mut rng = Rng(seed);
        // Values a little outside 0..1 too, as float hosts deliver.
        HostImage::new(bounds, pad, flipped, |_, _| [rng.next() * 1.2 - 0.1, rng.next(), rng.next(), rng.next()])
    }

    fn row_index(bounds: Rect, y: i32, flipped: bool) -> usize {
        let i = (y - bounds.y1) as usize;
        if flipped { bounds.height() - 1 - i } else { i }
    }

    fn device(&self) -> DeviceImage {
        let first = Self::row_index(self.bounds, self.bounds.y1, self.flipped) * self.pitch;
        let row_bytes = (self.pitch * 4) as i64 * if self.flipped { -1 } else { 1 };
        DeviceImage { data: self.data[first..].as_ptr() as u64, row_bytes, bounds: self.bounds }
    }

    fn view(&self) -> ImageRef<'_> {
        let w = self.bounds.width() * 4;
        let rows = (self.bounds.y1..self.bounds.y2)
            .map(|y| {
                let r = Self::row_index(self.bounds, y, self.flipped) * self.pitch;
                RowRef::F32(&self.data[r..r + w])
            })
            .collect();
        ImageRef::new(self.bounds, Components::Rgba, rows)
    }

    /// The image's pixels (padding left out), rows bottom-up.
    fn pixels(&self) -> Vec<f32> {
        let w = self.bounds.width() * 4;
        (self.bounds.y1..self.bounds.y2)
            .flat_map(|y| {
                let r = Self::row_index(self.bounds, y, self.flipped) * self.pitch;
                self.data[r..r + w].to_vec()
            })
            .collect()
    }
}

/// Output written by imaging into a host image of `bounds` (untouched pixels stay NaN-free zero).
fn cpu_output(bounds: Rect, pad: usize, render: impl FnOnce(&mut ImageMut<'_>)) -> Vec<f32> {
    let out = HostImage::new(bounds, pad, false, |_, _| [0.0; 4]);
    let mut data = out.data.clone();
    let w = bounds.width() * 4;
    let rows = data.chunks_mut(out.pitch).map(|r| RowMut::F32(&mut r[..w])).collect();
    let mut image = ImageMut::new(bounds, Components::Rgba, rows);
    render(&mut image);
    drop(image);
    HostImage { data, ..out }.pixels()
}

/// Fails past `tolerance`; returns the largest difference.
fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) -> f32 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = (0.0f32, 0);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let d = if a.is_nan() && b.is_nan() { 0.0 } else { (a - b).abs() };
        assert!(!d.is_nan(), "{what}: value {i} is {a} on the kernel, {b} on the CPU");
        if d > worst.0 {
            worst = (d, i);
        }
    }
    assert!(worst.0 <= tolerance, "{what}: value {} differs by {} ({} vs {})", worst.1, worst.0, got[worst.1], want[worst.1]);
    worst.0
}

/// The shipped photo as a host image with bounds offset to (−3, 5), padded rows.
fn photo() -> HostImage {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/hills-640x360.png");
    let decoder = png::Decoder::new(std::fs::File::open(path).expect("samples/hills-640x360.png"));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h, n) = (info.width as i32, info.height as i32, info.color_type.samples());
    let bounds = Rect { x1: -3, y1: 5, x2: w - 3, y2: h + 5 };
    HostImage::new(bounds, 12, false, |x, y| {
        // PNG rows are top-down; the host's are bottom-up.
        let (col, row) = ((x - bounds.x1) as usize, (bounds.y2 - 1 - y) as usize);
        let p = &buf[(row * w as usize + col) * n..][..n];
        let c = |i: usize| f32::from(p[i.min(n - 1)]) / 255.0;
        [c(0), c(1), c(2), if n == 4 { c(3) } else { 1.0 }]
    })
}

fn images() -> Vec<(&'static str, HostImage)> {
    vec![
        ("random 37x23 at (-5,7), pitch +3 floats", HostImage::random(Rect { x1: -5, y1: 7, x2: 32, y2: 30 }, 3, false, 1)),
        ("random 61x19 at (11,-4), negative pitch", HostImage::random(Rect { x1: 11, y1: -4, x2: 72, y2: 15 }, 8, true, 2)),
        ("photo 640x360 at (-3,5), pitch +12 floats", photo()),
    ]
}

#[test]
fn luma_matte_equals_extract_matte() {
    let e = Emulated::new();
    let channels = [LumaChannel::Luma709, LumaChannel::Luma2020, LumaChannel::Luma601, LumaChannel::Average, LumaChannel::Max, LumaChannel::Red, LumaChannel::Alpha];
    let levels = [
        MatteLevels::default(),
        MatteLevels { black: 0.2, white: 0.7, gamma: 1.8, invert: false },
        MatteLevels { black: 0.5, white: 0.5, gamma: 1.0, invert: true },
        MatteLevels { black: 0.9, white: 0.1, gamma: 0.6, invert: false },
    ];
    let modes = [MatteOutput::AlphaPremultiplied, MatteOutput::AlphaStraight, MatteOutput::Grey, MatteOutput::Tint];
    for (name, source) in images() {
        let b = source.bounds;
        // A matte clip of other bounds, and a window reaching outside the output.
        let matte = HostImage::random(Rect { x1: b.x1 + 2, y1: b.y1 - 1, x2: b.x2 - 3, y2: b.y2 + 2 }, 5, false, 9);
        let window = Rect { x1: b.x1 - 2, y1: b.y1 + 1, x2: b.x2 + 4, y2: b.y2 - 1 };
        for (k, &channel) in channels.iter().enumerate() {
            let level = levels[k % levels.len()];
            let mode = modes[k % modes.len()];
            for use_matte in [false, true] {
                let out = HostImage::new(b, 7, false, |_, _| [0.0; 4]);
                let m = use_matte.then(|| matte.device());
                ops::luma_matte(&e, &out.device(), window, &source.device(), m.as_ref(), channel, level, mode).unwrap();
                let want = cpu_output(b, 7, |image| {
                    let mv = matte.view();
                    imaging::extract_matte(image, window, &source.view(), use_matte.then_some(&mv), channel, level, mode)
                });
                assert_close(&format!("{name} {channel:?} {mode:?} matte={use_matte}"), &out.pixels(), &want, 1e-6);
            }
        }
    }
}

/// The frame as the CPU path hands it to the resize: rows top-down, encoded for the network.
fn network_input(source: &HostImage, colour: SourceColour) -> Vec<f32> {
    let mut top_down = source.view().to_rgba_top_down();
    imaging::encode_for_network(&mut top_down, colour);
    top_down
}

/// Depth Map's pre-process, for every Source Colour: the kernel encodes each tap pixel before
/// weighting it, the CPU encodes the buffer then resizes: the same f32 arithmetic, and the same
/// powf (the C library's, in the emulation), so held to 1e-6 like the plain resize.
#[test]
fn model_input_equals_resize_and_normalise() {
    let e = Emulated::new();
    let mut worst = 0.0f32;
    for (name, source) in images() {
        let (w, h) = (source.bounds.width(), source.bounds.height());
        for colour in [SourceColour::Display, SourceColour::Linear, SourceColour::AcesCg] {
            let top_down = network_input(&source, colour);
            // Depth Anything at an odd multiple of 14 (bicubic), a plain bilinear resize to 1024² (SAM
            // 2's own pre-process is PIL's bicubic, tested below), and upscaling.
            for (size, filter) in [((126, 70), Filter::Bicubic), ((1024, 1024), Filter::Bilinear), ((w * 2 + 1, h + 3), Filter::Bicubic)] {
                let out = e.alloc(size.0 * size.1 * 12).unwrap();
                ops::image_to_planes(&e, &source.device(), out, size, filter, colour, IMAGENET_MEAN, IMAGENET_STD).unwrap();
                let mut want = resize_to_planes(&top_down, w, h, 4, 3, size.0, size.1, filter);
                normalize_planes(&mut want, IMAGENET_MEAN, IMAGENET_STD);
                worst = worst.max(assert_close(&format!("{name} {colour:?} → {size:?} {filter:?}"), &e.read_f32(out, want.len()), &want, 1e-6));
                e.free(out).unwrap();
            }
        }
    }
    println!("Depth Map pre-process (every Source Colour): max |kernel − CPU| = {worst:e}");
    assert_eq!(e.live_buffers(), 0);
}

/// SAM 2's encoder input: the test images (which 1024² enlarges) and frames it shrinks, a
/// 1080p-like one (≈1.9:1 across, ≈1.05:1 down) and a 3000×200 strip (shrunk across, enlarged down),
/// each also to a non-square size so a swapped axis shows.
#[test]
fn sam2_input_equals_pil_bicubic_and_normalise() {
    let e = Emulated::new();
    let mut cases = images();
    cases.push(("random 1917x1079 at (4,-9), pitch +5 floats", HostImage::random(Rect { x1: 4, y1: -9, x2: 1921, y2: 1070 }, 5, false, 4)));
    cases.push(("random 3000x200 at (-7,3), negative pitch", HostImage::random(Rect { x1: -7, y1: 3, x2: 2993, y2: 203 }, 4, true, 6)));
    let mut worst = 0.0f32;
    for (i, (name, source)) in cases.into_iter().enumerate() {
        let (w, h) = (source.bounds.width(), source.bounds.height());
        // Each image with one Source Colour in turn (each colour on several images), so the large
        // frames are resized once each.
        let colour = [SourceColour::Display, SourceColour::Linear, SourceColour::AcesCg][i % 3];
        let top_down = network_input(&source, colour);
        for size in [(1024, 1024), (301, 77)] {
            let out = e.alloc(size.0 * size.1 * 12).unwrap();
            ops::image_to_planes_pil_bicubic(&e, &source.device(), out, size, colour, IMAGENET_MEAN, IMAGENET_STD).unwrap();
            let mut want = resize_to_planes_pil_bicubic(&top_down, w, h, 4, 3, size.0, size.1);
            normalize_planes(&mut want, IMAGENET_MEAN, IMAGENET_STD);
            worst = worst.max(assert_close(&format!("{name} {colour:?} → {size:?} PIL bicubic"), &e.read_f32(out, want.len()), &want, 1e-6));
            e.free(out).unwrap();
        }
    }
    println!("SAM 2 pre-process (PIL bicubic): max |kernel − CPU| = {worst:e}");
    assert_eq!(e.live_buffers(), 0, "tap tables are freed");
}

#[test]
fn plane_resize_equals_resize_plane() {
    let e = Emulated::new();
    let mut rng = Rng(5);
    for ((sw, sh), (dw, dh)) in [((37, 21), (640, 359)), ((518, 294), (1919, 1081)), ((256, 256), (97, 33)), ((1, 1), (5, 3))] {
        let src: Vec<f32> = (0..sw * sh).map(|_| rng.next()).collect();
        let input = src.as_ptr() as u64;
        for filter in [Filter::Bilinear, Filter::Bicubic] {
            let out = e.alloc(dw * dh * 4).unwrap();
            ops::resize_plane(&e, input, (sw, sh), out, (dw, dh), filter).unwrap();
            let want = resize_plane(&src, sw, sh, dw, dh, filter);
            assert_close(&format!("{sw}x{sh} → {dw}x{dh} {filter:?}"), &e.read_f32(out, want.len()), &want, 1e-6);
            e.free(out).unwrap();
        }
    }
}

#[test]
fn depth_post_equals_histogram_range_and_depth_matte() {
    let e = Emulated::new();
    let mut rng = Rng(11);
    let (w, h) = (213, 121);
    // Raw depth in model units, not 0..1, with a few outliers the percentiles must ignore.
    let raw: Vec<f32> = (0..w * h).map(|i| if i % 997 == 0 { 500.0 } else { 3.0 + 40.0 * rng.next() }).collect();
    let cases = [
        (MatteLevels::default(), None),
        (MatteLevels { black: 0.1, white: 0.9, gamma: 2.2, invert: false }, Some((None, true))),
        (MatteLevels { black: 0.0, white: 1.0, gamma: 0.7, invert: false }, Some((Some(IsolateBand { target: 0.4, tolerance: 0.1, softness: 0.15 }), false))),
        (MatteLevels { black: 0.3, white: 0.3, gamma: 1.0, invert: false }, Some((Some(IsolateBand { target: 1.0, tolerance: 0.0, softness: 0.0 }), true))),
    ];
    for (levels, matte) in cases {
        let plane = e.alloc(w * h * 4).unwrap();
        e.upload(plane, &raw.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        ops::depth_matte(&e, plane, (w, h), true, levels, matte).unwrap();
        let mut want = raw.clone();
        let range = imaging::depth::histogram_range(&raw, w, h);
        imaging::depth::depth_matte(&mut want, Some(range), levels, matte);
        assert_close(&format!("{levels:?} {matte:?}"), &e.read_f32(plane, want.len()), &want, 1e-6);
        e.free(plane).unwrap();
    }
    assert_eq!(e.live_buffers(), 0, "scratch buffers are freed");
}

#[test]
fn finesse_equals_imaging_finesse() {
    let e = Emulated::new();
    let finesses = [
        Finesse { expand_contract: 3.0, blur: 0.0, edge_radius: 0.0 },
        Finesse { expand_contract: -2.4, blur: 5.0, edge_radius: 0.0 },
        Finesse { expand_contract: 0.0, blur: 0.0, edge_radius: 4.0 },
        Finesse { expand_contract: 1.5, blur: 3.0, edge_radius: 6.0 },
    ];
    for (name, source) in images() {
        let (w, h) = (source.bounds.width(), source.bounds.height());
        let mut rng = Rng(3);
        let matte: Vec<f32> = (0..w * h).map(|i| if (i % w) * 2 > w { rng.next().min(1.0) } else { 0.1 * rng.next() }).collect();
        for (k, f) in finesses.iter().enumerate() {
            let scale = if k == 3 { 0.5 } else { 1.0 };
            let plane = e.alloc(w * h * 4).unwrap();
            e.upload(plane, &matte.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
            ops::finesse(&e, f, plane, (w, h), &source.device(), scale).unwrap();
            let mut want = Plane { width: w, height: h, data: matte.clone() };
            f.apply(&mut want, &source.view(), scale);
            let tolerance = if f.blur > 0.0 || f.edge_radius > 0.0 { 2e-6 } else { 1e-6 };
            assert_close(&format!("{name} {f:?} scale {scale}"), &e.read_f32(plane, w * h), &want.data, tolerance);
            e.free(plane).unwrap();
        }
    }
    assert_eq!(e.live_buffers(), 0);
}

#[test]
fn place_plane_and_coverage_equal_imaging() {
    let e = Emulated::new();
    for (name, source) in images() {
        let b = source.bounds;
        let (w, h) = (b.width(), b.height());
        let coverage: Vec<u16> = (0..w * h).map(|i| ((i * 7919) % 65536) as u16).collect();
        let plane = e.alloc(w * h * 4).unwrap();
        ops::coverage_plane(&e, coverage.as_ptr() as u64, plane, w * h).unwrap();
        let cpu_plane = imaging::coverage_plane(w, h, &coverage);
        assert_close(&format!("{name} coverage"), &e.read_f32(plane, w * h), &cpu_plane.data, 0.0);
        let window = Rect { x1: b.x1 + 3, y1: b.y1 - 2, x2: b.x2 - 1, y2: b.y2 };
        for mode in [Some(MatteOutput::AlphaPremultiplied), Some(MatteOutput::AlphaStraight), Some(MatteOutput::Grey), Some(MatteOutput::Tint), Some(MatteOutput::TintStale), None] {
            for with_source in [true, false] {
                let out = HostImage::new(b, 2, false, |_, _| [0.0; 4]);
                let src = with_source.then(|| source.device());
                ops::place_plane(&e, &out.device(), window, src.as_ref(), plane, b, mode).unwrap();
                let want = cpu_output(b, 2, |image| {
                    let view = source.view();
                    let s = with_source.then_some(&view);
                    match mode {
                        Some(m) => imaging::place_plane(image, window, s, &cpu_plane, b, m),
                        None => imaging::copy(image, window, s),
                    }
                });
                assert_close(&format!("{name} {mode:?} source={with_source}"), &out.pixels(), &want, 1e-6);
            }
        }
        e.free(plane).unwrap();
    }
}

#[test]
fn levels_plane_equals_prepared_levels() {
    let e = Emulated::new();
    let mut rng = Rng(17);
    let (w, h) = (53, 29);
    let values: Vec<f32> = (0..w * h).map(|_| rng.next()).collect();
    for levels in [
        MatteLevels { black: 0.0, white: 1.0, gamma: 1.0, invert: true },
        MatteLevels { black: 0.15, white: 0.8, gamma: 1.0, invert: false },
        MatteLevels { black: 0.4, white: 0.4, gamma: 1.0, invert: true },
    ] {
        let plane = e.alloc(w * h * 4).unwrap();
        e.upload(plane, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
        ops::levels_plane(&e, plane, (w, h), levels).unwrap();
        let prepared = levels.prepared();
        let want: Vec<f32> = values.iter().map(|&v| prepared.apply(v)).collect();
        assert_close(&format!("{levels:?}"), &e.read_f32(plane, want.len()), &want, 1e-6);
        e.free(plane).unwrap();
    }
    assert_eq!(e.live_buffers(), 0);
}

/// Magic Mask's CUDA render of a stored mask smaller than the frame, step by step as
/// src/effects/magic_mask/cuda.rs runs it, against its CPU render's steps (coverage, bilinear
/// resize, Finesse, levels, the view).
#[test]
fn magic_mask_stored_matte_equals_the_cpu_steps() {
    let e = Emulated::new();
    let source = HostImage::random(Rect { x1: -5, y1: 7, x2: 32, y2: 30 }, 3, false, 5);
    let b = source.bounds;
    let (w, h) = (b.width(), b.height());
    let (mw, mh) = (19, 12);
    let coverage: Vec<u16> = (0..mw * mh).map(|i| if (i % mw) * 3 > mw { 65535 } else { ((i * 7919) % 9000) as u16 }).collect();
    let finesse = Finesse { expand_contract: 1.5, blur: 2.0, edge_radius: 3.0 };
    let levels = MatteLevels { black: 0.1, white: 0.9, gamma: 1.0, invert: true };
    let stored = e.alloc(mw * mh * 4).unwrap();
    let plane = e.alloc(w * h * 4).unwrap();
    ops::coverage_plane(&e, coverage.as_ptr() as u64, stored, mw * mh).unwrap();
    ops::resize_plane(&e, stored, (mw, mh), plane, (w, h), Filter::Bilinear).unwrap();
    ops::finesse(&e, &finesse, plane, (w, h), &source.device(), 1.0).unwrap();
    ops::levels_plane(&e, plane, (w, h), levels).unwrap();
    let small = imaging::coverage_plane(mw, mh, &coverage);
    let mut want = Plane { width: w, height: h, data: resize_plane(&small.data, mw, mh, w, h, Filter::Bilinear) };
    finesse.apply(&mut want, &source.view(), 1.0);
    let prepared = levels.prepared();
    want.map(|m| prepared.apply(m));
    assert_close("matte", &e.read_f32(plane, w * h), &want.data, 2e-6);
    for mode in [MatteOutput::Tint, MatteOutput::TintStale, MatteOutput::Grey, MatteOutput::AlphaStraight] {
        let out = HostImage::new(b, 2, false, |_, _| [0.0; 4]);
        ops::place_plane(&e, &out.device(), b, Some(&source.device()), plane, b, Some(mode)).unwrap();
        let cpu = cpu_output(b, 2, |image| imaging::place_plane(image, b, Some(&source.view()), &want, b, mode));
        assert_close(&format!("{mode:?}"), &out.pixels(), &cpu, 2e-6);
    }
    e.free(stored).unwrap();
    e.free(plane).unwrap();
    assert_eq!(e.live_buffers(), 0);
}

#[test]
fn self_test_launch_passes_on_the_emulation() {
    let e = Emulated::new();
    gpu::selftest::run_with(&e, |ptr, len| Ok(e.read_f32(ptr, len))).unwrap();
    assert!(e.launches() >= 1);
}

#[test]
fn wrong_argument_counts_and_bad_images_are_errors() {
    let e = Emulated::new();
    let err = e.launch("resize_plane", gpu::Grid::d1(1), &[gpu::Arg::I32(1)]).unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    assert!(e.launch("no_such_kernel", gpu::Grid::d1(1), &[]).is_err());
    let bad = DeviceImage { data: 16, row_bytes: 8, bounds: Rect { x1: 0, y1: 0, x2: 4, y2: 4 } };
    let r = ops::luma_matte(&e, &bad, bad.bounds, &bad, None, LumaChannel::Red, MatteLevels::default(), MatteOutput::Grey);
    assert!(r.is_err(), "a pitch shorter than a row is refused before any launch");
    assert_eq!(e.launches(), 2, "the two bad launches reached the harness, the bad image none");
}

#[test]
fn fingerprint_equals_imaging_fingerprint() {
    let e = Emulated::new();
    for (what, image) in images() {
        let want = image.view().fingerprint().expect("float RGBA");
        assert_eq!(ops::fingerprint(&e, &image.device()).unwrap(), want, "{what}");
        // One value's lowest bit flipped, in the last (partial) piece of the top row.
        let mut changed = image.clone();
        let top = HostImage::row_index(image.bounds, image.bounds.y2 - 1, image.flipped) * image.pitch;
        let at = top + image.bounds.width() * 4 - 2;
        changed.data[at] = f32::from_bits(changed.data[at].to_bits() ^ 1);
        let moved = ops::fingerprint(&e, &changed.device()).unwrap();
        assert_ne!(moved, want, "{what}: a changed value");
        assert_eq!(moved, changed.view().fingerprint().unwrap(), "{what}: changed, twin");
    }
    assert_eq!(e.live_buffers(), 0);
}

#[test]
fn working_luma_equals_shrink_area_of_luma_plane() {
    let e = Emulated::new();
    for (what, image) in images() {
        let (w, h) = (image.bounds.width(), image.bounds.height());
        for size in [(w, h), (w / 2, h / 3), ((w * 2) / 5, (h * 3) / 7), (1, 1)] {
            let out = e.alloc(4 * size.0 * size.1).unwrap();
            ops::working_luma(&e, &image.device(), out, size).unwrap();
            let want = imaging::shrink_area(&imaging::luma_plane(&image.view()), size.0, size.1);
            assert_close(&format!("{what} → {size:?}"), &e.read_f32(out, size.0 * size.1), &want.data, 1e-6);
            e.free(out).unwrap();
        }
        assert!(ops::working_luma(&e, &image.device(), 0, (w + 1, h)).is_err(), "only shrinks");
    }
    assert_eq!(e.live_buffers(), 0);
}

/// A plane in an emulated buffer.
fn device_plane(e: &Emulated, values: &[f32]) -> u64 {
    let ptr = e.alloc(4 * values.len()).unwrap();
    e.upload(ptr, &values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    ptr
}

fn device_flow(e: &Emulated, n: usize) -> gpu::motion::FlowBuffers {
    gpu::motion::FlowBuffers { dx: e.alloc(4 * n).unwrap(), dy: e.alloc(4 * n).unwrap() }
}

fn device_alignment(e: &Emulated, n: usize) -> gpu::motion::AlignmentBuffers {
    gpu::motion::AlignmentBuffers { flow: device_flow(e, n), weight: e.alloc(4 * n).unwrap() }
}

fn free_alignment(e: &Emulated, a: gpu::motion::AlignmentBuffers) {
    for ptr in [a.flow.dx, a.flow.dy, a.weight] {
        e.free(ptr).unwrap();
    }
}

/// Two frames of one shot: the photo's luma at `size`, and the same moved by a sub-pixel pan
/// and a slight zoom (so the flow varies over the frame), both from the photo's own pixels.
fn moving_pair(size: (usize, usize)) -> (Plane, Plane) {
    let luma = imaging::luma_plane(&photo().view());
    let a = imaging::shrink_area(&luma, size.0, size.1);
    let (w, h) = size;
    let motion = imaging::Flow {
        width: w,
        height: h,
        dx: (0..w * h).map(|i| 2.3 + 0.01 * ((i % w) as f32 - w as f32 / 2.0)).collect(),
        dy: (0..w * h).map(|i| -1.1 + 0.01 * ((i / w) as f32 - h as f32 / 2.0)).collect(),
    };
    let b = imaging::warp(&a, &motion);
    (a, b)
}

#[test]
fn optical_flow_confidence_and_warp_equal_imaging() {
    // Emulated kernels do the CPU's f32 operations in its order (the row boxes in f64 on both
    // sides, exp the C library's): the flows should agree to rounding, and the test prints how
    // closely they did. 1e-4 px is the bound held (a GPU's expf differs from the C library's).
    let e = Emulated::new();
    let mut rng = Rng(9);
    let noise = |w: usize, h: usize, rng: &mut Rng| Plane { width: w, height: h, data: (0..w * h).map(|_| rng.next()).collect() };
    let mut cases = vec![("photo 211x119 pan + zoom", moving_pair((211, 119))), ("photo 64x9 (one pyramid level)", moving_pair((64, 9)))];
    cases.push(("noise 37x23", (noise(37, 23, &mut rng), noise(37, 23, &mut rng))));
    for (what, (a, b)) in cases {
        let size = (a.width, a.height);
        let n = size.0 * size.1;
        let (pa, pb) = (device_plane(&e, &a.data), device_plane(&e, &b.data));
        let (forward, backward) = (device_flow(&e, n), device_flow(&e, n));
        gpu::motion::optical_flow(&e, pa, pb, size, forward).unwrap();
        gpu::motion::optical_flow(&e, pb, pa, size, backward).unwrap();
        let (want_f, want_b) = (imaging::optical_flow(&a, &b), imaging::optical_flow(&b, &a));
        if what.contains("pan") {
            // b is a pulled 2.3 px right (and 1.1 up) at its centre: the flow a → b says the opposite.
            let centre = size.1 / 2 * size.0 + size.0 / 2;
            assert!((want_f.dx[centre] + 2.3).abs() < 0.3 && (want_f.dy[centre] - 1.1).abs() < 0.3, "{what}: the flow found ({}, {})", want_f.dx[centre], want_f.dy[centre]);
        }
        let worst = [
            assert_close(&format!("{what}: dx"), &e.read_f32(forward.dx, n), &want_f.dx, 1e-4),
            assert_close(&format!("{what}: dy"), &e.read_f32(forward.dy, n), &want_f.dy, 1e-4),
            assert_close(&format!("{what}: back dx"), &e.read_f32(backward.dx, n), &want_b.dx, 1e-4),
        ];
        let weight = e.alloc(4 * n).unwrap();
        gpu::motion::confidence(&e, pa, pb, forward, backward, size, weight).unwrap();
        let conf = assert_close(&format!("{what}: confidence"), &e.read_f32(weight, n), &imaging::confidence(&a, &b, &want_f, &want_b).data, 1e-5);
        let pulled = e.alloc(4 * n).unwrap();
        gpu::motion::warp(&e, pb, forward, size, pulled).unwrap();
        let warped = assert_close(&format!("{what}: warp"), &e.read_f32(pulled, n), &imaging::warp(&b, &want_f).data, 1e-5);
        println!("{what}: flow within {:e} px, confidence {conf:e}, warp {warped:e}", worst.iter().fold(0.0f32, |m, &v| m.max(v)));
        for ptr in [pa, pb, forward.dx, forward.dy, backward.dx, backward.dy, weight, pulled] {
            e.free(ptr).unwrap();
        }
    }
    assert_eq!(e.live_buffers(), 0);
}

#[test]
fn align_equals_depth_align_at_full_and_half_size() {
    let e = Emulated::new();
    // 530 wide is past depth::motion's half-size threshold; 150 is not.
    for size in [(150, 83), (530, 61)] {
        let (a, b) = moving_pair(size);
        let n = size.0 * size.1;
        let (pa, pb) = (device_plane(&e, &a.data), device_plane(&e, &b.data));
        let (forward, backward) = (device_alignment(&e, n), device_alignment(&e, n));
        let at_half = depth::aligns_at_half(size.0, size.1);
        assert_eq!(at_half, size.0 > 512);
        let before = e.launches();
        gpu::motion::align(&e, pa, pb, size, at_half, forward, backward).unwrap();
        println!("{size:?}: {} kernel launches for the aligned pair", e.launches() - before);
        let (want_f, want_b) = depth::align(&a, &b);
        for (got, want, which) in [(forward, &want_f, "forward"), (backward, &want_b, "backward")] {
            assert_close(&format!("{size:?} {which} dx"), &e.read_f32(got.flow.dx, n), &want.flow.dx, 1e-4);
            assert_close(&format!("{size:?} {which} dy"), &e.read_f32(got.flow.dy, n), &want.flow.dy, 1e-4);
            assert_close(&format!("{size:?} {which} weight"), &e.read_f32(got.weight, n), &want.weight.data, 1e-5);
        }
        for ptr in [pa, pb] {
            e.free(ptr).unwrap();
        }
        free_alignment(&e, forward);
        free_alignment(&e, backward);
    }
    assert_eq!(e.live_buffers(), 0);
}

#[test]
fn stabilize_on_the_device_equals_depth_stabilize() {
    // A panning shot's raw depth with per-frame flicker (scale, shift, curve), one flat frame (no
    // tone curve: left out of the plan) and the CPU's alignments uploaded, at a working size
    // below the maps' (so both resizes run).
    let e = Emulated::new();
    let (mw, mh) = (97, 61);
    let work = (90, 50);
    let mut rng = Rng(4);
    let frames: Vec<depth::DepthMap> = (0..5)
        .map(|f| {
            let (scale, shift, gamma) = (0.5 + rng.next(), 2.0 * rng.next(), 0.8 + 0.4 * rng.next());
            let values = (0..mw * mh)
                .map(|i| {
                    let (x, y) = ((i % mw) as f32 + 1.5 * f as f32, (i / mw) as f32);
                    let d = 0.2 + 0.5 * y / mh as f32 + 0.3 * ((x * 0.11).sin() * (y * 0.07).cos()).abs();
                    if f == 3 { 0.7 } else { scale * d.powf(gamma) + shift }
                })
                .collect();
            depth::DepthMap { width: mw, height: mh, values }
        })
        .collect();
    let maps: Vec<&depth::DepthMap> = frames.iter().collect();
    let window = depth::Window { frames: &maps, target: 2, radius: 2 };
    let plan = depth::plan(&window, 0.8).expect("the frame has a curve");
    assert_eq!(plan.members, vec![0, 1, 2, 4], "the flat frame has no curve");
    let raws: Vec<u64> = frames.iter().map(|f| device_plane(&e, &f.values)).collect();
    let members: Vec<gpu::motion::Member> = plan
        .members
        .iter()
        .zip(&plan.knots)
        .zip(&plan.weights)
        .map(|((&i, knots), &weight)| gpu::motion::Member { raw: raws[i], size: (mw, mh), knots: knots.clone(), weight })
        .collect();
    // Alignments of the frame into each neighbour, from luma planes that pan like the depth.
    let luma: Vec<Plane> = (0..5).map(|f| Plane { width: work.0, height: work.1, data: (0..work.0 * work.1).map(|i| (((i % work.0) as f32 + 1.4 * f as f32) * 0.2).sin() * 0.3 + (i / work.0) as f32 * 0.01).collect() }).collect();
    let alignments: Vec<depth::Alignment> = (0..5).map(|f| if f == 2 { depth::Alignment::identity(work.0, work.1) } else { depth::align(&luma[2], &luma[f]).0 }).collect();
    let n = work.0 * work.1;
    let uploaded: Vec<gpu::motion::AlignmentBuffers> = plan
        .members
        .iter()
        .map(|&i| {
            let a = &alignments[i];
            gpu::motion::AlignmentBuffers {
                flow: gpu::motion::FlowBuffers { dx: device_plane(&e, &a.flow.dx), dy: device_plane(&e, &a.flow.dy) },
                weight: device_plane(&e, &a.weight.data),
            }
        })
        .collect();
    let out = e.alloc(4 * n).unwrap();
    let constants = (depth::MIN_WEIGHT, depth::DEPTH_SIGMA);
    let refs: Vec<&depth::Alignment> = alignments.iter().collect();
    for follow in [false, true] {
        gpu::motion::stabilize(&e, &members, plan.own, follow.then_some(&uploaded[..]), work, constants, out).unwrap();
        let want = depth::stabilize(&window, 0.8, follow.then_some(&refs[..]), work);
        let worst = assert_close(&format!("follow {follow}"), &e.read_f32(out, n), &want, 1e-5);
        println!("stabilised (follow {follow}): within {worst:e} of depth::stabilize");
    }
    // The frame alone (its neighbours cut away): no neighbour tables, its own matched depth.
    let alone = [&frames[2]];
    let window = depth::Window { frames: &alone, target: 0, radius: 2 };
    let plan = depth::plan(&window, 0.8).expect("the frame has a curve");
    let member = gpu::motion::Member { raw: raws[2], size: (mw, mh), knots: plan.knots[0].clone(), weight: 1.0 };
    gpu::motion::stabilize(&e, &[member], 0, Some(&uploaded[2..3]), work, constants, out).unwrap();
    assert_close("the frame alone", &e.read_f32(out, n), &depth::stabilize(&window, 0.8, Some(&refs[2..3]), work), 1e-5);
    e.free(out).unwrap();
    for a in uploaded {
        free_alignment(&e, a);
    }
    for r in raws {
        e.free(r).unwrap();
    }
    assert_eq!(e.live_buffers(), 0);
}
