//! Raw depth cached by the content of the source frame, so moving any slider of the effect (levels,
//! isolate, finesse, output) re-renders without running the model, and temporal stabilisation can
//! fetch a frame's neighbours without recomputing them.
//!
//! Keyed by a hash of the pixels rather than by frame number: the host may hand us the same frame
//! number with new content (an upstream node changed), and the same content under another number.

use std::sync::Arc;

use inference::budget::Lru;

use xxhash_rust::xxh3::Xxh3;

use imaging::SourceColour;

use crate::{DepthMap, Frame, Quality};

/// What identifies a raw depth map: the frame's pixels (a 128-bit XXH3 of their bytes and layout),
/// the quality it was computed at and what colour the pixels are (which changes the network's
/// input, so the depth).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    content: u128,
    quality: Quality,
    colour: SourceColour,
}

impl CacheKey {
    /// The key of a frame whose content hash the caller computed (from the host's own rows, so
    /// a cached frame needs no conversion), whose pixels are `colour`.
    pub fn from_content(content: u128, quality: Quality, colour: SourceColour) -> CacheKey {
        CacheKey { content, quality, colour }
    }

    /// The key of `frame` (display-referred, as [`crate::DepthEstimator::depth`] takes it) at `quality`.
    pub fn new(frame: &Frame<'_>, quality: Quality) -> CacheKey {
        let layout = [frame.width as u64, frame.height as u64, frame.channels as u64];
        let mut hasher = Xxh3::new();
        hasher.update(bytemuck::cast_slice(&layout));
        hasher.update(bytemuck::cast_slice(frame.pixels));
        CacheKey { content: hasher.digest128(), quality, colour: SourceColour::Display }
    }
}

/// A least-recently-used cache of raw depth maps, bounded in bytes by its own budget and by the
/// process-wide one ([`inference::budget`]).
pub struct DepthCache {
    entries: Lru<CacheKey, DepthMap>,
}

impl DepthCache {
    /// A cache holding at most `budget_bytes` of depth values (the most recently used are kept).
    pub fn new(budget_bytes: usize) -> DepthCache {
        DepthCache { entries: Lru::new(budget_bytes) }
    }

    /// The map for `key`, marking it recently used.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<DepthMap>> {
        self.entries.get(key)
    }

    /// Stores `map` under `key`, evicting the least recently used maps beyond the budget.
    pub fn insert(&self, key: CacheKey, map: Arc<DepthMap>) {
        let bytes = map.bytes();
        self.entries.insert(key, map, bytes);
    }

    /// The map for `key`, else `compute`'s, computed by one thread at a time per key: hosts render
    /// neighbouring frames on several threads and their temporal windows overlap, so without this
    /// two threads would run the model on the same frame one after the other.
    pub fn get_or_compute<E>(&self, key: &CacheKey, compute: impl FnOnce() -> Result<DepthMap, E>) -> Result<Arc<DepthMap>, E> {
        self.entries.get_or_try_insert_with(key, DepthMap::bytes, compute)
    }

    /// Frees every map.
    pub fn clear(&self) {
        self.entries.clear();
    }

    /// Number of maps held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: f32) -> Arc<DepthMap> {
        Arc::new(DepthMap { width: 2, height: 2, values: vec![value; 4] })
    }

    fn key(value: f32, quality: Quality) -> CacheKey {
        let pixels = [value; 8];
        CacheKey::new(&Frame { pixels: &pixels, width: 2, height: 1, channels: 4 }, quality)
    }

    #[test]
    fn content_and_quality_make_the_key() {
        assert_eq!(key(0.5, Quality::Better), key(0.5, Quality::Better));
        assert_ne!(key(0.5, Quality::Better), key(0.5, Quality::Faster));
        assert_ne!(key(0.5, Quality::Better), key(0.25, Quality::Better));
        let pixels = [0.5f32; 8];
        let wide = CacheKey::new(&Frame { pixels: &pixels, width: 2, height: 1, channels: 4 }, Quality::Better);
        let tall = CacheKey::new(&Frame { pixels: &pixels, width: 1, height: 2, channels: 4 }, Quality::Better);
        assert_ne!(wide, tall, "same bytes, different layout");
    }

    #[test]
    fn least_recently_used_is_evicted_beyond_the_budget() {
        let cache = DepthCache::new(3 * 16); // three 2×2 maps
        for v in [1.0, 2.0, 3.0] {
            cache.insert(key(v, Quality::Better), map(v));
        }
        assert!(cache.get(&key(1.0, Quality::Better)).is_some()); // 1 is now the most recent
        cache.insert(key(4.0, Quality::Better), map(4.0));
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key(2.0, Quality::Better)).is_none(), "2 was the least recently used");
        assert!(cache.get(&key(1.0, Quality::Better)).is_some());
        assert!(cache.get(&key(4.0, Quality::Better)).is_some());
    }
}
