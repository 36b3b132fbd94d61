// Magic Mask on the device: the stored 16-bit coverage as a matte plane (the twin of
// imaging::coverage_plane), before resize.cu sizes it to the frame, finesse.cu refines it,
// depth_post.cu's depth_matte (levels only) applies Black Clip, White Clip and Invert, and
// luma_matte.cu's place_plane draws the chosen view. SAM 2's 1024x1024 input is resize.cu's
// image_to_planes_pil_bicubic (PIL's bicubic as SAM 2's reference resizes, ImageNet normalisation).

extern "C" __global__ void coverage_plane(const unsigned short* coverage, float* out, long long n)
{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (float)coverage[i] / 65535.0f;
}
