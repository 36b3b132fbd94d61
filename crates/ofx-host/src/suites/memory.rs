//! OfxMemorySuiteV1 and the image-memory part of the image effect suite. Allocations are
//! tracked, so freeing a pointer the host never gave out is an error, not a crash.

use super::put;
use crate::objects::lock;
use crate::registry::{self, lookup, register, Object};
use crate::status::{self, OfxStatus};
use openfx_sys as sys;
use std::alloc::Layout;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, LazyLock, Mutex};

/// Live `memoryAlloc` blocks: address → layout.
static BLOCKS: LazyLock<Mutex<HashMap<usize, Layout>>> = LazyLock::new(Default::default);

unsafe extern "C" fn memory_alloc(_handle: *mut c_void, n: usize, out: *mut *mut c_void) -> OfxStatus {
    if out.is_null() {
        return status::ERR_VALUE;
    }
    let Ok(layout) = Layout::from_size_align(n.max(1), 16) else { return status::ERR_MEMORY };
    // SAFETY: the layout has non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    if p.is_null() {
        return status::ERR_MEMORY;
    }
    lock(&BLOCKS).insert(p as usize, layout);
    // SAFETY: `out` is non-NULL.
    unsafe { out.write(p as *mut c_void) };
    status::OK
}

unsafe extern "C" fn memory_free(p: *mut c_void) -> OfxStatus {
    let Some(layout) = lock(&BLOCKS).remove(&(p as usize)) else { return status::ERR_BAD_HANDLE };
    // SAFETY: `p` was allocated by `memory_alloc` with this layout and not yet freed.
    unsafe { std::alloc::dealloc(p as *mut u8, layout) };
    status::OK
}

/// The memory suite handed to plugins.
pub(crate) static SUITE: sys::OfxMemorySuiteV1 =
    sys::OfxMemorySuiteV1 { memoryAlloc: Some(memory_alloc), memoryFree: Some(memory_free) };

/// A block from `imageMemoryAlloc`: 16-byte aligned, zeroed, lockable. The registry
/// owns it until `imageMemoryFree`.
pub(crate) struct ImageMemory {
    words: Mutex<Box<[u128]>>,
    locks: Mutex<usize>,
}

pub(crate) unsafe extern "C" fn image_memory_alloc(
    _effect: sys::OfxImageEffectHandle,
    n: usize,
    out: *mut sys::OfxImageMemoryHandle,
) -> OfxStatus {
    if out.is_null() {
        return status::ERR_VALUE;
    }
    let words = vec![0u128; n.div_ceil(16).max(1)].into_boxed_slice();
    let memory = Arc::new(ImageMemory { words: Mutex::new(words), locks: Mutex::new(0) });
    let id = register(Object::Memory(memory)).keep();
    // SAFETY: `out` is non-NULL.
    unsafe { out.write(id as sys::OfxImageMemoryHandle) };
    status::OK
}

pub(crate) unsafe extern "C" fn image_memory_free(h: sys::OfxImageMemoryHandle) -> OfxStatus {
    if registry::unregister(h as *const c_void) {
        status::OK
    } else {
        status::ERR_BAD_HANDLE
    }
}

pub(crate) unsafe extern "C" fn image_memory_lock(h: sys::OfxImageMemoryHandle, out: *mut *mut c_void) -> OfxStatus {
    let Some(memory) = lookup::<ImageMemory>(h as *const c_void) else { return status::ERR_BAD_HANDLE };
    *lock(&memory.locks) += 1;
    let p = lock(&memory.words).as_mut_ptr() as *mut c_void;
    // SAFETY: plugin-provided out-pointer (NULL checked).
    unsafe { put(out, p) };
    status::OK
}

pub(crate) unsafe extern "C" fn image_memory_unlock(h: sys::OfxImageMemoryHandle) -> OfxStatus {
    let Some(memory) = lookup::<ImageMemory>(h as *const c_void) else { return status::ERR_BAD_HANDLE };
    let mut locks = lock(&memory.locks);
    *locks = locks.saturating_sub(1);
    status::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_usable_aligned_and_freed_once() {
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: suite calls as a plugin makes them; the block is written within its size.
        unsafe {
            assert_eq!(memory_alloc(std::ptr::null_mut(), 100, &mut p), status::OK);
            assert_eq!(p as usize % 16, 0);
            std::ptr::write_bytes(p as *mut u8, 7, 100);
            assert_eq!(memory_free(p), status::OK);
            assert_eq!(memory_free(p), status::ERR_BAD_HANDLE);
            assert_eq!(memory_free(std::ptr::null_mut()), status::ERR_BAD_HANDLE);
        }
    }

    #[test]
    fn image_memory_locks_to_zeroed_storage() {
        let mut h: sys::OfxImageMemoryHandle = std::ptr::null_mut();
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: suite calls as a plugin makes them.
        unsafe {
            assert_eq!(image_memory_alloc(std::ptr::null_mut(), 33, &mut h), status::OK);
            assert_eq!(image_memory_lock(h, &mut p), status::OK);
            assert_eq!(std::slice::from_raw_parts(p as *const u8, 33), &[0u8; 33][..]);
            assert_eq!(image_memory_unlock(h), status::OK);
            assert_eq!(image_memory_free(h), status::OK);
            assert_eq!(image_memory_lock(h, &mut p), status::ERR_BAD_HANDLE);
            assert_eq!(image_memory_free(h), status::ERR_BAD_HANDLE);
        }
    }
}
