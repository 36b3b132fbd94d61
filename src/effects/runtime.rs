//! Where the effects find ONNX Runtime and their models, and how a failure to find them reaches
//! the user: as a message naming what is missing and the command that installs it.

use inference::{model_folder, InferenceError, Runtime, ORT_LIBRARY_FILE};
use ofx::Error;
use std::path::{Path, PathBuf};

/// The ONNX Runtime library shipped next to the plugin binary in the bundle.
fn bundled_library() -> PathBuf {
    ofx::plugin_binary_path()
        .and_then(|p| p.parent().map(|dir| dir.join(ORT_LIBRARY_FILE)))
        .unwrap_or_else(|| PathBuf::from(ORT_LIBRARY_FILE))
}

/// The process's ONNX Runtime (loaded on first use; `DEEPMATTE_ORT_LIB` overrides the path).
pub fn runtime() -> Result<Runtime, Error> {
    Runtime::load(&bundled_library()).map_err(user_error)
}

/// The model folder: the effect's Model Folder control, else `DEEPMATTE_MODELS`, else the
/// bundle's `Contents/Resources/models`.
pub fn models_folder(control: &str) -> PathBuf {
    let default = ofx::bundle_resources().map(|r| r.join("models")).unwrap_or_default();
    let explicit = (!control.trim().is_empty()).then(|| Path::new(control.trim()));
    model_folder(explicit, &default)
}

/// An inference failure as a host message.
pub fn user_error(e: InferenceError) -> Error {
    Error::failed(e.to_string())
}
