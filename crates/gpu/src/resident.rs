//! Device buffers that outlive a render: the CUDA path's depth cache keeps each frame's raw depth
//! on the device, so a slider change (or the next tile) re-renders without running the model and
//! without moving a frame between host and device.
//!
//! A render enqueues its work and returns, so such a buffer may still be written or read by a
//! kernel when the next render (on another of the host's streams) or an eviction wants it. Every
//! use goes through [`Device::with_resident`], which orders the use after the previous one and
//! records where this one ends (an event); dropping the buffer, from whatever thread a cache
//! evicts it on (a CPU render's, the host's PurgeCaches), frees it on the plugin's own stream of
//! its context after that event: nobody waits, and nothing is freed under a running kernel.

use std::sync::Mutex;

use cudarc::driver::{result, sys};

use crate::device::{driver, side_stream_of, Device};
use crate::exec::{Exec, GpuError};

/// A device allocation of the context it was made in, with the end of its last use.
pub struct Resident {
    ctx: usize,
    ptr: u64,
    bytes: usize,
    /// The event recorded after the last enqueued use (a `CUevent`; at first, after the
    /// stream-ordered allocation).
    last_use: Mutex<usize>,
}

impl Resident {
    /// Bytes held on the device (for the cache's budget).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Device {
    /// A new resident buffer of `bytes` in this device's context (uninitialised: the first
    /// [`Device::with_resident`] writes it).
    pub fn resident(&self, bytes: usize) -> Result<Resident, GpuError> {
        let ptr = self.alloc(bytes.max(4))?;
        match record(self) {
            Ok(event) => Ok(Resident { ctx: self.context(), ptr, bytes, last_use: Mutex::new(event) }),
            Err(e) => {
                let _ = self.free(ptr);
                Err(e)
            }
        }
    }

    /// Runs `enqueue` with the buffer's device address: the work it enqueues on this device's
    /// stream starts after the buffer's previous use, and becomes its last use.
    pub fn with_resident<T>(&self, buffer: &Resident, enqueue: impl FnOnce(u64) -> Result<T, GpuError>) -> Result<T, GpuError> {
        if buffer.ctx != self.context() {
            return Err(GpuError::Failed("a cached device buffer of another CUDA context".into()));
        }
        let mut last = buffer.last_use.lock().unwrap_or_else(|p| p.into_inner());
        if *last != 0 {
            // An event of this context, recorded after the previous use.
            driver("cuStreamWaitEvent", || unsafe {
                result::stream::wait_event(self.stream() as sys::CUstream, *last as sys::CUevent, sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT)
            })?;
        }
        let value = enqueue(buffer.ptr)?;
        let event = record(self)?;
        if *last != 0 {
            // The previous use's event: a wait already enqueued on it keeps it alive in the driver.
            let _ = driver("cuEventDestroy", || unsafe { result::event::destroy(*last as sys::CUevent) });
        }
        *last = event as usize;
        Ok(value)
    }
}

impl Device {
    /// [`Device::with_resident`] for several buffers at once (an operation reading many cached
    /// planes): the work starts after each one's previous use and becomes each one's last use.
    /// Their locks are taken in address order, so two such calls never wait on each other in a
    /// cycle; a buffer named twice is used once.
    pub fn with_residents<T>(&self, buffers: &[&Resident], enqueue: impl FnOnce(&[u64]) -> Result<T, GpuError>) -> Result<T, GpuError> {
        if buffers.iter().any(|b| b.ctx != self.context()) {
            return Err(GpuError::Failed("a cached device buffer of another CUDA context".into()));
        }
        let mut order: Vec<&Resident> = buffers.to_vec();
        order.sort_by_key(|b| b.ptr);
        order.dedup_by_key(|b| b.ptr);
        let mut held: Vec<_> = order.iter().map(|b| b.last_use.lock().unwrap_or_else(|p| p.into_inner())).collect();
        for last in held.iter().filter(|l| ***l != 0) {
            // An event of this context, recorded after that buffer's previous use.
            driver("cuStreamWaitEvent", || unsafe {
                result::stream::wait_event(self.stream() as sys::CUstream, **last as sys::CUevent, sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT)
            })?;
        }
        let ptrs: Vec<u64> = buffers.iter().map(|b| b.ptr).collect();
        let value = enqueue(&ptrs)?;
        for last in held.iter_mut() {
            let event = record(self)?;
            if **last != 0 {
                // A wait already enqueued on the previous event keeps it alive in the driver.
                let _ = driver("cuEventDestroy", || unsafe { result::event::destroy(**last as sys::CUevent) });
            }
            **last = event;
        }
        Ok(value)
    }
}

/// A new event recorded on `device`'s stream now.
fn record(device: &Device) -> Result<usize, GpuError> {
    let event = driver("cuEventCreate", || result::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING))?;
    // Just made, in the current context; recorded on this device's stream.
    match driver("cuEventRecord", || unsafe { result::event::record(event, device.stream() as sys::CUstream) }) {
        Ok(()) => Ok(event as usize),
        Err(e) => {
            let _ = driver("cuEventDestroy", || unsafe { result::event::destroy(event) });
            Err(e)
        }
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        let last = *self.last_use.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = release(self.ctx, self.ptr, last) {
            log::warn!("freeing a cached CUDA buffer ({} bytes): {e}", self.bytes);
        }
    }
}

/// Frees `ptr` of context `ctx` after event `last` (0: none) on the plugin's stream of `ctx`, with
/// `ctx` pushed on the calling thread for the calls and popped after, whatever was current.
fn release(ctx: usize, ptr: u64, last: usize) -> Result<(), GpuError> {
    // `ctx` is a context this process used and the host keeps alive while its effects are loaded.
    driver("cuCtxPushCurrent", || unsafe { sys::cuCtxPushCurrent_v2(ctx as sys::CUcontext).result() })?;
    let freed = (|| {
        let stream = side_stream_of(ctx).unwrap_or(0) as sys::CUstream;
        if last != 0 {
            // `last` is an event of `ctx`; waiting on it orders the free after the last use.
            driver("cuStreamWaitEvent", || unsafe {
                result::stream::wait_event(stream, last as sys::CUevent, sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT)
            })?;
            let _ = driver("cuEventDestroy", || unsafe { result::event::destroy(last as sys::CUevent) });
        }
        // Allocated by cuMemAllocAsync in `ctx`; every use is ordered before this point.
        driver("cuMemFreeAsync", || unsafe { result::free_async(ptr, stream) })
    })();
    let mut popped: sys::CUcontext = std::ptr::null_mut();
    // Pops what was pushed above.
    let pop = driver("cuCtxPopCurrent", || unsafe { sys::cuCtxPopCurrent_v2(&mut popped).result() });
    freed.and(pop)
}
