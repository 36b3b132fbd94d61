//! Luma Matte Extract on 8- and 16-bit RGBA frames, in the frame's own code units.
//!
//! The general path converts every sample to 0..1 and back and bends the matte with
//! [`super::pow_unit`], exact to float precision: on an integer frame that is several times the
//! cost of moving its pixels. An integer output needs less: a matte well inside one code. So this
//! path reads each code as a float (the `1 / MAX` of a conversion goes into the levels), bends the
//! levelled value with [`pow_code`] (no division, fused multiply-adds where the CPU has them,
//! polynomials as short as the depth allows: within 0.02 of a 16-bit code and 0.001 of an 8-bit
//! one) and rounds each output sample once, ties to even, straight into the host's row.
//! `integer_path_is_the_exact_formula_rounded` measures the result against the formula in f64 over
//! every channel, output and kind of levels: 8-bit codes are the nearest code to the exact value
//! except at near-ties (at most ½ + 1e-3 code away), 16-bit ones at most 0.09 code beyond the
//! nearest code's half (at Gamma 0.05 near black, where the power is steepest); under 0.3 % of
//! samples are not the nearest code. The last bit of a multiply-add may differ between a CPU with
//! AVX2 and one without, so such a near-tie may round the other way on the other.

use super::{LumaChannel, MatteLevels, MatteOutput, TINT, TINT_OPACITY, TINT_STALE};
use crate::sample::Code;
use crate::simd::{madd, widest_fused, FusedLoop};
use crate::view::{for_each_code_row, SPAN};
use crate::{ImageMut, ImageRef, Rect};

/// [`super::extract_matte`] for RGBA frames whose source, matte and output are all of integer
/// depth `T`; false (nothing written) for any other layout or depth, which the general path takes.
pub(super) fn extract_matte<T: Code>(
    out: &mut ImageMut<'_>,
    window: Rect,
    source: &ImageRef<'_>,
    matte: Option<&ImageRef<'_>>,
    channel: LumaChannel,
    levels: MatteLevels,
    mode: MatteOutput,
) -> bool {
    if !source.is_rgba_of::<T>() || matte.is_some_and(|m| !m.is_rgba_of::<T>()) {
        return false;
    }
    let levels = CodeLevels::new::<T>(levels);
    let scratch = || Scratch::<T> {
        pixels: vec![bytemuck::Zeroable::zeroed(); SPAN],
        matte_pixels: vec![bytemuck::Zeroable::zeroed(); SPAN],
        placed: vec![bytemuck::Zeroable::zeroed(); SPAN],
        mattes: vec![0.0; SPAN],
    };
    // False when the output is not RGBA of depth T either.
    for_each_code_row::<T, _>(out, window, scratch, |scratch, y, x1, row| {
        widest_fused(Row { source, matte, channel, levels, mode, y, x1, scratch, row });
    })
}

/// A rayon worker's buffers for one span of [`SPAN`] pixels: the source's and the matte's pixels
/// (as stored), the mattes, and the placed pixels before they are copied into the host's row.
struct Scratch<T: Code> {
    pixels: Vec<T::Pixel>,
    matte_pixels: Vec<T::Pixel>,
    placed: Vec<T::Pixel>,
    mattes: Vec<f32>,
}

/// The window's part of one output row: its pixels from `x1` on scan line `y`.
struct Row<'a, 's, T: Code> {
    source: &'a ImageRef<'a>,
    matte: Option<&'a ImageRef<'a>>,
    channel: LumaChannel,
    levels: CodeLevels,
    mode: MatteOutput,
    y: i32,
    x1: i32,
    scratch: &'s mut Scratch<T>,
    row: &'s mut [T],
}

impl<T: Code> FusedLoop for Row<'_, '_, T> {
    type Output = ();

    /// In spans that stay in L1: read, channel value, levels, place, store, each a pass over the
    /// span, so each vectorises. (One instruction-set dispatch a row, not a span.)
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let Scratch { pixels, matte_pixels, placed, mattes } = self.scratch;
        for (k, span) in self.row.chunks_mut(SPAN * 4).enumerate() {
            let (n, x1) = (span.len() / 4, self.x1 + (k * SPAN) as i32);
            let (pixels, mattes, placed) = (&mut pixels[..n], &mut mattes[..n], &mut placed[..n]);
            self.source.read_codes::<T>(self.y, x1, pixels);
            let from = match self.matte {
                Some(m) => {
                    m.read_codes::<T>(self.y, x1, &mut matte_pixels[..n]);
                    &matte_pixels[..n]
                }
                None => &pixels[..],
            };
            code_values::<T, FMA>(self.channel, from, mattes);
            self.levels.apply_all::<T, FMA>(mattes);
            place_all::<T, FMA>(placed, pixels, mattes, self.mode);
            span.copy_from_slice(bytemuck::cast_slice(placed));
        }
    }
}

