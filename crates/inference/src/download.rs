//! Installing the models `models/manifest.toml` pins: the one downloader behind
//! `deepmatte models install` and the effects' Download Model button.
//!
//! The manifest is compiled into the binary, so a release archive needs no repository. For each model,
//! the sources are tried in order:
//! 1. the body streams into `<file>.<sha256 prefix>.part` in the destination folder, hashed as it comes;
//! 2. a `.part` left by a cut-off or cancelled download is resumed with an HTTP `Range` request (a
//!    server that ignores it sends the whole file, which restarts the `.part`);
//! 3. only a file whose sha256 is the pinned one is renamed to its final name (atomic within the
//!    folder), so the model folder never holds a half-written or wrong model under the name the
//!    plugin opens. A wrong hash deletes the `.part`; a cut-off download keeps it, for the resume.
//!
//! Every failure names the URL tried and the folder to put the file in by hand.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `models/manifest.toml`, as built into this binary.
pub const MANIFEST_TOML: &str = include_str!("../../../models/manifest.toml");

/// The command a user runs to install models (named in every message about a missing model).
pub const INSTALL_COMMAND: &str = "deepmatte models install";

/// The environment variable naming a manifest to download from instead of the built-in one (a
/// studio mirror; the tests' loopback server).
pub const MANIFEST_ENV: &str = "DEEPMATTE_MODEL_MANIFEST";

/// A manifest file larger than this is not a manifest (it is read whole).
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// No model or GPU runtime wheel DeepMatte uses is near this; a server sending more is refused
/// rather than filling the disk.
const MAX_MODEL_BYTES: u64 = 4 << 30;

/// Bytes read from the network between two progress reports.
const CHUNK: usize = 256 << 10;

/// The models of a manifest.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// Every `[[model]]`, in file order.
    #[serde(rename = "model")]
    pub models: Vec<ManifestModel>,
}

/// One `[[model]]` of the manifest (the fields the installer needs; the contract tables are
/// documentation, checked by the code that opens each file).
#[derive(Clone, Debug, Deserialize)]
pub struct ManifestModel {
    /// Its name for people ("Depth Anything V2 Small").
    pub name: String,
    /// The file name the plugin looks for.
    pub file: String,
    /// The name `deepmatte models install NAME` selects it by; absent for models with no download.
    #[serde(default)]
    pub install: Option<String>,
    /// Its licence.
    pub licence: String,
    /// Where it comes from when there is no URL to download it from.
    #[serde(default)]
    pub source_note: Option<String>,
    /// Its sources, in the order to try them.
    #[serde(default, rename = "source")]
    pub sources: Vec<ManifestSource>,
}

/// One `[[model.source]]`.
#[derive(Clone, Debug, Deserialize)]
pub struct ManifestSource {
    /// The URL to download (absent for a file that ships inside a package).
    #[serde(default)]
    pub url: Option<String>,
    /// The pinned sha256 of the file, lowercase hex.
    pub sha256: String,
    /// Its approximate size, for people.
    #[serde(default)]
    pub size: Option<String>,
}

impl Manifest {
    /// Parses a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        toml::from_str(text).map_err(|e| format!("the model manifest is not valid: {e}"))
    }

    /// The manifest built into this binary.
    pub fn embedded() -> &'static Manifest {
        static EMBEDDED: OnceLock<Manifest> = OnceLock::new();
        // A unit test parses it, so a broken manifest fails the build's tests, not a user.
        EMBEDDED.get_or_init(|| Manifest::parse(MANIFEST_TOML).expect("models/manifest.toml parses"))
    }

    /// The manifest to download from: the file `DEEPMATTE_MODEL_MANIFEST` names, else the built-in one.
    pub fn active() -> Result<Cow<'static, Manifest>, String> {
        match std::env::var_os(MANIFEST_ENV).filter(|p| !p.is_empty()) {
            Some(path) => Manifest::read(Path::new(&path)).map(Cow::Owned),
            None => Ok(Cow::Borrowed(Manifest::embedded())),
        }
    }

    /// Reads and parses a manifest file (bounded: it is read whole).
    pub fn read(path: &Path) -> Result<Manifest, String> {
        let cannot = |e: std::io::Error| format!("cannot read the model manifest {}: {e}", path.display());
        let mut text = String::new();
        File::open(path).map_err(cannot)?.take(MAX_MANIFEST_BYTES).read_to_string(&mut text).map_err(cannot)?;
        Manifest::parse(&text)
    }

    /// The model stored under `file`.
    pub fn by_file(&self, file: &str) -> Option<&ManifestModel> {
        self.models.iter().find(|m| m.file == file)
    }

    /// The models `deepmatte models install WHAT` installs: `all` (every model with a download) or
    /// one install name.
    pub fn select(&self, what: &str) -> Result<Vec<&ManifestModel>, String> {
        let names: Vec<&str> = self.models.iter().filter_map(|m| m.install.as_deref()).collect();
        let chosen: Vec<&ManifestModel> = self
            .models
            .iter()
            .filter(|m| m.install.as_deref().is_some_and(|name| what == "all" || what == name))
            .collect();
        if chosen.is_empty() {
            return Err(format!("no model called `{what}` has a download (choose one of: {}, all)", names.join(", ")));
        }
        Ok(chosen)
    }
}

