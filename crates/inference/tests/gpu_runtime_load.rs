//! The plugin's side of `deepmatte gpu install`: with a GPU runtime folder present, the runtime
//! preloads its libraries by absolute path and loads its ONNX Runtime instead of the bundled one.
//! Here the folder holds the pinned NVRTC 13.0 (from setup) and, as its "ONNX Runtime GPU", the
//! CPU library, but no CUDA libraries: loading goes through, the preload outcome names the first
//! missing CUDA library, and a model opens on the CPU with the CUDA reason naming the installer.
//! Its own test binary: the runtime is process-wide.
#![cfg(unix)]

#[allow(dead_code)]
mod common;

use std::os::unix::fs::symlink;

use inference::gpu_runtime::{self, Place};
use inference::{u2netp, Backend, Runtime, SessionOptions};

#[test]
fn a_gpu_runtime_folder_is_preloaded_and_its_onnx_runtime_used_and_a_missing_cuda_library_is_named() {
    let root = tempfile::tempdir().unwrap();
    for (role, file, source) in [
        ("onnxruntime", gpu_runtime::ORT_GPU_LIBRARY, common::cached("onnxruntime").join(inference::ORT_LIBRARY_FILE)),
        ("nvrtc", "libnvrtc-builtins.so.13.0", common::cached("nvrtc/libnvrtc-builtins.so.13.0")),
        ("nvrtc", "libnvrtc.so.13", common::cached("nvrtc/libnvrtc.so.13")),
    ] {
        std::fs::create_dir_all(root.path().join(role)).unwrap();
        symlink(source, root.path().join(role).join(file)).unwrap();
    }
    // SAFETY of the test: set before any thread of this binary reads the environment.
    std::env::set_var(gpu_runtime::ENV, root.path());
    std::env::remove_var("DEEPMATTE_ORT_LIB");
    std::env::remove_var("DEEPMATTE_CUDA");
    assert_eq!(gpu_runtime::find(None), Some((Place::Environment, root.path().to_path_buf())));

    let bundled = common::cache().join("nowhere").join(inference::ORT_LIBRARY_FILE);
    let runtime = Runtime::load(&bundled).expect("the GPU runtime's ONNX Runtime loads");
    assert_eq!(runtime.library(), root.path().join("onnxruntime").join(gpu_runtime::ORT_GPU_LIBRARY));
    let used = runtime.gpu_runtime().expect("the GPU runtime is in use");
    let why = used.preload.clone().unwrap_err();
    println!("preload: {why}");
    assert!(why.contains(&format!("{} is missing", root.path().join("cuda").join("libcudart.so.13").display())), "{why}");

    let model = runtime.open(&common::cached("models/u2netp.onnx"), &u2netp::CONTRACT, &SessionOptions::default()).unwrap();
    let report = model.backend().to_string();
    println!("backend: {report}");
    assert_eq!(model.backend().used, Backend::Cpu);
    assert!(report.contains("deepmatte gpu install") && !report.contains("cargo"), "{report}");
}
