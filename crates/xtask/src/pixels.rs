//! A minimal 8-bit RGBA picture with PNG in and out: enough for icons, the sample and the demo's
//! side-by-side, without pulling an imaging crate into the task runner.

use std::io::BufWriter;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Row-major RGBA pixels, top row first.
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Picture {
    /// Paints every pixel with `paint(x, y)`.
    pub fn from_fn(width: u32, height: u32, mut paint: impl FnMut(u32, u32) -> [u8; 4]) -> Self {
        let mut data = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&paint(x, y));
            }
        }
        Picture { width, height, data }
    }

    /// The pixel at (x, y).
    pub fn get(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.data[i], self.data[i + 1], self.data[i + 2], self.data[i + 3]]
    }

    /// Reads any 8- or 16-bit PNG (grey, RGB, with or without alpha), keeping the top 8 bits.
    pub fn load_png(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut decoder = png::Decoder::new(file);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let samples = &buf[..info.buffer_size()];
        let data = match channels {
            1 => samples.iter().flat_map(|&v| [v, v, v, 255]).collect(),
            2 => samples.chunks(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
            3 => samples.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
            4 => samples.to_vec(),
            n => bail!("{}: unexpected {n} channels", path.display()),
        };
        Ok(Picture { width: info.width, height: info.height, data })
    }

    /// Writes an 8-bit PNG; `alpha: false` drops the alpha channel (smaller files for opaque images).
    pub fn save_png(&self, path: &Path, alpha: bool) -> Result<()> {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer;
        if alpha {
            encoder.set_color(png::ColorType::Rgba);
            writer = encoder.write_header()?;
            writer.write_image_data(&self.data)?;
        } else {
            encoder.set_color(png::ColorType::Rgb);
            writer = encoder.write_header()?;
            let rgb: Vec<u8> = self.data.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
            writer.write_image_data(&rgb)?;
        }
        writer.finish()?;
        Ok(())
    }
}

/// Linear interpolation between two colours, `t` in [0, 1].
pub fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

/// A colour in [0, 1] as opaque 8-bit RGBA.
pub fn to_rgba8(c: [f32; 3]) -> [u8; 4] {
    let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    [q(c[0]), q(c[1]), q(c[2]), 255]
}
