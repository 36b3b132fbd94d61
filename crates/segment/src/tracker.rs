//! The SAM 2 propagation loop (`models/sam2/CONTRACT.md` §6): prompted frames are decoded from their
//! prompts, every other frame from the memory of the prompted frames and the frames just tracked.

use std::ops::{ControlFlow, RangeInclusive};
use std::time::{Duration, Instant};

use inference::{ModelSearch, Runtime, SessionOptions};

use crate::frame::{mask_for_memory, mask_from_lowres, Frame, Mask};
use crate::memory::{FrameMemory, MemoryBank};
use crate::parts::{Decoded, Encoded, Sam2Parts};
use crate::prompt::{decoder_steps, DecoderPoints, Prompt, Prompts};
use crate::{Direction, SegmentError};

/// SAM 2 clamps a mask prompt (the previous low-res logits) to this magnitude.
const MASK_PROMPT_LIMIT: f32 = 32.0;

/// Time spent per stage of the loop, summed over a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    /// Image encoder runs (including the resize and normalisation of the frame).
    pub encoder: Duration,
    /// Memory attention runs (including assembling the memory tensors).
    pub memory_attention: Duration,
    /// Mask decoder runs.
    pub decoder: Duration,
    /// Memory encoder runs (including upsampling the mask to 1024²).
    pub memory_encoder: Duration,
    /// Resizing masks to the frame and the caller's `on_frame` (e.g. the store write).
    pub output: Duration,
}

/// What a [`Tracker::track`] run did.
#[derive(Clone, Debug)]
pub struct TrackReport {
    /// The frames handed to `on_frame`, in tracking order.
    pub frames: Vec<i32>,
    /// Whether `on_frame` stopped the run.
    pub cancelled: bool,
    /// Image encoder runs (prompted frames outside the range count too).
    pub encoder_runs: usize,
    /// Largest number of frames the memory bank held at once.
    pub peak_memory_frames: usize,
    /// Non-finite values (NaN, ±inf) in the decoder's masks and pointers and the memories: zero
    /// unless a graph misbehaves (the masks would hide a NaN: it is no object).
    pub non_finite: usize,
    /// Time per stage.
    pub times: StageTimes,
}

/// SAM 2.1 video tracking with the four parts; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Tracker {
    parts: Sam2Parts,
}

/// What a prompted frame contributes before propagation reaches it.
struct Conditioned {
    frame: i32,
    pred_mask: Vec<f32>,
    size: (usize, usize),
}

impl Tracker {
    /// Opens the four parts where `models` finds them (see [`Sam2Parts::open`]).
    pub fn open(runtime: &Runtime, models: &ModelSearch, options: &SessionOptions) -> Result<Tracker, SegmentError> {
        Ok(Tracker { parts: Sam2Parts::open(runtime, models, options)? })
    }

    /// [`Tracker::open`] for the network `size` (Magic Mask: Faster = tiny, Better = small).
    pub fn open_size(runtime: &Runtime, models: &ModelSearch, options: &SessionOptions, size: crate::Sam2Size) -> Result<Tracker, SegmentError> {
        Ok(Tracker { parts: Sam2Parts::open_size(runtime, models, options, size)? })
    }

    /// The backend the models run on (see [`Sam2Parts::backend`]).
    pub fn backend(&self) -> &inference::BackendReport {
        self.parts.backend()
    }

    /// Tracks the object given by `prompts` over `range` in `direction`, calling `on_frame` with each
    /// frame's mask as soon as it is known; `on_frame` returning `Break` stops the run, keeping every
    /// frame already handed over.
    ///
    /// Every prompted frame (in the range or not) is a conditioning frame. Tracking starts at the first
    /// prompted frame in the direction (forward: the lowest at or after `range.start()`; backward: the
    /// highest at or before `range.end()`), else at the range's start when a prompted frame lies behind
    /// it, and runs to the end of the range.
    pub fn track(
        &self,
        mut frames: impl FnMut(i32) -> Result<Frame, SegmentError>,
        range: RangeInclusive<i32>,
        direction: Direction,
        prompts: &Prompts,
        mut on_frame: impl FnMut(i32, &Mask) -> ControlFlow<()>,
    ) -> Result<TrackReport, SegmentError> {
        let prompted: Vec<i32> = prompts.iter().filter(|(_, p)| !p.is_empty()).map(|(&f, _)| f).collect();
        if prompted.is_empty() {
            return Err(SegmentError::NoPrompts);
        }
        let (first, last) = (*range.start(), *range.end());
        // The first prompted frame in the range; else the range's first frame, when a prompted frame
        // behind it can carry the object in (as after deleting the prompts that started a run).
        let start = match direction {
            Direction::Forward => prompted.iter().copied().find(|&f| f >= first && f <= last).or((prompted[0] < first).then_some(first)),
            Direction::Backward => prompted.iter().rev().copied().find(|&f| f <= last && f >= first).or((prompted[prompted.len() - 1] > last).then_some(last)),
        }
        .ok_or(SegmentError::NoStartFrame { first, last, direction: direction.name() })?;
        let end = match direction {
            Direction::Forward => last,
            Direction::Backward => first,
        };
        let mut run = self.start(&mut frames, start, direction, prompts)?;
        loop {
            let (frame, mask) = run.step(&mut frames)?;
            let started = Instant::now();
            let flow = on_frame(frame, &mask);
            run.report.times.output += started.elapsed();
            if flow.is_break() {
                run.report.cancelled = true;
                break;
            }
            if frame == end {
                break;
            }
        }
        Ok(run.report)
    }

