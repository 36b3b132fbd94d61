"""How far the project's SAM 2 encoder input is from the reference's, on real photos (scikit-image's).

The reference (sam2/utils/misc.py) resizes the 8-bit frame to 1024x1024 with PIL's default filter
(bicubic, anti-aliased when shrinking) and divides by 255. Printed per photo, in units of the
normalised encoder input ((x - mean) / std), for:
- bilinear: what crates/segment did before (half-pixel bilinear, no anti-aliasing);
- pil_bicubic: numpy twin of imaging::resize::resize_to_planes_pil_bicubic (float, no 8-bit rounding),
  which is checked here against PIL itself on float images (mode "F").

    .cache/venv/bin/python models/sam2/compare_resize.py
"""

import pathlib

import numpy as np
import skimage.data
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SIZE = 1024


def bilinear(img, W, H):
    def taps(src, dst):
        x = (np.arange(dst) + 0.5) * src / dst - 0.5
        x0 = np.floor(x).astype(int)
        t = (x - x0).astype(np.float32)
        t[x < 0], x0[x < 0] = 0, 0
        return np.clip(x0, 0, src - 1), np.clip(x0 + 1, 0, src - 1), t

    (a0, a1, ta), (b0, b1, tb) = taps(img.shape[1], W), taps(img.shape[0], H)
    rows = img[:, a0] * (1 - ta)[None, :, None] + img[:, a1] * ta[None, :, None]
    return rows[b0] * (1 - tb)[:, None, None] + rows[b1] * tb[:, None, None]


def pil_taps(src, dst):
    """imaging::resize Taps::pil_bicubic: a dense [dst, src] weight matrix."""
    def cubic(x, a=-0.5):
        x = np.abs(x)
        return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1, np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))

    scale = src / dst
    stretch = max(scale, 1.0)
    support = 2.0 * stretch
    m = np.zeros((dst, src))
    for d in range(dst):
        centre = (d + 0.5) * scale
        first, end = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), src)
        w = cubic((np.arange(first, end) - centre + 0.5) / stretch)
        m[d, first:end] = w / w.sum()
    return m.astype(np.float32)


def pil_bicubic(img, W, H):
    across, down = pil_taps(img.shape[1], W), pil_taps(img.shape[0], H)
    return np.einsum("yh,hwc,xw->yxc", down, img, across, optimize=True)


def main() -> None:
    root = pathlib.Path(skimage.data.__file__).parent
    motorcycle = np.array(Image.open(root / "motorcycle_left.png").convert("RGB"))
    photos = {
        "motorcycle 1920x1080 crop": motorcycle[400:1480, 500:2420],
        "motorcycle_left 2964x1988": motorcycle,
        "retina 1411x1411": np.array(Image.open(root / "retina.jpg").convert("RGB")),
        "coffee 600x400": skimage.data.coffee(),
        "astronaut 512x512": skimage.data.astronaut(),
    }
    for name, u8 in photos.items():
        reference = (np.asarray(Image.fromarray(u8).resize((SIZE, SIZE)), np.float32) / 255 - MEAN) / STD
        frame = u8.astype(np.float32) / 255
        twin = pil_bicubic(frame, SIZE, SIZE)
        pil_float = np.stack([np.asarray(Image.fromarray(frame[..., c], "F").resize((SIZE, SIZE), Image.BICUBIC)) for c in range(3)], -1)
        assert np.abs(twin - pil_float).max() < 1e-4, f"{name}: the twin differs from PIL by {np.abs(twin - pil_float).max()}"
        line = f"{name:27s}"
        for label, ours in (("bilinear", bilinear(frame, SIZE, SIZE)), ("pil_bicubic", twin)):
            d = np.abs(reference - (ours - MEAN) / STD)
            line += f" | {label}: mean {d.mean():.4f} p99 {np.percentile(d, 99):.3f} max {d.max():.3f}"
        print(line)
    print("(units: normalised encoder input, whose std on these photos is about 1)")


if __name__ == "__main__":
    main()
