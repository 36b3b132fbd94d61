//! Image files the CLI reads and writes, by extension: PNG and OpenEXR (through `ofx-host`), TIFF
//! (8/16-bit and float, in and out), JPEG (in) and DPX (10-bit RGB, in and out). Every reader gives
//! an `ofx_host::Image` with file row 0 at the top (y = height - 1), as OFX counts y upwards.

mod dpx;
mod jpeg;
mod tiff;

use std::path::Path;

use anyhow::{bail, Context, Result};
use ofx_host::Image;

/// Extensions read.
pub const READ: &[&str] = &["png", "exr", "tif", "tiff", "jpg", "jpeg", "dpx"];

/// Extensions written (JPEG is lossy: a matte is never written as one).
pub const WRITE: &[&str] = &["png", "exr", "tif", "tiff", "dpx"];

/// The largest image a reader accepts, in pixels per side: a header is untrusted input, and its
/// size decides an allocation.
const MAX_SIDE: usize = 1 << 15;

/// Reads the image at `path`, by its extension.
pub fn load(path: &Path, ext: &str) -> Result<Image> {
    let image = match ext {
        "tif" | "tiff" => tiff::load(path),
        "jpg" | "jpeg" => jpeg::load(path),
        "dpx" => dpx::load(path),
        _ => return Image::load(path).with_context(|| format!("cannot read {}", path.display())),
    };
    image.with_context(|| format!("cannot read {}", path.display()))
}

/// Writes `image` to `path`, by its extension; PNG gets `png_bits` (8 or 16), TIFF the image's own
/// depth (8, 16 or 32-bit float), DPX 10 bits, EXR float.
pub fn save(image: &Image, path: &Path, ext: &str, png_bits: u8) -> Result<()> {
    let written = match ext {
        "tif" | "tiff" => tiff::save(image, path),
        "dpx" => dpx::save(image, path),
        "jpg" | "jpeg" => bail!("JPEG is read only: write .png, .tif, .exr or .dpx"),
        _ => image.save_as(path, png_bits).map_err(anyhow::Error::from),
    };
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Checks a header's image size before anything is allocated for it.
fn checked_size(width: usize, height: usize) -> Result<(usize, usize)> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        bail!("image size {width}x{height} is outside 1..={MAX_SIDE} pixels per side");
    }
    Ok((width, height))
}
