//! The one ONNX Runtime environment of the process.
//!
//! Hosts call Load more than once and render from many threads, while ONNX Runtime allows one
//! environment per process: it is created on first use, kept for the life of the process, and a failed
//! attempt (library absent) leaves nothing behind so a later render can try again once it is installed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;

use crate::{gpu_runtime, InferenceError};

/// The library's file name as shipped in the bundle and in the `onnxruntime==1.31.1` wheel of the
/// platform (each platform's wheel names it its own way).
#[cfg(not(any(windows, target_os = "macos")))]
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";
/// The library's file name as shipped in the bundle and in the `onnxruntime==1.31.1` wheel of the
/// platform (each platform's wheel names it its own way).
#[cfg(windows)]
pub const ORT_LIBRARY_FILE: &str = "onnxruntime.dll";
/// The library's file name as shipped in the bundle and in the `onnxruntime==1.31.1` wheel of the
/// platform (each platform's wheel names it its own way).
#[cfg(target_os = "macos")]
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.1.31.1.dylib";

/// The loaded runtime: cheap to clone, shared by every model.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) environment: Arc<Environment>,
    library: PathBuf,
    gpu: Option<GpuRuntimeUse>,
}

/// The GPU runtime folder (`deepmatte gpu install`) this process uses, and whether its CUDA
/// libraries loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuRuntimeUse {
    /// The folder.
    pub root: PathBuf,
    /// Where it was found.
    pub place: gpu_runtime::Place,
    /// `Err` names the library that did not load (the CUDA provider will then fail, naming it too).
    pub preload: Result<(), String>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("library", &self.library).finish()
    }
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// The library to load: `DEEPMATTE_ORT_LIB` when set, else `default` (the file next to the plugin
/// binary), made absolute because ort resolves relative paths against the host's executable.
pub fn library_path(default: &Path) -> PathBuf {
    let chosen = std::env::var_os("DEEPMATTE_ORT_LIB").map(PathBuf::from).filter(|p| !p.as_os_str().is_empty());
    let chosen = chosen.unwrap_or_else(|| default.to_path_buf());
    std::path::absolute(&chosen).unwrap_or(chosen)
}

impl Runtime {
    /// The process's runtime, loading the library at [`library_path`]`(default_library)` the first time.
    /// Once loaded, later calls return the same runtime whatever path they pass.
    ///
    /// When a GPU runtime is installed ([`gpu_runtime::find`], searched next to `default_library` and
    /// in the user's data folder) and `DEEPMATTE_CUDA` is not `0`, its CUDA libraries are preloaded by
    /// absolute path first and its ONNX Runtime GPU library replaces `default_library` (it runs on the
    /// CPU too); `DEEPMATTE_ORT_LIB` still wins over both.
    pub fn load(default_library: &Path) -> Result<Runtime, InferenceError> {
        let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = slot.as_ref() {
            return Ok(runtime.clone());
        }
        let cuda_off = std::env::var_os("DEEPMATTE_CUDA").is_some_and(|v| v == "0");
        let gpu = if cuda_off { None } else { gpu_runtime::find(default_library.parent()) };
        let gpu = gpu.map(|(place, root)| {
            let preload = gpu_runtime::preload(&root);
            match &preload {
                Ok(()) => log::info!("GPU runtime ({place}) {}: CUDA libraries loaded", root.display()),
                Err(why) => log::warn!("GPU runtime ({place}) {}: {why}", root.display()),
            }
            GpuRuntimeUse { root, place, preload }
        });
        let default_library = match &gpu {
            Some(gpu) => gpu.root.join("onnxruntime").join(gpu_runtime::ORT_GPU_LIBRARY),
            None => default_library.to_path_buf(),
        };
        let library = library_path(&default_library);
        let missing = |detail: String| InferenceError::RuntimeMissing { path: library.clone(), detail };
        if !library.is_file() {
            return Err(missing("no such file".into()));
        }
        let builder = ort::init_from(&library).map_err(|e| missing(e.to_string()))?;
        let environment = builder
            .with_name("deepmatte")
            .with_telemetry(false)
            .build()
            .map_err(|e| missing(e.to_string()))?;
        log::info!("ONNX Runtime loaded from {}", library.display());
        let runtime = Runtime { environment: Arc::new(environment), library, gpu };
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The library file this runtime was loaded from.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// The GPU runtime in use, if one is installed.
    pub fn gpu_runtime(&self) -> Option<&GpuRuntimeUse> {
        self.gpu.as_ref()
    }
}
