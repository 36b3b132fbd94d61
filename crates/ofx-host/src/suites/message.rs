//! OfxMessageSuiteV1/V2. The variadic entry points are C (csrc/param_varargs.c): they
//! format the text and call [`ofxh_message_text`]. Messages are recorded in the journal
//! of the effect they name, or of the effect whose action is running on this thread.

use super::c_str;
use crate::actions;
use crate::journal::{HostMessage, Journal, MessageKind};
use crate::objects::Effect;
use crate::overlay::Interact;
use crate::profile::HostProfile;
use crate::registry::lookup;
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

extern "C" {
    fn ofxh_message(h: *mut c_void, kind: *const c_char, id: *const c_char, format: *const c_char, ...) -> OfxStatus;
    fn ofxh_setPersistentMessage(
        h: *mut c_void,
        kind: *const c_char,
        id: *const c_char,
        format: *const c_char,
        ...
    ) -> OfxStatus;
}

/// The journal a message handle (an effect, an interact, or NULL) belongs to.
fn journal_for(h: *mut c_void) -> Option<Arc<Journal>> {
    if let Some(effect) = lookup::<Effect>(h) {
        return Some(effect.journal.clone());
    }
    if let Some(effect) = lookup::<Interact>(h).and_then(|i| i.effect.upgrade()) {
        return Some(effect.journal.clone());
    }
    actions::current().map(|f| f.journal)
}

/// The profile of the effect a message handle belongs to.
fn profile_for(h: *mut c_void) -> Option<HostProfile> {
    let effect = lookup::<Effect>(h)
        .or_else(|| lookup::<Interact>(h).and_then(|i| i.effect.upgrade()))
        .or_else(|| actions::current().and_then(|f| f.effect))?;
    Some(effect.plugin.profile)
}

/// Called by the C shim with the formatted text.
#[no_mangle]
unsafe extern "C" fn ofxh_message_text(
    h: *mut c_void,
    kind: *const c_char,
    id: *const c_char,
    text: *const c_char,
    persistent: i32,
) -> OfxStatus {
    // SAFETY: C strings from the plugin (type, id) and from the shim (text), or NULL.
    let (kind, id, text) = unsafe { (c_str(kind).unwrap_or(""), c_str(id).unwrap_or(""), c_str(text).unwrap_or("")) };
    let kind = MessageKind::from_ofx_name(kind);
    let message = HostMessage { kind, id: id.to_string(), text: text.to_string(), persistent: persistent != 0 };
    if message.persistent && !profile_for(h).is_none_or(|p| p.shows_persistent_messages()) {
        // Set, but shown nowhere (NatronRenderer): the user never sees it.
        return status::OK;
    }
    match journal_for(h) {
        Some(journal) => journal.message(message),
        None => log::warn!("plugin message outside any action: [{kind:?}] {text}"),
    }
    if kind == MessageKind::Question {
        status::REPLY_YES
    } else {
        status::OK
    }
}

unsafe extern "C" fn clear_persistent(h: *mut c_void) -> OfxStatus {
    match journal_for(h) {
        Some(journal) => {
            journal.clear_persistent();
            status::OK
        }
        None => status::ERR_BAD_HANDLE,
    }
}

/// Message suite V1.
pub(crate) static SUITE_V1: sys::OfxMessageSuiteV1 = sys::OfxMessageSuiteV1 { message: Some(ofxh_message) };

/// Message suite V2 (adds persistent messages).
pub(crate) static SUITE_V2: sys::OfxMessageSuiteV2 = sys::OfxMessageSuiteV2 {
    message: Some(ofxh_message),
    setPersistentMessage: Some(ofxh_setPersistentMessage),
    clearPersistentMessage: Some(clear_persistent),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_formatting_reaches_the_journal_of_the_running_action() {
        let journal = Arc::new(Journal::default());
        let frame = actions::Frame { journal: journal.clone(), effect: None, render: None };
        let st = actions::with_frame(frame, || {
            // SAFETY: a printf-style call exactly as a C plugin makes it.
            unsafe {
                ofxh_message(
                    std::ptr::null_mut(),
                    c"OfxMessageError".as_ptr(),
                    c"id1".as_ptr(),
                    c"%s needs %d.%02d".as_ptr(),
                    c"model".as_ptr(),
                    3i32,
                    7i32,
                )
            }
        });
        assert_eq!(st, status::OK);
        // SAFETY: as above; a question is answered yes.
        let st =
            actions::with_frame(actions::Frame { journal: journal.clone(), effect: None, render: None }, || unsafe {
                ofxh_setPersistentMessage(
                    std::ptr::null_mut(),
                    c"OfxMessageQuestion".as_ptr(),
                    std::ptr::null(),
                    c"sure? %f".as_ptr(),
                    0.5f64,
                )
            });
        assert_eq!(st, status::REPLY_YES);
        let m = journal.messages();
        assert_eq!(m[0].text, "model needs 3.07");
        assert_eq!((m[0].kind, m[0].id.as_str(), m[0].persistent), (MessageKind::Error, "id1", false));
        assert_eq!(m[1].text, "sure? 0.500000");
        assert!(journal.persistent().is_some());
    }
}
