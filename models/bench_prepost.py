"""Times the Depth Map engine's pre- and post-processing done in numpy, for crates/depth's benchmark:
bicubic resize of an RGBA float frame to the model size (short side 518, long side a multiple of 14),
ImageNet normalisation to CHW, then percentile normalisation of a depth map and bilinear resize back.
Prints the mean milliseconds per frame on its last line.

Usage: .cache/venv/bin/python models/bench_prepost.py <width> <height>
"""

import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from reference_u2netp import MEAN, STD, resize  # noqa: E402  (the numpy twin of crates/imaging/src/resize.rs)

RUNS = 3


def model_size(width: int, height: int, short: int = 518) -> tuple[int, int]:
    if width >= height:
        return max(1, round(width * short / height / 14)) * 14, short
    return short, max(1, round(height * short / width / 14)) * 14


def pre_and_post(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    mw, mh = model_size(width, height)
    small = resize(frame[:, :, :3], mw, mh, "bicubic")
    tensor = ((small - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    depth = tensor[0, 1]  # stands for the model output: same size, arbitrary values
    low, high = np.percentile(depth[::4, ::4], [2, 98])
    normalised = np.clip((depth - low) / (high - low), 0, 1).astype(np.float32)
    return resize(normalised[:, :, None], width, height)[:, :, 0]


def main() -> None:
    width, height = int(sys.argv[1]), int(sys.argv[2])
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frame = np.stack([x / width, y / height, 0.5 + 0.5 * np.sin(x * 0.05) * np.cos(y * 0.07), np.ones_like(x)], axis=2)
    pre_and_post(frame)
    start = time.perf_counter()
    for _ in range(RUNS):
        pre_and_post(frame)
    print(f"{(time.perf_counter() - start) / RUNS * 1000:.2f}")


if __name__ == "__main__":
    main()
