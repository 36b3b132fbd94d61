//! One pixel channel value of any bit depth hosts send: 8-bit, 16-bit integer or 32-bit float.

use crate::{RowMut, RowRef};

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

/// An integer sample (8 or 16 bits), seen as its code: the whole number `0..=MAX` that stands for
/// `code / MAX`. Operations that keep integer frames in code units (Luma Matte Extract's integer
/// path) read and write a host's rows through it as they are.
pub(crate) trait Code: Sample {
    /// The code of 1.0.
    const MAX: f32;
    /// One RGBA pixel as those loops hold it: for 8 bits a `u32` (channels come out by shifts,
    /// which vectorise without shuffles), for 16 bits its four samples.
    type Pixel: bytemuck::Pod + Send + Sync;
    /// The row's samples, when the row is of this depth.
    fn of_row<'r>(row: &'r RowRef<'_>) -> Option<&'r [Self]>;
    /// The row's samples, when the row is of this depth.
    fn of_row_mut<'r>(row: &'r mut RowMut<'_>) -> Option<&'r mut [Self]>;
    /// The pixel's codes as floats (exact), R, G, B, A.
    fn unpack(px: Self::Pixel) -> [f32; 4];
    /// The pixel of the codes nearest `codes`, ties to even; each in `0..=MAX` (outside it the
    /// result is meaningless: callers keep them inside).
    fn pack(codes: [f32; 4]) -> Self::Pixel;
}

/// The integer nearest `v` (ties to even) for `v` in `0..2^22`: `v` + 2^23 puts it, exactly, in
/// the low mantissa bits (two float operations and a bit cast, so loops over it vectorise).
#[inline(always)]
fn nearest_integer(v: f32) -> u32 {
    const SHIFT: f32 = 8_388_608.0; // 2^23
    (v + SHIFT).to_bits() - SHIFT.to_bits()
}

impl Code for u8 {
    const MAX: f32 = 255.0;
    type Pixel = u32;
    #[inline(always)]
    fn of_row<'r>(row: &'r RowRef<'_>) -> Option<&'r [Self]> {
        match row {
            RowRef::U8(r) => Some(r),
            _ => None,
        }
    }
    #[inline(always)]
    fn of_row_mut<'r>(row: &'r mut RowMut<'_>) -> Option<&'r mut [Self]> {
        match row {
            RowMut::U8(r) => Some(r),
            _ => None,
        }
    }
    #[inline(always)]
    fn unpack(px: u32) -> [f32; 4] {
        // The samples in memory order R, G, B, A are the little-endian bytes of the u32.
        let px = u32::from_le(px);
        [px & 0xFF, (px >> 8) & 0xFF, (px >> 16) & 0xFF, px >> 24].map(|c| c as f32)
    }
    #[inline(always)]
    fn pack(codes: [f32; 4]) -> u32 {
        let [r, g, b, a] = codes.map(nearest_integer);
        u32::to_le(r | g << 8 | b << 16 | a << 24)
    }
}

impl Code for u16 {
    const MAX: f32 = 65535.0;
    /// (R, G) and (B, A) as the little-endian halves of two u32: channels by shifts again.
    type Pixel = [u32; 2];
    #[inline(always)]
    fn of_row<'r>(row: &'r RowRef<'_>) -> Option<&'r [Self]> {
        match row {
            RowRef::U16(r) => Some(r),
            _ => None,
        }
    }
    #[inline(always)]
    fn of_row_mut<'r>(row: &'r mut RowMut<'_>) -> Option<&'r mut [Self]> {
        match row {
            RowMut::U16(r) => Some(r),
            _ => None,
        }
    }
    #[inline(always)]
    fn unpack(px: [u32; 2]) -> [f32; 4] {
        let [rg, ba] = px.map(u32::from_le);
        [rg & 0xFFFF, rg >> 16, ba & 0xFFFF, ba >> 16].map(|c| c as f32)
    }
    #[inline(always)]
    fn pack(codes: [f32; 4]) -> [u32; 2] {
        let [r, g, b, a] = codes.map(nearest_integer);
        [u32::to_le(r | g << 16), u32::to_le(b | a << 16)]
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
    fn codes_pack_to_the_nearest_ties_to_even_and_unpack_exactly() {
        for v in (0..=65535u32 * 8).map(|i| i as f32 / 8.0) {
            let want = v.round_ties_even();
            let px = u16::pack([v, 0.0, 65535.0, v]);
            assert_eq!(bytemuck::cast::<_, [u16; 4]>(px), [want as u16, 0, 65535, want as u16], "{v}");
            if v <= 255.0 {
                let px = u8::pack([v, 255.0, 0.0, v]);
                assert_eq!(bytemuck::bytes_of(&px), [want as u8, 255, 0, want as u8], "{v}");
                assert_eq!(u8::unpack(px), [want, 255.0, 0.0, want]);
            }
        }
        let px = bytemuck::pod_read_unaligned::<u32>(&[1u8, 2, 3, 254]);
        assert_eq!(u8::unpack(px), [1.0, 2.0, 3.0, 254.0], "memory order R, G, B, A");
        assert_eq!(u16::unpack(bytemuck::cast([7u16, 0, 65535, 300])), [7.0, 0.0, 65535.0, 300.0], "memory order R, G, B, A");
    }

    #[test]
    fn integers_clamp_and_floats_do_not() {
        assert_eq!(u8::from_f32(1.7), 255);
        assert_eq!(u16::from_f32(-0.2), 0);
        assert_eq!(f32::from_f32(1.7), 1.7);
    }
}
