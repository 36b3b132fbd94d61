//! Where `cargo xtask setup` leaves the ONNX Runtime library, the models and the references.

use std::path::PathBuf;

use inference::Runtime;

/// `.cache` at the repository root.
pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache")
}

/// The runtime from `.cache/onnxruntime`, with a message saying how to get it when absent.
pub fn runtime() -> Runtime {
    let library = cache().join("onnxruntime").join(inference::ORT_LIBRARY_FILE);
    Runtime::load(&library).unwrap_or_else(|e| panic!("{e}\n(the test needs `cargo xtask setup` to have run)"))
}

/// A file under `.cache`, which setup must have produced.
pub fn cached(relative: &str) -> PathBuf {
    let path = cache().join(relative);
    assert!(path.exists(), "{} is missing: run `cargo xtask setup` first", path.display());
    path
}
