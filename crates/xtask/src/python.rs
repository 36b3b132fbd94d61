//! The Python side of `cargo xtask setup`, for the model work: a venv at `.cache/venv` with the pinned
//! packages of `models/requirements*.txt`, then what the Rust tests and the bundle need from it:
//! - `.cache/onnxruntime/libonnxruntime.so.1.31.1` (from the `onnxruntime==1.31.1` wheel),
//! - `.cache/models/`: the real U²-Netp (sha256-checked) and the generated stand-in depth and SAM 2
//!   models,
//! - `.cache/reference/u2netp/`: the Python onnxruntime reference mattes.
//!
//! Every step is idempotent: pip runs only when the requirement files change, and the scripts rewrite
//! a file only when its bytes change.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// Creates or updates the venv and regenerates the cached models and references.
pub fn setup() -> Result<()> {
    let root = util::root();
    let cache = root.join(".cache");
    let venv = cache.join("venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        create_venv(&venv)?;
    }
    install_requirements(&root.join("models"), &venv)?;

    let script = |name: &str| root.join("models").join(name);
    util::run(Command::new(&python).arg(script("vendor.py")).arg(&cache))?;
    util::run(Command::new(&python).arg(script("standins.py")).arg(cache.join("models")))?;
    util::run(Command::new(&python).arg(script("sam2/standins.py")).arg(cache.join("models")))?;
    util::run(
        Command::new(&python)
            .arg(script("reference_u2netp.py"))
            .arg(cache.join("models").join("u2netp.onnx"))
            .arg(cache.join("reference").join("u2netp")),
    )
}

/// `python3 -m venv`; on Debian that needs the `python3-venv` package, installed when missing.
fn create_venv(venv: &Path) -> Result<()> {
    let venv_cmd = || {
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(venv);
        cmd
    };
    if util::run(&mut venv_cmd()).is_ok() {
        return Ok(());
    }
    println!("  python3 -m venv failed: installing python3-venv");
    let _ = std::fs::remove_dir_all(venv);
    util::run(Command::new("apt-get").args(["install", "-y", "--no-install-recommends", "python3-venv"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
    util::run(&mut venv_cmd())
}

/// Runs pip only when the requirement files differ from what was last installed.
fn install_requirements(models: &Path, venv: &Path) -> Result<()> {
    let requirements = models.join("requirements.txt");
    let no_deps = models.join("requirements-nodeps.txt");
    let wanted = [&requirements, &no_deps]
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .collect::<Result<Vec<_>>>()?
        .concat();
    let stamp = venv.join("deepmatte-requirements.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        println!("  Python requirements already installed");
        return Ok(());
    }
    let pip = || {
        let mut cmd = Command::new(venv.join("bin").join("pip"));
        cmd.args(["install", "--quiet", "--disable-pip-version-check"]);
        cmd
    };
    util::run(pip().arg("-r").arg(&requirements))?;
    util::run(pip().arg("--no-deps").arg("-r").arg(&no_deps))?;
    std::fs::write(&stamp, wanted).with_context(|| format!("cannot write {}", stamp.display()))
}
