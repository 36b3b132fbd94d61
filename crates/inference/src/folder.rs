//! Where model files are looked for: the effect's Model Folder, else `DEEPMATTE_MODELS`, else the
//! default the caller passes (the bundle's `Contents/Resources/models`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::InferenceError;

/// The command that downloads and verifies the real models (see `models/install.py`).
pub const INSTALL_COMMAND: &str = "cargo xtask models";

/// The model folder for this render: `explicit` (the effect's `model_folder` parameter, ignored when
/// empty) > the `DEEPMATTE_MODELS` environment variable > `default`.
pub fn model_folder(explicit: Option<&Path>, default: &Path) -> PathBuf {
    resolve_model_folder(explicit, std::env::var_os("DEEPMATTE_MODELS"), default)
}

/// [`model_folder`] with the environment variable passed in, so the rule is testable.
pub fn resolve_model_folder(explicit: Option<&Path>, env: Option<OsString>, default: &Path) -> PathBuf {
    let non_empty = |p: &Path| !p.as_os_str().is_empty();
    if let Some(folder) = explicit.filter(|p| non_empty(p)) {
        return folder.to_path_buf();
    }
    match env.map(PathBuf::from).filter(|p| non_empty(p)) {
        Some(folder) => folder,
        None => default.to_path_buf(),
    }
}

/// The path of `file` inside `folder`, or [`InferenceError::ModelMissing`] naming both and the
/// install command.
pub fn locate_model(folder: &Path, file: &str) -> Result<PathBuf, InferenceError> {
    let path = folder.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(InferenceError::ModelMissing {
            file: file.to_owned(),
            folder: folder.to_path_buf(),
            install: format!("{INSTALL_COMMAND} --dest {}", folder.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_folder_beats_environment_beats_default() {
        let default = Path::new("/bundle/Contents/Resources/models");
        let env = Some(OsString::from("/env/models"));
        let explicit = Path::new("/mine");
        assert_eq!(resolve_model_folder(Some(explicit), env.clone(), default), explicit);
        assert_eq!(resolve_model_folder(None, env.clone(), default), Path::new("/env/models"));
        assert_eq!(resolve_model_folder(Some(Path::new("")), env, default), Path::new("/env/models"));
        assert_eq!(resolve_model_folder(None, Some(OsString::new()), default), default);
        assert_eq!(resolve_model_folder(None, None, default), default);
    }

    #[test]
    fn missing_model_names_file_folder_and_command() {
        let err = locate_model(Path::new("/nowhere/models"), "depth_anything_v2_small.onnx").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`depth_anything_v2_small.onnx`"), "{msg}");
        assert!(msg.contains("/nowhere/models"), "{msg}");
        assert!(msg.contains("cargo xtask models --dest /nowhere/models"), "{msg}");
    }
}
