//! One memory budget for every cache in the process.
//!
//! A host process runs many instances of several effects for hours, so the caches that make
//! re-renders cheap (raw depth, finished planes, saliency maps, decoded masks) and the opened models
//! must not each keep what they like: they all draw on one budget (default 2 GiB,
//! `DEEPMATTE_CACHE_MB` overrides it). When an insertion takes the total over it, the least recently
//! used entry of the whole process goes first, whichever cache holds it; opened models count their
//! file size and close the same way when they are the least recently used. [`purge`] empties
//! everything (the host's PurgeCaches action).
//!
//! A cache is an [`Lru`] (or, for the opened models, any [`Pool`]) that registers itself here.
//! The budget never holds a cache's lock while it takes another's: a pool's methods lock only that
//! pool, and a cache calls [`enforce`] only after releasing its own lock.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, Weak};

/// Anything holding memory the budget may take back, entry by entry.
pub trait Pool: Send + Sync {
    /// Bytes held now.
    fn bytes(&self) -> usize;
    /// The [`tick`] at which the least recently used entry that can be freed was last used.
    fn oldest(&self) -> Option<u64>;
    /// Frees the least recently used entry; false when nothing could be freed.
    fn evict_oldest(&self) -> bool;
    /// Frees every entry.
    fn purge(&self);
}

/// Default budget when `DEEPMATTE_CACHE_MB` is not set: room for about 130 Better-quality raw
/// depth maps, 100 finished 1080p planes and the opened models together.
const DEFAULT_BYTES: usize = 2 << 30;

static POOLS: Mutex<Vec<Weak<dyn Pool>>> = Mutex::new(Vec::new());
static CLOCK: AtomicU64 = AtomicU64::new(0);
/// Serialises evictions so two threads do not both free for the same shortfall.
static ENFORCING: Mutex<()> = Mutex::new(());
static LIMIT: LazyLock<AtomicUsize> = LazyLock::new(|| {
    let from_env = std::env::var("DEEPMATTE_CACHE_MB").ok().and_then(|v| v.trim().parse::<usize>().ok());
    AtomicUsize::new(from_env.map_or(DEFAULT_BYTES, |mb| mb.saturating_mul(1 << 20)))
});

/// A new point on the process-wide use clock: later uses get larger ticks.
pub fn tick() -> u64 {
    CLOCK.fetch_add(1, Ordering::Relaxed) + 1
}

/// The process-wide budget in bytes.
pub fn limit() -> usize {
    LIMIT.load(Ordering::Relaxed)
}

/// Changes the budget (tests, and hosts that say how much memory they allow), then frees what
/// exceeds it.
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
    enforce();
}

/// Adds `pool` to the budget; it leaves by itself when dropped.
pub fn register(pool: Weak<dyn Pool>) {
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    pools.retain(|p| p.strong_count() > 0);
    pools.push(pool);
}

fn live_pools() -> Vec<Arc<dyn Pool>> {
    POOLS.lock().unwrap_or_else(|p| p.into_inner()).iter().filter_map(Weak::upgrade).collect()
}

/// Bytes held by every registered pool.
pub fn used() -> usize {
    live_pools().iter().map(|p| p.bytes()).sum()
}

/// Frees least-recently-used entries, across every pool, until the total fits the budget.
pub fn enforce() {
    let _one_at_a_time = ENFORCING.lock().unwrap_or_else(|p| p.into_inner());
    let pools = live_pools();
    let limit = limit();
    loop {
        if pools.iter().map(|p| p.bytes()).sum::<usize>() <= limit {
            return;
        }
        let victim = pools.iter().filter_map(|p| p.oldest().map(|t| (t, p))).min_by_key(|(t, _)| *t);
        match victim {
            Some((_, pool)) if pool.evict_oldest() => {}
            _ => return,
        }
    }
}

/// Frees every cache and every model not in use (the host's PurgeCaches action).
pub fn purge() {
    for pool in live_pools() {
        pool.purge();
    }
}

/// A least-recently-used cache of shared values, bounded by its own byte budget and by the
/// process-wide one, that computes each missing key once however many threads ask at the same time.
pub struct Lru<K, V> {
    inner: Arc<LruInner<K, V>>,
}

struct LruInner<K, V> {
    own_limit: usize,
    /// Whether its bytes count in the process-wide budget (host memory) or only in its own limit.
    counted: bool,
    state: Mutex<LruState<K, V>>,
    finished: Condvar,
}

