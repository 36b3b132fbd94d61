//! Track on Render: tracking that runs when a frame is rendered, for hosts without push buttons
//! (MLT: Shotcut, Kdenlive, melt) and for farm renders from the CLI.
//!
//! When the frame is not in the store (or was tracked from other prompts) and a prompted frame
//! exists, the run that reached the frame before goes on to this one; without such a run a new
//! one starts at the nearest prompted frame (forward from the nearest at or before the frame,
//! else backward from the nearest after it) and goes to this frame. Every frame a run passes is
//! stored. Runs live at process level (MLT creates an instance per frame), at most
//! [`LIVE_RUNS`] of them, each with the tracking loop's flat memory bank; so a sequential render
//! tracks each frame once, exactly as Track Forward would.
//!
//! A host without temporal access (MLT) hands over the current frame only: a run there starts
//! on a prompted frame when it is rendered, from that frame's prompts, and goes on one frame per
//! render. A render of frame n waits while another thread renders an earlier frame of the same
//! store (MLT renders several frames at once), which may bring the run to n − 1.

use super::prompts::Prompts;
use super::tracking::{engine_prompts, fetch_frame, frame_grid, prompts_hash};
use crate::effects::runtime::{model_search, runtime};
use inference::SessionOptions;
use ofx::{Clip, Error, Instance, Result};
use segment::{Direction, MaskStore, TrackRun, Tracker};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Live runs kept between renders (each holds a memory bank of a few MB).
const LIVE_RUNS: usize = 4;

/// What one render asks for.
pub struct Request<'a> {
    pub fx: &'a Instance,
    pub clip: &'a Clip,
    /// The store's folder, `<store folder>/<id>`.
    pub folder: &'a Path,
    pub prompts: &'a Prompts,
    pub frame: i32,
    pub quality: &'static str,
    /// The network Quality picked; its name is what the store records.
    pub size: segment::Sam2Size,
    /// What the source's pixels are (Source Colour): how frames are encoded for the network. A run
    /// kept between renders fetches each new frame with the request's.
    pub colour: imaging::SourceColour,
    pub model_folder: &'a str,
}

/// A run kept for the next render.
struct Live {
    folder: PathBuf,
    hash: String,
    /// The frames whose prompts the run was started from.
    conditioned: Vec<i32>,
    run: TrackRun,
}

#[derive(Default)]
struct State {
    runs: Vec<Live>,
    /// Stores a thread is tracking in now (its run is taken out of `runs` meanwhile).
    busy: Vec<PathBuf>,
    /// Frames being rendered with Track on Render, by store.
    pending: Vec<(PathBuf, i32)>,
}

static STATE: Mutex<State> = Mutex::new(State { runs: Vec::new(), busy: Vec::new(), pending: Vec::new() });
static WAKE: Condvar = Condvar::new();

fn lock() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `frame` is in the store at `folder`, tracked by network `model` from prompts of hash `hash`.
fn current(folder: &Path, frame: i32, model: &str, hash: &str) -> bool {
    MaskStore::open_folder(folder).is_ok_and(|s| s.record(frame).is_some_and(|r| r.model == model && r.prompt_hash == hash))
}

/// Whether Track on Render would run the model for the request's frame: the node has prompts and
/// the frame is not in the store as tracked from them by this Quality's network. The CUDA render
/// asks this to hand such frames to the CPU.
pub fn needed(request: &Request) -> bool {
    !request.prompts.0.is_empty() && !current(request.folder, request.frame, request.size.model_name(), &prompts_hash(request.prompts))
}

/// What a thread does next for its frame.
enum Plan {
    /// Step the run (taken out of the state) up to the frame.
    Continue(Live),
    /// Start a run at `start` in `direction` from the prompts of `frames`, then step it up to the frame.
    Start { start: i32, direction: Direction, frames: Vec<i32> },
}

