//! Why tracking stopped, phrased for the effect's message box.

use inference::InferenceError;

/// Everything that can stop [`crate::Tracker`] (the mask store has its own [`crate::StoreError`]).
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// A model could not be opened or run (missing file, contract mismatch, runtime absent, ...).
    #[error(transparent)]
    Inference(#[from] InferenceError),
    /// Tracking was asked for with no prompt on any frame: SAM 2 needs at least one to know the object.
    #[error("nothing to track: add a positive point or a box on at least one frame first")]
    NoPrompts,
    /// No prompted frame lies where tracking in this direction could start.
    #[error("no prompted frame in frames {first}..={last} to start tracking {direction} from")]
    NoStartFrame {
        /// The range's first frame.
        first: i32,
        /// The range's last frame.
        last: i32,
        /// "forward" or "backward".
        direction: &'static str,
    },
    /// The host could not supply a frame.
    #[error("frame {frame} could not be fetched: {detail}")]
    FrameUnavailable {
        /// The frame number.
        frame: i32,
        /// What went wrong.
        detail: String,
    },
    /// A frame's pixel buffer does not match its stated size.
    #[error("frame {frame} has {len} values, expected {width}×{height}×4")]
    FrameSize {
        /// The frame number.
        frame: i32,
        /// Stated width.
        width: usize,
        /// Stated height.
        height: usize,
        /// Values in the buffer.
        len: usize,
    },
}
