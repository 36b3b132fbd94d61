//! The part of Depth Map's and Magic Mask's Status that says where the pixel stages (pre-process,
//! post-process, finesse) run and why not faster. Their CUDA kernels exist and are tested against
//! the CPU (crates/gpu), but these two effects do not declare CUDA render yet: the model would
//! still need its input and output on the host (ONNX Runtime on device tensors is not wired), so
//! the host hands them CPU images and every pixel stage runs on the CPU.

/// E.g. "pre/post-process: CPU (this effect has no CUDA render yet; the GPU found, sm_90, renders
/// Luma Matte Extract)" or "pre/post-process: CPU (no CUDA driver (libcuda.so.1 not found))".
pub fn stages() -> String {
    match ofx::cuda_support() {
        gpu::Probe::Ready { cc, .. } => {
            format!("pre/post-process: CPU (this effect has no CUDA render yet; the GPU found, sm_{}{}, renders Luma Matte Extract)", cc.0, cc.1)
        }
        gpu::Probe::Off(why) => format!("pre/post-process: CPU ({why})"),
    }
}