    /// Starts a run that tracks from `start` in `direction`, one frame per [`TrackRun::step`]:
    /// every prompted frame of `prompts` is a conditioning frame (fetched now), as in
    /// [`Tracker::track`], which is this loop. A run can be kept and stepped later (Magic Mask's
    /// render-time tracking continues the run that reached the frame before); its memory is the
    /// bank's, flat however far it goes.
    pub fn start(
        &self,
        mut frames: impl FnMut(i32) -> Result<Frame, SegmentError>,
        start: i32,
        direction: Direction,
        prompts: &Prompts,
    ) -> Result<TrackRun, SegmentError> {
        let prompted: Vec<i32> = prompts.iter().filter(|(_, p)| !p.is_empty()).map(|(&f, _)| f).collect();
        if prompted.is_empty() {
            return Err(SegmentError::NoPrompts);
        }
        let mut report = TrackReport { frames: Vec::new(), cancelled: false, encoder_runs: 0, peak_memory_frames: 0, non_finite: 0, times: StageTimes::default() };
        let mut bank = MemoryBank::new(direction == Direction::Backward);
        let mut conditioned = Vec::new();
        // Frames that say where the object is (a positive click or a box) first; corrections
        // (negative clicks only) after them, so they can lean on the others' memory.
        let (anchors, corrections): (Vec<i32>, Vec<i32>) = prompted.iter().partition(|&&f| is_anchor(&prompts[&f]));
        for &frame in anchors.iter().chain(&corrections) {
            let image = fetch(&mut frames, frame)?;
            conditioned.push(self.condition(&image, frame, &prompts[&frame], &mut bank, &mut report)?);
        }
        Ok(TrackRun { tracker: self.clone(), bank, conditioned, direction, next: start, report })
    }
    /// A prompted frame: decoded from its prompts step by step (a correction starts from what
    /// memory says, see below), then its memory is encoded from the binarised mask.
    fn condition(
        &self,
        image: &Frame,
        frame: i32,
        prompts: &[Prompt],
        bank: &mut MemoryBank,
        report: &mut TrackReport,
    ) -> Result<Conditioned, SegmentError> {
        let encoded = self.encode(image, report)?;
        // A correction (negative clicks only) on a frame the other prompted frames reach: as in
        // SAM 2, its clicks refine what memory says is there, instead of starting from nothing.
        let attended;
        let mut decoded = None;
        let embedded: &[f32] = if !is_anchor(prompts) && bank.len() > 0 {
            let started = Instant::now();
            attended = self.parts.attend(&encoded, &bank.inputs_for(frame))?;
            report.times.memory_attention += started.elapsed();
            decoded = Some(self.decode_without_prompt(&attended, &encoded)?);
            &attended
        } else {
            &encoded.vision_feats
        };
        let started = Instant::now();
        for step in decoder_steps(prompts, image.width, image.height) {
            let previous: Option<Vec<f32>> = decoded
                .as_ref()
                .map(|d: &Decoded| d.pred_mask.iter().map(|v| v.clamp(-MASK_PROMPT_LIMIT, MASK_PROMPT_LIMIT)).collect());
            decoded = Some(self.parts.decode(&step.coords, &step.labels, embedded, &encoded, previous.as_deref())?);
        }
        let decoded = match decoded {
            Some(d) => d,
            None => self.decode_without_prompt(embedded, &encoded)?,
        };
        report.times.decoder += started.elapsed();
        let memory = self.remember(&decoded, &encoded, true, bank, report)?;
        bank.add_cond(frame, memory);
        Ok(Conditioned { frame, pred_mask: decoded.pred_mask, size: (image.width, image.height) })
    }

