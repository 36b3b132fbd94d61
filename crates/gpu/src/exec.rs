//! What an operation needs from whatever runs its kernels: a device (cudarc on the host's stream)
//! or the CPU emulation (tests). Buffers are addresses (`u64`), as device pointers are.

use std::fmt;

/// One kernel argument, passed as the kernel's C type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    /// A buffer address (device pointer); 0 is a null pointer.
    Ptr(u64),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

impl Arg {
    /// The argument in an 8-byte slot, little-endian, as the emulation's dispatcher reads it.
    pub fn slot(self) -> u64 {
        match self {
            Arg::Ptr(p) => p,
            Arg::I32(v) => v as u32 as u64,
            Arg::I64(v) => v as u64,
            Arg::F32(v) => v.to_bits() as u64,
            Arg::F64(v) => v.to_bits(),
        }
    }
}

/// A launch shape: `grid` blocks of `block` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub grid: [u32; 3],
    pub block: [u32; 3],
}

impl Grid {
    /// 16×16 blocks covering a `w`×`h` domain (one thread per pixel).
    pub fn d2(w: usize, h: usize) -> Grid {
        Grid { grid: [w.div_ceil(16).max(1) as u32, h.div_ceil(16).max(1) as u32, 1], block: [16, 16, 1] }
    }

    /// 256-thread blocks covering `n` elements.
    pub fn d1(n: usize) -> Grid {
        Grid { grid: [n.div_ceil(256).max(1) as u32, 1, 1], block: [256, 1, 1] }
    }
}

/// Why the CUDA path could not run. The OFX layer maps [`GpuError::OutOfMemory`] to
/// `kOfxStatGPUOutOfMemory` and everything else to `kOfxStatGPURenderFailed`, so the host retries
/// on the CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuError {
    /// The device ran out of memory.
    OutOfMemory,
    /// This machine cannot run the CUDA path at all (no driver, no device, no NVRTC, …): the reason.
    Unavailable(String),
    /// A driver, compile or launch call failed: what and how.
    Failed(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::OutOfMemory => f.write_str("the GPU is out of memory"),
            GpuError::Unavailable(why) => write!(f, "CUDA unavailable: {why}"),
            GpuError::Failed(why) => write!(f, "CUDA failure: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// Runs kernels by name. Allocations are stream-ordered on a device: an operation frees its
/// scratch buffers before returning without waiting for the kernels that use them.
pub trait Exec {
    /// A buffer of `bytes` bytes (uninitialised).
    fn alloc(&self, bytes: usize) -> Result<u64, GpuError>;
    /// Releases a buffer from [`Exec::alloc`].
    fn free(&self, ptr: u64) -> Result<(), GpuError>;
    /// Sets `bytes` bytes at `ptr` to `value`.
    fn fill_bytes(&self, ptr: u64, value: u8, bytes: usize) -> Result<(), GpuError>;
    /// Copies host data in: small parameter blocks (tap tables, tone-curve knots), Magic Mask's
    /// stored mask (it comes from disk rather than from the host's frame), a raw depth map read
    /// back before, and, for a flat frame Temporal Stability leaves alone, its working-size map.
    /// Frames never cross.
    fn upload(&self, ptr: u64, data: &[u8]) -> Result<(), GpuError>;
    /// Copies `out.len()` bytes from `ptr` to the host once the work enqueued before is done: small
    /// results that steer the render (a frame's fingerprint; what Temporal Stability plans from, a
    /// frame's raw depth at model size and its luma at the working size), never frames.
    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<(), GpuError>;
    /// Enqueues `kernel` with `args` over `grid`.
    fn launch(&self, kernel: &'static str, grid: Grid, args: &[Arg]) -> Result<(), GpuError>;
}

/// A scratch buffer freed when dropped (errors on free are logged: the render result stands).
pub struct Scratch<'a, E: Exec + ?Sized> {
    exec: &'a E,
    pub ptr: u64,
}

impl<'a, E: Exec + ?Sized> Scratch<'a, E> {
    pub fn new(exec: &'a E, bytes: usize) -> Result<Self, GpuError> {
        Ok(Scratch { exec, ptr: exec.alloc(bytes.max(4))? })
    }
}

impl<E: Exec + ?Sized> Drop for Scratch<'_, E> {
    fn drop(&mut self) {
        if let Err(e) = self.exec.free(self.ptr) {
            log::warn!("freeing a CUDA scratch buffer: {e}");
        }
    }
}
