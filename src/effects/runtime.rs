//! Where the effects find ONNX Runtime and their models, and how a failure to find them reaches
//! the user: as a message naming what is missing and what the user can do (the Download Model
//! button, `deepmatte models install`, the folder).

use inference::download::{self, DownloadProgress, Installed, Manifest};
use inference::{InferenceError, ModelSearch, Runtime, ORT_LIBRARY_FILE};
use ofx::{Error, Instance, Progress};
use std::path::{Path, PathBuf};

/// The ONNX Runtime library shipped next to the plugin binary in the bundle.
fn bundled_library() -> PathBuf {
    ofx::plugin_binary_path()
        .and_then(|p| p.parent().map(|dir| dir.join(ORT_LIBRARY_FILE)))
        .unwrap_or_else(|| PathBuf::from(ORT_LIBRARY_FILE))
}

/// The process's ONNX Runtime (loaded on first use; `DEEPMATTE_ORT_LIB` overrides the path).
pub fn runtime() -> Result<Runtime, Error> {
    Runtime::load(&bundled_library()).map_err(user_error)
}

/// Where models are looked for, first match per file: the effect's Model Folder control, else
/// `DEEPMATTE_MODELS`, else the per-user models folder, else the bundle's `Contents/Resources/models`.
pub fn model_search(control: &str) -> ModelSearch {
    let bundle = ofx::bundle_resources().map(|r| r.join("models"));
    ModelSearch::new(Some(Path::new(control)), bundle.as_deref())
}

/// An inference failure as a host message.
pub fn user_error(e: InferenceError) -> Error {
    Error::failed(e.to_string())
}

/// The Download Model button: installs `file` (a model the manifest pins) into the per-user models
/// folder with the host's progress bar and cancel, the same code as `deepmatte models install`.
/// Nothing is cached about a missing model, so the next render finds the file. Returns a sentence
/// for the effect's Status line.
pub fn download_model(fx: &Instance, effect: &str, file: &str) -> Result<String, Error> {
    let manifest = Manifest::active().map_err(Error::failed)?;
    let model = manifest
        .by_file(file)
        .ok_or_else(|| Error::failed(format!("the model manifest has no `{file}`: put the file in a folder and set Model Folder to it")))?;
    let folder = inference::user_models_dir().ok_or_else(|| {
        Error::failed(format!(
            "no per-user data folder is known (neither HOME nor APPDATA is set): run `{} --dest FOLDER` and set Model Folder to FOLDER",
            inference::download::INSTALL_COMMAND
        ))
    })?;
    let progress = fx.progress(&format!("{effect}: downloading {}", model.name));
    let mut host = HostProgress { progress: &progress, shown: -1 };
    let installed = download::install(model, &folder, &mut host).map_err(|e| Error::failed(e.to_string()))?;
    Ok(match installed {
        Installed::Downloaded { path, .. } => format!("Downloaded and verified {}", path.display()),
        Installed::AlreadyThere { path } => format!("Already installed: {}", path.display()),
    })
}

/// A download's progress on the host's bar; the user's cancel stops the download.
struct HostProgress<'a, 'b> {
    progress: &'a Progress<'b>,
    /// The last whole percent reported: hosts redraw on each update, so not one per network read.
    shown: i64,
}

impl DownloadProgress for HostProgress<'_, '_> {
    fn advanced(&mut self, done: u64, total: Option<u64>) -> bool {
        let fraction = total.filter(|&t| t > 0).map_or(0.0, |t| done as f64 / t as f64);
        let percent = (fraction * 100.0) as i64;
        if percent == self.shown {
            // A cancel is seen at the next whole percent (about 1 MB of a depth model).
            return true;
        }
        self.shown = percent;
        self.progress.update(fraction)
    }
}
