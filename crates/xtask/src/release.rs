//! `cargo xtask release`: the archives a user installs from, with no Rust toolchain and no Python:
//!
//! ```text
//! target/dist/DeepMatte-<version>-linux-x86_64.tar.gz
//! target/dist/DeepMatte-<version>-windows-x86_64.zip
//! target/dist/DeepMatte-<version>-macos-arm64.tar.gz   (with --macos; never run)
//!   DeepMatte-<version>-<os>-x86_64/
//!     DeepMatte.ofx.bundle/     (that OS's binary folder only: Linux-x86-64/ or Win64/)
//!     deepmatte | deepmatte.exe (finds the bundle beside it)
//!     INSTALL.md                (per host: Resolve, Natron, Nuke, Shotcut/Kdenlive, and their caches)
//!     LICENSES/                 (DeepMatte, ONNX Runtime, every Rust crate built in, each model)
//!     SHA256SUMS                (of every other file, `sha256sum -c SHA256SUMS` checks them)
//! target/dist/SHA256SUMS        (of the archives)
//! ```
//!
//! The binaries are the ones `cargo xtask bundle` built (glibc 2.28 Linux, mingw-w64 Windows);
//! `cargo xtask test` runs this once and tests what it wrote.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::bundle::{self, Platform};
use crate::{cross, util};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The platforms a release holds an archive for; `--macos` adds [`Platform::Macos`], which links
/// here but has never run, and takes minutes to build on two cores, so CI leaves it out.
const PLATFORMS: &[Platform] = &[Platform::Linux, Platform::Windows];

/// `target/dist`.
pub fn dist() -> PathBuf {
    util::target_dir().join("dist")
}

/// The top folder inside a platform's archive (and the archive's name without extension).
pub fn archive_stem(platform: Platform) -> String {
    let os = match platform {
        Platform::Linux => "linux-x86_64",
        Platform::Windows => "windows-x86_64",
        Platform::Macos => "macos-arm64",
    };
    format!("DeepMatte-{VERSION}-{os}")
}

/// Builds the bundle for every release platform (and macOS with `macos`) and writes the archives;
/// returns their paths.
pub fn run(macos: bool) -> Result<Vec<PathBuf>> {
    let mut platforms = PLATFORMS.to_vec();
    if macos {
        platforms.push(Platform::Macos);
    }
    let bundle = bundle::run(&platforms)?;
    let dist = dist();
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("cannot empty {}", dist.display()))?;
    }
    let stage = dist.join("stage");
    let mut archives = Vec::new();
    for &platform in &platforms {
        let top = stage.join(archive_stem(platform));
        lay_out(platform, &bundle, &top)?;
        let archive = pack(platform, &stage, &dist)?;
        println!("release: {}", archive.display());
        archives.push(archive);
    }
    std::fs::remove_dir_all(&stage)?;
    let names: Vec<String> = archives.iter().filter_map(|a| a.file_name()).map(|n| n.to_string_lossy().into_owned()).collect();
    util::run(Command::new("sh").arg("-c").arg(format!("sha256sum {} > SHA256SUMS", names.join(" "))).current_dir(&dist))?;
    Ok(archives)
}

/// Fills one archive's top folder.
fn lay_out(platform: Platform, bundle: &Path, top: &Path) -> Result<()> {
    let shipped_bundle = top.join(bundle::BUNDLE);
    // The bundle without the other platforms' binary folders.
    for entry in ["Contents/Info.plist", "Contents/Resources"].iter().chain(&[platform_dir(platform).as_str()]) {
        let from = bundle.join(entry);
        let to = shipped_bundle.join(entry);
        if from.is_dir() {
            util::copy_dir(&from, &to)?;
        } else {
            std::fs::create_dir_all(to.parent().context("no parent")?)?;
            std::fs::copy(&from, &to).with_context(|| format!("cannot copy {}", from.display()))?;
        }
    }
    std::fs::copy(platform.cli_path(), top.join(platform.cli()))
        .with_context(|| format!("cannot copy {}", platform.cli_path().display()))?;
    let guide = util::root().join(match platform {
        Platform::Windows => "ofx-bundle/INSTALL-windows.md",
        Platform::Macos => "ofx-bundle/INSTALL-macos.md",
        Platform::Linux => "ofx-bundle/INSTALL-linux.md",
    });
    let text = std::fs::read_to_string(&guide).with_context(|| format!("cannot read {}", guide.display()))?;
    std::fs::write(top.join("INSTALL.md"), text.replace("@VERSION@", VERSION) + &models_section()?)?;
    licences(platform, &top.join("LICENSES"))?;
    util::run(
        Command::new("sh")
            .arg("-c")
            .arg("find . -type f ! -name SHA256SUMS -print0 | LC_ALL=C sort -z | xargs -0 sha256sum > SHA256SUMS")
            .current_dir(top),
    )
}

