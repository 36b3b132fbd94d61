// The fingerprint of a host device image (the twin of imaging's ImageRef::fingerprint): the key of
// the CUDA path's depth cache, made where the frame lives so only its 16 bytes cross to the host.
// One thread per piece of FINGERPRINT_CHUNK pixels of a row; each adds its two lane terms into
// sums[0..2] (zeroed by the caller) with atomics. Sums do not depend on the order of the adds, so
// the device, the serial emulation and the CPU twin give the same bits.

#define FINGERPRINT_CHUNK 16

__device__ inline unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

extern "C" __global__ void fingerprint_pieces(const char* data, long long row_bytes, int x1, int y1, int x2, int y2, unsigned long long* sums)
{
    int width = x2 - x1, height = y2 - y1;
    int pieces = (width + FINGERPRINT_CHUNK - 1) / FINGERPRINT_CHUNK;
    int c = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (c >= pieces || y >= height) return;
    Bounds b = {x1, y1, x2, y2};
    const unsigned int* words = (const unsigned int*)pixel_at(data, row_bytes, b, x1 + c * FINGERPRINT_CHUNK, y1 + y);
    int n = 4 * ((c + 1) * FINGERPRINT_CHUNK > width ? width - c * FINGERPRINT_CHUNK : FINGERPRINT_CHUNK);
    const unsigned long long seeds[2] = {0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL};
    const unsigned long long primes[2] = {0x00000100000001b3ULL, 0xff51afd7ed558ccdULL};
    unsigned long long position = (unsigned long long)y * (unsigned long long)pieces + (unsigned long long)c;
    for (int lane = 0; lane < 2; lane++) {
        unsigned long long h = seeds[lane];
        for (int i = 0; i < n; i++) h = (h ^ (unsigned long long)words[i]) * primes[lane];
        atomicAdd(&sums[lane], mix64(h ^ mix64(position * 2ULL + (unsigned long long)(lane + 1))));
    }
}