struct LruState<K, V> {
    entries: HashMap<K, LruEntry<V>>,
    bytes: usize,
    in_flight: HashSet<K>,
}

struct LruEntry<V> {
    value: Arc<V>,
    bytes: usize,
    used: u64,
}

impl<K, V> LruState<K, V>
where
    K: Eq + Hash + Clone,
{
    fn oldest_key(&self) -> Option<(K, u64)> {
        self.entries.iter().min_by_key(|(_, e)| e.used).map(|(k, e)| (k.clone(), e.used))
    }

    fn remove(&mut self, key: &K) -> bool {
        match self.entries.remove(key) {
            Some(e) => {
                self.bytes -= e.bytes;
                true
            }
            None => false,
        }
    }
}

impl<K, V> Pool for LruInner<K, V>
where
    K: Eq + Hash + Clone + Send + Sync,
    V: Send + Sync,
{
    fn bytes(&self) -> usize {
        if !self.counted {
            return 0;
        }
        self.state.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    fn oldest(&self) -> Option<u64> {
        if !self.counted {
            return None;
        }
        self.state.lock().unwrap_or_else(|p| p.into_inner()).oldest_key().map(|(_, t)| t)
    }

    fn evict_oldest(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.oldest_key() {
            Some((key, _)) => state.remove(&key),
            None => false,
        }
    }

    fn purge(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.entries.clear();
        state.bytes = 0;
    }
}

/// Removes a key from the in-flight set when its computation ends, even by an error or a panic.
struct InFlight<'a, K: Eq + Hash, V> {
    inner: &'a LruInner<K, V>,
    key: Option<K>,
}

impl<K: Eq + Hash, V> Drop for InFlight<'_, K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.inner.state.lock().unwrap_or_else(|p| p.into_inner()).in_flight.remove(&key);
            self.inner.finished.notify_all();
        }
    }
}

