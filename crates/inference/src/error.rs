//! Errors phrased for the person reading them in a host's message box: what is missing, where we
//! looked, and what the user can do about it (a button, the `deepmatte` command, a folder) — never a
//! developer's command.

use std::path::PathBuf;

/// Everything that can stop a model from running.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// `libonnxruntime` could not be loaded (absent, wrong version, not a library).
    #[error(
        "the ONNX Runtime library could not be loaded from {path}: {detail}. \
         It ships inside DeepMatte.ofx.bundle, next to the plugin binary: reinstall the bundle from \
         the release archive, or set DEEPMATTE_ORT_LIB to the library's absolute path"
    )]
    RuntimeMissing {
        /// The absolute path that was tried.
        path: PathBuf,
        /// What the loader said.
        detail: String,
    },
    /// The model file is in none of the folders searched (see `paths`).
    #[error("model file `{file}` was not found in {searched}. {remedy}")]
    ModelMissing {
        /// The file name that was expected.
        file: String,
        /// The folders searched, in order, each with where it came from.
        searched: String,
        /// What the user can do: the button, the install command, where to put the file.
        remedy: String,
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
         Delete it, then install it again. {remedy}"
    )]
    CorruptModel {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said.
        detail: String,
        /// How to install it again.
        remedy: String,
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
