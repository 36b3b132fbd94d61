//! The kernel sources. Each family is compiled as one NVRTC program: [`PRELUDE`] followed by the
//! family's file, the same text the CPU emulation includes.

use std::sync::OnceLock;

/// Helpers every family shares (pixel addressing, levels, placement, resize taps).
pub const PRELUDE: &str = include_str!("../kernels/prelude.cuh");

/// A kernel family: one `.cu` file, one module on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Image → model tensor and plane resizes (Depth Map's bicubic and SAM 2's PIL-bicubic
    /// pre-process, depth back to frame size).
    Resize,
    /// Luma Matte Extract's render and matte placement (every effect's output modes).
    LumaMatte,
    /// Depth Map's normalisation (device histogram percentiles), levels, Isolate, Invert.
    DepthPost,
    /// Map Finesse: Expand/Contract, Blur, the guided filter, luma.
    Finesse,
    /// Magic Mask: stored coverage to a matte plane.
    Mask,
    /// The frame fingerprint that keys the depth cache.
    Fingerprint,
    /// Temporal Stability: optical flow, confidence, warp, curve matching, the aligned average.
    Flow,
}

impl Family {
    pub const ALL: [Family; 7] = [Family::Resize, Family::LumaMatte, Family::DepthPost, Family::Finesse, Family::Mask, Family::Fingerprint, Family::Flow];

    /// The file name under `crates/gpu/kernels/`.
    pub fn file(self) -> &'static str {
        match self {
            Family::Resize => "resize.cu",
            Family::LumaMatte => "luma_matte.cu",
            Family::DepthPost => "depth_post.cu",
            Family::Finesse => "finesse.cu",
            Family::Mask => "mask.cu",
            Family::Fingerprint => "fingerprint.cu",
            Family::Flow => "flow.cu",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Family::Resize => include_str!("../kernels/resize.cu"),
            Family::LumaMatte => include_str!("../kernels/luma_matte.cu"),
            Family::DepthPost => include_str!("../kernels/depth_post.cu"),
            Family::Finesse => include_str!("../kernels/finesse.cu"),
            Family::Mask => include_str!("../kernels/mask.cu"),
            Family::Fingerprint => include_str!("../kernels/fingerprint.cu"),
            Family::Flow => include_str!("../kernels/flow.cu"),
        }
    }

    /// The program NVRTC compiles: prelude then the family's file.
    pub fn source(self) -> String {
        format!("{PRELUDE}\n#line 1 \"{}\"\n{}", self.file(), self.body())
    }

    /// The kernels (`extern "C" __global__` functions) the file defines, in file order.
    pub fn kernels(self) -> Vec<&'static str> {
        let body = self.body();
        body.match_indices("__global__ void ")
            .filter_map(|(at, m)| body[at + m.len()..].split('(').next())
            .map(str::trim)
            .collect()
    }

    /// The family defining `kernel`.
    pub fn of(kernel: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.kernels().contains(&kernel))
    }
}

/// xxh3-128 of every kernel source (prelude included), as hex: part of every PTX cache key, and
/// stamped into the plugin binary so a log names the kernels it ran.
pub fn source_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut all = String::from(PRELUDE);
        for f in Family::ALL {
            all.push_str(f.body());
        }
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(all.as_bytes()))
    })
}
