//! DeepMatte: AI mattes for OpenFX hosts (DaVinci Resolve, Nuke, Natron).
//!
//! This crate is the plugin binary (`DeepMatte.ofx` inside `DeepMatte.ofx.bundle`). It holds one
//! file per effect under `effects/`; everything OFX-specific, raw pointers included, lives in the `ofx` crate,
//! pixel work in `imaging`.

pub mod effects;

ofx::export_plugins!(effects::LumaMatteExtract, effects::DepthMap, effects::MagicMask);

/// Diagnostics for tests and benchmarks: how many times any model ran in this process (cached
/// renders run none).
#[no_mangle]
pub extern "C" fn DeepMatteModelRuns() -> u64 {
    ofx::catch_panic(0, inference::model_runs)
}

/// Diagnostics for tests and benchmarks: how many optical flows Depth Map's Temporal Stability has
/// computed in this process (cached renders compute none).
#[no_mangle]
pub extern "C" fn DeepMatteFlowRuns() -> u64 {
    ofx::catch_panic(0, depth::flows_computed)
}
