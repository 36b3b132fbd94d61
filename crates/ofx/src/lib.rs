//! The plugin side of OpenFX, made safe.
//!
//! Effects implement [`Effect`]: they describe their clips and controls with [`Describe`], and
//! render through an [`Instance`] that hands out typed parameters, clips and image views. This
//! crate owns every raw pointer and every `unsafe` block of the plugin: effect code above it is
//! safe Rust. No panic crosses the C ABI: [`export_plugins!`] entry points catch unwinds and turn
//! errors into `kOfxStat*` codes plus a message in the host and a line in the log.

mod binary;
mod clip;
mod cuda;
mod describe;
mod effect;
mod entry;
#[doc(hidden)]
pub mod fault;
mod host;
mod image;
mod instance;
mod logfile;
mod overlay;
mod param;
mod property;
mod status;
mod suites;

pub use binary::{bundle_resources, plugin_binary_path};
pub use clip::Clip;
pub use cuda::{gpu_error, status_line as cuda_status_line, support as cuda_support, CudaRender};
pub use describe::{ClipDef, Describe};
pub use effect::{
    BitDepth, ChangeReason, ClipPreferences, Context, Effect, EffectInfo, FramesNeeded, RenderArgs,
    ThreadSafety,
};
pub use entry::{plugin_entry, set_build_info, PluginList};
pub use host::Host;
pub use image::Image;
pub use logfile::cache_dir;
pub use instance::{Instance, MessageKind, Progress};
pub use overlay::{KEY_BACKSPACE, KEY_DELETE, Modifiers, Overlay, OverlayEvent, OverlayEventKind, Shape};
pub use param::{Choice, ChoiceOption, Control, ParamDef, Params};
pub use status::{Error, Result, Status};

/// Runs `f` for a C entry point: a panic (never expected) returns `fallback` instead of unwinding
/// into the host, which would abort it. Every `extern "C"` function the plugin exports uses it.
pub fn catch_panic<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(panic) => {
            // Dropping a payload can itself panic: leak it instead.
            std::mem::forget(panic);
            fallback
        }
    }
}

/// The raw plugin struct the host receives; re-exported for [`export_plugins!`].
#[doc(hidden)]
pub use openfx_sys::OfxPlugin;

/// Exports `OfxGetNumberOfPlugins` and `OfxGetPlugin` for the listed effect types, in order.
///
/// ```text
/// ofx::export_plugins!(LumaMatteExtract, DepthMap);
/// ```
///
/// `build = TEXT;` first names the build (version, commit, kernel hash) for the Load log line.
#[macro_export]
macro_rules! export_plugins {
    (build = $build:expr; $($effect:ty),+ $(,)?) => {
        $crate::export_plugins!(@with $build; $($effect),+);
    };
    ($($effect:ty),+ $(,)?) => {
        $crate::export_plugins!(@with ""; $($effect),+);
    };
    (@with $build:expr; $($effect:ty),+) => {
        static PLUGINS: ::std::sync::OnceLock<$crate::PluginList> = ::std::sync::OnceLock::new();

        fn plugins() -> &'static $crate::PluginList {
            PLUGINS.get_or_init(|| {
                $crate::set_build_info($build);
                $crate::PluginList::new(vec![$($crate::plugin_entry::<$effect>()),+])
            })
        }

        /// OFX entry point: how many plugins this binary holds (0 if building the table failed).
        #[no_mangle]
        pub extern "C" fn OfxGetNumberOfPlugins() -> ::std::os::raw::c_int {
            $crate::catch_panic(0, || {
                $crate::fault::point("OfxGetNumberOfPlugins");
                plugins().count()
            })
        }

        /// OFX entry point: the n-th plugin (NULL when out of range).
        #[no_mangle]
        pub extern "C" fn OfxGetPlugin(nth: ::std::os::raw::c_int) -> *mut $crate::OfxPlugin {
            $crate::catch_panic(::std::ptr::null_mut(), || {
                $crate::fault::point("OfxGetPlugin");
                plugins().get(nth)
            })
        }

        /// For the test that proves no panic escapes these exports (`tests/panics.rs`): arms one
        /// injection point by name, returning 1, or 0 for a name that is none (see `ofx::fault`,
        /// which says why this is no crash switch: only code inside the process can call it).
        #[no_mangle]
        pub extern "C" fn DeepMatteInjectPanic(point: *const ::std::os::raw::c_char) -> ::std::os::raw::c_int {
            ($crate::fault::ARM)(point)
        }
    };
}
