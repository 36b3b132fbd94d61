//! `cargo xtask bundle`: builds the plugin and lays out the OFX bundle hosts look for:
//!
//! ```text
//! target/bundle/DeepMatte.ofx.bundle/Contents/
//!   Info.plist
//!   Linux-x86-64/DeepMatte.ofx        (MacOS/ or Win64/ elsewhere)
//!   Linux-x86-64/libonnxruntime.so.1.31.1
//!   Resources/<plugin id>.png
//!   Resources/models/                 (default model folder; `cargo xtask models` fills it)
//! ```
//!
//! The binary's name must equal the bundle's name without `.bundle`, or hosts silently skip it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::{icons, util};

const BUNDLE: &str = "DeepMatte.ofx.bundle";
const BINARY: &str = "DeepMatte.ofx";

/// The plugin identifiers the bundle declares; each gets an icon.
pub const PLUGIN_IDS: &[&str] =
    &["org.deepmatte.LumaMatteExtract", "org.deepmatte.DepthMap", "org.deepmatte.MagicMask"];

/// Files shipped next to the plugin binary (runtime libraries it loads), relative to the root.
/// The ONNX Runtime library comes from the pinned PyPI wheel, unpacked by `cargo xtask setup`.
const NEXT_TO_BINARY: &[&str] = &[".cache/onnxruntime/libonnxruntime.so.1.31.1"];

/// Where the bundle is assembled.
pub fn path() -> PathBuf {
    util::target_dir().join("bundle").join(BUNDLE)
}

/// Builds the plugin in release mode and assembles the bundle; returns its path.
pub fn run() -> Result<PathBuf> {
    println!("bundle: building the plugin");
    util::run(util::cargo().args(["build", "--release", "-p", "deepmatte-plugin"]))?;
    let bundle = assemble()?;
    println!("bundle: {}", bundle.display());
    Ok(bundle)
}

fn assemble() -> Result<PathBuf> {
    let bundle = path();
    if bundle.exists() {
        std::fs::remove_dir_all(&bundle).with_context(|| format!("cannot remove {}", bundle.display()))?;
    }
    let contents = bundle.join("Contents");
    let binaries = contents.join(arch_dir()?);
    let resources = contents.join("Resources");
    std::fs::create_dir_all(&binaries)?;
    std::fs::create_dir_all(resources.join("models"))?;

    let template_path = util::root().join("ofx-bundle/Info.plist.in");
    let template = std::fs::read_to_string(&template_path)
        .with_context(|| format!("cannot read {}", template_path.display()))?;
    let plist = template.replace("@EXECUTABLE@", BINARY).replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    std::fs::write(contents.join("Info.plist"), plist)?;

    let cdylib = util::release_dir().join(format!(
        "{}deepmatte_ofx{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    copy(&cdylib, &binaries.join(BINARY))?;
    for file in NEXT_TO_BINARY {
        let from = util::root().join(file);
        if !from.is_file() {
            bail!("{} is missing: run `cargo xtask setup` first", from.display());
        }
        copy(&from, &binaries.join(from.file_name().context("file without a name")?))?;
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

/// The OFX architecture folder for the platform xtask was built for.
fn arch_dir() -> Result<&'static str> {
    Ok(match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "Linux-x86-64",
        ("linux", "x86") => "Linux-x86",
        ("macos", _) => "MacOS",
        ("windows", "x86_64") => "Win64",
        (os, arch) => bail!("no OFX bundle layout known for {os}/{arch}"),
    })
}
