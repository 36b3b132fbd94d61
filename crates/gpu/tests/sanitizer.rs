//! The emulation under AddressSanitizer (built when `DEEPMATTE_GPU_SANITIZE=1`; `cargo xtask test`
//! runs this crate's twin tests a second time that way). Here: proof that the sanitizer build
//! really catches a kernel reading past its buffer, which a GPU would silently allow.

use std::process::Command;

use gpu::emulated::{Emulated, SANITIZED};
use gpu::exec::Exec;

/// Child: a plane resize told its 8×8 source is 9×8 reads one row past the buffer.
#[test]
fn child_overrun() {
    if std::env::var_os("DEEPMATTE_OVERRUN_CHILD").is_none() {
        return;
    }
    let e = Emulated::new();
    let src = e.alloc(8 * 8 * 4).unwrap();
    let out = e.alloc(4 * 4 * 4).unwrap();
    gpu::ops::resize_plane(&e, src, (8, 9), out, (4, 4), imaging::resize::Filter::Bicubic).unwrap();
    println!("NOT CAUGHT");
}

#[test]
fn sanitizer_catches_an_out_of_bounds_read() {
    if !SANITIZED {
        println!("not the sanitizer build (DEEPMATTE_GPU_SANITIZE=1 builds it; cargo xtask test runs it)");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe).args(["--exact", "child_overrun", "--nocapture"]).env("DEEPMATTE_OVERRUN_CHILD", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("AddressSanitizer: heap-buffer-overflow"), "{stderr}");
}

#[test]
fn shared_memory_is_rejected_at_compile_time() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shared.cpp");
    let header = concat!(env!("CARGO_MANIFEST_DIR"), "/csrc/emulate.h");
    std::fs::write(&src, format!("#include \"{header}\"\n__global__ void k(float* o) {{ __shared__ float tile[16]; tile[0] = 1; __syncthreads(); o[0] = tile[0]; }}\n")).unwrap();
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let out = Command::new(cxx).args(["-std=c++17", "-fsyntax-only"]).arg(&src).output().expect("a C++ compiler");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("cannot be emulated serially"), "{stderr}");
}
