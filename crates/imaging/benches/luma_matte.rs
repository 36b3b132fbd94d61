//! Luma Matte Extract throughput on RGBA frames (float, 16-bit, 8-bit), as GB/s of frame data and
//! as a ratio to a plain memcpy of the same buffers measured in the same run (target ≥ 0.5), with
//! default controls and with a gamma. Float frames go through f32 spans and `imaging::pow_unit`
//! (relative error below 2e-6, absolute below 1e-7); 8- and 16-bit frames stay in code units and
//! bend with a shorter power (absolute error below 3e-7), each code rounded once (see
//! `imaging/src/luma/codes.rs`). Loops run as SIMD as wide as the CPU has; on a CPU with AVX-512
//! the benchmark runs again capped at AVX2 (`DEEPMATTE_SIMD=avx2`), the widest most desktops have.
//!
//! `cargo bench -p imaging --bench luma_matte`

use imaging::{extract_matte, Components, ImageMut, ImageRef, LumaChannel, MatteLevels, MatteOutput, Rect, RowMut, RowRef};
use std::time::Instant;

/// Times a memcpy of the case's buffers and the matte, alternately, `ROUNDS` times (so both see the
/// same machine: on a shared 2-core box the memcpy alone moves by half between runs) and prints
/// their medians and the median of each round's ratio memcpy / matte.
fn case<T: Copy + Default>(name: &str, src: &[T], w: usize, bounds: Rect, levels: MatteLevels, row: for<'a> fn(&'a [T]) -> RowRef<'a>, row_mut: for<'a> fn(&'a mut [T]) -> RowMut<'a>) {
    const ROUNDS: usize = 31;
    let mut out = vec![T::default(); src.len()];
    let mut matte = || {
        let source = ImageRef::new(bounds, Components::Rgba, src.chunks(w * 4).map(row).collect());
        let mut dst = ImageMut::new(bounds, Components::Rgba, out.chunks_mut(w * 4).map(row_mut).collect());
        extract_matte(&mut dst, bounds, &source, None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied);
    };
    matte(); // warm caches, page in the output
    let mut copy_out = vec![T::default(); src.len()];
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64() * 1e3
    };
    let (mut memcpys, mut mattes, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let memcpy = time(&mut || copy_out.copy_from_slice(src));
        let m = time(&mut matte);
        memcpys.push(memcpy);
        mattes.push(m);
        ratios.push(memcpy / m);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let bytes = std::mem::size_of_val(src) as f64;
    let (m, c, r) = (median(&mut mattes), median(&mut memcpys), median(&mut ratios));
    println!("{name}: {m:.2} ms ({:.2} GB/s); memcpy {c:.2} ms ({:.2} GB/s); ratio {r:.2} (target >= 0.5)", bytes / m / 1e6, bytes / c / 1e6);
}

fn main() {
    println!("luma matte benchmark, rayon threads: {}, instruction set: {}", rayon::current_num_threads(), imaging::instruction_set());
    for (w, h) in [(1920usize, 1080usize), (3840, 2160)] {
        let src: Vec<f32> = (0..w * h * 4).map(|i| ((i * 2654435761) % 1000) as f32 / 1000.0).collect();
        let bounds = Rect { x1: 0, y1: 0, x2: w as i32, y2: h as i32 };
        let gamma = MatteLevels { black: 0.1, white: 0.9, gamma: 2.2, invert: false };
        case(&format!("{w}x{h} float RGBA, default controls"), &src, w, bounds, MatteLevels::default(), |r| RowRef::F32(r), |r| RowMut::F32(r));
        case(&format!("{w}x{h} float RGBA, gamma 2.2, clips 0.1/0.9"), &src, w, bounds, gamma, |r| RowRef::F32(r), |r| RowMut::F32(r));
        // 16- and 8-bit frames of the same pixels.
        let src16: Vec<u16> = src.iter().map(|v| (v * 65535.0) as u16).collect();
        let src8: Vec<u8> = src.iter().map(|v| (v * 255.0) as u8).collect();
        for (controls, levels) in [("default controls", MatteLevels::default()), ("gamma 2.2, clips 0.1/0.9", gamma)] {
            case(&format!("{w}x{h} 16-bit RGBA, {controls}"), &src16, w, bounds, levels, |r| RowRef::U16(r), |r| RowMut::U16(r));
            case(&format!("{w}x{h} 8-bit RGBA, {controls}"), &src8, w, bounds, levels, |r| RowRef::U8(r), |r| RowMut::U8(r));
        }
    }
    // Again at AVX2 where this run had AVX-512 (a second process: the choice is made once).
    if imaging::instruction_set() == "AVX-512" && std::env::var_os(imaging::SIMD_ENV).is_none() {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let status = std::process::Command::new(exe).env(imaging::SIMD_ENV, "avx2").status().expect("the benchmark runs again");
        assert!(status.success(), "the AVX2 run failed");
    }
}
