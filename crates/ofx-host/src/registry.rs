//! Every handle the host gives a plugin is a key into this registry, never a raw Rust
//! pointer, so a NULL, stale or foreign handle is detected (`kOfxStatErrBadHandle`)
//! instead of crashing the process.

use crate::objects::{Clip, Effect, Param, ParamSet};
use crate::overlay::{DrawRecorder, Interact};
use crate::properties::PropertySet;
use crate::suites::memory::ImageMemory;
use crate::suites::thread::HostMutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, RwLock, Weak};

/// What a handle names. Host-owned objects are held weakly (their owner decides their
/// life); plugin-owned ones (memory, mutexes) strongly until the plugin frees them.
pub(crate) enum Object {
    Props(Weak<PropertySet>),
    Effect(Weak<Effect>),
    ParamSet(Weak<ParamSet>),
    Param(Weak<Param>),
    Clip(Weak<Clip>),
    Interact(Weak<Interact>),
    Draw(Weak<DrawRecorder>),
    Memory(Arc<ImageMemory>),
    Mutex(Arc<HostMutex>),
}

static OBJECTS: LazyLock<RwLock<HashMap<usize, Object>>> = LazyLock::new(Default::default);
/// Handles start high and step by 16 so they look like (and never collide with) pointers
/// the plugin might confuse them with.
static NEXT: AtomicUsize = AtomicUsize::new(0x0F_0000);

/// A registered handle; dropping it unregisters it.
#[derive(Debug)]
pub(crate) struct Handle(usize);

impl Handle {
    /// The value the plugin sees.
    pub fn ptr<T>(&self) -> *mut T {
        self.0 as *mut T
    }

    pub fn id(&self) -> usize {
        self.0
    }

    /// Keeps the entry registered after this value is gone: for plugin-owned objects
    /// that the plugin frees explicitly (see [`unregister`]).
    pub fn keep(self) -> usize {
        let id = self.0;
        std::mem::forget(self);
        id
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // Take the entry out before dropping it: dropping a strong entry may run
        // destructors that unregister other handles.
        let removed = OBJECTS.write().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
        drop(removed);
    }
}

/// Registers an object and returns its handle.
pub(crate) fn register(object: Object) -> Handle {
    let id = NEXT.fetch_add(16, Ordering::Relaxed);
    OBJECTS.write().unwrap_or_else(|e| e.into_inner()).insert(id, object);
    Handle(id)
}

/// Removes a plugin-owned entry (freed memory, destroyed mutex); true if it existed.
pub(crate) fn unregister(ptr: *const std::ffi::c_void) -> bool {
    let removed = OBJECTS.write().unwrap_or_else(|e| e.into_inner()).remove(&(ptr as usize));
    removed.is_some()
}

/// Implemented by every type a handle can name.
pub(crate) trait Registered: Sized {
    fn from_object(object: &Object) -> Option<Arc<Self>>;
}

/// Resolves a handle from the plugin, or `None` for NULL, stale or wrong-type handles.
pub(crate) fn lookup<T: Registered>(ptr: *const std::ffi::c_void) -> Option<Arc<T>> {
    if ptr.is_null() {
        return None;
    }
    let objects = OBJECTS.read().unwrap_or_else(|e| e.into_inner());
    objects.get(&(ptr as usize)).and_then(T::from_object)
}

macro_rules! weakly_registered {
    ($($variant:ident => $ty:ty),*) => {$(
        impl Registered for $ty {
            fn from_object(object: &Object) -> Option<Arc<Self>> {
                match object {
                    Object::$variant(w) => w.upgrade(),
                    _ => None,
                }
            }
        }
    )*};
}
weakly_registered!(Props => PropertySet, Effect => Effect, ParamSet => ParamSet, Param => Param,
    Clip => Clip, Interact => Interact, Draw => DrawRecorder);

impl Registered for ImageMemory {
    fn from_object(object: &Object) -> Option<Arc<Self>> {
        match object {
            Object::Memory(m) => Some(m.clone()),
            _ => None,
        }
    }
}

impl Registered for HostMutex {
    fn from_object(object: &Object) -> Option<Arc<Self>> {
        match object {
            Object::Mutex(m) => Some(m.clone()),
            _ => None,
        }
    }
}
