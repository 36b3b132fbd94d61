//! Where DeepMatte keeps per-user data, and the one order in which models are looked for.
//!
//! The installed bundle is often read-only (`/usr/OFX/Plugins`, `C:\Program Files\Common Files\OFX`),
//! so what DeepMatte downloads or writes for a user lives in a per-user data folder instead:
//! - Linux: `$XDG_DATA_HOME/DeepMatte`, else `~/.local/share/DeepMatte`;
//! - macOS: `~/Library/Application Support/DeepMatte`;
//! - Windows: `%APPDATA%\DeepMatte`.
//!
//! Inside it, `models/` holds the models that `deepmatte models install` and the Download Model button
//! put there, and `masks/` holds Magic Mask's mask store.
//!
//! A model file is looked for, first match wins and per file, in: the effect's Model Folder control,
//! else `DEEPMATTE_MODELS`, else `<user data>/models`, else the bundle's `Contents/Resources/models`.
//! The plugin, the CLI and the installer all go through [`ModelSearch`], so they agree.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::download::Manifest;
use crate::InferenceError;

/// The folder name under the platform's per-user data folder.
pub const APP_FOLDER: &str = "DeepMatte";

/// The environment variable naming a model folder (second in the search order).
pub const MODELS_ENV: &str = "DEEPMATTE_MODELS";

/// The per-user data folder (see the module doc), or `None` when the environment names no home
/// (a service account with neither `HOME` nor `APPDATA`).
pub fn user_data_dir() -> Option<PathBuf> {
    user_data_dir_for(Platform::CURRENT, |name| std::env::var_os(name))
}

/// `<user data>/models`: where installed models go by default.
pub fn user_models_dir() -> Option<PathBuf> {
    user_data_dir().map(|dir| dir.join("models"))
}

/// `<user data>/masks`: the default root of Magic Mask's mask store.
pub fn user_masks_dir() -> Option<PathBuf> {
    user_data_dir().map(|dir| dir.join("masks"))
}

/// The platform conventions [`user_data_dir`] follows; a value so that each is testable anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other XDG systems.
    Xdg,
    /// macOS.
    MacOs,
    /// Windows.
    Windows,
}

impl Platform {
    /// The platform this binary was built for.
    pub const CURRENT: Platform = if cfg!(windows) {
        Platform::Windows
    } else if cfg!(target_os = "macos") {
        Platform::MacOs
    } else {
        Platform::Xdg
    };
}

/// [`user_data_dir`] for `platform`, reading variables through `env`. Relative values are ignored:
/// the XDG spec says so for `XDG_DATA_HOME`, and a relative home would make the folder depend on the
/// host's current directory.
pub fn user_data_dir_for(platform: Platform, env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = match platform {
        Platform::Xdg => absolute("XDG_DATA_HOME").or_else(|| absolute("HOME").map(|home| home.join(".local").join("share"))),
        Platform::MacOs => absolute("HOME").map(|home| home.join("Library").join("Application Support")),
        Platform::Windows => absolute("APPDATA"),
    };
    base.map(|dir| dir.join(APP_FOLDER))
}

/// Which step of the search order a folder comes from (named in messages so the user knows which
/// setting put it there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelPlace {
    /// The effect's Model Folder control.
    ModelFolder,
    /// The `DEEPMATTE_MODELS` environment variable.
    Environment,
    /// `<user data>/models`.
    UserData,
    /// The bundle's `Contents/Resources/models`.
    Bundle,
}

impl fmt::Display for ModelPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelPlace::ModelFolder => "Model Folder",
            ModelPlace::Environment => MODELS_ENV,
            ModelPlace::UserData => "your DeepMatte models folder",
            ModelPlace::Bundle => "the bundle",
        })
    }
}

/// The folders a model file is looked for in, in order; the first that holds the file wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSearch {
    folders: Vec<(ModelPlace, PathBuf)>,
    user_models: Option<PathBuf>,
}