impl ManifestModel {
    /// The `(url, sha256)` pairs to try, in order.
    pub fn downloads(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sources.iter().filter_map(|s| s.url.as_deref().map(|url| (url, s.sha256.as_str())))
    }

    /// What a user can do to get this file into `folder`: the button and the command for a model with
    /// a download, else where the file comes from.
    pub fn remedy(&self, folder: &Path) -> String {
        match (self.install.as_deref(), self.downloads().next()) {
            (Some(name), Some((url, _))) => format!(
                "Press Download Model in the effect, or run `{INSTALL_COMMAND} {name}`, or download {url} by hand and put it in {}",
                folder.display()
            ),
            _ => format!(
                "There is no download for it: {}. Put it in {}, or set Model Folder to a folder that holds it",
                self.source_note.as_deref().unwrap_or("see models/README.md"),
                folder.display()
            ),
        }
    }
}

/// What an install did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The file was downloaded from `url` and verified.
    Downloaded {
        /// The installed file.
        path: PathBuf,
        /// The source it came from.
        url: String,
    },
    /// A file with a pinned sha256 was already there.
    AlreadyThere {
        /// The installed file.
        path: PathBuf,
    },
}

impl Installed {
    /// The installed file.
    pub fn path(&self) -> &Path {
        match self {
            Installed::Downloaded { path, .. } | Installed::AlreadyThere { path } => path,
        }
    }
}

/// Told how a download goes; the CLI draws a progress bar, the plugin drives the host's.
pub trait DownloadProgress {
    /// A source is being tried.
    fn connecting(&mut self, _url: &str) {}
    /// `done` bytes of `total` (when the server says) are in the `.part` file. Returns false to cancel.
    fn advanced(&mut self, done: u64, total: Option<u64>) -> bool;
}

/// Why one source did not give the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceProblem {
    /// No connection (offline, DNS, refused, timed out).
    Unreachable(String),
    /// The server answered with an HTTP error status.
    Status(u16),
    /// The connection ended before the whole file came; the `.part` is kept for a resume.
    Truncated {
        /// Bytes in the `.part` file.
        got: u64,
        /// Bytes the server announced, when it did.
        expected: Option<u64>,
    },
    /// The whole file came but is not the pinned one; it was deleted.
    HashMismatch {
        /// Its sha256.
        got: String,
    },
    /// The server sent (or announced) more than any model can be.
    TooLarge(u64),
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceProblem::Unreachable(why) => write!(f, "cannot connect (is this machine offline?): {why}"),
            SourceProblem::Status(code) => write!(f, "the server answered HTTP {code}"),
            SourceProblem::Truncated { got, expected } => {
                let of = expected.map(|e| format!(" of {e}")).unwrap_or_default();
                write!(f, "the download stopped after {got}{of} bytes; try again to resume from there")
            }
            SourceProblem::HashMismatch { got } => {
                write!(f, "the downloaded file has sha256 {got}, not the pinned one, so it was deleted")
            }
            SourceProblem::TooLarge(bytes) => write!(f, "the server sends {bytes} bytes, more than any file DeepMatte downloads; refused"),
        }
    }
}

/// One source that was tried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The URL.
    pub url: String,
    /// What went wrong.
    pub problem: SourceProblem,
}

/// Why a model could not be installed; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The manifest has no URL for this model (SAM 2.1 parts, U²-Netp).
    #[error("{name} (`{file}`): {remedy}")]
    NoDownload {
        /// The model's name.
        name: String,
        /// Its file name.
        file: String,
        /// Where it comes from and where to put it.
        remedy: String,
    },
    /// The destination folder cannot be created or written.
    #[error("cannot write in the model folder {folder}: {detail}. Choose another folder (`--dest DIR`, or set Model Folder)")]
    Folder {
        /// The folder.
        folder: PathBuf,
        /// What the system said.
        detail: String,
    },
    /// Another process is downloading the same file into the same folder.
    #[error("another download of `{file}` into {folder} is running; wait for it to finish")]
    Busy {
        /// The file name.
        file: String,
        /// The folder.
        folder: PathBuf,
    },
    /// The user cancelled; the `.part` file is kept so the next install resumes.
    #[error("the download of `{file}` was cancelled; start it again to resume where it stopped")]
    Cancelled {
        /// The file name.
        file: String,
    },
    /// Every source failed.
    #[error(
        "could not download {name} (`{file}`):\n{}\nOn a machine with internet access, download {} (sha256 {}) and put it in {} as `{file}`",
        attempts.iter().map(|a| format!("  {}: {}", a.url, a.problem)).collect::<Vec<_>>().join("\n"),
        attempts.first().map(|a| a.url.as_str()).unwrap_or("?"),
        first_sha256,
        folder.display()
    )]
    Failed {
        /// The model's name.
        name: String,
        /// Its file name.
        file: String,
        /// The folder it was to go into.
        folder: PathBuf,
        /// The pinned sha256 of the first source.
        first_sha256: String,
        /// Every source tried, in order.
        attempts: Vec<Attempt>,
    },
}

