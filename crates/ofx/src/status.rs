//! OFX status codes and the error type every fallible call returns.

use std::fmt;

/// An `OfxStatus`. bindgen drops the `kOfxStat*` defines (they are casts), so they live here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    pub const OK: Status = Status(0);
    pub const FAILED: Status = Status(1);
    pub const ERR_FATAL: Status = Status(2);
    pub const ERR_UNKNOWN: Status = Status(3);
    pub const ERR_MISSING_HOST_FEATURE: Status = Status(4);
    pub const ERR_UNSUPPORTED: Status = Status(5);
    pub const ERR_EXISTS: Status = Status(6);
    pub const ERR_FORMAT: Status = Status(7);
    pub const ERR_MEMORY: Status = Status(8);
    pub const ERR_BAD_HANDLE: Status = Status(9);
    pub const ERR_BAD_INDEX: Status = Status(10);
    pub const ERR_VALUE: Status = Status(11);
    pub const REPLY_YES: Status = Status(12);
    pub const REPLY_NO: Status = Status(13);
    pub const REPLY_DEFAULT: Status = Status(14);
    pub const ERR_IMAGE_FORMAT: Status = Status(1000);
    /// OFX 1.5: the host may free GPU memory and retry.
    pub const GPU_OUT_OF_MEMORY: Status = Status(1001);
    /// OFX 1.5: the host should retry the render on the CPU.
    pub const GPU_RENDER_FAILED: Status = Status(1002);

    /// The `kOfxStat*` name, for log lines and messages.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "kOfxStatOK",
            1 => "kOfxStatFailed",
            2 => "kOfxStatErrFatal",
            3 => "kOfxStatErrUnknown",
            4 => "kOfxStatErrMissingHostFeature",
            5 => "kOfxStatErrUnsupported",
            6 => "kOfxStatErrExists",
            7 => "kOfxStatErrFormat",
            8 => "kOfxStatErrMemory",
            9 => "kOfxStatErrBadHandle",
            10 => "kOfxStatErrBadIndex",
            11 => "kOfxStatErrValue",
            12 => "kOfxStatReplyYes",
            13 => "kOfxStatReplyNo",
            14 => "kOfxStatReplyDefault",
            1000 => "kOfxStatErrImageFormat",
            1001 => "kOfxStatGPUOutOfMemory",
            1002 => "kOfxStatGPURenderFailed",
            _ => "unknown status",
        }
    }
}

/// A failure with the status to return to the host and a message a user can act on.
#[derive(Clone, Debug)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    /// A render or action failure (`kOfxStatFailed`) with a user-facing message.
    pub fn failed(message: impl Into<String>) -> Self {
        Error { status: Status::FAILED, message: message.into() }
    }

    /// A failure with a specific status.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Error { status, message: message.into() }
    }

    /// A host call that returned something other than `kOfxStatOK`.
    pub(crate) fn host(call: &str, what: &str, status: i32) -> Self {
        let status = Status(status);
        Error { status, message: format!("{call}({what}) returned {}", status.name()) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.status.name())
    }
}

impl std::error::Error for Error {}

/// The result of every fallible call in the OFX layer and in effects.
pub type Result<T> = std::result::Result<T, Error>;
