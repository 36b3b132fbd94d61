//! Luma matte: one channel (or a weighted sum) of a pixel turned into a matte through levels.
//!
//! Values are used as the host delivers them (no linearisation), as Fusion's Bitmap tool and the
//! edit page's Luma Matte composite do, so a matte rendered by any tool comes back unchanged.

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
    /// The value of this channel for one RGBA pixel.
    #[inline]
    pub fn value(self, p: [f32; 4]) -> f32 {
        let [r, g, b, a] = p;
        match self {
            LumaChannel::Luma709 => 0.2126 * r + 0.7152 * g + 0.0722 * b,
            LumaChannel::Luma2020 => 0.2627 * r + 0.6780 * g + 0.0593 * b,
            LumaChannel::Luma601 => 0.299 * r + 0.587 * g + 0.114 * b,
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
        let span = self.white - self.black;
        let mut m = if span == 0.0 {
            if v >= self.black {
                1.0
            } else {
                0.0
            }
        } else {
            ((v - self.black) / span).clamp(0.0, 1.0)
        };
        // NaN from a float host buffer must not leak into the matte.
        if m.is_nan() {
            m = 0.0;
        }
        if self.gamma != 1.0 && self.gamma > 0.0 && m > 0.0 && m < 1.0 {
            m = m.powf(1.0 / self.gamma);
        }
        if self.invert {
            1.0 - m
        } else {
            m
        }
    }
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
