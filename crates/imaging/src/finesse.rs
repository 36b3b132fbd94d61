//! Matte finesse shared by the effects: grow or shrink, soften, then snap to the source's edges.

use crate::{expand_contract, gaussian_blur, guided_filter, ImageRef, LumaChannel, Plane};
use rayon::prelude::*;

/// How far the guide's edges must stand out to be kept by the edge-aware pass (luma² units).
pub const EDGE_EPS: f32 = 1e-3;

/// The finesse controls, in full-resolution pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Finesse {
    /// Grow (positive) or shrink (negative) the matte.
    pub expand_contract: f32,
    /// Blur radius.
    pub blur: f32,
    /// Radius of the edge-aware pass guided by the source's luma (0 = off).
    pub edge_radius: f32,
}

impl Finesse {
    /// Refines `matte` (rows top-down, the size of `source`) at render scale `scale`.
    pub fn apply(&self, matte: &mut Plane, source: &ImageRef<'_>, scale: f32) {
        expand_contract(matte, self.expand_contract * scale);
        // A blur "radius" reaches about two standard deviations.
        gaussian_blur(matte, self.blur * scale / 2.0);
        let radius = (self.edge_radius * scale).round() as usize;
        if radius > 0 {
            guided_filter(matte, &luma_plane(source), radius, EDGE_EPS);
            matte.map(|m| m.clamp(0.0, 1.0));
        }
    }
}

/// The Rec.709 luma of an image as a plane, rows top-down.
pub fn luma_plane(source: &ImageRef<'_>) -> Plane {
    let b = source.bounds();
    let (w, h) = (b.width(), b.height());
    let mut data = vec![0.0f32; w * h];
    data.par_chunks_mut(w.max(1)).enumerate().for_each_init(
        || vec![[0.0f32; 4]; w],
        |scratch, (row, out)| {
            source.read_rgba(b.y2 - 1 - row as i32, b.x1, scratch);
            for (o, p) in out.iter_mut().zip(scratch.iter()) {
                *o = LumaChannel::Luma709.value(*p);
            }
        },
    );
    Plane { width: w, height: h, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Components, Rect, RowRef};

    #[test]
    fn luma_plane_is_top_down_and_zero_finesse_changes_nothing() {
        // Two rows: bottom (y = 0) black, top (y = 1) white.
        let (black, white) = ([0.0f32; 4], [1.0f32; 4]);
        let bounds = Rect { x1: 0, y1: 0, x2: 1, y2: 2 };
        let image = ImageRef::new(bounds, Components::Rgba, vec![RowRef::F32(&black), RowRef::F32(&white)]);
        let luma = luma_plane(&image);
        assert_eq!(luma.data, vec![1.0, 0.0], "row 0 of the plane is the top scan line");
        let mut matte = Plane { width: 1, height: 2, data: vec![0.25, 0.75] };
        Finesse::default().apply(&mut matte, &image, 1.0);
        assert_eq!(matte.data, vec![0.25, 0.75]);
    }
}
