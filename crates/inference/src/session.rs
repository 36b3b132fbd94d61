//! Opened models, shared across effect instances and threads.
//!
//! Opening a model costs from a fraction of a second (CPU) to minutes (a TensorRT engine build), so
//! each (file, contract, options) is opened once per process and handed out as an `Arc<Model>`.
//! A failed open is not remembered: installing the missing piece and rendering again is enough.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use ort::ep::{self, ExecutionProvider};
use ort::session::{Session, SessionInputValue};
use ort::value::{Outlet, TensorRef, ValueType};

use crate::{Backend, BackendReport, Contract, InferenceError, Runtime, TensorInfo, INSTALL_COMMAND};

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

static MODELS: LazyLock<Mutex<HashMap<CacheKey, Arc<Model>>>> = LazyLock::new(Default::default);

/// Model runs in this process, every model counted: tests and benchmarks check that cached
/// renders run none (the plugin exports it as `DeepMatteModelRuns`).
static MODEL_RUNS: AtomicU64 = AtomicU64::new(0);

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
        let mut models = MODELS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(model) = models.get(&key) {
            return Ok(model.clone());
        }
        let model = Arc::new(open_model(self, path, contract, options)?);
        log::info!("{} model {} runs on {}", contract.name, path.display(), model.backend);
        models.insert(key, model.clone());
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
    let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    InferenceError::ModelMissing {
        file: path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        install: format!("{INSTALL_COMMAND} --dest {}", folder.display()),
        folder,
    }
}

/// Tries each backend in [`Backend::PREFERENCE`] order with errors surfaced, then checks the contract.
fn open_model(runtime: &Runtime, path: &Path, contract: &Contract, options: &SessionOptions) -> Result<Model, InferenceError> {
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
                let install = format!("{INSTALL_COMMAND} --dest {}", path.parent().unwrap_or(Path::new(".")).display());
                let detail = detail.trim_end_matches('.').to_owned();
                return Err(InferenceError::CorruptModel { path: path.to_path_buf(), detail, install });
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
            ensure_in_build::<ep::TensorRT>("TensorRT", "TensorRT 10 and ")?;
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

/// An error naming what to install when the loaded ONNX Runtime was built without provider `E`.
fn ensure_in_build<E: ExecutionProvider>(name: &str, extra_libraries: &str) -> Result<(), String> {
    match E::is_available() {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "not available (the loaded ONNX Runtime is a build without {name}; use the onnxruntime-gpu 1.31.1 \
             library with {extra_libraries}CUDA 13 (NVIDIA driver r580 or newer) and cuDNN 9 installed)"
        )),
        Err(e) => Err(format!("not available ({e})")),
    }
}

fn describe(outlet: &Outlet) -> TensorInfo {
    match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => {
            TensorInfo { name: outlet.name().to_owned(), dtype: ty.to_string(), shape: shape.to_vec() }
        }
        other => TensorInfo { name: outlet.name().to_owned(), dtype: format!("{other:?}"), shape: Vec::new() },
    }
}
