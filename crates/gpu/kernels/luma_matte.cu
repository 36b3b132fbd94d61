// Luma Matte Extract's whole render, and placing a finished matte plane over the source (Depth Map's
// and Magic Mask's output modes): the twins of imaging::extract_matte, place_plane and copy.

// Fills the render window of dst: the matte from `matte` (or from src when matte is null) through
// the levels, placed per `mode` over src. One thread per window pixel.
extern "C" __global__ void luma_matte(
    const char* src, long long src_rb, int sx1, int sy1, int sx2, int sy2,
    const char* matte, long long m_rb, int mx1, int my1, int mx2, int my2,
    char* dst, long long dst_rb, int dx1, int dy1, int dx2, int dy2,
    int wx1, int wy1, int wx2, int wy2,
    int channel, float black, float inv_span, int hard, float inv_gamma, int invert, int mode)
{
    int x = wx1 + (int)(blockIdx.x * blockDim.x + threadIdx.x), y = wy1 + (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= wx2 || y >= wy2 || x < dx1 || x >= dx2 || y < dy1 || y >= dy2) return;
    Bounds sb = {sx1, sy1, sx2, sy2}, mb = {mx1, my1, mx2, my2}, db = {dx1, dy1, dx2, dy2};
    Levels l = {black, inv_span, hard, inv_gamma, invert};
    float px[4], mp[4];
    read_rgba(src, src_rb, sb, x, y, px);
    if (matte) read_rgba(matte, m_rb, mb, x, y, mp);
    float m = levels_apply(l, channel_value(channel, matte ? mp : px));
    place(px, m, mode);
    write_rgba(dst, dst_rb, db, x, y, px);
}

// imaging::place_plane: the plane covers plane bounds (pw x ph = its size) with rows top-down;
// outside it the matte is 0. src may be null (transparent black). mode < 0 copies src unchanged.
extern "C" __global__ void place_plane(
    const char* src, long long src_rb, int sx1, int sy1, int sx2, int sy2,
    const float* plane, int px1, int py1, int px2, int py2,
    char* dst, long long dst_rb, int dx1, int dy1, int dx2, int dy2,
    int wx1, int wy1, int wx2, int wy2, int mode)
{
    int x = wx1 + (int)(blockIdx.x * blockDim.x + threadIdx.x), y = wy1 + (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= wx2 || y >= wy2 || x < dx1 || x >= dx2 || y < dy1 || y >= dy2) return;
    Bounds sb = {sx1, sy1, sx2, sy2}, db = {dx1, dy1, dx2, dy2};
    float px[4];
    read_rgba(src, src_rb, sb, x, y, px);
    if (mode >= 0) {
        float m = 0.0f;
        if (y >= py1 && y < py2 && x >= px1 && x < px2) m = plane[(long long)(py2 - 1 - y) * (px2 - px1) + (x - px1)];
        place(px, m, mode);
    }
    write_rgba(dst, dst_rb, db, x, y, px);
}
