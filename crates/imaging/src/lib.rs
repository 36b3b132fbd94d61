//! CPU pixel operations for DeepMatte: views over host pixel rows of any bit depth, conversion to
//! and from RGBA `f32` rows, and the matte operations the effects share.
//!
//! This crate knows no host and no model. The OFX layer builds the views (it owns the raw
//! pointers); the effects call the operations. Operations work row by row through an `f32` RGBA
//! scratch span (a row in pieces that stay in L1), so one generic conversion per bit depth
//! replaces a copy of every operation per depth, and rows run in parallel on rayon's pool.

mod colour;
pub mod depth;
mod finesse;
mod fingerprint;
pub mod flow;
mod luma;
mod mark;
mod plane;
pub mod resize;
mod sample;
mod simd;
mod view;

pub use colour::{encode_for_network, network_rgb, srgb_encode, SourceColour, ACESCG_TO_REC709};
pub use depth::IsolateBand;
pub use finesse::{luma_plane, Finesse, EDGE_EPS};
pub use fingerprint::{fingerprint_finish, FINGERPRINT_CHUNK};
pub use flow::{area_taps, confidence, optical_flow, shrink_area, warp, Flow};
pub use luma::{copy, extract_matte, place_plane, pow_unit, LumaChannel, MatteLevels, MatteOutput, PreparedLevels};
pub use mark::{failure_stripes, on_failure_stripe, FAILURE_RED, FAILURE_STRIPE};
pub use plane::{box_blur, coverage_plane, expand_contract, gaussian_blur, gaussian_box_radius, guided_filter, Plane};
pub use sample::Sample;
pub use simd::{instruction_set, SIMD_ENV};
pub use view::{for_each_row, Components, ImageMut, ImageRef, Rect, RowMut, RowRef};

/// A buffer for an image of this size cannot be had (its size overflows, or memory is short).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocError {
    pub width: usize,
    pub height: usize,
}

impl std::fmt::Display for AllocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not enough memory for a {}×{} image", self.width, self.height)
    }
}

impl std::error::Error for AllocError {}
