//! Shared by the segment tests: the runtime `cargo xtask setup` installs and the SAM 2 stand-ins.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use inference::{Runtime, SessionOptions};
use segment::Tracker;

/// `.cache` at the repository root.
pub fn cache() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache")
}

/// The runtime from `.cache/onnxruntime`.
pub fn runtime() -> Runtime {
    let library = cache().join("onnxruntime").join(inference::ORT_LIBRARY_FILE);
    Runtime::load(&library).unwrap_or_else(|e| panic!("{e}\n(the test needs `cargo xtask setup` to have run)"))
}

/// The folder holding the SAM 2 stand-ins, regenerated from `models/sam2/standins.py` with the
/// project's Python (it rewrites nothing when they are current).
pub fn standins() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let folder = cache().join("models");
        let python = cache().join("venv/bin/python");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/sam2/standins.py");
        if python.exists() {
            let status = Command::new(&python).arg(&script).arg(&folder).status().expect("running the stand-in generator");
            assert!(status.success(), "{} {} failed", python.display(), script.display());
        }
        assert!(
            folder.join("sam2_image_encoder.onnx").exists(),
            "the SAM 2 stand-ins are missing from {}: run `cargo xtask setup` first",
            folder.display()
        );
        folder
    })
}

/// A tracker on the stand-ins, CPU only so figures are comparable.
pub fn tracker() -> Tracker {
    let options = SessionOptions { cpu_only: true, ..Default::default() };
    Tracker::open(&runtime(), &inference::ModelSearch::only(standins()), &options).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deepmatte-segment-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
