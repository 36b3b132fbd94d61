//! Image files: PNG (8/16-bit) and OpenEXR (f32). Files store the top row first while
//! OFX counts y upwards, so file row 0 is y = height - 1.

use crate::image::{BitDepth, Components, Image, Rect};
use crate::HostError;
use std::path::Path;

fn io_error(path: &Path, reason: impl std::fmt::Display) -> HostError {
    HostError::ImageIo { path: path.to_path_buf(), reason: reason.to_string() }
}

fn extension(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

/// Loads by extension (`.png`, `.exr`).
pub(crate) fn load(path: &Path) -> Result<Image, HostError> {
    match extension(path).as_str() {
        "png" => load_png(path),
        "exr" => load_exr(path),
        other => Err(io_error(path, format!("unsupported image extension {other:?} (use .png or .exr)"))),
    }
}

/// Saves by extension; `png_bits` is 8 or 16.
pub(crate) fn save(image: &Image, path: &Path, png_bits: u8) -> Result<(), HostError> {
    match extension(path).as_str() {
        "png" => save_png(image, path, png_bits),
        "exr" => save_exr(image, path),
        other => Err(io_error(path, format!("unsupported image extension {other:?} (use .png or .exr)"))),
    }
}

fn load_png(path: &Path) -> Result<Image, HostError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| io_error(path, e))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| io_error(path, e))?;
    let (depth, bytes) = match info.bit_depth {
        png::BitDepth::Sixteen => (BitDepth::U16, 2),
        png::BitDepth::Eight => (BitDepth::U8, 1),
        other => return Err(io_error(path, format!("unsupported PNG bit depth {other:?}"))),
    };
    // Grey → Alpha (a matte), grey+alpha → RGBA with grey in RGB.
    let (components, file_channels) = match info.color_type {
        png::ColorType::Grayscale => (Components::Alpha, 1),
        png::ColorType::GrayscaleAlpha => (Components::Rgba, 2),
        png::ColorType::Rgb => (Components::Rgb, 3),
        png::ColorType::Rgba => (Components::Rgba, 4),
        png::ColorType::Indexed => return Err(io_error(path, "indexed PNG was not expanded")),
    };
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = Image::new(Rect::from_size(w, h), depth, components);
    for row in 0..h {
        let line = &buf[row * info.line_size..row * info.line_size + w * file_channels * bytes];
        let y = (h - 1 - row) as i32;
        if file_channels == components.count() {
            // Whole rows at once: big-endian file samples to the image's native-endian ones.
            let out = image.row_mut(y);
            if bytes == 1 {
                out.copy_from_slice(line);
            } else {
                for (o, i) in out.chunks_exact_mut(2).zip(line.chunks_exact(2)) {
                    o.copy_from_slice(&u16::from_be_bytes([i[0], i[1]]).to_ne_bytes());
                }
            }
            continue;
        }
        // Grey + alpha: grey into RGB, alpha into A.
        for x in 0..w {
            let sample = |c: usize| {
                let at = (x * file_channels + c) * bytes;
                if bytes == 2 {
                    u16::from_be_bytes([line[at], line[at + 1]]) as u32
                } else {
                    line[at] as u32
                }
            };
            for c in 0..components.count() {
                image.set_raw(x as i32, y, c, sample(if c == 3 { 1 } else { 0 }));
            }
        }
    }
    Ok(image)
}

fn save_png(image: &Image, path: &Path, png_bits: u8) -> Result<(), HostError> {
    let depth = match png_bits {
        8 => BitDepth::U8,
        16 => BitDepth::U16,
        other => return Err(io_error(path, format!("PNG bit depth must be 8 or 16, not {other}"))),
    };
    let converted;
    let img = if image.depth() == depth {
        image
    } else {
        converted = image.converted(depth, image.components());
        &converted
    };
    let color = match img.components() {
        Components::Rgba => png::ColorType::Rgba,
        Components::Rgb => png::ColorType::Rgb,
        Components::Alpha => png::ColorType::Grayscale,
    };
    let b = img.bounds();
    let mut data = Vec::with_capacity(img.width() * img.height() * img.pixel_bytes());
    for y in (b.y1..b.y2).rev() {
        let row = img.row(y);
        if depth == BitDepth::U16 {
            data.extend(row.chunks_exact(2).flat_map(|s| u16::from_ne_bytes([s[0], s[1]]).to_be_bytes()));
        } else {
            data.extend_from_slice(row);
        }
    }
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), img.width() as u32, img.height() as u32);
    encoder.set_color(color);
    encoder.set_depth(if depth == BitDepth::U16 { png::BitDepth::Sixteen } else { png::BitDepth::Eight });
    // Lossless either way: the fast deflate (fdeflate) costs a fraction of the default level's
    // time for somewhat larger files, and rendered sequences are written, not archived.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| io_error(path, e))?;
    writer.write_image_data(&data).map_err(|e| io_error(path, e))?;
    writer.finish().map_err(|e| io_error(path, e))
}

/// Pixels of an EXR being read: RGBA samples top row first, and whether alpha existed.
struct ExrPixels {
    width: usize,
    has_alpha: bool,
    samples: Vec<[f32; 4]>,
}

