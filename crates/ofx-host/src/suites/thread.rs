//! OfxMultiThreadSuiteV1 on real OS threads. Spawned threads inherit the caller's action
//! frame, so `clipGetImage` from a worker finds the render it belongs to.

use super::put;
use crate::actions;
use crate::objects::lock;
use crate::registry::{self, lookup, register, Object};
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::cell::Cell;
use std::ffi::{c_int, c_uint, c_void};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;

thread_local! {
    /// (index, spawned by multiThread) of the current thread.
    static WORKER: Cell<Option<u32>> = const { Cell::new(None) };
}

fn cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

unsafe extern "C" fn multi_thread(func: sys::OfxThreadFunctionV1, n: c_uint, arg: *mut c_void) -> OfxStatus {
    let Some(func) = func else { return status::ERR_VALUE };
    let n = if n == 0 { cpus() } else { n };
    let frame = actions::current();
    let arg = arg as usize;
    let spawned = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let frame = frame.clone();
                std::thread::Builder::new().name(format!("ofx-worker-{i}")).spawn_scoped(scope, move || {
                    WORKER.with(|w| w.set(Some(i)));
                    // SAFETY: the plugin's thread function with the arguments the OFX
                    // spec defines; `arg` is the plugin's own pointer, passed through.
                    let run = || unsafe { func(i, n, arg as *mut c_void) };
                    match frame {
                        Some(frame) => actions::with_frame(frame, run),
                        None => run(),
                    }
                })
            })
            .collect();
        handles.into_iter().all(|h| h.is_ok_and(|h| h.join().is_ok()))
    });
    if spawned {
        status::OK
    } else {
        status::FAILED
    }
}

unsafe extern "C" fn num_cpus(out: *mut c_uint) -> OfxStatus {
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, cpus()) };
    status::OK
}

unsafe extern "C" fn thread_index(out: *mut c_uint) -> OfxStatus {
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, WORKER.with(|w| w.get()).unwrap_or(0)) };
    status::OK
}

unsafe extern "C" fn is_spawned() -> c_int {
    WORKER.with(|w| w.get()).is_some() as c_int
}

/// A recursive mutex, as OFX mutexes are.
#[derive(Default)]
pub(crate) struct HostMutex {
    owner: Mutex<(Option<ThreadId>, usize)>,
    freed: Condvar,
}

