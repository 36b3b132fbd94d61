//! DeepMatte: AI mattes for OpenFX hosts (DaVinci Resolve, Nuke, Natron).
//!
//! This crate is the plugin binary (`DeepMatte.ofx` inside `DeepMatte.ofx.bundle`). It holds one
//! file per effect under `effects/`; everything OFX-specific, raw pointers included, lives in the `ofx` crate,
//! pixel work in `imaging`.

pub mod effects;

/// What this binary is: version, commit and CUDA kernel-source hash (stamped by build.rs), logged
/// at Load so a log names the build and the kernels it ran.
pub const BUILD: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DEEPMATTE_COMMIT"),
    ", CUDA kernels ",
    env!("DEEPMATTE_KERNEL_HASH"),
    ")"
);

ofx::export_plugins!(build = BUILD; effects::LumaMatteExtract, effects::DepthMap, effects::MagicMask);

/// Diagnostics for tests and benchmarks: how many times any model ran in this process (cached
/// renders run none).
#[no_mangle]
pub extern "C" fn DeepMatteModelRuns() -> u64 {
    ofx::catch_panic(0, || {
        ofx::fault::point("DeepMatteModelRuns");
        inference::model_runs()
    })
}

/// Diagnostics for tests and benchmarks: how many optical flows Depth Map's Temporal Stability has
/// computed in this process (cached renders compute none).
#[no_mangle]
pub extern "C" fn DeepMatteFlowRuns() -> u64 {
    ofx::catch_panic(0, || {
        ofx::fault::point("DeepMatteFlowRuns");
        depth::flows_computed()
    })
}

/// Diagnostics for the headless host's `resolve-cuda` profile: host↔device frame copies the
/// plugin made in this process (a CUDA render makes none; only the Load self-test reads back its
/// 5×3 test image).
#[no_mangle]
pub extern "C" fn DeepMatteCudaFrameCopies() -> u64 {
    ofx::catch_panic(0, || {
        ofx::fault::point("DeepMatteCudaFrameCopies");
        gpu::device::frame_copies()
    })
}
