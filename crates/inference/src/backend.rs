//! Which execution provider runs a model, and why a faster one does not.
//!
//! Users pay for GPUs; when a model silently runs on the CPU they only see a slow render. So every
//! provider is tried with errors surfaced, and the reason each faster one was passed over is kept for
//! the effect's status line and the log.

use std::fmt;

/// An execution provider, fastest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// NVIDIA TensorRT (engines cached on disk).
    TensorRt,
    /// NVIDIA CUDA.
    Cuda,
    /// ONNX Runtime's CPU provider, always present.
    Cpu,
}

impl Backend {
    /// The order in which backends are tried.
    pub const PREFERENCE: [Backend; 3] = [Backend::TensorRt, Backend::Cuda, Backend::Cpu];
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::TensorRt => "TensorRT",
            Backend::Cuda => "CUDA",
            Backend::Cpu => "CPU",
        })
    }
}

/// The backend a model runs on and, for each faster one, why it was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendReport {
    /// The backend in use.
    pub used: Backend,
    /// Faster backends that were passed over, with the reason, in preference order.
    pub passed_over: Vec<(Backend, String)>,
}

impl fmt::Display for BackendReport {
    /// One line for the effect's read-only status, e.g.
    /// `CPU (TensorRT: not available (...); CUDA: not available (...))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.used)?;
        if !self.passed_over.is_empty() {
            let reasons: Vec<String> = self.passed_over.iter().map(|(b, why)| format!("{b}: {why}")).collect();
            write!(f, " ({})", reasons.join("; "))?;
        }
        Ok(())
    }
}
