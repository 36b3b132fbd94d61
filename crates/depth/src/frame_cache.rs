//! The finished 0–1 depth at frame size, cached by the raw maps it was made from, so moving a
//! slider re-renders without normalising, stabilising or resizing again (the raw-depth cache
//! already saves the model run; this saves the rest).
//!
//! Entries are matched by the identity of their raw maps (`Arc` pointers, which the entry keeps
//! alive so they cannot be reused), plus the stabiliser's settings and the frame size: two renders
//! that got the same raw maps from [`crate::DepthCache`] get the same plane (the raw-depth cache
//! is keyed by the source's pixels, so the same maps also mean the same source frames and flows).

use std::sync::{Arc, Mutex};

use crate::{DepthMap, Motion};

/// A least-recently-used cache of frame-size depth planes, bounded in bytes.
pub struct FrameDepthCache {
    budget_bytes: usize,
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    window: Vec<Arc<DepthMap>>,
    target: usize,
    stabilizer: Option<(u32, usize, Motion)>,
    size: (usize, usize),
    plane: Arc<Vec<f32>>,
}

impl Entry {
    fn matches(&self, window: &[Arc<DepthMap>], target: usize, stabilizer: Option<(u32, usize, Motion)>, size: (usize, usize)) -> bool {
        self.target == target
            && self.stabilizer == stabilizer
            && self.size == size
            && self.window.len() == window.len()
            && self.window.iter().zip(window).all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl FrameDepthCache {
    /// Drops every plane (the host asked to free memory).
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// A cache holding at most `budget_bytes` of planes (the most recently used are kept).
    pub fn new(budget_bytes: usize) -> FrameDepthCache {
        FrameDepthCache { budget_bytes, entries: Mutex::new(Vec::new()) }
    }

    /// The plane of frame `window[target]` at `size`, stabilised with `stabilizer` (strength,
    /// window radius and motion; None: normalised alone), computing it with `compute` when not cached. `compute`
    /// runs outside the lock.
    pub fn get_or_compute(
        &self,
        window: &[Arc<DepthMap>],
        target: usize,
        stabilizer: Option<(f32, usize, Motion)>,
        size: (usize, usize),
        compute: impl FnOnce() -> Vec<f32>,
    ) -> Arc<Vec<f32>> {
        let stabilizer = stabilizer.map(|(strength, radius, motion)| (strength.to_bits(), radius, motion));
        {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = entries.iter().position(|e| e.matches(window, target, stabilizer, size)) {
                let entry = entries.remove(i);
                let plane = entry.plane.clone();
                entries.push(entry);
                return plane;
            }
        }
        let plane = Arc::new(compute());
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push(Entry { window: window.to_vec(), target, stabilizer, size, plane: plane.clone() });
        let bytes = |e: &Entry| e.plane.len() * std::mem::size_of::<f32>();
        while entries.len() > 1 && entries.iter().map(bytes).sum::<usize>() > self.budget_bytes {
            entries.remove(0);
        }
        plane
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: f32) -> Arc<DepthMap> {
        Arc::new(DepthMap { width: 1, height: 1, values: vec![v] })
    }

    #[test]
    fn same_maps_and_settings_hit_anything_else_misses() {
        let cache = FrameDepthCache::new(1 << 20);
        let (a, b) = (map(1.0), map(2.0));
        let computed = std::cell::Cell::new(0);
        let get = |window: &[Arc<DepthMap>], stabilizer| {
            cache.get_or_compute(window, 0, stabilizer, (4, 4), || {
                computed.set(computed.get() + 1);
                vec![0.0; 16]
            })
        };
        get(std::slice::from_ref(&a), None);
        get(std::slice::from_ref(&a), None);
        assert_eq!(computed.get(), 1, "same raw map: cached");
        get(&[map(1.0)], None);
        assert_eq!(computed.get(), 2, "equal values in another map are not the same frame");
        get(&[a.clone(), b.clone()], Some((0.8, 2, Motion::Follow)));
        get(&[a.clone(), b.clone()], Some((0.5, 2, Motion::Follow)));
        get(&[a.clone(), b.clone()], Some((0.5, 2, Motion::Static)));
        get(&[a.clone(), b.clone()], Some((0.5, 2, Motion::Static)));
        // A window cut short by scene cuts can hold the same frames at another radius.
        get(&[a.clone(), b.clone()], Some((0.5, 3, Motion::Static)));
        assert_eq!(computed.get(), 6, "window, strength, radius and motion are part of the key");
    }

    #[test]
    fn evicts_the_least_recently_used_beyond_the_budget() {
        let cache = FrameDepthCache::new(2 * 16 * 4);
        let maps: Vec<Arc<DepthMap>> = (0..3).map(|i| map(i as f32)).collect();
        let mut computed = 0;
        for m in [&maps[0], &maps[1], &maps[0], &maps[2], &maps[0], &maps[1]] {
            cache.get_or_compute(std::slice::from_ref(m), 0, None, (4, 4), || {
                computed += 1;
                vec![0.0; 16]
            });
        }
        // 0, 1 computed; 0 hit; 2 computed (evicts 1); 0 hit; 1 computed again.
        assert_eq!(computed, 4);
    }
}
