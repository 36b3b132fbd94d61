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
        for (o, p) in out.iter_mut().zip(src.chunks_exact(4)) {
            *o = [p[0].to_f32(), p[1].to_f32(), p[2].to_f32(), p[3].to_f32()];
        }
    }

    /// Converts the `f32` scratch layout to packed RGBA samples.
    #[inline(always)]
    fn write_rgba(px: &[[f32; 4]], dst: &mut [Self]) {
        for (d, p) in dst.chunks_exact_mut(4).zip(px) {
            for c in 0..4 {
                d[c] = Self::from_f32(p[c]);
            }
        }
    }
}

impl Sample for u8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 255.0)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        // In [0.5, 255.5] after the clamp (NaN stays NaN and converts to 0 either way), so the
        // truncation through i32 equals `as u8`'s and vectorises, which the saturating one does not.
        (v.clamp(0.0, 1.0) * 255.0 + 0.5) as i32 as u8
    }
}

impl Sample for u16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 65535.0)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        // As u8's: through i32, the same value, vectorised.
        (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as i32 as u16
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
