//! Compiled kernels cached in the user's cache folder, keyed by kernel source hash, compute
//! capability and NVRTC version: the first render on a GPU compiles each family once (under a
//! second), later sessions load the PTX.

use std::path::PathBuf;

use crate::exec::GpuError;
use crate::kernels::{source_hash, Family};

/// The user's cache (`kind` "cache") or data ("data") folder: XDG on Unix, LOCALAPPDATA on Windows.
pub fn user_folder(kind: &str) -> Option<PathBuf> {
    if cfg!(windows) {
        return std::env::var_os("LOCALAPPDATA").map(PathBuf::from);
    }
    let (var, fallback) = if kind == "data" { ("XDG_DATA_HOME", ".local/share") } else { ("XDG_CACHE_HOME", ".cache") };
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

/// Where PTX files go: `DEEPMATTE_KERNEL_CACHE`, else `<user cache>/DeepMatte/kernels`.
pub fn folder() -> Option<PathBuf> {
    std::env::var_os("DEEPMATTE_KERNEL_CACHE").map(PathBuf::from).or_else(|| user_folder("cache").map(|c| c.join("DeepMatte").join("kernels")))
}

/// The cache file name of `family` for `cc` and NVRTC `version`.
pub fn key(family: Family, cc: (u32, u32), version: (i32, i32)) -> String {
    let stem = family.file().trim_end_matches(".cu");
    format!("{stem}-{}-sm{}{}-nvrtc{}.{}.ptx", &source_hash()[..16], cc.0, cc.1, version.0, version.1)
}

/// The PTX of `family` for `cc`: from the cache, else compiled and stored (a cache that cannot be
/// written only costs a compile next time).
pub fn ptx(family: Family, cc: (u32, u32), version: (i32, i32)) -> Result<String, GpuError> {
    let path = folder().map(|f| f.join(key(family, cc, version)));
    if let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        if text.contains(".entry") {
            return Ok(text);
        }
    }
    let ptx = crate::nvrtc::compile(family, cc)?;
    if let Some(path) = path {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let stored = path.parent().map(std::fs::create_dir_all).transpose().and_then(|_| std::fs::write(&tmp, &ptx)).and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = stored {
            log::warn!("cannot cache compiled kernels in {}: {e}", path.display());
        }
    }
    Ok(ptx)
}
