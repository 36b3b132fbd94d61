//! `cargo xtask models [--dest DIR]`: installs the real models of `models/manifest.toml` with
//! `models/install.py` (standard-library Python: download from the pinned source, verify sha256,
//! fail with a clear message when offline).

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::util;

/// Runs the installer, into `dest` when given (default: `.cache/models`).
pub fn run(dest: Option<PathBuf>) -> Result<()> {
    let mut cmd = Command::new("python3");
    cmd.arg(util::root().join("models").join("install.py"));
    if let Some(dest) = dest {
        cmd.arg("--dest").arg(dest);
    }
    util::run(&mut cmd)
}