impl HostMutex {
    fn lock(&self, wait: bool) -> bool {
        let me = std::thread::current().id();
        let mut state = lock(&self.owner);
        loop {
            match state.0 {
                None => {
                    *state = (Some(me), 1);
                    return true;
                }
                Some(owner) if owner == me => {
                    state.1 += 1;
                    return true;
                }
                Some(_) if !wait => return false,
                Some(_) => state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    fn unlock(&self) -> bool {
        let mut state = lock(&self.owner);
        if state.0 != Some(std::thread::current().id()) {
            return false;
        }
        state.1 -= 1;
        if state.1 == 0 {
            state.0 = None;
            self.freed.notify_one();
        }
        true
    }
}

unsafe extern "C" fn mutex_create(out: *mut sys::OfxMutexHandle, lock_count: c_int) -> OfxStatus {
    if out.is_null() {
        return status::ERR_VALUE;
    }
    let mutex = Arc::new(HostMutex::default());
    for _ in 0..lock_count.max(0) {
        mutex.lock(true);
    }
    let id = register(Object::Mutex(mutex)).keep();
    // SAFETY: `out` is non-NULL.
    unsafe { out.write(id as sys::OfxMutexHandle) };
    status::OK
}

unsafe extern "C" fn mutex_destroy(m: sys::OfxMutexHandle) -> OfxStatus {
    if registry::unregister(m as *const c_void) {
        status::OK
    } else {
        status::ERR_BAD_HANDLE
    }
}

unsafe extern "C" fn mutex_lock(m: sys::OfxMutexHandle) -> OfxStatus {
    match lookup::<HostMutex>(m as *const c_void) {
        Some(mutex) => {
            mutex.lock(true);
            status::OK
        }
        None => status::ERR_BAD_HANDLE,
    }
}

unsafe extern "C" fn mutex_unlock(m: sys::OfxMutexHandle) -> OfxStatus {
    match lookup::<HostMutex>(m as *const c_void) {
        Some(mutex) if mutex.unlock() => status::OK,
        Some(_) => status::FAILED,
        None => status::ERR_BAD_HANDLE,
    }
}

unsafe extern "C" fn mutex_try_lock(m: sys::OfxMutexHandle) -> OfxStatus {
    match lookup::<HostMutex>(m as *const c_void) {
        Some(mutex) if mutex.lock(false) => status::OK,
        Some(_) => status::FAILED,
        None => status::ERR_BAD_HANDLE,
    }
}

/// The multithread suite handed to plugins.
pub(crate) static SUITE: sys::OfxMultiThreadSuiteV1 = sys::OfxMultiThreadSuiteV1 {
    multiThread: Some(multi_thread),
    multiThreadNumCPUs: Some(num_cpus),
    multiThreadIndex: Some(thread_index),
    multiThreadIsSpawnedThread: Some(is_spawned),
    mutexCreate: Some(mutex_create),
    mutexDestroy: Some(mutex_destroy),
    mutexLock: Some(mutex_lock),
    mutexUnLock: Some(mutex_unlock),
    mutexTryLock: Some(mutex_try_lock),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    unsafe extern "C" fn count(index: c_uint, n: c_uint, arg: *mut c_void) {
        // SAFETY: the test passes a pointer to an AtomicU32 that outlives multiThread.
        let total = unsafe { &*(arg as *const AtomicU32) };
        assert!(index < n);
        // SAFETY: suite functions called as a plugin would.
        assert_eq!(unsafe { is_spawned() }, 1);
        let mut i = u32::MAX;
        // SAFETY: valid out-pointer.
        unsafe { thread_index(&mut i) };
        assert_eq!(i, index);
        total.fetch_add(1 << index, Ordering::SeqCst);
    }

    #[test]
    fn multi_thread_runs_every_index_on_spawned_threads() {
        let total = AtomicU32::new(0);
        // SAFETY: `count` matches OfxThreadFunctionV1 and `total` outlives the call.
        let st = unsafe { multi_thread(Some(count), 5, &total as *const AtomicU32 as *mut c_void) };
        assert_eq!(st, status::OK);
        assert_eq!(total.load(Ordering::SeqCst), 0b11111);
        // SAFETY: called as a plugin would, from a non-spawned thread.
        assert_eq!(unsafe { is_spawned() }, 0);
    }

    #[test]
    fn mutexes_are_recursive_and_exclusive() {
        let mut m: sys::OfxMutexHandle = std::ptr::null_mut();
        // SAFETY: suite calls with valid pointers, as a plugin makes them.
        unsafe {
            assert_eq!(mutex_create(&mut m, 1), status::OK);
            assert_eq!(mutex_try_lock(m), status::OK, "same thread re-enters");
            let h = m as usize;
            let other = std::thread::spawn(move || mutex_try_lock(h as sys::OfxMutexHandle)).join().unwrap();
            assert_eq!(other, status::FAILED, "another thread cannot take it");
            assert_eq!(mutex_unlock(m), status::OK);
            assert_eq!(mutex_unlock(m), status::OK);
            let h = m as usize;
            let other = std::thread::spawn(move || mutex_try_lock(h as sys::OfxMutexHandle)).join().unwrap();
            assert_eq!(other, status::OK);
            assert_eq!(mutex_destroy(m), status::OK);
            assert_eq!(mutex_lock(m), status::ERR_BAD_HANDLE);
            assert_eq!(mutex_lock(std::ptr::null_mut()), status::ERR_BAD_HANDLE);
        }
    }
}
