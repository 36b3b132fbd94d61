//! DeepMatte's CUDA path: the pixel operations of `crates/imaging` as CUDA C kernels (`kernels/*.cu`),
//! compiled at run time by NVRTC for the device's architecture, cached per architecture, and
//! launched on the host's stream into the host's device images.
//!
//! Layers, bottom up:
//! - [`kernels`]: the sources, one file per family, and the hash that keys every cache.
//! - [`nvrtc`]: loads the pinned NVRTC 13.0 by absolute path (never a stray `libnvrtc.so`) and
//!   compiles a family for one compute capability; [`cache`] keeps the PTX in the user's cache folder.
//! - [`exec`]: what an operation needs from an executor (allocate, zero, launch by name), so each
//!   operation in [`ops`] is written once and runs on a device ([`device::Device`]) or, in tests,
//!   on the CPU emulation of the same `.cu` text (the `emulate` feature).
//! - [`motion`]: Temporal Stability's optical flow, alignment and average, on the same [`exec`].
//! - [`resident`]: device buffers that outlive a render (the depth cache), freed without a wait.
//! - [`device`]: the driver, behind `is_culib_present()` and `catch_unwind` on every call: without
//!   a driver, a device or a working compile, every entry point returns an error saying why and the
//!   plugin renders on the CPU.

pub mod cache;
pub mod device;
#[cfg(feature = "emulate")]
pub mod emulated;
pub mod exec;
pub mod host;
pub mod kernels;
pub mod motion;
pub mod nvrtc;
pub mod ops;
pub mod resident;
pub mod selftest;

pub use device::{probe, Device, Probe, MIN_COMPUTE_CAPABILITY};
pub use exec::{Arg, Exec, GpuError, Grid};
