//! One pixel channel value of any bit depth hosts send: 8-bit, 16-bit integer or 32-bit float.

/// A channel sample type. Integers map `0..=MAX` to `0.0..=1.0`; floats pass through unchanged
/// (values above 1 or below 0 are kept: float images carry super-whites).
pub trait Sample: Copy + Send + Sync + bytemuck::Pod + 'static {
    /// Converts to the normalised `f32` scale.
    fn to_f32(self) -> f32;
    /// Converts from the normalised `f32` scale, rounding and clamping for integer types.
    fn from_f32(v: f32) -> Self;
}

impl Sample for u8 {
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 255.0)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
    }
}

impl Sample for u16 {
    #[inline]
    fn to_f32(self) -> f32 {
        f32::from(self) * (1.0 / 65535.0)
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 65535.0 + 0.5) as u16
    }
}

impl Sample for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline]
    fn from_f32(v: f32) -> Self {
        v
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
    fn integers_clamp_and_floats_do_not() {
        assert_eq!(u8::from_f32(1.7), 255);
        assert_eq!(u16::from_f32(-0.2), 0);
        assert_eq!(f32::from_f32(1.7), 1.7);
    }
}
