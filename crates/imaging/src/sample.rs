//! One pixel channel value of any bit depth hosts send: 8-bit, 16-bit integer or 32-bit float.

/// A channel sample type. Integers map `0..=MAX` to `0.0..=1.0`; floats pass through unchanged
/// (values above 1 or below 0 are kept: float images carry super-whites).
pub trait Sample: Copy + Send + Sync + bytemuck::Pod + 'static {
    /// Converts to the normalised `f32` scale.
    fn to_f32(self) -> f32;
    /// Converts from the normalised `f32` scale, rounding and clamping for integer types.
    fn from_f32(v: f32) -> Self;

    /// Converts packed RGBA samples to the `f32` scratch layout.
    #[inline(always)]
    fn read_rgba(src: &[Self], out: &mut [[f32; 4]]) {
        // One flat loop over the samples (not one per pixel): it vectorises without shuffles.
        for (o, s) in out.as_flattened_mut().iter_mut().zip(src) {
            *o = s.to_f32();
        }
    }

    /// Converts the `f32` scratch layout to packed RGBA samples.
    #[inline(always)]
    fn write_rgba(px: &[[f32; 4]], dst: &mut [Self]) {
        for (d, &v) in dst.iter_mut().zip(px.as_flattened()) {
            *d = Self::from_f32(v);
        }
    }
}

/// `(clamp(v, 0, 1) · max + 0.5) as u32` (NaN gives 0) for `max` below 2^22, with float
/// operations and a bit cast only. Rust's `as` from a float saturates and maps NaN to 0, which
/// LLVM emits as a scalar conversion with a NaN test per value; this gives the same number in a
/// form that vectorises: `max/min` turn NaN into 0 (where `clamp` would pass it on: 0 either
/// way in the end), `floor` is `as`'s truncation for these non-negative values (one instruction
/// in [`crate::simd::widest`]'s AVX2 code, where every row is written), and adding 2^23 puts the
/// integer, exactly, in the low mantissa bits.
#[inline(always)]
#[allow(clippy::manual_clamp)] // clamp would pass NaN through
fn round_to_code(v: f32, max: f32) -> u32 {
    const SHIFT: f32 = 8_388_608.0; // 2^23
    let t = v.max(0.0).min(1.0) * max + 0.5;
    (t.floor() + SHIFT).to_bits() - SHIFT.to_bits()
}

impl Sample for u8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 255.0)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        round_to_code(v, 255.0) as u8
    }
}

impl Sample for u16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 65535.0)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        round_to_code(v, 65535.0) as u16
    }
}

impl Sample for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
    /// Float RGBA already is the scratch layout: a straight copy.
    #[inline(always)]
    fn read_rgba(src: &[Self], out: &mut [[f32; 4]]) {
        out.copy_from_slice(bytemuck::cast_slice(&src[..out.len() * 4]));
    }
    #[inline(always)]
    fn write_rgba(px: &[[f32; 4]], dst: &mut [Self]) {
        dst[..px.len() * 4].copy_from_slice(bytemuck::cast_slice(px));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_round_trip_is_exact() {
        for v in 0..=255u8 {
            assert_eq!(u8::from_f32(v.to_f32()), v);
        }
        for v in (0..=65535u16).step_by(7) {
            assert_eq!(u16::from_f32(v.to_f32()), v);
        }
    }

    #[test]
    fn integer_conversion_matches_the_saturating_cast_everywhere() {
        let mut probes: Vec<f32> = vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1.0, f32::MAX, f32::MIN, f32::MIN_POSITIVE];
        probes.extend((0..=300_000).map(|i| i as f32 / 250_000.0 - 0.1));
        for v in probes {
            assert_eq!(u8::from_f32(v), (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8, "{v}");
            assert_eq!(u16::from_f32(v), (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16, "{v}");
        }
    }

    #[test]
    fn integers_clamp_and_floats_do_not() {
        assert_eq!(u8::from_f32(1.7), 255);
        assert_eq!(u16::from_f32(-0.2), 0);
        assert_eq!(f32::from_f32(1.7), 1.7);
    }
}
