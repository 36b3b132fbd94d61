//! `cargo xtask models [--dest DIR]`: installs the real models with the same Rust code users run,
//! `deepmatte models install all` (crates/cli, `inference::download`): download from the pinned
//! sources of `models/manifest.toml`, resume, verify the sha256, fail with a clear message offline.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::util;

/// Builds the CLI and runs its installer, into `dest` when given (default: the per-user models
/// folder, which the plugin searches after Model Folder and `DEEPMATTE_MODELS`).
pub fn run(dest: Option<PathBuf>) -> Result<()> {
    util::run(util::cargo().args(["build", "--release", "-p", "deepmatte-cli"]))?;
    let mut cmd = Command::new(util::target_dir().join("release").join(format!("deepmatte{}", std::env::consts::EXE_SUFFIX)));
    cmd.args(["models", "install", "all"]);
    if let Some(dest) = dest {
        cmd.arg("--dest").arg(dest);
    }
    util::run(&mut cmd)
}
