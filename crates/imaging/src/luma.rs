//! Luma matte: one channel (or a weighted sum) of a pixel turned into a matte through levels.
//!
//! Values are used as the host delivers them (no linearisation), as Fusion's Bitmap tool and the
//! edit page's Luma Matte composite do, so a matte rendered by any tool comes back unchanged.

use crate::{for_each_row, ImageMut, ImageRef, Plane, Rect};

mod codes;

/// Where an extracted matte goes in the output pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatteOutput {
    /// Source RGB multiplied by the matte, matte in alpha.
    AlphaPremultiplied,
    /// Source RGB unchanged, matte in alpha.
    AlphaStraight,
    /// The matte as opaque grey: (m, m, m, 1).
    Grey,
    /// The source with the matted object tinted (a viewer overlay), source alpha kept.
    Tint,
    /// As [`MatteOutput::Tint`] in another colour (blue-grey): a matte that is out of date (Magic
    /// Mask's frames tracked with other prompts), so it is never taken for the current one.
    TintStale,
}

/// The tint colour of [`MatteOutput::Tint`] and how much of it covers a fully matted pixel.
const TINT: [f32; 3] = [1.0, 0.2, 0.45];
const TINT_OPACITY: f32 = 0.5;
/// The tint of [`MatteOutput::TintStale`]: far from [`TINT`] in hue and saturation.
const TINT_STALE: [f32; 3] = [0.35, 0.55, 0.75];

/// Fills `window` of `out` with a matte extracted from `matte` (or from `source` itself when
/// `matte` is None) and placed per `mode` over `source`. RGBA frames whose source, matte and
/// output share one integer depth are computed in code units (`codes`: each code rounded once,
/// within a near-tie of the exact value); the rest through f32 spans with [`pow_unit`].
pub fn extract_matte(
    out: &mut ImageMut<'_>,
    window: Rect,
    source: &ImageRef<'_>,
    matte: Option<&ImageRef<'_>>,
    channel: LumaChannel,
    levels: MatteLevels,
    mode: MatteOutput,
) {
    // 8- and 16-bit RGBA frames stay in code units (see `codes`); the rest goes through f32 spans.
    if codes::extract_matte::<u8>(out, window, source, matte, channel, levels, mode)
        || codes::extract_matte::<u16>(out, window, source, matte, channel, levels, mode)
    {
        return;
    }
    let levels = levels.prepared();
    for_each_row(out, window, |y, x1, row, matte_row| {
        // In blocks, each step over the whole block, so the gamma's pow runs as SIMD (as wide as
        // the CPU has, the reads' conversions too: same bits either way).
        crate::simd::widest(
            #[inline(always)]
            || {
                source.read_rgba(y, x1, row);
                if let Some(m) = matte {
                    m.read_rgba(y, x1, matte_row);
                }
                const BLOCK: usize = 64;
                let mut values = [0.0f32; BLOCK];
                for start in (0..row.len()).step_by(BLOCK) {
                    let end = (start + BLOCK).min(row.len());
                    let values = &mut values[..end - start];
                    let from = if matte.is_some() { &matte_row[start..end] } else { &row[start..end] };
                    channel.values(from, values);
                    levels.apply_all(values);
                    place_all(&mut row[start..end], values, mode);
                }
            },
        );
    });
}

/// [`place`] over a run of pixels, with the mode's `match` outside the loop: one loop per mode,
/// each without a branch per pixel, so each vectorises.
#[inline(always)]
fn place_all(row: &mut [[f32; 4]], mattes: &[f32], mode: MatteOutput) {
    #[inline(always)]
    fn each(row: &mut [[f32; 4]], mattes: &[f32], mode: MatteOutput) {
        for (px, &m) in row.iter_mut().zip(mattes) {
            place(px, m, mode);
        }
    }
    match mode {
        MatteOutput::AlphaPremultiplied => each(row, mattes, MatteOutput::AlphaPremultiplied),
        MatteOutput::AlphaStraight => each(row, mattes, MatteOutput::AlphaStraight),
        MatteOutput::Grey => each(row, mattes, MatteOutput::Grey),
        MatteOutput::Tint => each(row, mattes, MatteOutput::Tint),
        MatteOutput::TintStale => each(row, mattes, MatteOutput::TintStale),
    }
}

#[inline(always)]
fn place(px: &mut [f32; 4], m: f32, mode: MatteOutput) {
    *px = match mode {
        MatteOutput::AlphaPremultiplied => [px[0] * m, px[1] * m, px[2] * m, m],
        MatteOutput::AlphaStraight => [px[0], px[1], px[2], m],
        MatteOutput::Grey => [m, m, m, 1.0],
        MatteOutput::Tint | MatteOutput::TintStale => {
            let tint = if mode == MatteOutput::Tint { TINT } else { TINT_STALE };
            let k = TINT_OPACITY * m;
            [px[0] + (tint[0] - px[0]) * k, px[1] + (tint[1] - px[1]) * k, px[2] + (tint[2] - px[2]) * k, px[3]]
        }
    };
}

