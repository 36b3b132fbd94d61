//! Luma Matte Extract throughput on RGBA frames (float, 16-bit, 8-bit), as GB/s of frame data and
//! as a ratio to a plain memcpy of the same buffers measured in the same run (target ≥ 0.5), with
//! default controls and with a gamma (which adds an `imaging::pow_unit` per pixel, run as SIMD as
//! wide as the CPU has: relative error below 2e-6, absolute below 1e-7, see its doc). 8- and
//! 16-bit rows go through the same float path (converted in spans of 256 pixels that stay in
//! L1), so their figures show what the conversions cost against a memcpy of the smaller buffer.
//!
//! `cargo bench -p imaging --bench luma_matte`

use imaging::{extract_matte, Components, ImageMut, ImageRef, LumaChannel, MatteLevels, MatteOutput, Rect, RowMut, RowRef};
use std::time::{Duration, Instant};

fn median_time(reps: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm caches, page in the output
    let mut runs: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

/// The matte of an integer frame, and a memcpy of it, as median times.
fn integer_case<T: Copy + Default>(
    src: &[T],
    w: usize,
    bounds: Rect,
    levels: MatteLevels,
    row: for<'a> fn(&'a [T]) -> RowRef<'a>,
    row_mut: for<'a> fn(&'a mut [T]) -> RowMut<'a>,
) -> (Duration, Duration) {
    let mut out = vec![T::default(); src.len()];
    let memcpy = median_time(15, || out.copy_from_slice(src));
    let matte = median_time(15, || {
        let source = ImageRef::new(bounds, Components::Rgba, src.chunks(w * 4).map(row).collect());
        let mut dst = ImageMut::new(bounds, Components::Rgba, out.chunks_mut(w * 4).map(row_mut).collect());
        extract_matte(&mut dst, bounds, &source, None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied);
    });
    (matte, memcpy)
}

fn main() {
    println!("luma matte benchmark, rayon threads: {}", rayon::current_num_threads());
    for (w, h) in [(1920usize, 1080usize), (3840, 2160)] {
        let src: Vec<f32> = (0..w * h * 4).map(|i| ((i * 2654435761) % 1000) as f32 / 1000.0).collect();
        let mut out = vec![0.0f32; w * h * 4];
        let bytes = (w * h * 16) as f64;
        let bounds = Rect { x1: 0, y1: 0, x2: w as i32, y2: h as i32 };
        let gbs = |d: Duration| bytes / d.as_secs_f64() / 1e9;

        let memcpy = median_time(15, || out.copy_from_slice(&src));
        for (name, levels) in [
            ("default controls", MatteLevels::default()),
            ("gamma 2.2, clips 0.1/0.9", MatteLevels { black: 0.1, white: 0.9, gamma: 2.2, invert: false }),
        ] {
            let matte = median_time(15, || {
                let source = ImageRef::new(bounds, Components::Rgba, src.chunks(w * 4).map(RowRef::F32).collect());
                let mut dst = ImageMut::new(bounds, Components::Rgba, out.chunks_mut(w * 4).map(RowMut::F32).collect());
                extract_matte(&mut dst, bounds, &source, None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied);
            });
            println!(
                "{w}x{h} float RGBA, {name}: {:.2} ms ({:.2} GB/s); memcpy {:.2} ms ({:.2} GB/s); ratio {:.2} (target >= 0.5)",
                matte.as_secs_f64() * 1e3,
                gbs(matte),
                memcpy.as_secs_f64() * 1e3,
                gbs(memcpy),
                memcpy.as_secs_f64() / matte.as_secs_f64()
            );
        }
        // 16- and 8-bit frames of the same pixels, gamma on.
        let levels = MatteLevels { black: 0.1, white: 0.9, gamma: 2.2, invert: false };
        let src16: Vec<u16> = src.iter().map(|v| (v * 65535.0) as u16).collect();
        let src8: Vec<u8> = src.iter().map(|v| (v * 255.0) as u8).collect();
        let (matte16, memcpy16) = integer_case(&src16, w, bounds, levels, |r| RowRef::U16(r), |r| RowMut::U16(r));
        let (matte8, memcpy8) = integer_case(&src8, w, bounds, levels, |r| RowRef::U8(r), |r| RowMut::U8(r));
        for (depth, matte, memcpy) in [("16-bit", matte16, memcpy16), ("8-bit", matte8, memcpy8)] {
            println!(
                "{w}x{h} {depth} RGBA, gamma 2.2, clips 0.1/0.9: {:.2} ms; memcpy {:.2} ms; ratio {:.2} (target >= 0.5)",
                matte.as_secs_f64() * 1e3,
                memcpy.as_secs_f64() * 1e3,
                memcpy.as_secs_f64() / matte.as_secs_f64()
            );
        }
    }
}