/// Installs `model` into `folder` (created if needed): nothing to do when a file with a pinned sha256
/// is already there, else its sources in order (see the module doc).
pub fn install(model: &ManifestModel, folder: &Path, progress: &mut dyn DownloadProgress) -> Result<Installed, DownloadError> {
    let downloads: Vec<(&str, &str)> = model.downloads().collect();
    if downloads.is_empty() {
        return Err(DownloadError::NoDownload { name: model.name.clone(), file: model.file.clone(), remedy: model.remedy(folder) });
    }
    let folder_error = |e: std::io::Error| DownloadError::Folder { folder: folder.to_path_buf(), detail: e.to_string() };
    fs::create_dir_all(folder).map_err(folder_error)?;
    let target = folder.join(&model.file);
    if target.is_file() {
        let have = sha256_of(&target).map_err(folder_error)?;
        if downloads.iter().any(|(_, sha)| sha.eq_ignore_ascii_case(&have)) {
            return Ok(Installed::AlreadyThere { path: target });
        }
    }
    let agent = agent();
    let mut attempts = Vec::new();
    for (url, sha) in &downloads {
        progress.connecting(url);
        let part = folder.join(format!("{}.{}.part", model.file, &sha[..sha.len().min(12)]));
        match fetch(&agent, url, sha, &part, progress) {
            Ok(()) => {
                fs::rename(&part, &target).map_err(folder_error)?;
                return Ok(Installed::Downloaded { path: target, url: url.to_string() });
            }
            Err(Fetch::Source(problem)) => attempts.push(Attempt { url: url.to_string(), problem }),
            Err(Fetch::Cancelled) => return Err(DownloadError::Cancelled { file: model.file.clone() }),
            Err(Fetch::Busy) => return Err(DownloadError::Busy { file: model.file.clone(), folder: folder.to_path_buf() }),
            Err(Fetch::Local(e)) => return Err(folder_error(e)),
        }
    }
    Err(DownloadError::Failed {
        name: model.name.clone(),
        file: model.file.clone(),
        folder: folder.to_path_buf(),
        first_sha256: downloads[0].1.to_owned(),
        attempts,
    })
}

/// The HTTP client: status codes are handled here (206 and 416 matter for resuming), and a stalled
/// connection fails instead of hanging a host's UI thread forever.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("deepmatte/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// How one download failed ([`fetch_verified`]).
#[derive(Debug)]
pub enum Fetch {
    /// The source did not give the pinned file.
    Source(SourceProblem),
    /// The progress callback cancelled; the `.part` is kept for a resume.
    Cancelled,
    /// Another process holds the `.part` file's lock.
    Busy,
    /// The local file could not be written.
    Local(std::io::Error),
}

/// Brings `url` into `part`, resuming what a cut-off download left there (HTTP `Range`), hashing
/// as it comes: on success `part` holds exactly the bytes whose sha256 is `sha`; a wrong hash
/// deletes it, a cut-off download keeps it. The model installer and the GPU runtime installer
/// (`crate::gpu_runtime`) both download through this.
pub fn fetch_verified(url: &str, sha: &str, part: &Path, progress: &mut dyn DownloadProgress) -> Result<(), Fetch> {
    fetch(&agent(), url, sha, part, progress)
}

impl From<std::io::Error> for Fetch {
    fn from(e: std::io::Error) -> Fetch {
        Fetch::Local(e)
    }
}

