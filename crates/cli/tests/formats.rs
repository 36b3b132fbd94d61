//! The footage formats through the built `deepmatte` and the real bundle: TIFF (8, 16-bit and float,
//! in and out), JPEG (in) and DPX (10-bit RGB, big and little endian, packing A and B, in and out).
//! Inputs are written here by other writers (the `tiff` crate, `jpeg-encoder`, a DPX writer below),
//! outputs are read back independently, and pixels are checked against Luma Matte Extract's closed
//! form m = 0.2126 R + 0.7152 G + 0.0722 B, or against the input itself where the effect passes RGB.

mod common;

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use common::{assert_fails_with, assert_ok, deepmatte};
use ofx_host::{BitDepth, Image};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{colortype, TiffEncoder};
use tiff::ColorType;

const W: usize = 37;
const H: usize = 21;

/// A smooth card in 0..1, top row first: what JPEG keeps well and every depth can hold.
fn card() -> Vec<[f32; 3]> {
    (0..W * H)
        .map(|i| {
            let (x, y) = ((i % W) as f32 / (W - 1) as f32, (i / W) as f32 / (H - 1) as f32);
            [x, y, 0.25 + 0.5 * x * y]
        })
        .collect()
}

fn luma(p: [f32; 3]) -> f32 {
    0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2]
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn render(input: &Path, output: &Path, mode: &str) {
    let out = deepmatte(&["render", "--effect", "luma-matte-extract", "--input", s(input), "--output", s(output), "--set", &format!("output={mode}")]);
    assert_ok(&out);
}

/// A TIFF's samples as floats in 0..1 (floats as stored), with its colour type.
fn read_tiff(path: &Path) -> (ColorType, Vec<f32>) {
    let mut decoder = Decoder::new(std::io::BufReader::new(File::open(path).unwrap())).unwrap();
    assert_eq!(decoder.dimensions().unwrap(), (W as u32, H as u32));
    let colour = decoder.colortype().unwrap();
    let samples = match decoder.read_image().unwrap() {
        DecodingResult::U8(v) => v.iter().map(|&x| f32::from(x) / 255.0).collect(),
        DecodingResult::U16(v) => v.iter().map(|&x| f32::from(x) / 65535.0).collect(),
        DecodingResult::F32(v) => v,
        _ => panic!("unexpected TIFF sample type"),
    };
    (colour, samples)
}

#[test]
fn tiff_8_16_and_float_in_give_the_same_depth_out_with_the_closed_form_matte() {
    let dir = tempfile::tempdir().unwrap();
    let card = card();
    for (bits, tolerance) in [(8u8, 1.0 / 255.0 + 1e-6), (16, 2.0 / 65535.0), (32, 1e-5)] {
        let input = dir.path().join(format!("card{bits}.tif"));
        let mut encoder = TiffEncoder::new(BufWriter::new(File::create(&input).unwrap())).unwrap();
        // The values the file really holds, for the reference.
        let held: Vec<[f32; 3]> = match bits {
            8 => {
                let data: Vec<u8> = card.iter().flatten().map(|&v| (v * 255.0).round() as u8).collect();
                encoder.write_image::<colortype::RGB8>(W as u32, H as u32, &data).unwrap();
                data.chunks(3).map(|p| [p[0], p[1], p[2]].map(|v| f32::from(v) / 255.0)).collect()
            }
            16 => {
                let data: Vec<u16> = card.iter().flatten().map(|&v| (v * 65535.0).round() as u16).collect();
                encoder.write_image::<colortype::RGB16>(W as u32, H as u32, &data).unwrap();
                data.chunks(3).map(|p| [p[0], p[1], p[2]].map(|v| f32::from(v) / 65535.0)).collect()
            }
            _ => {
                let data: Vec<f32> = card.iter().flatten().copied().collect();
                encoder.write_image::<colortype::RGB32Float>(W as u32, H as u32, &data).unwrap();
                card.clone()
            }
        };
        drop(encoder);
        let output = dir.path().join(format!("matte{bits}.tif"));
        render(&input, &output, "matte_rgba");
        let (colour, samples) = read_tiff(&output);
        assert_eq!(colour, ColorType::RGBA(bits), "{bits}-bit TIFF in gives {bits}-bit RGBA TIFF out");
        let mut worst = 0f32;
        for (i, p) in held.iter().enumerate() {
            let m = luma(*p);
            for (c, want) in [m, m, m, 1.0].into_iter().enumerate() {
                worst = worst.max((samples[i * 4 + c] - want).abs());
            }
        }
        println!("TIFF {bits}-bit: worst error {worst:e}");
        assert!(worst <= tolerance, "{bits}-bit TIFF matte off by {worst} (tolerance {tolerance})");
    }
    // 16-bit grey TIFF reads as a matte: luma of grey g is g.
    let grey = dir.path().join("grey.tif");
    let data: Vec<u16> = card.iter().map(|p| (p[0] * 65535.0).round() as u16).collect();
    TiffEncoder::new(BufWriter::new(File::create(&grey).unwrap())).unwrap().write_image::<colortype::Gray16>(W as u32, H as u32, &data).unwrap();
    let out = dir.path().join("grey-out.png");
    render(&grey, &out, "matte_rgba");
    assert_eq!(Image::load(&out).unwrap().depth(), BitDepth::U16);
}

