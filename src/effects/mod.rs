//! The effects, one file each: identity and controls first, then render.

mod cuda_frame;
mod depth_map;
mod gpu_status;
mod luma_matte_extract;
mod magic_mask;
mod runtime;
mod source_colour;

pub use depth_map::{controls as depth_map_controls, DepthMap};
pub use luma_matte_extract::{controls as luma_matte_extract_controls, LumaMatteExtract};
pub use magic_mask::{controls as magic_mask_controls, MagicMask};
