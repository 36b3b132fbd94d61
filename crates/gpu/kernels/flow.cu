// Temporal Stability's motion on the device: the twins of crates/imaging's flow.rs (pyramidal
// Lucas–Kanade optical flow, its confidence, the cubic warp) and of crates/depth's stabiliser
// per-pixel steps (curve matching, the motion-aligned average). Planes are f32, row-major, rows
// top-down, `w` × `h`; every kernel is one thread per output value, in the CPU's f32 order.

// imaging::flow::sample: bilinear, coordinates clamped to the plane (edges repeat).
__device__ inline float flow_sample(const float* p, int w, int h, float x, float y) {
    x = x < 0.0f ? 0.0f : (x > (float)(w - 1) ? (float)(w - 1) : x);
    y = y < 0.0f ? 0.0f : (y > (float)(h - 1) ? (float)(h - 1) : y);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < w - 1 ? x0 + 1 : w - 1, y1 = y0 + 1 < h - 1 ? y0 + 1 : h - 1;
    float fx = x - (float)x0, fy = y - (float)y0;
    const float* r0 = p + (long long)y0 * w;
    const float* r1 = p + (long long)y1 * w;
    float top = r0[x0] + (r0[x1] - r0[x0]) * fx;
    float bottom = r1[x0] + (r1[x1] - r1[x0]) * fx;
    return top + (bottom - top) * fy;
}

// One level of imaging::flow's pyramid: 2×2 means, an odd last row or column averaged with itself.
extern "C" __global__ void pyramid_down(const float* src, int sw, int sh, float* dst, int dw, int dh)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    int x0 = 2 * x, y0 = 2 * y;
    int x1 = x0 + 1 < sw - 1 ? x0 + 1 : sw - 1, y1 = y0 + 1 < sh - 1 ? y0 + 1 : sh - 1;
    const float* r0 = src + (long long)y0 * sw;
    const float* r1 = src + (long long)y1 * sw;
    dst[(long long)y * dw + x] = 0.25f * (r0[x0] + r0[x1] + r1[x0] + r1[x1]);
}

// imaging::flow's gradients: central differences, one-sided at the borders, 0 along a 1-wide axis.
extern "C" __global__ void plane_gradients(const float* p, int w, int h, float* gx, float* gy)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    int up = y > 0 ? y - 1 : 0, down = y + 1 < h - 1 ? y + 1 : h - 1;
    int left = x > 0 ? x - 1 : 0, right = x + 1 < w - 1 ? x + 1 : w - 1;
    float dx_scale = right - left == 2 ? 0.5f : 1.0f, dy_scale = down - up == 2 ? 0.5f : 1.0f;
    long long i = (long long)y * w + x;
    gx[i] = right > left ? (p[(long long)y * w + right] - p[(long long)y * w + left]) * dx_scale : 0.0f;
    gy[i] = down > up ? (p[(long long)down * w + x] - p[(long long)up * w + x]) * dy_scale : 0.0f;
}

// imaging::flow's box_mean, along rows (axis 0: summed in double, divided in double) or down
// columns (axis 1: summed in f32 top to bottom, times the f32 reciprocal), the box cut at the
// borders and divided by the values inside. `planes` planes of w × h lie one after another and
// are filtered each on its own in one launch (the flow's two, the structure tensor's five).
extern "C" __global__ void box_mean_pass(const float* src, float* dst, int w, int h, int r, int axis, int planes)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || row >= h * planes) return;
    int y = row % h;
    long long base = (long long)(row / h) * w * h;
    src += base;
    dst += base;
    long long i = (long long)y * w + x;
    if (axis == 0) {
        int a = x > r ? x - r : 0, b = x + r + 1 < w ? x + r + 1 : w;
        double sum = 0.0;
        for (int k = a; k < b; k++) sum += (double)src[(long long)y * w + k];
        dst[i] = (float)(sum / (double)(b - a));
    } else {
        int a = y > r ? y - r : 0, b = y + r + 1 < h ? y + r + 1 : h;
        float norm = 1.0f / (float)(b - a), sum = 0.0f;
        for (int k = a; k < b; k++) sum += src[(long long)k * w + x];
        dst[i] = sum * norm;
    }
}

// One Gauss–Newton step's per-pixel terms of imaging::flow's refine: gx², gx·gy, gy², gx·e, gy·e
// with the mean of both frames' gradients, 0 where the match falls outside the other frame.
extern "C" __global__ void lk_terms(
    const float* i0, const float* i1, const float* gx0, const float* gy0, const float* gx1, const float* gy1,
    const float* dx, const float* dy, int w, int h,
    float* xx, float* xy, float* yy, float* xe, float* ye)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    long long i = (long long)y * w + x;
    float px = (float)x + dx[i], py = (float)y + dy[i];
    float gx = 0.0f, gy = 0.0f, e = 0.0f;
    if (px >= 0.0f && py >= 0.0f && px <= (float)(w - 1) && py <= (float)(h - 1)) {
        gx = 0.5f * (gx0[i] + flow_sample(gx1, w, h, px, py));
        gy = 0.5f * (gy0[i] + flow_sample(gy1, w, h, px, py));
        e = flow_sample(i1, w, h, px, py) - i0[i];
    }
    xx[i] = gx * gx; xy[i] = gx * gy; yy[i] = gy * gy; xe[i] = gx * e; ye[i] = gy * e;
}

// The step itself: the damped 2×2 solve on the window means, subtracted from the flow.
extern "C" __global__ void lk_update(
    const float* sxx, const float* sxy, const float* syy, const float* bx, const float* by,
    float* dx, float* dy, long long n, float damping)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float a = sxx[i] + damping, b = sxy[i], c = syy[i] + damping;
    float det = a * c - b * b;
    dx[i] -= (c * bx[i] - b * by[i]) / det;
    dy[i] -= (a * by[i] - b * bx[i]) / det;
}