#[test]
fn jpeg_in_renders_within_jpeg_error_and_jpeg_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let card = card();
    let input = dir.path().join("card.jpg");
    let rgb: Vec<u8> = card.iter().flatten().map(|&v| (v * 255.0).round() as u8).collect();
    let mut encoder = jpeg_encoder::Encoder::new_file(&input, 100).unwrap();
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
    encoder.encode(&rgb, W as u16, H as u16, jpeg_encoder::ColorType::Rgb).unwrap();
    let output = dir.path().join("matte.png");
    render(&input, &output, "matte_rgba");
    let matte = Image::load(&output).unwrap();
    assert_eq!((matte.width(), matte.height(), matte.depth()), (W, H, BitDepth::U8), "8-bit JPEG in, 8-bit PNG out");
    let (mut worst, mut sum) = (0f32, 0f32);
    for (i, p) in card.iter().enumerate() {
        let (x, y) = ((i % W) as i32, (H - 1 - i / W) as i32);
        let e = (matte.rgba(x, y)[0] - luma(*p)).abs();
        worst = worst.max(e);
        sum += e;
    }
    let mean = sum / card.len() as f32;
    println!("JPEG q100 4:4:4: matte error worst {:.2}/255, mean {:.3}/255", worst * 255.0, mean * 255.0);
    assert!(worst <= 4.0 / 255.0 && mean <= 1.0 / 255.0, "JPEG matte off: worst {worst}, mean {mean}");

    let out = deepmatte(&["render", "--effect", "luma-matte-extract", "--input", s(&input), "--output", s(&dir.path().join("x.jpg"))]);
    assert_fails_with(&out, &["unsupported format \".jpg\"", ".tif", ".dpx"]);
}

/// 10-bit codes of the card as a log plate would hold them (95..685 with the extremes 0 and 1023).
fn dpx_codes() -> Vec<[u32; 3]> {
    let mut codes: Vec<[u32; 3]> = card().iter().map(|p| p.map(|v| 95 + (v * 590.0).round() as u32)).collect();
    codes[0] = [0, 1023, 512];
    codes[1] = [1023, 0, 1];
    codes
}

/// A DPX written here, independently of the CLI's writer: 10-bit RGB, `packing` 1 (method A) or
/// 2 (method B), big- or little-endian, image data at 8192 as many tools write it.
fn write_dpx(path: &Path, codes: &[[u32; 3]], big: bool, packing: u16) {
    const OFFSET: usize = 8192;
    let mut out = vec![0u8; OFFSET + W * H * 4];
    let p32 = |o: &mut Vec<u8>, at: usize, v: u32| o[at..at + 4].copy_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
    let p16 = |o: &mut Vec<u8>, at: usize, v: u16| o[at..at + 2].copy_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
    p32(&mut out, 0, 0x5344_5058); // "SDPX" in the file's own byte order
    p32(&mut out, 4, OFFSET as u32);
    out[8..12].copy_from_slice(b"V2.0");
    let size = out.len() as u32;
    p32(&mut out, 16, size);
    p16(&mut out, 770, 1);
    p32(&mut out, 772, W as u32);
    p32(&mut out, 776, H as u32);
    out[780 + 20] = 50;
    out[780 + 21] = 1; // printing density: a log plate
    out[780 + 23] = 10;
    p16(&mut out, 780 + 24, packing);
    p32(&mut out, 780 + 28, OFFSET as u32);
    for (i, c) in codes.iter().enumerate() {
        let word = (c[0] << 20 | c[1] << 10 | c[2]) << if packing == 1 { 2 } else { 0 };
        p32(&mut out, OFFSET + i * 4, word);
    }
    std::fs::write(path, out).unwrap();
}