impl<K, V> Lru<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    /// A cache holding at most `own_limit` bytes itself, registered with the process-wide budget.
    pub fn new(own_limit: usize) -> Lru<K, V> {
        Lru::registered(own_limit, true)
    }

    /// A cache of memory that is not the process's (device buffers): bounded by `own_limit` only,
    /// outside the process-wide budget, and emptied by [`purge`] like every other.
    pub fn outside_budget(own_limit: usize) -> Lru<K, V> {
        Lru::registered(own_limit, false)
    }

    fn registered(own_limit: usize, counted: bool) -> Lru<K, V> {
        let inner = Arc::new(LruInner {
            own_limit,
            counted,
            state: Mutex::new(LruState { entries: HashMap::new(), bytes: 0, in_flight: HashSet::new() }),
            finished: Condvar::new(),
        });
        let weak: Weak<LruInner<K, V>> = Arc::downgrade(&inner);
        register(weak);
        Lru { inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruState<K, V>> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value for `key`, marking it recently used.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let mut state = self.lock();
        state.entries.get_mut(key).map(|e| {
            e.used = tick();
            e.value.clone()
        })
    }

    /// Stores `value` (weighing `bytes`) under `key`, then frees what exceeds this cache's own
    /// budget (keeping at least the new entry) and the process-wide one.
    pub fn insert(&self, key: K, value: Arc<V>, bytes: usize) {
        {
            let mut state = self.lock();
            state.remove(&key);
            state.bytes += bytes;
            state.entries.insert(key.clone(), LruEntry { value, bytes, used: tick() });
            while state.bytes > self.inner.own_limit && state.entries.len() > 1 {
                let Some((oldest, _)) = state.entries.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.used).map(|(k, e)| (k.clone(), e.used))
                else {
                    break;
                };
                state.remove(&oldest);
            }
        }
        enforce();
    }

    /// The value for `key`, else `compute`'s (weighed by `weigh`), computed by one thread at a time
    /// per key: a thread that finds the key being computed waits for it, then reads the cache (and
    /// takes over when the computation failed).
    pub fn get_or_try_insert_with<E>(
        &self,
        key: &K,
        weigh: impl FnOnce(&V) -> usize,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        {
            let mut state = self.lock();
            loop {
                if let Some(e) = state.entries.get_mut(key) {
                    e.used = tick();
                    return Ok(e.value.clone());
                }
                if !state.in_flight.contains(key) {
                    state.in_flight.insert(key.clone());
                    break;
                }
                state = self.inner.finished.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        }
        let _in_flight = InFlight { inner: &self.inner, key: Some(key.clone()) };
        let value = Arc::new(compute()?);
        let bytes = weigh(&value);
        self.insert(key.clone(), value.clone(), bytes);
        Ok(value)
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.inner.purge();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// The process-wide budget is shared by every test of this binary; tests that change it hold this.
    static BUDGET: Mutex<()> = Mutex::new(());

    #[test]
    fn own_limit_evicts_least_recently_used() {
        let _guard = BUDGET.lock().unwrap_or_else(|p| p.into_inner());
        let cache: Lru<u32, u32> = Lru::new(30);
        for k in 0..3 {
            cache.insert(k, Arc::new(k), 10);
        }
        assert!(cache.get(&0).is_some());
        cache.insert(3, Arc::new(3), 10);
        assert!(cache.get(&1).is_none(), "1 was the least recently used");
        assert!(cache.get(&0).is_some() && cache.get(&2).is_some() && cache.get(&3).is_some());
        assert_eq!(cache.bytes(), 30);
    }

    #[test]
    fn a_cache_outside_the_budget_keeps_its_own_limit_and_empties_on_purge() {
        let _guard = BUDGET.lock().unwrap_or_else(|p| p.into_inner());
        let before = limit();
        let device: Lru<u32, ()> = Lru::outside_budget(25);
        let host: Lru<u32, ()> = Lru::new(usize::MAX);
        set_limit(used() + 10);
        device.insert(1, Arc::new(()), 10);
        device.insert(2, Arc::new(()), 10);
        host.insert(1, Arc::new(()), 10);
        assert_eq!(device.len(), 2, "the host budget takes nothing from it");
        assert_eq!(host.len(), 1, "nor does it take room from the host's caches");
        device.insert(3, Arc::new(()), 10);
        assert!(device.get(&1).is_none() && device.len() == 2, "its own limit holds");
        purge();
        assert!(device.is_empty() && host.is_empty());
        set_limit(before);
    }

    #[test]
    fn the_process_budget_evicts_across_caches_oldest_first() {
        let _guard = BUDGET.lock().unwrap_or_else(|p| p.into_inner());
        let before = limit();
        let a: Lru<u32, ()> = Lru::new(usize::MAX);
        let b: Lru<u32, ()> = Lru::new(usize::MAX);
        set_limit(used() + 40);
        a.insert(1, Arc::new(()), 10);
        b.insert(1, Arc::new(()), 10);
        a.insert(2, Arc::new(()), 10);
        b.insert(2, Arc::new(()), 10);
        assert!(a.get(&1).is_some(), "a:1 is now the most recently used");
        b.insert(3, Arc::new(()), 10);
        assert!(b.get(&1).is_none(), "b:1 was the oldest in the process");
        assert!(a.get(&1).is_some() && a.get(&2).is_some() && b.get(&2).is_some() && b.get(&3).is_some());
        a.insert(3, Arc::new(()), 10);
        // The checks above used a:1, a:2, b:2, b:3 in that order: a:1 is now the oldest.
        assert!(a.get(&1).is_none(), "one more entry evicted the process's oldest");
        assert!(a.get(&2).is_some() && b.get(&2).is_some() && b.get(&3).is_some() && a.get(&3).is_some());
        set_limit(before);
    }

    #[test]
    fn purge_empties_every_registered_cache() {
        let _guard = BUDGET.lock().unwrap_or_else(|p| p.into_inner());
        let a: Lru<u32, ()> = Lru::new(usize::MAX);
        a.insert(1, Arc::new(()), 10);
        purge();
        assert!(a.is_empty());
        assert_eq!(a.bytes(), 0);
    }

    #[test]
    fn concurrent_misses_compute_once_and_a_failure_hands_over() {
        let _guard = BUDGET.lock().unwrap_or_else(|p| p.into_inner());
        let cache: Lru<u32, u32> = Lru::new(usize::MAX);
        let computed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = cache.get_or_try_insert_with(&7, |_| 4, || {
                        computed.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        Ok::<_, ()>(70)
                    });
                    assert_eq!(*v.unwrap(), 70);
                });
            }
        });
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        let failed = cache.get_or_try_insert_with(&8, |_| 4, || Err::<u32, _>("no"));
        assert!(failed.is_err());
        assert_eq!(*cache.get_or_try_insert_with(&8, |_| 4, || Ok::<_, ()>(80)).unwrap(), 80, "a failure is not remembered");
    }
}
