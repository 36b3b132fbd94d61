//! Opened models, shared across effect instances and threads.
//!
//! Opening a model costs from a fraction of a second (CPU) to minutes (a TensorRT engine build), so
//! each (file, contract, options) is opened once per process and handed out as an `Arc<Model>`.
//! Only callers of the model being opened wait for it: the registry's lock is held to find or make
//! the model's slot, never while a model opens. A failed open is not remembered: installing the
//! missing piece and rendering again is enough.
//!
//! Opened models are a [`crate::budget::Pool`] weighing their file size: when the process-wide
//! budget needs room, the least recently used model leaves the registry, and its session closes as
//! soon as no render holds it (callers keep an `Arc<Model>` only for the length of a render).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use ort::ep::{self, ExecutionProvider};
use ort::session::{Session, SessionInputValue};
use ort::value::{Outlet, TensorRef, ValueType};

use crate::{paths, Backend, BackendReport, Contract, InferenceError, Runtime, TensorInfo};

/// How a model is opened; part of the session cache key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SessionOptions {
    /// Use the CPU even where a GPU backend works (comparable test and benchmark figures).
    pub cpu_only: bool,
    /// Where TensorRT keeps the engines it builds; default `<temp dir>/deepmatte-tensorrt`.
    pub tensorrt_cache: Option<PathBuf>,
    /// Threads ONNX Runtime uses inside one operator; default: ONNX Runtime's choice.
    pub intra_threads: Option<usize>,
}

/// A borrowed f32 input tensor.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    /// Dimensions.
    pub shape: &'a [usize],
    /// Row-major elements.
    pub data: &'a [f32],
}

/// An f32 output tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major elements.
    pub data: Vec<f32>,
}

/// An opened model that passed its contract. Runs are serialised per model (ONNX Runtime already
/// spreads one run over all cores).
pub struct Model {
    path: PathBuf,
    /// The same for every opening of one file (unchanged on disk) with one contract and options,
    /// so caches of results can outlive a session the budget closed.
    identity: u64,
    /// What the budget charges for the open session: the file's size (the weights ONNX Runtime
    /// keeps in memory).
    bytes: usize,
    /// [`crate::budget::tick`] of the last open or run, for least-recently-used closing.
    used: AtomicU64,
    session: Mutex<Session>,
    backend: BackendReport,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("path", &self.path).field("backend", &self.backend.to_string()).finish()
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    contract: &'static str,
    options: SessionOptions,
}

/// The opened models of the process, registered with the budget.
static MODELS: LazyLock<Arc<Openings<CacheKey, Model>>> = LazyLock::new(|| {
    let openings = Arc::new(Openings::default());
    let weak: std::sync::Weak<Openings<CacheKey, Model>> = Arc::downgrade(&openings);
    crate::budget::register(weak);
    openings
});

/// What the budget needs to know of an opened value.
trait Opened: Send + Sync {
    fn bytes(&self) -> usize;
    fn last_used(&self) -> u64;
}

impl Opened for Model {
    fn bytes(&self) -> usize {
        self.bytes
    }
    fn last_used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// Values opened once per key, where an opening of one key never waits for another key's: each
/// key has its own slot, and only the slot is locked while its value opens.
struct Openings<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
}

/// One key's value: locked while it opens, `None` until it has.
type Slot<V> = Arc<Mutex<Option<Arc<V>>>>;

