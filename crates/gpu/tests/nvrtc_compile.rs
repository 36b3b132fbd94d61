//! Every kernel family compiles with the pinned NVRTC 13.0 (the wheel `cargo xtask setup` unpacks;
//! `DEEPMATTE_NVRTC_DIR` points at it) for every architecture the plugin supports in CI's list,
//! each compile done for real (no PTX cache), and the PTX names every kernel. No GPU is needed.

use gpu::kernels::Family;
use gpu::nvrtc::{self, TESTED_ARCHS};

/// The NVRTC folder, or None after writing the skip line.
fn nvrtc_dir(test: &str) -> Option<std::path::PathBuf> {
    match std::env::var_os("DEEPMATTE_NVRTC_DIR") {
        Some(d) => Some(d.into()),
        None => {
            let line = format!("{test}: DEEPMATTE_NVRTC_DIR is not set (cargo xtask setup unpacks NVRTC 13.0 into .cache/nvrtc)\n");
            eprintln!("SKIPPED {line}");
            if let Some(log) = std::env::var_os("DEEPMATTE_SKIP_LOG") {
                use std::io::Write;
                let _ = std::fs::OpenOptions::new().create(true).append(true).open(log).and_then(|mut f| f.write_all(line.as_bytes()));
            }
            None
        }
    }
}

#[test]
fn every_family_compiles_for_every_tested_arch() {
    let Some(dir) = nvrtc_dir("gpu::nvrtc_compile::every_family_compiles_for_every_tested_arch") else { return };
    assert_eq!(nvrtc::load(&dir).unwrap(), (13, 0), "the pinned NVRTC is 13.0");
    let started = std::time::Instant::now();
    // One thread per architecture: NVRTC compiles programs concurrently.
    std::thread::scope(|s| {
        for cc in TESTED_ARCHS {
            s.spawn(move || {
                for family in Family::ALL {
                    let ptx = nvrtc::compile(family, cc).unwrap_or_else(|e| panic!("{e}"));
                    assert!(ptx.contains(&format!(".target sm_{}{}", cc.0, cc.1)), "{} sm_{}{}: wrong target", family.file(), cc.0, cc.1);
                    for kernel in family.kernels() {
                        assert!(ptx.contains(&format!(".entry {kernel}(")), "{}: no entry {kernel} in the PTX", family.file());
                    }
                }
            });
        }
    });
    println!("{} families × {} architectures compiled in {:.1} s", Family::ALL.len(), TESTED_ARCHS.len(), started.elapsed().as_secs_f64());
}

#[test]
fn a_kernel_error_is_reported_with_the_compiler_log() {
    let Some(dir) = nvrtc_dir("gpu::nvrtc_compile::a_kernel_error_is_reported_with_the_compiler_log") else { return };
    nvrtc::load(&dir).unwrap();
    // A family's own source, through the real compiler, for an architecture CUDA 13 dropped.
    let err = nvrtc::compile(Family::Mask, (6, 1)).unwrap_err().to_string();
    println!("{err}");
    assert!(err.contains("does not compile for sm_61") && err.contains("invalid value for --gpu-architecture"), "{err}");
}

#[test]
fn every_kernel_is_listed_once() {
    let all: Vec<&str> = Family::ALL.iter().flat_map(|f| f.kernels()).collect();
    assert_eq!(all.len(), 31, "{all:?}");
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "kernel names are unique across families (the emulation links them together)");
    assert_eq!(gpu::kernels::source_hash().len(), 32);
}

#[test]
fn the_cache_key_names_source_arch_and_compiler() {
    let k = gpu::cache::key(Family::Resize, (8, 6), (13, 0));
    assert!(k.starts_with("resize-") && k.ends_with("-sm86-nvrtc13.0.ptx"), "{k}");
    assert_ne!(k, gpu::cache::key(Family::Resize, (8, 9), (13, 0)));
    assert_ne!(k, gpu::cache::key(Family::Resize, (8, 6), (13, 1)));
}
