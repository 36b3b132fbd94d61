//! The CPU emulation of the kernels (`emulate` feature; csrc/harness.cpp built by build.rs): the
//! same `.cu` text compiled as C++, run as serial loops over the grid. An [`Exec`] whose "device
//! pointers" are host addresses, so [`crate::ops`] runs unchanged and tests compare it with the
//! `crates/imaging` twins. Buffers are allocated at their exact size, so under the sanitizer build
//! (`DEEPMATTE_GPU_SANITIZE=1`) a kernel reading one element past a buffer aborts.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::exec::{Arg, Exec, GpuError, Grid};

extern "C" {
    fn deepmatte_emu_launch(name: *const c_char, grid: *const u32, block: *const u32, slots: *const u64, n: c_int) -> c_int;
}

/// Whether this build of the emulation runs under AddressSanitizer and UBSan.
pub const SANITIZED: bool = cfg!(sanitized);

/// Runs kernels on the CPU; counts launches.
#[derive(Default)]
pub struct Emulated {
    buffers: Mutex<HashMap<u64, Box<[u8]>>>,
    launches: AtomicUsize,
}

impl Emulated {
    pub fn new() -> Emulated {
        Emulated::default()
    }

    /// Kernel launches so far.
    pub fn launches(&self) -> usize {
        self.launches.load(Ordering::Relaxed)
    }

    /// A copy of `len` f32 at `ptr` (a buffer from [`Exec::alloc`]).
    pub fn read_f32(&self, ptr: u64, len: usize) -> Vec<f32> {
        let buffers = self.buffers.lock().unwrap();
        let buffer = buffers.get(&ptr).expect("not an emulated buffer");
        bytemuck_f32(&buffer[..len * 4])
    }

    /// Buffers allocated and not freed.
    pub fn live_buffers(&self) -> usize {
        self.buffers.lock().unwrap().len()
    }
}

fn bytemuck_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

impl Exec for Emulated {
    fn alloc(&self, bytes: usize) -> Result<u64, GpuError> {
        let buffer = vec![0xA5u8; bytes].into_boxed_slice();
        let ptr = buffer.as_ptr() as u64;
        self.buffers.lock().unwrap().insert(ptr, buffer);
        Ok(ptr)
    }

    fn free(&self, ptr: u64) -> Result<(), GpuError> {
        self.buffers.lock().unwrap().remove(&ptr).map(drop).ok_or_else(|| GpuError::Failed(format!("free of unknown buffer {ptr:#x}")))
    }

    fn fill_bytes(&self, ptr: u64, value: u8, bytes: usize) -> Result<(), GpuError> {
        let mut buffers = self.buffers.lock().unwrap();
        let buffer = buffers.get_mut(&ptr).ok_or_else(|| GpuError::Failed("fill of unknown buffer".into()))?;
        buffer.get_mut(..bytes).ok_or_else(|| GpuError::Failed("fill past the buffer".into()))?.fill(value);
        Ok(())
    }

    fn upload(&self, ptr: u64, data: &[u8]) -> Result<(), GpuError> {
        let mut buffers = self.buffers.lock().unwrap();
        let buffer = buffers.get_mut(&ptr).ok_or_else(|| GpuError::Failed("upload to unknown buffer".into()))?;
        buffer.get_mut(..data.len()).ok_or_else(|| GpuError::Failed("upload past the buffer".into()))?.copy_from_slice(data);
        Ok(())
    }

    fn download(&self, ptr: u64, out: &mut [u8]) -> Result<(), GpuError> {
        let buffers = self.buffers.lock().unwrap();
        let buffer = buffers.get(&ptr).ok_or_else(|| GpuError::Failed("download from unknown buffer".into()))?;
        out.copy_from_slice(buffer.get(..out.len()).ok_or_else(|| GpuError::Failed("download past the buffer".into()))?);
        Ok(())
    }

    fn launch(&self, kernel: &'static str, grid: Grid, args: &[Arg]) -> Result<(), GpuError> {
        let slots: Vec<u64> = args.iter().map(|a| a.slot()).collect();
        let name = CString::new(kernel).map_err(|_| GpuError::Failed("kernel name".into()))?;
        // The harness only reads the slots and runs the kernel over the addresses they carry, which
        // the caller owns (test images) or this executor allocated.
        let rc = unsafe { deepmatte_emu_launch(name.as_ptr(), grid.grid.as_ptr(), grid.block.as_ptr(), slots.as_ptr(), slots.len() as c_int) };
        self.launches.fetch_add(1, Ordering::Relaxed);
        match rc {
            0 => Ok(()),
            -1 => Err(GpuError::Failed(format!("no kernel named {kernel}"))),
            _ => Err(GpuError::Failed(format!("{kernel}: {} arguments do not match its signature", args.len()))),
        }
    }
}
