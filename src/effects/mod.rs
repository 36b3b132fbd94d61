//! The effects, one file each: identity and controls first, then render.

mod luma_matte_extract;

pub use luma_matte_extract::LumaMatteExtract;
