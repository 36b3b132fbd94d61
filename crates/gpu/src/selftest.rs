//! The one small launch the Load-time self-test checks: Luma Matte Extract of a 5×3 image with
//! offset bounds, against `imaging::extract_matte` on the same pixels.

use imaging::{Components, ImageMut, ImageRef, LumaChannel, MatteLevels, MatteOutput, Rect, RowMut, RowRef};

use crate::exec::{Exec, GpuError};
use crate::ops::{luma_matte, DeviceImage};

/// The test image: bounds (2, 1)–(7, 4), packed RGBA f32.
fn pixels() -> (Rect, Vec<f32>) {
    let bounds = Rect { x1: 2, y1: 1, x2: 7, y2: 4 };
    (bounds, (0..5 * 3 * 4).map(|i| ((i * 37) % 17) as f32 / 16.0).collect())
}

/// The CPU's answer for [`pixels`].
pub fn expected() -> Vec<f32> {
    let (bounds, src) = pixels();
    let mut out = vec![0.0f32; src.len()];
    let rows = src.chunks_exact(20).map(RowRef::F32).collect();
    let source = ImageRef::new(bounds, Components::Rgba, rows);
    let mut target = ImageMut::new(bounds, Components::Rgba, out.chunks_exact_mut(20).map(RowMut::F32).collect());
    let levels = MatteLevels { black: 0.1, white: 0.8, gamma: 1.5, invert: false };
    imaging::extract_matte(&mut target, bounds, &source, None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied);
    drop(target);
    out
}

/// Runs the launch through `e` and reads the result back through `read` (a device copy or the
/// emulation's buffer) and compares it with [`expected`] within 1e-5.
pub fn run_with<E: Exec + ?Sized>(e: &E, read: impl Fn(u64, usize) -> Result<Vec<f32>, GpuError>) -> Result<(), GpuError> {
    let (bounds, src) = pixels();
    let bytes: Vec<u8> = src.iter().flat_map(|v| v.to_le_bytes()).collect();
    let input = e.alloc(bytes.len())?;
    let output = e.alloc(bytes.len())?;
    let result = (|| {
        e.upload(input, &bytes)?;
        let image = |data| DeviceImage { data, row_bytes: 80, bounds };
        let levels = MatteLevels { black: 0.1, white: 0.8, gamma: 1.5, invert: false };
        luma_matte(e, &image(output), bounds, &image(input), None, LumaChannel::Luma709, levels, MatteOutput::AlphaPremultiplied)?;
        let got = read(output, src.len())?;
        let want = expected();
        match got.iter().zip(&want).position(|(a, b)| (a - b).abs() > 1e-5) {
            None => Ok(()),
            Some(i) => Err(GpuError::Failed(format!("self-test launch: value {i} is {} where the CPU gives {}", got[i], want[i]))),
        }
    })();
    e.free(input)?;
    e.free(output)?;
    result
}

pub(crate) fn run(device: &crate::Device) -> Result<(), GpuError> {
    run_with(device, |ptr, len| device.read_back(ptr, len))
}
