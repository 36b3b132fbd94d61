//! Builds the CPU emulation of the kernels (csrc/harness.cpp: every `.cu` file compiled as C++17
//! through csrc/emulate.h) when the `emulate` feature is on: the tests run the kernels' logic from it.
//! `DEEPMATTE_GPU_SANITIZE=1` builds it with AddressSanitizer and UBSan, so an out-of-bounds read a
//! GPU would silently return garbage for aborts the test instead.

fn main() {
    for path in ["csrc", "kernels"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=DEEPMATTE_GPU_SANITIZE");
    if std::env::var_os("CARGO_FEATURE_EMULATE").is_none() {
        return;
    }
    let sanitize = std::env::var("DEEPMATTE_GPU_SANITIZE").is_ok_and(|v| v == "1");
    let mut build = cc::Build::new();
    build.cpp(true).std("c++17").file("csrc/harness.cpp").flag_if_supported("-ffp-contract=off").warnings(true);
    if sanitize {
        build.flag("-fsanitize=address,undefined").flag("-fno-omit-frame-pointer").flag("-fno-sanitize-recover=all").opt_level(1);
        println!("cargo:rustc-link-lib=dylib=asan");
        println!("cargo:rustc-link-lib=dylib=ubsan");
        println!("cargo:rustc-cfg=sanitized");
    }
    println!("cargo:rustc-check-cfg=cfg(sanitized)");
    build.compile("deepmatte_gpu_emu");
}