impl<K, V> Default for Openings<K, V> {
    fn default() -> Self {
        Openings { slots: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone, V> Openings<K, V> {
    /// The value for `key`, opening it with `open` when no thread has; callers for the same key
    /// wait for that one opening, callers for other keys do not.
    fn get_or_open<E>(&self, key: &K, open: impl FnOnce() -> Result<Arc<V>, E>) -> Result<Arc<V>, E> {
        let slot = self.slots.lock().unwrap_or_else(|p| p.into_inner()).entry(key.clone()).or_default().clone();
        let mut value = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(opened) = value.as_ref() {
            return Ok(opened.clone());
        }
        match open() {
            Ok(opened) => {
                *value = Some(opened.clone());
                Ok(opened)
            }
            Err(e) => {
                drop(value);
                // Not remembered; a slot another thread refilled meanwhile stays.
                let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
                if slots.get(key).is_some_and(|s| Arc::ptr_eq(s, &slot) && s.try_lock().is_ok_and(|v| v.is_none())) {
                    slots.remove(key);
                }
                Err(e)
            }
        }
    }

    /// The opened values (slots still opening are skipped: they are in use).
    fn opened(&self) -> Vec<(K, Arc<V>)> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.iter().filter_map(|(k, s)| s.try_lock().ok().and_then(|v| v.clone()).map(|v| (k.clone(), v))).collect()
    }

    fn remove(&self, key: &K) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

impl<K: Eq + Hash + Clone + Send + Sync, V: Opened> crate::budget::Pool for Openings<K, V> {
    fn bytes(&self) -> usize {
        self.opened().iter().map(|(_, v)| v.bytes()).sum()
    }

    fn oldest(&self) -> Option<u64> {
        self.opened().iter().map(|(_, v)| v.last_used()).min()
    }

    fn evict_oldest(&self) -> bool {
        match self.opened().into_iter().min_by_key(|(_, v)| v.last_used()) {
            Some((key, _)) => {
                self.remove(&key);
                true
            }
            None => false,
        }
    }

    fn purge(&self) {
        for (key, _) in self.opened() {
            self.remove(&key);
        }
    }
}

/// Model runs in this process, every model counted: tests and benchmarks check that cached
/// renders run none (the plugin exports it as `DeepMatteModelRuns`).
static MODEL_RUNS: AtomicU64 = AtomicU64::new(0);

/// Counts one run made elsewhere in the crate (device runs).
pub(crate) fn count_run() {
    MODEL_RUNS.fetch_add(1, Ordering::Relaxed);
}

/// How many times any model has run in this process.
pub fn model_runs() -> u64 {
    MODEL_RUNS.load(Ordering::Relaxed)
}

impl Runtime {
    /// The model at `path`, opened on the fastest backend that works and checked against `contract`.
    /// The same file (unchanged on disk), contract and options give the same shared [`Model`].
    pub fn open(&self, path: &Path, contract: &Contract, options: &SessionOptions) -> Result<Arc<Model>, InferenceError> {
        let metadata = std::fs::metadata(path).map_err(|_| missing(path))?;
        let key = CacheKey {
            path: path.to_path_buf(),
            len: metadata.len(),
            modified: metadata.modified().ok(),
            contract: contract.name,
            options: options.clone(),
        };
        let mut opened_now = false;
        let model = MODELS.get_or_open(&key, || {
            opened_now = true;
            let identity = {
                use std::hash::BuildHasher;
                std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(&key)
            };
            let model = Arc::new(open_model(self, path, contract, options, identity)?);
            log::info!("{} model {} runs on {}", contract.name, path.display(), model.backend);
            Ok(model)
        })?;
        model.used.store(crate::budget::tick(), Ordering::Relaxed);
        if opened_now {
            crate::budget::enforce();
        }
        Ok(model)
    }
}

impl Model {
    /// The backend in use and why faster ones are not.
    pub fn backend(&self) -> &BackendReport {
        &self.backend
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Equal for every opening of the same unchanged file with the same contract and options.
    pub fn identity(&self) -> u64 {
        self.identity
    }

    /// The file's inputs, as read when it was opened.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The file's outputs, as read when it was opened.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Runs the model on `inputs` (in the contract's order) and returns every output, in order.
    pub fn run(&self, inputs: &[TensorView<'_>]) -> Result<Vec<Tensor>, InferenceError> {
        let failed = |e: ort::Error| InferenceError::Run { path: self.path.clone(), detail: e.to_string() };
        let values = inputs
            .iter()
            .map(|t| TensorRef::from_array_view((t.shape, t.data)).map(SessionInputValue::from))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        self.used.store(crate::budget::tick(), Ordering::Relaxed);
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session.run(values.as_slice()).map_err(failed)?;
        MODEL_RUNS.fetch_add(1, Ordering::Relaxed);
        outputs
            .values()
            .map(|value| {
                let (shape, data) = value.try_extract_tensor::<f32>().map_err(failed)?;
                Ok(Tensor { shape: shape.iter().map(|&d| d as usize).collect(), data: data.to_vec() })
            })
            .collect()
    }
}

fn missing(path: &Path) -> InferenceError {
    let folder = path.parent().unwrap_or(Path::new("."));
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    InferenceError::ModelMissing { remedy: paths::remedy(&file, folder), searched: folder.display().to_string(), file }
}

/// Tries each backend in [`Backend::PREFERENCE`] order with errors surfaced, then checks the contract.
fn open_model(runtime: &Runtime, path: &Path, contract: &Contract, options: &SessionOptions, identity: u64) -> Result<Model, InferenceError> {
    let mut passed_over = Vec::new();
    for backend in Backend::PREFERENCE {
        if options.cpu_only && backend != Backend::Cpu {
            passed_over.push((backend, "not tried (CPU only requested)".to_owned()));
            continue;
        }
        let session = match build_session(runtime, path, backend, options) {
            Ok(session) => session,
            Err(why) if backend != Backend::Cpu => {
                passed_over.push((backend, why));
                continue;
            }
            Err(detail) => {
                let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                let remedy = paths::remedy(&file, path.parent().unwrap_or(Path::new(".")));
                let detail = detail.trim_end_matches('.').to_owned();
                return Err(InferenceError::CorruptModel { path: path.to_path_buf(), detail, remedy });
            }
        };
        let inputs: Vec<TensorInfo> = session.inputs().iter().map(describe).collect();
        let outputs: Vec<TensorInfo> = session.outputs().iter().map(describe).collect();
        let problems = contract.check(&inputs, &outputs);
        if !problems.is_empty() {
            return Err(InferenceError::ContractMismatch {
                path: path.to_path_buf(),
                contract: contract.name.to_owned(),
                problems,
            });
        }
        return Ok(Model {
            path: path.to_path_buf(),
            identity,
            bytes: std::fs::metadata(path).map_or(0, |m| m.len() as usize),
            used: AtomicU64::new(0),
            session: Mutex::new(session),
            backend: BackendReport { used: backend, passed_over },
            inputs,
            outputs,
        });
    }
    unreachable!("Backend::PREFERENCE ends with the CPU, which either opens the model or returns an error")
}

/// A session on exactly `backend`, or why not (registration errors are returned, never swallowed).
fn build_session(runtime: &Runtime, path: &Path, backend: Backend, options: &SessionOptions) -> Result<Session, String> {
    let provider = match backend {
        Backend::TensorRt => {
            ensure_in_build::<ep::TensorRT>("TensorRT", "TensorRT 10 for CUDA 13 is not on PyPI: install it from NVIDIA")?;
            let cache = options.tensorrt_cache.clone().unwrap_or_else(|| std::env::temp_dir().join("deepmatte-tensorrt"));
            let tensorrt = ep::TensorRT::default()
                .with_engine_cache(true)
                .with_engine_cache_path(cache.display())
                .with_timing_cache(true)
                .with_fp16(true);
            Some(tensorrt.build().error_on_failure())
        }
        Backend::Cuda => {
            ensure_in_build::<ep::CUDA>("CUDA", "")?;
            Some(ep::CUDA::default().build().error_on_failure())
        }
        Backend::Cpu => None,
    };
    // ONNX Runtime's threads spin after a run by default, starving the host and our own
    // pre/post-processing of the cores they need right then.
    let mut builder = Session::builder(&runtime.environment)
        .map_err(|e| e.to_string())?
        .with_intra_op_spinning(false)
        .map_err(|e| e.to_string())?;
    if let Some(threads) = options.intra_threads {
        builder = builder.with_intra_threads(threads).map_err(|e| e.to_string())?;
    }
    if let Some(provider) = provider {
        builder = builder.with_execution_providers([provider]).map_err(|e| format!("failed to start: {e}"))?;
    }
    builder.commit_from_file(path).map_err(|e| match backend {
        Backend::Cpu => e.to_string(),
        _ => format!("failed to start: {e}"),
    })
}

/// An error naming what to install when the loaded ONNX Runtime was built without provider `E`
/// (`note`, when not empty, is added: what else that provider needs).
fn ensure_in_build<E: ExecutionProvider>(name: &str, note: &str) -> Result<(), String> {
    let note = if note.is_empty() { String::new() } else { format!("; {note}") };
    match E::is_available() {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "not available (the loaded ONNX Runtime is a build without {name}; run `{}` for ONNX Runtime GPU \
             1.31.1 with CUDA 13 and cuDNN 9 (NVIDIA driver r580 or newer){note})",
            crate::gpu_runtime::INSTALL_COMMAND
        )),
        Err(e) => Err(format!("not available ({e})")),
    }
}

pub(crate) fn describe(outlet: &Outlet) -> TensorInfo {
    match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => {
            TensorInfo { name: outlet.name().to_owned(), dtype: ty.to_string(), shape: shape.to_vec() }
        }
        other => TensorInfo { name: outlet.name().to_owned(), dtype: format!("{other:?}"), shape: Vec::new() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A model whose opening hangs (a TensorRT build, a slow disk) holds up only its own callers.
    #[test]
    fn a_slow_opening_blocks_only_its_own_model() {
        let openings: Openings<&str, u32> = Openings::default();
        let (release, released) = mpsc::channel::<()>();
        let (fast_done, fast_finished) = mpsc::channel::<u32>();
        let opened_slow = AtomicU64::new(0);
        let (openings, opened_slow_ref) = (&openings, &opened_slow);
        std::thread::scope(|s| {
            s.spawn(move || {
                let v = openings.get_or_open(&"slow", || {
                    opened_slow_ref.fetch_add(1, Ordering::SeqCst);
                    released.recv().ok();
                    Ok::<_, ()>(Arc::new(1))
                });
                assert_eq!(*v.unwrap(), 1);
            });
            // Let the slow opening start and take its slot.
            while opened_slow.load(Ordering::SeqCst) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let waiter = s.spawn(|| *openings.get_or_open(&"slow", || Ok::<_, ()>(Arc::new(99))).unwrap());
            s.spawn(move || {
                let v = openings.get_or_open(&"fast", || Ok::<_, ()>(Arc::new(2))).unwrap();
                fast_done.send(*v).unwrap();
            });
            let fast = fast_finished.recv_timeout(Duration::from_secs(10));
            assert_eq!(fast, Ok(2), "the fast model opened while the slow one was still opening");
            release.send(()).unwrap();
            assert_eq!(waiter.join().unwrap(), 1, "a second caller of the slow model waited for its one opening");
        });
        assert_eq!(opened_slow.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_opening_is_not_remembered() {
        let openings: Openings<&str, u32> = Openings::default();
        assert!(openings.get_or_open(&"m", || Err::<Arc<u32>, _>("missing")).is_err());
        assert!(openings.opened().is_empty());
        assert_eq!(*openings.get_or_open(&"m", || Ok::<_, ()>(Arc::new(3))).unwrap(), 3);
    }

    struct Weighed(usize, u64);
    impl Opened for Weighed {
        fn bytes(&self) -> usize {
            self.0
        }
        fn last_used(&self) -> u64 {
            self.1
        }
    }

    #[test]
    fn the_least_recently_used_model_closes_first() {
        use crate::budget::Pool;
        let openings: Openings<&str, Weighed> = Openings::default();
        for (key, used) in [("a", 5), ("b", 2), ("c", 9)] {
            openings.get_or_open(&key, || Ok::<_, ()>(Arc::new(Weighed(100, used)))).unwrap();
        }
        assert_eq!(openings.bytes(), 300);
        assert_eq!(openings.oldest(), Some(2));
        assert!(openings.evict_oldest());
        let mut left: Vec<&str> = openings.opened().into_iter().map(|(k, _)| k).collect();
        left.sort();
        assert_eq!(left, ["a", "c"]);
        openings.purge();
        assert_eq!(openings.bytes(), 0);
    }
}