/// Brings `url` into `part` (resuming what is there) and checks it against `sha`. On success the
/// `.part` file holds exactly the pinned bytes, closed, ready to be renamed.
fn fetch(agent: &ureq::Agent, url: &str, sha: &str, part: &Path, progress: &mut dyn DownloadProgress) -> Result<(), Fetch> {
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(part)?;
    // Two hosts (or a host and the CLI) pressing Download at once must not interleave their bytes.
    if file.try_lock().is_err() {
        return Err(Fetch::Busy);
    }
    let mut have = file.metadata()?.len();
    // One retry from zero: for a server that answers 416 to a `.part` that is not a prefix of the file.
    for _ in 0..2 {
        let mut request = agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let mut response = match request.call() {
            Ok(response) => response,
            Err(e) => {
                drop(file);
                remove_if_empty(part);
                return Err(Fetch::Source(SourceProblem::Unreachable(e.to_string())));
            }
        };
        let status = response.status().as_u16();
        let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let resumed_at = (status == 206).then(|| content_range_start(response.headers())).flatten();
        match status {
            206 if have > 0 && resumed_at == Some(have) => {}
            200 | 206 => {
                // A fresh body (or a range that does not start where the `.part` ends): start over.
                have = 0;
                file.set_len(0)?;
                if status == 206 && resumed_at != Some(0) {
                    continue;
                }
            }
            416 if have > 0 => {
                // The `.part` may already be whole: its hash decides; else start over.
                if sha256_of_file(&mut file)?.eq_ignore_ascii_case(sha) {
                    return Ok(());
                }
                have = 0;
                file.set_len(0)?;
                continue;
            }
            code => {
                drop(file);
                remove_if_empty(part);
                return Err(Fetch::Source(SourceProblem::Status(code)));
            }
        }
        let total = length.map(|l| l + have);
        if let Some(total) = total.filter(|&t| t > MAX_MODEL_BYTES) {
            drop(file);
            let _ = fs::remove_file(part);
            return Err(Fetch::Source(SourceProblem::TooLarge(total)));
        }
        let mut hasher = Sha256::new();
        if have > 0 {
            hash_prefix(&mut file, have, &mut hasher)?;
        }
        file.seek(SeekFrom::Start(have))?;
        let mut done = have;
        let mut body = response.body_mut().with_config().limit(MAX_MODEL_BYTES).reader();
        let mut buffer = vec![0u8; CHUNK];
        if !progress.advanced(done, total) {
            return Err(Fetch::Cancelled);
        }
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => {
                    // Cut off: what arrived stays in the `.part` for the next resume.
                    file.sync_all()?;
                    return Err(Fetch::Source(SourceProblem::Truncated { got: done, expected: total }));
                }
            };
            file.write_all(&buffer[..n])?;
            hasher.update(&buffer[..n]);
            done += n as u64;
            if done > MAX_MODEL_BYTES {
                drop(file);
                let _ = fs::remove_file(part);
                return Err(Fetch::Source(SourceProblem::TooLarge(done)));
            }
            if !progress.advanced(done, total) {
                file.sync_all()?;
                return Err(Fetch::Cancelled);
            }
        }
        file.sync_all()?;
        if total.is_some_and(|t| done < t) {
            return Err(Fetch::Source(SourceProblem::Truncated { got: done, expected: total }));
        }
        let got = hex(&hasher.finalize());
        if !got.eq_ignore_ascii_case(sha) {
            drop(file);
            let _ = fs::remove_file(part);
            return Err(Fetch::Source(SourceProblem::HashMismatch { got }));
        }
        return Ok(());
    }
    drop(file);
    let _ = fs::remove_file(part);
    Err(Fetch::Source(SourceProblem::Status(416)))
}

/// The first byte of a `Content-Range: bytes START-END/TOTAL` header.
fn content_range_start(headers: &ureq::http::HeaderMap) -> Option<u64> {
    let value = headers.get("content-range")?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

/// A `.part` file created for a request that never got a body is not worth keeping.
fn remove_if_empty(part: &Path) {
    if fs::metadata(part).is_ok_and(|m| m.len() == 0) {
        let _ = fs::remove_file(part);
    }
}

fn hash_prefix(file: &mut File, bytes: u64, hasher: &mut Sha256) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    let mut taken = (&mut *file).take(bytes);
    std::io::copy(&mut taken, hasher)?;
    Ok(())
}

fn sha256_of_file(file: &mut File) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    file.seek(SeekFrom::Start(0))?;
    std::io::copy(file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// The sha256 of the file at `path`, lowercase hex.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    sha256_of_file(&mut File::open(path)?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_manifest_parses_and_depth_has_pinned_downloads() {
        let manifest = Manifest::embedded();
        let depth = manifest.by_file("depth_anything_v2_small.onnx").expect("the depth model is in the manifest");
        assert_eq!(depth.install.as_deref(), Some("depth"));
        let downloads: Vec<_> = depth.downloads().collect();
        assert_eq!(downloads.len(), 2);
        assert!(downloads.iter().all(|(url, sha)| url.starts_with("https://") && sha.len() == 64));
        assert_eq!(manifest.select("all").unwrap().len(), 1, "only Depth Anything has a download today");
        assert!(manifest.select("sam2").unwrap_err().contains("depth, all"));
        let sam = manifest.by_file("sam2_image_encoder.onnx").unwrap();
        assert_eq!(sam.downloads().count(), 0);
        assert!(sam.remedy(Path::new("/m")).contains("no download"));
    }
}
