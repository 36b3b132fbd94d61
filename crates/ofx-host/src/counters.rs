//! Counters a plugin exports beside its OFX entry points, for tests and benchmarks that must
//! prove what did not happen (a cached render that ran no model).

use std::path::Path;

use crate::bundle::binary_path;
use crate::HostError;

/// Reads `extern "C" fn() -> u64` `symbol` of the bundle's binary (DeepMatte exports
/// `DeepMatteModelRuns`). `dlopen` hands back the copy a [`crate::Bundle`] already loaded, so
/// the value is that plugin's own.
pub fn plugin_counter(bundle_dir: &Path, symbol: &str) -> Result<u64, HostError> {
    let binary = binary_path(bundle_dir)?;
    // SAFETY: loading the plugin binary again only bumps the loader's reference count.
    let library = unsafe { libloading::Library::new(&binary) }
        .map_err(|e| HostError::Library { path: binary.clone(), reason: e.to_string() })?;
    let missing = || HostError::MissingSymbol { path: binary.clone(), symbol: symbol.to_string() };
    let name = format!("{symbol}\0");
    // SAFETY: the symbol is declared by the plugin as `extern "C" fn() -> u64`.
    let counter = unsafe { library.get::<unsafe extern "C" fn() -> u64>(name.as_bytes()) }.map_err(|_| missing())?;
    // SAFETY: as above; it takes nothing and reads an atomic.
    Ok(unsafe { counter() })
}

/// Arms an injected panic in the bundle's binary through its `DeepMatteInjectPanic` export (the
/// plugin's `ofx::fault`): the next call of entry point `point` (`OfxGetPlugin`,
/// `mainEntry:OfxImageEffectActionRender`, ...) panics inside the plugin. False when the plugin
/// knows no such point.
pub fn inject_panic(bundle_dir: &Path, point: &str) -> Result<bool, HostError> {
    let binary = binary_path(bundle_dir)?;
    // SAFETY: as in plugin_counter, the loader hands back the copy already loaded.
    let library = unsafe { libloading::Library::new(&binary) }
        .map_err(|e| HostError::Library { path: binary.clone(), reason: e.to_string() })?;
    let missing = || HostError::MissingSymbol { path: binary.clone(), symbol: "DeepMatteInjectPanic".to_string() };
    // SAFETY: the plugin declares it as `extern "C" fn(const char*) -> int`.
    let arm = unsafe { library.get::<unsafe extern "C" fn(*const std::os::raw::c_char) -> std::os::raw::c_int>(b"DeepMatteInjectPanic\0") }
        .map_err(|_| missing())?;
    let name = std::ffi::CString::new(point).map_err(|_| HostError::Unsupported(format!("injection point {point:?} holds a NUL")))?;
    // SAFETY: a NUL-terminated string that outlives the call.
    Ok(unsafe { arm(name.as_ptr()) } == 1)
}