/// Fills `window` of `out` with the matte `plane` placed per `mode` over `source`. The plane
/// covers `plane_bounds` with its rows top-down (the order models and files use), so row 0 is
/// scan line `plane_bounds.y2 − 1`; outside it the matte is 0.
pub fn place_plane(
    out: &mut ImageMut<'_>,
    window: Rect,
    source: Option<&ImageRef<'_>>,
    plane: &Plane,
    plane_bounds: Rect,
    mode: MatteOutput,
) {
    for_each_row(out, window, |y, x1, row, _| {
        match source {
            Some(s) => s.read_rgba(y, x1, row),
            None => row.fill([0.0; 4]),
        }
        // The row's columns inside the plane, `lo..hi`, take its values; the others a matte of 0.
        let len = row.len() as i64;
        let (lo, hi) = if y >= plane_bounds.y1 && y < plane_bounds.y2 {
            let lo = (i64::from(plane_bounds.x1) - i64::from(x1)).clamp(0, len) as usize;
            (lo, ((i64::from(plane_bounds.x2) - i64::from(x1)).clamp(0, len) as usize).max(lo))
        } else {
            (0, 0)
        };
        if lo < hi {
            let plane_row = (plane_bounds.y2 - 1 - y) as usize;
            let first = plane_row * plane.width + (x1 as i64 + lo as i64 - i64::from(plane_bounds.x1)) as usize;
            place_all(&mut row[lo..hi], &plane.data[first..first + (hi - lo)], mode);
        }
        let (before, rest) = row.split_at_mut(lo);
        for px in before.iter_mut().chain(rest[hi - lo..].iter_mut()) {
            place(px, 0.0, mode);
        }
    });
}

/// Copies `source` into `window` of `out` (pixels outside `source` become transparent black).
pub fn copy(out: &mut ImageMut<'_>, window: Rect, source: Option<&ImageRef<'_>>) {
    for_each_row(out, window, |y, x1, row, _| match source {
        Some(s) => s.read_rgba(y, x1, row),
        None => row.fill([0.0; 4]),
    });
}

/// Luma weights of R, G, B: Rec. 709, Rec. 2020, Rec. 601.
const REC709: [f32; 3] = [0.2126, 0.7152, 0.0722];
const REC2020: [f32; 3] = [0.2627, 0.6780, 0.0593];
const REC601: [f32; 3] = [0.299, 0.587, 0.114];

/// Which value of a pixel becomes the matte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LumaChannel {
    /// Rec. 709 luma weights (0.2126, 0.7152, 0.0722): HD video.
    Luma709,
    /// Rec. 2020 luma weights (0.2627, 0.6780, 0.0593): UHD/HDR video.
    Luma2020,
    /// Rec. 601 luma weights (0.299, 0.587, 0.114): SD video and most still-image tools.
    Luma601,
    /// (R + G + B) / 3.
    Average,
    /// max(R, G, B).
    Max,
    Red,
    Green,
    Blue,
    Alpha,
}

impl LumaChannel {
    /// [`LumaChannel::value`] of each pixel of `pixels` into `values`, with the channel's `match`
    /// outside the loop (one loop per channel, no jump per pixel), so each vectorises.
    #[inline(always)]
    pub fn values(self, pixels: &[[f32; 4]], values: &mut [f32]) {
        #[inline(always)]
        fn each(channel: LumaChannel, pixels: &[[f32; 4]], values: &mut [f32]) {
            for (v, px) in values.iter_mut().zip(pixels) {
                *v = channel.value(*px);
            }
        }
        match self {
            LumaChannel::Luma709 => each(LumaChannel::Luma709, pixels, values),
            LumaChannel::Luma2020 => each(LumaChannel::Luma2020, pixels, values),
            LumaChannel::Luma601 => each(LumaChannel::Luma601, pixels, values),
            LumaChannel::Average => each(LumaChannel::Average, pixels, values),
            LumaChannel::Max => each(LumaChannel::Max, pixels, values),
            LumaChannel::Red => each(LumaChannel::Red, pixels, values),
            LumaChannel::Green => each(LumaChannel::Green, pixels, values),
            LumaChannel::Blue => each(LumaChannel::Blue, pixels, values),
            LumaChannel::Alpha => each(LumaChannel::Alpha, pixels, values),
        }
    }