/// [`LumaChannel::value`] of each pixel's codes (so in code units), one loop per channel.
#[inline(always)]
fn code_values<T: Code, const FMA: bool>(channel: LumaChannel, pixels: &[T::Pixel], values: &mut [f32]) {
    #[inline(always)]
    fn each<T: Code, const FMA: bool>(channel: LumaChannel, pixels: &[T::Pixel], values: &mut [f32]) {
        for (v, &px) in values.iter_mut().zip(pixels) {
            let [r, g, b, a] = T::unpack(px);
            *v = match channel.luma_weights() {
                Some(w) => madd::<FMA>(w[0], r, madd::<FMA>(w[1], g, w[2] * b)),
                None => channel.value([r, g, b, a]),
            };
        }
    }
    match channel {
        LumaChannel::Luma709 => each::<T, FMA>(LumaChannel::Luma709, pixels, values),
        LumaChannel::Luma2020 => each::<T, FMA>(LumaChannel::Luma2020, pixels, values),
        LumaChannel::Luma601 => each::<T, FMA>(LumaChannel::Luma601, pixels, values),
        LumaChannel::Average => each::<T, FMA>(LumaChannel::Average, pixels, values),
        LumaChannel::Max => each::<T, FMA>(LumaChannel::Max, pixels, values),
        LumaChannel::Red => each::<T, FMA>(LumaChannel::Red, pixels, values),
        LumaChannel::Green => each::<T, FMA>(LumaChannel::Green, pixels, values),
        LumaChannel::Blue => each::<T, FMA>(LumaChannel::Blue, pixels, values),
        LumaChannel::Alpha => each::<T, FMA>(LumaChannel::Alpha, pixels, values),
    }
}

/// [`MatteLevels`] for a value in code units: the same ramp with `black` and the span scaled by
/// the code of 1.0, giving a matte in 0..1.
#[derive(Clone, Copy, Debug)]
struct CodeLevels {
    /// Black in code units (also the hard threshold).
    black: f32,
    /// 1 / ((white − black) · MAX), or 0 for a hard threshold.
    inv_span: f32,
    hard: bool,
    inv_gamma: Option<f32>,
    invert: bool,
}

impl CodeLevels {
    fn new<T: Code>(levels: MatteLevels) -> Self {
        let prepared = levels.prepared();
        CodeLevels {
            black: prepared.black() * T::MAX,
            inv_span: prepared.inv_span() / T::MAX,
            hard: prepared.hard(),
            inv_gamma: prepared.inv_gamma(),
            invert: prepared.invert(),
        }
    }

    /// Each value (code units) to its matte (0..1), in place, each step a branch-free pass; the
    /// power is depth `T`'s (a constant where the loop is compiled, so its polynomials unroll).
    #[inline(always)]
    #[allow(clippy::manual_clamp)] // clamp would pass NaN through; max/min turn it into 0
    fn apply_all<T: Code, const FMA: bool>(&self, values: &mut [f32]) {
        if self.hard {
            values.iter_mut().for_each(|v| *v = if *v >= self.black { 1.0 } else { 0.0 });
        } else {
            values.iter_mut().for_each(|v| *v = ((*v - self.black) * self.inv_span).max(0.0).min(1.0));
        }
        if let Some(p) = self.inv_gamma {
            // pow_code is a little off the true power, either side: keep it in 0..1.
            values.iter_mut().for_each(|v| *v = pow_code::<FMA>(*v, p, power_for::<T>()).min(1.0));
        }
        if self.invert {
            values.iter_mut().for_each(|v| *v = 1.0 - *v);
        }
    }
}