    /// A frame without prompts: memory attention, decoder, memory encoder; returns its low-res logits.
    fn propagate(&self, image: &Frame, frame: i32, bank: &mut MemoryBank, report: &mut TrackReport) -> Result<Vec<f32>, SegmentError> {
        let encoded = self.encode(image, report)?;
        let started = Instant::now();
        let embedded = self.parts.attend(&encoded, &bank.inputs_for(frame))?;
        report.times.memory_attention += started.elapsed();
        let started = Instant::now();
        let decoded = self.decode_without_prompt(&embedded, &encoded)?;
        report.times.decoder += started.elapsed();
        let memory = self.remember(&decoded, &encoded, false, bank, report)?;
        bank.add_recent(frame, memory);
        Ok(decoded.pred_mask)
    }

    fn encode(&self, image: &Frame, report: &mut TrackReport) -> Result<Encoded, SegmentError> {
        let started = Instant::now();
        let encoded = self.parts.encode(&image.to_model_input())?;
        report.times.encoder += started.elapsed();
        report.encoder_runs += 1;
        Ok(encoded)
    }

    fn decode_without_prompt(&self, embedded: &[f32], encoded: &Encoded) -> Result<Decoded, SegmentError> {
        let none = DecoderPoints::none();
        Ok(self.parts.decode(&none.coords, &none.labels, embedded, encoded, None)?)
    }

    fn remember(
        &self,
        decoded: &Decoded,
        encoded: &Encoded,
        binarise: bool,
        bank: &mut MemoryBank,
        report: &mut TrackReport,
    ) -> Result<FrameMemory, SegmentError> {
        let started = Instant::now();
        let mask = mask_for_memory(&decoded.pred_mask, binarise);
        let encoding = self.parts.encode_memory(&mask, &encoded.pix_feat, decoded.occ_logit)?;
        let bad = |v: &[f32]| v.iter().filter(|x| !x.is_finite()).count();
        report.non_finite += bad(&decoded.pred_mask) + bad(&decoded.obj_ptr) + bad(&encoding.features) + usize::from(!decoded.occ_logit.is_finite());
        bank.set_encodings(encoding.pos_enc, encoding.temporal_code);
        report.times.memory_encoder += started.elapsed();
        Ok(FrameMemory { features: Some(encoding.features), pointer: decoded.obj_ptr.clone() })
    }
}

/// A tracking run in progress (see [`Tracker::start`]): the memory bank and what the prompted
/// frames not reached yet contribute.
pub struct TrackRun {
    tracker: Tracker,
    bank: MemoryBank,
    conditioned: Vec<Conditioned>,
    direction: Direction,
    next: i32,
    report: TrackReport,
}

impl TrackRun {
    /// The frame the next [`TrackRun::step`] tracks.
    pub fn next_frame(&self) -> i32 {
        self.next
    }

    /// The direction the run goes.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// What the run did so far.
    pub fn report(&self) -> &TrackReport {
        &self.report
    }

    /// Tracks the next frame and returns it with its mask; the run then stands on the frame after.
    pub fn step(&mut self, mut frames: impl FnMut(i32) -> Result<Frame, SegmentError>) -> Result<(i32, Mask), SegmentError> {
        let frame = self.next;
        let (lowres, size) = match self.conditioned.iter().position(|c| c.frame == frame) {
            Some(i) => {
                let c = self.conditioned.swap_remove(i);
                (c.pred_mask, c.size)
            }
            None => {
                let image = fetch(&mut frames, frame)?;
                (self.tracker.propagate(&image, frame, &mut self.bank, &mut self.report)?, (image.width, image.height))
            }
        };
        self.report.peak_memory_frames = self.report.peak_memory_frames.max(self.bank.len());
        let started = Instant::now();
        let mask = mask_from_lowres(&lowres, size.0, size.1);
        self.report.times.output += started.elapsed();
        self.report.frames.push(frame);
        self.next = match self.direction {
            Direction::Forward => frame.saturating_add(1),
            Direction::Backward => frame.saturating_sub(1),
        };
        Ok((frame, mask))
    }
}

/// Whether a frame's prompts say where the object is by themselves (a positive click or a box),
/// rather than only where it is not.
fn is_anchor(prompts: &[Prompt]) -> bool {
    prompts.iter().any(|p| matches!(p, Prompt::Box { .. } | Prompt::Point { positive: true, .. }))
}

/// The frame from the caller, checked for size.
fn fetch(frames: &mut impl FnMut(i32) -> Result<Frame, SegmentError>, frame: i32) -> Result<Frame, SegmentError> {
    let image = frames(frame)?;
    if image.rgba.len() != image.width * image.height * 4 || image.width == 0 || image.height == 0 {
        return Err(SegmentError::FrameSize { frame, width: image.width, height: image.height, len: image.rgba.len() });
    }
    Ok(image)
}