// imaging::Flow::resized for one component: bilinear at half-pixel centres, times `scale`.
extern "C" __global__ void flow_resize(const float* src, int sw, int sh, float* dst, int dw, int dh, float sx, float sy, float scale)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    float cy = ((float)y + 0.5f) / sy - 0.5f;
    dst[(long long)y * dw + x] = scale * flow_sample(src, sw, sh, ((float)x + 0.5f) / sx - 0.5f, cy);
}

// imaging::confidence: 0 where the forward match leaves the other frame, else the photometric
// term times the round-trip term.
extern "C" __global__ void flow_confidence(
    const float* from, const float* to, const float* fdx, const float* fdy, const float* bdx, const float* bdy,
    int w, int h, float photo, float trip, float* out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    long long i = (long long)y * w + x;
    float px = (float)x + fdx[i], py = (float)y + fdy[i];
    if (px < -0.5f || py < -0.5f || px > (float)w - 0.5f || py > (float)h - 0.5f) {
        out[i] = 0.0f;
        return;
    }
    float residual = flow_sample(to, w, h, px, py) - from[i];
    float rx = fdx[i] + flow_sample(bdx, w, h, px, py), ry = fdy[i] + flow_sample(bdy, w, h, px, py);
    out[i] = expf(-(residual * residual * photo) - (rx * rx + ry * ry) * trip);
}

// imaging::flow's Catmull–Rom weights of the four taps around t (0–1) past the second.
__device__ inline void catmull_rom(float t, float w[4]) {
    float t2 = t * t, t3 = t * t * t;
    w[0] = 0.5f * (-t3 + 2.0f * t2 - t);
    w[1] = 0.5f * (3.0f * t3 - 5.0f * t2 + 2.0f);
    w[2] = 0.5f * (-3.0f * t3 + 4.0f * t2 + t);
    w[3] = 0.5f * (t3 - t2);
}

// imaging::warp: `plane` pulled back along the flow, Catmull–Rom clamped to the 2×2 nearest.
extern "C" __global__ void warp_cubic(const float* plane, const float* dx, const float* dy, int w, int h, float* out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    long long i = (long long)y * w + x;
    float sx = (float)x + dx[i], sy = (float)y + dy[i];
    sx = sx < 0.0f ? 0.0f : (sx > (float)(w - 1) ? (float)(w - 1) : sx);
    sy = sy < 0.0f ? 0.0f : (sy > (float)(h - 1) ? (float)(h - 1) : sy);
    int x0 = (int)floorf(sx), y0 = (int)floorf(sy);
    float wx[4], wy[4];
    catmull_rom(sx - (float)x0, wx);
    catmull_rom(sy - (float)y0, wy);
#define AT(xx, yy) plane[(long long)((yy) < 0 ? 0 : ((yy) > h - 1 ? h - 1 : (yy))) * w + ((xx) < 0 ? 0 : ((xx) > w - 1 ? w - 1 : (xx)))]
    float value = 0.0f;
    for (int j = 0; j < 4; j++) {
        int yy = y0 - 1 + j;
        float row = -0.0f;
        for (int k = 0; k < 4; k++) row += wx[k] * AT(x0 - 1 + k, yy);
        value += wy[j] * row;
    }
    float near[4] = {AT(x0, y0), AT(x0 + 1, y0), AT(x0, y0 + 1), AT(x0 + 1, y0 + 1)};
#undef AT
    float low = __int_as_float(0x7f800000), high = -low;
    for (int k = 0; k < 4; k++) { low = fminf(low, near[k]); high = fmaxf(high, near[k]); }
    out[i] = value < low ? low : (value > high ? high : value);
}

// crates/depth's match_curve: each raw value through the piecewise-linear map from a frame's
// quantile knots (x ascending, ties merged) to the window's reference, clamped to 0–1.
extern "C" __global__ void match_curve(const float* values, long long n, const float* knot_x, const float* knot_y, int knots, float* out)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = values[i], y;
    if (v <= knot_x[0]) {
        y = knot_y[0];
    } else if (v >= knot_x[knots - 1]) {
        y = knot_y[knots - 1];
    } else {
        // The first knot with x >= v (partition_point of x < v): knot_x[j - 1] < v <= knot_x[j].
        int lo = 0, hi = knots;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (knot_x[mid] < v) lo = mid + 1; else hi = mid;
        }
        float ax = knot_x[lo - 1], ay = knot_y[lo - 1], bx = knot_x[lo], by = knot_y[lo];
        y = ay + (by - ay) * ((v - ax) / (bx - ax));
    }
    out[i] = y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
}

// crates/depth's motion-aligned average at one pixel of the working size: the frame's own matched
// depth plus each neighbour's (pulled along the flow when `follow`), weighted by its window
// weight, how well the flow explains it and how close its depth is; neighbours in window order.
// `planes` and `explained` are `count` device addresses (explained unused without follow).
extern "C" __global__ void temporal_average(
    const float* centre, const unsigned long long* planes, const unsigned long long* explained, const float* weights, int count,
    int follow, float min_weight, float sigma, long long n, float* out)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float own = centre[i], sum = own, total = 1.0f;
    for (int k = 0; k < count; k++) {
        float depth = ((const float*)planes[k])[i], w = weights[k];
        if (follow) {
            float e = ((const float*)explained[k])[i];
            if (e < min_weight) continue;
            float d = (depth - own) / sigma;
            w = w * e * expf(-d * d);
        }
        sum += w * depth;
        total += w;
    }
    out[i] = sum / total;
}
