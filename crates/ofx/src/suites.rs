//! The host's suites, fetched once per `setHost` and shared by every call.
//!
//! A host may call `setHost` again (MLT reloads the plugin for every frame), so the table is
//! replaced rather than initialised once. Suites are plain tables of function pointers that stay
//! valid for the life of the plugin binary, which makes copies of them safe to share.

use crate::{Error, Result, Status};
use openfx_sys as sys;
use std::os::raw::c_char;
use std::sync::{Arc, RwLock};

/// Every suite the plugin uses. Optional ones are `None` when the host lacks them.
pub(crate) struct Suites {
    pub host_props: sys::OfxPropertySetHandle,
    pub prop: sys::OfxPropertySuiteV1,
    pub effect: sys::OfxImageEffectSuiteV1,
    pub param: sys::OfxParameterSuiteV1,
    pub message: Option<sys::OfxMessageSuiteV1>,
    pub message_v2: Option<sys::OfxMessageSuiteV2>,
    pub progress: Option<sys::OfxProgressSuiteV1>,
    pub progress_v2: Option<sys::OfxProgressSuiteV2>,
    pub interact: Option<sys::OfxInteractSuiteV1>,
    pub draw: Option<sys::OfxDrawSuiteV1>,
}

// SAFETY: the suites are tables of C function pointers and an opaque host handle; OFX requires
// hosts to allow calls on them from any render thread.
unsafe impl Send for Suites {}
unsafe impl Sync for Suites {}

static SUITES: RwLock<Option<Arc<Suites>>> = RwLock::new(None);

/// Fetches one suite by name and version, copying its table (NULL = not offered).
unsafe fn fetch<T: Copy>(host: &sys::OfxHost, name: &[u8], version: i32) -> Option<T> {
    let fetch = host.fetchSuite?;
    let ptr = fetch(host.host, name.as_ptr() as *const c_char, version) as *const T;
    if ptr.is_null() {
        None
    } else {
        Some(*ptr)
    }
}

/// Called from the plugin's `setHost`: fetch and keep the suites. A host without the three
/// mandatory suites leaves the table empty, and every later action fails with a clear message.
pub(crate) fn set_host(host: *mut sys::OfxHost) {
    let suites = if host.is_null() {
        None
    } else {
        // SAFETY: the host passes a valid OfxHost that outlives the plugin.
        unsafe {
            let h = &*host;
            match (
                fetch(h, sys::kOfxPropertySuite, 1),
                fetch(h, sys::kOfxImageEffectSuite, 1),
                fetch(h, sys::kOfxParameterSuite, 1),
            ) {
                (Some(prop), Some(effect), Some(param)) => Some(Arc::new(Suites {
                    host_props: h.host,
                    prop,
                    effect,
                    param,
                    message: fetch(h, sys::kOfxMessageSuite, 1),
                    message_v2: fetch(h, sys::kOfxMessageSuite, 2),
                    progress: fetch(h, sys::kOfxProgressSuite, 1),
                    progress_v2: fetch(h, sys::kOfxProgressSuite, 2),
                    interact: fetch(h, sys::kOfxInteractSuite, 1),
                    draw: fetch(h, sys::kOfxDrawSuite, 1),
                })),
                _ => {
                    log::error!("host lacks the property, image effect or parameter suite");
                    None
                }
            }
        }
    };
    *SUITES.write().unwrap_or_else(|e| e.into_inner()) = suites;
}

/// The current host's suites.
pub(crate) fn suites() -> Result<Arc<Suites>> {
    SUITES
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| Error::new(Status::ERR_MISSING_HOST_FEATURE, "the host gave no OFX suites"))
}

/// Unwraps a suite function pointer; a host that leaves one NULL gets an error, not a crash.
macro_rules! call {
    ($suite:expr, $f:ident) => {
        $suite.$f.ok_or_else(|| {
            $crate::Error::new(
                $crate::Status::ERR_MISSING_HOST_FEATURE,
                concat!("the host does not implement ", stringify!($f)),
            )
        })?
    };
}
pub(crate) use call;
