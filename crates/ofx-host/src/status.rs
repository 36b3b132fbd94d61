//! OFX status codes. Only `kOfxStatOK` comes through bindgen (the others are
//! `#define`s of casts), so the host spells them out here, with their names for
//! error messages.

/// An `OfxStatus` as the C ABI passes it.
pub type OfxStatus = i32;

/// Success.
pub const OK: OfxStatus = 0;
/// The action or call failed.
pub const FAILED: OfxStatus = 1;
/// A fatal error: the host should unload the plugin.
pub const ERR_FATAL: OfxStatus = 2;
/// Unknown property, suite, or object.
pub const ERR_UNKNOWN: OfxStatus = 3;
/// The plugin needs a host feature that is missing.
pub const ERR_MISSING_HOST_FEATURE: OfxStatus = 4;
/// Unsupported operation.
pub const ERR_UNSUPPORTED: OfxStatus = 5;
/// The object already exists (e.g. a parameter defined twice).
pub const ERR_EXISTS: OfxStatus = 6;
/// Bad format.
pub const ERR_FORMAT: OfxStatus = 7;
/// Out of memory.
pub const ERR_MEMORY: OfxStatus = 8;
/// NULL or stale handle.
pub const ERR_BAD_HANDLE: OfxStatus = 9;
/// Index out of range.
pub const ERR_BAD_INDEX: OfxStatus = 10;
/// Wrong value or wrong value type.
pub const ERR_VALUE: OfxStatus = 11;
/// "Yes" to a question.
pub const REPLY_YES: OfxStatus = 12;
/// "No" to a question; also what progressUpdate returns after the user cancelled.
pub const REPLY_NO: OfxStatus = 13;
/// The plugin did not handle the action: the host does its default.
pub const REPLY_DEFAULT: OfxStatus = 14;
/// Unsupported image format.
pub const ERR_IMAGE_FORMAT: OfxStatus = 1000;

/// The `kOfxStat*` name of a status, so errors read like the spec.
pub fn status_name(status: OfxStatus) -> &'static str {
    match status {
        OK => "kOfxStatOK",
        FAILED => "kOfxStatFailed",
        ERR_FATAL => "kOfxStatErrFatal",
        ERR_UNKNOWN => "kOfxStatErrUnknown",
        ERR_MISSING_HOST_FEATURE => "kOfxStatErrMissingHostFeature",
        ERR_UNSUPPORTED => "kOfxStatErrUnsupported",
        ERR_EXISTS => "kOfxStatErrExists",
        ERR_FORMAT => "kOfxStatErrFormat",
        ERR_MEMORY => "kOfxStatErrMemory",
        ERR_BAD_HANDLE => "kOfxStatErrBadHandle",
        ERR_BAD_INDEX => "kOfxStatErrBadIndex",
        ERR_VALUE => "kOfxStatErrValue",
        REPLY_YES => "kOfxStatReplyYes",
        REPLY_NO => "kOfxStatReplyNo",
        REPLY_DEFAULT => "kOfxStatReplyDefault",
        ERR_IMAGE_FORMAT => "kOfxStatErrImageFormat",
        _ => "unknown OfxStatus",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_spec_values() {
        assert_eq!(status_name(REPLY_NO), "kOfxStatReplyNo");
        assert_eq!(status_name(ERR_IMAGE_FORMAT), "kOfxStatErrImageFormat");
        assert_eq!(status_name(OK), "kOfxStatOK");
        assert_eq!(OK as u32, openfx_sys::kOfxStatOK);
    }
}
