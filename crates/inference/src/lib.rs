//! ONNX Runtime for DeepMatte's engines.
//!
//! The steps a caller goes through, in order:
//! 1. [`Runtime::load`] loads `libonnxruntime` from an absolute path (the bundle ships it next to the
//!    plugin binary; `DEEPMATTE_ORT_LIB` overrides it) and creates the one ORT environment of the process.
//! 2. [`ModelSearch::locate`] finds the model file, first match per file: the effect's Model Folder,
//!    else `DEEPMATTE_MODELS`, else the per-user models folder ([`user_models_dir`]), else the bundle's
//!    `Contents/Resources/models`. [`download`] installs the files the manifest pins.
//! 3. [`Runtime::open`] opens it once per (file, options), checks it against its [`Contract`], picks
//!    TensorRT → CUDA → CPU and records why a faster backend was not used ([`BackendReport`]).
//! 4. [`Model::run`] runs it from any thread.
//!
//! Every failure is an [`InferenceError`] whose message tells the user what is missing and how to fix it.

mod backend;
pub mod budget;
mod contract;
pub mod device;
pub mod download;
mod error;
pub mod gpu_runtime;
pub mod paths;
mod runtime;
mod session;
pub mod u2netp;

pub use backend::{Backend, BackendReport};
pub use contract::{Contract, Dim, TensorInfo, TensorSpec};
pub use error::InferenceError;
pub use paths::{user_data_dir, user_masks_dir, user_models_dir, ModelPlace, ModelSearch};
pub use runtime::{library_path, GpuRuntimeUse, Runtime, ORT_LIBRARY_FILE};
pub use session::{model_runs, Model, SessionOptions, Tensor, TensorView};