/// [`super::place`] in code units: each output sample from the source pixel's codes and the
/// matte `m` (0..1), rounded once. Every value rounded is in `0..=MAX` (products and blends of
/// codes with weights in 0..1), which [`Code::pack`] needs.
#[inline(always)]
fn place_all<T: Code, const FMA: bool>(out: &mut [T::Pixel], pixels: &[T::Pixel], mattes: &[f32], mode: MatteOutput) {
    #[inline(always)]
    fn each<T: Code, const FMA: bool>(out: &mut [T::Pixel], pixels: &[T::Pixel], mattes: &[f32], mode: MatteOutput) {
        for ((o, &px), &m) in out.iter_mut().zip(pixels).zip(mattes) {
            let c = T::unpack(px);
            *o = match mode {
                MatteOutput::AlphaPremultiplied => T::pack([c[0] * m, c[1] * m, c[2] * m, m * T::MAX]),
                MatteOutput::AlphaStraight => T::pack([c[0], c[1], c[2], m * T::MAX]),
                MatteOutput::Grey => {
                    let g = m * T::MAX;
                    T::pack([g, g, g, T::MAX])
                }
                MatteOutput::Tint | MatteOutput::TintStale => {
                    let tint = if mode == MatteOutput::Tint { TINT } else { TINT_STALE };
                    let k = TINT_OPACITY * m;
                    let blend = |i: usize| madd::<FMA>(madd::<FMA>(tint[i], T::MAX, -c[i]), k, c[i]);
                    T::pack([blend(0), blend(1), blend(2), c[3]])
                }
            };
        }
    }
    match mode {
        MatteOutput::AlphaPremultiplied => each::<T, FMA>(out, pixels, mattes, MatteOutput::AlphaPremultiplied),
        MatteOutput::AlphaStraight => each::<T, FMA>(out, pixels, mattes, MatteOutput::AlphaStraight),
        MatteOutput::Grey => each::<T, FMA>(out, pixels, mattes, MatteOutput::Grey),
        MatteOutput::Tint => each::<T, FMA>(out, pixels, mattes, MatteOutput::Tint),
        MatteOutput::TintStale => each::<T, FMA>(out, pixels, mattes, MatteOutput::TintStale),
    }
}

/// How closely [`pow_code`] follows the true power: its two polynomials (each fitted near-minimax
/// and evaluated by Horner in f32), short enough for the depth it is for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Power {
    /// log2(1 + u) / u on u in [√½ − 1, √2 − 1]; times `u` it is log2(1 + u).
    log2: &'static [f32],
    /// 2^f on f in [−½, ½], exact at 0.
    exp2: &'static [f32],
}

/// For 16-bit codes: log2 within 1.1e-7, 2^f within 2.4e-7 relative; the power within 3e-7, a
/// fiftieth of a code.
pub(crate) const POWER_16: Power = Power {
    log2: &[1.442_694_8, -0.721_356_45, 0.480_940_28, -0.360_113_38, 0.286_703, -0.249_806_48, 0.236_834_91, -0.146_397],
    exp2: &[1.0, 0.693_146_94, 0.240_221_2, 0.055_507_17, 0.009_675_532, 0.001_327_538_2],
};

/// For 8-bit codes (256 times coarser): log2 within 2.4e-6, 2^f within 3.7e-6 relative; the
/// power within 5e-6, about a thousandth of a code.
pub(crate) const POWER_8: Power = Power {
    log2: &[1.442_713, -0.721_147_1, 0.479_366_33, -0.367_217_48, 0.321_989_66, -0.207_525_4],
    exp2: &[1.0, 0.693_121_85, 0.240_247_71, 0.055_917_766, 0.009_569_003],
};

/// The [`Power`] for depth `T`.
#[inline(always)]
fn power_for<T: Code>() -> Power {
    if T::MAX > 255.0 {
        POWER_16
    } else {
        POWER_8
    }
}