fn platform_dir(platform: Platform) -> String {
    format!("Contents/{}", platform.arch_dir())
}

/// Packs `stage/<stem>` into the platform's archive format.
fn pack(platform: Platform, stage: &Path, dist: &Path) -> Result<PathBuf> {
    let stem = archive_stem(platform);
    match platform {
        Platform::Windows => {
            let archive = dist.join(format!("{stem}.zip"));
            util::run(Command::new("zip").args(["-q", "-r", "-X"]).arg(&archive).arg(&stem).current_dir(stage))?;
            Ok(archive)
        }
        _ => {
            let archive = dist.join(format!("{stem}.tar.gz"));
            util::run(
                Command::new("tar")
                    .args(["--owner=0", "--group=0", "--numeric-owner", "-czf"])
                    .arg(&archive)
                    .arg(&stem)
                    .current_dir(stage),
            )?;
            Ok(archive)
        }
    }
}

/// `LICENSES/`: DeepMatte's own licence, ONNX Runtime's LICENSE and ThirdPartyNotices from the
/// wheel that ships, the licence files of every Rust crate linked into the plugin and the CLI for
/// this platform (from cargo's registry), and the models' licences from models/manifest.toml.
fn licences(platform: Platform, dir: &Path) -> Result<()> {
    let ort = dir.join("onnxruntime");
    std::fs::create_dir_all(&ort)?;
    let ort_source = match platform {
        Platform::Windows => cross::ort_win_dir(),
        Platform::Macos => cross::ort_mac_dir(),
        Platform::Linux => linux_wheel_dir()?,
    };
    for file in ["LICENSE", "ThirdPartyNotices.txt"] {
        std::fs::copy(ort_source.join(file), ort.join(file))
            .with_context(|| format!("cannot copy ONNX Runtime's {file} from {}", ort_source.display()))?;
    }

    let crates = crates_of(platform)?;
    let crates_dir = dir.join("rust-crates");
    let mut index = String::from(
        "# Rust crates in the DeepMatte plugin and the deepmatte CLI\n\n\
         Each crate's own licence files are in the folder of its name and version.\n\n\
         | crate | version | licence | files |\n| --- | --- | --- | --- |\n",
    );
    let mut apache_text = None;
    for krate in &crates {
        let folder = crates_dir.join(format!("{}-{}", krate.name, krate.version));
        let files = licence_files(&krate.source)?;
        std::fs::create_dir_all(&folder)?;
        for file in &files {
            let name = file.file_name().context("licence file without a name")?;
            std::fs::copy(file, folder.join(name))?;
            if apache_text.is_none() && name.to_string_lossy().to_ascii_uppercase().contains("APACHE") {
                apache_text = Some(file.clone());
            }
        }
        let listed = if files.is_empty() {
            "none in the crate: its licence is the SPDX expression given".to_string()
        } else {
            files.iter().filter_map(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", ")
        };
        writeln!(index, "| {} | {} | {} | {listed} |", krate.name, krate.version, krate.licence)?;
    }
    std::fs::write(dir.join("rust-crates.md"), index)?;

    let apache = apache_text.context("no crate ships the Apache-2.0 text to license DeepMatte under")?;
    let mut own = format!("DeepMatte {VERSION} is licensed under the Apache License, Version 2.0:\n\n");
    own.push_str(&std::fs::read_to_string(&apache)?);
    std::fs::write(dir.join("DeepMatte.txt"), own)?;

    std::fs::write(dir.join("models.md"), models_licences()?)?;
    Ok(())
}

/// The `onnxruntime` package folder of the Linux wheel in the project venv.
fn linux_wheel_dir() -> Result<PathBuf> {
    let lib = cross::cache().join("venv/lib");
    for entry in std::fs::read_dir(&lib).with_context(|| format!("cannot read {}: run `cargo xtask setup`", lib.display()))? {
        let dir = entry?.path().join("site-packages/onnxruntime");
        if dir.join("LICENSE").is_file() {
            return Ok(dir);
        }
    }
    bail!("onnxruntime is not installed in {}: run `cargo xtask setup`", lib.display())
}

