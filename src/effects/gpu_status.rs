//! The part of Depth Map's and Magic Mask's Status that says where the pixel stages (pre-process,
//! post-process, finesse) run and why not faster.
//!
//! Depth Map renders on CUDA when the Load self-test passed (driver, device ≥ sm_75, NVRTC,
//! kernels) and ONNX Runtime's CUDA provider is there (the GPU runtime, `deepmatte gpu install`):
//! then hosts that render on CUDA (Resolve) hand it device images and the whole render stays on
//! the GPU, Temporal Stability's flows and average included (planned on the CPU from small host
//! copies of each frame's luma and raw depth, never a frame). Magic Mask renders on
//! CUDA when the self-test passed (it needs no provider: no model runs in its CUDA render): the
//! stored mask's finesse and view run on the device, while tracking (SAM 2.1) and Auto Subject
//! (U²-Netp) take host images, so frames that need them render on the CPU.

/// Magic Mask's: e.g. "finesse and view: CUDA sm_90 on the host stream when the host renders on
/// CUDA · tracking and Auto Subject: CPU images (their models read host frames; such frames render
/// on the CPU)" or "finesse and view: CPU (no CUDA driver (libcuda.so.1 not found))".
pub fn stages() -> String {
    match ofx::cuda_support() {
        gpu::Probe::Ready { cc, .. } => format!(
            "finesse and view: CUDA sm_{}{} on the host stream when the host renders on CUDA · tracking and Auto Subject: CPU images \
             (their models read host frames; such frames render on the CPU)",
            cc.0, cc.1
        ),
        gpu::Probe::Off(why) => format!("finesse and view: CPU ({why})"),
    }
}

/// Depth Map's, given whether its model can run on CUDA device tensors (`model`): e.g. "kernels
/// CUDA sm_90 on the host stream · model CUDA (when the host renders on CUDA; Temporal Stability's
/// flows too, planned on the CPU)", "CPU: no CUDA driver (libcuda.so.1 not found)", or "CPU: kernels ready (sm_90)
/// but the model cannot run on CUDA (no GPU runtime installed (run `deepmatte gpu install`))".
pub fn depth_map_stages(model: Result<(), String>) -> String {
    match (ofx::cuda_support(), model) {
        (gpu::Probe::Off(why), _) => format!("CPU: {why}"),
        (gpu::Probe::Ready { cc, .. }, Err(why)) => {
            format!("CPU: kernels ready (sm_{}{}) but the model cannot run on CUDA ({why})", cc.0, cc.1)
        }
        (gpu::Probe::Ready { cc, .. }, Ok(())) => format!(
            "kernels CUDA sm_{}{} on the host stream · model CUDA (when the host renders on CUDA; Temporal Stability's flows too, planned on the CPU)",
            cc.0, cc.1
        ),
    }
}
