// Every kernel file compiled as C++ through emulate.h, behind one entry point that runs a kernel by
// name with its arguments as 8-byte slots: the same argument lists the Rust side hands cudarc, so
// a slot count that does not match the kernel's signature fails here as it would on a device.
#include "emulate.h"
#include <utility>

#include "../kernels/prelude.cuh"
#include "../kernels/resize.cu"
#include "../kernels/luma_matte.cu"
#include "../kernels/depth_post.cu"
#include "../kernels/finesse.cu"
#include "../kernels/mask.cu"
#include "../kernels/fingerprint.cu"
#include "../kernels/flow.cu"

template <typename T> T emu_arg(const uint64_t* slot) {
    T v;
    std::memcpy(&v, slot, sizeof(T));
    return v;
}

template <typename... P, size_t... I>
void emu_call(void (*kernel)(P...), EmuDim3 g, EmuDim3 b, const uint64_t* slots, std::index_sequence<I...>) {
    emu_launch(g, b, kernel, emu_arg<P>(slots + I)...);
}

template <typename... P>
int emu_dispatch(void (*kernel)(P...), EmuDim3 g, EmuDim3 b, const uint64_t* slots, int n) {
    if (n != (int)sizeof...(P)) return -2;
    emu_call(kernel, g, b, slots, std::index_sequence_for<P...>{});
    return 0;
}

// 0 on success, -1 for an unknown kernel, -2 for a wrong argument count.
extern "C" int deepmatte_emu_launch(const char* name, const unsigned grid[3], const unsigned block[3], const uint64_t* slots, int n) {
    EmuDim3 g, b;
    g.x = grid[0]; g.y = grid[1]; g.z = grid[2];
    b.x = block[0]; b.y = block[1]; b.z = block[2];
#define KERNEL(k) if (std::strcmp(name, #k) == 0) return emu_dispatch(k, g, b, slots, n);
    KERNEL(image_to_planes) KERNEL(resize_plane) KERNEL(pil_bicubic_taps) KERNEL(image_to_planes_pil_bicubic) KERNEL(shrink_rows) KERNEL(shrink_cols)
    KERNEL(luma_matte) KERNEL(place_plane)
    KERNEL(sample_minmax) KERNEL(sample_histogram) KERNEL(histogram_percentiles) KERNEL(depth_matte)
    KERNEL(extreme_pass) KERNEL(box_pass) KERNEL(blend) KERNEL(multiply) KERNEL(guided_coefficients) KERNEL(guided_output) KERNEL(luma_plane)
    KERNEL(coverage_plane)
    KERNEL(fingerprint_pieces)
    KERNEL(pyramid_down) KERNEL(plane_gradients) KERNEL(box_mean_pass) KERNEL(lk_terms) KERNEL(lk_update) KERNEL(flow_resize)
    KERNEL(flow_confidence) KERNEL(warp_cubic) KERNEL(match_curve) KERNEL(temporal_average)
#undef KERNEL
    return -1;
}
