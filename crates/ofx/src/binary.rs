//! Where the plugin binary lives, so effects find what ships beside it in the bundle (the ONNX
//! Runtime library, default models) wherever the host loaded it from — never relative to the
//! host executable or the working directory.

use std::ffi::CStr;
use std::path::PathBuf;

/// The absolute path of the loaded plugin binary (`…/Contents/Linux-x86-64/DeepMatte.ofx`).
pub fn plugin_binary_path() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        let anchor = plugin_binary_path as *const libc::c_void;
        // SAFETY: dladdr only reads the address and fills `info`; the returned file name is a
        // NUL-terminated string owned by the dynamic loader.
        let found = unsafe { libc::dladdr(anchor, &mut info) } != 0;
        if !found || info.dli_fname.is_null() {
            return None;
        }
        // SAFETY: checked non-NULL above.
        let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned();
        std::fs::canonicalize(name).ok()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The bundle's `Contents/Resources` folder (default models live in `Resources/models`).
pub fn bundle_resources() -> Option<PathBuf> {
    let binary = plugin_binary_path()?;
    Some(binary.parent()?.parent()?.join("Resources"))
}