/// `x^p` for `x` in [0, 1] and `p` in [0.1, 20] (Gamma 0.05–10), for integer output: as
/// [`super::pow_unit`] (`exp2(p · log2 x)` from the float's bits), with polynomials (`power`'s)
/// that need no division, each step a multiply-add (fused when `FMA`). `pow_code_error` measures
/// it against f64 both ways; 0 gives 0 and 1 gives exactly 1.
#[inline(always)]
pub(crate) fn pow_code<const FMA: bool>(x: f32, p: f32, power: Power) -> f32 {
    let horner = |poly: &[f32], t: f32| poly.iter().rev().skip(1).fold(poly[poly.len() - 1], |acc, &c| madd::<FMA>(acc, t, c));
    // x = 2^e · (1 + u), with 1 + u in [√½, √2).
    let bits = x.max(f32::MIN_POSITIVE).to_bits() as i32;
    let shifted = bits - 0x3F35_04F3;
    let e = shifted >> 23;
    let u = f32::from_bits((shifted & 0x007F_FFFF) as u32 + 0x3F35_04F3) - 1.0;
    let log2 = madd::<FMA>(horner(power.log2, u), u, e as f32);
    // 2^y for y = p · log2 x ≤ 0: y = n + f, n the nearest integer; below 2^-126 the result is 0.
    let y = (p * log2).max(-127.0);
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer in the low bits
    let shifted = y + ROUND;
    let n = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let f = y - (shifted - ROUND);
    let scale = f32::from_bits(((n + 127).max(0) << 23) as u32);
    let result = horner(power.exp2, f) * scale;
    if x > 0.0 {
        result
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Components, RowMut, RowRef};

    /// `x^p` against f64 over every binade of [2^-126, 1], at both precisions, with and without
    /// fused multiply-adds: within 0.02 of a code at 16 bits, 0.0013 at 8.
    #[test]
    fn pow_code_error() {
        for (name, power, bound) in [("16-bit", POWER_16, 3e-7), ("8-bit", POWER_8, 5e-6)] {
            for fma in [false, true] {
                let pow = |x: f32, p: f32| if fma { pow_code::<true>(x, p, power) } else { pow_code::<false>(x, p, power) };
                let mut worst = 0.0f64;
                for gamma in [0.05f32, 0.3, 0.7, 1.3, 2.2, 4.0, 10.0] {
                    let p = 1.0 / gamma;
                    let mut x = f32::MIN_POSITIVE;
                    while x <= 1.0 {
                        let want = f64::from(x).powf(f64::from(p));
                        worst = worst.max((f64::from(pow(x, p)) - want).abs());
                        x = f32::from_bits(x.to_bits() + 4099);
                    }
                    assert_eq!((pow(1.0, p), pow(0.0, p)), (1.0, 0.0));
                }
                println!("pow_code for {name} codes (fused multiply-adds: {fma}): worst absolute error {worst:.2e}");
                assert!(worst < bound, "{name}: absolute error {worst:e}");
            }
        }
    }

    /// The matte formula in f64 from the codes (the levels' doc, [`LumaChannel`]'s weights and
    /// [`MatteOutput`]'s placements written out again), unrounded, in code units.
    fn exact(px: [f64; 4], matte_px: [f64; 4], channel: LumaChannel, l: MatteLevels, mode: MatteOutput, max: f64) -> [f64; 4] {
        let [r, g, b, a] = matte_px.map(|c| c / max);
        let v = match channel {
            LumaChannel::Luma709 => 0.2126 * r + 0.7152 * g + 0.0722 * b,
            LumaChannel::Luma2020 => 0.2627 * r + 0.6780 * g + 0.0593 * b,
            LumaChannel::Luma601 => 0.299 * r + 0.587 * g + 0.114 * b,
            LumaChannel::Average => (r + g + b) / 3.0,
            LumaChannel::Max => r.max(g).max(b),
            LumaChannel::Red => r,
            LumaChannel::Green => g,
            LumaChannel::Blue => b,
            LumaChannel::Alpha => a,
        };
        let (black, white) = (f64::from(l.black), f64::from(l.white));
        let mut m = if black == white { f64::from(u8::from(v >= black)) } else { ((v - black) / (white - black)).clamp(0.0, 1.0) };
        if l.gamma != 1.0 && l.gamma > 0.0 {
            m = m.powf(1.0 / f64::from(l.gamma));
        }
        if l.invert {
            m = 1.0 - m;
        }
        let c = px;
        match mode {
            MatteOutput::AlphaPremultiplied => [c[0] * m, c[1] * m, c[2] * m, m * max],
            MatteOutput::AlphaStraight => [c[0], c[1], c[2], m * max],
            MatteOutput::Grey => [m * max, m * max, m * max, max],
            MatteOutput::Tint | MatteOutput::TintStale => {
                let tint = if mode == MatteOutput::Tint { TINT } else { TINT_STALE };
                let k = f64::from(TINT_OPACITY) * m;
                let blend = |i: usize| c[i] + (f64::from(tint[i]) * max - c[i]) * k;
                [blend(0), blend(1), blend(2), c[3]]
            }
        }
    }

    fn rect(x1: i32, y1: i32, x2: i32, y2: i32) -> Rect {
        Rect { x1, y1, x2, y2 }
    }

    /// Codes of a test frame: every code of each channel appears (a ramp), mixed with a hash.
    fn frame<T: Code + TryFrom<u32>>(bounds: Rect, seed: u32) -> Vec<T> {
        let n = bounds.width() * bounds.height() * 4;
        let max = T::MAX as u32;
        (0..n as u32)
            .map(|i| {
                let hashed = (i.wrapping_mul(2_654_435_761) ^ seed).rotate_left(7) % (max + 1);
                let code = if i % 3 == 0 { (i / 3) % (max + 1) } else { hashed };
                T::try_from(code).ok().expect("code in range")
            })
            .collect()
    }

    /// Renders through [`extract_matte`] (asserting it took this path) and compares every written
    /// sample with [`exact`]: returns (worst |code − exact value|, samples off by more than ½).
    fn render_against_exact<T: Rows + TryFrom<u32> + Into<u32>>(channel: LumaChannel, levels: MatteLevels, mode: MatteOutput, with_matte: bool) -> (f64, usize, usize) {
        let (src_b, matte_b, out_b) = (rect(-3, 2, 61, 40), rect(5, -1, 58, 37), rect(-3, 2, 61, 40));
        let window = rect(-6, 4, 64, 39);
        let src = frame::<T>(src_b, 1);
        let mat = frame::<T>(matte_b, 9);
        let mut out = vec![<T as bytemuck::Zeroable>::zeroed(); src.len()];
        fn rows<T: Rows>(d: &[T], b: Rect) -> Vec<RowRef<'_>> {
            d.chunks(b.width() * 4).map(T::row_ref).collect()
        }
        let source = ImageRef::new(src_b, Components::Rgba, rows(&src, src_b));
        let matte = ImageRef::new(matte_b, Components::Rgba, rows(&mat, matte_b));
        {
            let mut target = ImageMut::new(out_b, Components::Rgba, out.chunks_mut(out_b.width() * 4).map(|r| T::row_mut(r)).collect());
            assert!(super::extract_matte::<T>(&mut target, window, &source, with_matte.then_some(&matte), channel, levels, mode));
        }
        let max = f64::from(T::MAX);
        let at = |d: &[T], b: Rect, x: i32, y: i32| -> [f64; 4] {
            if x < b.x1 || x >= b.x2 || y < b.y1 || y >= b.y2 {
                return [0.0; 4];
            }
            let i = ((y - b.y1) as usize * b.width() + (x - b.x1) as usize) * 4;
            [0, 1, 2, 3].map(|k| f64::from(d[i + k].into()))
        };
        let (mut worst, mut off, mut count) = (0.0f64, 0, 0);
        for y in out_b.y1..out_b.y2 {
            for x in out_b.x1..out_b.x2 {
                let got = at(&out, out_b, x, y);
                let inside = x >= window.x1 && x < window.x2 && y >= window.y1 && y < window.y2;
                if !inside {
                    assert_eq!(got, [0.0; 4], "pixel ({x}, {y}) outside the window was written");
                    continue;
                }
                let px = at(&src, src_b, x, y);
                let want = exact(px, if with_matte { at(&mat, matte_b, x, y) } else { px }, channel, levels, mode, max);
                for k in 0..4 {
                    let e = (got[k] - want[k]).abs();
                    worst = worst.max(e);
                    off += usize::from(e > 0.5);
                    count += 1;
                }
            }
        }
        (worst, off, count)
    }

    trait Rows: Code {
        fn row_ref(r: &[Self]) -> RowRef<'_>;
        fn row_mut(r: &mut [Self]) -> RowMut<'_>;
    }
    impl Rows for u8 {
        fn row_ref(r: &[Self]) -> RowRef<'_> {
            RowRef::U8(r)
        }
        fn row_mut(r: &mut [Self]) -> RowMut<'_> {
            RowMut::U8(r)
        }
    }
    impl Rows for u16 {
        fn row_ref(r: &[Self]) -> RowRef<'_> {
            RowRef::U16(r)
        }
        fn row_mut(r: &mut [Self]) -> RowMut<'_> {
            RowMut::U16(r)
        }
    }

    /// Every channel, output and kind of levels (ramp, reversed, hard threshold, inverted, gammas
    /// from 0.05 to 10), at both depths, with and without a matte input of other bounds.
    #[test]
    fn integer_path_is_the_exact_formula_rounded() {
        let channels = [LumaChannel::Luma709, LumaChannel::Luma2020, LumaChannel::Luma601, LumaChannel::Average, LumaChannel::Max, LumaChannel::Red, LumaChannel::Green, LumaChannel::Blue, LumaChannel::Alpha];
        let modes = [MatteOutput::AlphaPremultiplied, MatteOutput::AlphaStraight, MatteOutput::Grey, MatteOutput::Tint, MatteOutput::TintStale];
        let levels = [
            MatteLevels::default(),
            MatteLevels { black: 0.1, white: 0.9, gamma: 2.2, invert: false },
            MatteLevels { black: 0.9, white: 0.1, gamma: 0.6, invert: true },
            MatteLevels { black: 0.5, white: 0.5, gamma: 1.0, invert: false },
            MatteLevels { black: 0.0, white: 1.0, gamma: 10.0, invert: false },
            MatteLevels { black: 0.2, white: 0.8, gamma: 0.05, invert: true },
        ];
        for depth in [8, 16] {
            let (mut worst, mut off, mut count) = (0.0f64, 0, 0);
            for &channel in &channels {
                for &mode in &modes {
                    for &level in &levels {
                        for with_matte in [false, true] {
                            let (w, o, c) = if depth == 8 {
                                render_against_exact::<u8>(channel, level, mode, with_matte)
                            } else {
                                render_against_exact::<u16>(channel, level, mode, with_matte)
                            };
                            if w > worst {
                                println!("{depth}-bit {channel:?} {mode:?} {level:?} matte={with_matte}: {w:.4} codes from the exact value");
                            }
                            (worst, off, count) = (worst.max(w), off + o, count + c);
                        }
                    }
                }
            }
            println!("{depth}-bit: worst {worst:.4} codes from the exact value; {off} of {count} samples not the nearest code");
            // The nearest code is within ½; a sample off by more than ½ + tolerance is an error, not
            // a rounding of a near-tie. 16-bit codes are 256 times finer, so the same float error
            // is 256 times more of a code (Gamma 0.05 near black is the worst).
            let tolerance = if depth == 8 { 1e-3 } else { 0.1 };
            assert!(worst <= 0.5 + tolerance, "{depth}-bit: {worst} codes from the exact value");
            assert!(off * 200 < count, "{depth}-bit: {off} of {count} samples not the nearest code");
        }
    }

    /// An 8-bit source into a float output (a host's General context) or a 16-bit one is not
    /// this path's: nothing is written here and the general path renders it.
    #[test]
    fn mixed_depths_are_left_to_the_general_path() {
        let b = rect(0, 0, 5, 2);
        let src = frame::<u8>(b, 3);
        let source = ImageRef::new(b, Components::Rgba, src.chunks(20).map(RowRef::U8).collect());
        let levels = MatteLevels::default();
        let mut float_out = vec![0.0f32; 40];
        {
            let mut out = ImageMut::new(b, Components::Rgba, float_out.chunks_mut(20).map(RowMut::F32).collect());
            assert!(!super::extract_matte::<u8>(&mut out, b, &source, None, LumaChannel::Luma709, levels, MatteOutput::Grey));
            crate::extract_matte(&mut out, b, &source, None, LumaChannel::Luma709, levels, MatteOutput::Grey);
        }
        let want: Vec<f32> = src.chunks(4).flat_map(|p| {
            let l = LumaChannel::Luma709.value(p.iter().map(|&c| f32::from(c) / 255.0).collect::<Vec<_>>().try_into().unwrap());
            [l, l, l, 1.0]
        }).collect();
        assert!(float_out.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6), "{float_out:?} vs {want:?}");
        let mut wide = [0u16; 40];
        let mut out = ImageMut::new(b, Components::Rgba, wide.chunks_mut(20).map(RowMut::U16).collect());
        assert!(!super::extract_matte::<u8>(&mut out, b, &source, None, LumaChannel::Luma709, levels, MatteOutput::Grey));
        assert!(!super::extract_matte::<u16>(&mut out, b, &source, None, LumaChannel::Luma709, levels, MatteOutput::Grey));
        drop(out);
        assert!(wide.iter().all(|&c| c == 0), "nothing written by the refusing path");
    }
}
