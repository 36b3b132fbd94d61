// Resizing into model tensors and back: the twins of imaging::resize (resize_to_planes +
// normalize_planes, resize_plane). Depth Map's pre-process (bicubic to the model size), SAM 2's
// (bilinear to 1024x1024) and every plane resize (depth and masks back to frame size) run here.

// The host image, rows top-down as to_rgba_top_down gives them, resized to out_w x out_h and written
// as RGB planes (NCHW, batch 1) normalised (v - mean[c]) * inv_std[c]: straight into the model's
// input tensor. One thread per output pixel; the vertical taps sum horizontally resized rows in the
// order the CPU's two passes do, so the arithmetic is the same.
extern "C" __global__ void image_to_planes(
    const char* src, long long row_bytes, int x1, int y1, int x2, int y2,
    float* out, int out_w, int out_h, int filter,
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
            const float* p = pixel_at(src, row_bytes, b, x1 + xi[k], scan);
            for (int c = 0; c < 3; c++) row[c] += xw[k] * p[c];
        }
        for (int c = 0; c < 3; c++) acc[c] += yw[j] * row[c];
    }
    long long plane = (long long)out_w * out_h, at = (long long)y * out_w + x;
    out[at] = (acc[0] - m0) * s0;
    out[plane + at] = (acc[1] - m1) * s1;
    out[2 * plane + at] = (acc[2] - m2) * s2;
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
