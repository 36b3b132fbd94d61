//! Finding the bundle when `--bundle` is not given, so the CLI of a release archive finds the bundle
//! that sits beside it, and `target/release/deepmatte` works right after `cargo xtask bundle` from
//! anywhere in the checkout.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

const BUNDLE: &str = "DeepMatte.ofx.bundle";

/// `explicit`, else `$DEEPMATTE_BUNDLE`, else `DeepMatte.ofx.bundle` next to the executable (the
/// release archive's layout), else `target/bundle/DeepMatte.ofx.bundle` (or
/// `bundle/DeepMatte.ofx.bundle` inside a custom target folder) in a folder above the
/// executable, else above the current folder.
pub fn bundle(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return checked(path.to_path_buf(), "--bundle");
    }
    if let Some(path) = std::env::var_os("DEEPMATTE_BUNDLE").filter(|p| !p.is_empty()) {
        return checked(PathBuf::from(path), "DEEPMATTE_BUNDLE");
    }
    let exe_dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    if let Some(beside) = exe_dir.as_ref().map(|dir| dir.join(BUNDLE)).filter(|p| p.is_dir()) {
        return Ok(beside);
    }
    let cwd = std::env::current_dir().ok();
    for start in exe_dir.iter().chain(cwd.iter()) {
        for dir in start.ancestors() {
            for candidate in [dir.join("target/bundle").join(BUNDLE), dir.join("bundle").join(BUNDLE)] {
                if candidate.is_dir() {
                    return Ok(candidate);
                }
            }
        }
    }
    bail!(
        "no {BUNDLE} found beside deepmatte or above it: keep the bundle next to deepmatte as the release \
         archive has it, or pass --bundle PATH, or set DEEPMATTE_BUNDLE (in a source checkout, \
         `cargo xtask bundle` builds it)"
    )
}

fn checked(path: PathBuf, source: &str) -> Result<PathBuf> {
    if !path.is_dir() {
        bail!("the bundle given by {source} does not exist: {}", path.display());
    }
    Ok(path)
}
