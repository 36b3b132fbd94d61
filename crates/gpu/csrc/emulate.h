// CUDA C kernels as host C++17: the CPU emulation the tests use to check kernel logic against the
// crates/imaging twins without a GPU. A launch is a serial loop over every block and thread of the
// grid with threadIdx/blockIdx set; atomics become plain operations (one thread runs at a time).
// Shared memory and barriers have no serial meaning, so using them fails to compile; the kernels
// are per-pixel by design (see kernels/prelude.cuh).
#pragma once
#include <cmath>
#include <cstring>
#include <cstdint>

struct EmuDim3 { unsigned x = 1, y = 1, z = 1; };
inline thread_local EmuDim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
template <bool B> struct emu_unsupported { static_assert(B, "__shared__/__syncthreads cannot be emulated serially: keep kernels per-pixel"); };
#define __shared__ emu_unsupported<false> emu_shared_rejected; static
#define __syncthreads() emu_unsupported<false>()

inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int atomicMin(int* a, int v) { int old = *a; if (v < old) *a = v; return old; }
inline int atomicMax(int* a, int v) { int old = *a; if (v > old) *a = v; return old; }
inline unsigned atomicAdd(unsigned* a, unsigned v) { unsigned old = *a; *a += v; return old; }
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { unsigned long long old = *a; *a += v; return old; }
using std::fabs; using std::llround;
// fmaxf, fminf, fabsf and powf are the C library's (<cmath> declares them globally). Defining
// them here would define those very C functions, recursing into themselves at -O0.

// Runs `kernel(args...)` over grid x block, as `kernel<<<grid, block>>>(args...)` would.
template <typename K, typename... A>
void emu_launch(EmuDim3 grid, EmuDim3 block, K kernel, A... args) {
    gridDim = grid; blockDim = block;
    for (unsigned bz = 0; bz < grid.z; bz++) for (unsigned by = 0; by < grid.y; by++) for (unsigned bx = 0; bx < grid.x; bx++)
        for (unsigned tz = 0; tz < block.z; tz++) for (unsigned ty = 0; ty < block.y; ty++) for (unsigned tx = 0; tx < block.x; tx++) {
            blockIdx = {bx, by, bz}; threadIdx = {tx, ty, tz};
            kernel(args...);
        }
}
