//! `cargo xtask export-models [--random-weights] [--dest DIR]`: the exporters, end to end, in a
//! pinned venv made on demand (`.cache/export-venv`, models/sam2/requirements-export.txt, ~3 GB of
//! wheels on Linux). One script does the work, `models/sam2/install.py`, the same one a user runs to
//! get SAM 2.1 without PyTorch.
//!
//! - `--random-weights`: the official architectures with seeded random weights (no checkpoint):
//!   SAM 2.1 tiny under the contract's file names (Magic Mask Faster), small as `sam2_small_*.onnx`
//!   (Better), and `depth_anything_v2_small.onnx`; each exporter checks its contract and onnxruntime
//!   against PyTorch at two sizes of every dynamic dimension. Default folder `.cache/models/real-arch`,
//!   where the real-architecture tests look (tests/real_arch.rs).
//! - without it: SAM 2.1 tiny and small from the official checkpoints (downloaded into
//!   `.cache/export-checkpoints`), default folder the per-user models folder.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::util;

/// The folder the real-architecture tests read.
pub fn real_arch_dir() -> PathBuf {
    util::root().join(".cache").join("models").join("real-arch")
}

pub fn run(random_weights: bool, dest: Option<PathBuf>) -> Result<()> {
    let root = util::root();
    let cache = root.join(".cache");
    let started = Instant::now();
    // Two shared cores here: the export must not starve the rest of the machine.
    let mut cmd = if util::on_path("nice") {
        let mut c = Command::new("nice");
        c.arg("python3");
        c
    } else {
        Command::new("python3")
    };
    cmd.arg(root.join("models").join("sam2").join("install.py"))
        .arg("--venv")
        .arg(cache.join("export-venv"))
        .arg("--cache")
        .arg(cache.join("export-checkpoints"))
        .args(["--sizes", "tiny,small"]);
    let dest = match (dest, random_weights) {
        (Some(d), _) => Some(d),
        (None, true) => Some(real_arch_dir()),
        (None, false) => None,
    };
    if let Some(dest) = &dest {
        cmd.arg("--dest").arg(dest);
    }
    if random_weights {
        cmd.args(["--random-weights", "--depth"]);
    }
    util::run(&mut cmd)?;
    println!("export-models: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
