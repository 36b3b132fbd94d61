//! Stamps the plugin binary with what a bug report needs to name the build exactly: the version,
//! the git commit it was built from (when built from a checkout), and the hash of the CUDA kernel
//! sources it carries (the same xxh3-128 `gpu::kernels::source_hash` keys the PTX cache with; a
//! test checks the two agree). The plugin logs them at Load.

use std::path::Path;
use std::process::Command;

/// The kernel files in the order `gpu::kernels` hashes them: the prelude, then `Family::ALL`.
const KERNELS: [&str; 8] = ["prelude.cuh", "resize.cu", "luma_matte.cu", "depth_post.cu", "finesse.cu", "mask.cu", "fingerprint.cu", "flow.cu"];

fn main() {
    let dir = Path::new("crates/gpu/kernels");
    let mut all = String::new();
    for file in KERNELS {
        let path = dir.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        all.push_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    println!("cargo:rustc-env=DEEPMATTE_KERNEL_HASH={:032x}", xxhash_rust::xxh3::xxh3_128(all.as_bytes()));

    // A tarball build has no git: the version alone then.
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rustc-env=DEEPMATTE_COMMIT={commit}");
}
