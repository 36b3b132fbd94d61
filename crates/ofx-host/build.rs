//! Compiles the C shim that gives the plugin the variadic OFX entry points
//! (`paramGetValue(handle, ...)`, `message(handle, type, id, format, ...)`, …):
//! stable Rust cannot define C-variadic functions, so C reads the arguments and
//! forwards them to non-variadic Rust functions.
fn main() {
    println!("cargo:rerun-if-changed=csrc/param_varargs.c");
    cc::Build::new()
        .file("csrc/param_varargs.c")
        .warnings(true)
        .flag_if_supported("-std=c99")
        .compile("ofxhost_varargs");
}
