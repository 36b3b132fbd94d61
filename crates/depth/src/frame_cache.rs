//! The finished 0–1 depth at frame size, cached by the raw maps it was made from, so moving a
//! slider re-renders without normalising, stabilising or resizing again (the raw-depth cache
//! already saves the model run; this saves the rest).
//!
//! Entries are matched by the identity of their raw maps (`Arc` pointers, which the entry keeps
//! alive so they cannot be reused), plus the stabiliser's settings and the frame size: two renders
//! that got the same raw maps from [`crate::DepthCache`] get the same plane.

use std::sync::Arc;

use inference::budget::Lru;

use crate::DepthMap;

/// A least-recently-used cache of frame-size depth planes, bounded in bytes by its own budget and
/// the process-wide one. An entry is charged for its plane and for the raw maps it keeps alive.
pub struct FrameDepthCache {
    entries: Lru<Key, Entry>,
}

/// The raw maps by address (the entry keeps them alive, so no other map can take an address),
/// the target's index, the strength's bits and the frame size.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    window: Vec<usize>,
    target: usize,
    strength: Option<u32>,
    size: (usize, usize),
}

struct Entry {
    /// Held only so the addresses in the key stay these maps'.
    _window: Vec<Arc<DepthMap>>,
    plane: Arc<Vec<f32>>,
}

impl FrameDepthCache {
    /// A cache holding at most `budget_bytes` of planes and the raw maps behind them (the most
    /// recently used are kept).
    pub fn new(budget_bytes: usize) -> FrameDepthCache {
        FrameDepthCache { entries: Lru::new(budget_bytes) }
    }

    /// The plane of frame `window[target]` at `size`, stabilised with `strength` (None: normalised
    /// alone), computing it with `compute` when not cached. One thread computes a missing plane;
    /// others asking for the same one at the same time (tiles of one frame) wait for it.
    pub fn get_or_compute(
        &self,
        window: &[Arc<DepthMap>],
        target: usize,
        strength: Option<f32>,
        size: (usize, usize),
        compute: impl FnOnce() -> Vec<f32>,
    ) -> Arc<Vec<f32>> {
        let key = Key {
            window: window.iter().map(|m| Arc::as_ptr(m) as usize).collect(),
            target,
            strength: strength.map(f32::to_bits),
            size,
        };
        let weigh = |e: &Entry| {
            (e.plane.len() * std::mem::size_of::<f32>()) + e._window.iter().map(|m| m.bytes()).sum::<usize>()
        };
        let entry = self
            .entries
            .get_or_try_insert_with(&key, weigh, || Ok::<_, std::convert::Infallible>(Entry { _window: window.to_vec(), plane: Arc::new(compute()) }));
        match entry {
            Ok(entry) => entry.plane.clone(),
            Err(never) => match never {},
        }
    }

    /// Bytes charged for the entries held.
    pub fn bytes(&self) -> usize {
        self.entries.bytes()
    }

    /// Frees every plane.
    pub fn clear(&self) {
        self.entries.clear();
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
        let get = |window: &[Arc<DepthMap>], strength| {
            cache.get_or_compute(window, 0, strength, (4, 4), || {
                computed.set(computed.get() + 1);
                vec![0.0; 16]
            })
        };
        get(std::slice::from_ref(&a), None);
        get(std::slice::from_ref(&a), None);
        assert_eq!(computed.get(), 1, "same raw map: cached");
        get(&[map(1.0)], None);
        assert_eq!(computed.get(), 2, "equal values in another map are not the same frame");
        get(&[a.clone(), b.clone()], Some(0.8));
        get(&[a.clone(), b.clone()], Some(0.5));
        assert_eq!(computed.get(), 4, "window and strength are part of the key");
    }

    #[test]
    fn evicts_the_least_recently_used_beyond_the_budget() {
        // Room for two entries, each a 4×4 plane plus its 1×1 raw map.
        let cache = FrameDepthCache::new(2 * (16 * 4 + 4));
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

    #[test]
    fn entries_are_charged_for_the_raw_maps_they_keep_alive() {
        let cache = FrameDepthCache::new(1 << 20);
        let raw = Arc::new(DepthMap { width: 10, height: 10, values: vec![0.0; 100] });
        cache.get_or_compute(&[raw.clone(), raw.clone()], 0, Some(0.5), (4, 4), || vec![0.0; 16]);
        assert_eq!(cache.bytes(), 16 * 4 + 2 * 100 * 4);
    }
}
