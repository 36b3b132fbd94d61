//! SAM 2.1 video segmentation for Magic Mask, knowing nothing of OFX: frames are RGBA f32 slices.
//!
//! The steps, in the order the effect uses them:
//! 1. [`Tracker::open`] opens the four ONNX parts (`models/sam2/CONTRACT.md`) through
//!    `crates/inference`, which checks each against its contract.
//! 2. [`Tracker::track`] runs the propagation loop over a frame range in one [`Direction`] from the
//!    user's [`Prompts`], with a memory bank whose size does not depend on the clip's length, handing
//!    each frame's [`Mask`] to a callback that reports progress and may cancel.
//! 3. [`MaskStore`] keeps every tracked frame as a 16-bit PNG with a manifest, so rendering never runs
//!    a model; [`MaskStore::export`] writes the matte sequence; [`retrack_plan`] says what an edit on
//!    one frame re-tracks.
//! 4. [`subject`] selects the salient object under a click (Auto Subject, U²-Netp).

mod error;
mod frame;
mod memory;
mod parts;
mod prompt;
mod retrack;
mod store;
pub mod subject;
pub mod synthetic;
mod template;
mod tracker;

pub use error::SegmentError;
pub use frame::{Frame, Mask};
pub use parts::{Sam2Parts, Sam2Size, DECODER, ENCODER, MEMORY_ATTENTION, MEMORY_ENCODER};
pub use prompt::{prompt_hash, Prompt, Prompts};
pub use retrack::retrack_plan;
pub use store::{Direction, FrameRecord, MaskStore, StoreError, StoreStamp};
pub use template::{render_template, TemplateError};
pub use tracker::{StageTimes, TrackReport, TrackRun, Tracker};
