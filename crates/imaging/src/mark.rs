//! A picture that says "this effect failed", for hosts that show no plugin messages (MLT:
//! Shotcut, Kdenlive log a failed render at debug level and show the source, so a missing
//! model would look like an effect that does nothing).

use crate::view::{for_each_row, ImageMut, ImageRef, Rect};

/// Width in pixels of each diagonal stripe of [`failure_stripes`].
pub const FAILURE_STRIPE: i32 = 16;

/// The colour of the marked stripes: opaque pure red.
pub const FAILURE_RED: [f32; 4] = [1.0, 0.0, 0.0, 1.0];

/// Whether pixel (x, y) lies on a red stripe: diagonal bands `FAILURE_STRIPE` wide, every
/// other band red, the pattern anchored at (0, 0) so tiles and render windows line up.
#[inline]
pub fn on_failure_stripe(x: i32, y: i32) -> bool {
    (x.wrapping_add(y)).div_euclid(FAILURE_STRIPE).rem_euclid(2) == 0
}

/// Fills `window` with the source (opaque) crossed by red diagonal stripes: nobody mistakes it
/// for a working effect, and the shot stays recognisable.
pub fn failure_stripes(out: &mut ImageMut<'_>, window: Rect, source: Option<&ImageRef<'_>>) {
    for_each_row(out, window, |y, x1, row, _| {
        match source {
            Some(s) => s.read_rgba(y, x1, row),
            None => row.fill([0.0; 4]),
        }
        for (i, px) in row.iter_mut().enumerate() {
            if on_failure_stripe(x1 + i as i32, y) {
                *px = FAILURE_RED;
            } else {
                px[3] = 1.0;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_alternate_every_sixteen_pixels_along_the_diagonal() {
        assert!(on_failure_stripe(0, 0) && on_failure_stripe(15, 0) && on_failure_stripe(8, 7));
        assert!(!on_failure_stripe(16, 0) && !on_failure_stripe(0, 16) && !on_failure_stripe(31, 0));
        assert!(on_failure_stripe(32, 0) && on_failure_stripe(-1, -16) && !on_failure_stripe(-1, 0));
        let red = (0..64).filter(|x| on_failure_stripe(*x, 5)).count();
        assert_eq!(red, 32, "half of every row is red");
    }
}
