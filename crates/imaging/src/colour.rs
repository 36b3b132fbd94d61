//! What colour the networks are given. Depth Anything V2, SAM 2.1 and U²-Netp were trained on
//! display-referred 8-bit sRGB photos (their references feed RGB / 255), so scene-linear float
//! footage is encoded to sRGB for the network's input only; the output and the source are not
//! changed. The CUDA twin is `network_colour` in `crates/gpu/kernels/prelude.cuh`.

use rayon::prelude::*;

/// What a source's RGB values are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SourceColour {
    /// Display-referred Rec.709 / sRGB (what the networks were trained on): passed as it is.
    #[default]
    Display,
    /// Scene-linear with Rec.709 primaries: encoded with the sRGB curve.
    Linear,
    /// ACEScg (scene-linear, AP1 primaries, ACES white): to linear Rec.709, then as [`Linear`](Self::Linear).
    AcesCg,
}

impl SourceColour {
    /// The id the CUDA kernels take (`network_colour` in `prelude.cuh`): declaration order.
    pub fn id(self) -> i32 {
        self as i32
    }
}

/// ACEScg (AP1, ACES white x 0.32168 y 0.33767) to linear Rec.709 (D65), white adapted with
/// Bradford: derived from the primaries (as colour-science's `RGB_to_RGB(…, "ACEScg", "sRGB",
/// "Bradford")` does) and equal to the published 1.70505, −0.62179, −0.08326 / −0.13026, 1.14080,
/// −0.01055 / −0.02400, −0.12897, 1.15297 at their five decimals. Rows sum to 1 (white stays
/// white). Row-major: out[i] = Σ M[i][j] · in[j].
pub const ACESCG_TO_REC709: [[f32; 3]; 3] = [
    [1.705_051, -0.621_792_1, -0.083_258_87],
    [-0.130_256_4, 1.140_804_7, -0.010_548_32],
    [-0.024_003_36, -0.128_969, 1.152_972_3],
];

/// The sRGB transfer function (IEC 61966-2-1 encoding) of a linear value clamped to [0, 1]:
/// above 1 clips (the networks never saw brighter than white), NaN becomes 0.
#[inline]
#[allow(clippy::manual_clamp)] // clamp would pass NaN through; max/min turn it into 0
pub fn srgb_encode(linear: f32) -> f32 {
    let x = linear.max(0.0).min(1.0);
    if x < 0.003_130_8 {
        12.92 * x
    } else {
        1.055 * x.powf(1.0 / 2.4) - 0.055
    }
}

/// One pixel's RGB as the network should see it, given what the source's values are. The
/// arithmetic (matrix row sums left to right, then the curve, no fused multiply-add) is what the
/// CUDA twin does per tap pixel.
#[inline]
pub fn network_rgb(rgb: [f32; 3], colour: SourceColour) -> [f32; 3] {
    match colour {
        SourceColour::Display => rgb,
        SourceColour::Linear => rgb.map(srgb_encode),
        SourceColour::AcesCg => {
            let m = &ACESCG_TO_REC709;
            let row = |i: usize| m[i][0] * rgb[0] + m[i][1] * rgb[1] + m[i][2] * rgb[2];
            [row(0), row(1), row(2)].map(srgb_encode)
        }
    }
}

/// Converts an interleaved RGBA `f32` buffer (the frame as the model's pre-process reads it)
/// in place for the network with [`network_rgb`]; alpha is untouched. Display-referred sources
/// are left as they are without a pass. Before the resize: the references resize the sRGB image.
pub fn encode_for_network(rgba: &mut [f32], colour: SourceColour) {
    if colour == SourceColour::Display {
        return;
    }
    // 16k pixels a task: big enough to amortise rayon's scheduling, small enough to spread a frame.
    rgba.par_chunks_mut(4 << 14).for_each(|chunk| {
        for px in chunk.chunks_exact_mut(4) {
            let [r, g, b] = network_rgb([px[0], px[1], px[2]], colour);
            px[..3].copy_from_slice(&[r, g, b]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f32, want: f64, tol: f64) {
        assert!((f64::from(got) - want).abs() <= tol, "got {got}, want {want}");
    }

    #[test]
    fn srgb_curve_matches_its_closed_form() {
        close(srgb_encode(0.0), 0.0, 0.0);
        // The linear segment's end: 12.92 · 0.0031308 = 0.04044994 (the power segment agrees there).
        close(srgb_encode(0.003_130_7), 12.92 * 0.003_130_7, 1e-7);
        close(srgb_encode(0.003_130_8), 1.055 * 0.003_130_8f64.powf(1.0 / 2.4) - 0.055, 1e-6);
        close(srgb_encode(0.003_130_8), 0.040_45, 1e-5);
        // Mid grey: 1.055 · 0.18^(1/2.4) − 0.055 = 0.461356.
        close(srgb_encode(0.18), 0.461_356, 1e-5);
        close(srgb_encode(1.0), 1.0, 1e-6);
        close(srgb_encode(7.5), 1.0, 1e-6);
        close(srgb_encode(f32::INFINITY), 1.0, 1e-6);
        close(srgb_encode(-0.2), 0.0, 0.0);
        close(srgb_encode(f32::NAN), 0.0, 0.0);
    }

    #[test]
    fn acescg_is_converted_to_rec709_primaries_first() {
        // White and greys keep their value: the matrix's rows sum to 1.
        for v in [0.18f32, 1.0] {
            let out = network_rgb([v; 3], SourceColour::AcesCg);
            out.iter().for_each(|&c| close(c, f64::from(srgb_encode(v)), 2e-6));
        }
        // AP1's (0.5, 0.2, 0.1) is linear Rec.709 (0.719841, 0.161978, 0.077502) (the matrix in
        // double precision), then sRGB-encoded.
        let want = [0.719_841_2f64, 0.161_977_9, 0.077_501_8].map(|x| 1.055 * x.powf(1.0 / 2.4) - 0.055);
        let got = network_rgb([0.5, 0.2, 0.1], SourceColour::AcesCg);
        (0..3).for_each(|c| close(got[c], want[c], 2e-6));
        // ACEScg's pure green is outside Rec.709: its negative red and blue clip to 0.
        assert_eq!(network_rgb([0.0, 1.0, 0.0], SourceColour::AcesCg)[0], 0.0);
        assert_eq!(network_rgb([0.0, 1.0, 0.0], SourceColour::AcesCg)[2], 0.0);
    }

    #[test]
    fn buffers_convert_rgb_in_place_and_keep_alpha() {
        let pixels: Vec<f32> = (0..40_000).flat_map(|i| [(i % 97) as f32 / 50.0, 0.18, f32::NAN, 0.25 + (i % 3) as f32]).collect();
        let mut display = pixels.clone();
        encode_for_network(&mut display, SourceColour::Display);
        assert_eq!(display.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), pixels.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        for colour in [SourceColour::Linear, SourceColour::AcesCg] {
            let mut converted = pixels.clone();
            encode_for_network(&mut converted, colour);
            for (out, src) in converted.chunks_exact(4).zip(pixels.chunks_exact(4)) {
                assert_eq!(out[..3], network_rgb([src[0], src[1], src[2]], colour));
                assert_eq!(out[3], src[3], "alpha untouched");
            }
        }
        let mut linear = pixels.clone();
        encode_for_network(&mut linear, SourceColour::Linear);
        close(linear[1], 0.461_356, 1e-5);
        assert_eq!(linear[2], 0.0, "NaN becomes 0");
    }
}
