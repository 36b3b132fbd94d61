//! A headless OpenFX host. It loads a built `*.ofx.bundle` as a binary (never linking the
//! plugin's code) and drives it the way Resolve, Nuke, Natron or MLT do — every action,
//! parameter animation, interacts, progress and abort — so that tests, benchmarks and the
//! `deepmatte` CLI exercise exactly what users install.
//!
//! ```no_run
//! use ofx_host::*;
//! let bundle = Bundle::load("target/bundle/DeepMatte.ofx.bundle".as_ref(), HostProfile::Resolve)?;
//! let mut fx = bundle.create_instance("luma-matte-extract", Context::Filter)?;
//! fx.set_input("Source", ClipSource::Still(Image::load("in.png".as_ref())?));
//! fx.set_param_text("gamma", "1.2")?;
//! fx.render(0.0, &RenderOptions::default())?.save("out.png".as_ref())?;
//! # Ok::<(), HostError>(())
//! ```
//!
//! One process holds one copy of a plugin binary: `dlopen` reference-counts it, so several
//! [`Bundle`]s of the same path share the plugin's globals, and the plugin keeps the host
//! of the most recent `setHost` (as with any OFX host, one host per process). The suites
//! themselves are the same for every profile and find the profile through the handles they
//! are given — reads of the host property set answer for the profile of the action in
//! progress — so bundles of different profiles can run side by side.

#![warn(missing_docs)]

mod actions;
mod bundle;
mod clips;
mod counters;
mod cuda;
mod image;
mod instance;
mod io;
mod journal;
mod objects;
mod overlay;
mod params;
#[cfg(test)]
mod pipeline_tests;
mod profile;
mod properties;
mod registry;
mod render;
mod status;
mod suites;

pub use counters::{inject_panic, plugin_counter};
pub use bundle::{Bundle, ClipInfo, Context, EffectDescription, PluginInfo};
pub use image::{BitDepth, Components, Image, Rect};
pub use instance::{ClipSource, Instance};
pub use journal::{HostMessage, MessageKind, ProgressEvent};
pub use overlay::{DrawCommand, Modifiers, Overlay};
pub use params::{ParamInfo, ParamKind, ParamValue};
pub use profile::HostProfile;
pub use render::RenderOptions;
pub use status::{status_name, OfxStatus};

use std::path::PathBuf;

/// Everything that can go wrong between the host and a plugin, worded for the person
/// reading a failed test or a CLI error.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The bundle has no binary for this platform.
    #[error("bundle binary not found: {path} (build the bundle first, e.g. `cargo xtask bundle`)")]
    MissingBinary {
        /// Where the binary was expected.
        path: PathBuf,
    },
    /// `dlopen` failed.
    #[error("cannot load plugin binary {path}: {reason}")]
    Library {
        /// The binary.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// A mandatory entry point is not exported.
    #[error("plugin binary {path} does not export {symbol}")]
    MissingSymbol {
        /// The binary.
        path: PathBuf,
        /// The missing symbol.
        symbol: String,
    },
    /// No plugin with that id or short name.
    #[error("unknown plugin {id:?}; available: {}", available.join(", "))]
    UnknownPlugin {
        /// What was asked for.
        id: String,
        /// `id (short-name)` of every plugin in the bundle.
        available: Vec<String>,
    },
    /// The plugin or the host profile does not support a context.
    #[error("{plugin} cannot be used in the {context} context here; supported: {}", supported.join(", "))]
    UnsupportedContext {
        /// Plugin id.
        plugin: String,
        /// The context asked for.
        context: String,
        /// Contexts both the plugin and the host support.
        supported: Vec<String>,
    },
    /// No parameter of that name.
    #[error("unknown parameter {name:?}; parameters: {}", available.join(", "))]
    UnknownParam {
        /// What was asked for.
        name: String,
        /// Every parameter name.
        available: Vec<String>,
    },
    /// No clip of that name.
    #[error("unknown clip {name:?}; clips: {}", available.join(", "))]
    UnknownClip {
        /// What was asked for.
        name: String,
        /// Every clip name.
        available: Vec<String>,
    },
    /// A value of the wrong type for a parameter.
    #[error("parameter '{param}' is a {expected:?} parameter; got {got}")]
    WrongType {
        /// Parameter name.
        param: String,
        /// Its kind.
        expected: ParamKind,
        /// The value given.
        got: String,
    },
    /// A value outside the parameter's `[min, max]`.
    #[error("value {value} for '{param}' is outside its range [{min}, {max}]")]
    OutOfRange {
        /// Parameter name.
        param: String,
        /// The value given.
        value: String,
        /// Lower bound(s).
        min: String,
        /// Upper bound(s).
        max: String,
    },
    /// Text that does not parse for a parameter.
    #[error("cannot read {text:?} as a value for '{param}': expected {expected}")]
    BadText {
        /// Parameter name.
        param: String,
        /// The text given.
        text: String,
        /// What would have parsed.
        expected: String,
    },
    /// A non-render action failed.
    #[error("{action} failed with {}{}", status_name(*status), format_messages(messages))]
    Action {
        /// The action name.
        action: String,
        /// What the plugin returned.
        status: OfxStatus,
        /// What the plugin said meanwhile.
        messages: Vec<HostMessage>,
    },
    /// The render action (or the pipeline around it) failed.
    #[error("render failed with {}{}", status_name(*status), format_messages(messages))]
    Render {
        /// What the plugin returned.
        status: OfxStatus,
        /// What the plugin said meanwhile.
        messages: Vec<HostMessage>,
    },
    /// The simulated user cancelled a sequence render before this frame.
    #[error("cancelled by the user before frame {frame}")]
    Cancelled {
        /// The first frame not rendered.
        frame: i32,
    },
    /// The host profile cannot do this (e.g. push buttons under MLT).
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing an image file failed.
    #[error("image file {path}: {reason}")]
    ImageIo {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn format_messages(messages: &[HostMessage]) -> String {
    if messages.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = messages.iter().map(|m| format!("[{:?}] {}", m.kind, m.text)).collect();
    format!("; the plugin said: {}", lines.join(" | "))
}

/// A bindgen string constant (`b"...\0"`) as `&str`, usable in `const` items.
pub(crate) const fn ofx_str(bytes: &'static [u8]) -> &'static str {
    match bytes.split_last() {
        Some((0, rest)) => match std::str::from_utf8(rest) {
            Ok(s) => s,
            Err(_) => panic!("OFX constant is not UTF-8"),
        },
        _ => panic!("OFX constant is not NUL-terminated"),
    }
}
