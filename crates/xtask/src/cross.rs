//! What the release builds need beyond the host toolchain, installed by `cargo xtask setup` into
//! `.cache/` (each step checks what is there first):
//! - `.cache/build-tools/`: a venv with the pinned `ziglang` and `cargo-zigbuild` wheels, which link
//!   the Linux plugin and CLI against glibc 2.28 (Rocky Linux 8, the oldest Linux Resolve supports)
//!   instead of the build machine's glibc;
//! - the `x86_64-pc-windows-gnu` Rust standard library (rustup) and Debian's mingw-w64 linker;
//! - `.cache/wheels/` and `.cache/onnxruntime-win64/`: the pinned `onnxruntime==1.31.1` win_amd64
//!   wheel and the `onnxruntime.dll` (with its licence files) unpacked from it;
//! - `.cache/wine/`: a private, headless Wine prefix in which the tests run the Windows build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::util;

/// The wheels that link for an old glibc: zig as the linker, cargo-zigbuild to drive it.
const BUILD_TOOLS: &[&str] = &["ziglang==0.15.2", "cargo-zigbuild==0.24.1"];

/// The ONNX Runtime of the plugin, the same pin as models/requirements.txt.
const ORT_PIN: &str = "onnxruntime==1.31.1";

/// The Windows wheel of [`ORT_PIN`] (any CPython tag carries the same onnxruntime.dll).
const ORT_WIN_WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-win_amd64.whl";

/// What the Windows bundle and release take from that wheel.
pub const ORT_WIN_FILES: &[&str] =
    &["onnxruntime/capi/onnxruntime.dll", "onnxruntime/LICENSE", "onnxruntime/ThirdPartyNotices.txt"];

/// The Rust target of the Windows build.
pub const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";

/// The zig target of the Linux build: x86-64 against glibc 2.28's symbol versions.
pub const LINUX_ZIG_TARGET: &str = "x86_64-unknown-linux-gnu.2.28";

pub fn cache() -> PathBuf {
    util::root().join(".cache")
}

/// `.cache/build-tools`: the venv holding zig and cargo-zigbuild.
fn build_tools() -> PathBuf {
    cache().join("build-tools")
}

/// Where the Windows ONNX Runtime files are unpacked.
pub fn ort_win_dir() -> PathBuf {
    cache().join("onnxruntime-win64")
}

/// Where the macOS ONNX Runtime library is unpacked (only when a macOS build is asked for).
pub fn ort_mac_dir() -> PathBuf {
    cache().join("onnxruntime-macos")
}

/// The arm64 macOS wheel of [`ORT_PIN`] (1.31.1 has no x86-64 macOS wheel).
const ORT_MAC_WHEEL: &str = "onnxruntime-1.31.1-cp311-cp311-macosx_14_0_arm64.whl";

/// What the macOS build needs: rustc's `aarch64-apple-darwin` standard library and the dylib from
/// the pinned macOS wheel. Not part of `setup`: the macOS build is optional (it has never run).
pub fn macos_setup() -> Result<()> {
    add_rust_target("aarch64-apple-darwin")?;
    let files = ["onnxruntime/capi/libonnxruntime.1.31.1.dylib", "onnxruntime/LICENSE", "onnxruntime/ThirdPartyNotices.txt"];
    unpack_wheel(ORT_MAC_WHEEL, "macosx_14_0_arm64", &files, &ort_mac_dir())
}

/// The private Wine prefix of the tests.
pub fn wine_prefix() -> PathBuf {
    cache().join("wine")
}

/// Debian's 64-bit Wine loader (Debian 12's `wine64` package puts it, and `wineserver`, off PATH).
pub fn wine() -> Option<PathBuf> {
    Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|p| p.is_file())
}

/// The environment every Wine run here uses: the private prefix, no display (console programs
/// only), no prompts to install Mono or Gecko, no debug chatter.
pub fn wine_env(cmd: &mut Command) -> &mut Command {
    cmd.env("WINEPREFIX", wine_prefix())
        .env("WINEDEBUG", "-all")
        .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
}

/// Installs the cross-build tools and the Wine prefix.
pub fn setup() -> Result<()> {
    rust_target()?;
    zig()?;
    ort_windows()?;
    wine_setup()
}

/// The Windows standard library for rustc.
fn rust_target() -> Result<()> {
    add_rust_target(WINDOWS_TARGET)
}

/// `rustup target add` unless the target is installed already.
fn add_rust_target(target: &str) -> Result<()> {
    if !util::on_path("rustup") {
        println!("  rustup not found: install the {target} target of your Rust toolchain yourself");
        return Ok(());
    }
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).current_dir(util::root()).output()?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == target) {
        println!("  Rust target {target} already installed");
        return Ok(());
    }
    util::run(Command::new("rustup").args(["target", "add", target]).current_dir(util::root()))
}

/// The venv with the pinned zig and cargo-zigbuild wheels; pip runs only when the pins change.
fn zig() -> Result<()> {
    let venv = build_tools();
    let stamp = venv.join("deepmatte-pins.txt");
    let wanted = BUILD_TOOLS.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|pins| pins == wanted) && zigbuild().is_file() {
        println!("  zig and cargo-zigbuild already installed ({})", BUILD_TOOLS.join(", "));
        return Ok(());
    }
    if !venv.join("bin/python").is_file() {
        util::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    util::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(BUILD_TOOLS),
    )?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