/// A crate built into what ships.
struct Crate {
    name: String,
    version: String,
    licence: String,
    source: PathBuf,
}

/// The registry crates the plugin and the CLI link for this platform (`cargo tree`, normal
/// dependencies only; build-time tools are not shipped), with their source folders.
fn crates_of(platform: Platform) -> Result<Vec<Crate>> {
    let out = util::cargo()
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}\t{l}", "--target"])
        .arg(platform.rust_target())
        .args(["-p", "deepmatte-plugin", "-p", "deepmatte-cli"])
        .output()
        .context("cannot run cargo tree")?;
    if !out.status.success() {
        bail!("cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let registry = util::cargo_home()?.join("registry/src");
    let registries: Vec<PathBuf> = std::fs::read_dir(&registry)
        .with_context(|| format!("cannot read {}", registry.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut crates = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let (package, licence) = line.split_once('\t').unwrap_or((line, ""));
        let package = package.trim_end_matches(" (*)");
        // Our own crates are `name v0.1.0 (/path)`: covered by DeepMatte.txt.
        if package.contains(" (") || !seen.insert(package.to_string()) {
            continue;
        }
        let Some((name, version)) = package.split_once(" v") else { continue };
        let folder = format!("{name}-{version}");
        let source = registries
            .iter()
            .map(|r| r.join(&folder))
            .find(|p| p.is_dir())
            .with_context(|| format!("{folder} is not in {}", registry.display()))?;
        let licence = licence.trim().trim_end_matches(" (*)");
        crates.push(Crate {
            name: name.into(),
            version: version.into(),
            licence: if licence.is_empty() { "not declared".into() } else { licence.into() },
            source,
        });
    }
    if crates.is_empty() {
        bail!("cargo tree listed no crates");
    }
    Ok(crates)
}

/// The licence and notice files at the top of a crate's source.
fn licence_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_ascii_uppercase()).unwrap_or_default();
            ["LICENSE", "LICENCE", "COPYING", "NOTICE", "UNLICENSE", "COPYRIGHT"].iter().any(|k| name.starts_with(k))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// One model of models/manifest.toml, as far as users need it.
#[derive(Default)]
struct Model {
    name: String,
    file: String,
    licence: String,
    urls: Vec<(String, String)>,
}

/// Reads the `[[model]]` tables of models/manifest.toml: name, file, licence, and each
/// `[[model.source]]`'s url and sha256 (a line-based read of the few keys used here).
fn manifest_models() -> Result<Vec<Model>> {
    let path = util::root().join("models/manifest.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut models: Vec<Model> = Vec::new();
    let mut table = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line;
            if line == "[[model]]" {
                models.push(Model::default());
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').to_string();
        let Some(model) = models.last_mut() else { continue };
        match (table, key.trim()) {
            ("[[model]]", "name") => model.name = value,
            ("[[model]]", "file") => model.file = value,
            ("[[model]]", "licence") => model.licence = value,
            ("[[model.source]]", "url") => model.urls.push((value, String::new())),
            ("[[model.source]]", "sha256") => {
                if let Some(last) = model.urls.last_mut().filter(|(_, sha)| sha.is_empty()) {
                    last.1 = value;
                }
            }
            _ => {}
        }
    }
    if models.iter().any(|m| m.name.is_empty() || m.file.is_empty() || m.licence.is_empty()) {
        bail!("{}: every [[model]] needs name, file and licence", path.display());
    }
    Ok(models)
}

/// `LICENSES/models.md`: no model ships in the archive, but each one a user installs has a licence.
fn models_licences() -> Result<String> {
    let mut text = String::from(
        "# Models\n\nNo model is inside this archive. These are the models DeepMatte uses and their licences\n\
         (from models/manifest.toml of the source):\n\n| model | file | licence |\n| --- | --- | --- |\n",
    );
    for model in manifest_models()? {
        writeln!(text, "| {} | {} | {} |", model.name, model.file, model.licence)?;
    }
    Ok(text)
}

/// The part of INSTALL.md that says where each downloadable model comes from.
fn models_section() -> Result<String> {
    let mut text = String::from("\n## Models: where to download them\n\n");
    for model in manifest_models()?.iter().filter(|m| !m.urls.is_empty()) {
        writeln!(text, "- **{}** (`{}`, licence {}), from the first source that answers:", model.name, model.file, model.licence)?;
        for (url, sha) in &model.urls {
            writeln!(text, "  - <{url}>  \n    sha256 `{sha}`")?;
        }
    }
    Ok(text)
}
