// Shared by every DeepMatte kernel file: NVRTC compiles each family as prelude + file, and the CPU
// emulation (csrc/emulate.h) includes the same text as C++, so a helper here is the helper in both.
//
// Images are the host's: packed RGBA f32 pixels, `data` points at pixel (x1, y1) of the bounds,
// rows `row_bytes` apart (OFX allows any pitch, negative too), y up. Planes are f32, rows top-down
// (row 0 is scan line y2 - 1), the layout models and crates/imaging's Plane use.
// Kernels stay per-pixel (no shared memory, no barriers, no warp intrinsics) so the emulation runs
// them as plain loops; fmad is off in both compilers so a*b+c rounds as the Rust twins do.

struct Bounds { int x1, y1, x2, y2; };

__device__ inline const float* pixel_at(const char* data, long long row_bytes, Bounds b, int x, int y) {
    return (const float*)(data + (long long)(y - b.y1) * row_bytes + (long long)(x - b.x1) * 16);
}

__device__ inline float* pixel_at_mut(char* data, long long row_bytes, Bounds b, int x, int y) {
    return (float*)(data + (long long)(y - b.y1) * row_bytes + (long long)(x - b.x1) * 16);
}

// imaging::ImageRef::read_rgba for one pixel: transparent black outside the bounds.
__device__ inline void read_rgba(const char* data, long long row_bytes, Bounds b, int x, int y, float out[4]) {
    if (data == 0 || x < b.x1 || x >= b.x2 || y < b.y1 || y >= b.y2) {
        out[0] = out[1] = out[2] = out[3] = 0.0f;
        return;
    }
    const float* p = pixel_at(data, row_bytes, b, x, y);
    out[0] = p[0]; out[1] = p[1]; out[2] = p[2]; out[3] = p[3];
}

// imaging::srgb_encode: the sRGB curve of a value clamped to [0, 1] (fmaxf/fminf turn NaN into 0).
// powf is the C library's in the emulation (the one Rust's f32::powf calls, so the twins agree
// bit for bit there) and CUDA's on the device (within 4 ulp of it, about 5e-7 on [0, 1]).
__device__ inline float srgb_encode(float linear) {
    float x = fminf(fmaxf(linear, 0.0f), 1.0f);
    return x < 0.0031308f ? 12.92f * x : 1.055f * powf(x, 1.0f / 2.4f) - 0.055f;
}

// imaging::network_rgb: one pixel's RGB as the network is given it. colour is
// imaging::SourceColour's id: 0 display-referred (unchanged), 1 scene-linear Rec.709 (sRGB curve),
// 2 ACEScg (imaging::ACESCG_TO_REC709, rows summed left to right, then the curve).
__device__ inline void network_colour(int colour, const float p[3], float out[3]) {
    float r = p[0], g = p[1], b = p[2];
    if (colour == 2) {
        float lr = 1.705051f * r + -0.6217921f * g + -0.08325887f * b;
        float lg = -0.1302564f * r + 1.1408047f * g + -0.01054832f * b;
        float lb = -0.02400336f * r + -0.128969f * g + 1.1529723f * b;
        r = lr; g = lg; b = lb;
    }
    if (colour == 1 || colour == 2) {
        r = srgb_encode(r); g = srgb_encode(g); b = srgb_encode(b);
    }
    out[0] = r; out[1] = g; out[2] = b;
}

// imaging::LumaChannel::value; ids are LumaChannel's declaration order.
__device__ inline float channel_value(int channel, const float p[4]) {
    float r = p[0], g = p[1], b = p[2], a = p[3];
    switch (channel) {
    case 0: return 0.2126f * r + 0.7152f * g + 0.0722f * b;
    case 1: return 0.2627f * r + 0.6780f * g + 0.0593f * b;
    case 2: return 0.299f * r + 0.587f * g + 0.114f * b;
    case 3: return (r + g + b) * (1.0f / 3.0f);
    case 4: return fmaxf(fmaxf(r, g), b);
    case 5: return r;
    case 6: return g;
    case 7: return b;
    default: return a;
    }
}

// imaging::PreparedLevels::apply. inv_gamma <= 0 means no gamma. The CPU raises to the gamma with
// imaging::pow_unit (within 1e-7 of the exact power), the device with powf: the twins agree to 1e-6.
struct Levels { float black, inv_span; int hard; float inv_gamma; int invert; };

__device__ inline float levels_apply(Levels l, float v) {
    float m = l.hard ? (v >= l.black ? 1.0f : 0.0f) : fminf(fmaxf((v - l.black) * l.inv_span, 0.0f), 1.0f);
    if (l.inv_gamma > 0.0f) m = powf(m, l.inv_gamma);
    return l.invert ? 1.0f - m : m;
}

// imaging::MatteOutput placement; ids are MatteOutput's declaration order.
__device__ inline void place(float px[4], float m, int mode) {
    // Tint (3) and TintStale (4, a matte out of date) differ in colour only.
    const float tint[2][3] = {{1.0f, 0.2f, 0.45f}, {0.35f, 0.55f, 0.75f}};
    switch (mode) {
    case 0: px[0] *= m; px[1] *= m; px[2] *= m; px[3] = m; break;
    case 1: px[3] = m; break;
    case 2: px[0] = m; px[1] = m; px[2] = m; px[3] = 1.0f; break;
    default: {
        const float* t = tint[mode == 4 ? 1 : 0];
        float k = 0.5f * m;
        for (int c = 0; c < 3; c++) px[c] = px[c] + (t[c] - px[c]) * k;
    }
    }
}

__device__ inline void write_rgba(char* data, long long row_bytes, Bounds b, int x, int y, const float px[4]) {
    float* p = pixel_at_mut(data, row_bytes, b, x, y);
    p[0] = px[0]; p[1] = px[1]; p[2] = px[2]; p[3] = px[3];
}

// One output position's taps along one axis, as imaging::resize's Taps: half-pixel centres in exact
// integer arithmetic, centre = ((2d + 1) * src - dst) / (2 * dst), weights in double then f32.
// filter 0 = bilinear (2 taps), 1 = bicubic (4 taps, a = -0.75). Returns the tap count.
__device__ inline double keys_cubic(double x) {
    const double A = -0.75;
    x = fabs(x);
    return x <= 1.0 ? ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0 : ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
}

__device__ inline int resize_taps(int filter, int src, int dst, int d, int index[4], float weight[4]) {
    long long num = (2LL * d + 1) * src - dst, den = 2LL * dst;
    long long fl = num >= 0 ? num / den : -((-num + den - 1) / den);
    double t = (double)(num - fl * den) / (double)den;
    int last = src - 1, n, first;
    double w[4];
    if (filter == 0) {
        if (num < 0) { fl = 0; t = 0.0; }
        first = (int)fl; n = 2;
        w[0] = 1.0 - t; w[1] = t;
    } else {
        first = (int)fl - 1; n = 4;
        w[0] = keys_cubic(1.0 + t); w[1] = keys_cubic(t); w[2] = keys_cubic(1.0 - t); w[3] = keys_cubic(2.0 - t);
    }
    for (int k = 0; k < n; k++) {
        int i = first + k;
        index[k] = i < 0 ? 0 : (i > last ? last : i);
        weight[k] = (float)w[k];
    }
    return n;
}
