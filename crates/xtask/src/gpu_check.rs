//! `cargo xtask gpu-check`: the one command for the CUDA path on a GPU machine.
//!
//! A lent GPU machine has the driver, the CUDA 13 toolkit and the CUDA wheels in Python, but no
//! Rust toolchain, and one call carries at most 64 MiB. So this stages, here, everything the check
//! runs into `target/gpu-check/` (test binaries, CLI and bundle, debug info stripped; the small
//! stand-in model and the cost stand-in's generator; `run.sh`), reports its size, and runs
//! `run.sh` when this machine has an NVIDIA GPU. On a GPU machine: carry the folder and run
//! `target/gpu-check/run.sh` — the GPU tests (kernels vs CPU twins; LME, Depth Map and Magic Mask's
//! stored masks through `resolve-cuda` vs the CPU, with the plugin's frame-copy count), per-stage times, and renders of Luma Matte
//! Extract and Depth Map through `resolve-cuda` and `resolve`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{bundle, util};

const SCRIPT: &str = include_str!("gpu_check.sh");

/// The test binaries the check runs: (package, test target).
const TESTS: &[(&str, &str)] = &[("gpu", "nvrtc_compile"), ("gpu", "device"), ("deepmatte-plugin", "cuda_render")];

pub fn run() -> Result<()> {
    let bundle = bundle::run(&[])?;
    util::run(util::cargo().args(["build", "--release", "-p", "deepmatte-cli"]))?;
    let stage = util::target_dir().join("gpu-check");
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    let tests = stage.join("tests");
    std::fs::create_dir_all(&tests)?;
    for (package, test) in TESTS {
        let out = util::cargo()
            .args(["test", "--release", "-p", package, "--test", test, "--no-run", "--message-format=json"])
            .stderr(Stdio::inherit())
            .output()
            .context("cargo test --no-run")?;
        if !out.status.success() {
            bail!("building test {package}/{test} failed");
        }
        let json = String::from_utf8_lossy(&out.stdout);
        let exe = json
            .match_indices("\"executable\":\"")
            .filter_map(|(at, m)| json[at + m.len()..].split('"').next())
            .find(|e| Path::new(e).file_name().is_some_and(|n| n.to_string_lossy().starts_with(test)))
            .with_context(|| format!("cargo built no executable for {package}/{test}"))?;
        stripped(Path::new(exe), &tests.join(format!("{package}-{test}")))?;
    }
    std::fs::create_dir_all(stage.join("bin"))?;
    stripped(&util::release_dir().join("deepmatte"), &stage.join("bin").join("deepmatte"))?;
    let staged_bundle = stage.join("DeepMatte.ofx.bundle");
    util::copy_dir(&bundle, &staged_bundle)?;
    let binary = staged_bundle.join("Contents").join("Linux-x86-64").join("DeepMatte.ofx");
    stripped(&binary.clone(), &binary)?;
    let root = util::root();
    std::fs::create_dir_all(stage.join("models"))?;
    std::fs::copy(root.join(".cache/models/depth_standin_exact.onnx"), stage.join("models/depth_standin_exact.onnx"))
        .context("no .cache/models/depth_standin_exact.onnx: run cargo xtask setup")?;
    std::fs::copy(root.join("models/cost_standin.py"), stage.join("cost_standin.py"))?;
    std::fs::copy(root.join("samples/hills-640x360.png"), stage.join("hills-640x360.png"))?;
    let script = stage.join("run.sh");
    std::fs::write(&script, SCRIPT)?;
    util::run(Command::new("chmod").arg("+x").arg(&script))?;
    let size = dir_size(&stage)?;
    println!("gpu-check: staged {} ({:.1} MiB; a lent GPU machine takes 64 MiB per call)", stage.display(), size as f64 / (1 << 20) as f64);

    let has_gpu = Path::new("/dev/nvidiactl").exists() || util::on_path("nvidia-smi");
    if !has_gpu {
        println!("gpu-check: NO GPU on this machine, so nothing was checked on a GPU.");
        println!("gpu-check: carry {} to a machine with an NVIDIA GPU (driver r580+) and run its run.sh", stage.display());
        return Ok(());
    }
    util::run(&mut Command::new(&script))
}

/// Copies `from` to `to` without debug info (the 64 MiB carry limit).
fn stripped(from: &Path, to: &Path) -> Result<()> {
    util::run(Command::new("objcopy").arg("--strip-debug").arg(from).arg(to))
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        total += if entry.file_type()?.is_dir() { dir_size(&entry.path())? } else { entry.metadata()?.len() };
    }
    Ok(total)
}