/// The 10-bit codes of a big-endian method-A DPX (what the CLI writes), top row first.
fn read_dpx_codes(path: &Path) -> Vec<[u32; 3]> {
    let b = std::fs::read(path).unwrap();
    let u32_at = |at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    assert_eq!(&b[0..4], b"SDPX");
    assert_eq!((u32_at(772), u32_at(776)), (W as u32, H as u32));
    assert_eq!((b[780 + 20], b[780 + 23], u16::from_be_bytes([b[780 + 24], b[780 + 25]])), (50, 10, 1), "RGB, 10-bit, method A");
    let offset = u32_at(4) as usize;
    (0..W * H).map(|i| u32_at(offset + i * 4) >> 2).map(|w| [w >> 20 & 0x3FF, w >> 10 & 0x3FF, w & 0x3FF]).collect()
}

#[test]
fn dpx_10_bit_reads_both_endians_and_packings_exactly_and_writes_a_10_bit_matte() {
    let dir = tempfile::tempdir().unwrap();
    let codes = dpx_codes();
    for (big, packing) in [(true, 1), (false, 1), (true, 2), (false, 2)] {
        let input = dir.path().join(format!("plate-{big}-{packing}.dpx"));
        write_dpx(&input, &codes, big, packing);

        // The reader alone: Alpha over source passes RGB through, at 16 bits.
        let passed = dir.path().join(format!("passed-{big}-{packing}.png"));
        render(&input, &passed, "alpha_straight");
        let image = Image::load(&passed).unwrap();
        assert_eq!(image.depth(), BitDepth::U16);
        for (i, c) in codes.iter().enumerate() {
            let (x, y) = ((i % W) as i32, (H - 1 - i / W) as i32);
            for (ch, &code) in c.iter().enumerate() {
                let want = (code * 65535 + 511) / 1023;
                assert_eq!(image.raw(x, y, ch), want, "pixel {i} channel {ch} ({} endian, packing {packing})", if big { "big" } else { "little" });
            }
        }

        // DPX out: the matte, as 10-bit codes.
        let output = dir.path().join(format!("matte-{big}-{packing}.dpx"));
        render(&input, &output, "matte_rgba");
        let written = read_dpx_codes(&output);
        let mut worst = 0i64;
        for (c, got) in codes.iter().zip(&written) {
            let m = luma(c.map(|v| v as f32 / 1023.0)).clamp(0.0, 1.0);
            let want = (m * 1023.0).round() as i64;
            for g in got {
                worst = worst.max((i64::from(*g) - want).abs());
            }
        }
        assert!(worst <= 1, "DPX matte codes off by {worst}");
    }
    // A DPX round trip through the CLI alone: DPX out read back in gives the same codes.
    let first = dir.path().join("matte-true-1.dpx");
    let again = dir.path().join("again.dpx");
    render(&first, &again, "alpha_straight");
    assert_eq!(read_dpx_codes(&again), read_dpx_codes(&first), "DPX written by the CLI reads back code for code");

    // What is not read is refused by name.
    let twelve = dir.path().join("twelve.dpx");
    write_dpx(&twelve, &codes, true, 1);
    let mut bytes = std::fs::read(&twelve).unwrap();
    bytes[780 + 23] = 12;
    std::fs::write(&twelve, bytes).unwrap();
    let out = deepmatte(&["render", "--effect", "luma-matte-extract", "--input", s(&twelve), "--output", s(&dir.path().join("t.png"))]);
    assert_fails_with(&out, &["12-bit", "only uncompressed 10-bit RGB"]);
}
