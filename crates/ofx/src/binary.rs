//! Where the plugin binary lives, so effects find what ships beside it in the bundle (the ONNX
//! Runtime library, default models) wherever the host loaded it from — never relative to the
//! host executable or the working directory.

use std::path::PathBuf;

/// The absolute path of the loaded plugin binary (`…/Contents/Linux-x86-64/DeepMatte.ofx`, or
/// `Win64\DeepMatte.ofx`).
pub fn plugin_binary_path() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::ffi::CStr;
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
    #[cfg(windows)]
    {
        windows::module_of(plugin_binary_path as *const ())
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

/// Windows has no `dladdr`: the module that contains an address is asked of kernel32 instead.
#[cfg(windows)]
mod windows {
    use std::ffi::{c_void, OsString};
    use std::os::windows::ffi::OsStringExt;
    use std::path::PathBuf;

    const GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS: u32 = 0x4;
    const GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT: u32 = 0x2;

    #[link(name = "kernel32")]
    extern "system" {
        fn GetModuleHandleExW(flags: u32, address: *const u16, module: *mut *mut c_void) -> i32;
        fn GetModuleFileNameW(module: *mut c_void, name: *mut u16, size: u32) -> u32;
    }

    /// The file of the module (DLL) that holds `address`.
    pub(super) fn module_of(address: *const ()) -> Option<PathBuf> {
        let mut module = std::ptr::null_mut();
        // SAFETY: with FROM_ADDRESS the second argument is read as an address inside a module, not
        // as a string; UNCHANGED_REFCOUNT means no handle has to be released afterwards.
        let found = unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                address.cast(),
                &mut module,
            )
        } != 0;
        if !found {
            return None;
        }
        // Long paths can exceed MAX_PATH: grow the buffer while the name is cut short.
        let mut buffer = vec![0u16; 512];
        loop {
            // SAFETY: the buffer holds `len` u16s and the call writes at most that many.
            let len = buffer.len() as u32;
            let written = unsafe { GetModuleFileNameW(module, buffer.as_mut_ptr(), len) };
            if written == 0 {
                return None;
            }
            if written < len {
                buffer.truncate(written as usize);
                return Some(PathBuf::from(OsString::from_wide(&buffer)));
            }
            if buffer.len() >= 32_768 {
                return None;
            }
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}

/// The bundle's `Contents/Resources` folder (default models live in `Resources/models`).
pub fn bundle_resources() -> Option<PathBuf> {
    let binary = plugin_binary_path()?;
    Some(binary.parent()?.parent()?.join("Resources"))
}
