//! DPX (SMPTE 268M) in and out, for the VFX staple: 10-bit RGB plates, packed three samples per 32-bit
//! word ("filled" packing: method A, padding in the two low bits; method B, padding in the two high
//! bits), big- or little-endian (magic `SDPX` / `XPDS`). No Rust crate for DPX is kept up (none on
//! crates.io with a release in years that writes 10-bit), so this small reader/writer covers the
//! common case and refuses the rest by name (other bit depths, RLE, several image elements).
//!
//! Code values pass through unchanged (a log plate stays log, as a compositor's raw read gives it):
//! 10-bit codes 0..1023 map to 16-bit 0..65535. Writes are big-endian method A, the form every
//! reader accepts, with the transfer characteristic "user defined" (the effect's output may be a
//! matte, not a plate).

use std::path::Path;

use anyhow::{bail, Result};
use ofx_host::{BitDepth, Components, Image, Rect};

use super::checked_size;

/// The generic (file + image + orientation) and industry (film + TV) headers; the image data follows.
const HEADER_BYTES: usize = 2048;
const MAGIC: [u8; 4] = *b"SDPX";
/// Image element descriptor: R, G, B.
const DESCRIPTOR_RGB: u8 = 50;
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Reads big- or little-endian fields, as the magic says.
struct Fields<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn u32(&self, at: usize) -> u32 {
        let b: [u8; 4] = self.bytes[at..at + 4].try_into().expect("4 bytes");
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    fn u16(&self, at: usize) -> u16 {
        let b: [u8; 2] = self.bytes[at..at + 2].try_into().expect("2 bytes");
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }
}

pub fn load(path: &Path) -> Result<Image> {
    let bytes = std::fs::read(path)?;
    if bytes.len() < 1408 {
        bail!("too short for a DPX header ({} bytes)", bytes.len());
    }
    let big = match &bytes[0..4] {
        b"SDPX" => true,
        b"XPDS" => false,
        _ => bail!("not a DPX file (no SDPX magic)"),
    };
    let f = Fields { bytes: &bytes, big };
    let data_offset = f.u32(4) as usize;
    let elements = f.u16(770);
    let (w, h) = checked_size(f.u32(772) as usize, f.u32(776) as usize)?;
    // The first image element (72 bytes at 780).
    let descriptor = bytes[780 + 20];
    let bit_size = bytes[780 + 23];
    let packing = f.u16(780 + 24);
    let encoding = f.u16(780 + 26);
    let element_offset = f.u32(780 + 28);
    let eol_padding = match f.u32(780 + 32) {
        UNDEFINED => 0,
        p => p as usize,
    };
    if elements != 1 {
        bail!("DPX with {elements} image elements is not read (one RGB element)");
    }
    if descriptor != DESCRIPTOR_RGB || bit_size != 10 || encoding != 0 || !(packing == 1 || packing == 2) {
        bail!(
            "DPX element is descriptor {descriptor}, {bit_size}-bit, packing {packing}, encoding {encoding}: only uncompressed \
             10-bit RGB (descriptor 50) filled to 32-bit words (packing 1 or 2) is read"
        );
    }
    let offset = if element_offset != 0 && element_offset != UNDEFINED { element_offset as usize } else { data_offset };
    let line_bytes = w * 4 + eol_padding;
    let needed = offset.checked_add(line_bytes * (h - 1) + w * 4);
    if needed.is_none_or(|n| n > bytes.len()) {
        bail!("DPX data ({w}x{h} from byte {offset}) runs past the end of the file ({} bytes)", bytes.len());
    }
    // Method A: R in bits 31..22, G 21..12, B 11..2; method B: the same, two bits lower.
    let shift = if packing == 1 { 2 } else { 0 };
    let mut image = Image::new(Rect::from_size(w, h), BitDepth::U16, Components::Rgb);
    for row in 0..h {
        let y = (h - 1 - row) as i32;
        for x in 0..w {
            let word = f.u32(offset + row * line_bytes + x * 4) >> shift;
            for (c, at) in [20u32, 10, 0].into_iter().enumerate() {
                let code = (word >> at) & 0x3FF;
                image.set_raw(x as i32, y, c, (code * 65535 + 511) / 1023);
            }
        }
    }
    Ok(image)
}

pub fn save(image: &Image, path: &Path) -> Result<()> {
    let (w, h) = (image.width(), image.height());
    let b = image.bounds();
    let image_bytes = w * h * 4;
    let mut out = vec![0u8; HEADER_BYTES + image_bytes];
    let put32 = |out: &mut [u8], at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let put16 = |out: &mut [u8], at: usize, v: u16| out[at..at + 2].copy_from_slice(&v.to_be_bytes());
    // File information header.
    out[0..4].copy_from_slice(&MAGIC);
    put32(&mut out, 4, HEADER_BYTES as u32);
    out[8..12].copy_from_slice(b"V2.0");
    put32(&mut out, 16, (HEADER_BYTES + image_bytes) as u32);
    put32(&mut out, 20, 1); // ditto key: new frame
    put32(&mut out, 24, 1664); // generic header size
    put32(&mut out, 28, 384); // industry header size
    put32(&mut out, 32, 0); // user data size
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name = &name.as_bytes()[..name.len().min(99)];
    out[36..36 + name.len()].copy_from_slice(name);
    let creator = b"DeepMatte";
    out[160..160 + creator.len()].copy_from_slice(creator);
    put32(&mut out, 660, UNDEFINED); // no encryption
    // Image information header.
    put16(&mut out, 768, 0); // left to right, top to bottom
    put16(&mut out, 770, 1);
    put32(&mut out, 772, w as u32);
    put32(&mut out, 776, h as u32);
    let e = 780;
    put32(&mut out, e, 0); // unsigned
    put32(&mut out, e + 4, 0);
    put32(&mut out, e + 12, 1023);
    out[e + 20] = DESCRIPTOR_RGB;
    out[e + 21] = 0; // transfer: user defined
    out[e + 22] = 0; // colorimetric: user defined
    out[e + 23] = 10;
    put16(&mut out, e + 24, 1); // method A
    put16(&mut out, e + 26, 0); // no encoding
    put32(&mut out, e + 28, HEADER_BYTES as u32);
    put32(&mut out, e + 32, 0);
    put32(&mut out, e + 36, 0);
    let code = |x: i32, y: i32, c: usize| -> u32 {
        let v = match image.components() {
            Components::Alpha => image.get(x, y, 0),
            _ => image.get(x, y, c),
        };
        (v.clamp(0.0, 1.0) * 1023.0).round() as u32
    };
    for (row, y) in (b.y1..b.y2).rev().enumerate() {
        for (col, x) in (b.x1..b.x2).enumerate() {
            let word = (code(x, y, 0) << 22) | (code(x, y, 1) << 12) | (code(x, y, 2) << 2);
            put32(&mut out, HEADER_BYTES + (row * w + col) * 4, word);
        }
    }
    std::fs::write(path, out)?;
    Ok(())
}
