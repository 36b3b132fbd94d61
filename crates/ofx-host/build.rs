//! Compiles the C shim that gives the plugin the variadic OFX entry points
//! (`paramGetValue(handle, ...)`, `message(handle, type, id, format, ...)`, …):
//! stable Rust cannot define C-variadic functions, so C reads the arguments and
//! forwards them to non-variadic Rust functions.
fn main() {
    println!("cargo:rerun-if-changed=csrc/param_varargs.c");
    cc::Build::new()
        .file("csrc/param_varargs.c")
        .warnings(true)
        // Every compiler that builds it (gcc, clang, zig cc, mingw-w64) takes -std=c99; a probe
        // (`flag_if_supported`) fails under cargo-zigbuild's glibc-suffixed target triple.
        .flag("-std=c99")
        .compile("ofxhost_varargs");
}
