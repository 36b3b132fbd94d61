//! Models on ONNX Runtime's CUDA execution provider whose input and output stay in device memory:
//! the CUDA render path (Depth Map on Resolve) fills the input with a kernel and reads the output
//! with kernels, and no frame crosses to the host.
//!
//! A [`DeviceModel`] is one session per (file, contract, device, stream): the CUDA provider runs on
//! the stream it was built with (`user_compute_stream`), the plugin's own stream of the host's
//! context, which the caller orders against the host's stream with events both ways. Runs use
//! `disable_device_sync` (no host wait at the end of a run), the input is a tensor ONNX Runtime's
//! CUDA allocator made (so binding it copies nothing) and the output is bound to the device. The
//! arena is capped ([`GPU_MEMORY_LIMIT`]) and grows only by what is asked (`SameAsRequested`):
//! inside a host, the GPU is shared with the host's own work.
//!
//! A session that cannot be built (no ONNX Runtime GPU library, no CUDA libraries, CUDA error 35
//! or 100 at commit) is that backend failing: the reason is kept for the process (retrying every
//! frame would cost a session build each time; installing the GPU runtime needs a host restart
//! anyway) and the caller renders on the CPU.
//!
//! Nothing here is `unsafe`: device memory is only addressed through ONNX Runtime's own tensors,
//! and the caller's kernels (crates/gpu) read and write them by address.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ort::ep::{self, ArbitrarilyConfigurableExecutionProvider, ExecutionProvider};
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{RunOptions, Session};
use ort::value::{Tensor, TensorValueType, ValueType};

use crate::{Contract, InferenceError, Runtime, TensorInfo};
use crate::session::describe;

/// The most device memory ONNX Runtime's arena takes for one model (Depth Anything V2 Small at 4K
/// input sizes stays far below).
pub const GPU_MEMORY_LIMIT: usize = 4 << 30;

/// A model on the CUDA execution provider of one device, computing on one stream.
pub struct DeviceModel {
    path: PathBuf,
    session: Mutex<Session>,
    input: String,
    output: String,
    device_id: i32,
}

impl std::fmt::Debug for DeviceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceModel").field("path", &self.path).field("device_id", &self.device_id).finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
struct DeviceKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    contract: &'static str,
    device_id: i32,
    stream: u64,
}

/// Opened device models and remembered failures, by key.
type Opened = Result<Arc<DeviceModel>, String>;
static DEVICE_MODELS: Mutex<Vec<(DeviceKey, Opened)>> = Mutex::new(Vec::new());

/// The model's device output, valid while the closure given to [`DeviceModel::run`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceOutput {
    /// The device address of the first f32.
    pub ptr: u64,
    /// Its dimensions.
    pub shape: [usize; 3],
}

impl Runtime {
    /// The model at `path` on the CUDA provider of device `device_id`, computing on `stream` (a
    /// stream that lives as long as the process: the session keeps using it), checked against
    /// `contract` (one input, one output). `Err` is the reason CUDA cannot run it here, the same
    /// for the rest of the process.
    pub fn open_on_device(&self, path: &Path, contract: &Contract, device_id: i32, stream: u64) -> Result<Arc<DeviceModel>, String> {
        let metadata = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let key = DeviceKey {
            path: path.to_path_buf(),
            len: metadata.len(),
            modified: metadata.modified().ok(),
            contract: contract.name,
            device_id,
            stream,
        };
        // Held while a session builds: device sessions are built once per process and device.
        let mut all = DEVICE_MODELS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, opened)) = all.iter().find(|(k, _)| *k == key) {
            return opened.clone();
        }
        let opened = build(self, path, contract, device_id, stream).map(Arc::new);
        match &opened {
            Ok(_) => log::info!("{} model {} runs on CUDA device {device_id} (device tensors)", contract.name, path.display()),
            Err(why) => log::warn!("{} model {} cannot run on CUDA device {device_id}: {why}", contract.name, path.display()),
        }
        all.push((key, opened.clone()));
        opened
    }
}