impl ModelSearch {
    /// The search order for this process: `control` (the effect's Model Folder, ignored when blank),
    /// `DEEPMATTE_MODELS`, the per-user models folder, then `bundle_models`.
    pub fn new(control: Option<&Path>, bundle_models: Option<&Path>) -> ModelSearch {
        ModelSearch::from_parts(control, std::env::var_os(MODELS_ENV), user_models_dir(), bundle_models)
    }

    /// [`ModelSearch::new`] with every input passed in, so the order is testable. Blank entries are
    /// skipped, and so is a folder already listed.
    pub fn from_parts(control: Option<&Path>, env: Option<OsString>, user_models: Option<PathBuf>, bundle_models: Option<&Path>) -> ModelSearch {
        let env = env.map(PathBuf::from);
        let candidates = [
            (ModelPlace::ModelFolder, control.map(trimmed)),
            (ModelPlace::Environment, env),
            (ModelPlace::UserData, user_models.clone()),
            (ModelPlace::Bundle, bundle_models.map(Path::to_path_buf)),
        ];
        let mut folders: Vec<(ModelPlace, PathBuf)> = Vec::new();
        for (place, folder) in candidates {
            if let Some(folder) = folder.filter(|f| !f.as_os_str().is_empty()) {
                if !folders.iter().any(|(_, seen)| *seen == folder) {
                    folders.push((place, folder));
                }
            }
        }
        ModelSearch { folders, user_models }
    }

    /// A search of exactly one folder (a `--dest` folder, a test's folder).
    pub fn only(folder: &Path) -> ModelSearch {
        ModelSearch { folders: vec![(ModelPlace::ModelFolder, folder.to_path_buf())], user_models: None }
    }

    /// The folders searched, in order, with where each comes from.
    pub fn folders(&self) -> &[(ModelPlace, PathBuf)] {
        &self.folders
    }

    /// The first folder's `file` that exists, with the place it was found in.
    pub fn find(&self, file: &str) -> Option<(ModelPlace, PathBuf)> {
        self.folders.iter().map(|(place, folder)| (*place, folder.join(file))).find(|(_, path)| path.is_file())
    }

    /// The first folder's `file`, or [`InferenceError::ModelMissing`] naming every folder searched and
    /// what the user can do (from the manifest: the Download Model button and `deepmatte models
    /// install`, or where a model with no download comes from).
    pub fn locate(&self, file: &str) -> Result<PathBuf, InferenceError> {
        if let Some((_, path)) = self.find(file) {
            return Ok(path);
        }
        let searched = if self.folders.is_empty() {
            "no folder (no Model Folder, no DEEPMATTE_MODELS, no home folder)".to_owned()
        } else {
            self.folders.iter().map(|(place, folder)| format!("{} ({place})", folder.display())).collect::<Vec<_>>().join(", ")
        };
        let folder = self.install_folder().unwrap_or_default();
        Err(InferenceError::ModelMissing { file: file.to_owned(), searched, remedy: remedy(file, &folder) })
    }

    /// Where an installer puts a model for this search to find it: the per-user models folder,
    /// else (no home) the first folder searched.
    pub fn install_folder(&self) -> Option<PathBuf> {
        self.user_models.clone().or_else(|| self.folders.first().map(|(_, f)| f.clone()))
    }
}

/// What a user can do to get `file` into `folder`: the manifest's remedy for a model it knows.
pub fn remedy(file: &str, folder: &Path) -> String {
    match Manifest::embedded().by_file(file) {
        Some(model) => model.remedy(folder),
        None => format!("Put it in {}, or set Model Folder to a folder that holds it", folder.display()),
    }
}

