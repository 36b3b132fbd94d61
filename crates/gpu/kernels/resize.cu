// Resizing into model tensors and back: the twins of imaging::resize (resize_to_planes +
// normalize_planes, resize_to_planes_pil_bicubic + normalize_planes, resize_plane). Depth Map's
// pre-process (bicubic to the model size), SAM 2's (PIL's bicubic to 1024x1024) and every plane
// resize (depth and masks back to frame size) run here.

// Pixel (x, y) of the NCHW tensor `out` (batch 1, 3 planes of out_w x out_h): RGB `acc`
// normalised (v - mean[c]) * inv_std[c], as imaging::resize::normalize_planes does.
__device__ inline void write_normalised(float* out, int out_w, int out_h, int x, int y, const float acc[3],
    float m0, float m1, float m2, float s0, float s1, float s2)
{
    long long plane = (long long)out_w * out_h, at = (long long)y * out_w + x;
    out[at] = (acc[0] - m0) * s0;
    out[plane + at] = (acc[1] - m1) * s1;
    out[2 * plane + at] = (acc[2] - m2) * s2;
}

// The host image, rows top-down as to_rgba_top_down gives them, each tap pixel encoded for the
// network (network_colour: what imaging::encode_for_network does to the buffer before the CPU
// resizes it), resized to out_w x out_h and written as RGB planes (NCHW, batch 1) normalised
// (v - mean[c]) * inv_std[c]: straight into the model's input tensor. One thread per output pixel;
// the vertical taps sum horizontally resized rows in the order the CPU's two passes do, so the
// arithmetic is the same.
extern "C" __global__ void image_to_planes(
    const char* src, long long row_bytes, int x1, int y1, int x2, int y2,
    float* out, int out_w, int out_h, int filter, int colour,
    float m0, float m1, float m2, float s0, float s1, float s2)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out_w || y >= out_h) return;
    Bounds b = {x1, y1, x2, y2};
    int w = x2 - x1, h = y2 - y1;
    int xi[4], yi[4];
    float xw[4], yw[4];
    int nx = resize_taps(filter, w, out_w, x, xi, xw);
    int ny = resize_taps(filter, h, out_h, y, yi, yw);
    float acc[3] = {0.0f, 0.0f, 0.0f};
    for (int j = 0; j < ny; j++) {
        int scan = y2 - 1 - yi[j];
        float row[3] = {0.0f, 0.0f, 0.0f};
        for (int k = 0; k < nx; k++) {
            float p[3];
            network_colour(colour, pixel_at(src, row_bytes, b, x1 + xi[k], scan), p);
            for (int c = 0; c < 3; c++) row[c] += xw[k] * p[c];
        }
        for (int c = 0; c < 3; c++) acc[c] += yw[j] * row[c];
    }
    write_normalised(out, out_w, out_h, x, y, acc, m0, m1, m2, s0, s1, s2);
}

// A plane (rows top-down) resized: imaging::resize::resize_plane.
extern "C" __global__ void resize_plane(const float* src, int src_w, int src_h, float* out, int out_w, int out_h, int filter)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out_w || y >= out_h) return;
    int xi[4], yi[4];
    float xw[4], yw[4];
    int nx = resize_taps(filter, src_w, out_w, x, xi, xw);
    int ny = resize_taps(filter, src_h, out_h, y, yi, yw);
    float acc = 0.0f;
    for (int j = 0; j < ny; j++) {
        const float* line = src + (long long)yi[j] * src_w;
        float row = 0.0f;
        for (int k = 0; k < nx; k++) row += xw[k] * line[xi[k]];
        acc += yw[j] * row;
    }
    out[(long long)y * out_w + x] = acc;
}

// PIL's bicubic kernel, a = -0.5: imaging::resize::pil_cubic.
__device__ inline double pil_cubic(double x) {
    const double A = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * A;
    return 0.0;
}