    /// The R, G, B weights of a luma channel (None for the others).
    #[inline(always)]
    pub fn luma_weights(self) -> Option<[f32; 3]> {
        match self {
            LumaChannel::Luma709 => Some(REC709),
            LumaChannel::Luma2020 => Some(REC2020),
            LumaChannel::Luma601 => Some(REC601),
            _ => None,
        }
    }

    /// The value of this channel for one RGBA pixel.
    #[inline(always)]
    pub fn value(self, p: [f32; 4]) -> f32 {
        let [r, g, b, a] = p;
        let weighted = |w: [f32; 3]| w[0] * r + w[1] * g + w[2] * b;
        match self {
            LumaChannel::Luma709 => weighted(REC709),
            LumaChannel::Luma2020 => weighted(REC2020),
            LumaChannel::Luma601 => weighted(REC601),
            LumaChannel::Average => (r + g + b) * (1.0 / 3.0),
            LumaChannel::Max => r.max(g).max(b),
            LumaChannel::Red => r,
            LumaChannel::Green => g,
            LumaChannel::Blue => b,
            LumaChannel::Alpha => a,
        }
    }
}

/// Levels that turn a channel value into a matte in 0..1:
/// `m = clamp((v − black) / (white − black), 0, 1)`, then `m^(1/gamma)`, then `1 − m` if inverted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatteLevels {
    /// Values at or below this become 0.
    pub black: f32,
    /// Values at or above this become 1.
    pub white: f32,
    /// Mid-tone bend: above 1 opens the matte (brighter), below 1 chokes it.
    pub gamma: f32,
    /// Swap matte and background.
    pub invert: bool,
}

impl Default for MatteLevels {
    fn default() -> Self {
        MatteLevels { black: 0.0, white: 1.0, gamma: 1.0, invert: false }
    }
}

impl MatteLevels {
    /// The matte value for channel value `v`. When black equals white the ramp becomes a hard
    /// threshold at that value; a white below black gives a reversed ramp.
    #[inline]
    pub fn apply(&self, v: f32) -> f32 {
        self.prepared().apply(v)
    }

    /// The levels with their divisions done once, for per-pixel loops.
    pub fn prepared(&self) -> PreparedLevels {
        let span = self.white - self.black;
        PreparedLevels {
            black: self.black,
            inv_span: if span == 0.0 { 0.0 } else { 1.0 / span },
            hard: span == 0.0,
            inv_gamma: (self.gamma != 1.0 && self.gamma > 0.0).then(|| 1.0 / self.gamma),
            invert: self.invert,
        }
    }
}

/// [`MatteLevels`] ready for a per-pixel loop: every branch in `apply` is loop-invariant.
#[derive(Clone, Copy, Debug)]
pub struct PreparedLevels {
    black: f32,
    inv_span: f32,
    hard: bool,
    inv_gamma: Option<f32>,
    invert: bool,
}

impl PreparedLevels {
    /// The value at or below which the ramp gives 0 (the threshold when [`Self::hard`]).
    pub fn black(&self) -> f32 {
        self.black
    }

    /// 1 / (white − black), or 0 for a hard threshold.
    pub fn inv_span(&self) -> f32 {
        self.inv_span
    }

    /// Black equals white: a threshold, not a ramp.
    pub fn hard(&self) -> bool {
        self.hard
    }

    /// 1 / gamma when a gamma other than 1 applies.
    pub fn inv_gamma(&self) -> Option<f32> {
        self.inv_gamma
    }

    /// Whether the matte is inverted last.
    pub fn invert(&self) -> bool {
        self.invert
    }

    /// See [`MatteLevels::apply`].
    #[inline(always)]
    pub fn apply(&self, v: f32) -> f32 {
        let mut one = [v];
        self.apply_all(&mut one);
        one[0]
    }

    /// [`PreparedLevels::apply`] on every value, in place: each step is a branch-free pass over the
    /// slice, so the compiler turns the gamma's [`pow_unit`] into SIMD.
    #[inline(always)]
    #[allow(clippy::manual_clamp)] // clamp would pass NaN through; max/min turn it into 0
    pub fn apply_all(&self, values: &mut [f32]) {
        if self.hard {
            values.iter_mut().for_each(|v| *v = if *v >= self.black { 1.0 } else { 0.0 });
        } else {
            // max/min (not clamp) so a NaN from a float host buffer becomes 0, not NaN.
            values.iter_mut().for_each(|v| *v = ((*v - self.black) * self.inv_span).max(0.0).min(1.0));
        }
        if let Some(g) = self.inv_gamma {
            values.iter_mut().for_each(|v| *v = pow_unit(*v, g));
        }
        if self.invert {
            values.iter_mut().for_each(|v| *v = 1.0 - *v);
        }
    }
}