/// A Model Folder typed with stray spaces around it still means that folder.
fn trimmed(path: &Path) -> PathBuf {
    match path.to_str() {
        Some(text) => PathBuf::from(text.trim()),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn user_data_folder_follows_each_platform() {
        let xdg = [("XDG_DATA_HOME", "/data"), ("HOME", "/home/ana")];
        assert_eq!(user_data_dir_for(Platform::Xdg, env(&xdg)), Some(PathBuf::from("/data/DeepMatte")));
        let home = [("HOME", "/home/ana")];
        assert_eq!(user_data_dir_for(Platform::Xdg, env(&home)), Some(PathBuf::from("/home/ana/.local/share/DeepMatte")));
        let relative = [("XDG_DATA_HOME", "data"), ("HOME", "/home/ana")];
        assert_eq!(user_data_dir_for(Platform::Xdg, env(&relative)), Some(PathBuf::from("/home/ana/.local/share/DeepMatte")));
        assert_eq!(
            user_data_dir_for(Platform::MacOs, env(&home)),
            Some(PathBuf::from("/home/ana/Library/Application Support/DeepMatte"))
        );
        assert_eq!(user_data_dir_for(Platform::Xdg, env(&[])), None);
        // Windows paths are only absolute on Windows; there, %APPDATA%\DeepMatte.
        if cfg!(windows) {
            let appdata = [("APPDATA", r"C:\Users\ana\AppData\Roaming")];
            assert_eq!(
                user_data_dir_for(Platform::Windows, env(&appdata)),
                Some(PathBuf::from(r"C:\Users\ana\AppData\Roaming\DeepMatte"))
            );
        }
        assert_eq!(user_data_dir_for(Platform::Windows, env(&home)), None, "HOME is not a Windows data folder");
    }

    #[test]
    fn search_order_is_control_environment_user_bundle_first_match_per_file() {
        let root = std::env::temp_dir().join(format!("deepmatte-paths-{}", std::process::id()));
        let [control, envdir, user, bundle] = ["control", "env", "user", "bundle"].map(|n| root.join(n));
        for dir in [&control, &envdir, &user, &bundle] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(control.join("a.onnx"), b"a").unwrap();
        std::fs::write(envdir.join("b.onnx"), b"b").unwrap();
        std::fs::write(user.join("b.onnx"), b"b").unwrap();
        std::fs::write(user.join("c.onnx"), b"c").unwrap();
        std::fs::write(bundle.join("a.onnx"), b"a").unwrap();
        std::fs::write(bundle.join("d.onnx"), b"d").unwrap();

        let search = ModelSearch::from_parts(Some(&control), Some(envdir.clone().into()), Some(user.clone()), Some(&bundle));
        let places: Vec<ModelPlace> = search.folders().iter().map(|(p, _)| *p).collect();
        assert_eq!(places, [ModelPlace::ModelFolder, ModelPlace::Environment, ModelPlace::UserData, ModelPlace::Bundle]);
        assert_eq!(search.find("a.onnx"), Some((ModelPlace::ModelFolder, control.join("a.onnx"))));
        assert_eq!(search.find("b.onnx"), Some((ModelPlace::Environment, envdir.join("b.onnx"))));
        assert_eq!(search.find("c.onnx"), Some((ModelPlace::UserData, user.join("c.onnx"))));
        assert_eq!(search.find("d.onnx"), Some((ModelPlace::Bundle, bundle.join("d.onnx"))));
        assert_eq!(search.find("e.onnx"), None);
        assert_eq!(search.install_folder(), Some(user.clone()));

        // Blank control and environment drop out; the user folder stays where installs go.
        let search = ModelSearch::from_parts(Some(Path::new("  ")), Some(OsString::new()), Some(user.clone()), Some(&bundle));
        assert_eq!(search.folders().len(), 2);
        assert_eq!(search.find("a.onnx"), Some((ModelPlace::Bundle, bundle.join("a.onnx"))));

        let err = search.locate("depth_anything_v2_small.onnx").unwrap_err().to_string();
        assert!(err.contains("`depth_anything_v2_small.onnx` was not found in"), "{err}");
        assert!(err.contains(&format!("{} (your DeepMatte models folder)", user.display())), "{err}");
        assert!(err.contains(&format!("{} (the bundle)", bundle.display())), "{err}");
        assert!(err.contains("Download Model") && err.contains("`deepmatte models install depth`"), "{err}");
        assert!(!err.contains("cargo"), "{err}");
        let err = search.locate("sam2_mask_decoder.onnx").unwrap_err().to_string();
        assert!(err.contains("no download") && err.contains("install.py"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