/// The `cargo-zigbuild` executable.
fn zigbuild() -> PathBuf {
    build_tools().join("bin/cargo-zigbuild")
}

/// The Windows wheel's files.
fn ort_windows() -> Result<()> {
    unpack_wheel(ORT_WIN_WHEEL, "win_amd64", ORT_WIN_FILES, &ort_win_dir())
}

/// Downloads a wheel of [`ORT_PIN`] for another platform once (kept in `.cache/wheels`) and
/// unpacks `files` from it, flat, into `dest`.
fn unpack_wheel(wheel_name: &str, platform: &str, files: &[&str], dest: &Path) -> Result<()> {
    let have = |f: &&str| dest.join(Path::new(f).file_name().unwrap_or_default()).is_file();
    if files.iter().all(have) {
        println!("  {wheel_name} already unpacked in {}", dest.display());
        return Ok(());
    }
    let wheels = cache().join("wheels");
    let wheel = wheels.join(wheel_name);
    if !wheel.is_file() {
        util::run(
            Command::new(cache().join("venv/bin/pip"))
                .args(["download", "--quiet", "--disable-pip-version-check", "--no-deps", "--only-binary=:all:"])
                .args(["--platform", platform, "--python-version", "3.11", ORT_PIN, "-d"])
                .arg(&wheels),
        )?;
    }
    std::fs::create_dir_all(dest)?;
    util::run(Command::new("unzip").args(["-o", "-q", "-j"]).arg(&wheel).args(files).arg("-d").arg(dest))
}

/// Creates the Wine prefix once and puts the test-only `bcryptprimitives.dll` into it (see
/// `crates/xtask/wine/bcryptprimitives.c`: Rust's std imports it, Debian 12's Wine 8.0 lacks it).
fn wine_setup() -> Result<()> {
    let Some(wine) = wine() else {
        println!("  wine64 not installed: the Windows build will not be run");
        return Ok(());
    };
    let prefix = wine_prefix();
    let system32 = prefix.join("drive_c/windows/system32");
    if !system32.is_dir() {
        util::run(wine_env(Command::new(&wine).args(["wineboot", "--init"])))?;
        // wineboot returns before the prefix is written out; wait for its server to finish.
        let _ = wine_env(&mut Command::new(wine.with_file_name("wineserver"))).arg("-w").status();
    }
    if !system32.is_dir() {
        bail!("wineboot did not create {}", system32.display());
    }
    let source = util::root().join("crates/xtask/wine/bcryptprimitives.c");
    let dll = system32.join("bcryptprimitives.dll");
    if util::newer(&dll, &source) {
        println!("  Wine prefix ready: {}", prefix.display());
        return Ok(());
    }
    util::run(
        Command::new("x86_64-w64-mingw32-gcc")
            .args(["-O2", "-shared", "-o"])
            .arg(&dll)
            .arg(&source)
            .arg("-ladvapi32"),
    )
    .context("cannot build the Wine stand-in of bcryptprimitives.dll (is gcc-mingw-w64-x86-64-win32 installed?)")
}

/// The release builds' own target folder, `target/cross`. They build their build scripts and proc
/// macros with other environment variables than the host build (bindgen's, zig's): sharing
/// `target/release` with it would rebuild bindgen, openfx-sys and everything above it at each
/// switch. Every release build sets the same variables, so they share this folder without that.
pub fn target_dir() -> PathBuf {
    util::target_dir().join("cross")
}

/// The variables every release build sets: bindgen told where libclang's own headers are (it does
/// not find them once a target is named).
fn release_env(cmd: &mut Command) -> Result<&mut Command> {
    Ok(cmd
        .env("BINDGEN_EXTRA_CLANG_ARGS", format!("-isystem {}", clang_headers()?.display()))
        .env("CARGO_TARGET_DIR", target_dir()))
}

/// `cargo zigbuild` for the glibc-2.28 Linux build (and macOS), with zig (from the venv) on PATH.
pub fn zigbuild_command() -> Result<Command> {
    let tool = zigbuild();
    if !tool.is_file() {
        bail!("{} is missing: run `cargo xtask setup` first", tool.display());
    }
    let mut cmd = Command::new(tool);
    cmd.current_dir(util::root());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![build_tools().join("bin")];
    paths.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(paths)?);
    release_env(&mut cmd)?;
    cmd.arg("zigbuild");
    Ok(cmd)
}

/// `cargo build` for Windows with mingw-w64.
pub fn windows_build_command() -> Result<Command> {
    let mut cmd = util::cargo();
    release_env(&mut cmd)?.args(["build", "--target", WINDOWS_TARGET]);
    Ok(cmd)
}

/// libclang's builtin headers (`stdbool.h` …): `/usr/lib/llvm-N/lib/clang/V/include`.
fn clang_headers() -> Result<PathBuf> {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("llvm-"))
        .flat_map(|llvm| std::fs::read_dir(llvm.path().join("lib/clang")).into_iter().flatten().flatten())
        .map(|version| version.path().join("include"))
        .filter(|include| include.join("stdbool.h").is_file())
        .max();
    found.context("libclang's headers (/usr/lib/llvm-*/lib/clang/*/include) not found: run `cargo xtask setup`")
}
