// Depth Map's post-process on the device: robust normalisation from a histogram of the strided
// samples (the twins of imaging::depth::histogram_percentiles and remap), then Adjust Map Levels,
// Isolate Specific Depth and Invert per pixel (imaging::depth::depth_matte). Resizing back to the
// frame is resize.cu's resize_plane, Map Finesse is finesse.cu, the output modes luma_matte.cu's
// place_plane.

// Floats as ints that order like the floats, for atomicMin/atomicMax.
__device__ inline int ordered_key(float v) {
    int i = __float_as_int(v);
    return i >= 0 ? i : i ^ 0x7fffffff;
}

__device__ inline float from_ordered_key(int k) {
    return __int_as_float(k >= 0 ? k : k ^ 0x7fffffff);
}

// minmax[0] = min key, minmax[1] = max key, seeded by the caller with INT_MAX / INT_MIN. One thread
// per sample (every `stride`-th column of every `stride`-th row); NaN samples are left out.
extern "C" __global__ void sample_minmax(const float* values, int w, int h, int stride, int* minmax)
{
    int sx = blockIdx.x * blockDim.x + threadIdx.x, sy = blockIdx.y * blockDim.y + threadIdx.y;
    int x = sx * stride, y = sy * stride;
    if (x >= w || y >= h) return;
    float v = values[(long long)y * w + x];
    if (v != v) return;
    atomicMin(&minmax[0], ordered_key(v));
    atomicMax(&minmax[1], ordered_key(v));
}

// counts[bins] (zeroed by the caller) += samples per bin of [min, max].
extern "C" __global__ void sample_histogram(const float* values, int w, int h, int stride, const int* minmax, int bins, unsigned int* counts)
{
    int sx = blockIdx.x * blockDim.x + threadIdx.x, sy = blockIdx.y * blockDim.y + threadIdx.y;
    int x = sx * stride, y = sy * stride;
    if (x >= w || y >= h) return;
    float v = values[(long long)y * w + x];
    if (v != v) return;
    double lo = from_ordered_key(minmax[0]), hi = from_ordered_key(minmax[1]);
    int bin = hi > lo ? (int)(((double)v - lo) * ((double)bins / (hi - lo))) : 0;
    atomicAdd(&counts[bin < 0 ? 0 : (bin >= bins ? bins - 1 : bin)], 1u);
}

// One thread: the low and high percentiles (ranks round(p * (n - 1)) of the n counted samples),
// linear within their bin, written as the remap's offset and scale: range[0] = low,
// range[1] = 1 / (high - low) or 0.
extern "C" __global__ void histogram_percentiles(const int* minmax, const unsigned int* counts, int bins, double low_p, double high_p, float* range)
{
    if (blockIdx.x * blockDim.x + threadIdx.x != 0) return;
    double lo = from_ordered_key(minmax[0]), hi = from_ordered_key(minmax[1]);
    unsigned long long n = 0;
    for (int b = 0; b < bins; b++) n += counts[b];
    double found[2] = {0.0, 0.0}, p[2] = {low_p, high_p};
    for (int q = 0; q < 2; q++) {
        if (n == 0) break;
        unsigned long long rank = (unsigned long long)llround(p[q] * (double)(n - 1)), before = 0;
        for (int b = 0; b < bins; b++) {
            if (rank < before + counts[b]) {
                found[q] = lo + ((double)b + ((double)(rank - before) + 0.5) / (double)counts[b]) * ((hi - lo) / (double)bins);
                break;
            }
            before += counts[b];
        }
    }
    range[0] = (float)found[0];
    range[1] = found[1] > found[0] ? (float)(1.0 / (found[1] - found[0])) : 0.0f;
}

// In place over a plane: normalise by range, then levels; when `matte` is set, Isolate (if
// isolate_on) and Invert. The CPU keeps the two steps in separate loops; per pixel they are the same.
extern "C" __global__ void depth_matte(float* plane, long long n, const float* range, int normalise,
    float black, float inv_span, int hard, float inv_gamma, int levels_invert,
    int matte, int isolate_on, float target, float tolerance, float softness, int invert)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float d = plane[i];
    if (normalise) d = fminf(fmaxf((d - range[0]) * range[1], 0.0f), 1.0f);
    Levels l = {black, inv_span, hard, inv_gamma, levels_invert};
    d = levels_apply(l, d);
    if (matte) {
        if (isolate_on) {
            float distance = fabsf(d - target) - tolerance;
            d = distance <= 0.0f ? 1.0f : (softness <= 0.0f ? 0.0f : fmaxf(1.0f - distance / softness, 0.0f));
        }
        if (invert) d = 1.0f - d;
    }
    plane[i] = d;
}