impl Runtime {
    /// Whether models can run on CUDA device tensors in this process: the loaded ONNX Runtime has
    /// the CUDA provider (the GPU runtime's, or one `DEEPMATTE_ORT_LIB` names) and, with a GPU
    /// runtime in use, its CUDA libraries loaded. `Err` says
    /// what is missing, for a log and a Status line.
    pub fn cuda_ready(&self) -> Result<(), String> {
        let install = crate::gpu_runtime::INSTALL_COMMAND;
        if let Some(gpu) = self.gpu_runtime() {
            gpu.preload.clone()?;
        }
        match ep::CUDA::is_available() {
            Ok(true) => Ok(()),
            Ok(false) if self.gpu_runtime().is_none() => Err(format!("no GPU runtime installed (run `{install}`)")),
            Ok(false) => Err(format!("the loaded ONNX Runtime has no CUDA provider (run `{install}` again)")),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn build(runtime: &Runtime, path: &Path, contract: &Contract, device_id: i32, stream: u64) -> Result<DeviceModel, String> {
    match ep::CUDA::is_available() {
        Ok(true) => {}
        Ok(false) => return Err(format!("the loaded ONNX Runtime has no CUDA provider (run `{}`)", crate::gpu_runtime::INSTALL_COMMAND)),
        Err(e) => return Err(e.to_string()),
    }
    if stream == 0 {
        return Err("no stream for ONNX Runtime".into());
    }
    let cuda = ep::CUDA::default()
        .with_device_id(device_id)
        .with_memory_limit(GPU_MEMORY_LIMIT)
        .with_arena_extend_strategy(ep::ArenaExtendStrategy::SameAsRequested)
        .with_conv_algorithm_search(ep::cuda::ConvAlgorithmSearch::Heuristic)
        // ort's `with_compute_stream` spelled out: the stream is the plugin's, never destroyed.
        .with_arbitrary_config("has_user_compute_stream", "1")
        .with_arbitrary_config("user_compute_stream", stream.to_string());
    let session = Session::builder(&runtime.environment)
        .map_err(|e| e.to_string())?
        .with_intra_op_spinning(false)
        .map_err(|e| e.to_string())?
        .with_execution_providers([cuda.build().error_on_failure()])
        .map_err(|e| format!("the CUDA provider does not start: {e}"))?
        .commit_from_file(path)
        .map_err(|e| format!("the CUDA session does not start: {e}"))?;
    let inputs: Vec<TensorInfo> = session.inputs().iter().map(describe).collect();
    let outputs: Vec<TensorInfo> = session.outputs().iter().map(describe).collect();
    let problems = contract.check(&inputs, &outputs);
    if !problems.is_empty() || inputs.len() != 1 || outputs.is_empty() {
        return Err(format!("does not match the {} contract: {}", contract.name, problems.join("; ")));
    }
    Ok(DeviceModel { path: path.to_path_buf(), session: Mutex::new(session), input: inputs[0].name.clone(), output: outputs[0].name.clone(), device_id })
}

impl DeviceModel {
    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One run on the device: an input tensor of `shape` is allocated by ONNX Runtime on the
    /// device, `fill` writes it (kernels on the host's stream, then the host's stream ordered
    /// before the session's), the model runs on the session's stream without a host wait, and
    /// `read` gets the output (it orders the session's stream before its kernels and, when done,
    /// the host's stream before the session's, so the output buffer is not reused too early).
    /// Runs of one model are serialised.
    pub fn run<F, R>(&self, shape: [usize; 4], fill: F, read: R) -> Result<(), InferenceError>
    where
        F: FnOnce(u64) -> Result<(), String>,
        R: FnOnce(DeviceOutput) -> Result<(), String>,
    {
        let failed = |detail: String| InferenceError::Run { path: self.path.clone(), detail };
        let ort_failed = |e: ort::Error| failed(e.to_string());
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let memory = MemoryInfo::new(AllocationDevice::CUDA, self.device_id, AllocatorType::Device, MemoryType::Default).map_err(ort_failed)?;
        let allocator = Allocator::new(&session, memory.clone()).map_err(ort_failed)?;
        let mut input = Tensor::<f32>::new(&allocator, shape).map_err(ort_failed)?;
        fill(input.data_ptr_mut() as u64).map_err(failed)?;
        let mut binding = session.create_binding().map_err(ort_failed)?;
        // Made by ONNX Runtime's allocator on the session's device: bound as it is, no copy.
        binding.bind_input(self.input.as_str(), &input).map_err(ort_failed)?;
        binding.bind_output_to_device(self.output.as_str(), &memory).map_err(ort_failed)?;
        let mut options = RunOptions::new().map_err(ort_failed)?;
        options.disable_device_sync().map_err(ort_failed)?;
        let outputs = session.run_binding_with_options(&binding, &options).map_err(ort_failed)?;
        crate::session::count_run();
        let value = outputs.get(self.output.as_str()).ok_or_else(|| failed(format!("no output `{}`", self.output)))?;
        let ValueType::Tensor { shape, .. } = value.dtype() else { return Err(failed("the output is not a tensor".into())) };
        let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        let tensor = value.view().downcast::<TensorValueType<f32>>().map_err(ort_failed)?;
        let [b, h, w] = dims[..] else { return Err(failed(format!("output of shape {dims:?}, expected [1, H, W]"))) };
        read(DeviceOutput { ptr: tensor.data_ptr() as u64, shape: [b, h, w] }).map_err(failed)?;
        // `outputs` and `input` go back to ONNX Runtime's arena here; `read` ordered the session's
        // stream after the host's use of them.
        drop(outputs);
        drop(input);
        Ok(())
    }
}