/// `x^p` for `x` in [0, 1] and `p` > 0, as `exp2(p · log2 x)` with polynomials and bit tricks only
/// (no library call, no branch), so loops over it vectorise. Against `x^p` in double precision over
/// [2^-126, 1] for `p` in [0.1, 20] (Gamma 0.05–10): absolute error below 1e-7 everywhere (under
/// half a 16-bit step by a factor of 70), relative error below 2e-6 wherever the result is at least
/// 1e-6 (`pow_unit_matches_powf` checks both); 0 gives 0, 1 gives exactly 1.
#[inline(always)]
pub fn pow_unit(x: f32, p: f32) -> f32 {
    // log2 x = e + log2 m, with m in [√½, √2) and log2 m = 2/ln2 · atanh(t), t = (m − 1)/(m + 1),
    // |t| ≤ 0.172: the odd series to t⁹ is exact to float precision.
    let bits = x.max(f32::MIN_POSITIVE).to_bits() as i32;
    // Exponent relative to √½ so the mantissa lands in [√½, √2).
    let shifted = bits - 0x3F35_04F3;
    let e = shifted >> 23;
    let m = f32::from_bits((shifted & 0x007F_FFFF) as u32 + 0x3F35_04F3);
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = t * (2.0 + t2 * (2.0 / 3.0 + t2 * (2.0 / 5.0 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0)))));
    let log2 = e as f32 + series * std::f32::consts::LOG2_E;
    // 2^y for y = p · log2 x ≤ 0: y = n + f with n the nearest integer (|f| ≤ ½), 2^f by its
    // Taylor series in f·ln2 to degree 7 (error below 2e-8 relative). Below 2^-126 the result is 0.
    let y = (p * log2).max(-127.0);
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer in the low bits
    let shifted = y + ROUND;
    let n = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let f = (y - (shifted - ROUND)) * std::f32::consts::LN_2;
    let poly = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((n + 127).max(0) << 23) as u32);
    let result = poly * scale;
    if x > 0.0 { result } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_weights_sum_to_one() {
        for ch in [LumaChannel::Luma709, LumaChannel::Luma2020, LumaChannel::Luma601, LumaChannel::Average] {
            assert!((ch.value([1.0, 1.0, 1.0, 0.0]) - 1.0).abs() < 1e-6, "{ch:?}");
        }
        assert_eq!(LumaChannel::Max.value([0.1, 0.7, 0.3, 0.0]), 0.7);
        assert_eq!(LumaChannel::Alpha.value([0.1, 0.7, 0.3, 0.4]), 0.4);
    }

    #[test]
    fn pow_unit_matches_powf() {
        let mut worst_relative = 0.0f64;
        let mut worst_absolute = 0.0f64;
        for gamma in [0.05f32, 0.3, 0.7, 1.3, 2.2, 4.0, 10.0] {
            let p = 1.0 / gamma;
            let mut x = f32::MIN_POSITIVE;
            while x <= 1.0 {
                let want = f64::from(x).powf(f64::from(p));
                let got = f64::from(pow_unit(x, p));
                worst_absolute = worst_absolute.max((got - want).abs());
                if want >= 1e-6 {
                    worst_relative = worst_relative.max(((got - want) / want).abs());
                }
                x = f32::from_bits(x.to_bits() + 4099); // ~2.6 million samples per gamma, every binade
            }
            assert_eq!(pow_unit(1.0, p), 1.0);
            assert_eq!(pow_unit(0.0, p), 0.0);
        }
        println!("pow_unit: worst relative error {worst_relative:.2e} (results >= 1e-6), worst absolute {worst_absolute:.2e}");
        assert!(worst_relative < 2e-6, "relative error {worst_relative:e}");
        assert!(worst_absolute < 1e-7, "absolute error {worst_absolute:e}");
    }

    #[test]
    fn levels_clip_bend_and_invert() {
        let l = MatteLevels { black: 0.2, white: 0.6, gamma: 2.0, invert: false };
        assert_eq!(l.apply(0.1), 0.0);
        assert_eq!(l.apply(0.9), 1.0);
        assert!((l.apply(0.3) - 0.25f32.sqrt()).abs() < 1e-6);
        let inv = MatteLevels { invert: true, ..l };
        assert_eq!(inv.apply(0.9), 0.0);
        let hard = MatteLevels { black: 0.5, white: 0.5, ..Default::default() };
        assert_eq!((hard.apply(0.49), hard.apply(0.5)), (0.0, 1.0));
        assert_eq!(MatteLevels::default().apply(f32::NAN), 0.0);
    }
}
