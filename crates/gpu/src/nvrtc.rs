//! NVRTC, the pinned 13.0 from the `nvidia-cuda-nvrtc==13.0.88` wheel, loaded by absolute path.
//!
//! cudarc finds NVRTC by bare library name only and tries an unversioned `libnvrtc.so` first, so a
//! newer or older NVRTC on the search path could be picked up (a 13.1 NVRTC emits PTX an r580
//! driver refuses). Loading both libraries by absolute path first makes the dynamic loader hand
//! cudarc those (it matches bare names against loaded sonames), and the version is checked after.
//! Every call runs inside `catch_unwind`: cudarc panics when a library or symbol is missing.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::exec::GpuError;
use crate::kernels::Family;

/// The NVRTC libraries, in load order: the builtins first (NVRTC dlopens them by bare name).
#[cfg(not(windows))]
pub const LIBRARIES: [&str; 2] = ["libnvrtc-builtins.so.13.0", "libnvrtc.so.13"];
#[cfg(windows)]
pub const LIBRARIES: [&str; 2] = ["nvrtc-builtins64_130.dll", "nvrtc64_130_0.dll"];

/// The NVRTC version the kernels are built with: 13.0 (CUDA 13 drivers, r580+, load its PTX).
pub const VERSION: (i32, i32) = (13, 0);

/// Compute capabilities the CI compiles every kernel for (Turing to Hopper).
pub const TESTED_ARCHS: [(u32, u32); 5] = [(7, 5), (8, 0), (8, 6), (8, 9), (9, 0)];

/// The folder holding [`LIBRARIES`]: `DEEPMATTE_NVRTC_DIR`, else `nvrtc/` of the GPU runtime folder
/// (`DEEPMATTE_GPU_RUNTIME`, next to the plugin binary, or in the user's data folder, where
/// `deepmatte gpu install` puts it), the first that has them.
pub fn library_dir(plugin_dir: Option<&Path>) -> Option<PathBuf> {
    let has = |d: &Path| LIBRARIES.iter().all(|l| d.join(l).is_file());
    if let Some(dir) = std::env::var_os("DEEPMATTE_NVRTC_DIR") {
        return Some(PathBuf::from(dir));
    }
    let mut candidates = Vec::new();
    // The GPU runtime folder `deepmatte gpu install` fills (inference::gpu_runtime), searched in its order.
    if let Some(root) = std::env::var_os("DEEPMATTE_GPU_RUNTIME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        candidates.push(root.join("nvrtc"));
    }
    if let Some(p) = plugin_dir {
        candidates.push(p.join("gpu-runtime").join("nvrtc"));
    }
    if let Some(data) = crate::cache::user_folder("data") {
        candidates.push(data.join("DeepMatte").join("gpu-runtime").join("nvrtc"));
    }
    candidates.into_iter().find(|d| has(d))
}

/// Loads NVRTC from `dir` once per process and returns its version; later calls return the first
/// outcome (a process cannot swap libraries it has loaded).
pub fn load(dir: &Path) -> Result<(i32, i32), GpuError> {
    LOADED.get_or_init(|| load_now(dir)).clone()
}

static LOADED: OnceLock<Result<(i32, i32), GpuError>> = OnceLock::new();

/// NVRTC as loaded by this process (the Load self-test loads it from wherever it found it), or
/// loaded now from [`library_dir`] without a plugin folder.
pub fn loaded_or_load() -> Result<(i32, i32), GpuError> {
    if let Some(outcome) = LOADED.get() {
        return outcome.clone();
    }
    let dir = library_dir(None).ok_or_else(|| GpuError::Unavailable("NVRTC 13.0 not installed".into()))?;
    load(&dir)
}

fn load_now(dir: &Path) -> Result<(i32, i32), GpuError> {
    if !dir.is_absolute() {
        return Err(GpuError::Unavailable(format!("NVRTC folder {} is not an absolute path", dir.display())));
    }
    for name in LIBRARIES {
        let path = dir.join(name);
        // Loading a library runs its initialisers: these are NVIDIA's NVRTC libraries from the
        // pinned wheel. The handle is kept for the life of the process so the loader keeps them.
        let lib = unsafe { libloading::Library::new(&path) }
            .map_err(|e| GpuError::Unavailable(format!("cannot load {}: {e}", path.display())))?;
        std::mem::forget(lib);
    }
    let version = guard("nvrtcVersion", || {
        let (mut major, mut minor) = (0, 0);
        // Plain out-parameters; the library was loaded above.
        let rc = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        (rc == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS).then_some((major, minor))
    })?
    .ok_or_else(|| GpuError::Unavailable("nvrtcVersion failed".into()))?;
    if version != VERSION {
        return Err(GpuError::Unavailable(format!(
            "NVRTC {}.{} was loaded, DeepMatte needs {}.{} (another libnvrtc on the library search path?)",
            version.0, version.1, VERSION.0, VERSION.1
        )));
    }
    Ok(version)
}

/// Compiles `family` to PTX for compute capability `cc` (NVRTC must be [`load`]ed).
pub fn compile(family: Family, cc: (u32, u32)) -> Result<String, GpuError> {
    let opts = cudarc::nvrtc::CompileOptions {
        // Multiply-adds round separately, as in the Rust twins (see prelude.cuh).
        fmad: Some(false),
        options: vec![format!("--gpu-architecture=compute_{}{}", cc.0, cc.1), "--std=c++17".into()],
        name: Some(family.file().into()),
        ..Default::default()
    };
    let source = family.source();
    guard("nvrtcCompileProgram", move || cudarc::nvrtc::compile_ptx_with_opts(source, opts))?
        .map(|ptx| ptx.to_src())
        .map_err(|e| match e {
            cudarc::nvrtc::CompileError::CompileError { log, .. } => {
                GpuError::Failed(format!("{} does not compile for sm_{}{}: {}", family.file(), cc.0, cc.1, log.to_string_lossy()))
            }
            other => GpuError::Failed(format!("NVRTC on {}: {other}", family.file())),
        })
}

/// Runs `f`, turning a panic (cudarc's answer to a missing library or symbol) into an error.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, GpuError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        GpuError::Unavailable(format!("{what}: {msg}"))
    })
}