// One axis of PIL's bicubic from src to dst samples, one thread per output position d: the first
// source index it reads and its per_output weights (imaging::resize::pil_bicubic_taps_per_output),
// as imaging::resize's Taps::pil_bicubic computes them, in the same order and double arithmetic,
// then f32. Shrinking stretches the kernel over every source pixel it covers, so the tap count is
// the image's, not a constant: tabled once per axis here rather than recomputed by every pixel.
// Slots past the source range get weight 0 (image_to_planes_pil_bicubic reads them clamped to the
// last index, as the CPU does).
extern "C" __global__ void pil_bicubic_taps(int src, int dst, int per_output, int* first_index, float* weight)
{
    int d = blockIdx.x * blockDim.x + threadIdx.x;
    if (d >= dst) return;
    double scale = (double)src / (double)dst;
    double stretch = scale > 1.0 ? scale : 1.0;
    double support = 2.0 * stretch;
    double centre = ((double)d + 0.5) * scale;
    // Truncation toward zero, then clamped to the source: Rust's `as i64` and PIL's (int) casts.
    long long lo = (long long)(centre - support + 0.5), hi = (long long)(centre + support + 0.5);
    int first = lo < 0 ? 0 : (int)lo, end = hi > src ? src : (int)hi;
    double total = 0.0;
    for (int x = first; x < end; x++) total += pil_cubic(((double)x - centre + 0.5) / stretch);
    for (int k = 0; k < per_output; k++) {
        int x = first + k;
        double w = x < end && total != 0.0 ? pil_cubic(((double)x - centre + 0.5) / stretch) / total : 0.0;
        weight[(long long)d * per_output + k] = (float)w;
    }
    first_index[d] = first;
}

// SAM 2's encoder input: image_to_planes (each tap pixel through network_colour) with the tap
// tables pil_bicubic_taps wrote (nx per output column, ny per output row),
// imaging::resize::resize_to_planes_pil_bicubic then normalize_planes. Every tap is summed,
// zero-weight padding included, as the CPU's passes do, so the f32 sums round alike.
extern "C" __global__ void image_to_planes_pil_bicubic(
    const char* src, long long row_bytes, int x1, int y1, int x2, int y2,
    float* out, int out_w, int out_h, int colour,
    const int* x_first, const float* x_weight, int nx, const int* y_first, const float* y_weight, int ny,
    float m0, float m1, float m2, float s0, float s1, float s2)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out_w || y >= out_h) return;
    Bounds b = {x1, y1, x2, y2};
    int last_x = x2 - x1 - 1, last_y = y2 - y1 - 1;
    const float* xw = x_weight + (long long)x * nx;
    const float* yw = y_weight + (long long)y * ny;
    float acc[3] = {0.0f, 0.0f, 0.0f};
    for (int j = 0; j < ny; j++) {
        int sy = y_first[y] + j;
        int scan = y2 - 1 - (sy < last_y ? sy : last_y);
        float row[3] = {0.0f, 0.0f, 0.0f};
        for (int k = 0; k < nx; k++) {
            int sx = x_first[x] + k;
            float p[3];
            network_colour(colour, pixel_at(src, row_bytes, b, x1 + (sx < last_x ? sx : last_x), scan), p);
            for (int c = 0; c < 3; c++) row[c] += xw[k] * p[c];
        }
        for (int c = 0; c < 3; c++) acc[c] += yw[j] * row[c];
    }
    write_normalised(out, out_w, out_h, x, y, acc, m0, m1, m2, s0, s1, s2);
}

// imaging::shrink_area (area averaging, separable): the horizontal pass, then the vertical one.
// Each axis's taps come as tables (imaging::area_taps, flattened: output i's taps are
// offsets[i]..offsets[i + 1] of index/weight), summed in the CPU's order from 0.
extern "C" __global__ void shrink_rows(const float* src, int src_w, int h, float* out, int out_w, const int* offsets, const int* index, const float* weight)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= out_w || y >= h) return;
    const float* row = src + (long long)y * src_w;
    float acc = 0.0f;
    for (int t = offsets[x]; t < offsets[x + 1]; t++) acc += row[index[t]] * weight[t];
    out[(long long)y * out_w + x] = acc;
}

extern "C" __global__ void shrink_cols(const float* src, int w, float* out, int out_h, const int* offsets, const int* index, const float* weight)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= out_h) return;
    float acc = 0.0f;
    for (int t = offsets[y]; t < offsets[y + 1]; t++) acc += src[(long long)index[t] * w + x] * weight[t];
    out[(long long)y * w + x] = acc;
}
