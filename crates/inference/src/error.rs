//! Errors phrased for the person reading them in a host's message box: what is missing, where we
//! looked, and the command that fixes it.

use std::path::PathBuf;

/// Everything that can stop a model from running.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// `libonnxruntime` could not be loaded (absent, wrong version, not a library).
    #[error(
        "the ONNX Runtime library could not be loaded from {path}: {detail}. \
         Run `cargo xtask bundle` (it puts libonnxruntime.so.1.31.1 next to the plugin binary) or \
         `cargo xtask setup`, or set DEEPMATTE_ORT_LIB to the library's absolute path"
    )]
    RuntimeMissing {
        /// The absolute path that was tried.
        path: PathBuf,
        /// What the loader said.
        detail: String,
    },
    /// The model file is not in the model folder.
    #[error(
        "model file `{file}` was not found in {folder}. Install it with `{install}`, or set \
         Model Folder (or DEEPMATTE_MODELS) to a folder that holds it"
    )]
    ModelMissing {
        /// The file name that was expected.
        file: String,
        /// The folder that was searched.
        folder: PathBuf,
        /// The command that installs it.
        install: String,
    },
    /// The file is an ONNX model, but not one with the inputs and outputs the engine needs.
    #[error("model {path} does not match the {contract} contract: {}", .problems.join("; "))]
    ContractMismatch {
        /// The model file.
        path: PathBuf,
        /// The contract's name (e.g. "Depth Anything V2").
        contract: String,
        /// One sentence per mismatch.
        problems: Vec<String>,
    },
    /// The file exists but ONNX Runtime cannot read it as a model.
    #[error(
        "model {path} could not be read as an ONNX model (corrupt or incomplete file?): {detail}. \
         Re-install it with `{install}`"
    )]
    CorruptModel {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        detail: String,
        /// The command that installs it again.
        install: String,
    },
    /// The model opened but a run failed (wrong input size, out of memory, ...).
    #[error("running model {path} failed: {detail}")]
    Run {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        detail: String,
    },
}
