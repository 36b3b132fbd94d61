//! JPEG in (baseline and progressive, through `zune-jpeg`), decoded to 8-bit RGB.

use std::path::Path;

use anyhow::{anyhow, Result};
use ofx_host::{BitDepth, Components, Image, Rect};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{checked_size, MAX_SIDE};

pub fn load(path: &Path) -> Result<Image> {
    let bytes = std::fs::read(path)?;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(&bytes), options);
    let pixels = decoder.decode().map_err(|e| anyhow!("not a JPEG this reader can decode: {e:?}"))?;
    let info = decoder.info().ok_or_else(|| anyhow!("JPEG headers missing"))?;
    let (w, h) = checked_size(usize::from(info.width), usize::from(info.height))?;
    if pixels.len() != w * h * 3 {
        return Err(anyhow!("JPEG decoded to {} bytes, expected {} for {w}x{h} RGB", pixels.len(), w * h * 3));
    }
    let mut image = Image::new(Rect::from_size(w, h), BitDepth::U8, Components::Rgb);
    for (i, px) in pixels.chunks_exact(3).enumerate() {
        let (x, y) = ((i % w) as i32, (h - 1 - i / w) as i32);
        for (c, &v) in px.iter().enumerate() {
            image.set_raw(x, y, c, u32::from(v));
        }
    }
    Ok(image)
}
