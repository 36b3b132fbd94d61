// Map Finesse on the device (Depth Map and Magic Mask): the twins of imaging's expand_contract,
// box_blur/gaussian_blur, guided_filter and luma_plane. Every filter is separable and per pixel:
// `axis` 0 runs along rows, 1 down columns; edges repeat (clamped indices), as the CPU pads.

// Window max (take_max) or min over 2r+1 samples along one axis: exact, so equal to the CPU's
// van Herk pass bit for bit.
extern "C" __global__ void extreme_pass(const float* src, float* dst, int w, int h, int r, int take_max, int axis)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    // A window of the whole axis already holds every value (the CPU cuts r the same way).
    int n = axis == 0 ? w : h;
    if (r > n) r = n;
    float best = src[(long long)y * w + x];
    for (int k = -r; k <= r; k++) {
        int sx = axis == 0 ? x + k : x, sy = axis == 0 ? y : y + k;
        sx = sx < 0 ? 0 : (sx >= w ? w - 1 : sx);
        sy = sy < 0 ? 0 : (sy >= h ? h - 1 : sy);
        float v = src[(long long)sy * w + sx];
        best = take_max ? fmaxf(best, v) : fminf(best, v);
    }
    dst[(long long)y * w + x] = best;
}

// Window mean over 2r+1 samples along one axis, summed in double as the CPU's running sum is.
extern "C" __global__ void box_pass(const float* src, float* dst, int w, int h, int r, int axis)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    int n = axis == 0 ? w : h;
    if (r > n) r = n;
    double sum = 0.0;
    for (int k = -r; k <= r; k++) {
        int sx = axis == 0 ? x + k : x, sy = axis == 0 ? y : y + k;
        sx = sx < 0 ? 0 : (sx >= w ? w - 1 : sx);
        sy = sy < 0 ? 0 : (sy >= h ? h - 1 : sy);
        sum += (double)src[(long long)sy * w + sx];
    }
    dst[(long long)y * w + x] = (float)(sum * (1.0 / (double)(2 * r + 1)));
}

// out = a + (b - a) * t: the fractional Expand/Contract radius.
extern "C" __global__ void blend(const float* a, const float* b, float* out, long long n, float t)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + (b[i] - a[i]) * t;
}

extern "C" __global__ void multiply(const float* a, const float* b, float* out, long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] * b[i];
}

// The guided filter's per-pixel linear model: a = cov / (var + eps), b = mean_p - a * mean_i.
extern "C" __global__ void guided_coefficients(const float* mean_i, const float* mean_p, const float* corr_ip, const float* corr_ii, float* a, float* b, long long n, float eps)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float var = corr_ii[i] - mean_i[i] * mean_i[i];
    float cov = corr_ip[i] - mean_i[i] * mean_p[i];
    float ai = cov / (var + eps);
    a[i] = ai;
    b[i] = mean_p[i] - ai * mean_i[i];
}

// out = mean_a * guide + mean_b, clamped to 0..1 (the finesse's last step).
extern "C" __global__ void guided_output(const float* mean_a, const float* mean_b, const float* guide, float* out, long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = fminf(fmaxf(mean_a[i] * guide[i] + mean_b[i], 0.0f), 1.0f);
}

// The Rec.709 luma of the host image as a plane, rows top-down (imaging::luma_plane).
extern "C" __global__ void luma_plane(const char* src, long long row_bytes, int x1, int y1, int x2, int y2, float* out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y * blockDim.y + threadIdx.y;
    int w = x2 - x1, h = y2 - y1;
    if (x >= w || row >= h) return;
    Bounds b = {x1, y1, x2, y2};
    float p[4];
    read_rgba(src, row_bytes, b, x1 + x, y2 - 1 - row, p);
    out[(long long)row * w + x] = channel_value(0, p);
}
