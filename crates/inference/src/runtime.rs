//! The one ONNX Runtime environment of the process.
//!
//! Hosts call Load more than once and render from many threads, while ONNX Runtime allows one
//! environment per process: it is created on first use, kept for the life of the process, and a failed
//! attempt (library absent) leaves nothing behind so a later render can try again once it is installed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ort::environment::Environment;

use crate::InferenceError;

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
    pub fn load(default_library: &Path) -> Result<Runtime, InferenceError> {
        let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = slot.as_ref() {
            return Ok(runtime.clone());
        }
        let library = library_path(default_library);
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
        let runtime = Runtime { environment: Arc::new(environment), library };
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The library file this runtime was loaded from.
    pub fn library(&self) -> &Path {
        &self.library
    }
}