fn load_exr(path: &Path) -> Result<Image, HostError> {
    let read = exr::prelude::read_first_rgba_layer_from_file(
        path,
        |size, channels| ExrPixels {
            width: size.width(),
            has_alpha: channels.3.is_some(),
            samples: vec![[0.0; 4]; size.width() * size.height()],
        },
        |px: &mut ExrPixels, at, (r, g, b, a): (f32, f32, f32, f32)| {
            let i = at.y() * px.width + at.x();
            px.samples[i] = [r, g, b, a];
        },
    )
    .map_err(|e| io_error(path, e))?;
    let px = read.layer_data.channel_data.pixels;
    let h = px.samples.len().checked_div(px.width).unwrap_or(0);
    let components = if px.has_alpha { Components::Rgba } else { Components::Rgb };
    let mut image = Image::new(Rect::from_size(px.width, h), BitDepth::F32, components);
    for (i, s) in px.samples.iter().enumerate() {
        let (x, y) = ((i % px.width) as i32, (h - 1 - i / px.width) as i32);
        (0..components.count()).for_each(|c| image.set(x, y, c, s[c]));
    }
    Ok(image)
}

fn save_exr(image: &Image, path: &Path) -> Result<(), HostError> {
    let b = image.bounds();
    let (w, h) = (image.width(), image.height());
    let at = |x: usize, y: usize| (b.x1 + x as i32, b.y2 - 1 - y as i32);
    let result = match image.components() {
        Components::Rgba => exr::prelude::write_rgba_file(path, w, h, |x, y| {
            let (px, py) = at(x, y);
            let p = image.rgba(px, py);
            (p[0], p[1], p[2], p[3])
        }),
        Components::Rgb | Components::Alpha => exr::prelude::write_rgb_file(path, w, h, |x, y| {
            let (px, py) = at(x, y);
            let p = image.rgba(px, py);
            (p[0], p[1], p[2])
        }),
    };
    result.map_err(|e| io_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ofx-host-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn pattern(depth: BitDepth, components: Components) -> Image {
        Image::from_fn(Rect::from_size(5, 3), depth, components, |x, y, c| {
            (x as f32 * 0.19 + y as f32 * 0.31 + c as f32 * 0.07) % 1.0
        })
    }

    fn assert_same_raw(a: &Image, b: &Image) {
        assert_eq!((a.bounds(), a.depth(), a.components()), (b.bounds(), b.depth(), b.components()));
        let r = a.bounds();
        for y in r.y1..r.y2 {
            for x in r.x1..r.x2 {
                for c in 0..a.components().count() {
                    assert_eq!(a.raw(x, y, c), b.raw(x, y, c), "({x},{y}) channel {c}");
                }
            }
        }
    }

    #[test]
    fn png8_and_png16_round_trip_bit_exact() {
        for (depth, comps) in [
            (BitDepth::U8, Components::Rgba),
            (BitDepth::U8, Components::Rgb),
            (BitDepth::U16, Components::Rgba),
            (BitDepth::U16, Components::Alpha),
        ] {
            let img = pattern(depth, comps);
            let path = temp(&format!("{depth:?}-{comps:?}.png"));
            img.save(&path).unwrap();
            assert_same_raw(&img, &Image::load(&path).unwrap());
        }
    }

    #[test]
    fn png_row_zero_is_the_top_row() {
        let img = Image::from_fn(Rect::from_size(1, 2), BitDepth::U8, Components::Alpha, |_, y, _| y as f32);
        let path = temp("orientation.png");
        img.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..2], &[255, 0], "file row 0 must hold y = 1 (the top)");
    }

    #[test]
    fn float_images_save_as_16_bit_png_and_exr_keeps_floats() {
        let img = Image::from_fn(Rect::from_size(4, 2), BitDepth::F32, Components::Rgba, |x, _, c| {
            x as f32 * 0.75 - 0.5 + c as f32
        });
        let png_path = temp("float.png");
        img.save(&png_path).unwrap();
        let back = Image::load(&png_path).unwrap();
        assert_eq!(back.depth(), BitDepth::U16);
        assert_eq!(back.get(0, 0, 0), 0.0, "negative clamps to 0");
        let exr_path = temp("float.exr");
        img.save(&exr_path).unwrap();
        let exr = Image::load(&exr_path).unwrap();
        assert_same_raw(&img, &exr);
    }

    #[test]
    fn exr_keeps_offset_images_pixels_and_rgb() {
        let img = pattern(BitDepth::F32, Components::Rgb).with_bounds_offset(3, 4);
        let path = temp("rgb.exr");
        img.save(&path).unwrap();
        let back = Image::load(&path).unwrap();
        assert_eq!(back.components(), Components::Rgb);
        assert_eq!(back.get(0, 0, 2), img.get(3, 4, 2));
    }

    #[test]
    fn errors_name_the_path() {
        let err = Image::load(Path::new("/nonexistent/x.png")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/x.png"), "{err}");
        let err = pattern(BitDepth::U8, Components::Rgb).save(Path::new("/tmp/x.bmp")).unwrap_err().to_string();
        assert!(err.contains("x.bmp") && err.contains("bmp"), "{err}");
    }
}
