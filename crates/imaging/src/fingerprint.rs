//! A 128-bit fingerprint of a float RGBA frame that a GPU computes where the frame lives: the key
//! of the CUDA path's depth cache. The CPU's [`ImageRef::content_hash`] reads rows in order
//! (xxh3 over bands); a device cannot without reading the frame back, so this one is built from
//! independent pieces: each run of [`FINGERPRINT_CHUNK`] pixels of a row is hashed on its own, mixed
//! with its position, and the pieces are summed (mod 2⁶⁴, two lanes of different seeds). A sum does
//! not depend on the order pieces arrive in, so a kernel adds them with atomics, one thread per
//! piece, and gets exactly these numbers (crates/gpu/kernels/fingerprint.cu, its twin).
//!
//! Any change of one float's bits changes its piece, hence each lane, except with probability
//! 2⁻⁶⁴ per lane; a moved piece changes its position mix. Width and height are mixed in last.

use crate::{ImageRef, RowRef};

/// Pixels per piece (one GPU thread's work): long enough that a thread reads 256 contiguous bytes,
/// short enough that a 1080p frame is ~130,000 threads.
pub const FINGERPRINT_CHUNK: usize = 16;

const SEEDS: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];
const PRIMES: [u64; 2] = [0x0000_0100_0000_01b3, 0xff51_afd7_ed55_8ccd];

/// splitmix64's finaliser: every input bit reaches every output bit.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Lane `lane`'s term for the piece at `position` (row × pieces per row + piece) holding `words`
/// (the f32 bits of its pixels, RGBA in order).
fn fingerprint_piece(lane: usize, position: u64, words: impl Iterator<Item = u32>) -> u64 {
    let digest = words.fold(SEEDS[lane], |h, w| (h ^ u64::from(w)).wrapping_mul(PRIMES[lane]));
    mix64(digest ^ mix64(position.wrapping_mul(2).wrapping_add(lane as u64 + 1)))
}

/// The fingerprint from the two lane sums of every piece, and the frame's size (the CUDA path
/// sums the pieces on the device and finishes here).
pub fn fingerprint_finish(sums: [u64; 2], width: usize, height: usize) -> u128 {
    let size = mix64(((width as u64) << 32) ^ height as u64);
    (u128::from(mix64(sums[0] ^ size)) << 64) | u128::from(mix64(sums[1].wrapping_add(size)))
}

impl ImageRef<'_> {
    /// The fingerprint of a float RGBA image (what a CUDA host hands), None for any other layout.
    /// Rows are taken from `bounds.y1` up, whatever their order in memory.
    pub fn fingerprint(&self) -> Option<u128> {
        if self.components() != crate::Components::Rgba {
            return None;
        }
        let width = self.bounds().width();
        let pieces = width.div_ceil(FINGERPRINT_CHUNK) as u64;
        let mut sums = [0u64; 2];
        for (y, row) in self.rows().iter().enumerate() {
            let RowRef::F32(row) = row else { return None };
            for (c, piece) in row[..4 * width].chunks(4 * FINGERPRINT_CHUNK).enumerate() {
                let position = y as u64 * pieces + c as u64;
                for (lane, sum) in sums.iter_mut().enumerate() {
                    *sum = sum.wrapping_add(fingerprint_piece(lane, position, piece.iter().map(|v| v.to_bits())));
                }
            }
        }
        Some(fingerprint_finish(sums, width, self.bounds().height()))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Components, ImageRef, Rect, RowRef};

    fn view(data: &[f32], w: usize, h: usize) -> ImageRef<'_> {
        let rows = data.chunks(4 * w).take(h).map(RowRef::F32).collect();
        ImageRef::new(Rect { x1: 0, y1: 0, x2: w as i32, y2: h as i32 }, Components::Rgba, rows)
    }

    #[test]
    fn fingerprint_follows_every_value_and_its_place() {
        let (w, h) = (37, 5);
        let data: Vec<f32> = (0..4 * w * h).map(|i| (i as f32 * 0.37).sin()).collect();
        let base = view(&data, w, h).fingerprint().unwrap();
        assert_eq!(view(&data, w, h).fingerprint(), Some(base), "deterministic");
        for at in [0, 3, 4 * w - 1, 4 * w * h / 2, 4 * w * h - 1] {
            let mut changed = data.clone();
            changed[at] = f32::from_bits(changed[at].to_bits() ^ 1);
            assert_ne!(view(&changed, w, h).fingerprint(), Some(base), "one bit at {at}");
        }
        // Two rows swapped: the same pieces at other places.
        let mut swapped = data.clone();
        swapped.copy_within(0..4 * w, 4 * w * 2);
        swapped[..4 * w].copy_from_slice(&data[4 * w * 2..4 * w * 3]);
        assert_ne!(view(&swapped, w, h).fingerprint(), Some(base));
        // The same floats read as another shape.
        assert_ne!(view(&data[..720], 30, 6).fingerprint(), view(&data[..720], 60, 3).fingerprint());
    }

    #[test]
    fn only_float_rgba_has_a_fingerprint() {
        let bytes = [0u8; 8];
        let v = ImageRef::new(Rect { x1: 0, y1: 0, x2: 2, y2: 1 }, Components::Rgba, vec![RowRef::U8(&bytes)]);
        assert_eq!(v.fingerprint(), None);
    }
}