/// Makes `request.frame` present in the store if Track on Render can: returns once it is stored,
/// or once nothing can bring a run to it (the frame then renders as not tracked).
pub fn ensure(request: &Request) -> Result<()> {
    let hash = prompts_hash(request.prompts);
    let folder = request.folder.to_path_buf();
    let frame = request.frame;
    let prompted = request.prompts.frames();
    if !needed(request) {
        return Ok(());
    }
    let temporal = request.fx.host_has_temporal_access();
    let mut state = lock();
    state.pending.push((folder.clone(), frame));
    let result = loop {
        if current(&folder, frame, request.size.model_name(), &hash) {
            break Ok(());
        }
        if state.busy.contains(&folder) {
            state = WAKE.wait(state).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        // Runs of this store from other prompts can never be continued.
        state.runs.retain(|l| l.folder != folder || l.hash == hash);
        let live = state.runs.iter().position(|l| l.folder == folder);
        let plan = if temporal {
            let reaches = live.filter(|&i| {
                let run = &state.runs[i].run;
                // Onwards to the frame, unless a prompted frame on the way is a nearer start.
                let next = run.next_frame();
                match run.direction() {
                    Direction::Forward => next <= frame && !prompted.iter().any(|&p| p > next && p <= frame),
                    Direction::Backward => next >= frame && !prompted.iter().any(|&p| p < next && p >= frame),
                }
            });
            match reaches {
                Some(i) => Plan::Continue(state.runs.remove(i)),
                None => match prompted.iter().rev().find(|&&p| p <= frame) {
                    Some(&p) => Plan::Start { start: p, direction: Direction::Forward, frames: prompted.clone() },
                    None => Plan::Start { start: prompted[0], direction: Direction::Backward, frames: prompted.clone() },
                },
            }
        } else {
            // Only the frame being rendered can be fetched.
            let here = live.filter(|&i| {
                let l = &state.runs[i];
                l.run.next_frame() == frame && (!prompted.contains(&frame) || l.conditioned.contains(&frame))
            });
            if let Some(i) = here {
                Plan::Continue(state.runs.remove(i))
            } else if prompted.contains(&frame) {
                Plan::Start { start: frame, direction: Direction::Forward, frames: vec![frame] }
            } else if state.pending.iter().any(|(f, n)| *f == folder && *n < frame) {
                // An earlier frame is being rendered: it may bring the run here.
                state = WAKE.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            } else {
                log::info!("Magic Mask: Track on Render cannot reach frame {frame} (this host hands over the current frame only; render from a prompted frame on)");
                break Ok(());
            }
        };
        state.busy.push(folder.clone());
        drop(state);
        let outcome = advance(request, plan, &folder, &hash);
        state = lock();
        state.busy.retain(|f| *f != folder);
        WAKE.notify_all();
        match outcome {
            Ok(Some(live)) => {
                if state.runs.len() >= LIVE_RUNS {
                    state.runs.remove(0);
                }
                state.runs.push(live);
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if let Some(i) = state.pending.iter().position(|(f, n)| *f == folder && *n == frame) {
        state.pending.swap_remove(i);
    }
    WAKE.notify_all();
    result
}

/// Carries out `plan` up to the request's frame, storing every frame passed that is not current
/// in the store; returns the run to keep (`None` when the render was aborted).
fn advance(request: &Request, plan: Plan, folder: &Path, hash: &str) -> Result<Option<Live>> {
    let clip = request.clip;
    let failed = |e: segment::SegmentError| Error::failed(format!("Magic Mask (Track on Render): {e}"));
    let fetch = |f: i32| fetch_frame(clip, f, request.colour);
    let mut live = match plan {
        Plan::Continue(live) => live,
        Plan::Start { start, direction, frames } => {
            let runtime = runtime()?;
            let tracker = Tracker::open_size(&runtime, &model_search(request.model_folder), &SessionOptions::default(), request.size).map_err(failed)?;
            let grid = frame_grid(clip, start).map_err(failed)?;
            let chosen = Prompts(request.prompts.0.iter().filter(|p| frames.contains(&p.frame)).copied().collect());
            let run = tracker.start(fetch, start, direction, &engine_prompts(&chosen, &grid)).map_err(failed)?;
            log::info!("Magic Mask: Track on Render starts a {} run at frame {start} for frame {}", direction.name(), request.frame);
            Live { folder: folder.to_path_buf(), hash: hash.to_owned(), conditioned: frames, run }
        }
    };
    let mut store = MaskStore::open_folder(folder).map_err(super::tracking::store_error)?;
    loop {
        let (f, mask) = live.run.step(fetch).map_err(failed)?;
        if !store.record(f).is_some_and(|r| r.model == request.size.model_name() && r.prompt_hash == hash) {
            store.write(f, &mask, request.size.model_name(), request.quality, hash, live.run.direction()).map_err(super::tracking::store_error)?;
        }
        if f == request.frame {
            return Ok(Some(live));
        }
        if request.fx.aborted() {
            return Ok(None);
        }
    }
}
