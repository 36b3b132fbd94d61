//! `cargo xtask bundle`: builds the plugin and lays out the OFX bundle hosts look for:
//!
//! ```text
//! target/bundle/DeepMatte.ofx.bundle/Contents/
//!   Info.plist
//!   Linux-x86-64/DeepMatte.ofx        (linked against glibc 2.28 with zig)
//!   Linux-x86-64/libonnxruntime.so.1.31.1
//!   Win64/DeepMatte.ofx               (with --windows: cross-built with mingw-w64)
//!   Win64/onnxruntime.dll
//!   MacOS/DeepMatte.ofx               (with --macos: linked with zig, never run)
//!   MacOS/libonnxruntime.1.31.1.dylib
//!   Resources/<plugin id>.png
//!   Resources/models/                 (default model folder; `cargo xtask models` fills it)
//!   Resources/sam2-export/            (SAM 2.1 for users: `python3 install.py`, models/sam2)
//! ```
//!
//! The binary's name must equal the bundle's name without `.bundle`, or hosts silently skip it.
//! The Linux binaries are the ones that ship: the bundle tests and the release archive both use
//! exactly these files, never a second build. The `deepmatte` CLI is built the same way beside
//! each plugin (`cli_path`), so the release archive carries a CLI for the same platform.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{cross, icons, util};

pub const BUNDLE: &str = "DeepMatte.ofx.bundle";
const BINARY: &str = "DeepMatte.ofx";
/// The SAM 2.1 exporter the bundle carries for users (no PyTorch needed beforehand).
pub const SAM2_EXPORT_FILES: [&str; 3] = ["install.py", "export_sam2.py", "requirements-export.txt"];

/// The plugin identifiers the bundle declares; each gets an icon.
pub const PLUGIN_IDS: &[&str] =
    &["org.deepmatte.LumaMatteExtract", "org.deepmatte.DepthMap", "org.deepmatte.MagicMask"];

/// A platform the bundle can hold a binary for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// x86-64 Linux, glibc 2.28 or newer.
    Linux,
    /// x86-64 Windows.
    Windows,
    /// arm64 macOS (links here; has never run).
    Macos,
}

impl Platform {
    /// The OFX architecture folder under `Contents/`.
    pub fn arch_dir(self) -> &'static str {
        match self {
            Platform::Linux => "Linux-x86-64",
            Platform::Windows => "Win64",
            Platform::Macos => "MacOS",
        }
    }

    /// The Rust target triple (the folder under `target/` cargo writes to).
    pub fn rust_target(self) -> &'static str {
        match self {
            Platform::Linux => "x86_64-unknown-linux-gnu",
            Platform::Windows => cross::WINDOWS_TARGET,
            Platform::Macos => "aarch64-apple-darwin",
        }
    }

    /// The file cargo writes the plugin cdylib to.
    fn cdylib(self) -> &'static str {
        match self {
            Platform::Linux => "libdeepmatte_ofx.so",
            Platform::Windows => "deepmatte_ofx.dll",
            Platform::Macos => "libdeepmatte_ofx.dylib",
        }
    }

    /// The CLI's file name.
    pub fn cli(self) -> &'static str {
        match self {
            Platform::Windows => "deepmatte.exe",
            Platform::Linux | Platform::Macos => "deepmatte",
        }
    }

    /// The ONNX Runtime library shipped next to the plugin binary, from that platform's pinned wheel.
    fn runtime_library(self) -> PathBuf {
        match self {
            Platform::Linux => cross::cache().join("onnxruntime/libonnxruntime.so.1.31.1"),
            Platform::Windows => cross::ort_win_dir().join("onnxruntime.dll"),
            Platform::Macos => cross::ort_mac_dir().join("libonnxruntime.1.31.1.dylib"),
        }
    }

    /// Where cargo leaves this platform's release build.
    fn out_dir(self) -> PathBuf {
        cross::target_dir().join(self.rust_target()).join("release")
    }

    /// The built `deepmatte` CLI of this platform.
    pub fn cli_path(self) -> PathBuf {
        self.out_dir().join(self.cli())
    }

    /// Builds the plugin and the CLI in release mode for this platform.
    fn build(self) -> Result<()> {
        let packages = ["--release", "-p", "deepmatte-plugin", "-p", "deepmatte-cli"];
        match self {
            Platform::Linux => util::run(cross::zigbuild_command()?.args(["--target", cross::LINUX_ZIG_TARGET]).args(packages)),
            Platform::Windows => util::run(cross::windows_build_command()?.args(packages)),
            Platform::Macos => {
                cross::macos_setup()?;
                util::run(cross::zigbuild_command()?.args(["--target", self.rust_target()]).args(packages))
            }
        }
    }
}

/// Where the bundle is assembled.
pub fn path() -> PathBuf {
    util::target_dir().join("bundle").join(BUNDLE)
}

/// Builds the plugin (and CLI) for Linux and each of `extra`, and assembles the bundle with one
/// binary folder per platform; returns its path.
pub fn run(extra: &[Platform]) -> Result<PathBuf> {
    let mut platforms = vec![Platform::Linux];
    platforms.extend(extra.iter().copied().filter(|p| *p != Platform::Linux));
    for platform in &platforms {
        println!("bundle: building the plugin and the CLI for {platform:?} ({})", platform.rust_target());
        let started = Instant::now();
        platform.build()?;
        println!("bundle: {platform:?} build took {:.0} s", started.elapsed().as_secs_f64());
    }
    let bundle = assemble(&platforms)?;
    println!("bundle: {}", bundle.display());
    Ok(bundle)
}

fn assemble(platforms: &[Platform]) -> Result<PathBuf> {
    let bundle = path();
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle).with_context(|| format!("cannot remove {}", bundle.display()))?;
    }
    let contents = bundle.join("Contents");
    let resources = contents.join("Resources");
    std::fs::create_dir_all(resources.join("models"))?;

    let template_path = util::root().join("ofx-bundle/Info.plist.in");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("cannot read {}", template_path.display()))?;
    let plist = template.replace("@EXECUTABLE@", BINARY).replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    std::fs::write(contents.join("Info.plist"), plist)?;

    for platform in platforms {
        let binaries = contents.join(platform.arch_dir());
        std::fs::create_dir_all(&binaries)?;
        copy(&platform.out_dir().join(platform.cdylib()), &binaries.join(BINARY))?;
        let runtime = platform.runtime_library();
        if !runtime.is_file() {
            bail!("{} is missing: run `cargo xtask setup` first", runtime.display());
        }
        copy(&runtime, &binaries.join(runtime.file_name().context("file without a name")?))?;
    }

    // SAM 2.1 has no pinned ONNX download: the user's one command exports it (models/sam2/install.py).
    let export = resources.join("sam2-export");
    std::fs::create_dir_all(&export)?;
    for file in SAM2_EXPORT_FILES {
        copy(&util::root().join("models").join("sam2").join(file), &export.join(file))?;
    }

    for id in PLUGIN_IDS {
        let icon = icons::for_plugin(id).with_context(|| format!("no icon for {id}"))?;
        icon.save_png(&resources.join(format!("{id}.png")), true)?;
    }
    Ok(bundle)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}
