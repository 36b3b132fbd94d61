//! Rendering a sequence as a bounded pipeline: frames are decoded ahead of the render on worker
//! threads and encoded behind it on others, so decoding, rendering and encoding of neighbouring
//! frames overlap instead of taking turns. Both ends are bounded (a few frames ahead, a few queued
//! for writing), so memory does not grow with the length of the sequence.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use anyhow::{anyhow, Result};
use ofx_host::{ClipSource, Image};

use crate::media::Media;
use crate::sequence::Pattern;

/// Frames decoded ahead of the last one the render asked for.
const AHEAD: usize = 6;
/// Decoded frames kept behind it, for effects that read neighbours (temporal windows).
const BEHIND: i32 = 12;
/// Frames waiting to be written before the render waits for the writers.
const QUEUED_WRITES: usize = 4;

/// Threads for each end: the CPUs the render does not need most of the time.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// A numbered sequence decoded ahead of the render.
struct Prefetch {
    pattern: Pattern,
    frames: Vec<i32>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    /// The latest frame the render asked for.
    wanted: Option<i32>,
    ready: BTreeMap<i32, Arc<Image>>,
    decoding: HashSet<i32>,
    /// Index in `frames` of the next frame no worker has taken yet.
    next: usize,
}

impl Prefetch {
    /// A worker: decodes the next frame within reach of the render, until none is left.
    fn work(&self) {
        loop {
            let frame = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if state.next >= self.frames.len() {
                        return;
                    }
                    let candidate = self.frames[state.next];
                    if state.wanted.is_some_and(|w| candidate < w) {
                        // Behind the render already: it decodes such a frame itself if it needs it.
                        state.next += 1;
                        continue;
                    }
                    let reach = state.wanted.map_or(self.frames[0], |w| w) + AHEAD as i32;
                    if candidate <= reach {
                        state.next += 1;
                        if state.ready.contains_key(&candidate) || !state.decoding.insert(candidate) {
                            continue;
                        }
                        break candidate;
                    }
                    state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
                }
            };
            let image = Image::load(&self.pattern.path(frame)).ok().map(Arc::new);
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.decoding.remove(&frame);
            if let Some(image) = image {
                state.ready.insert(frame, image);
            }
            self.changed.notify_all();
        }
    }

    /// Frame `frame` for the host: decoded ahead when the workers got to it, else now.
    fn frame(&self, frame: i32) -> Option<Image> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.wanted.is_none_or(|w| frame > w) {
            state.wanted = Some(frame);
            // Frames the render has moved past are not needed again.
            state.ready.retain(|&f, _| f >= frame - BEHIND);
            self.changed.notify_all();
        }
        loop {
            if let Some(image) = state.ready.get(&frame) {
                // The host owns what it is handed; the copy is a memcpy, the decode it saves is not.
                return Some(Image::clone(image));
            }
            if !state.decoding.contains(&frame) {
                break;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        drop(state);
        Image::load(&self.pattern.path(frame)).ok()
    }
}

/// The clip source of `media` for rendering `frames` (sorted): a numbered sequence is decoded
/// ahead of the render by worker threads; stills and videos are served as they are.
pub fn clip_source(media: &Media, frames: &[i32]) -> ClipSource {
    match media {
        Media::Sequence { pattern, .. } => prefetched_sequence(pattern, frames),
        other => other.clip_source(),
    }
}

fn prefetched_sequence(pattern: &Pattern, frames: &[i32]) -> ClipSource {
    let prefetch =
        Arc::new(Prefetch { pattern: pattern.clone(), frames: frames.to_vec(), state: Mutex::default(), changed: Condvar::new() });
    for _ in 0..workers() {
        let worker = Arc::clone(&prefetch);
        std::thread::spawn(move || worker.work());
    }
    ClipSource::Func(Arc::new(move |time| prefetch.frame(time.round() as i32)))
}

/// Writes rendered frames on background threads, a bounded number queued; the first failure is
/// kept and returned by [`Writer::finish`] (and stops further writes).
pub struct Writer {
    sender: Option<SyncSender<(i32, Image)>>,
    threads: Vec<JoinHandle<()>>,
    error: Arc<Mutex<Option<anyhow::Error>>>,
}

impl Writer {
    /// Writer threads running `write` on each frame handed to [`Writer::write`].
    pub fn new(write: impl Fn(i32, &Image) -> Result<()> + Send + Sync + 'static) -> Writer {
        let (sender, receiver) = sync_channel::<(i32, Image)>(QUEUED_WRITES);
        let receiver = Arc::new(Mutex::new(receiver));
        let write = Arc::new(write);
        let error: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
        let threads = (0..workers())
            .map(|_| {
                let (receiver, write, error) = (Arc::clone(&receiver), Arc::clone(&write), Arc::clone(&error));
                std::thread::spawn(move || loop {
                    let next = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((frame, image)) = next else { return };
                    if let Err(e) = write(frame, &image) {
                        error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                    }
                })
            })
            .collect();
        Writer { sender: Some(sender), threads, error }
    }

    /// Queues `image` as frame `frame`; waits while the queue is full. Fails once a write failed.
    pub fn write(&self, frame: i32, image: Image) -> Result<()> {
        if self.error.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return Err(anyhow!("an earlier frame could not be written"));
        }
        let sender = self.sender.as_ref().expect("the sender lives until finish");
        sender.send((frame, image)).map_err(|_| anyhow!("the writer threads stopped"))
    }

    /// Waits for every queued frame to be written; the first failure, if any.
    pub fn finish(mut self) -> Result<()> {
        drop(self.sender.take());
        for thread in self.threads.drain(..) {
            thread.join().map_err(|_| anyhow!("a writer thread panicked"))?;
        }
        match self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
