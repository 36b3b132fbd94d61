//! TIFF in and out through the `tiff` crate: 8-bit, 16-bit and 32-bit float samples; grey, grey +
//! alpha, RGB and RGBA (chunky). Grey reads as a matte (Alpha), as PNG does. Written uncompressed,
//! at the image's own depth, so a float plate stays float.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{bail, Result};
use ofx_host::{BitDepth, Components, Image, Rect};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{colortype, TiffEncoder};
use tiff::ColorType;

use super::checked_size;

pub fn load(path: &Path) -> Result<Image> {
    let mut decoder = Decoder::new(BufReader::new(File::open(path)?))?;
    let (w, h) = decoder.dimensions()?;
    let (w, h) = checked_size(w as usize, h as usize)?;
    // (components in the image, samples per pixel in the file, and where each component comes from)
    let (components, samples, from): (Components, usize, &[usize]) = match decoder.colortype()? {
        ColorType::Gray(_) => (Components::Alpha, 1, &[0]),
        ColorType::GrayA(_) => (Components::Rgba, 2, &[0, 0, 0, 1]),
        ColorType::RGB(_) => (Components::Rgb, 3, &[0, 1, 2]),
        ColorType::RGBA(_) => (Components::Rgba, 4, &[0, 1, 2, 3]),
        other => bail!("TIFF colour type {other:?} is not read (grey, grey+alpha, RGB or RGBA)"),
    };
    let data = decoder.read_image()?;
    let depth = match &data {
        DecodingResult::U8(_) => BitDepth::U8,
        DecodingResult::U16(_) => BitDepth::U16,
        DecodingResult::F16(_) | DecodingResult::F32(_) | DecodingResult::F64(_) => BitDepth::F32,
        _ => bail!("TIFF sample format is not read (8-bit, 16-bit or float)"),
    };
    let len = w * h * samples;
    let value = |i: usize| -> f32 {
        match &data {
            DecodingResult::U8(v) => f32::from(v[i]),
            DecodingResult::U16(v) => f32::from(v[i]),
            DecodingResult::F16(v) => v[i].to_f32(),
            DecodingResult::F32(v) => v[i],
            DecodingResult::F64(v) => v[i] as f32,
            _ => 0.0,
        }
    };
    let got = match &data {
        DecodingResult::U8(v) => v.len(),
        DecodingResult::U16(v) => v.len(),
        DecodingResult::F16(v) => v.len(),
        DecodingResult::F32(v) => v.len(),
        DecodingResult::F64(v) => v.len(),
        _ => 0,
    };
    if got < len {
        bail!("TIFF holds {got} samples, {len} needed for {w}x{h} with {samples} per pixel (planar TIFFs are not read)");
    }
    let mut image = Image::new(Rect::from_size(w, h), depth, components);
    for row in 0..h {
        let y = (h - 1 - row) as i32;
        for x in 0..w {
            let at = (row * w + x) * samples;
            for (c, &s) in from.iter().enumerate() {
                let v = value(at + s);
                match depth {
                    BitDepth::F32 => image.set(x as i32, y, c, v),
                    _ => image.set_raw(x as i32, y, c, v as u32),
                }
            }
        }
    }
    Ok(image)
}

pub fn save(image: &Image, path: &Path) -> Result<()> {
    let b = image.bounds();
    let (w, h) = (image.width() as u32, image.height() as u32);
    let n = image.components().count();
    let rows = || (b.y1..b.y2).rev().flat_map(move |y| (b.x1..b.x2).flat_map(move |x| (0..n).map(move |c| (x, y, c))));
    let mut encoder = TiffEncoder::new(BufWriter::new(File::create(path)?))?;
    match image.depth() {
        BitDepth::U8 => {
            let data: Vec<u8> = rows().map(|(x, y, c)| image.raw(x, y, c) as u8).collect();
            match image.components() {
                Components::Rgba => encoder.write_image::<colortype::RGBA8>(w, h, &data)?,
                Components::Rgb => encoder.write_image::<colortype::RGB8>(w, h, &data)?,
                Components::Alpha => encoder.write_image::<colortype::Gray8>(w, h, &data)?,
            }
        }
        BitDepth::U16 => {
            let data: Vec<u16> = rows().map(|(x, y, c)| image.raw(x, y, c) as u16).collect();
            match image.components() {
                Components::Rgba => encoder.write_image::<colortype::RGBA16>(w, h, &data)?,
                Components::Rgb => encoder.write_image::<colortype::RGB16>(w, h, &data)?,
                Components::Alpha => encoder.write_image::<colortype::Gray16>(w, h, &data)?,
            }
        }
        BitDepth::F32 => {
            let data: Vec<f32> = rows().map(|(x, y, c)| image.get(x, y, c)).collect();
            match image.components() {
                Components::Rgba => encoder.write_image::<colortype::RGBA32Float>(w, h, &data)?,
                Components::Rgb => encoder.write_image::<colortype::RGB32Float>(w, h, &data)?,
                Components::Alpha => encoder.write_image::<colortype::Gray32Float>(w, h, &data)?,
            }
        }
    }
    Ok(())
}
