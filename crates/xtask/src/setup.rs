//! `cargo xtask setup`: brings a bare Debian 12 machine to the point where everything builds and
//! every test runs. Each step checks what is already there first, so running it again is cheap.

use std::process::Command;

use anyhow::Result;

use crate::{cross, hostdemo, nvrtc, python, util};

/// One idempotent setup step. Adding a step is adding one entry to [`STEPS`].
struct Step {
    name: &'static str,
    run: fn() -> Result<()>,
}

/// The steps, in order: later ones may need what earlier ones installed.
const STEPS: &[Step] = &[
    Step { name: "system packages", run: system_packages },
    Step { name: "OpenFX hostDemo (independent host for tests)", run: hostdemo::build },
    Step { name: "Python venv, ONNX Runtime library, stand-in models, references", run: python::setup },
    Step { name: "release builds: zig (glibc 2.28), Windows target, Windows ONNX Runtime, Wine prefix", run: cross::setup },
    Step { name: "NVRTC 13.0 (pinned wheel) for the CUDA kernel compile tests", run: nvrtc::setup },
];

/// Debian packages: libclang for bindgen (openfx-sys); a C++ toolchain and make for the official
/// OpenFX hostDemo; python3-venv for the model tooling's venv; ffmpeg for the CLI's video input
/// and output, so their tests run too; for the release: mingw-w64 to link the Windows build, Wine
/// to run it, binutils' objdump to read shipped symbol versions, zip and unzip for the Windows
/// archive and wheels.
const APT_PACKAGES: &[&str] = &[
    "libclang-dev",
    "g++",
    "make",
    "python3-venv",
    "ffmpeg",
    "gcc-mingw-w64-x86-64-win32",
    "wine64",
    "binutils",
    "zip",
    "unzip",
];

/// Runs every setup step.
pub fn run() -> Result<()> {
    for step in STEPS {
        println!("setup: {}", step.name);
        (step.run)()?;
    }
    Ok(())
}

/// Installs the missing [`APT_PACKAGES`]; runs `apt-get update` only when something is missing.
fn system_packages() -> Result<()> {
    if !util::on_path("dpkg-query") {
        println!("  not a Debian system: make sure these are installed: {}", APT_PACKAGES.join(", "));
        return Ok(());
    }
    let missing: Vec<&str> = APT_PACKAGES.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if missing.is_empty() {
        println!("  already installed: {}", APT_PACKAGES.join(", "));
        return Ok(());
    }
    if !is_root() {
        println!(
            "  not root, so not installing {0}; run: sudo apt-get install {0}",
            missing.join(" ")
        );
        return Ok(());
    }
    util::run(apt_get().arg("update"))?;
    util::run(apt_get().args(["install", "-y", "--no-install-recommends"]).args(&missing))
}

/// `apt-get` that never asks a question (CI has no stdin).
fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
