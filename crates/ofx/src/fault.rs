//! Injected panics, for the test that proves no panic escapes an exported symbol
//! (`tests/panics.rs`): every `extern "C"` function the binary exports calls [`point`] inside its
//! catch, and a test arms one of them through the `DeepMatteInjectPanic` export.
//!
//! Why this ships and is no crash switch: nothing a user or a project controls reaches it — no
//! environment variable, control, file or host property. Only code already running inside the host
//! process can call the export (by looking the symbol up), and such code can end the process
//! anyway, so the export adds no way to crash a host. An armed point panics once, and that panic is
//! caught like any other: the host gets an error status, never an unwind. The test therefore runs on
//! the very binary users get, not on a special build.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Where a panic can be injected: the exported functions by name, `mainEntry:` / `overlayEntry:`
/// followed by an OFX action name (`mainEntry:OfxImageEffectActionRender`), and `report`, the
/// logging and host message that follow a failed action.
const POINTS: [&str; 7] =
    ["OfxGetNumberOfPlugins", "OfxGetPlugin", "setHost", "report", "DeepMatteModelRuns", "DeepMatteFlowRuns", "DeepMatteCudaFrameCopies"];
const ACTION_PREFIXES: [&str; 2] = ["mainEntry:", "overlayEntry:"];

/// Whether anything is armed: the check every entry point makes costs one relaxed load.
static ANY: AtomicBool = AtomicBool::new(false);
static ARMED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The body of the `DeepMatteInjectPanic` export ([`crate::export_plugins!`] makes it): arms the
/// point named by the C string `name` (see [`POINTS`]), whose next call panics once. Returns 1 when
/// armed, 0 for NULL, non-UTF-8 or a name that is no injection point. A function pointer, like
/// every entry point the host calls, so the raw pointer is read only in this crate.
pub const ARM: extern "C" fn(*const c_char) -> c_int = arm;

extern "C" fn arm(name: *const c_char) -> c_int {
    crate::catch_panic(0, || arm_named(name))
}

fn arm_named(name: *const c_char) -> c_int {
    if name.is_null() {
        return 0;
    }
    // SAFETY: the caller passes a NUL-terminated string (the export's contract), read here only.
    let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else { return 0 };
    let known = POINTS.contains(&name) || ACTION_PREFIXES.iter().any(|p| name.len() > p.len() && name.starts_with(p));
    if !known {
        return 0;
    }
    ARMED.lock().unwrap_or_else(|p| p.into_inner()).push(name.to_owned());
    ANY.store(true, Ordering::SeqCst);
    1
}

/// Panics when `name` is armed (and disarms it): called first thing inside each entry point's
/// catch.
pub fn point(name: &str) {
    if !ANY.load(Ordering::Relaxed) {
        return;
    }
    let hit = {
        let mut armed = ARMED.lock().unwrap_or_else(|p| p.into_inner());
        let hit = armed.iter().position(|a| a == name).map(|i| armed.remove(i)).is_some();
        ANY.store(!armed.is_empty(), Ordering::SeqCst);
        hit
    };
    if hit {
        panic!("injected panic in {name}");
    }
}

/// [`point`] for an OFX action (`prefix` is `mainEntry:` or `overlayEntry:`).
pub fn action_point(prefix: &str, action: &[u8]) {
    if !ANY.load(Ordering::Relaxed) {
        return;
    }
    let action = action.strip_suffix(&[0]).unwrap_or(action);
    point(&format!("{prefix}{}", String::from_utf8_lossy(action)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_point_panics_once_and_unknown_names_are_refused() {
        assert_eq!(arm_named(c"no such point".as_ptr()), 0);
        assert_eq!(arm_named(c"mainEntry:".as_ptr()), 0);
        assert_eq!(arm_named(std::ptr::null()), 0);
        assert_eq!(arm_named(c"mainEntry:OfxActionLoad".as_ptr()), 1);
        let silence = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let first = std::panic::catch_unwind(|| action_point("mainEntry:", b"OfxActionLoad\0"));
        std::panic::set_hook(silence);
        assert!(first.is_err(), "the armed point panics");
        action_point("mainEntry:", b"OfxActionLoad\0"); // and only once
    }
}
